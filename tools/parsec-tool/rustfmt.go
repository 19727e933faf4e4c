package main

import (
	"fmt"

	"github.com/parsec-go/parsec/psa"
)

// The Rust tool prints key types and algorithms with Rust's Debug format of
// the psa-crypto types (e.g. "EccKeyPair { curve_family: SecpR1 }"), and
// scripts grep that text, so we render the numeric PSA model the same way.

func debugHash(h psa.Algorithm) string {
	switch h {
	case psa.AlgMD2:
		return "Md2"
	case psa.AlgMD4:
		return "Md4"
	case psa.AlgMD5:
		return "Md5"
	case psa.AlgRIPEMD160:
		return "Ripemd160"
	case psa.AlgSHA1:
		return "Sha1"
	case psa.AlgSHA224:
		return "Sha224"
	case psa.AlgSHA256:
		return "Sha256"
	case psa.AlgSHA384:
		return "Sha384"
	case psa.AlgSHA512:
		return "Sha512"
	case psa.AlgSHA512_224:
		return "Sha512_224"
	case psa.AlgSHA512_256:
		return "Sha512_256"
	case psa.AlgSHA3_224:
		return "Sha3_224"
	case psa.AlgSHA3_256:
		return "Sha3_256"
	case psa.AlgSHA3_384:
		return "Sha3_384"
	case psa.AlgSHA3_512:
		return "Sha3_512"
	}
	return fmt.Sprintf("%#x", uint32(h))
}

func debugEccFamily(f psa.EccFamily) string {
	switch f {
	case psa.EccSecpK1:
		return "SecpK1"
	case psa.EccSecpR1:
		return "SecpR1"
	case psa.EccSecpR2:
		return "SecpR2"
	case psa.EccSectK1:
		return "SectK1"
	case psa.EccSectR1:
		return "SectR1"
	case psa.EccSectR2:
		return "SectR2"
	case psa.EccBrainpoolPR1:
		return "BrainpoolPR1"
	case psa.EccFRP:
		return "Frp"
	case psa.EccMontgomery:
		return "Montgomery"
	}
	return fmt.Sprintf("%#x", uint8(f))
}

// displayEccFamily is psa-crypto's Display text of a curve family, used in
// the Rust tool's error messages.
func displayEccFamily(f psa.EccFamily) string {
	switch f {
	case psa.EccSecpK1:
		return "SEC Koblitz curves over prime fields"
	case psa.EccSecpR1:
		return "SEC random curves over prime fields"
	case psa.EccSecpR2:
		return "SEC additional random curves over prime fields"
	case psa.EccSectK1:
		return "SEC Koblitz curves over binary fields"
	case psa.EccSectR1:
		return "SEC random curves over binary fields"
	case psa.EccSectR2:
		return "SEC additional random curves over binary fields"
	case psa.EccBrainpoolPR1:
		return "Brainpool P random curves"
	case psa.EccFRP:
		return "FRP curve"
	case psa.EccMontgomery:
		return "Montgomery curve"
	}
	return debugEccFamily(f)
}

func debugKeyType(t psa.KeyType) string {
	switch {
	case t == psa.KeyTypeRawData:
		return "RawData"
	case t == psa.KeyTypeHMAC:
		return "Hmac"
	case t == psa.KeyTypeDerive:
		return "Derive"
	case t == psa.KeyTypeAES:
		return "Aes"
	case t == psa.KeyTypeDES:
		return "Des"
	case t == psa.KeyTypeCamellia:
		return "Camellia"
	case t == psa.KeyTypeARC4:
		return "Arc4"
	case t == psa.KeyTypeChaCha20:
		return "Chacha20"
	case t == psa.KeyTypeRSAPublicKey:
		return "RsaPublicKey"
	case t == psa.KeyTypeRSAKeyPair:
		return "RsaKeyPair"
	case t.IsECC() && t.IsKeyPair():
		return "EccKeyPair { curve_family: " + debugEccFamily(t.EccFamily()) + " }"
	case t.IsECC():
		return "EccPublicKey { curve_family: " + debugEccFamily(t.EccFamily()) + " }"
	case t.IsDH() && t.IsKeyPair():
		return "DhKeyPair { group_family: Rfc7919 }"
	case t.IsDH():
		return "DhPublicKey { group_family: Rfc7919 }"
	}
	return t.String()
}

func debugSignHash(a psa.Algorithm) string {
	if h := a.HashAlg(); h == psa.AlgAnyHash {
		return "Any"
	}
	return "Specific(" + debugHash(a.HashAlg()) + ")"
}

