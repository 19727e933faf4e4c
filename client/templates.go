package client

import "github.com/parsec-go/parsec/psa"

// Key templates for the common cases. Each returns plain psa.Attributes, so
// any PSA parameter can still be changed before use, for example to make a
// key exportable:
//
//	attrs := client.ECCP256SigningKey()
//	attrs.Usage |= psa.UsageExport

const signUsage = psa.UsageSignHash | psa.UsageVerifyHash | psa.UsageSignMessage | psa.UsageVerifyMessage

// ECCP256SigningKey is a NIST P-256 (secp256r1) key pair for ECDSA with
// SHA-256: what parsec-tool create-ecc-key makes.
func ECCP256SigningKey() psa.Attributes {
	return psa.Attributes{
		Type:  psa.ECCKeyPair(psa.EccSecpR1),
		Bits:  256,
		Usage: signUsage,
		Alg:   psa.ECDSA(psa.AlgSHA256),
	}
}

// ECCP384SigningKey is a NIST P-384 (secp384r1) key pair for ECDSA with
// SHA-384.
func ECCP384SigningKey() psa.Attributes {
	return psa.Attributes{
		Type:  psa.ECCKeyPair(psa.EccSecpR1),
		Bits:  384,
		Usage: signUsage,
		Alg:   psa.ECDSA(psa.AlgSHA384),
	}
}

// RSASigningKey is an RSA key pair of bits bits for PKCS#1 v1.5 signatures
// with SHA-256 (parsec-tool create-rsa-key --for-signing).
func RSASigningKey(bits uint32) psa.Attributes {
	return psa.Attributes{
		Type:  psa.KeyTypeRSAKeyPair,
		Bits:  bits,
		Usage: signUsage,
		Alg:   psa.RSAPKCS1v15Sign(psa.AlgSHA256),
	}
}

// RSAPSSSigningKey is an RSA key pair of bits bits for PSS signatures with
// SHA-256 (parsec-tool create-rsa-key --for-signing-pss).
func RSAPSSSigningKey(bits uint32) psa.Attributes {
	return psa.Attributes{
		Type:  psa.KeyTypeRSAKeyPair,
		Bits:  bits,
		Usage: signUsage,
		Alg:   psa.RSAPSS(psa.AlgSHA256),
	}
}

// RSAEncryptionKey is an RSA key pair of bits bits for PKCS#1 v1.5
// encryption (parsec-tool create-rsa-key).
func RSAEncryptionKey(bits uint32) psa.Attributes {
	return psa.Attributes{
		Type:  psa.KeyTypeRSAKeyPair,
		Bits:  bits,
		Usage: psa.UsageEncrypt | psa.UsageDecrypt,
		Alg:   psa.AlgRSAPKCS1v15Crypt,
	}
}

// RSAOAEPKey is an RSA key pair of bits bits for OAEP encryption with
// SHA-256 (parsec-tool create-rsa-key --oaep).
func RSAOAEPKey(bits uint32) psa.Attributes {
	return psa.Attributes{
		Type:  psa.KeyTypeRSAKeyPair,
		Bits:  bits,
		Usage: psa.UsageEncrypt | psa.UsageDecrypt,
		Alg:   psa.RSAOAEP(psa.AlgSHA256),
	}
}

// AESGCMKey is an AES key of bits bits (128, 192 or 256) for GCM with
// 16-byte tags.
func AESGCMKey(bits uint32) psa.Attributes {
	return psa.Attributes{
		Type:  psa.KeyTypeAES,
		Bits:  bits,
		Usage: psa.UsageEncrypt | psa.UsageDecrypt,
		Alg:   psa.AlgGCM,
	}
}

// ECDHP256Key is a NIST P-256 key pair for raw ECDH key agreement.
func ECDHP256Key() psa.Attributes {
	return psa.Attributes{
		Type:  psa.ECCKeyPair(psa.EccSecpR1),
		Bits:  256,
		Usage: psa.UsageDerive,
		Alg:   psa.AlgECDH,
	}
}
