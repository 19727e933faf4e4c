package tpm

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"fmt"
	"math/big"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func digest(h psa.Algorithm, msg string) []byte {
	switch h {
	case psa.AlgSHA256:
		d := sha256.Sum256([]byte(msg))
		return d[:]
	case psa.AlgSHA384:
		d := sha512.Sum384([]byte(msg))
		return d[:]
	case psa.AlgSHA512:
		d := sha512.Sum512([]byte(msg))
		return d[:]
	}
	panic(fmt.Sprintf("no digest for %v", h))
}

var goHash = map[psa.Algorithm]crypto.Hash{psa.AlgSHA256: crypto.SHA256, psa.AlgSHA384: crypto.SHA384, psa.AlgSHA512: crypto.SHA512}

// goVerify checks a PSA-format signature against a PSA-format public key
// with Go's crypto: the independent check that our output is standard.
func goVerify(typ psa.KeyType, pub []byte, alg, h psa.Algorithm, d, sig []byte) error {
	if typ.IsRSA() {
		k, err := x509.ParsePKCS1PublicKey(pub)
		if err != nil {
			return fmt.Errorf("exported RSA key is not PKCS#1: %v", err)
		}
		if alg.IsRSAPSS() {
			return rsa.VerifyPSS(k, goHash[h], d, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.VerifyPKCS1v15(k, goHash[h], d, sig)
	}
	var c elliptic.Curve
	switch len(pub) {
	case 65:
		c = elliptic.P256()
	case 97:
		c = elliptic.P384()
	case 133:
		c = elliptic.P521()
	default:
		return fmt.Errorf("unexpected ECC public key length %d", len(pub))
	}
	x, y := elliptic.Unmarshal(c, pub)
	if x == nil {
		return fmt.Errorf("exported ECC key is not an uncompressed point on its curve")
	}
	n := (c.Params().BitSize + 7) / 8
	if len(sig) != 2*n {
		return fmt.Errorf("signature is %d bytes, want %d", len(sig), 2*n)
	}
	if !ecdsa.Verify(&ecdsa.PublicKey{Curve: c, X: x, Y: y}, d, new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])) {
		return fmt.Errorf("ECDSA signature does not verify")
	}
	return nil
}

