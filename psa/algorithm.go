package psa

import "fmt"

// Algorithm is a psa_algorithm_t.
type Algorithm uint32

// Algorithm categories (bits 24-30).
const (
	categoryMask          Algorithm = 0x7f000000
	categoryHash          Algorithm = 0x02000000
	categoryMAC           Algorithm = 0x03000000
	categoryCipher        Algorithm = 0x04000000
	categoryAEAD          Algorithm = 0x05000000
	categorySign          Algorithm = 0x06000000
	categoryAsymEncrypt   Algorithm = 0x07000000
	categoryKeyDerivation Algorithm = 0x08000000
	categoryKeyAgreement  Algorithm = 0x09000000

	hashMask Algorithm = 0x000000ff
)

// Hash algorithms.
const (
	AlgNone       Algorithm = 0
	AlgMD2        Algorithm = 0x02000001
	AlgMD4        Algorithm = 0x02000002
	AlgMD5        Algorithm = 0x02000003
	AlgRIPEMD160  Algorithm = 0x02000004
	AlgSHA1       Algorithm = 0x02000005
	AlgSHA224     Algorithm = 0x02000008
	AlgSHA256     Algorithm = 0x02000009
	AlgSHA384     Algorithm = 0x0200000a
	AlgSHA512     Algorithm = 0x0200000b
	AlgSHA512_224 Algorithm = 0x0200000c
	AlgSHA512_256 Algorithm = 0x0200000d
	AlgSHA3_224   Algorithm = 0x02000010
	AlgSHA3_256   Algorithm = 0x02000011
	AlgSHA3_384   Algorithm = 0x02000012
	AlgSHA3_512   Algorithm = 0x02000013
	// AlgAnyHash is the wildcard hash of a signature policy.
	AlgAnyHash Algorithm = 0x020000ff
)

// MAC algorithms.
const (
	algHMACBase Algorithm = 0x03800000
	AlgCBCMAC   Algorithm = 0x03c00100
	AlgCMAC     Algorithm = 0x03c00200

	macTruncationMask   Algorithm = 0x003f0000
	macTruncationOffset           = 16
	// AlgMACAtLeastThisLength marks a wildcard policy MAC length.
	AlgMACAtLeastThisLength Algorithm = 0x00008000
)

// Cipher algorithms.
const (
	AlgStreamCipher Algorithm = 0x04800100
	AlgCTR          Algorithm = 0x04c01000
	AlgCFB          Algorithm = 0x04c01100
	AlgOFB          Algorithm = 0x04c01200
	AlgXTS          Algorithm = 0x0440ff00
	AlgECBNoPadding Algorithm = 0x04404400
	AlgCBCNoPadding Algorithm = 0x04404000
	AlgCBCPKCS7     Algorithm = 0x04404100
)

// AEAD algorithms (with their default 16-byte tags).
const (
	AlgCCM              Algorithm = 0x05500100
	AlgGCM              Algorithm = 0x05500200
	AlgChaCha20Poly1305 Algorithm = 0x05100500

	aeadTagMask   Algorithm = 0x003f0000
	aeadTagOffset           = 16
	// AlgAEADAtLeastThisLength marks a wildcard policy tag length.
	AlgAEADAtLeastThisLength Algorithm = 0x00008000
)

// Signature algorithm bases; combine with a hash by OR (see RSAPKCS1v15Sign).
const (
	algRSAPKCS1v15SignBase Algorithm = 0x06000200
	AlgRSAPKCS1v15SignRaw  Algorithm = 0x06000200
	algRSAPSSBase          Algorithm = 0x06000300
	algECDSABase           Algorithm = 0x06000600
	AlgECDSAAny            Algorithm = 0x06000600
	algDetECDSABase        Algorithm = 0x06000700
)

// Asymmetric encryption algorithms.
const (
	AlgRSAPKCS1v15Crypt Algorithm = 0x07000200
	algRSAOAEPBase      Algorithm = 0x07000300
)

