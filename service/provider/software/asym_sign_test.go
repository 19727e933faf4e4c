package software

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
	"golang.org/x/crypto/sha3"
)

// ecdsaPublic turns an exported uncompressed point into a crypto/ecdsa key.
func ecdsaPublic(t *testing.T, c elliptic.Curve, point []byte) *ecdsa.PublicKey {
	t.Helper()
	x, y := elliptic.Unmarshal(c, point) //nolint:staticcheck // parsing a known-good point
	if x == nil {
		t.Fatal("exported point does not parse")
	}
	return &ecdsa.PublicKey{Curve: c, X: x, Y: y}
}

// derSig converts PSA's r||s into the DER SEQUENCE other tools expect.
func derSig(t *testing.T, sig []byte) []byte {
	t.Helper()
	n := len(sig) / 2
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestECDSASignVerify(t *testing.T) {
	e := newEnv(t)
	ossl := needOpenSSLMaybe(t)
	msg := []byte("the software provider signs this")
	cases := []struct {
		bits   uint32
		curve  elliptic.Curve
		hash   psa.Algorithm
		digest []byte
		dgst   string
	}{
		{256, elliptic.P256(), psa.AlgSHA256, sum256(msg), "-sha256"},
		{384, elliptic.P384(), psa.AlgSHA384, sum384(msg), "-sha384"},
		{521, elliptic.P521(), psa.AlgSHA512, sum512(msg), "-sha512"},
	}
	for _, c := range cases {
		for _, det := range []bool{false, true} {
			alg := psa.ECDSA(c.hash)
			if det {
				alg = psa.DeterministicECDSA(c.hash)
			}
			name := alg.String() + "/" + c.curve.Params().Name
			e.generate(alice, name, ecc(c.bits, uSign, alg))
			sig := e.sign(alice, name, alg, c.digest)
			size := (int(c.bits) + 7) / 8
			if len(sig) != 2*size {
				t.Fatalf("%s: signature is %d bytes, want r||s of %d", name, len(sig), 2*size)
			}
			pub := ecdsaPublic(t, c.curve, e.exportPublic(alice, name))
			if !ecdsa.Verify(pub, c.digest, new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])) {
				t.Errorf("%s: crypto/ecdsa rejects the signature", name)
			}
			if s := e.verifyStatus(alice, name, alg, c.digest, sig); s != wire.StatusSuccess {
				t.Errorf("%s: own verification: %v", name, s)
			}
			again := e.sign(alice, name, alg, c.digest)
			if det != bytes.Equal(again, sig) {
				t.Errorf("%s: deterministic=%v but repeated signatures equal=%v", name, det, bytes.Equal(again, sig))
			}
			bad := bytes.Clone(sig)
			bad[len(bad)/3] ^= 0x40
			if s := e.verifyStatus(alice, name, alg, c.digest, bad); s != wire.StatusPsaErrorInvalidSignature {
				t.Errorf("%s: tampered signature: %v", name, s)
			}
			if s := e.verifyStatus(alice, name, alg, c.digest, sig[1:]); s != wire.StatusPsaErrorInvalidSignature {
				t.Errorf("%s: short signature: %v", name, s)
			}
			if ossl != nil {
				pemFile := ossl.publicPEM("pub.pem", pub)
				sigFile := ossl.file("sig.der", derSig(t, sig))
				msgFile := ossl.file("msg", msg)
				out := ossl.run(nil, "dgst", c.dgst, "-verify", pemFile, "-signature", sigFile, msgFile)
				if !strings.Contains(string(out), "Verified OK") {
					t.Errorf("%s: openssl: %s", name, out)
				}
			}
		}
	}
}

