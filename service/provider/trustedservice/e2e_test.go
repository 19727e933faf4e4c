package trustedservice

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

func attrs(t *testing.T, a psa.Attributes) *pb.KeyAttributes {
	t.Helper()
	m, err := psa.AttributesToProto(a)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func signAlg(t *testing.T, a psa.Algorithm) *pb.Algorithm_AsymmetricSignature {
	t.Helper()
	m, err := psa.SignToProto(a)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func encAlg(t *testing.T, a psa.Algorithm) *pb.Algorithm_AsymmetricEncryption {
	t.Helper()
	m, err := psa.AsymEncryptToProto(a)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// do runs a request and fails the test on error.
func do[T protomsg.Message](t *testing.T, p *Provider, op wire.Opcode, req protomsg.Message) T {
	t.Helper()
	res, err := provider.Run(ctxT(t), p, alice, op, req)
	if err != nil {
		t.Fatalf("%v: %v", op, err)
	}
	return res.(T)
}

func exec1(t *testing.T, p *Provider, op wire.Opcode, req protomsg.Message) error {
	t.Helper()
	_, err := provider.Run(ctxT(t), p, alice, op, req)
	return err
}

var (
	rsaCrypt = psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: psa.UsageEncrypt | psa.UsageDecrypt, Alg: psa.AlgRSAPKCS1v15Crypt}
	rsaOAEP  = psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: psa.UsageEncrypt | psa.UsageDecrypt, Alg: psa.RSAOAEP(psa.AlgSHA256)}
	eccSign  = psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)}
	rsaSign  = psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 1024, Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: psa.RSAPKCS1v15Sign(psa.AlgSHA256)}
	rsaPSS   = psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 1024, Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: psa.RSAPSS(psa.AlgSHA256)}
)

