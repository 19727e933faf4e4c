package pkcs11

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parsec-go/parsec/internal/syncbuf"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// These tests run the real co-server on a real SoftHSM 2 token (Debian's
// softhsm2; scripts/pkcs11-cli-tests.sh installs it): the co-server is built
// here with cgo.

var coserverBin, softhsmLib string

const pin = "123456"

func TestMain(m *testing.M) {
	os.Exit(func() int {
		softhsmLib = findSoftHSM()
		if softhsmLib == "" {
			fmt.Fprintln(os.Stderr, "pkcs11 tests: SoftHSM 2 not installed (apt-get install softhsm2); skipping those that need it")
			return m.Run()
		}
		if _, err := exec.LookPath("cc"); err != nil {
			fmt.Fprintln(os.Stderr, "pkcs11 tests: no C compiler to build the cgo co-server (apt-get install gcc); skipping those that need it")
			softhsmLib = ""
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "parsec-pkcs11-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, CoserverName)
		cmd := exec.Command("go", "build", "-o", bin, "github.com/parsec-go/parsec/service/cmd/parsec-pkcs11")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building the co-server (needs a C compiler): %v\n%s", err, out)
			return 1
		}
		coserverBin = bin
		return m.Run()
	}())
}

func findSoftHSM() string {
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		return ""
	}
	for _, p := range []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// newToken makes a private SoftHSM configuration with one token
// (initialised unless init is false) and points SOFTHSM2_CONF at it.
func newToken(t *testing.T, init bool) string {
	t.Helper()
	if softhsmLib == "" {
		t.Skip("SoftHSM 2 not installed")
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	doc := fmt.Sprintf("directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n", dir)
	if err := os.WriteFile(conf, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	if init {
		out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", "parsec-test", "--pin", pin, "--so-pin", "12345678").CombinedOutput()
		if err != nil {
			t.Fatalf("softhsm2-util: %v\n%s", err, out)
		}
	}
	return dir
}

func baseConfig() Config {
	return Config{LibraryPath: softhsmLib, UserPIN: pin, CoserverPath: coserverBin, RequestTimeoutSecs: 20}
}

func newKIM(t *testing.T, dir string) kim.Manager {
	t.Helper()
	k, err := kim.OpenOnDisk(dir, slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func start(cfg Config, k kim.Manager, log *syncbuf.Buffer) (*Provider, error) {
	p, err := New(provider.Deps{
		Name: "pkcs11-provider", KIM: k,
		Log:      slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Settings: provider.Settings{BufferSizeLimit: 1 << 20, AllowDeprecated: true}, // OAEP-SHA1 is SoftHSM's only OAEP
		Decode:   func(v any) error { *(v.(*Config)) = cfg; return nil },
	})
	if err != nil {
		return nil, err
	}
	return p.(*Provider), nil
}

func newProvider(t *testing.T, cfg Config, k kim.Manager) (*Provider, *syncbuf.Buffer) {
	t.Helper()
	log := &syncbuf.Buffer{}
	p, err := start(cfg, k, log)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log)
	}
	t.Cleanup(func() { p.Close() })
	return p, log
}

var alice = auth.Application{Name: "alice", AuthType: wire.AuthUnixPeerCredentials}

func exec1(t *testing.T, p *Provider, op wire.Opcode, req protomsg.Message) (protomsg.Message, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return provider.Run(ctx, p, alice, op, req)
}

func must(t *testing.T, p *Provider, op wire.Opcode, req protomsg.Message) protomsg.Message {
	t.Helper()
	res, err := exec1(t, p, op, req)
	if err != nil {
		t.Fatalf("%v: %v", op, err)
	}
	return res
}

func keyAttrs(t *testing.T, a psa.Attributes) *pb.KeyAttributes {
	t.Helper()
	k, err := psa.AttributesToProto(a)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signAlg(t *testing.T, a psa.Algorithm) *pb.Algorithm_AsymmetricSignature {
	s, err := psa.SignToProto(a)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func cryptAlg(t *testing.T, a psa.Algorithm) *pb.Algorithm_AsymmetricEncryption {
	s, err := psa.AsymEncryptToProto(a)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	ecdsaP256 = psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)}
	rsaSign   = psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: psa.RSAPKCS1v15Sign(psa.AlgSHA256)}
	rsaPSS    = psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: psa.RSAPSS(psa.AlgSHA256)}
	rsaCrypt  = psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: psa.UsageEncrypt | psa.UsageDecrypt, Alg: psa.AlgRSAPKCS1v15Crypt}
	rsaOAEP1  = psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: psa.UsageEncrypt | psa.UsageDecrypt, Alg: psa.RSAOAEP(psa.AlgSHA1)}
)

