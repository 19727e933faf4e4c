package software

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func TestAsymmetricEncryption(t *testing.T) {
	e := newEnv(t)
	ossl := needOpenSSLMaybe(t)
	priv := testRSAKey(t, 2048)
	der := x509.MarshalPKCS1PrivateKey(priv)
	oaep := psa.RSAOAEP(psa.AlgSHA256)
	e.importKey(alice, "pkcs1", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Usage: uCrypt, Alg: psa.AlgRSAPKCS1v15Crypt}, der)
	e.importKey(alice, "oaep", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Usage: uCrypt, Alg: oaep}, der)
	e.importKey(alice, "oaep-pub", psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Usage: uCrypt, Alg: oaep}, x509.MarshalPKCS1PublicKey(&priv.PublicKey))
	msg := []byte("secret for the provider")
	label := []byte("a label")

	encrypt := func(key string, alg psa.Algorithm, pt, salt []byte) []byte {
		return e.must(alice, &pb.AsymmetricEncryptRequest{KeyName: key, Alg: encAlg(t, alg), Plaintext: pt, Salt: salt}).(*pb.AsymmetricEncryptResult).GetCiphertext()
	}
	decrypt := func(key string, alg psa.Algorithm, ct, salt []byte) []byte {
		return e.must(alice, &pb.AsymmetricDecryptRequest{KeyName: key, Alg: encAlg(t, alg), Ciphertext: ct, Salt: salt}).(*pb.AsymmetricDecryptResult).GetPlaintext()
	}

	ct := encrypt("pkcs1", psa.AlgRSAPKCS1v15Crypt, msg, nil)
	if pt, err := rsa.DecryptPKCS1v15(nil, priv, ct); err != nil || !bytes.Equal(pt, msg) {
		t.Errorf("PKCS#1 v1.5: crypto/rsa cannot decrypt: %v", err)
	}
	if !bytes.Equal(decrypt("pkcs1", psa.AlgRSAPKCS1v15Crypt, ct, nil), msg) {
		t.Error("PKCS#1 v1.5 round trip")
	}
	// Encrypting with the public key object, decrypting with the pair.
	ctOAEP := encrypt("oaep-pub", oaep, msg, label)
	if pt, err := rsa.DecryptOAEP(sha256.New(), nil, priv, ctOAEP, label); err != nil || !bytes.Equal(pt, msg) {
		t.Errorf("OAEP: crypto/rsa cannot decrypt with the salt as label: %v", err)
	}
	if !bytes.Equal(decrypt("oaep", oaep, ctOAEP, label), msg) {
		t.Error("OAEP round trip")
	}
	e.expect(wire.StatusPsaErrorInvalidPadding, alice, &pb.AsymmetricDecryptRequest{KeyName: "oaep", Alg: encAlg(t, oaep), Ciphertext: ctOAEP, Salt: []byte("other label")})
	noLabel := encrypt("oaep", oaep, msg, nil)
	if !bytes.Equal(decrypt("oaep", oaep, noLabel, nil), msg) {
		t.Error("OAEP without label")
	}

	if ossl != nil {
		keyFile := ossl.privatePEM("priv.pem", priv)
		pubFile := ossl.publicPEM("pub.pem", &priv.PublicKey)
		out := ossl.run(ctOAEP, "pkeyutl", "-decrypt", "-inkey", keyFile, "-pkeyopt", "rsa_padding_mode:oaep",
			"-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256", "-pkeyopt", "rsa_oaep_label:"+hex.EncodeToString(label))
		if !bytes.Equal(out, msg) {
			t.Errorf("openssl OAEP decryption: %q", out)
		}
		out = ossl.run(ct, "pkeyutl", "-decrypt", "-inkey", keyFile)
		if !bytes.Equal(out, msg) {
			t.Errorf("openssl PKCS#1 v1.5 decryption: %q", out)
		}
		oct := ossl.run(msg, "pkeyutl", "-encrypt", "-pubin", "-inkey", pubFile, "-pkeyopt", "rsa_padding_mode:oaep",
			"-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256", "-pkeyopt", "rsa_oaep_label:"+hex.EncodeToString(label))
		if !bytes.Equal(decrypt("oaep", oaep, oct, label), msg) {
			t.Error("OpenSSL OAEP ciphertext does not decrypt")
		}
	}

	corrupt := bytes.Clone(ct)
	corrupt[100] ^= 0x55
	e.generate(alice, "ecc", ecc(256, uCrypt, psa.ECDSA(psa.AlgSHA256)))
	e.generate(alice, "encrypt-only", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 1024, Usage: psa.UsageEncrypt, Alg: oaep})
	long := make([]byte, 256-2*32-2+1) // one byte over OAEP-SHA-256's limit for 2048 bits
	rand.Read(long)
	cases := []struct {
		name string
		req  protoMsg
		want wire.Status
	}{
		{"salt with PKCS#1 v1.5", &pb.AsymmetricEncryptRequest{KeyName: "pkcs1", Alg: encAlg(t, psa.AlgRSAPKCS1v15Crypt), Plaintext: msg, Salt: label}, wire.StatusPsaErrorInvalidArgument},
		{"empty plaintext", &pb.AsymmetricEncryptRequest{KeyName: "oaep", Alg: encAlg(t, oaep), Plaintext: nil}, wire.StatusPsaErrorInvalidArgument},
		{"plaintext too long", &pb.AsymmetricEncryptRequest{KeyName: "oaep", Alg: encAlg(t, oaep), Plaintext: long}, wire.StatusPsaErrorInvalidArgument},
		{"other OAEP hash than the policy", &pb.AsymmetricEncryptRequest{KeyName: "oaep", Alg: encAlg(t, psa.RSAOAEP(psa.AlgSHA384)), Plaintext: msg}, wire.StatusPsaErrorNotPermitted},
		{"PKCS#1 v1.5 on an OAEP key", &pb.AsymmetricEncryptRequest{KeyName: "oaep", Alg: encAlg(t, psa.AlgRSAPKCS1v15Crypt), Plaintext: msg}, wire.StatusPsaErrorNotPermitted},
		{"ECC key", &pb.AsymmetricEncryptRequest{KeyName: "ecc", Alg: encAlg(t, oaep), Plaintext: msg}, wire.StatusPsaErrorNotPermitted},
		{"decrypt without the flag", &pb.AsymmetricDecryptRequest{KeyName: "encrypt-only", Alg: encAlg(t, oaep), Ciphertext: ctOAEP}, wire.StatusPsaErrorNotPermitted},
		{"decrypt with a public key", &pb.AsymmetricDecryptRequest{KeyName: "oaep-pub", Alg: encAlg(t, oaep), Ciphertext: ctOAEP}, wire.StatusPsaErrorInvalidArgument},
		{"ciphertext of the wrong size", &pb.AsymmetricDecryptRequest{KeyName: "pkcs1", Alg: encAlg(t, psa.AlgRSAPKCS1v15Crypt), Ciphertext: ct[1:]}, wire.StatusPsaErrorInvalidArgument},
		{"empty ciphertext", &pb.AsymmetricDecryptRequest{KeyName: "pkcs1", Alg: encAlg(t, psa.AlgRSAPKCS1v15Crypt)}, wire.StatusPsaErrorInvalidArgument},
		{"corrupted ciphertext", &pb.AsymmetricDecryptRequest{KeyName: "pkcs1", Alg: encAlg(t, psa.AlgRSAPKCS1v15Crypt), Ciphertext: corrupt}, wire.StatusPsaErrorInvalidPadding},
		{"other tenant", &pb.AsymmetricDecryptRequest{KeyName: "pkcs1", Alg: encAlg(t, psa.AlgRSAPKCS1v15Crypt), Ciphertext: ct}, wire.StatusPsaErrorDoesNotExist},
		{"missing algorithm", &pb.AsymmetricEncryptRequest{KeyName: "oaep", Plaintext: msg}, wire.StatusInvalidEncoding},
	}
	for _, c := range cases {
		app := alice
		if c.name == "other tenant" {
			app = bob
		}
		if got := e.status(app, c.req); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
