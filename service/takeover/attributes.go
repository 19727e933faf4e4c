package takeover

import (
	"fmt"

	"github.com/parsec-go/parsec/psa"
)

// Rust Parsec stores psa-crypto's Attributes (0.12.0, unchanged in 0.13.0)
// with bincode: lifetime, key type, bits, then the policy (ten usage flags,
// then the permitted algorithm). Every enum is a u32 variant index in
// declaration order; the tables below give our PSA value for each index.
// See FORMATS.md.

var eccFamilies = []psa.EccFamily{
	psa.EccSecpK1, psa.EccSecpR1, psa.EccSecpR2, psa.EccSectK1, psa.EccSectR1,
	psa.EccSectR2, psa.EccBrainpoolPR1, psa.EccFRP, psa.EccMontgomery,
}

// simpleKeyTypes are the Type variants without fields, by index (8 and 9
// are RSA; 10 to 13 carry a family).
var simpleKeyTypes = []psa.KeyType{
	psa.KeyTypeRawData, psa.KeyTypeHMAC, psa.KeyTypeDerive, psa.KeyTypeAES, psa.KeyTypeDES,
	psa.KeyTypeCamellia, psa.KeyTypeARC4, psa.KeyTypeChaCha20,
	psa.KeyTypeRSAPublicKey, psa.KeyTypeRSAKeyPair,
}

var hashes = []psa.Algorithm{
	psa.AlgMD2, psa.AlgMD4, psa.AlgMD5, psa.AlgRIPEMD160, psa.AlgSHA1, psa.AlgSHA224,
	psa.AlgSHA256, psa.AlgSHA384, psa.AlgSHA512, psa.AlgSHA512_224, psa.AlgSHA512_256,
	psa.AlgSHA3_224, psa.AlgSHA3_256, psa.AlgSHA3_384, psa.AlgSHA3_512,
}

var ciphers = []psa.Algorithm{
	psa.AlgStreamCipher, psa.AlgCTR, psa.AlgCFB, psa.AlgOFB, psa.AlgXTS,
	psa.AlgECBNoPadding, psa.AlgCBCNoPadding, psa.AlgCBCPKCS7,
}

var aeads = []psa.Algorithm{psa.AlgCCM, psa.AlgGCM, psa.AlgChaCha20Poly1305}

// usageBits are the ten bools of psa-crypto's UsageFlags, in field order.
var usageBits = []psa.Usage{
	psa.UsageExport, psa.UsageCopy, psa.UsageCache, psa.UsageEncrypt, psa.UsageDecrypt,
	psa.UsageSignMessage, psa.UsageVerifyMessage, psa.UsageSignHash, psa.UsageVerifyHash,
	psa.UsageDerive,
}

// Lifetime variants; Rust Parsec persists only persistent keys.
const (
	lifetimeVolatile   = 0
	lifetimePersistent = 1
	lifetimeCustom     = 2
)

// DecodeAttributes reads a bincode psa-crypto Attributes (the SQLite
// key_attributes column) and maps it to ours. Anything that cannot map
// exactly is an error naming the field.
func DecodeAttributes(b []byte) (psa.Attributes, error) {
	d := &bincoder{b: b}
	a := decodeAttributes(d)
	if err := d.end(); err != nil {
		return psa.Attributes{}, fmt.Errorf("key attributes: %w", err)
	}
	return a, nil
}

// DecodeKeyInfo reads a Rust OnDisk key file: bincode of KeyInfo { id:
// Vec<u8>, attributes: Attributes }.
func DecodeKeyInfo(b []byte) (keyID []byte, a psa.Attributes, err error) {
	d := &bincoder{b: b}
	id := d.blob()
	a = decodeAttributes(d)
	if err := d.end(); err != nil {
		return nil, psa.Attributes{}, fmt.Errorf("key info: %w", err)
	}
	return append([]byte(nil), id...), a, nil
}

func decodeAttributes(d *bincoder) psa.Attributes {
	var a psa.Attributes
	switch lt := d.variant("lifetime", 3); lt {
	case lifetimePersistent:
	case lifetimeCustom:
		v := d.u32()
		d.fail("lifetime Custom(%#x): only persistent keys can be carried over", v)
	case lifetimeVolatile:
		d.fail("lifetime Volatile: only persistent keys can be carried over")
	}
	a.Type = decodeKeyType(d)
	bits := d.u64()
	if bits > 0xffff {
		d.fail("bits %d out of range", bits)
	}
	a.Bits = uint32(bits)
	for _, u := range usageBits {
		if d.boolean() {
			a.Usage |= u
		}
	}
	a.Alg = decodeAlgorithm(d)
	return a
}

