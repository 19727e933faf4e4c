package software

import (
	"context"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// canDoCrypto answers whether the provider could generate, import or use
// a key with these attributes. It follows Parsec's structure (size rule,
// type check, then the use check when a policy algorithm is set) and
// answers for what this implementation really supports, so a "yes" is
// never followed by PsaErrorNotSupported. Every refusal is
// PsaErrorNotSupported.
func (p *Provider) canDoCrypto(_ context.Context, c provider.Call[*pb.CanDoCryptoRequest]) (*pb.CanDoCryptoResult, error) {
	a := c.Attrs
	var check error
	switch c.Req.GetCheckType() {
	case pb.CheckType_USE:
		check = useCheck(a)
	case pb.CheckType_GENERATE:
		check = generateCheck(a)
	case pb.CheckType_IMPORT:
		check = importCheck(a)
	case pb.CheckType_DERIVE:
		check = wire.Errorf(wire.StatusPsaErrorNotSupported, "key derivation is not supported")
	default:
		return nil, wire.Errorf(wire.StatusInvalidEncoding, "invalid CanDoCrypto check type %d", c.Req.GetCheckType())
	}
	if check != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v", check)
	}
	return &pb.CanDoCryptoResult{}, nil
}

func generateCheck(a psa.Attributes) error {
	if err := a.CheckRSASize(false); err != nil {
		return err
	}
	if a.Type.IsPublicKey() {
		return wire.Errorf(wire.StatusPsaErrorNotSupported, "public keys cannot be generated")
	}
	if err := supportedType(a, false); err != nil {
		return err
	}
	if a.Alg != psa.AlgNone {
		return useCheck(a)
	}
	return nil
}

func importCheck(a psa.Attributes) error {
	if err := a.CheckRSASize(true); err != nil {
		return err
	}
	if err := supportedType(a, true); err != nil {
		return err
	}
	if a.Alg != psa.AlgNone {
		return useCheck(a)
	}
	return nil
}

// supportedType reports whether keys of this type and size exist here.
func supportedType(a psa.Attributes, isImport bool) error {
	t := a.Type
	switch {
	case t == psa.KeyTypeARC4, t == psa.KeyTypeDES, t.IsDH():
		return wire.Errorf(wire.StatusPsaErrorNotSupported, "%v keys are not supported", t)
	case isSymmetric(t):
		if a.Bits == 0 && isImport {
			return nil
		}
		return checkSymmetricSize(t, a.Bits)
	case t.IsRSA():
		return nil // size checked by the caller
	case t.IsECC():
		if a.Bits == 0 && isImport {
			switch t.EccFamily() {
			case psa.EccSecpR1, psa.EccMontgomery:
				return nil
			}
			return wire.Errorf(wire.StatusPsaErrorNotSupported, "curve family %#x is not supported", uint8(t.EccFamily()))
		}
		_, err := curveFor(t.EccFamily(), a.Bits)
		return err
	}
	return wire.Errorf(wire.StatusPsaErrorNotSupported, "key type %v is not supported", t)
}

// useCheck is Parsec's use check (an algorithm, a usage flag for an
// operation, a compatible key type) plus whether the algorithm is
// implemented for the key.
func useCheck(a psa.Attributes) error {
	if a.Alg == psa.AlgNone {
		return wire.Errorf(wire.StatusPsaErrorNotSupported, "no algorithm")
	}
	ops := psa.UsageEncrypt | psa.UsageDecrypt | psa.UsageSignHash | psa.UsageSignMessage |
		psa.UsageVerifyHash | psa.UsageVerifyMessage
	if a.Alg.IsKeyAgreement() {
		// Parsec's list omits derive, which makes every key agreement
		// key fail; agreement is exactly what derive permits.
		ops |= psa.UsageDerive
	}
	if a.Usage&ops == 0 {
		return wire.Errorf(wire.StatusPsaErrorNotSupported, "no usage flag for an operation")
	}
	if !restrictions.Compatible(a.Type, a.Alg) {
		return wire.Errorf(wire.StatusPsaErrorNotSupported, "%v does not apply to %v keys", a.Alg, a.Type)
	}
	if err := supportedType(a, a.Bits == 0); err != nil {
		return err
	}
	if a.Type.IsRSA() {
		if err := a.CheckRSASize(true); err != nil {
			return err
		}
	}
	return algorithmImplemented(a)
}

// algorithmImplemented checks the algorithm, and its hash, against what
// the operations above implement for this key type.
func algorithmImplemented(a psa.Attributes) error {
	alg := a.Alg
	if h := alg.HashAlg(); h != psa.AlgNone && h != psa.AlgAnyHash {
		if _, err := hashFor(h); err != nil {
			return err
		}
	}
	t := a.Type
	switch {
	case alg.IsSign():
		if t.IsECC() && t.EccFamily() == psa.EccMontgomery {
			return wire.Errorf(wire.StatusPsaErrorNotSupported, "ECDSA needs a Weierstrass curve")
		}
		if alg.IsRSAPSS() && alg.HashAlg() != psa.AlgAnyHash {
			if h, _ := hashFor(alg.HashAlg()); !h.std.Available() {
				return wire.Errorf(wire.StatusPsaErrorNotSupported, "RSA-PSS with %v is not supported", alg.HashAlg())
			}
		}
		return nil
	case alg.IsAsymEncrypt():
		return nil
	case alg.IsKeyAgreement():
		if !alg.IsRawKeyAgreement() {
			return wire.Errorf(wire.StatusPsaErrorNotSupported, "key agreement with key derivation is not supported")
		}
		return nil
	case alg.IsAEAD():
		if t == psa.KeyTypeCamellia {
			return wire.Errorf(wire.StatusPsaErrorNotSupported, "Camellia is not supported")
		}
		return nil
	case alg.IsCipher():
		if t == psa.KeyTypeAES && alg != psa.AlgXTS || t == psa.KeyTypeChaCha20 {
			return nil
		}
		return wire.Errorf(wire.StatusPsaErrorNotSupported, "%v with %v keys is not supported", alg, t)
	case alg.IsMAC():
		if alg.MACBase().IsHMAC() || alg.MACBase() == psa.AlgCMAC && t == psa.KeyTypeAES {
			return nil
		}
		return wire.Errorf(wire.StatusPsaErrorNotSupported, "%v is not supported", alg)
	}
	return wire.Errorf(wire.StatusPsaErrorNotSupported, "%v is not supported", alg)
}
