package psa

import "github.com/parsec-go/parsec/wire"

// Usage is a psa_key_usage_t bit set.
type Usage uint32

// Usage flags.
const (
	UsageExport        Usage = 0x0001
	UsageCopy          Usage = 0x0002
	UsageCache         Usage = 0x0004
	UsageEncrypt       Usage = 0x0100
	UsageDecrypt       Usage = 0x0200
	UsageSignMessage   Usage = 0x0400
	UsageVerifyMessage Usage = 0x0800
	UsageSignHash      Usage = 0x1000
	UsageVerifyHash    Usage = 0x2000
	UsageDerive        Usage = 0x4000
)

// Attributes are a key's type, size and policy. Parsec keys are always
// persistent, so there is no lifetime.
type Attributes struct {
	Type  KeyType
	Bits  uint32
	Usage Usage
	Alg   Algorithm
}

// Effective returns the usage flags the policy grants: PSA extends a
// hash-signing permission to signing messages with the same algorithm.
func (u Usage) Effective() Usage {
	if u&UsageSignHash != 0 {
		u |= UsageSignMessage
	}
	if u&UsageVerifyHash != 0 {
		u |= UsageVerifyMessage
	}
	return u
}

// Permits checks that the key's policy allows usage with alg. It returns a
// *wire.Error with PsaErrorNotPermitted when it does not, mirroring
// psa_key_policy_permits.
func (a Attributes) Permits(usage Usage, alg Algorithm) error {
	if a.Usage.Effective()&usage != usage {
		return wire.Errorf(wire.StatusPsaErrorNotPermitted, "key usage policy does not allow this operation")
	}
	if !AlgorithmPermits(a.Alg, alg) {
		return wire.Errorf(wire.StatusPsaErrorNotPermitted, "key policy permits %v, not %v", a.Alg, alg)
	}
	return nil
}

// AlgorithmPermits reports whether a key whose policy names policy may be
// used with requested (which must be a concrete, non-wildcard algorithm).
func AlgorithmPermits(policy, requested Algorithm) bool {
	if requested.IsWildcard() || requested == AlgNone {
		return false
	}
	if policy == requested {
		return true
	}
	switch {
	case policy.IsSign() && policy.HashAlg() == AlgAnyHash:
		h := requested.HashAlg()
		return requested.IsSign() && policy.SignBase() == requested.SignBase() &&
			h != AlgNone && h != AlgAnyHash
	case policy.IsMAC() && policy&AlgMACAtLeastThisLength != 0:
		return requested.IsMAC() && policy.MACBase() == requested.MACBase() &&
			macLen(requested) >= policy.MACLength()
	case policy.IsAEAD() && policy&AlgAEADAtLeastThisLength != 0:
		return requested.IsAEAD() && policy.AEADBase() == requested.AEADBase() &&
			requested.AEADTagLength() >= policy.AEADTagLength()
	case policy.IsKeyAgreement() && requested.IsKeyAgreement():
		// A policy for agreement-plus-KDF also allows the raw agreement
		// only when it names the raw agreement itself; nothing else.
		return false
	}
	return false
}

// macLen is the effective length of a MAC for wildcard comparison; full
// length (0) counts as longer than any truncation.
func macLen(a Algorithm) int {
	if l := a.MACLength(); l != 0 {
		return l
	}
	return 1 << 30
}

// CheckRSASize applies Parsec's rule on top of PSA: RSA keys with a stated
// size are 1024, 2048 or 4096 bits (an import may leave the size to the
// key data). Other key types pass.
func (a Attributes) CheckRSASize(isImport bool) error {
	if isImport && a.Bits == 0 {
		return nil
	}
	if a.Type.IsRSA() && a.Bits != 1024 && a.Bits != 2048 && a.Bits != 4096 {
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "RSA keys are 1024, 2048 or 4096 bits, not %d", a.Bits)
	}
	return nil
}