// debugSignature renders an AsymmetricSignature value.
func debugSignature(a psa.Algorithm) string {
	switch {
	case a == psa.AlgRSAPKCS1v15SignRaw:
		return "RsaPkcs1v15SignRaw"
	case a == psa.AlgECDSAAny:
		return "EcdsaAny"
	case a.IsRSAPKCS1v15Sign():
		return "RsaPkcs1v15Sign { hash_alg: " + debugSignHash(a) + " }"
	case a.IsRSAPSS():
		return "RsaPss { hash_alg: " + debugSignHash(a) + " }"
	case a.IsDeterministicECDSA():
		return "DeterministicEcdsa { hash_alg: " + debugSignHash(a) + " }"
	case a.IsECDSA():
		return "Ecdsa { hash_alg: " + debugSignHash(a) + " }"
	}
	return a.String()
}

// debugEncryption renders an AsymmetricEncryption value.
func debugEncryption(a psa.Algorithm) string {
	if a.IsRSAOAEP() {
		return "RsaOaep { hash_alg: " + debugHash(a.HashAlg()) + " }"
	}
	if a == psa.AlgRSAPKCS1v15Crypt {
		return "RsaPkcs1v15Crypt"
	}
	return a.String()
}

func debugFullMAC(a psa.Algorithm) string {
	switch base := a.MACBase(); {
	case base == psa.AlgCBCMAC:
		return "CbcMac"
	case base == psa.AlgCMAC:
		return "Cmac"
	default:
		return "Hmac { hash_alg: " + debugHash(a.HashAlg()) + " }"
	}
}

func debugKDF(a psa.Algorithm) string {
	h := a.HashAlg()
	switch a {
	case psa.HKDF(h):
		return "Hkdf { hash_alg: " + debugHash(h) + " }"
	case psa.TLS12PRF(h):
		return "Tls12Prf { hash_alg: " + debugHash(h) + " }"
	case psa.TLS12PSKToMS(h):
		return "Tls12PskToMs { hash_alg: " + debugHash(h) + " }"
	}
	return a.String()
}

func debugRawAgreement(a psa.Algorithm) string {
	if a.KeyAgreementBase() == psa.AlgFFDH {
		return "Ffdh"
	}
	return "Ecdh"
}

func debugCipher(a psa.Algorithm) string {
	switch a {
	case psa.AlgStreamCipher:
		return "StreamCipher"
	case psa.AlgCTR:
		return "Ctr"
	case psa.AlgCFB:
		return "Cfb"
	case psa.AlgOFB:
		return "Ofb"
	case psa.AlgXTS:
		return "Xts"
	case psa.AlgECBNoPadding:
		return "EcbNoPadding"
	case psa.AlgCBCNoPadding:
		return "CbcNoPadding"
	case psa.AlgCBCPKCS7:
		return "CbcPkcs7"
	}
	return a.String()
}

func debugAEADBase(a psa.Algorithm) string {
	switch a.AEADBase() {
	case psa.AlgCCM:
		return "Ccm"
	case psa.AlgGCM:
		return "Gcm"
	case psa.AlgChaCha20Poly1305:
		return "Chacha20Poly1305"
	}
	return a.String()
}

// debugAlgorithm renders a psa-crypto Algorithm value.
func debugAlgorithm(a psa.Algorithm) string {
	switch {
	case a == psa.AlgNone:
		return "None"
	case a.IsHash():
		return "Hash(" + debugHash(a) + ")"
	case a.IsMAC():
		if l := a.MACLength(); l != 0 {
			return fmt.Sprintf("Mac(Truncated { mac_alg: %s, mac_length: %d })", debugFullMAC(a), l)
		}
		return "Mac(FullLength(" + debugFullMAC(a) + "))"
	case a.IsCipher():
		return "Cipher(" + debugCipher(a) + ")"
	case a.IsAEAD():
		if a.AEADBase() != a {
			return fmt.Sprintf("Aead(AeadWithShortenedTag { aead_alg: %s, tag_length: %d })", debugAEADBase(a), a.AEADTagLength())
		}
		return "Aead(AeadWithDefaultLengthTag(" + debugAEADBase(a) + "))"
	case a.IsSign():
		return "AsymmetricSignature(" + debugSignature(a) + ")"
	case a.IsAsymEncrypt():
		return "AsymmetricEncryption(" + debugEncryption(a) + ")"
	case a.IsKeyAgreement():
		if a.IsRawKeyAgreement() {
			return "KeyAgreement(Raw(" + debugRawAgreement(a) + "))"
		}
		return fmt.Sprintf("KeyAgreement(WithKeyDerivation { ka_alg: %s, kdf_alg: %s })", debugRawAgreement(a), debugKDF(a.KeyAgreementKDF()))
	case a.IsKeyDerivation():
		return "KeyDerivation(" + debugKDF(a) + ")"
	}
	return a.String()
}