// TestSignVerify covers every signature kind the TPM offers: generate,
// export, sign, check the signature with Go's crypto, verify through the
// provider, and the negative cases of each.
func TestSignVerify(t *testing.T) {
	e := newEnv(t)
	ecc := func(bits uint32, alg psa.Algorithm) psa.Attributes {
		return psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: bits, Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: alg}
	}
	rsaK := func(bits uint32, alg psa.Algorithm) psa.Attributes {
		return psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: bits, Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: alg}
	}
	cases := []struct {
		name  string
		attrs psa.Attributes
		algs  []psa.Algorithm // algorithms to sign with
		wrong psa.Algorithm   // a same-family algorithm the policy forbids
	}{
		{"ecdsa-p256-sha256", ecc(256, psa.ECDSA(psa.AlgSHA256)), []psa.Algorithm{psa.ECDSA(psa.AlgSHA256)}, psa.ECDSA(psa.AlgSHA384)},
		{"ecdsa-p384-sha384", ecc(384, psa.ECDSA(psa.AlgSHA384)), []psa.Algorithm{psa.ECDSA(psa.AlgSHA384)}, psa.ECDSA(psa.AlgSHA256)},
		{"ecdsa-p521-sha512", ecc(521, psa.ECDSA(psa.AlgSHA512)), []psa.Algorithm{psa.ECDSA(psa.AlgSHA512)}, psa.ECDSA(psa.AlgSHA256)},
		{"ecdsa-p256-any-hash", ecc(256, psa.ECDSA(psa.AlgAnyHash)), []psa.Algorithm{psa.ECDSA(psa.AlgSHA256), psa.ECDSA(psa.AlgSHA384)}, psa.RSAPKCS1v15Sign(psa.AlgSHA256)},
		{"rsa1024-pkcs1-sha256", rsaK(1024, psa.RSAPKCS1v15Sign(psa.AlgSHA256)), []psa.Algorithm{psa.RSAPKCS1v15Sign(psa.AlgSHA256)}, psa.RSAPSS(psa.AlgSHA256)},
		{"rsa2048-pkcs1-sha256", rsaK(2048, psa.RSAPKCS1v15Sign(psa.AlgSHA256)), []psa.Algorithm{psa.RSAPKCS1v15Sign(psa.AlgSHA256)}, psa.RSAPKCS1v15Sign(psa.AlgSHA384)},
		{"rsa2048-pss-sha256", rsaK(2048, psa.RSAPSS(psa.AlgSHA256)), []psa.Algorithm{psa.RSAPSS(psa.AlgSHA256)}, psa.RSAPKCS1v15Sign(psa.AlgSHA256)},
		{"rsa3072-pss-sha384", rsaK(3072, psa.RSAPSS(psa.AlgSHA384)), []psa.Algorithm{psa.RSAPSS(psa.AlgSHA384)}, psa.RSAPSS(psa.AlgSHA256)},
		{"rsa2048-pkcs1-any-hash", rsaK(2048, psa.RSAPKCS1v15Sign(psa.AlgAnyHash)), []psa.Algorithm{psa.RSAPKCS1v15Sign(psa.AlgSHA256), psa.RSAPKCS1v15Sign(psa.AlgSHA512)}, psa.RSAPSS(psa.AlgSHA256)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := generate(t, e.p, alice, c.name, c.attrs); err != nil {
				t.Fatal(err)
			}
			pub, err := exportPub(e.p, alice, c.name)
			if err != nil {
				t.Fatal(err)
			}
			for _, alg := range c.algs {
				h := alg.HashAlg()
				d := digest(h, "message for "+c.name)
				sig, err := sign(t, e.p, alice, c.name, alg, d)
				if err != nil {
					t.Fatalf("sign %v: %v", alg, err)
				}
				if err := goVerify(c.attrs.Type, pub, alg, h, d, sig); err != nil {
					t.Fatalf("Go rejects the %v signature: %v", alg, err)
				}
				if err := verify(t, e.p, alice, c.name, alg, d, sig); err != nil {
					t.Fatalf("verify %v: %v", alg, err)
				}
				bad := append([]byte(nil), sig...)
				bad[len(bad)/2] ^= 1
				wantStatus(t, verify(t, e.p, alice, c.name, alg, d, bad), wire.StatusPsaErrorInvalidSignature)
				other := digest(h, "another message")
				wantStatus(t, verify(t, e.p, alice, c.name, alg, other, sig), wire.StatusPsaErrorInvalidSignature)
				wantStatus(t, verify(t, e.p, alice, c.name, alg, d, sig[:len(sig)-1]), wire.StatusPsaErrorInvalidSignature)
				_, err = sign(t, e.p, alice, c.name, alg, d[:len(d)-1])
				wantStatus(t, err, wire.StatusPsaErrorInvalidArgument)
			}
			_, err = sign(t, e.p, alice, c.name, c.wrong, digest(c.wrong.HashAlg(), "x"))
			wantStatus(t, err, wire.StatusPsaErrorNotPermitted)
		})
	}
}

// TestECDSAOnP192 covers a curve the TPM has and Go's library lacks:
// verification then runs in the TPM.
func TestECDSAOnP192(t *testing.T) {
	e := newEnv(t)
	a := psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 192, Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)}
	if err := generate(t, e.p, alice, "p192", a); err != nil {
		t.Fatal(err)
	}
	pub, err := exportPub(e.p, alice, "p192")
	if err != nil {
		t.Fatal(err)
	}
	if len(pub) != 49 || pub[0] != 4 {
		t.Fatalf("P-192 public key is %d bytes (%x), want 49 starting with 04", len(pub), pub[:1])
	}
	d := digest(psa.AlgSHA256, "p192")
	sig, err := sign(t, e.p, alice, "p192", a.Alg, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 48 {
		t.Fatalf("signature is %d bytes, want 48", len(sig))
	}
	if err := verify(t, e.p, alice, "p192", a.Alg, d, sig); err != nil {
		t.Fatal(err)
	}
	sig[5] ^= 0x40
	wantStatus(t, verify(t, e.p, alice, "p192", a.Alg, d, sig), wire.StatusPsaErrorInvalidSignature)
}