// The flows of parsec-cli-tests.sh (random, RSA PKCS#1 v1.5 and OAEP
// encryption both ways, ECDSA/RSA/PSS signatures checked by an outside
// verifier, key sizes), through a separate emulator process, in both
// encodings.
func TestEndToEnd(t *testing.T) {
	for _, enc := range []string{"packed-c", "protobuf"} {
		t.Run(enc, func(t *testing.T) {
			dir := t.TempDir()
			sock := filepath.Join(dir, "tsemu.sock")
			startEmulator(t, sock, "-state", filepath.Join(dir, "sw"))
			k := newKIM(t, filepath.Join(dir, "kim"))
			p, _ := newProvider(t, Config{EmulatorSocket: sock, Encoding: enc}, k)

			r := do[*pb.GenerateRandomResult](t, p, wire.OpPsaGenerateRandom, &pb.GenerateRandomRequest{Size: 10})
			if len(r.RandomBytes) != 10 {
				t.Errorf("random: %d bytes", len(r.RandomBytes))
			}

			for _, a := range []psa.Attributes{rsaCrypt, rsaOAEP} {
				name := "anta-key-rsa-" + a.Alg.String()
				do[*pb.GenerateKeyResult](t, p, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: name, Attributes: attrs(t, a)})
				der := do[*pb.ExportPublicKeyResult](t, p, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: name}).Data
				pub, err := x509.ParsePKCS1PublicKey(der)
				if err != nil || pub.N.BitLen() != 2048 {
					t.Fatalf("public key: %v", err)
				}
				// Encrypt through Parsec, decrypt through Parsec.
				ct := do[*pb.AsymmetricEncryptResult](t, p, wire.OpPsaAsymmetricEncrypt, &pb.AsymmetricEncryptRequest{KeyName: name, Alg: encAlg(t, a.Alg), Plaintext: []byte("Parsec public key encryption")}).Ciphertext
				pt := do[*pb.AsymmetricDecryptResult](t, p, wire.OpPsaAsymmetricDecrypt, &pb.AsymmetricDecryptRequest{KeyName: name, Alg: encAlg(t, a.Alg), Ciphertext: ct}).Plaintext
				if string(pt) != "Parsec public key encryption" {
					t.Errorf("%v round trip: %q", a.Alg, pt)
				}
				// Encrypt outside with the exported key, decrypt through Parsec.
				if a.Alg.IsRSAOAEP() {
					ct, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, []byte("Parsec decryption test"), nil)
				} else {
					ct, err = rsa.EncryptPKCS1v15(rand.Reader, pub, []byte("Parsec decryption test"))
				}
				if err != nil {
					t.Fatal(err)
				}
				pt = do[*pb.AsymmetricDecryptResult](t, p, wire.OpPsaAsymmetricDecrypt, &pb.AsymmetricDecryptRequest{KeyName: name, Alg: encAlg(t, a.Alg), Ciphertext: ct}).Plaintext
				if string(pt) != "Parsec decryption test" {
					t.Errorf("%v decryption: %q", a.Alg, pt)
				}
				do[*pb.DestroyKeyResult](t, p, wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: name})
			}

			msg := []byte("Parsec signature test")
			digest := sha256.Sum256(msg)
			for _, a := range []psa.Attributes{eccSign, rsaSign, rsaPSS} {
				name := "anta-key-sign"
				do[*pb.GenerateKeyResult](t, p, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: name, Attributes: attrs(t, a)})
				der := do[*pb.ExportPublicKeyResult](t, p, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: name}).Data
				sig := do[*pb.SignHashResult](t, p, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: name, Alg: signAlg(t, a.Alg), Hash: digest[:]}).Signature
				var ok bool
				switch {
				case a.Type.IsECC():
					x, y := elliptic.Unmarshal(elliptic.P256(), der)
					ok = x != nil && ecdsa.Verify(&ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
				case a.Alg.IsRSAPSS():
					pub, _ := x509.ParsePKCS1PublicKey(der)
					ok = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, nil) == nil
				default:
					pub, _ := x509.ParsePKCS1PublicKey(der)
					ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
				}
				if !ok {
					t.Errorf("%v: the signature does not verify outside the secure world", a.Alg)
				}
				do[*pb.VerifyHashResult](t, p, wire.OpPsaVerifyHash, &pb.VerifyHashRequest{KeyName: name, Alg: signAlg(t, a.Alg), Hash: digest[:], Signature: sig})
				sig[len(sig)-1] ^= 1
				if err := exec1(t, p, wire.OpPsaVerifyHash, &pb.VerifyHashRequest{KeyName: name, Alg: signAlg(t, a.Alg), Hash: digest[:], Signature: sig}); statusOf(err) != wire.StatusPsaErrorInvalidSignature {
					t.Errorf("%v: bad signature: %v", a.Alg, err)
				}
				ms := do[*pb.SignMessageResult](t, p, wire.OpPsaSignMessage, &pb.SignMessageRequest{KeyName: name, Alg: signAlg(t, a.Alg), Message: msg}).Signature
				do[*pb.VerifyMessageResult](t, p, wire.OpPsaVerifyMessage, &pb.VerifyMessageRequest{KeyName: name, Alg: signAlg(t, a.Alg), Message: msg, Signature: ms})
				if err := exec1(t, p, wire.OpPsaExportKey, &pb.ExportKeyRequest{KeyName: name}); statusOf(err) != wire.StatusPsaErrorNotPermitted {
					t.Errorf("export without the export usage: %v", err)
				}
				do[*pb.DestroyKeyResult](t, p, wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: name})
				if err := exec1(t, p, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: name, Alg: signAlg(t, a.Alg), Hash: digest[:]}); statusOf(err) != wire.StatusPsaErrorDoesNotExist {
					t.Errorf("destroyed key: %v", err)
				}
			}

			// Key sizes (test_rsa_key_bits), and an imported key with its
			// size left to the data.
			for _, bits := range []uint32{1024, 2048} {
				a := rsaSign
				a.Bits = bits
				do[*pb.GenerateKeyResult](t, p, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "anta-key-rsa-bits", Attributes: attrs(t, a)})
				der := do[*pb.ExportPublicKeyResult](t, p, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: "anta-key-rsa-bits"}).Data
				if pub, err := x509.ParsePKCS1PublicKey(der); err != nil || pub.N.BitLen() != int(bits) {
					t.Errorf("%d-bit key: %v", bits, err)
				}
				do[*pb.DestroyKeyResult](t, p, wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: "anta-key-rsa-bits"})
			}
			if err := exec1(t, p, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "odd", Attributes: attrs(t, psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 1536, Usage: psa.UsageSignHash, Alg: rsaSign.Alg})}); statusOf(err) != wire.StatusPsaErrorInvalidArgument {
				t.Errorf("1536-bit RSA: %v", err)
			}
			goKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			imp := eccSign
			imp.Bits = 0
			imp.Usage |= psa.UsageExport
			do[*pb.ImportKeyResult](t, p, wire.OpPsaImportKey, &pb.ImportKeyRequest{KeyName: "imported", Attributes: attrs(t, imp), Data: goKey.D.FillBytes(make([]byte, 32))})
			got := do[*pb.ExportKeyResult](t, p, wire.OpPsaExportKey, &pb.ExportKeyRequest{KeyName: "imported"}).Data
			if !bytes.Equal(got, goKey.D.FillBytes(make([]byte, 32))) {
				t.Error("exported key differs from the imported one")
			}
			e, err := k.Get(kim.OwnerOf(alice), "imported")
			if err != nil {
				t.Fatal(err)
			}
			if enc == "packed-c" && e.Attributes.Bits != 256 {
				t.Errorf("recorded size %d, want the partition's 256", e.Attributes.Bits)
			}
			if e.Provider != wire.ProviderTrustedService || len(e.KeyID) != 4 {
				t.Errorf("mapping %+v", e)
			}
			if err := exec1(t, p, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "imported", Attributes: attrs(t, eccSign)}); statusOf(err) != wire.StatusPsaErrorAlreadyExists {
				t.Errorf("taken name: %v", err)
			}

			if enc == "packed-c" {
				packedOnly(t, p)
			} else if p.Accepts(wire.OpPsaHashCompute) || p.Accepts(wire.OpPsaAeadEncrypt) {
				t.Error("the protobuf encoding accepts operations it does not have")
			}
		})
	}
}

