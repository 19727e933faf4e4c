package software

import (
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func TestCanDoCrypto(t *testing.T) {
	e := newEnv(t)
	ok, no := wire.StatusSuccess, wire.StatusPsaErrorNotSupported
	rsaA := func(bits uint32) psa.Attributes {
		return psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: bits, Usage: uSign, Alg: psa.RSAPSS(psa.AlgSHA256)}
	}
	cases := []struct {
		name  string
		check pb.CheckType
		a     psa.Attributes
		want  wire.Status
	}{
		{"generate P-256 ECDSA", pb.CheckType_GENERATE, ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)), ok},
		{"generate P-224", pb.CheckType_GENERATE, ecc(224, uSign, psa.ECDSA(psa.AlgSHA256)), no},
		{"generate RSA 2048", pb.CheckType_GENERATE, rsaA(2048), ok},
		{"generate RSA 3072", pb.CheckType_GENERATE, rsaA(3072), no},
		{"generate a public key", pb.CheckType_GENERATE, psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Bits: 2048, Usage: psa.UsageVerifyHash, Alg: psa.RSAPSS(psa.AlgSHA256)}, no},
		{"generate AES without algorithm", pb.CheckType_GENERATE, psa.Attributes{Type: psa.KeyTypeAES, Bits: 256}, ok},
		{"generate AES 100", pb.CheckType_GENERATE, psa.Attributes{Type: psa.KeyTypeAES, Bits: 100}, no},
		{"generate DH", pb.CheckType_GENERATE, psa.Attributes{Type: psa.DHKeyPair(psa.DhRFC7919), Bits: 2048}, no},
		{"generate X25519 ECDH", pb.CheckType_GENERATE, psa.Attributes{Type: psa.ECCKeyPair(psa.EccMontgomery), Bits: 255, Usage: psa.UsageDerive, Alg: psa.AlgECDH}, ok},
		{"import RSA public, size from data", pb.CheckType_IMPORT, psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Usage: psa.UsageVerifyHash, Alg: psa.RSAPKCS1v15Sign(psa.AlgSHA256)}, ok},
		{"import brainpool", pb.CheckType_IMPORT, psa.Attributes{Type: psa.ECCPublicKey(psa.EccBrainpoolPR1), Bits: 256, Usage: psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)}, no},
		{"use GCM on AES", pb.CheckType_USE, psa.Attributes{Type: psa.KeyTypeAES, Bits: 128, Usage: uCrypt, Alg: psa.AlgGCM}, ok},
		{"use GCM on Camellia", pb.CheckType_USE, psa.Attributes{Type: psa.KeyTypeCamellia, Bits: 128, Usage: uCrypt, Alg: psa.AlgGCM}, no},
		{"use without algorithm", pb.CheckType_USE, psa.Attributes{Type: psa.KeyTypeAES, Bits: 128, Usage: uCrypt}, no},
		{"use without usage", pb.CheckType_USE, psa.Attributes{Type: psa.KeyTypeAES, Bits: 128, Alg: psa.AlgGCM}, no},
		{"use ECDSA on an RSA key", pb.CheckType_USE, psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: uSign, Alg: psa.ECDSA(psa.AlgSHA256)}, no},
		{"use RIPEMD-160 signatures", pb.CheckType_USE, ecc(256, uSign, psa.ECDSA(psa.AlgRIPEMD160)), no},
		{"use ECDSA on X25519", pb.CheckType_USE, psa.Attributes{Type: psa.ECCKeyPair(psa.EccMontgomery), Bits: 255, Usage: uSign, Alg: psa.ECDSA(psa.AlgSHA256)}, no},
		{"use ECDH", pb.CheckType_USE, psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 384, Usage: psa.UsageDerive, Alg: psa.AlgECDH}, ok},
		{"use HMAC", pb.CheckType_USE, psa.Attributes{Type: psa.KeyTypeHMAC, Bits: 256, Usage: psa.UsageSignMessage, Alg: psa.HMAC(psa.AlgSHA3_256)}, ok},
		{"use XTS", pb.CheckType_USE, psa.Attributes{Type: psa.KeyTypeAES, Bits: 256, Usage: uCrypt, Alg: psa.AlgXTS}, no},
		{"derive", pb.CheckType_DERIVE, psa.Attributes{Type: psa.KeyTypeDerive, Bits: 256, Usage: psa.UsageDerive, Alg: psa.HKDF(psa.AlgSHA256)}, no},
	}
	for _, c := range cases {
		got := e.status(alice, &pb.CanDoCryptoRequest{CheckType: c.check, Attributes: attrs(t, c.a)})
		if got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	e.expect(wire.StatusInvalidEncoding, alice, &pb.CanDoCryptoRequest{CheckType: pb.CheckType_CHECKTYPE_NONE, Attributes: attrs(t, ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))})
	e.expect(wire.StatusInvalidEncoding, alice, &pb.CanDoCryptoRequest{CheckType: pb.CheckType_USE})

	// A "yes" is kept: every generate check that passes, generates.
	for i, c := range cases {
		if c.check != pb.CheckType_GENERATE || c.want != ok {
			continue
		}
		name := string(rune('a' + i))
		e.generate(alice, name, c.a)
	}
}