func generate(t *testing.T, p *Provider, name string, a psa.Attributes) {
	t.Helper()
	must(t, p, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: name, Attributes: keyAttrs(t, a)})
}

func exportPublic(t *testing.T, p *Provider, name string) crypto.PublicKey {
	t.Helper()
	b := must(t, p, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: name}).(*pb.ExportPublicKeyResult).GetData()
	if b[0] == 4 {
		x, y := elliptic.Unmarshal(elliptic.P256(), b)
		if x == nil {
			t.Fatalf("bad point %x", b)
		}
		return &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	}
	k, err := x509.ParsePKCS1PublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignaturesVerifiedByGo(t *testing.T) {
	newToken(t, true)
	p, _ := newProvider(t, baseConfig(), newKIM(t, t.TempDir()))
	hash := sha256.Sum256([]byte("parsec"))
	for _, c := range []struct {
		name  string
		attrs psa.Attributes
		check func(pub crypto.PublicKey, sig []byte) error
	}{
		{"ecdsa", ecdsaP256, func(pub crypto.PublicKey, sig []byte) error {
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			if len(sig) != 64 || !ecdsa.Verify(pub.(*ecdsa.PublicKey), hash[:], r, s) {
				return errors.New("ECDSA signature does not verify")
			}
			return nil
		}},
		{"pkcs1", rsaSign, func(pub crypto.PublicKey, sig []byte) error {
			return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, hash[:], sig)
		}},
		{"pss", rsaPSS, func(pub crypto.PublicKey, sig []byte) error {
			return rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA256, hash[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			generate(t, p, c.name, c.attrs)
			alg := signAlg(t, c.attrs.Alg)
			sig := must(t, p, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: c.name, Alg: alg, Hash: hash[:]}).(*pb.SignHashResult).GetSignature()
			if err := c.check(exportPublic(t, p, c.name), sig); err != nil {
				t.Fatal(err)
			}
			must(t, p, wire.OpPsaVerifyHash, &pb.VerifyHashRequest{KeyName: c.name, Alg: alg, Hash: hash[:], Signature: sig})
			sig[len(sig)-1] ^= 1
			if _, err := exec1(t, p, wire.OpPsaVerifyHash, &pb.VerifyHashRequest{KeyName: c.name, Alg: alg, Hash: hash[:], Signature: sig}); !errors.Is(err, wire.StatusPsaErrorInvalidSignature) {
				t.Fatalf("bad signature: %v", err)
			}
			if _, err := exec1(t, p, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: c.name, Alg: alg, Hash: hash[:20]}); !errors.Is(err, wire.StatusPsaErrorInvalidArgument) {
				t.Fatalf("short hash: %v", err)
			}
			must(t, p, wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: c.name})
			if _, err := exec1(t, p, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: c.name}); !errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
				t.Fatalf("after destroy: %v", err)
			}
		})
	}
}

func TestEncryption(t *testing.T) {
	newToken(t, true)
	p, _ := newProvider(t, baseConfig(), newKIM(t, t.TempDir()))
	msg := []byte("attack at dawn")
	for _, c := range []struct {
		name  string
		attrs psa.Attributes
		goEnc func(pub *rsa.PublicKey) ([]byte, error)
	}{
		{"pkcs1", rsaCrypt, func(pub *rsa.PublicKey) ([]byte, error) { return rsa.EncryptPKCS1v15(rand.Reader, pub, msg) }},
		{"oaep-sha1", rsaOAEP1, func(pub *rsa.PublicKey) ([]byte, error) {
			return rsa.EncryptOAEP(crypto.SHA1.New(), rand.Reader, pub, msg, nil)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			generate(t, p, c.name, c.attrs)
			alg := cryptAlg(t, c.attrs.Alg)
			ct := must(t, p, wire.OpPsaAsymmetricEncrypt, &pb.AsymmetricEncryptRequest{KeyName: c.name, Alg: alg, Plaintext: msg}).(*pb.AsymmetricEncryptResult).GetCiphertext()
			pt := must(t, p, wire.OpPsaAsymmetricDecrypt, &pb.AsymmetricDecryptRequest{KeyName: c.name, Alg: alg, Ciphertext: ct}).(*pb.AsymmetricDecryptResult).GetPlaintext()
			if !bytes.Equal(pt, msg) {
				t.Fatalf("round trip: %q", pt)
			}
			ct, err := c.goEnc(exportPublic(t, p, c.name).(*rsa.PublicKey))
			if err != nil {
				t.Fatal(err)
			}
			pt = must(t, p, wire.OpPsaAsymmetricDecrypt, &pb.AsymmetricDecryptRequest{KeyName: c.name, Alg: alg, Ciphertext: ct}).(*pb.AsymmetricDecryptResult).GetPlaintext()
			if !bytes.Equal(pt, msg) {
				t.Fatalf("Go encrypted: %q", pt)
			}
		})
	}
}