// Key derivation and agreement.
const (
	algHKDFBase         Algorithm = 0x08000100
	algTLS12PRFBase     Algorithm = 0x08000200
	algTLS12PSKToMSBase Algorithm = 0x08000300

	AlgFFDH Algorithm = 0x09010000
	AlgECDH Algorithm = 0x09020000

	keyAgreementMask Algorithm = 0xffff0000
)

// Constructors for hash-parameterised algorithms.
func HMAC(h Algorithm) Algorithm               { return algHMACBase | h&hashMask }
func RSAPKCS1v15Sign(h Algorithm) Algorithm    { return algRSAPKCS1v15SignBase | h&hashMask }
func RSAPSS(h Algorithm) Algorithm             { return algRSAPSSBase | h&hashMask }
func ECDSA(h Algorithm) Algorithm              { return algECDSABase | h&hashMask }
func DeterministicECDSA(h Algorithm) Algorithm { return algDetECDSABase | h&hashMask }
func RSAOAEP(h Algorithm) Algorithm            { return algRSAOAEPBase | h&hashMask }
func HKDF(h Algorithm) Algorithm               { return algHKDFBase | h&hashMask }
func TLS12PRF(h Algorithm) Algorithm           { return algTLS12PRFBase | h&hashMask }
func TLS12PSKToMS(h Algorithm) Algorithm       { return algTLS12PSKToMSBase | h&hashMask }

// KeyAgreementWithKDF combines a raw agreement (AlgECDH, AlgFFDH) with a
// key derivation algorithm.
func KeyAgreementWithKDF(ka, kdf Algorithm) Algorithm {
	return ka&keyAgreementMask | kdf&^categoryMask
}

// TruncatedMAC returns mac with its output truncated to length bytes.
func TruncatedMAC(mac Algorithm, length int) Algorithm {
	return mac&^macTruncationMask | Algorithm(length<<macTruncationOffset)&macTruncationMask
}

// AEADWithTag returns aead with a tag of length bytes.
func AEADWithTag(aead Algorithm, length int) Algorithm {
	return aead&^aeadTagMask | Algorithm(length<<aeadTagOffset)&aeadTagMask
}

func (a Algorithm) category() Algorithm { return a & categoryMask }

func (a Algorithm) IsHash() bool          { return a.category() == categoryHash }
func (a Algorithm) IsMAC() bool           { return a.category() == categoryMAC }
func (a Algorithm) IsCipher() bool        { return a.category() == categoryCipher }
func (a Algorithm) IsAEAD() bool          { return a.category() == categoryAEAD }
func (a Algorithm) IsSign() bool          { return a.category() == categorySign }
func (a Algorithm) IsAsymEncrypt() bool   { return a.category() == categoryAsymEncrypt }
func (a Algorithm) IsKeyDerivation() bool { return a.category() == categoryKeyDerivation }
func (a Algorithm) IsKeyAgreement() bool  { return a.category() == categoryKeyAgreement }

// IsRawKeyAgreement reports an agreement with no key derivation step.
func (a Algorithm) IsRawKeyAgreement() bool {
	return a.IsKeyAgreement() && a&^keyAgreementMask == 0
}

// KeyAgreementBase is the raw agreement part of a key agreement algorithm.
func (a Algorithm) KeyAgreementBase() Algorithm { return a & keyAgreementMask }

// KeyAgreementKDF is the derivation part of a key agreement algorithm, or
// AlgNone for a raw agreement.
func (a Algorithm) KeyAgreementKDF() Algorithm {
	if a.IsRawKeyAgreement() {
		return AlgNone
	}
	return a&^keyAgreementMask | categoryKeyDerivation
}

// HashAlg returns the hash an algorithm is parameterised with, AlgAnyHash
// for a wildcard, or AlgNone when there is none (e.g. ECDSA-any, raw RSA).
func (a Algorithm) HashAlg() Algorithm {
	switch {
	case a.IsHash():
		return a
	case a.IsSign(), a.IsAsymEncrypt(), a.IsKeyDerivation(), a.IsMAC() && a.macBase()&^hashMask == algHMACBase:
		if a&hashMask == 0 {
			return AlgNone
		}
		return categoryHash | a&hashMask
	case a.IsKeyAgreement():
		return a.KeyAgreementKDF().HashAlg()
	}
	return AlgNone
}

