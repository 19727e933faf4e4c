package software

import (
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
)

// compatible reports whether alg can be used with a key of type t, as
// parsec-interface checks it (psa-crypto Attributes::is_compatible_with_alg)
// before any crypto happens; an incompatible pair is refused with
// PsaErrorNotPermitted.
func compatible(t psa.KeyType, alg psa.Algorithm) bool {
	blockMAC := alg.IsMAC() && (alg.MACBase() == psa.AlgCBCMAC || alg.MACBase() == psa.AlgCMAC)
	blockMode := alg.IsCipher() && alg != psa.AlgStreamCipher
	switch {
	case t == psa.KeyTypeRawData:
		return false
	case t == psa.KeyTypeHMAC:
		return isHMAC(alg)
	case t == psa.KeyTypeDerive:
		return alg.IsKeyDerivation()
	case t == psa.KeyTypeAES, t == psa.KeyTypeCamellia:
		return blockMAC || blockMode ||
			alg.IsAEAD() && (alg.AEADBase() == psa.AlgCCM || alg.AEADBase() == psa.AlgGCM)
	case t == psa.KeyTypeDES:
		return blockMAC || blockMode
	case t == psa.KeyTypeARC4:
		return alg == psa.AlgStreamCipher
	case t == psa.KeyTypeChaCha20:
		return alg == psa.AlgStreamCipher || alg.IsAEAD() && alg.AEADBase() == psa.AlgChaCha20Poly1305
	case t.IsRSA():
		return alg.IsRSAPKCS1v15Sign() || alg.IsRSAPSS() || alg.IsAsymEncrypt()
	case t.IsECC():
		return alg.IsECDSA() || alg.IsKeyAgreement() && alg.KeyAgreementBase() == psa.AlgECDH
	case t.IsDH():
		return alg.IsKeyAgreement() && alg.KeyAgreementBase() == psa.AlgFFDH
	}
	return false
}

func isHMAC(alg psa.Algorithm) bool {
	return alg.IsMAC() && alg.MACBase() == psa.HMAC(alg.HashAlg()) && alg.HashAlg() != psa.AlgNone
}

// checkUse enforces a key's policy for one operation in the order Parsec
// does: usage flag, permitted algorithm, then key type compatibility.
func checkUse(a psa.Attributes, usage psa.Usage, alg psa.Algorithm) error {
	if err := a.Permits(usage, alg); err != nil {
		return err
	}
	if !compatible(a.Type, alg) {
		return errNotPermitted("%v cannot be used with a %v key", alg, a.Type)
	}
	return nil
}

// keyFor looks up an application's key and checks its policy for one
// operation.
func (p *Provider) keyFor(app auth.Application, name string, usage psa.Usage, alg psa.Algorithm) (*key, error) {
	k, err := p.lookup(app, name)
	if err != nil {
		return nil, err
	}
	if err := checkUse(k.attrs, usage, alg); err != nil {
		return nil, err
	}
	return k, nil
}