func TestEncryptDecrypt(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		bits uint32
		alg  psa.Algorithm
		salt []byte
	}{
		{"pkcs1-1024", 1024, psa.AlgRSAPKCS1v15Crypt, nil},
		{"pkcs1-2048", 2048, psa.AlgRSAPKCS1v15Crypt, nil},
		{"oaep-sha256", 2048, psa.RSAOAEP(psa.AlgSHA256), nil},
		{"oaep-sha256-label", 2048, psa.RSAOAEP(psa.AlgSHA256), []byte("label\x00")},
		{"oaep-sha384", 3072, psa.RSAOAEP(psa.AlgSHA384), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: c.bits, Usage: psa.UsageEncrypt | psa.UsageDecrypt, Alg: c.alg}
			if err := generate(t, e.p, alice, c.name, a); err != nil {
				t.Fatal(err)
			}
			msg := []byte("attack at dawn: " + c.name)
			ct, err := encrypt(t, e.p, alice, c.name, c.alg, msg, c.salt)
			if err != nil {
				t.Fatal(err)
			}
			pt, err := decrypt(t, e.p, alice, c.name, c.alg, ct, c.salt)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pt, msg) {
				t.Fatalf("decrypted %q, want %q", pt, msg)
			}
			// A ciphertext made by Go from the exported key decrypts too.
			der, err := exportPub(e.p, alice, c.name)
			if err != nil {
				t.Fatal(err)
			}
			k, err := x509.ParsePKCS1PublicKey(der)
			if err != nil {
				t.Fatal(err)
			}
			var goCT []byte
			if c.alg.IsRSAOAEP() {
				goCT, err = rsa.EncryptOAEP(goHash[c.alg.HashAlg()].New(), rand.Reader, k, msg, c.salt)
			} else {
				goCT, err = rsa.EncryptPKCS1v15(rand.Reader, k, msg)
			}
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := decrypt(t, e.p, alice, c.name, c.alg, goCT, c.salt); err != nil || !bytes.Equal(pt, msg) {
				t.Fatalf("decrypting Go's ciphertext: %q, %v", pt, err)
			}
			// Damaged ciphertext: bad padding.
			bad := append([]byte(nil), ct...)
			bad[10] ^= 0x55
			_, err = decrypt(t, e.p, alice, c.name, c.alg, bad, c.salt)
			wantStatus(t, err, wire.StatusPsaErrorInvalidPadding)
			// Wrong size.
			_, err = decrypt(t, e.p, alice, c.name, c.alg, ct[1:], c.salt)
			wantStatus(t, err, wire.StatusPsaErrorInvalidArgument)
			// Too long a message.
			_, err = encrypt(t, e.p, alice, c.name, c.alg, make([]byte, c.bits/8), c.salt)
			wantStatus(t, err, wire.StatusPsaErrorInvalidArgument)
			// Policy: the other padding is not permitted.
			other := psa.RSAOAEP(psa.AlgSHA256)
			if c.alg.IsRSAOAEP() {
				other = psa.AlgRSAPKCS1v15Crypt
			}
			_, err = decrypt(t, e.p, alice, c.name, other, ct, nil)
			wantStatus(t, err, wire.StatusPsaErrorNotPermitted)
		})
	}
	t.Run("label-without-terminator", func(t *testing.T) {
		_, err := decrypt(t, e.p, alice, "oaep-sha256", psa.RSAOAEP(psa.AlgSHA256), make([]byte, 256), []byte("label"))
		wantStatus(t, err, wire.StatusPsaErrorNotSupported)
	})
	t.Run("pkcs1-with-salt", func(t *testing.T) {
		_, err := encrypt(t, e.p, alice, "pkcs1-2048", psa.AlgRSAPKCS1v15Crypt, []byte("x"), []byte("salt"))
		wantStatus(t, err, wire.StatusPsaErrorInvalidArgument)
	})
	t.Run("sign-key-cannot-decrypt", func(t *testing.T) {
		if err := generate(t, e.p, alice, "signer", rsa2048Sign); err != nil {
			t.Fatal(err)
		}
		_, err := decrypt(t, e.p, alice, "signer", psa.AlgRSAPKCS1v15Crypt, make([]byte, 256), nil)
		wantStatus(t, err, wire.StatusPsaErrorNotPermitted)
	})
}