// The RFC 6979 A.2.5 key and vector, end to end through import and sign.
func TestDeterministicECDSARFC6979(t *testing.T) {
	e := newEnv(t)
	d, _ := hex.DecodeString("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721")
	alg := psa.DeterministicECDSA(psa.AlgSHA256)
	e.importKey(alice, "rfc", ecc(256, uSign, alg), d)
	sig := e.sign(alice, "rfc", alg, sum256([]byte("sample")))
	want := "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716" +
		"F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"
	if got := strings.ToUpper(hex.EncodeToString(sig)); got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
	// The RFC's public key.
	wantPub := "0460FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6" +
		"7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299"
	if got := strings.ToUpper(hex.EncodeToString(e.exportPublic(alice, "rfc"))); got != wantPub {
		t.Errorf("public key %s", got)
	}
}

func TestRSASignatures(t *testing.T) {
	e := newEnv(t)
	ossl := needOpenSSLMaybe(t)
	msg := []byte("RSA signatures in every PSA flavour")
	priv := testRSAKey(t, 2048)
	der := x509.MarshalPKCS1PrivateKey(priv)
	pkcs1Any := psa.RSAPKCS1v15Sign(psa.AlgAnyHash)
	pss := psa.RSAPSS(psa.AlgSHA256)
	e.importKey(alice, "pkcs1", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: uSign, Alg: pkcs1Any}, der)
	e.importKey(alice, "pss", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Usage: uSign, Alg: pss}, der)
	e.importKey(alice, "raw", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Usage: uSign, Alg: psa.AlgRSAPKCS1v15SignRaw}, der)

	d256 := sum256(msg)
	sig := e.sign(alice, "pkcs1", psa.RSAPKCS1v15Sign(psa.AlgSHA256), d256)
	if err := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, d256, sig); err != nil {
		t.Errorf("PKCS#1 v1.5 SHA-256: crypto/rsa: %v", err)
	}
	d512 := sum512(msg)
	sig512 := e.sign(alice, "pkcs1", psa.RSAPKCS1v15Sign(psa.AlgSHA512), d512)
	if err := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA512, d512, sig512); err != nil {
		t.Errorf("PKCS#1 v1.5 SHA-512: crypto/rsa: %v", err)
	}
	h3 := sha3.New256()
	h3.Write(msg)
	d3 := h3.Sum(nil)
	sig3 := e.sign(alice, "pkcs1", psa.RSAPKCS1v15Sign(psa.AlgSHA3_256), d3)
	pssSig := e.sign(alice, "pss", pss, d256)
	if err := rsa.VerifyPSS(&priv.PublicKey, crypto.SHA256, d256, pssSig, &rsa.PSSOptions{SaltLength: 32}); err != nil {
		t.Errorf("PSS: crypto/rsa with a 32-byte salt: %v", err)
	}
	raw := bytes.Repeat([]byte{0xab}, 36)
	rawSig := e.sign(alice, "raw", psa.AlgRSAPKCS1v15SignRaw, raw)
	if err := rsa.VerifyPKCS1v15(&priv.PublicKey, 0, raw, rawSig); err != nil {
		t.Errorf("raw PKCS#1 v1.5: %v", err)
	}

	for _, v := range []struct {
		key  string
		alg  psa.Algorithm
		dig  []byte
		sig  []byte
		args []string
	}{
		{"pkcs1", psa.RSAPKCS1v15Sign(psa.AlgSHA256), d256, sig, []string{"-sha256"}},
		{"pkcs1", psa.RSAPKCS1v15Sign(psa.AlgSHA512), d512, sig512, []string{"-sha512"}},
		{"pkcs1", psa.RSAPKCS1v15Sign(psa.AlgSHA3_256), d3, sig3, []string{"-sha3-256"}},
		{"pss", pss, d256, pssSig, []string{"-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"}},
	} {
		if s := e.verifyStatus(alice, v.key, v.alg, v.dig, v.sig); s != wire.StatusSuccess {
			t.Errorf("%v: own verification: %v", v.alg, s)
		}
		bad := bytes.Clone(v.sig)
		bad[10] ^= 1
		if s := e.verifyStatus(alice, v.key, v.alg, v.dig, bad); s != wire.StatusPsaErrorInvalidSignature {
			t.Errorf("%v: tampered signature: %v", v.alg, s)
		}
		if s := e.verifyStatus(alice, v.key, v.alg, v.dig, v.sig[:255]); s != wire.StatusPsaErrorInvalidSignature {
			t.Errorf("%v: short signature: %v", v.alg, s)
		}
		if ossl == nil {
			continue
		}
		pubFile := ossl.publicPEM("pub.pem", &priv.PublicKey)
		args := append([]string{"dgst"}, v.args...)
		args = append(args, "-verify", pubFile, "-signature", ossl.file("sig", v.sig), ossl.file("msg", msg))
		if out := ossl.run(nil, args...); !strings.Contains(string(out), "Verified OK") {
			t.Errorf("%v: openssl: %s", v.alg, out)
		}
	}

	// Signatures made by OpenSSL verify here.
	if ossl != nil {
		keyFile := ossl.privatePEM("priv.pem", priv)
		msgFile := ossl.file("msg", msg)
		osig := ossl.run(nil, "dgst", "-sha256", "-sign", keyFile, msgFile)
		if s := e.verifyStatus(alice, "pkcs1", psa.RSAPKCS1v15Sign(psa.AlgSHA256), d256, osig); s != wire.StatusSuccess {
			t.Errorf("OpenSSL PKCS#1 v1.5 signature: %v", s)
		}
		opss := ossl.run(nil, "dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest", "-sign", keyFile, msgFile)
		if s := e.verifyStatus(alice, "pss", pss, d256, opss); s != wire.StatusSuccess {
			t.Errorf("OpenSSL PSS signature: %v", s)
		}
	}
}

