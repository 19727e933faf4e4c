package main

import (
	"testing"

	"github.com/parsec-go/parsec/psa"
)

func TestDebugFormats(t *testing.T) {
	for _, tc := range []struct {
		alg  psa.Algorithm
		want string
	}{
		// Seen in the Rust tool's list-keys output.
		{psa.ECDSA(psa.AlgSHA256), "AsymmetricSignature(Ecdsa { hash_alg: Specific(Sha256) })"},
		{psa.AlgRSAPKCS1v15Crypt, "AsymmetricEncryption(RsaPkcs1v15Crypt)"},
		{psa.RSAOAEP(psa.AlgSHA256), "AsymmetricEncryption(RsaOaep { hash_alg: Sha256 })"},
		{psa.RSAPKCS1v15Sign(psa.AlgSHA256), "AsymmetricSignature(RsaPkcs1v15Sign { hash_alg: Specific(Sha256) })"},
		// Rust's derived Debug of the other psa-crypto variants.
		{psa.RSAPSS(psa.AlgAnyHash), "AsymmetricSignature(RsaPss { hash_alg: Any })"},
		{psa.DeterministicECDSA(psa.AlgSHA384), "AsymmetricSignature(DeterministicEcdsa { hash_alg: Specific(Sha384) })"},
		{psa.AlgECDSAAny, "AsymmetricSignature(EcdsaAny)"},
		{psa.AlgRSAPKCS1v15SignRaw, "AsymmetricSignature(RsaPkcs1v15SignRaw)"},
		{psa.AlgNone, "None"},
		{psa.AlgSHA3_512, "Hash(Sha3_512)"},
		{psa.HMAC(psa.AlgSHA256), "Mac(FullLength(Hmac { hash_alg: Sha256 }))"},
		{psa.AlgCMAC, "Mac(FullLength(Cmac))"},
		{psa.TruncatedMAC(psa.HMAC(psa.AlgSHA512_256), 16), "Mac(Truncated { mac_alg: Hmac { hash_alg: Sha512_256 }, mac_length: 16 })"},
		{psa.AlgCBCPKCS7, "Cipher(CbcPkcs7)"},
		{psa.AlgGCM, "Aead(AeadWithDefaultLengthTag(Gcm))"},
		{psa.AEADWithTag(psa.AlgCCM, 8), "Aead(AeadWithShortenedTag { aead_alg: Ccm, tag_length: 8 })"},
		{psa.AlgECDH, "KeyAgreement(Raw(Ecdh))"},
		{psa.KeyAgreementWithKDF(psa.AlgFFDH, psa.HKDF(psa.AlgSHA256)), "KeyAgreement(WithKeyDerivation { ka_alg: Ffdh, kdf_alg: Hkdf { hash_alg: Sha256 } })"},
		{psa.TLS12PSKToMS(psa.AlgSHA384), "KeyDerivation(Tls12PskToMs { hash_alg: Sha384 })"},
	} {
		if got := debugAlgorithm(tc.alg); got != tc.want {
			t.Errorf("debugAlgorithm(%v) = %q, want %q", tc.alg, got, tc.want)
		}
	}
	for _, tc := range []struct {
		kt   psa.KeyType
		want string
	}{
		{psa.ECCKeyPair(psa.EccSecpR1), "EccKeyPair { curve_family: SecpR1 }"},
		{psa.KeyTypeRSAKeyPair, "RsaKeyPair"},
		{psa.ECCPublicKey(psa.EccBrainpoolPR1), "EccPublicKey { curve_family: BrainpoolPR1 }"},
		{psa.DHKeyPair(psa.DhRFC7919), "DhKeyPair { group_family: Rfc7919 }"},
		{psa.KeyTypeRSAPublicKey, "RsaPublicKey"},
		{psa.KeyTypeChaCha20, "Chacha20"},
		{psa.KeyTypeAES, "Aes"},
	} {
		if got := debugKeyType(tc.kt); got != tc.want {
			t.Errorf("debugKeyType(%v) = %q, want %q", tc.kt, got, tc.want)
		}
	}
}

func TestLossyUTF8(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"hello", "hello"},
		{"h\xffi", "h\uFFFDi"},
		{"\xe2\x82x", "\uFFFDx"},               // a truncated 3-byte character: one replacement
		{"\xe2\x82\xac", "\u20ac"},             // the euro sign
		{"\xf0\x9f\x98", "\uFFFD"},             // a truncated 4-byte character
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // a surrogate: every byte
		{"\xc0\xaf", "\uFFFD\uFFFD"},           // overlong
		{"a\x80\x80b", "a\uFFFD\uFFFDb"},
	} {
		if got := lossyUTF8([]byte(tc.in)); got != tc.want {
			t.Errorf("lossyUTF8(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