func decodeKeyType(d *bincoder) psa.KeyType {
	v := d.variant("key type", 14)
	if d.err != nil {
		return 0
	}
	switch {
	case int(v) < len(simpleKeyTypes):
		return simpleKeyTypes[v]
	case v == 10 || v == 11:
		f := d.variant("ECC family", uint32(len(eccFamilies)))
		if d.err != nil {
			return 0
		}
		if v == 10 {
			return psa.ECCKeyPair(eccFamilies[f])
		}
		return psa.ECCPublicKey(eccFamilies[f])
	default: // 12, 13: Diffie-Hellman, one family (RFC 7919)
		d.variant("DH family", 1)
		if v == 12 {
			return psa.DHKeyPair(psa.DhRFC7919)
		}
		return psa.DHPublicKey(psa.DhRFC7919)
	}
}

func decodeHash(d *bincoder) psa.Algorithm {
	v := d.variant("hash", uint32(len(hashes)))
	if d.err != nil {
		return 0
	}
	return hashes[v]
}

// decodeSignHash reads SignHash: Specific(Hash) or Any.
func decodeSignHash(d *bincoder) psa.Algorithm {
	if d.variant("sign hash", 2) == 1 {
		return psa.AlgAnyHash
	}
	return decodeHash(d)
}

func decodeFullMAC(d *bincoder) psa.Algorithm {
	switch d.variant("MAC", 3) {
	case 0:
		return psa.HMAC(decodeHash(d))
	case 1:
		return psa.AlgCBCMAC
	default:
		return psa.AlgCMAC
	}
}

func decodeKDF(d *bincoder) psa.Algorithm {
	v := d.variant("key derivation", 3)
	h := decodeHash(d)
	switch v {
	case 0:
		return psa.HKDF(h)
	case 1:
		return psa.TLS12PRF(h)
	default:
		return psa.TLS12PSKToMS(h)
	}
}

func decodeRawKA(d *bincoder) psa.Algorithm {
	if d.variant("key agreement", 2) == 0 {
		return psa.AlgFFDH
	}
	return psa.AlgECDH
}

func decodeAlgorithm(d *bincoder) psa.Algorithm {
	switch d.variant("algorithm", 9) {
	case 0:
		return psa.AlgNone
	case 1:
		return decodeHash(d)
	case 2:
		if d.variant("MAC kind", 2) == 0 {
			return decodeFullMAC(d)
		}
		mac := decodeFullMAC(d)
		n := d.u64()
		if n == 0 || n > 63 {
			d.fail("MAC length %d out of range", n)
			return 0
		}
		return psa.TruncatedMAC(mac, int(n))
	case 3:
		v := d.variant("cipher", uint32(len(ciphers)))
		if d.err != nil {
			return 0
		}
		return ciphers[v]
	case 4:
		short := d.variant("AEAD kind", 2) == 1
		v := d.variant("AEAD", uint32(len(aeads)))
		if d.err != nil {
			return 0
		}
		if !short {
			return aeads[v]
		}
		n := d.u64()
		if n == 0 || n > 63 {
			d.fail("AEAD tag length %d out of range", n)
			return 0
		}
		return psa.AEADWithTag(aeads[v], int(n))
	case 5:
		switch d.variant("signature", 6) {
		case 0:
			return psa.RSAPKCS1v15Sign(decodeSignHash(d))
		case 1:
			return psa.AlgRSAPKCS1v15SignRaw
		case 2:
			return psa.RSAPSS(decodeSignHash(d))
		case 3:
			return psa.ECDSA(decodeSignHash(d))
		case 4:
			return psa.AlgECDSAAny
		default:
			return psa.DeterministicECDSA(decodeSignHash(d))
		}
	case 6:
		if d.variant("asymmetric encryption", 2) == 0 {
			return psa.AlgRSAPKCS1v15Crypt
		}
		return psa.RSAOAEP(decodeHash(d))
	case 7:
		if d.variant("key agreement kind", 2) == 0 {
			return decodeRawKA(d)
		}
		ka := decodeRawKA(d)
		return psa.KeyAgreementWithKDF(ka, decodeKDF(d))
	default:
		return decodeKDF(d)
	}
}
