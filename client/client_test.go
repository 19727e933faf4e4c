package client_test

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/client/parsectest"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
)

func TestMain(m *testing.M) {
	code := m.Run()
	parsectest.Cleanup()
	os.Exit(code)
}

// forEachService runs f against every available real service.
func forEachService(t *testing.T, cfg parsectest.Config, f func(t *testing.T, s *parsectest.Service)) {
	for _, k := range parsectest.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			s := parsectest.Start(t, k, cfg)
			f(t, s)
		})
	}
}

func newClient(t *testing.T, s *parsectest.Service, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(context.Background(), append([]client.Option{client.WithEndpoint(s.Endpoint)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v\nservice log:\n%s", err, s.Log())
	}
	return c
}

func wantStatus(t *testing.T, err error, st wire.Status) {
	t.Helper()
	if !errors.Is(err, st) {
		t.Fatalf("got error %v, want status %v", err, st)
	}
	var we *wire.Error
	if !errors.As(err, &we) || we.Status != st {
		t.Fatalf("error %v does not carry *wire.Error with status %v", err, st)
	}
}

func TestCoreOperations(t *testing.T) {
	forEachService(t, parsectest.Config{}, func(t *testing.T, s *parsectest.Service) {
		ctx := context.Background()
		naked, err := client.NewNaked(client.WithEndpoint(s.Endpoint))
		if err != nil {
			t.Fatal(err)
		}
		maj, min, err := naked.Ping(ctx)
		if err != nil || maj != 1 || min != 0 {
			t.Fatalf("Ping = %d.%d, %v; want 1.0", maj, min, err)
		}
		provs, err := naked.ListProviders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(provs) != 2 || provs[0].ID != wire.ProviderMbedCrypto || provs[1].ID != wire.ProviderCore {
			t.Fatalf("ListProviders = %+v, want Mbed Crypto then Core", provs)
		}
		if provs[0].UUID != "1c1139dc-ad7c-47dc-ad6b-db6fdb466552" || provs[1].UUID != "47049873-2a43-4845-9d72-831eab668784" {
			t.Errorf("provider UUIDs = %q, %q", provs[0].UUID, provs[1].UUID)
		}
		auths, err := naked.ListAuthenticators(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(auths) != 1 || auths[0].ID != wire.AuthUnixPeerCredentials {
			t.Fatalf("ListAuthenticators = %+v", auths)
		}
		ops, err := naked.ListOpcodes(ctx, wire.ProviderCore)
		if err != nil {
			t.Fatal(err)
		}
		want := []wire.Opcode{wire.OpPing, wire.OpListProviders, wire.OpListOpcodes, wire.OpListAuthenticators, wire.OpListKeys}
		if fmt.Sprint(ops) != fmt.Sprint(want) {
			t.Errorf("ListOpcodes(core) = %v, want %v", ops, want)
		}
		ops, err = naked.ListOpcodes(ctx, wire.ProviderMbedCrypto)
		if err != nil {
			t.Fatal(err)
		}
		if !contains(ops, wire.OpPsaGenerateKey) || !contains(ops, wire.OpPsaSignHash) || contains(ops, wire.OpPsaMacCompute) {
			t.Errorf("ListOpcodes(mbed) = %v", ops)
		}
		_, err = naked.ListOpcodes(ctx, wire.ProviderTpm)
		wantStatus(t, err, wire.StatusProviderNotRegistered)

		// Anonymous requests that need an identity are refused.
		_, err = naked.ListKeys(ctx)
		wantStatus(t, err, wire.StatusNotAuthenticated)

		c := newClient(t, s)
		if c.Provider() != wire.ProviderMbedCrypto || c.Authenticator().Type() != wire.AuthUnixPeerCredentials {
			t.Errorf("New picked provider %v, auth %v", c.Provider(), c.Authenticator().Type())
		}
		keys, err := c.ListKeys(ctx)
		if err != nil || len(keys) != 0 {
			t.Fatalf("ListKeys on a new service = %v, %v", keys, err)
		}
		_, err = c.ListClients(ctx)
		wantStatus(t, err, wire.StatusAdminOperation)
	})
}

func contains(ops []wire.Opcode, o wire.Opcode) bool {
	for _, x := range ops {
		if x == o {
			return true
		}
	}
	return false
}

func TestECDSA(t *testing.T) {
	forEachService(t, parsectest.Config{}, func(t *testing.T, s *parsectest.Service) {
		ctx := context.Background()
		c := newClient(t, s)
		if err := c.GenerateKey(ctx, "ecc", client.ECCP256SigningKey()); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, c.GenerateKey(ctx, "ecc", client.ECCP256SigningKey()), wire.StatusPsaErrorAlreadyExists)

		attrs, err := c.KeyAttributes(ctx, "ecc")
		if err != nil {
			t.Fatal(err)
		}
		if attrs != client.ECCP256SigningKey() {
			t.Errorf("KeyAttributes = %+v, want %+v", attrs, client.ECCP256SigningKey())
		}
		if _, err := c.KeyAttributes(ctx, "nope"); !errors.Is(err, client.ErrKeyNotFound) {
			t.Errorf("KeyAttributes(nope) = %v, want ErrKeyNotFound", err)
		}

		h := sha256.Sum256([]byte("message"))
		sig, err := c.SignHash(ctx, "ecc", psa.ECDSA(psa.AlgSHA256), h[:])
		if err != nil {
			t.Fatal(err)
		}
		if len(sig) != 64 {
			t.Fatalf("P-256 signature is %d bytes, want 64 (r||s)", len(sig))
		}
		pub, err := c.PublicKey(ctx, "ecc")
		if err != nil {
			t.Fatal(err)
		}
		der, err := client.ECDSASignatureToASN1(sig)
		if err != nil {
			t.Fatal(err)
		}
		if !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), h[:], der) {
			t.Fatal("Go rejects the service's ECDSA signature")
		}
		if err := c.VerifyHash(ctx, "ecc", psa.ECDSA(psa.AlgSHA256), h[:], sig); err != nil {
			t.Fatalf("VerifyHash of a good signature: %v", err)
		}
		bad := append([]byte(nil), sig...)
		bad[10] ^= 1
		wantStatus(t, c.VerifyHash(ctx, "ecc", psa.ECDSA(psa.AlgSHA256), h[:], bad), wire.StatusPsaErrorInvalidSignature)

		// A signature made by Go verifies in the service.
		back, err := client.ECDSASignatureFromASN1(der, 256)
		if err != nil || string(back) != string(sig) {
			t.Fatalf("ECDSASignatureFromASN1 round trip: %x, %v", back, err)
		}

		// The key's policy is enforced.
		_, err = c.SignHash(ctx, "ecc", psa.ECDSA(psa.AlgSHA384), make([]byte, 48))
		wantStatus(t, err, wire.StatusPsaErrorNotPermitted)

		// crypto.Signer: a CSR signed in the service.
		signer, err := c.Signer(ctx, "ecc")
		if err != nil {
			t.Fatal(err)
		}
		csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
			Subject: pkix.Name{CommonName: "test"}, SignatureAlgorithm: x509.ECDSAWithSHA256,
		}, signer)
		if err != nil {
			t.Fatal(err)
		}
		csr, err := x509.ParseCertificateRequest(csrDER)
		if err != nil {
			t.Fatal(err)
		}
		if err := csr.CheckSignature(); err != nil {
			t.Fatalf("CSR signature: %v", err)
		}

		if err := c.DestroyKey(ctx, "ecc"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, c.DestroyKey(ctx, "ecc"), wire.StatusPsaErrorDoesNotExist)
		_, err = c.ExportPublicKey(ctx, "ecc")
		wantStatus(t, err, wire.StatusPsaErrorDoesNotExist)
	})
}