// SignBase is a signature algorithm without its hash.
func (a Algorithm) SignBase() Algorithm { return a &^ hashMask }

func (a Algorithm) IsRSAPKCS1v15Sign() bool {
	return a.IsSign() && a.SignBase() == algRSAPKCS1v15SignBase
}
func (a Algorithm) IsRSAPSS() bool { return a.IsSign() && a.SignBase() == algRSAPSSBase }
func (a Algorithm) IsECDSA() bool {
	return a.IsSign() && (a.SignBase() == algECDSABase || a.SignBase() == algDetECDSABase)
}
func (a Algorithm) IsDeterministicECDSA() bool { return a.IsSign() && a.SignBase() == algDetECDSABase }
func (a Algorithm) IsRSAOAEP() bool            { return a.IsAsymEncrypt() && a&^hashMask == algRSAOAEPBase }

// IsHashAndSign reports a signature algorithm that signs a message by
// hashing it with a specific hash first (so sign-message is defined).
func (a Algorithm) IsHashAndSign() bool {
	h := a.HashAlg()
	return a.IsSign() && h != AlgNone && h != AlgAnyHash
}

// IsWildcard reports a policy-only algorithm (any-hash or at-least-length).
func (a Algorithm) IsWildcard() bool {
	switch {
	case a.IsSign():
		return a.HashAlg() == AlgAnyHash
	case a.IsMAC():
		return a&AlgMACAtLeastThisLength != 0
	case a.IsAEAD():
		return a&AlgAEADAtLeastThisLength != 0
	}
	return false
}

func (a Algorithm) macBase() Algorithm { return a &^ (macTruncationMask | AlgMACAtLeastThisLength) }

// MACBase is a MAC algorithm at its full length.
func (a Algorithm) MACBase() Algorithm { return a.macBase() }

// MACLength is the truncation length in bytes, 0 for full length.
func (a Algorithm) MACLength() int { return int((a & macTruncationMask) >> macTruncationOffset) }

// AEADBase is an AEAD algorithm with its default tag length.
func (a Algorithm) AEADBase() Algorithm {
	switch a &^ (aeadTagMask | AlgAEADAtLeastThisLength) {
	case AlgCCM &^ aeadTagMask:
		return AlgCCM
	case AlgGCM &^ aeadTagMask:
		return AlgGCM
	case AlgChaCha20Poly1305 &^ aeadTagMask:
		return AlgChaCha20Poly1305
	}
	return a
}

// AEADTagLength is the tag length in bytes.
func (a Algorithm) AEADTagLength() int { return int((a & aeadTagMask) >> aeadTagOffset) }

// HashSize is the output size of a hash algorithm in bytes, 0 if unknown.
func (a Algorithm) HashSize() int {
	switch a {
	case AlgMD2, AlgMD4, AlgMD5:
		return 16
	case AlgRIPEMD160, AlgSHA1:
		return 20
	case AlgSHA224, AlgSHA512_224, AlgSHA3_224:
		return 28
	case AlgSHA256, AlgSHA512_256, AlgSHA3_256:
		return 32
	case AlgSHA384, AlgSHA3_384:
		return 48
	case AlgSHA512, AlgSHA3_512:
		return 64
	}
	return 0
}

var hashNames = map[Algorithm]string{
	AlgMD2: "MD2", AlgMD4: "MD4", AlgMD5: "MD5", AlgRIPEMD160: "RIPEMD160", AlgSHA1: "SHA_1",
	AlgSHA224: "SHA_224", AlgSHA256: "SHA_256", AlgSHA384: "SHA_384", AlgSHA512: "SHA_512",
	AlgSHA512_224: "SHA_512_224", AlgSHA512_256: "SHA_512_256", AlgSHA3_224: "SHA3_224",
	AlgSHA3_256: "SHA3_256", AlgSHA3_384: "SHA3_384", AlgSHA3_512: "SHA3_512", AlgAnyHash: "ANY_HASH",
}