func TestPolicyAndRandom(t *testing.T) {
	newToken(t, true)
	no := false
	cfg := baseConfig()
	cfg.AllowExport = &no
	p, _ := newProvider(t, cfg, newKIM(t, t.TempDir()))
	generate(t, p, "sign-only", psa.Attributes{Type: ecdsaP256.Type, Bits: 256, Usage: psa.UsageSignHash, Alg: ecdsaP256.Alg})
	hash := sha256.Sum256(nil)
	for _, c := range []struct {
		name string
		op   wire.Opcode
		req  protomsg.Message
		want wire.Status
	}{
		{"verify without the usage", wire.OpPsaVerifyHash, &pb.VerifyHashRequest{KeyName: "sign-only", Alg: signAlg(t, ecdsaP256.Alg), Hash: hash[:], Signature: make([]byte, 64)}, wire.StatusPsaErrorNotPermitted},
		{"another algorithm", wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: "sign-only", Alg: signAlg(t, psa.ECDSA(psa.AlgSHA384)), Hash: make([]byte, 48)}, wire.StatusPsaErrorNotPermitted},
		{"encrypt with an ECC key", wire.OpPsaAsymmetricEncrypt, &pb.AsymmetricEncryptRequest{KeyName: "sign-only", Alg: cryptAlg(t, psa.AlgRSAPKCS1v15Crypt), Plaintext: []byte("x")}, wire.StatusPsaErrorNotPermitted},
		{"unknown key", wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: "nope", Alg: signAlg(t, ecdsaP256.Alg), Hash: hash[:]}, wire.StatusPsaErrorDoesNotExist},
		{"name taken", wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "sign-only", Attributes: keyAttrs(t, ecdsaP256)}, wire.StatusPsaErrorAlreadyExists},
		{"export usage with allow_export off", wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "x", Attributes: keyAttrs(t, psa.Attributes{Type: ecdsaP256.Type, Bits: 256, Usage: psa.UsageExport | psa.UsageSignHash, Alg: ecdsaP256.Alg})}, wire.StatusPsaErrorNotPermitted},
		{"generate a public key", wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "x", Attributes: keyAttrs(t, psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Bits: 256, Usage: psa.UsageVerifyHash, Alg: ecdsaP256.Alg})}, wire.StatusPsaErrorInvalidArgument},
		{"an unsupported curve", wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "x", Attributes: keyAttrs(t, psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpK1), Bits: 256, Usage: psa.UsageSignHash, Alg: ecdsaP256.Alg})}, wire.StatusPsaErrorNotSupported},
		{"import a key pair", wire.OpPsaImportKey, &pb.ImportKeyRequest{KeyName: "x", Attributes: keyAttrs(t, ecdsaP256), Data: make([]byte, 32)}, wire.StatusPsaErrorNotSupported},
		{"import a bad point", wire.OpPsaImportKey, &pb.ImportKeyRequest{KeyName: "x", Attributes: keyAttrs(t, psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Bits: 256, Usage: psa.UsageVerifyHash, Alg: ecdsaP256.Alg}), Data: make([]byte, 65)}, wire.StatusPsaErrorInvalidArgument},
	} {
		if _, err := exec1(t, p, c.op, c.req); wire.StatusOf(err, 0) != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	r := must(t, p, wire.OpPsaGenerateRandom, &pb.GenerateRandomRequest{Size: 33}).(*pb.GenerateRandomResult)
	if len(r.GetRandomBytes()) != 33 {
		t.Errorf("random: %d bytes", len(r.GetRandomBytes()))
	}
	for _, c := range []struct {
		check pb.CheckType
		attrs psa.Attributes
		ok    bool
	}{
		{pb.CheckType_GENERATE, ecdsaP256, true},
		{pb.CheckType_USE, rsaSign, true},
		{pb.CheckType_USE, psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 100000, Alg: rsaSign.Alg}, false},
		{pb.CheckType_IMPORT, ecdsaP256, false},
		{pb.CheckType_GENERATE, psa.Attributes{Type: psa.KeyTypeAES, Bits: 128}, false},
	} {
		_, err := exec1(t, p, wire.OpCanDoCrypto, &pb.CanDoCryptoRequest{CheckType: c.check, Attributes: keyAttrs(t, c.attrs)})
		if (err == nil) != c.ok || err != nil && !errors.Is(err, wire.StatusPsaErrorNotSupported) {
			t.Errorf("CanDoCrypto %v %v: %v", c.check, c.attrs.Type, err)
		}
	}
}