// A missing key gives one error naming it, whichever operation met it and
// whether the service or the client noticed; both old names still match
// (issue 15, item 9).
func TestKeyNotFoundIsOneError(t *testing.T) {
	forEachService(t, parsectest.Config{}, func(t *testing.T, s *parsectest.Service) {
		ctx := context.Background()
		c := newClient(t, s)
		h := make([]byte, 32)
		for _, tc := range []struct {
			op string
			do func() error
		}{
			{"KeyAttributes", func() error { _, err := c.KeyAttributes(ctx, "gone"); return err }},
			{"DestroyKey", func() error { return c.DestroyKey(ctx, "gone") }},
			{"ExportPublicKey", func() error { _, err := c.ExportPublicKey(ctx, "gone"); return err }},
			{"SignHash", func() error { _, err := c.SignHash(ctx, "gone", psa.ECDSA(psa.AlgSHA256), h); return err }},
			{"AsymmetricDecrypt", func() error {
				_, err := c.AsymmetricDecrypt(ctx, "gone", psa.AlgRSAPKCS1v15Crypt, h, nil)
				return err
			}},
			{"PublicKey", func() error { _, err := c.PublicKey(ctx, "gone"); return err }},
			{"Signer", func() error { _, err := c.Signer(ctx, "gone"); return err }},
		} {
			err := tc.do()
			var nf *client.KeyNotFoundError
			if !errors.As(err, &nf) || nf.Name != "gone" {
				t.Errorf("%s: %v, want a *KeyNotFoundError naming \"gone\"", tc.op, err)
				continue
			}
			if !strings.Contains(err.Error(), `key "gone" not found`) {
				t.Errorf("%s: %q does not name the key", tc.op, err)
			}
			if !errors.Is(err, client.ErrKeyNotFound) || !errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
				t.Errorf("%s: %v does not match both ErrKeyNotFound and StatusPsaErrorDoesNotExist", tc.op, err)
			}
		}
		// Creating a key never reports it missing.
		if err := c.GenerateKey(ctx, "new", client.ECCP256SigningKey()); err != nil {
			t.Fatal(err)
		}
		c.DestroyKey(ctx, "new")
	})
}

