package tpm

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
)

// The key kinds parsec-tool 0.7.0 cannot make (PSS, OAEP, other sizes,
// curves and hashes, imported public keys), made by the real Rust service
// 1.4.1 through our Go client: testdata/rust-1.4.1-tpm, remade with
//
//	PARSEC_MAKE_RUST_TPM_FIXTURES=$PWD/testdata/rust-1.4.1-tpm go test -run TestMakeRustTPMFixtures ./service/provider/tpm
//
// (needs swtpm and the trixie root of scripts/trixie-root.sh).

const rustVariantDir = "testdata/rust-1.4.1-tpm"

// rustVariantMessage is what every key signed or encrypted.
var rustVariantMessage = []byte("parsec-go Rust TPM key variants")

type rustVariant struct {
	name   string
	kind   string // sign, enc, import
	attrs  psa.Attributes
	export []byte // the public key the Rust service exported (PSA format)
	data   []byte // the Rust service's signature or ciphertext of rustVariantMessage (for import: a Go signature)
}

func rustVariants() []rustVariant {
	sig := func(t psa.KeyType, bits uint32, alg psa.Algorithm) psa.Attributes {
		return psa.Attributes{Type: t, Bits: bits, Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: alg}
	}
	ecc, eccPub := psa.ECCKeyPair(psa.EccSecpR1), psa.ECCPublicKey(psa.EccSecpR1)
	return []rustVariant{
		{name: "rsa-pss-2048-sha256", kind: "sign", attrs: sig(psa.KeyTypeRSAKeyPair, 2048, psa.RSAPSS(psa.AlgSHA256))},
		{name: "rsa-pss-3072-sha384", kind: "sign", attrs: sig(psa.KeyTypeRSAKeyPair, 3072, psa.RSAPSS(psa.AlgSHA384))},
		{name: "rsa-pkcs1-2048-sha512", kind: "sign", attrs: sig(psa.KeyTypeRSAKeyPair, 2048, psa.RSAPKCS1v15Sign(psa.AlgSHA512))},
		{name: "ecc-p384-sha384", kind: "sign", attrs: sig(ecc, 384, psa.ECDSA(psa.AlgSHA384))},
		{name: "ecc-p256-sha384", kind: "sign", attrs: sig(ecc, 256, psa.ECDSA(psa.AlgSHA384))},
		{name: "rsa-oaep-2048-sha256", kind: "enc", attrs: psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048,
			Usage: psa.UsageEncrypt | psa.UsageDecrypt, Alg: psa.RSAOAEP(psa.AlgSHA256)}},
		{name: "rsa-public-2048", kind: "import", attrs: psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Bits: 2048,
			Usage: psa.UsageVerifyHash, Alg: psa.RSAPKCS1v15Sign(psa.AlgSHA256)}},
		{name: "ecc-public-p256", kind: "import", attrs: sig(eccPub, 256, psa.ECDSA(psa.AlgSHA256))},
	}
}

func hashOf(t testing.TB, h psa.Algorithm, msg []byte) (crypto.Hash, []byte) {
	t.Helper()
	ch, ok := cryptoHash[h]
	if !ok {
		t.Fatalf("no Go hash for %v", h)
	}
	w := ch.New()
	w.Write(msg)
	return ch, w.Sum(nil)
}