func TestImport(t *testing.T) {
	e := newEnv(t)
	t.Run("ecc-verify", func(t *testing.T) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub := elliptic.Marshal(elliptic.P256(), k.X, k.Y)
		a := psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Usage: psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)}
		if err := importKey(t, e.p, alice, "ecc-pub", a, pub); err != nil {
			t.Fatal(err)
		}
		got, err := exportPub(e.p, alice, "ecc-pub")
		if err != nil || !bytes.Equal(got, pub) {
			t.Fatalf("export after import: %x, %v", got, err)
		}
		d := digest(psa.AlgSHA256, "imported")
		r, s, err := ecdsa.Sign(rand.Reader, k, d)
		if err != nil {
			t.Fatal(err)
		}
		sig := append(leftPad(r.Bytes(), 32), leftPad(s.Bytes(), 32)...)
		if err := verify(t, e.p, alice, "ecc-pub", a.Alg, d, sig); err != nil {
			t.Fatal(err)
		}
		sig[0] ^= 1
		wantStatus(t, verify(t, e.p, alice, "ecc-pub", a.Alg, d, sig), wire.StatusPsaErrorInvalidSignature)
		_, err = sign(t, e.p, alice, "ecc-pub", a.Alg, d)
		wantStatus(t, err, wire.StatusPsaErrorNotPermitted)
	})
	t.Run("rsa-encrypt", func(t *testing.T) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		a := psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Usage: psa.UsageEncrypt, Alg: psa.RSAOAEP(psa.AlgSHA256)}
		if err := importKey(t, e.p, alice, "rsa-pub", a, x509.MarshalPKCS1PublicKey(&k.PublicKey)); err != nil {
			t.Fatal(err)
		}
		ct, err := encrypt(t, e.p, alice, "rsa-pub", a.Alg, []byte("to the holder"), []byte("any label"))
		if err != nil {
			t.Fatal(err)
		}
		pt, err := rsa.DecryptOAEP(sha256.New(), nil, k, ct, []byte("any label"))
		if err != nil || string(pt) != "to the holder" {
			t.Fatalf("Go could not decrypt: %q %v", pt, err)
		}
		_, err = decrypt(t, e.p, alice, "rsa-pub", a.Alg, ct, nil)
		wantStatus(t, err, wire.StatusPsaErrorNotPermitted)
	})
	t.Run("rsa-verify-pss", func(t *testing.T) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		a := psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Bits: 2048, Usage: psa.UsageVerifyHash, Alg: psa.RSAPSS(psa.AlgSHA256)}
		if err := importKey(t, e.p, alice, "rsa-pss-pub", a, x509.MarshalPKCS1PublicKey(&k.PublicKey)); err != nil {
			t.Fatal(err)
		}
		d := digest(psa.AlgSHA256, "pss")
		sig, err := rsa.SignPSS(rand.Reader, k, crypto.SHA256, d, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			t.Fatal(err)
		}
		if err := verify(t, e.p, alice, "rsa-pss-pub", a.Alg, d, sig); err != nil {
			t.Fatal(err)
		}
	})
	bad := []struct {
		name string
		a    psa.Attributes
		data func() []byte
		want wire.Status
	}{
		{"not-on-curve", psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Bits: 256, Usage: psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)},
			func() []byte { b := make([]byte, 65); b[0] = 4; b[64] = 7; return b }, wire.StatusPsaErrorInvalidArgument},
		{"compressed-point", psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Bits: 256, Usage: psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)},
			func() []byte { b := make([]byte, 33); b[0] = 2; return b }, wire.StatusPsaErrorInvalidArgument},
		{"bits-mismatch", psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Bits: 384, Usage: psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)},
			func() []byte {
				k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				return elliptic.Marshal(elliptic.P256(), k.X, k.Y)
			}, wire.StatusPsaErrorInvalidArgument},
		{"rsa-garbage", psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Usage: psa.UsageEncrypt, Alg: psa.AlgRSAPKCS1v15Crypt},
			func() []byte { return []byte{0x30, 0x03, 0x02, 0x01} }, wire.StatusPsaErrorInvalidArgument},
		{"rsa-exponent-3", psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Usage: psa.UsageEncrypt, Alg: psa.AlgRSAPKCS1v15Crypt},
			func() []byte {
				k, _ := rsa.GenerateKey(rand.Reader, 1024)
				k.PublicKey.E = 3
				return x509.MarshalPKCS1PublicKey(&k.PublicKey)
			}, wire.StatusPsaErrorNotSupported},
		{"rsa-1536-unsupported", psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Usage: psa.UsageEncrypt, Alg: psa.AlgRSAPKCS1v15Crypt},
			func() []byte {
				k, _ := rsa.GenerateKey(rand.Reader, 1536)
				return x509.MarshalPKCS1PublicKey(&k.PublicKey)
			}, wire.StatusPsaErrorNotSupported},
		{"key-pair", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 1024, Usage: psa.UsageDecrypt, Alg: psa.AlgRSAPKCS1v15Crypt},
			func() []byte {
				k, _ := rsa.GenerateKey(rand.Reader, 1024)
				return x509.MarshalPKCS1PrivateKey(k)
			}, wire.StatusPsaErrorNotSupported},
		{"secp256k1", psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpK1), Bits: 256, Usage: psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)},
			func() []byte { b := make([]byte, 65); b[0] = 4; return b }, wire.StatusPsaErrorNotSupported},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			wantStatus(t, importKey(t, e.p, alice, c.name, c.a, c.data()), c.want)
			_, err := exportPub(e.p, alice, c.name)
			wantStatus(t, err, wire.StatusPsaErrorDoesNotExist)
		})
	}
}