func TestRSA(t *testing.T) {
	forEachService(t, parsectest.Config{}, func(t *testing.T, s *parsectest.Service) {
		ctx := context.Background()
		c := newClient(t, s)
		msg := []byte("secret message")

		for _, tc := range []struct {
			name  string
			attrs psa.Attributes
			opts  crypto.DecrypterOpts
		}{
			{"pkcs1", client.RSAEncryptionKey(2048), nil},
			{"oaep", client.RSAOAEPKey(2048), &rsa.OAEPOptions{Hash: crypto.SHA256}},
		} {
			if err := c.GenerateKey(ctx, tc.name, tc.attrs); err != nil {
				t.Fatal(err)
			}
			ct, err := c.AsymmetricEncrypt(ctx, tc.name, tc.attrs.Alg, msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			pt, err := c.AsymmetricDecrypt(ctx, tc.name, tc.attrs.Alg, ct, nil)
			if err != nil || string(pt) != string(msg) {
				t.Fatalf("%s round trip = %q, %v", tc.name, pt, err)
			}
			// Encrypted by Go, decrypted by the service through crypto.Decrypter.
			dec, err := c.Decrypter(ctx, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			pub := dec.Public().(*rsa.PublicKey)
			if pub.N.BitLen() != 2048 {
				t.Errorf("%s key has %d bits", tc.name, pub.N.BitLen())
			}
			if tc.opts == nil {
				ct, err = rsa.EncryptPKCS1v15(rand.Reader, pub, msg)
			} else {
				ct, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, msg, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			pt, err = dec.Decrypt(rand.Reader, ct, tc.opts)
			if err != nil || string(pt) != string(msg) {
				t.Fatalf("%s decrypt of Go ciphertext = %q, %v", tc.name, pt, err)
			}
		}

		for _, tc := range []struct {
			name  string
			attrs psa.Attributes
			opts  crypto.SignerOpts
		}{
			{"sign-pkcs1", client.RSASigningKey(2048), crypto.SHA256},
			{"sign-pss", client.RSAPSSSigningKey(2048), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}},
		} {
			if err := c.GenerateKey(ctx, tc.name, tc.attrs); err != nil {
				t.Fatal(err)
			}
			signer, err := c.Signer(ctx, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.Sum256(msg)
			sig, err := signer.Sign(rand.Reader, h[:], tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			pub := signer.Public().(*rsa.PublicKey)
			if pss, ok := tc.opts.(*rsa.PSSOptions); ok {
				err = rsa.VerifyPSS(pub, crypto.SHA256, h[:], sig, pss)
			} else {
				err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
			}
			if err != nil {
				t.Fatalf("%s: Go rejects the signature: %v", tc.name, err)
			}
			// The wrong padding is refused before anything is sent.
			wrong := crypto.SignerOpts(&rsa.PSSOptions{Hash: crypto.SHA256})
			if _, ok := tc.opts.(*rsa.PSSOptions); ok {
				wrong = crypto.SHA256
			}
			if _, err := signer.Sign(rand.Reader, h[:], wrong); !errors.Is(err, client.ErrUnsupportedKey) {
				t.Errorf("%s: Sign with the wrong padding = %v", tc.name, err)
			}
		}

		keys, err := c.ListKeys(ctx)
		if err != nil || len(keys) != 4 {
			t.Fatalf("ListKeys = %v, %v", keys, err)
		}
		for _, k := range keys {
			if k.Provider != wire.ProviderMbedCrypto || k.Attributes.Bits != 2048 {
				t.Errorf("key %+v", k)
			}
		}
	})
}

func TestRandomAndHash(t *testing.T) {
	forEachService(t, parsectest.Config{}, func(t *testing.T, s *parsectest.Service) {
		ctx := context.Background()
		c := newClient(t, s)
		a, err := c.GenerateRandom(ctx, 32)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.GenerateRandom(ctx, 32)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != 32 || string(a) == string(b) {
			t.Fatalf("GenerateRandom gave %x and %x", a, b)
		}
		// No identity is needed for random bytes and hashes.
		naked, _ := client.NewNaked(client.WithEndpoint(s.Endpoint), client.WithProvider(wire.ProviderMbedCrypto))
		if _, err := naked.GenerateRandom(ctx, 8); err != nil {
			t.Errorf("anonymous GenerateRandom: %v", err)
		}
		in := []byte("hash me")
		h, err := naked.HashCompute(ctx, psa.AlgSHA256, in)
		want := sha256.Sum256(in)
		if err != nil || string(h) != string(want[:]) {
			t.Fatalf("HashCompute = %x, %v; want %x", h, err, want)
		}
		if err := naked.HashCompare(ctx, psa.AlgSHA256, in, want[:]); err != nil {
			t.Errorf("HashCompare of the right hash: %v", err)
		}
		want[0] ^= 1
		wantStatus(t, naked.HashCompare(ctx, psa.AlgSHA256, in, want[:]), wire.StatusPsaErrorInvalidSignature)
	})
}

func TestSymmetricAndAgreement(t *testing.T) {
	forEachService(t, parsectest.Config{}, func(t *testing.T, s *parsectest.Service) {
		ctx := context.Background()
		c := newClient(t, s)

		key := make([]byte, 16)
		rand.Read(key)
		attrs := client.AESGCMKey(128)
		attrs.Usage |= psa.UsageExport
		if err := c.ImportKey(ctx, "aes", attrs, key); err != nil {
			t.Fatal(err)
		}
		exported, err := c.ExportKey(ctx, "aes")
		if err != nil || string(exported) != string(key) {
			t.Fatalf("ExportKey = %x, %v; want %x", exported, err, key)
		}
		nonce := make([]byte, 12)
		ad := []byte("header")
		ct, err := c.AeadEncrypt(ctx, "aes", psa.AlgGCM, nonce, ad, []byte("plaintext"))
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := aes.NewCipher(key)
		gcm, _ := cipher.NewGCM(blk)
		if want := gcm.Seal(nil, nonce, []byte("plaintext"), ad); string(want) != string(ct) {
			t.Fatalf("AES-GCM ciphertext %x, Go computes %x", ct, want)
		}
		pt, err := c.AeadDecrypt(ctx, "aes", psa.AlgGCM, nonce, ad, ct)
		if err != nil || string(pt) != "plaintext" {
			t.Fatalf("AeadDecrypt = %q, %v", pt, err)
		}
		ct[0] ^= 1
		_, err = c.AeadDecrypt(ctx, "aes", psa.AlgGCM, nonce, ad, ct)
		wantStatus(t, err, wire.StatusPsaErrorInvalidSignature)

		if err := c.GenerateKey(ctx, "ecdh", client.ECDHP256Key()); err != nil {
			t.Fatal(err)
		}
		ours, err := c.ExportPublicKey(ctx, "ecdh")
		if err != nil {
			t.Fatal(err)
		}
		peer, _ := ecdh.P256().GenerateKey(rand.Reader)
		secret, err := c.RawKeyAgreement(ctx, psa.AlgECDH, "ecdh", peer.PublicKey().Bytes())
		if err != nil {
			t.Fatal(err)
		}
		ourPub, err := ecdh.P256().NewPublicKey(ours)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := peer.ECDH(ourPub)
		if string(secret) != string(want) {
			t.Fatalf("ECDH secret %x, Go computes %x", secret, want)
		}

		if err := c.CanDoCrypto(ctx, client.CheckGenerate, client.ECCP256SigningKey()); err != nil {
			t.Errorf("CanDoCrypto(generate P-256) = %v", err)
		}
	})
}

// Operations the Rust service's Mbed Crypto provider lacks: what each
// service answers is checked, so a change shows up.
func TestUnsupportedOperations(t *testing.T) {
	forEachService(t, parsectest.Config{}, func(t *testing.T, s *parsectest.Service) {
		ctx := context.Background()
		c := newClient(t, s)
		_, err := c.PrepareActivateCredential(ctx, "a", "")
		wantStatus(t, err, wire.StatusPsaErrorNotSupported)
		_, err = c.AttestActivateCredential(ctx, "a", "", []byte{1}, []byte{2})
		wantStatus(t, err, wire.StatusPsaErrorNotSupported)
		if s.Kind == parsectest.Rust {
			_, err = c.MacCompute(ctx, "k", psa.HMAC(psa.AlgSHA256), []byte("x"))
			wantStatus(t, err, wire.StatusOpcodeDoesNotExist)
			_, err = c.CipherEncrypt(ctx, "k", psa.AlgCTR, []byte("x"))
			wantStatus(t, err, wire.StatusPsaErrorNotSupported)
		}
		// The core provider has no crypto operations: refused locally.
		_, err = c.WithProvider(wire.ProviderCore).GenerateRandom(ctx, 1)
		if !errors.Is(err, client.ErrNoProvider) {
			t.Errorf("GenerateRandom on the core provider = %v", err)
		}
		// A provider the service does not run.
		_, err = c.WithProvider(wire.ProviderTpm).GenerateRandom(ctx, 1)
		wantStatus(t, err, wire.StatusProviderNotRegistered)
	})
}

// A request over the service's body limit is answered without being read:
// the client must report the service's status, not the failed write.
func TestBodyOverLimit(t *testing.T) {
	forEachService(t, parsectest.Config{}, func(t *testing.T, s *parsectest.Service) {
		c := newClient(t, s)
		big := make([]byte, 4<<20)
		err := c.ImportKey(context.Background(), "big", client.AESGCMKey(128), big)
		wantStatus(t, err, wire.StatusBodySizeExceedsLimit)
	})
}

// goOnly runs f against our service when it is among the kinds to test:
// the Rust build lacks the Direct authenticator, and these operations are
// not in its Mbed Crypto provider.
func goOnly(t *testing.T, cfg parsectest.Config, f func(t *testing.T, s *parsectest.Service)) {
	for _, k := range parsectest.Kinds() {
		if k == parsectest.Go {
			t.Run("go", func(t *testing.T) { f(t, parsectest.Start(t, k, cfg)) })
			return
		}
	}
	t.Skip("our service is not among PARSEC_TEST_SERVICES")
}

func TestDirectAuthAndAdmin(t *testing.T) {
	goOnly(t, parsectest.Config{Auth: "Direct", Admins: []string{"admin"}}, func(t *testing.T, s *parsectest.Service) {
		ctx := context.Background()
		// Without an application name the client cannot use Direct.
		if _, err := client.New(ctx, client.WithEndpoint(s.Endpoint)); !errors.Is(err, client.ErrNoAuthenticator) {
			t.Fatalf("New without an app name = %v, want ErrNoAuthenticator", err)
		}
		alice := newClient(t, s, client.WithAppName("alice"))
		bob := newClient(t, s, client.WithAppName("bob"))
		admin := newClient(t, s, client.WithAppName("admin"))
		if alice.Authenticator().Type() != wire.AuthDirect {
			t.Fatalf("auth %v", alice.Authenticator().Type())
		}
		if err := alice.GenerateKey(ctx, "k", client.ECCP256SigningKey()); err != nil {
			t.Fatal(err)
		}
		// Key names are per application.
		if err := bob.GenerateKey(ctx, "k", client.ECCP256SigningKey()); err != nil {
			t.Fatalf("bob's key k: %v", err)
		}
		if keys, err := bob.ListKeys(ctx); err != nil || len(keys) != 1 {
			t.Fatalf("bob's keys = %v, %v", keys, err)
		}
		_, err := alice.ListClients(ctx)
		wantStatus(t, err, wire.StatusAdminOperation)
		clients, err := admin.ListClients(ctx)
		if err != nil || fmt.Sprint(clients) != "[alice bob]" {
			t.Fatalf("ListClients = %v, %v", clients, err)
		}
		if err := admin.DeleteClient(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if keys, err := alice.ListKeys(ctx); err != nil || len(keys) != 0 {
			t.Fatalf("alice's keys after DeleteClient = %v, %v", keys, err)
		}
		if keys, err := bob.ListKeys(ctx); err != nil || len(keys) != 1 {
			t.Fatalf("bob's keys after deleting alice = %v, %v", keys, err)
		}
	})
}

func TestMessageCipherMAC(t *testing.T) {
	goOnly(t, parsectest.Config{}, func(t *testing.T, s *parsectest.Service) {
		ctx := context.Background()
		c := newClient(t, s)
		if err := c.GenerateKey(ctx, "ecc", client.ECCP256SigningKey()); err != nil {
			t.Fatal(err)
		}
		msg := []byte("sign the message itself")
		sig, err := c.SignMessage(ctx, "ecc", psa.ECDSA(psa.AlgSHA256), msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.VerifyMessage(ctx, "ecc", psa.ECDSA(psa.AlgSHA256), msg, sig); err != nil {
			t.Errorf("VerifyMessage: %v", err)
		}
		h := sha256.Sum256(msg)
		if err := c.VerifyHash(ctx, "ecc", psa.ECDSA(psa.AlgSHA256), h[:], sig); err != nil {
			t.Errorf("VerifyHash of SignMessage's signature: %v", err)
		}
		wantStatus(t, c.VerifyMessage(ctx, "ecc", psa.ECDSA(psa.AlgSHA256), []byte("other"), sig), wire.StatusPsaErrorInvalidSignature)
		key := make([]byte, 16)
		rand.Read(key)
		ctr := psa.Attributes{Type: psa.KeyTypeAES, Bits: 128, Usage: psa.UsageEncrypt | psa.UsageDecrypt, Alg: psa.AlgCTR}
		if err := c.ImportKey(ctx, "ctr", ctr, key); err != nil {
			t.Fatal(err)
		}
		ct, err := c.CipherEncrypt(ctx, "ctr", psa.AlgCTR, []byte("counter mode"))
		if err != nil {
			t.Fatal(err)
		}
		// The IV leads the ciphertext; Go decrypts it.
		blk, _ := aes.NewCipher(key)
		pt := make([]byte, len(ct)-16)
		cipher.NewCTR(blk, ct[:16]).XORKeyStream(pt, ct[16:])
		if string(pt) != "counter mode" {
			t.Fatalf("Go decrypts the service's CTR output to %q", pt)
		}
		if pt, err := c.CipherDecrypt(ctx, "ctr", psa.AlgCTR, ct); err != nil || string(pt) != "counter mode" {
			t.Fatalf("CipherDecrypt = %q, %v", pt, err)
		}
		hk := psa.Attributes{Type: psa.KeyTypeHMAC, Bits: 256, Usage: psa.UsageSignMessage | psa.UsageVerifyMessage, Alg: psa.HMAC(psa.AlgSHA256)}
		if err := c.GenerateKey(ctx, "hmac", hk); err != nil {
			t.Fatal(err)
		}
		mac, err := c.MacCompute(ctx, "hmac", psa.HMAC(psa.AlgSHA256), []byte("data"))
		if err != nil || len(mac) != 32 {
			t.Fatalf("MacCompute = %x, %v", mac, err)
		}
		if err := c.MacVerify(ctx, "hmac", psa.HMAC(psa.AlgSHA256), []byte("data"), mac); err != nil {
			t.Errorf("MacVerify: %v", err)
		}
		mac[0] ^= 1
		wantStatus(t, c.MacVerify(ctx, "hmac", psa.HMAC(psa.AlgSHA256), []byte("data"), mac), wire.StatusPsaErrorInvalidSignature)
	})
}

// WithBlockingIO changes how the socket is read and written, not what is
// said: a key round trip works against both services.
func TestBlockingIO(t *testing.T) {
	forEachService(t, parsectest.Config{}, func(t *testing.T, s *parsectest.Service) {
		ctx := context.Background()
		c := newClient(t, s, client.WithBlockingIO())
		if _, _, err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		const name = "blocking-io-key"
		_ = c.DestroyKey(ctx, name)
		if err := c.GenerateKey(ctx, name, client.ECCP256SigningKey()); err != nil {
			t.Fatal(err)
		}
		defer c.DestroyKey(ctx, name)
		digest := make([]byte, 32)
		sig, err := c.SignHash(ctx, name, psa.ECDSA(psa.AlgSHA256), digest)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.VerifyHash(ctx, name, psa.ECDSA(psa.AlgSHA256), digest, sig); err != nil {
			t.Fatal(err)
		}
		_, err = c.SignHash(ctx, "no-such-key", psa.ECDSA(psa.AlgSHA256), digest)
		wantStatus(t, err, wire.StatusPsaErrorDoesNotExist)
	})
}