// parsePSAPublic reads a PSA-format public key into a Go one.
func parsePSAPublic(t testing.TB, a psa.Attributes, data []byte) crypto.PublicKey {
	t.Helper()
	if a.Type.IsRSA() {
		k, err := x509.ParsePKCS1PublicKey(data)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	cv, _ := curveFor(a.Type, a.Bits)
	n := cv.size()
	if len(data) != 1+2*n {
		t.Fatalf("point of %d bytes", len(data))
	}
	return &ecdsa.PublicKey{Curve: cv.go_, X: new(big.Int).SetBytes(data[1 : 1+n]), Y: new(big.Int).SetBytes(data[1+n:])}
}

// verifyGo checks a PSA signature with Go's crypto.
func verifyGo(t testing.TB, a psa.Attributes, pub crypto.PublicKey, digest []byte, ch crypto.Hash, sig []byte) error {
	t.Helper()
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if a.Alg.IsRSAPSS() {
			return rsa.VerifyPSS(k, ch, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		}
		return rsa.VerifyPKCS1v15(k, ch, digest, sig)
	case *ecdsa.PublicKey:
		n := len(sig) / 2
		if !ecdsa.Verify(k, digest, new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])) {
			return fmt.Errorf("ECDSA signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("key %T", pub)
}

func readRustVariants(t testing.TB) []rustVariant {
	t.Helper()
	f, err := os.Open(filepath.Join(rustVariantDir, "keys.tsv"))
	if err != nil {
		t.Fatalf("the Rust TPM variant fixtures are missing: %v", err)
	}
	defer f.Close()
	byName := map[string]rustVariant{}
	for _, v := range rustVariants() {
		byName[v.name] = v
	}
	var out []rustVariant
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		v, ok := byName[c[0]]
		if len(c) != 3 || !ok {
			t.Fatalf("keys.tsv: bad line %q", sc.Text())
		}
		var err1, err2 error
		v.export, err1 = hex.DecodeString(c[1])
		v.data, err2 = hex.DecodeString(c[2])
		if err1 != nil || err2 != nil {
			t.Fatalf("keys.tsv: bad hex for %s", v.name)
		}
		out = append(out, v)
	}
	if len(out) != len(byName) {
		t.Fatalf("keys.tsv has %d keys, want %d", len(out), len(byName))
	}
	return out
}

// TestRustVariantKeys: PSS (2048/3072, SHA-256/384), PKCS#1 v1.5 with
// SHA-512, ECDSA P-384 and P-256 with SHA-384, OAEP, and imported RSA and
// ECC public keys made by the Rust service work through our provider.
func TestRustVariantKeys(t *testing.T) {
	e := newRustEnv(t, rustEnvOpts{dir: rustVariantDir})
	if _, bad := e.log.find("cannot be used"); bad {
		t.Fatal("a Rust key was reported unusable on its own TPM")
	}
	app := auth.Application{Name: "0", AuthType: wire.AuthUnixPeerCredentials}
	for _, v := range readRustVariants(t) {
		t.Run(v.name, func(t *testing.T) {
			// The takeover's reading of Rust's attributes is what the key
			// was made with (Rust stores the message usages a hash usage
			// implies), so ListKeys shows the same.
			want := v.attrs
			want.Usage = want.Usage.Effective()
			if ent, err := e.p.keys.Manager().Get(kim.OwnerOf(app), v.name); err != nil || ent.Attributes != want {
				t.Fatalf("attributes carried over %+v (%v), made with %+v", ent.Attributes, err, want)
			}
			got, err := exportPub(e.p, app, v.name)
			if err != nil || string(got) != string(v.export) {
				t.Fatalf("export: %x, %v\nRust exported %x", got, err, v.export)
			}
			pub := parsePSAPublic(t, v.attrs, v.export)
			switch v.kind {
			case "sign":
				ch, digest := hashOf(t, v.attrs.Alg.HashAlg(), rustVariantMessage)
				sig, err := sign(t, e.p, app, v.name, v.attrs.Alg, digest)
				if err != nil {
					t.Fatal(err)
				}
				if err := verifyGo(t, v.attrs, pub, digest, ch, sig); err != nil {
					t.Fatalf("our signature does not verify under the key Rust exported: %v", err)
				}
				if len(v.data) == 0 { // a PSS key: Rust 1.4.1 cannot sign with it
					break
				}
				if err := verify(t, e.p, app, v.name, v.attrs.Alg, digest, v.data); err != nil {
					t.Fatalf("Rust's signature does not verify through us: %v", err)
				}
			case "enc":
				pt, err := decrypt(t, e.p, app, v.name, v.attrs.Alg, v.data, nil)
				if err != nil || string(pt) != string(rustVariantMessage) {
					t.Fatalf("Rust's ciphertext decrypts to %q, %v", pt, err)
				}
				ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub.(*rsa.PublicKey), []byte("to the Rust key"), nil)
				if err != nil {
					t.Fatal(err)
				}
				if pt, err := decrypt(t, e.p, app, v.name, v.attrs.Alg, ct, nil); err != nil || string(pt) != "to the Rust key" {
					t.Fatalf("decrypt of data encrypted to the Rust key: %q, %v", pt, err)
				}
			case "import":
				_, digest := hashOf(t, v.attrs.Alg.HashAlg(), rustVariantMessage)
				if err := verify(t, e.p, app, v.name, v.attrs.Alg, digest, v.data); err != nil {
					t.Fatalf("signature under the imported key: %v", err)
				}
				// No private part: refused by the policy (no sign usage) or
				// because the key is public.
				_, err := sign(t, e.p, app, v.name, v.attrs.Alg, digest)
				if s := statusOf(err); s != wire.StatusPsaErrorNotPermitted && s != wire.StatusPsaErrorInvalidArgument {
					t.Fatalf("signing with a public key: %v", err)
				}
			}
		})
	}
}

