package psa

import "github.com/parsec-go/parsec/wire"

// Compatible reports whether alg can be used with a key of type t: PSA's
// rule as parsec-interface applies it (psa-crypto's
// Attributes::is_compatible_with_alg) before any crypto happens. It is
// the one such rule in the service; a provider that supports less states
// its Restrictions beside it instead of writing its own table.
func Compatible(t KeyType, alg Algorithm) bool {
	blockMAC := alg.IsMAC() && (alg.MACBase() == AlgCBCMAC || alg.MACBase() == AlgCMAC)
	blockMode := alg.IsCipher() && alg != AlgStreamCipher
	switch {
	case t == KeyTypeRawData:
		return false
	case t == KeyTypeHMAC:
		return alg.IsHMAC()
	case t == KeyTypeDerive:
		return alg.IsKeyDerivation()
	case t == KeyTypeAES, t == KeyTypeCamellia:
		return blockMAC || blockMode ||
			alg.IsAEAD() && (alg.AEADBase() == AlgCCM || alg.AEADBase() == AlgGCM)
	case t == KeyTypeDES:
		return blockMAC || blockMode
	case t == KeyTypeARC4:
		return alg == AlgStreamCipher
	case t == KeyTypeChaCha20:
		return alg == AlgStreamCipher || alg.IsAEAD() && alg.AEADBase() == AlgChaCha20Poly1305
	case t.IsRSA():
		return alg.IsRSAPKCS1v15Sign() || alg.IsRSAPSS() || alg.IsAsymEncrypt()
	case t.IsECC():
		return alg.IsECDSA() || alg.IsKeyAgreement() && alg.KeyAgreementBase() == AlgECDH
	case t.IsDH():
		return alg.IsKeyAgreement() && alg.KeyAgreementBase() == AlgFFDH
	}
	return false
}

// IsHMAC reports whether a is HMAC, full length or truncated.
func (a Algorithm) IsHMAC() bool {
	return a.IsMAC() && a.HashAlg() != AlgNone && a.MACBase() == HMAC(a.HashAlg())
}

// Restrictions are the key types a provider refuses to use even where
// Compatible allows them.
type Restrictions struct {
	NoTypes []KeyType
}

// Compatible is the package's Compatible less the restrictions.
func (r Restrictions) Compatible(t KeyType, alg Algorithm) bool {
	for _, n := range r.NoTypes {
		if n == t {
			return false
		}
	}
	return Compatible(t, alg)
}

// CheckUse enforces a key's policy for one operation in the order Parsec
// does: usage flag, permitted algorithm, then key type compatibility (and
// the provider's restrictions); every refusal is PsaErrorNotPermitted.
func (a Attributes) CheckUse(usage Usage, alg Algorithm, r Restrictions) error {
	if err := a.Permits(usage, alg); err != nil {
		return err
	}
	if !r.Compatible(a.Type, alg) {
		return wire.Errorf(wire.StatusPsaErrorNotPermitted, "%v cannot be used with a %v key", alg, a.Type)
	}
	return nil
}