func TestImportPublicKeys(t *testing.T) {
	newToken(t, true)
	p, _ := newProvider(t, baseConfig(), newKIM(t, t.TempDir()))
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	hash := sha256.Sum256([]byte("imported"))
	r, s, _ := ecdsa.Sign(rand.Reader, ek, hash[:])
	esig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	rsig, _ := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, hash[:])
	for _, c := range []struct {
		name  string
		attrs psa.Attributes
		data  []byte
		sig   []byte
	}{
		{"ec", psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Bits: 256, Usage: psa.UsageVerifyHash, Alg: ecdsaP256.Alg}, elliptic.Marshal(elliptic.P256(), ek.X, ek.Y), esig},
		{"rsa", psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Bits: 2048, Usage: psa.UsageVerifyHash, Alg: rsaSign.Alg}, x509.MarshalPKCS1PublicKey(&rk.PublicKey), rsig},
	} {
		must(t, p, wire.OpPsaImportKey, &pb.ImportKeyRequest{KeyName: c.name, Attributes: keyAttrs(t, c.attrs), Data: c.data})
		must(t, p, wire.OpPsaVerifyHash, &pb.VerifyHashRequest{KeyName: c.name, Alg: signAlg(t, c.attrs.Alg), Hash: hash[:], Signature: c.sig})
		got := must(t, p, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: c.name}).(*pb.ExportPublicKeyResult).GetData()
		if !bytes.Equal(got, c.data) {
			t.Errorf("%s: exported %x, imported %x", c.name, got, c.data)
		}
	}
}

// tokenIDs lists the CKA_IDs of the token's public key objects, read by
// OpenSC's pkcs11-tool.
func tokenIDs(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("pkcs11-tool"); err != nil {
		t.Skip("pkcs11-tool not installed (apt-get install opensc)")
	}
	out, err := exec.Command("pkcs11-tool", "--module", softhsmLib, "--list-objects", "--type", "pubkey").CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool: %v\n%s", err, out)
	}
	var ids []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "ID:" {
			ids = append(ids, f[1])
		}
	}
	return ids
}

// TestRustKeyIDs: the key info manager holds the id little-endian, the
// token's CKA_ID is the same id big-endian (Parsec's format), and a key
// made on the token by another program under a Rust-style mapping works.
func TestRustKeyIDs(t *testing.T) {
	newToken(t, true)
	k := newKIM(t, t.TempDir())
	p, _ := newProvider(t, baseConfig(), k)
	generate(t, p, "k", ecdsaP256)
	e, err := k.Get(kim.OwnerOf(alice), "k")
	if err != nil || len(e.KeyID) != 4 || e.Provider != wire.ProviderPkcs11 || e.ProviderName != "pkcs11-provider" {
		t.Fatalf("entry %+v, %v", e, err)
	}
	be := binary.BigEndian.AppendUint32(nil, binary.LittleEndian.Uint32(e.KeyID))
	if ids := tokenIDs(t); len(ids) != 1 || ids[0] != hex.EncodeToString(be) {
		t.Fatalf("token ids %v, KIM id %x (LE)", ids, e.KeyID)
	}

	// As after a takeover of Rust's mappings: the objects exist on the
	// token (made here by pkcs11-tool), the mapping in the KIM.
	const rustID = 0xaf423e66
	out, err := exec.Command("pkcs11-tool", "--module", softhsmLib, "--login", "--pin", pin, "--keypairgen",
		"--key-type", "EC:prime256v1", "--id", "af423e66", "--usage-sign").CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool --keypairgen: %v\n%s", err, out)
	}
	if err := k.Insert(kim.OwnerOf(alice), "from-rust", kim.Entry{Provider: wire.ProviderPkcs11, ProviderName: "pkcs11-provider",
		KeyID: binary.LittleEndian.AppendUint32(nil, rustID), Attributes: ecdsaP256}); err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte("rust"))
	sig := must(t, p, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: "from-rust", Alg: signAlg(t, ecdsaP256.Alg), Hash: hash[:]}).(*pb.SignHashResult).GetSignature()
	pub := exportPublic(t, p, "from-rust").(*ecdsa.PublicKey)
	if !ecdsa.Verify(pub, hash[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("signature of the carried-over key does not verify")
	}
}