// TestMakeRustTPMFixtures remakes testdata/rust-1.4.1-tpm with the Rust
// service (see the comment at the top of this file); skipped otherwise.
func TestMakeRustTPMFixtures(t *testing.T) {
	out := os.Getenv("PARSEC_MAKE_RUST_TPM_FIXTURES")
	if out == "" {
		t.Skip("set PARSEC_MAKE_RUST_TPM_FIXTURES=DIR to remake the Rust TPM fixtures")
	}
	work, err := os.MkdirTemp("", "rusttpm")
	if err != nil {
		t.Fatal(err)
	}
	// Removed after the swtpm is killed (cleanups run last-in first-out).
	t.Cleanup(func() { os.RemoveAll(work) })
	tpm := startSwtpmIn(t, filepath.Join(work, "swtpm"))
	sock := filepath.Join(work, "parsec.sock")
	cfg := "# Made by TestMakeRustTPMFixtures (service/provider/tpm) for the Rust service 1.4.1\n" +
		onDiskTPMConfig("info", sock, filepath.Join(work, "mappings"), tpm.tcti)
	if err := os.WriteFile(filepath.Join(work, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	argv, err := exec.Command("bash", "../../../scripts/rust-parsec.sh", "argv", "parsec").Output()
	if err != nil {
		t.Fatalf("rust-parsec.sh argv parsec: %v", err)
	}
	args := append(strings.Fields(string(argv)), "-c", filepath.Join(work, "config.toml"))
	svc := exec.Command(args[0], args[1:]...)
	svc.Dir = work
	logf, err := os.Create(filepath.Join(work, "parsec.log"))
	if err != nil {
		t.Fatal(err)
	}
	svc.Stdout, svc.Stderr = logf, logf
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = svc.Process.Signal(syscall.SIGTERM)
			_ = svc.Wait()
		}
	}
	defer stop()
	ctx := context.Background()
	var c *client.Client
	for i := 0; ; i++ {
		c, err = client.New(ctx, client.WithSocketPath(sock), client.WithProvider(wire.ProviderTpm),
			client.WithAuthenticator(client.UnixPeerCredentials()))
		if err == nil {
			if _, _, err = c.Ping(ctx); err == nil {
				break
			}
		}
		if i == 600 {
			t.Fatalf("the Rust service does not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var lines []string
	for _, v := range rustVariants() {
		switch v.kind {
		case "import":
			v.data = importVariant(t, ctx, c, v)
		default:
			if err := c.GenerateKey(ctx, v.name, v.attrs); err != nil {
				t.Fatalf("%s: generate: %v", v.name, err)
			}
		}
		if v.export, err = c.ExportPublicKey(ctx, v.name); err != nil {
			t.Fatalf("%s: export: %v", v.name, err)
		}
		ch, digest := hashOf(t, v.attrs.Alg.HashAlg(), rustVariantMessage)
		switch v.kind {
		case "sign":
			if v.attrs.Alg.IsRSAPSS() {
				// Rust 1.4.1 creates PSS keys but signs only with PKCS#1
				// v1.5 and ECDSA (asym_sign.rs): nothing to record.
				break
			}
			if v.data, err = c.SignHash(ctx, v.name, v.attrs.Alg, digest); err != nil {
				t.Fatalf("%s: sign: %v", v.name, err)
			}
			if err := verifyGo(t, v.attrs, parsePSAPublic(t, v.attrs, v.export), digest, ch, v.data); err != nil {
				t.Fatalf("%s: the Rust signature does not verify: %v", v.name, err)
			}
		case "enc":
			if v.data, err = c.AsymmetricEncrypt(ctx, v.name, v.attrs.Alg, rustVariantMessage, nil); err != nil {
				t.Fatalf("%s: encrypt: %v", v.name, err)
			}
			pt, err := c.AsymmetricDecrypt(ctx, v.name, v.attrs.Alg, v.data, nil)
			if err != nil || string(pt) != string(rustVariantMessage) {
				t.Fatalf("%s: the Rust service does not decrypt its own ciphertext: %q, %v", v.name, pt, err)
			}
		case "import":
			if err := c.VerifyHash(ctx, v.name, v.attrs.Alg, digest, v.data); err != nil {
				t.Fatalf("%s: the Rust service does not verify: %v", v.name, err)
			}
		}
		lines = append(lines, v.name+"\t"+hex.EncodeToString(v.export)+"\t"+hex.EncodeToString(v.data)+"\n")
	}
	stop()
	if _, err := runScript(t, "stop", "--dir", tpm.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{
		{"mkdir", "-p", filepath.Join(out, "tpm")},
		{"cp", filepath.Join(tpm.dir, "state", "tpm2-00.permall"), filepath.Join(out, "tpm")},
		{"cp", "-r", filepath.Join(work, "mappings"), out},
		{"chmod", "-R", "u+rwX,go+rX", out},
	} {
		if b, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", cmd, err, b)
		}
	}
	sed := strings.NewReplacer(work, "/tmp/rusttpm", tpm.tcti, "swtpm:host=127.0.0.1,port=2321").Replace(cfg)
	if err := os.WriteFile(filepath.Join(out, "config.toml"), []byte(sed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "keys.tsv"), []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// onDiskTPMConfig is a service config (ours or Rust's) with one OnDisk
// key info manager and one TPM provider.
func onDiskTPMConfig(logLevel, sock, store, tcti string) string {
	return fmt.Sprintf(`[core_settings]
allow_root = true
log_level = %q
[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = %q
[authenticator]
auth_type = "UnixPeerCredentials"
[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = %q
[[provider]]
provider_type = "Tpm"
key_info_manager = "on-disk-manager"
tcti = %q
owner_hierarchy_auth = ""
`, logLevel, sock, store, tcti)
}

// importVariant imports a fresh Go public key into the Rust service and
// returns a Go signature of the message under it.
func importVariant(t *testing.T, ctx context.Context, c *client.Client, v rustVariant) []byte {
	t.Helper()
	ch, digest := hashOf(t, v.attrs.Alg.HashAlg(), rustVariantMessage)
	var data, sig []byte
	if v.attrs.Type.IsRSA() {
		k, err := rsa.GenerateKey(rand.Reader, int(v.attrs.Bits))
		if err != nil {
			t.Fatal(err)
		}
		data = x509.MarshalPKCS1PublicKey(&k.PublicKey)
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, ch, digest); err != nil {
			t.Fatal(err)
		}
	} else {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		data = append([]byte{4}, append(k.X.FillBytes(make([]byte, 32)), k.Y.FillBytes(make([]byte, 32))...)...)
		r, s, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			t.Fatal(err)
		}
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	}
	if err := c.ImportKey(ctx, v.name, v.attrs, data); err != nil {
		t.Fatalf("%s: import: %v", v.name, err)
	}
	return sig
}