// packedOnly runs the operations only the packed-c interface has.
func packedOnly(t *testing.T, p *Provider) {
	in := bytes.Repeat([]byte("0123456789abcdef"), 10000)
	h := sha256.Sum256(in)
	got := do[*pb.HashComputeResult](t, p, wire.OpPsaHashCompute, &pb.HashComputeRequest{Alg: pb.Algorithm_SHA_256, Input: in}).Hash
	if !bytes.Equal(got, h[:]) {
		t.Error("hash differs from Go's")
	}
	do[*pb.HashCompareResult](t, p, wire.OpPsaHashCompare, &pb.HashCompareRequest{Alg: pb.Algorithm_SHA_256, Input: in, Hash: h[:]})
	h[0] ^= 1
	if err := exec1(t, p, wire.OpPsaHashCompare, &pb.HashCompareRequest{Alg: pb.Algorithm_SHA_256, Input: in, Hash: h[:]}); statusOf(err) != wire.StatusPsaErrorInvalidSignature {
		t.Errorf("hash compare mismatch: %v", err)
	}

	aesKey := make([]byte, 32)
	rand.Read(aesKey)
	gcm := psa.Attributes{Type: psa.KeyTypeAES, Usage: psa.UsageEncrypt | psa.UsageDecrypt, Alg: psa.AlgGCM}
	do[*pb.ImportKeyResult](t, p, wire.OpPsaImportKey, &pb.ImportKeyRequest{KeyName: "aes-gcm", Attributes: attrs(t, gcm), Data: aesKey})
	aeadAlg, _ := psa.AEADToProto(psa.AlgGCM)
	nonce := make([]byte, 12)
	rand.Read(nonce)
	ct := do[*pb.AeadEncryptResult](t, p, wire.OpPsaAeadEncrypt, &pb.AeadEncryptRequest{KeyName: "aes-gcm", Alg: aeadAlg, Nonce: nonce, AdditionalData: []byte("ad"), Plaintext: in}).Ciphertext
	b, _ := aes.NewCipher(aesKey)
	g, _ := cipher.NewGCM(b)
	if !bytes.Equal(ct, g.Seal(nil, nonce, in, []byte("ad"))) {
		t.Error("AEAD output differs from Go's GCM")
	}
	pt := do[*pb.AeadDecryptResult](t, p, wire.OpPsaAeadDecrypt, &pb.AeadDecryptRequest{KeyName: "aes-gcm", Alg: aeadAlg, Nonce: nonce, AdditionalData: []byte("ad"), Ciphertext: ct}).Plaintext
	if !bytes.Equal(pt, in) {
		t.Error("AEAD round trip")
	}

	cbc := psa.Attributes{Type: psa.KeyTypeAES, Usage: psa.UsageEncrypt | psa.UsageDecrypt, Alg: psa.AlgCBCPKCS7}
	do[*pb.ImportKeyResult](t, p, wire.OpPsaImportKey, &pb.ImportKeyRequest{KeyName: "aes-cbc", Attributes: attrs(t, cbc), Data: aesKey})
	cct := do[*pb.CipherEncryptResult](t, p, wire.OpPsaCipherEncrypt, &pb.CipherEncryptRequest{KeyName: "aes-cbc", Alg: pb.Algorithm_CBC_PKCS7, Plaintext: []byte("cipher text!")}).Ciphertext
	if len(cct) != 32 {
		t.Errorf("CBC-PKCS7 of 12 bytes: %d bytes (IV + one block expected)", len(cct))
	}
	cpt := do[*pb.CipherDecryptResult](t, p, wire.OpPsaCipherDecrypt, &pb.CipherDecryptRequest{KeyName: "aes-cbc", Alg: pb.Algorithm_CBC_PKCS7, Ciphertext: cct}).Plaintext
	if string(cpt) != "cipher text!" {
		t.Errorf("cipher round trip %q", cpt)
	}
	if err := exec1(t, p, wire.OpPsaCipherEncrypt, &pb.CipherEncryptRequest{KeyName: "aes-gcm", Alg: pb.Algorithm_CBC_PKCS7, Plaintext: []byte("x")}); statusOf(err) != wire.StatusPsaErrorNotPermitted {
		t.Errorf("cipher with a GCM key: %v", err)
	}

	hk := []byte("an hmac key")
	hm := psa.Attributes{Type: psa.KeyTypeHMAC, Usage: psa.UsageSignMessage | psa.UsageVerifyMessage, Alg: psa.HMAC(psa.AlgSHA256)}
	do[*pb.ImportKeyResult](t, p, wire.OpPsaImportKey, &pb.ImportKeyRequest{KeyName: "hmac", Attributes: attrs(t, hm), Data: hk})
	macAlg, _ := psa.MACToProto(psa.HMAC(psa.AlgSHA256))
	mac := do[*pb.MacComputeResult](t, p, wire.OpPsaMacCompute, &pb.MacComputeRequest{KeyName: "hmac", Alg: macAlg, Input: in}).Mac
	m := hmac.New(sha256.New, hk)
	m.Write(in)
	if !bytes.Equal(mac, m.Sum(nil)) {
		t.Error("HMAC differs from Go's")
	}
	do[*pb.MacVerifyResult](t, p, wire.OpPsaMacVerify, &pb.MacVerifyRequest{KeyName: "hmac", Alg: macAlg, Input: in, Mac: mac})

	ka := psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: psa.UsageDerive, Alg: psa.AlgECDH}
	do[*pb.GenerateKeyResult](t, p, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "ecdh", Attributes: attrs(t, ka)})
	mine := do[*pb.ExportPublicKeyResult](t, p, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: "ecdh"}).Data
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	s := do[*pb.RawKeyAgreementResult](t, p, wire.OpPsaRawKeyAgreement, &pb.RawKeyAgreementRequest{Alg: pb.Algorithm_KeyAgreement_ECDH, PrivateKeyName: "ecdh", PeerKey: peer.PublicKey().Bytes()}).SharedSecret
	mp, _ := ecdh.P256().NewPublicKey(mine)
	if want, _ := peer.ECDH(mp); !bytes.Equal(s, want) {
		t.Error("ECDH secret differs from Go's")
	}
}