// A 1024-bit key with SHA-512 leaves room for a 62-byte salt only; Mbed
// TLS then uses the longest salt that fits.
func TestRSAPSSShortSalt(t *testing.T) {
	e := newEnv(t)
	priv := testRSAKey(t, 1024)
	alg := psa.RSAPSS(psa.AlgSHA512)
	e.importKey(alice, "k", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Usage: uSign, Alg: alg}, x509.MarshalPKCS1PrivateKey(priv))
	d := sum512([]byte("m"))
	sig := e.sign(alice, "k", alg, d)
	if err := rsa.VerifyPSS(&priv.PublicKey, crypto.SHA512, d, sig, &rsa.PSSOptions{SaltLength: 62}); err != nil {
		t.Errorf("crypto/rsa with a 62-byte salt: %v", err)
	}
}

func TestSignPolicy(t *testing.T) {
	e := newEnv(t)
	d32 := sum256([]byte("x"))
	e.generate(alice, "ecdsa256", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	e.generate(alice, "signonly", ecc(256, psa.UsageSignHash, psa.ECDSA(psa.AlgSHA256)))
	e.generate(alice, "verifyonly", ecc(256, psa.UsageVerifyHash, psa.ECDSA(psa.AlgSHA256)))
	e.generate(alice, "msgonly", ecc(256, psa.UsageSignMessage|psa.UsageVerifyMessage, psa.ECDSA(psa.AlgSHA256)))
	e.generate(alice, "anyhash", ecc(256, uSign, psa.ECDSA(psa.AlgAnyHash)))
	e.generate(alice, "ecdh", psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: uSign | psa.UsageDerive, Alg: psa.AlgECDH})
	rsaKey := testRSAKey(t, 1024)
	// An RSA key whose policy names ECDSA passes the algorithm check and
	// fails the key type check.
	e.importKey(alice, "rsa-ecdsa", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Usage: uSign, Alg: psa.ECDSA(psa.AlgSHA256)}, x509.MarshalPKCS1PrivateKey(rsaKey))
	p256 := testECDHKey(t)
	e.importKey(alice, "pub", psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Usage: uSign, Alg: psa.ECDSA(psa.AlgSHA256)}, p256.PublicKey().Bytes())

	sig := e.sign(alice, "ecdsa256", psa.ECDSA(psa.AlgSHA256), d32)
	signReq := func(key string, alg psa.Algorithm, hash []byte) *pb.SignHashRequest {
		return &pb.SignHashRequest{KeyName: key, Alg: signAlg(t, alg), Hash: hash}
	}
	verifyReq := func(key string, alg psa.Algorithm, hash []byte) *pb.VerifyHashRequest {
		return &pb.VerifyHashRequest{KeyName: key, Alg: signAlg(t, alg), Hash: hash, Signature: sig}
	}
	cases := []struct {
		name string
		req  protomsg.Message
		want wire.Status
	}{
		{"other hash than the policy", signReq("ecdsa256", psa.ECDSA(psa.AlgSHA384), sum384(nil)), wire.StatusPsaErrorNotPermitted},
		{"deterministic on a randomized policy", signReq("ecdsa256", psa.DeterministicECDSA(psa.AlgSHA256), d32), wire.StatusPsaErrorNotPermitted},
		{"sign without the flag", signReq("verifyonly", psa.ECDSA(psa.AlgSHA256), d32), wire.StatusPsaErrorNotPermitted},
		{"verify without the flag", verifyReq("signonly", psa.ECDSA(psa.AlgSHA256), d32), wire.StatusPsaErrorNotPermitted},
		{"sign hash with message flags only", signReq("msgonly", psa.ECDSA(psa.AlgSHA256), d32), wire.StatusPsaErrorNotPermitted},
		{"wildcard requested", signReq("anyhash", psa.ECDSA(psa.AlgAnyHash), d32), wire.StatusPsaErrorNotPermitted},
		{"ECDSA on an ECDH policy", signReq("ecdh", psa.ECDSA(psa.AlgSHA256), d32), wire.StatusPsaErrorNotPermitted},
		{"ECDSA with an RSA key", signReq("rsa-ecdsa", psa.ECDSA(psa.AlgSHA256), d32), wire.StatusPsaErrorNotPermitted},
		{"hash too short", signReq("ecdsa256", psa.ECDSA(psa.AlgSHA256), d32[:31]), wire.StatusPsaErrorInvalidArgument},
		{"hash too long", signReq("ecdsa256", psa.ECDSA(psa.AlgSHA256), append(d32, 0)), wire.StatusPsaErrorInvalidArgument},
		{"public key signs", signReq("pub", psa.ECDSA(psa.AlgSHA256), d32), wire.StatusPsaErrorInvalidArgument},
		{"unknown key", signReq("nope", psa.ECDSA(psa.AlgSHA256), d32), wire.StatusPsaErrorDoesNotExist},
		{"missing algorithm", &pb.SignHashRequest{KeyName: "ecdsa256", Hash: d32}, wire.StatusInvalidEncoding},
		{"wildcard policy, SHA-256", signReq("anyhash", psa.ECDSA(psa.AlgSHA256), d32), wire.StatusSuccess},
		{"wildcard policy, SHA-512", signReq("anyhash", psa.ECDSA(psa.AlgSHA512), sum512(nil)), wire.StatusSuccess},
		{"wildcard policy, other family", signReq("anyhash", psa.DeterministicECDSA(psa.AlgSHA256), d32), wire.StatusPsaErrorNotPermitted},
		{"public key verifies", verifyReq("pub", psa.ECDSA(psa.AlgSHA256), d32), wire.StatusPsaErrorInvalidSignature},
	}
	for _, c := range cases {
		if got := e.status(alice, c.req); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSignMessage(t *testing.T) {
	e := newEnv(t)
	msg := []byte("a message, hashed by the provider")
	e.generate(alice, "k", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	sig := e.must(alice, &pb.SignMessageRequest{KeyName: "k", Alg: signAlg(t, psa.ECDSA(psa.AlgSHA256)), Message: msg}).(*pb.SignMessageResult).GetSignature()
	if s := e.verifyStatus(alice, "k", psa.ECDSA(psa.AlgSHA256), sum256(msg), sig); s != wire.StatusSuccess {
		t.Errorf("message signature does not verify as a hash signature: %v", s)
	}
	e.must(alice, &pb.VerifyMessageRequest{KeyName: "k", Alg: signAlg(t, psa.ECDSA(psa.AlgSHA256)), Message: msg, Signature: sig})
	e.expect(wire.StatusPsaErrorInvalidSignature, alice, &pb.VerifyMessageRequest{KeyName: "k", Alg: signAlg(t, psa.ECDSA(psa.AlgSHA256)), Message: msg[1:], Signature: sig})

	e.generate(alice, "any", ecc(256, uSign, psa.AlgECDSAAny))
	e.expect(wire.StatusPsaErrorInvalidArgument, alice, &pb.SignMessageRequest{KeyName: "any", Alg: signAlg(t, psa.AlgECDSAAny), Message: msg})
	e.generate(alice, "verify", ecc(256, psa.UsageVerifyHash, psa.ECDSA(psa.AlgSHA256)))
	e.expect(wire.StatusPsaErrorNotPermitted, alice, &pb.SignMessageRequest{KeyName: "verify", Alg: signAlg(t, psa.ECDSA(psa.AlgSHA256)), Message: msg})

	priv := testRSAKey(t, 1024)
	e.importKey(alice, "rsa", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Usage: psa.UsageSignMessage, Alg: psa.RSAPKCS1v15Sign(psa.AlgSHA384)}, x509.MarshalPKCS1PrivateKey(priv))
	rsig := e.must(alice, &pb.SignMessageRequest{KeyName: "rsa", Alg: signAlg(t, psa.RSAPKCS1v15Sign(psa.AlgSHA384)), Message: msg}).(*pb.SignMessageResult).GetSignature()
	if err := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA384, sum384(msg), rsig); err != nil {
		t.Errorf("RSA message signature: %v", err)
	}
}