// String names the algorithm in PSA terms, e.g. "ECDSA(SHA_256)".
func (a Algorithm) String() string {
	h := hashNames[a.HashAlg()]
	switch {
	case a == AlgNone:
		return "NONE"
	case a.IsHash():
		if n, ok := hashNames[a]; ok {
			return n
		}
	case a == AlgRSAPKCS1v15SignRaw:
		return "RSA_PKCS1V15_SIGN_RAW"
	case a == AlgECDSAAny:
		return "ECDSA_ANY"
	case a.IsRSAPKCS1v15Sign():
		return "RSA_PKCS1V15_SIGN(" + h + ")"
	case a.IsRSAPSS():
		return "RSA_PSS(" + h + ")"
	case a.IsDeterministicECDSA():
		return "DETERMINISTIC_ECDSA(" + h + ")"
	case a.IsECDSA():
		return "ECDSA(" + h + ")"
	case a == AlgRSAPKCS1v15Crypt:
		return "RSA_PKCS1V15_CRYPT"
	case a.IsRSAOAEP():
		return "RSA_OAEP(" + h + ")"
	case a == AlgECDH:
		return "ECDH"
	case a == AlgFFDH:
		return "FFDH"
	case a.IsKeyAgreement():
		// A raw agreement is its own base: only the known ones have
		// names (above); naming an unknown one through its base would
		// recurse without end.
		if a.IsRawKeyAgreement() {
			break
		}
		return "KEY_AGREEMENT(" + a.KeyAgreementBase().String() + ", " + a.KeyAgreementKDF().String() + ")"
	case a.IsKeyDerivation():
		switch a &^ hashMask {
		case algHKDFBase:
			return "HKDF(" + h + ")"
		case algTLS12PRFBase:
			return "TLS12_PRF(" + h + ")"
		case algTLS12PSKToMSBase:
			return "TLS12_PSK_TO_MS(" + h + ")"
		}
	case a.IsMAC():
		var base string
		switch b := a.MACBase(); {
		case b == AlgCMAC:
			base = "CMAC"
		case b == AlgCBCMAC:
			base = "CBC_MAC"
		case b&^hashMask == algHMACBase:
			base = "HMAC(" + h + ")"
		default:
			return fmt.Sprintf("Algorithm(%#08x)", uint32(a))
		}
		switch {
		case a&AlgMACAtLeastThisLength != 0:
			return fmt.Sprintf("AT_LEAST_THIS_LENGTH_MAC(%s, %d)", base, a.MACLength())
		case a.MACLength() != 0:
			return fmt.Sprintf("TRUNCATED_MAC(%s, %d)", base, a.MACLength())
		}
		return base
	case a.IsAEAD():
		names := map[Algorithm]string{AlgCCM: "CCM", AlgGCM: "GCM", AlgChaCha20Poly1305: "CHACHA20_POLY1305"}
		base, ok := names[a.AEADBase()]
		if !ok {
			break
		}
		switch {
		case a&AlgAEADAtLeastThisLength != 0:
			return fmt.Sprintf("AEAD_WITH_AT_LEAST_THIS_LENGTH_TAG(%s, %d)", base, a.AEADTagLength())
		case a == a.AEADBase():
			return base
		}
		return fmt.Sprintf("AEAD_WITH_SHORTENED_TAG(%s, %d)", base, a.AEADTagLength())
	case a.IsCipher():
		names := map[Algorithm]string{AlgStreamCipher: "STREAM_CIPHER", AlgCTR: "CTR", AlgCFB: "CFB", AlgOFB: "OFB",
			AlgXTS: "XTS", AlgECBNoPadding: "ECB_NO_PADDING", AlgCBCNoPadding: "CBC_NO_PADDING", AlgCBCPKCS7: "CBC_PKCS7"}
		if n, ok := names[a]; ok {
			return n
		}
	}
	return fmt.Sprintf("Algorithm(%#08x)", uint32(a))
}