func TestOpcodesAndConfig(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	startEmulator(t, sock)
	k := newKIM(t, filepath.Join(dir, "kim"))
	for _, enc := range []string{"packed-c", "protobuf"} {
		p, _ := newProvider(t, Config{EmulatorSocket: sock, Encoding: enc}, k)
		ops := p.Opcodes()
		for _, op := range ops {
			if !op.Advertisable() {
				t.Errorf("%s advertises %v, which Rust clients reject", enc, op)
			}
		}
		// The advertised list, in this order, is what list-opcodes has
		// always answered (Rust's set, sign/verify message, then packed-c's).
		want := []wire.Opcode{
			wire.OpPsaDestroyKey, wire.OpPsaGenerateKey, wire.OpPsaSignHash, wire.OpPsaVerifyHash,
			wire.OpPsaImportKey, wire.OpPsaExportPublicKey, wire.OpPsaExportKey, wire.OpPsaGenerateRandom,
			wire.OpCanDoCrypto, wire.OpPsaAsymmetricEncrypt, wire.OpPsaAsymmetricDecrypt,
			wire.OpPsaSignMessage, wire.OpPsaVerifyMessage,
		}
		if enc == "packed-c" {
			want = append(want, wire.OpPsaHashCompute, wire.OpPsaHashCompare, wire.OpPsaAeadEncrypt, wire.OpPsaAeadDecrypt,
				wire.OpPsaRawKeyAgreement, wire.OpPsaCipherEncrypt, wire.OpPsaCipherDecrypt)
		}
		if fmt.Sprint(ops) != fmt.Sprint(want) {
			t.Errorf("%s advertises %v, want %v", enc, ops, want)
		}
		for _, op := range want {
			if !p.Accepts(op) {
				t.Errorf("%s does not accept %v", enc, op)
			}
		}
		if got := p.Accepts(wire.OpPsaMacCompute); got != (enc == "packed-c") {
			t.Errorf("%s accepts MAC: %v", enc, got)
		}
		if p.Info().ID != wire.ProviderTrustedService || p.Info().UUID != "71129441-508a-4da6-b6e8-7b98a777e4c0" {
			t.Errorf("info %+v", p.Info())
		}
	}
	bad := []Config{
		{EmulatorSocket: sock, TEEDevice: "/dev/tee1"},
		{EmulatorSocket: sock, Encoding: "json"},
		{EmulatorSocket: sock, CallTimeoutSecs: -1},
		{EmulatorSocket: sock, BufferSize: 100},
	}
	for _, c := range bad {
		_, err := New(depsFor(k, c))
		if err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestCanDoCrypto(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	startEmulator(t, sock)
	p, _ := newProvider(t, Config{EmulatorSocket: sock}, newKIM(t, filepath.Join(dir, "kim")))
	cases := []struct {
		check pb.CheckType
		a     psa.Attributes
		ok    bool
	}{
		{pb.CheckType_GENERATE, eccSign, true},
		{pb.CheckType_GENERATE, rsaCrypt, true},
		{pb.CheckType_GENERATE, psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 3072, Alg: rsaSign.Alg}, false},
		{pb.CheckType_GENERATE, psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Bits: 256, Alg: eccSign.Alg}, false},
		{pb.CheckType_IMPORT, psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Bits: 256, Alg: eccSign.Alg}, true},
		{pb.CheckType_USE, eccSign, true},
		{pb.CheckType_USE, psa.Attributes{Type: psa.KeyTypeAES, Bits: 128, Alg: psa.ECDSA(psa.AlgSHA256)}, false},
		{pb.CheckType_DERIVE, psa.Attributes{Type: psa.KeyTypeDerive, Bits: 128, Alg: psa.HKDF(psa.AlgSHA256)}, false},
	}
	for _, c := range cases {
		_, err := provider.Run(ctxT(t), p, alice, wire.OpCanDoCrypto, &pb.CanDoCryptoRequest{CheckType: c.check, Attributes: attrs(t, c.a)})
		if (err == nil) != c.ok || err != nil && statusOf(err) != wire.StatusPsaErrorNotSupported {
			t.Errorf("%v %v/%v: %v", c.check, c.a.Type, c.a.Alg, err)
		}
	}
}