func sum256(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
func sum384(b []byte) []byte { h := sha512.Sum384(b); return h[:] }
func sum512(b []byte) []byte { h := sha512.Sum512(b); return h[:] }

// RSA-PSS needs the hash registered with the crypto package: SHA-3 is on
// recent Go releases, not on Go 1.22. Either way the answer is honest.
func TestRSAPSSWithSHA3(t *testing.T) {
	e := newEnv(t)
	priv := testRSAKey(t, 2048)
	alg := psa.RSAPSS(psa.AlgSHA3_256)
	e.importKey(alice, "k", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Usage: uSign, Alg: alg}, x509.MarshalPKCS1PrivateKey(priv))
	h := sha3.New256()
	h.Write([]byte("msg"))
	d := h.Sum(nil)
	req := &pb.SignHashRequest{KeyName: "k", Alg: signAlg(t, alg), Hash: d}
	if !crypto.SHA3_256.Available() {
		e.expect(wire.StatusPsaErrorNotSupported, alice, req)
		e.expect(wire.StatusPsaErrorNotSupported, alice, &pb.CanDoCryptoRequest{CheckType: pb.CheckType_USE,
			Attributes: attrs(t, psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: uSign, Alg: alg})})
		return
	}
	sig := e.sign(alice, "k", alg, d)
	if err := rsa.VerifyPSS(&priv.PublicKey, crypto.SHA3_256, d, sig, &rsa.PSSOptions{SaltLength: 32}); err != nil {
		t.Errorf("crypto/rsa: %v", err)
	}
	if ossl := needOpenSSLMaybe(t); ossl != nil {
		out := ossl.run(nil, "dgst", "-sha3-256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32",
			"-verify", ossl.publicPEM("pub.pem", &priv.PublicKey), "-signature", ossl.file("sig", sig), ossl.file("msg", []byte("msg")))
		if !strings.Contains(string(out), "Verified OK") {
			t.Errorf("openssl: %s", out)
		}
	}
}