func TestStartupErrorsNameTheFix(t *testing.T) {
	if softhsmLib == "" {
		t.Skip("SoftHSM 2 not installed")
	}
	for _, c := range []struct {
		name string
		init bool
		cfg  func(*Config)
		want []string
	}{
		{"wrong PIN", true, func(c *Config) { c.UserPIN = "000000" }, []string{"CKR_PIN_INCORRECT", "parsec-test", "user_pin"}},
		{"library path", true, func(c *Config) { c.LibraryPath = "/nonexistent/libp11.so" }, []string{"/nonexistent/libp11.so", "library_path"}},
		{"no token", false, func(*Config) {}, []string{"no slot holds an initialised token", "softhsm2-util --init-token", "tokendir"}},
		{"serial", true, func(c *Config) { c.SerialNumber = "nope" }, []string{`serial number "nope"`, "parsec-test"}},
		{"no co-server", true, func(c *Config) { c.CoserverPath = "/nonexistent" }, []string{"parsec-pkcs11 was not found", "coserver_path"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			newToken(t, c.init)
			cfg := baseConfig()
			c.cfg(&cfg)
			log := &syncbuf.Buffer{}
			p, err := start(cfg, newKIM(t, t.TempDir()), log)
			if err == nil {
				p.Close()
				t.Fatal("started")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestCoserverKilledUnderLoad: kill -9 of the co-server while clients
// sign. Requests in flight fail with a status (never hang), the daemon
// restarts the co-server, later requests succeed and the key info manager
// is unchanged.
func TestCoserverKilledUnderLoad(t *testing.T) {
	newToken(t, true)
	k := newKIM(t, t.TempDir())
	p, log := newProvider(t, baseConfig(), k)
	generate(t, p, "ec", ecdsaP256)
	generate(t, p, "rsa", rsaSign)
	before, err := k.All()
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte("load"))
	stop := make(chan struct{})
	type tally struct{ ok, failed int }
	results := make(chan tally)
	for i := 0; i < 8; i++ {
		name, alg := "ec", ecdsaP256.Alg
		if i%2 == 1 {
			name, alg = "rsa", rsaSign.Alg
		}
		go func() {
			var n tally
			req := &pb.SignHashRequest{KeyName: name, Alg: signAlg(t, alg), Hash: hash[:]}
			for {
				select {
				case <-stop:
					results <- n
					return
				default:
				}
				_, err := provider.Run(context.Background(), p, alice, wire.OpPsaSignHash, req)
				switch {
				case err == nil:
					n.ok++
				case errors.Is(err, wire.StatusPsaErrorCommunicationFailure):
					n.failed++
				default:
					t.Errorf("unexpected error under load: %v", err)
				}
			}
		}()
	}
	// Let the load run, then kill the co-server as a crash would.
	time.Sleep(300 * time.Millisecond)
	pid := p.co.pid()
	if pid == 0 {
		t.Fatal("no co-server running")
	}
	if err := exec.Command("kill", "-9", fmt.Sprint(pid)).Run(); err != nil {
		t.Fatal(err)
	}
	// Wait (bounded) for a new co-server and a request that succeeds.
	deadline := time.Now().Add(60 * time.Second)
	for {
		np := p.co.pid()
		if np != 0 && np != pid {
			if _, err := exec1(t, p, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: "ec", Alg: signAlg(t, ecdsaP256.Alg), Hash: hash[:]}); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful request after the kill; log:\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	var total tally
	for i := 0; i < 8; i++ {
		n := <-results
		total.ok += n.ok
		total.failed += n.failed
	}
	t.Logf("under load: %d signatures, %d failed with CommunicationFailure around the kill", total.ok, total.failed)
	if total.failed == 0 {
		t.Error("no request saw the co-server die")
	}
	if !strings.Contains(log.String(), "co-server exited; restarting") || !strings.Contains(log.String(), "co-server is back") {
		t.Errorf("restart not logged:\n%s", log)
	}
	after, err := k.All()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("key info manager changed:\nbefore %v\nafter  %v", before, after)
	}
	// Both keys still work.
	for _, c := range []struct {
		name string
		alg  psa.Algorithm
	}{{"ec", ecdsaP256.Alg}, {"rsa", rsaSign.Alg}} {
		must(t, p, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: c.name, Alg: signAlg(t, c.alg), Hash: hash[:]})
	}
}

// TestReloadWithFixedSocket: a config reload builds the new provider (and
// co-server) before closing the old one; with coserver_socket set both
// use the same path, and the old co-server's exit must not remove the
// new one's socket.
func TestReloadWithFixedSocket(t *testing.T) {
	newToken(t, true)
	k := newKIM(t, t.TempDir())
	cfg := baseConfig()
	cfg.CoserverSocket = filepath.Join(t.TempDir(), "p11.sock")
	old, _ := newProvider(t, cfg, k)
	generate(t, old, "k", ecdsaP256)
	fresh, _ := newProvider(t, cfg, k)
	old.Close()
	hash := sha256.Sum256([]byte("reload"))
	must(t, fresh, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: "k", Alg: signAlg(t, ecdsaP256.Alg), Hash: hash[:]})
}

// TestSoftwarePublicOperations: with software_public_operations the
// service verifies and encrypts with the public key itself: results agree
// with the token's, and RSA-OAEP with SHA-256, which SoftHSM refuses,
// encrypts.
func TestSoftwarePublicOperations(t *testing.T) {
	newToken(t, true)
	cfg := baseConfig()
	cfg.SoftwarePublicOperations = true
	p, _ := newProvider(t, cfg, newKIM(t, t.TempDir()))
	hash := sha256.Sum256([]byte("software"))
	for _, a := range []psa.Attributes{ecdsaP256, rsaSign, rsaPSS} {
		name := a.Alg.String()
		generate(t, p, name, a)
		alg := signAlg(t, a.Alg)
		sig := must(t, p, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: name, Alg: alg, Hash: hash[:]}).(*pb.SignHashResult).GetSignature()
		must(t, p, wire.OpPsaVerifyHash, &pb.VerifyHashRequest{KeyName: name, Alg: alg, Hash: hash[:], Signature: sig})
		sig[0] ^= 1
		if _, err := exec1(t, p, wire.OpPsaVerifyHash, &pb.VerifyHashRequest{KeyName: name, Alg: alg, Hash: hash[:], Signature: sig}); !errors.Is(err, wire.StatusPsaErrorInvalidSignature) {
			t.Errorf("%s: bad signature: %v", name, err)
		}
	}
	generate(t, p, "pkcs1", rsaCrypt)
	alg := cryptAlg(t, rsaCrypt.Alg)
	ct := must(t, p, wire.OpPsaAsymmetricEncrypt, &pb.AsymmetricEncryptRequest{KeyName: "pkcs1", Alg: alg, Plaintext: []byte("x")}).(*pb.AsymmetricEncryptResult).GetCiphertext()
	pt := must(t, p, wire.OpPsaAsymmetricDecrypt, &pb.AsymmetricDecryptRequest{KeyName: "pkcs1", Alg: alg, Ciphertext: ct}).(*pb.AsymmetricDecryptResult).GetPlaintext()
	if string(pt) != "x" {
		t.Errorf("round trip: %q", pt)
	}
	oaep := psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: psa.UsageEncrypt | psa.UsageDecrypt, Alg: psa.RSAOAEP(psa.AlgSHA256)}
	generate(t, p, "oaep256", oaep)
	must(t, p, wire.OpPsaAsymmetricEncrypt, &pb.AsymmetricEncryptRequest{KeyName: "oaep256", Alg: cryptAlg(t, oaep.Alg), Plaintext: []byte("x")})
}
