package software

import (
	"crypto/x509"
	"testing"

	"github.com/parsec-go/parsec/psa"
)

// Key types the import fuzzer picks from.
var fuzzTypes = []psa.KeyType{
	psa.KeyTypeRSAKeyPair, psa.KeyTypeRSAPublicKey,
	psa.ECCKeyPair(psa.EccSecpR1), psa.ECCPublicKey(psa.EccSecpR1),
	psa.ECCKeyPair(psa.EccMontgomery), psa.ECCPublicKey(psa.EccMontgomery),
	psa.ECCKeyPair(psa.EccBrainpoolPR1), psa.ECCPublicKey(psa.EccSectK1),
	psa.KeyTypeAES, psa.KeyTypeChaCha20, psa.KeyTypeHMAC, psa.KeyTypeRawData,
	psa.KeyTypeDES, psa.DHKeyPair(psa.DhRFC7919),
}

// FuzzParseKey feeds arbitrary import data through the key parsers: no
// input may panic, and whatever parses must survive the store's record
// format and parse again to the same key.
func FuzzParseKey(f *testing.F) {
	priv := testRSAKey(f, 1024)
	f.Add(uint8(0), uint32(0), x509.MarshalPKCS1PrivateKey(priv))
	f.Add(uint8(1), uint32(1024), x509.MarshalPKCS1PublicKey(&priv.PublicKey))
	ek := testECDHKey(f)
	f.Add(uint8(2), uint32(256), ek.Bytes())
	f.Add(uint8(3), uint32(0), ek.PublicKey().Bytes())
	f.Add(uint8(4), uint32(255), make([]byte, 32))
	f.Add(uint8(8), uint32(128), make([]byte, 16))
	f.Add(uint8(0), uint32(0), []byte{0x30, 0x82, 0xff, 0xff, 0x02, 0x01})
	f.Fuzz(func(t *testing.T, typ uint8, bits uint32, data []byte) {
		a := psa.Attributes{Type: fuzzTypes[int(typ)%len(fuzzTypes)], Bits: bits, Usage: uSign, Alg: psa.ECDSA(psa.AlgSHA256)}
		k, err := parseKey(a, data)
		if err != nil {
			return
		}
		if bits != 0 && k.attrs.Bits != bits {
			t.Fatalf("parsed a %d-bit key for a %d-bit request", k.attrs.Bits, bits)
		}
		ra, m, err := decodeRecord(encodeRecord(k.attrs, k.material))
		if err != nil {
			t.Fatalf("record round trip: %v", err)
		}
		k2, err := parseKey(ra, m)
		if err != nil {
			t.Fatalf("stored key does not parse again: %v", err)
		}
		if k2.attrs != k.attrs || string(k2.material) != string(k.material) {
			t.Fatal("stored key parses to another key")
		}
		if k.attrs.Type.IsAsymmetric() {
			if _, err := k.publicKey(); err != nil {
				t.Fatalf("parsed asymmetric key has no public key: %v", err)
			}
		}
	})
}

// FuzzDecodeRecord checks the store's record parser on arbitrary files.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(psa.Attributes{Type: psa.KeyTypeAES, Bits: 128}, make([]byte, 16)))
	f.Add([]byte("PGKM"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, m, err := decodeRecord(b)
		if err != nil {
			return
		}
		if string(encodeRecord(a, m)) != string(b) {
			t.Fatal("a record decodes but does not re-encode to itself")
		}
	})
}