func TestGenerateNegative(t *testing.T) {
	e := newEnv(t)
	if err := generate(t, e.p, alice, "taken", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		key  string
		a    psa.Attributes
		want wire.Status
	}{
		{"name-taken", "taken", rsa2048Sign, wire.StatusPsaErrorAlreadyExists},
		{"rsa-1536", "k", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 1536, Usage: psa.UsageSignHash, Alg: psa.RSAPKCS1v15Sign(psa.AlgSHA256)}, wire.StatusPsaErrorNotSupported},
		{"rsa-4096-not-on-this-tpm", "k", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 4096, Usage: psa.UsageSignHash, Alg: psa.RSAPKCS1v15Sign(psa.AlgSHA256)}, wire.StatusPsaErrorNotSupported},
		{"secp256k1", "k", psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpK1), Bits: 256, Usage: psa.UsageSignHash, Alg: psa.ECDSA(psa.AlgSHA256)}, wire.StatusPsaErrorNotSupported},
		{"brainpool", "k", psa.Attributes{Type: psa.ECCKeyPair(psa.EccBrainpoolPR1), Bits: 256, Usage: psa.UsageSignHash, Alg: psa.ECDSA(psa.AlgSHA256)}, wire.StatusPsaErrorNotSupported},
		{"p256-wrong-bits", "k", psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 255, Usage: psa.UsageSignHash, Alg: psa.ECDSA(psa.AlgSHA256)}, wire.StatusPsaErrorNotSupported},
		{"no-size", "k", psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Usage: psa.UsageSignHash, Alg: psa.ECDSA(psa.AlgSHA256)}, wire.StatusPsaErrorInvalidArgument},
		{"public-key", "k", psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Bits: 256, Usage: psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)}, wire.StatusPsaErrorInvalidArgument},
		{"aes", "k", psa.Attributes{Type: psa.KeyTypeAES, Bits: 128, Usage: psa.UsageEncrypt, Alg: psa.AlgCTR}, wire.StatusPsaErrorNotSupported},
		{"deterministic-ecdsa", "k", psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: psa.UsageSignHash, Alg: psa.DeterministicECDSA(psa.AlgSHA256)}, wire.StatusPsaErrorNotSupported},
		{"rsa-raw-sign", "k", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: psa.UsageSignHash, Alg: psa.AlgRSAPKCS1v15SignRaw}, wire.StatusPsaErrorNotSupported},
		{"ecdsa-on-rsa", "k", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: psa.UsageSignHash, Alg: psa.ECDSA(psa.AlgSHA256)}, wire.StatusPsaErrorInvalidArgument},
		{"sha3-not-on-this-tpm", "k", psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: psa.UsageSignHash, Alg: psa.ECDSA(psa.AlgSHA3_256)}, wire.StatusPsaErrorNotSupported},
		{"deprecated-sha1", "k", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: psa.UsageSignHash, Alg: psa.RSAPKCS1v15Sign(psa.AlgSHA1)}, wire.StatusDeprecatedPrimitive},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "rsa-4096-not-on-this-tpm" && e.p.dev.caps.rsaBits[4096] {
				t.Skip("this TPM has RSA-4096")
			}
			e.log.reset()
			wantStatus(t, generate(t, e.p, alice, c.key, c.a), c.want)
			// Each refusal is logged with its status and cause.
			e.log.mustFind(t, "PsaGenerateKey failed", c.want.String(), "cause=")
			if c.name == "rsa-4096-not-on-this-tpm" {
				// The cause names what this TPM offers instead.
				e.log.mustFind(t, "PsaGenerateKey failed", fmt.Sprint(e.p.dev.caps.rsaSizes()))
			}
			if c.key != "taken" {
				_, err := exportPub(e.p, alice, c.key)
				wantStatus(t, err, wire.StatusPsaErrorDoesNotExist)
			}
		})
	}
	t.Run("missing-keys", func(t *testing.T) {
		wantStatus(t, destroy(e.p, alice, "nope"), wire.StatusPsaErrorDoesNotExist)
		_, err := sign(t, e.p, alice, "nope", eccP256Sign.Alg, make([]byte, 32))
		wantStatus(t, err, wire.StatusPsaErrorDoesNotExist)
		wantStatus(t, verify(t, e.p, alice, "nope", eccP256Sign.Alg, make([]byte, 32), make([]byte, 64)), wire.StatusPsaErrorDoesNotExist)
		_, err = exportPub(e.p, alice, "nope")
		wantStatus(t, err, wire.StatusPsaErrorDoesNotExist)
		_, err = decrypt(t, e.p, alice, "nope", psa.AlgRSAPKCS1v15Crypt, make([]byte, 256), nil)
		wantStatus(t, err, wire.StatusPsaErrorDoesNotExist)
	})
	t.Run("invalid-encoding", func(t *testing.T) {
		_, err := call(e.p, alice, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "k"})
		wantStatus(t, err, wire.StatusInvalidEncoding)
	})
	t.Run("destroy", func(t *testing.T) {
		if err := destroy(e.p, alice, "taken"); err != nil {
			t.Fatal(err)
		}
		_, err := sign(t, e.p, alice, "taken", eccP256Sign.Alg, make([]byte, 32))
		wantStatus(t, err, wire.StatusPsaErrorDoesNotExist)
		wantStatus(t, destroy(e.p, alice, "taken"), wire.StatusPsaErrorDoesNotExist)
		// The name is free again.
		if err := generate(t, e.p, alice, "taken", rsa2048Crypt); err != nil {
			t.Fatal(err)
		}
	})
}