func depsFor(k kim.Manager, c Config) (d provider.Deps) {
	d.Name = "trusted-service-provider"
	d.KIM = k
	d.Decode = func(v any) error { *(v.(*Config)) = c; return nil }
	return d
}

// Concurrent requests share one session: calls are serialised and
// multi-part operations do not disturb each other.
func TestConcurrentRequests(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	startEmulator(t, sock)
	p, _ := newProvider(t, Config{EmulatorSocket: sock}, newKIM(t, filepath.Join(dir, "kim")))
	do[*pb.GenerateKeyResult](t, p, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "shared", Attributes: attrs(t, eccSign)})
	in := bytes.Repeat([]byte{7}, 100000)
	want := sha256.Sum256(in)
	errs := make(chan error, 64)
	for g := 0; g < 12; g++ {
		go func(g int) {
			for i := 0; i < 8; i++ {
				var err error
				switch (g + i) % 3 {
				case 0:
					var r protomsg.Message
					r, err = provider.Run(ctxT(t), p, alice, wire.OpPsaHashCompute, &pb.HashComputeRequest{Alg: pb.Algorithm_SHA_256, Input: in})
					if err == nil && !bytes.Equal(r.(*pb.HashComputeResult).Hash, want[:]) {
						err = errors.New("wrong hash")
					}
				case 1:
					d := sha256.Sum256([]byte{byte(g), byte(i)})
					var r protomsg.Message
					r, err = provider.Run(ctxT(t), p, alice, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: "shared", Alg: signAlg(t, eccSign.Alg), Hash: d[:]})
					if err == nil {
						_, err = provider.Run(ctxT(t), p, alice, wire.OpPsaVerifyHash, &pb.VerifyHashRequest{KeyName: "shared", Alg: signAlg(t, eccSign.Alg), Hash: d[:], Signature: r.(*pb.SignHashResult).Signature})
					}
				case 2:
					_, err = provider.Run(ctxT(t), p, alice, wire.OpPsaGenerateRandom, &pb.GenerateRandomRequest{Size: 5000})
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(g)
	}
	for g := 0; g < 12; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