func TestGenerateRandom(t *testing.T) {
	e := newEnv(t)
	for _, n := range []uint64{0, 1, 32, 64, 65, 1000, 5000} {
		b, err := random(e.p, n)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if uint64(len(b)) != n {
			t.Fatalf("asked %d bytes, got %d", n, len(b))
		}
		if n >= 32 && bytes.Equal(b, make([]byte, n)) {
			t.Fatalf("%d zero bytes", n)
		}
	}
	a, _ := random(e.p, 32)
	b, _ := random(e.p, 32)
	if bytes.Equal(a, b) {
		t.Fatal("two random draws are equal")
	}
	_, err := random(e.p, 1<<20+1)
	wantStatus(t, err, wire.StatusResponseTooLarge)
}

func TestCanDoCrypto(t *testing.T) {
	e := newEnv(t)
	sig := psa.UsageSignHash | psa.UsageVerifyHash
	cases := []struct {
		name string
		ct   pb.CheckType
		a    psa.Attributes
		want wire.Status
	}{
		{"gen-p256", pb.CheckType_GENERATE, eccP256Sign, wire.StatusSuccess},
		{"gen-p256-no-alg", pb.CheckType_GENERATE, psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256}, wire.StatusSuccess},
		{"gen-rsa3072", pb.CheckType_GENERATE, psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 3072, Usage: sig, Alg: psa.RSAPSS(psa.AlgSHA256)}, wire.StatusSuccess},
		{"gen-rsa4096-absent", pb.CheckType_GENERATE, psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 4096}, wire.StatusPsaErrorNotSupported},
		{"gen-public", pb.CheckType_GENERATE, psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Bits: 256}, wire.StatusPsaErrorNotSupported},
		{"gen-brainpool", pb.CheckType_GENERATE, psa.Attributes{Type: psa.ECCKeyPair(psa.EccBrainpoolPR1), Bits: 256}, wire.StatusPsaErrorNotSupported},
		{"gen-aes", pb.CheckType_GENERATE, psa.Attributes{Type: psa.KeyTypeAES, Bits: 128}, wire.StatusPsaErrorNotSupported},
		{"import-rsa-pub", pb.CheckType_IMPORT, psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Bits: 2048, Usage: psa.UsageEncrypt, Alg: psa.RSAOAEP(psa.AlgSHA256)}, wire.StatusSuccess},
		{"import-pair", pb.CheckType_IMPORT, rsa2048Crypt, wire.StatusPsaErrorNotSupported},
		{"use-ecdsa", pb.CheckType_USE, eccP256Sign, wire.StatusSuccess},
		{"use-no-alg", pb.CheckType_USE, psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: sig}, wire.StatusPsaErrorNotSupported},
		{"use-no-usage", pb.CheckType_USE, psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Alg: psa.ECDSA(psa.AlgSHA256)}, wire.StatusPsaErrorNotSupported},
		{"use-det-ecdsa", pb.CheckType_USE, psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: sig, Alg: psa.DeterministicECDSA(psa.AlgSHA256)}, wire.StatusPsaErrorNotSupported},
		{"use-sha3", pb.CheckType_USE, psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: sig, Alg: psa.ECDSA(psa.AlgSHA3_256)}, wire.StatusPsaErrorNotSupported},
		{"use-mismatch", pb.CheckType_USE, psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: sig, Alg: psa.RSAPSS(psa.AlgSHA256)}, wire.StatusPsaErrorNotSupported},
		{"derive", pb.CheckType_DERIVE, eccP256Sign, wire.StatusPsaErrorNotSupported},
		{"check-none", pb.CheckType_CHECKTYPE_NONE, eccP256Sign, wire.StatusInvalidEncoding},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "gen-rsa4096-absent" && e.p.dev.caps.rsaBits[4096] {
				t.Skip("this TPM has RSA-4096")
			}
			err := canDo(t, e.p, c.ct, c.a)
			wantStatus(t, err, c.want)
		})
	}
}
