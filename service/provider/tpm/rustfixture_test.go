package tpm

import (
	"bufio"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/takeover"
	"github.com/parsec-go/parsec/service/takeover/sqlitekim"
	"github.com/parsec-go/parsec/wire"
)

// Tests on the state the real Rust Parsec service 1.4.1 left on a swtpm
// (service/takeover/testdata/rust-1.4.1, made by scripts/make-rust-fixtures.sh):
// the takeover's own readers read its key info manager (OnDisk or SQLite),
// the TPM mappings are copied into our key info manager verbatim, as the
// takeover does, and our provider runs on a swtpm started on that TPM state.

const rustFixtures = "../../takeover/testdata/rust-1.4.1/"

// rustFixtureDir is the default fixture: the OnDisk run.
const rustFixtureDir = rustFixtures + "ondisk"

// rustFixtureKey is one TPM key of a fixture's keys.tsv.
type rustFixtureKey struct {
	dir             string // the fixture
	app, kind, name string
	file            string // the name as the fixture's pem/, sig/, enc/ files spell it
}

func rustFixtureKeys(t testing.TB, dir string) []rustFixtureKey {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "keys.tsv"))
	if err != nil {
		t.Fatalf("the Rust 1.4.1 fixtures are missing: %v", err)
	}
	defer f.Close()
	var keys []rustFixtureKey
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 4 || c[1] != "3" {
			continue
		}
		file := strings.Map(func(r rune) rune {
			if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
				return r
			}
			return '_'
		}, c[3])
		keys = append(keys, rustFixtureKey{dir: dir, app: c[0], kind: c[2], name: c[3], file: file})
	}
	if len(keys) != 6 {
		t.Fatalf("keys.tsv lists %d TPM keys, want 6", len(keys))
	}
	return keys
}

// rustRecords reads a fixture's Rust key info manager with the takeover's
// readers and keeps the TPM provider's mappings.
func rustRecords(t testing.TB, dir string) []takeover.Record {
	t.Helper()
	var recs []takeover.Record
	var err error
	if db := filepath.Join(dir, "kim", "sqlite-key-info-manager.sqlite3"); fileExists(db) {
		recs, err = sqlitekim.Read(db)
	} else {
		recs, err = takeover.ReadOnDisk(filepath.Join(dir, "mappings"), wire.AuthUnixPeerCredentials)
	}
	if err != nil {
		t.Fatalf("reading the Rust store in %s: %v", dir, err)
	}
	var out []takeover.Record
	for _, r := range recs {
		if r.Err != nil {
			t.Fatalf("%v: %v", r, r.Err)
		}
		if r.Provider == wire.ProviderTpm {
			out = append(out, r)
		}
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// rustEnv is a provider on a swtpm holding the TPM state the Rust service
// used (or a fresh one when cleared), with the Rust mappings in our KIM.
type rustEnv struct {
	*env
	kim kim.Manager
}

type rustEnvOpts struct {
	dir        string                              // the fixture (default rustFixtureDir)
	clearedTPM bool                                // a fresh TPM state: another TPM, or the owner hierarchy cleared
	noRootKey  bool                                // leave out RootKeyTPM, as a store of Rust before 1.4.0
	edit       func(name string, id []byte) []byte // changes a key id before it is stored
}

func newRustEnv(t *testing.T, o rustEnvOpts) *rustEnv {
	t.Helper()
	if o.dir == "" {
		o.dir = rustFixtureDir
	}
	dir := t.TempDir()
	if !o.clearedTPM {
		b, err := os.ReadFile(filepath.Join(o.dir, "tpm", "tpm2-00.permall"))
		if err != nil {
			t.Fatalf("the Rust fixtures are missing: %v", err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "state"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "state", "tpm2-00.permall"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, tpm: startSwtpmIn(t, dir), kimDir: t.TempDir(), log: &logRecorder{t: t}}
	empty := ""
	e.cfg = Config{Tcti: e.tpm.tcti, OwnerHierarchyAuth: &empty}
	m, err := kim.OpenOnDisk(e.kimDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// What the takeover does with TPM mappings: copied verbatim.
	n := 0
	for _, r := range rustRecords(t, o.dir) {
		if r.Owner == kim.InternalOwner && o.noRootKey {
			continue
		}
		if o.edit != nil {
			r.KeyID = o.edit(r.Name, append([]byte(nil), r.KeyID...))
		}
		if err := m.Insert(r.Owner, r.Name, kim.Entry{
			Provider: wire.ProviderTpm, ProviderName: "tpm-provider", KeyID: r.KeyID, Attributes: r.Attributes,
		}); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("no TPM mappings in %s", o.dir)
	}
	e.p = e.open(t)
	return &rustEnv{env: e, kim: m}
}

func (k rustFixtureKey) client() auth.Application {
	return auth.Application{Name: k.app, AuthType: wire.AuthUnixPeerCredentials}
}

func fixtureFile(t testing.TB, fixture, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixture, dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (k rustFixtureKey) pem(t testing.TB) any {
	t.Helper()
	blk, _ := pem.Decode(fixtureFile(t, k.dir, "pem", k.file+".pem"))
	if blk == nil {
		t.Fatalf("%s: no PEM", k.name)
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func (k rustFixtureKey) b64(t testing.TB, dir string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(fixtureFile(t, k.dir, dir, k.file+".b64"))))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// psaExport is the PSA export form of a Go public key.
func psaExport(t testing.TB, pub any) []byte {
	t.Helper()
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return x509.MarshalPKCS1PublicKey(k)
	case *ecdsa.PublicKey:
		out := []byte{4}
		return append(append(out, k.X.FillBytes(make([]byte, 32))...), k.Y.FillBytes(make([]byte, 32))...)
	}
	t.Fatalf("unexpected key %T", pub)
	return nil
}

// verifyWithPEM checks a PSA-format signature of digest under the public
// key the Rust service exported.
func verifyWithPEM(pub any, digest, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, sig)
	case *ecdsa.PublicKey:
		if len(sig) != 64 || !ecdsa.Verify(k, digest, new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return fmt.Errorf("ECDSA signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("unexpected key %T", pub)
}

// derToRaw turns parsec-tool's DER ECDSA signature into PSA's r || s.
func derToRaw(t testing.TB, der []byte) []byte {
	t.Helper()
	var s struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &s); err != nil {
		t.Fatal(err)
	}
	return append(s.R.FillBytes(make([]byte, 32)), s.S.FillBytes(make([]byte, 32))...)
}

// TestRustKeysOnTheirTPM: every TPM key the Rust service made works
// through our provider on the same TPM: the same public keys, signatures
// that verify under the PEMs Rust exported, Rust's own signatures verify,
// Rust's ciphertexts decrypt; loaded handles stay within the budget and
// are all flushed at close.
func TestRustKeysOnTheirTPM(t *testing.T) {
	for _, m := range []string{"ondisk", "sqlite"} {
		dir := rustFixtures + m
		t.Run(m, func(t *testing.T) {
			e := newRustEnv(t, rustEnvOpts{dir: dir})
			e.log.mustFind(t, "derived the primary key of Rust Parsec's keys", "checked_against_RootKeyTPM=true")
			if _, bad := e.log.find("cannot be used"); bad {
				t.Fatal("a Rust key was reported unusable on its own TPM")
			}
			msg := fixtureFile(t, dir, "", "message.txt")
			digest := sha256.Sum256(msg)
			for round := 0; round < 2; round++ { // the second round runs on cached or evicted handles
				for _, k := range rustFixtureKeys(t, dir) {
					app := k.client()
					pub := k.pem(t)
					got, err := exportPub(e.p, app, k.name)
					if err != nil {
						t.Fatalf("%s: export: %v", k.name, err)
					}
					if want := psaExport(t, pub); string(got) != string(want) {
						t.Fatalf("%s: exported\n%x\nRust exported\n%x", k.name, got, want)
					}
					ent, err := e.p.keys.Manager().Get(kim.OwnerOf(app), k.name)
					if err != nil {
						t.Fatal(err)
					}
					switch k.kind {
					case "ecc", "rsa-sign":
						sig, err := sign(t, e.p, app, k.name, ent.Attributes.Alg, digest[:])
						if err != nil {
							t.Fatalf("%s: sign: %v", k.name, err)
						}
						if err := verifyWithPEM(pub, digest[:], sig); err != nil {
							t.Fatalf("%s: our signature does not verify under Rust's PEM: %v", k.name, err)
						}
						rustSig := k.b64(t, "sig")
						if k.kind == "ecc" {
							rustSig = derToRaw(t, rustSig)
						}
						if err := verify(t, e.p, app, k.name, ent.Attributes.Alg, digest[:], rustSig); err != nil {
							t.Fatalf("%s: the signature Rust made does not verify through us: %v", k.name, err)
						}
						rustSig[len(rustSig)-1] ^= 1
						wantStatus(t, verify(t, e.p, app, k.name, ent.Attributes.Alg, digest[:], rustSig), wire.StatusPsaErrorInvalidSignature)
					case "rsa-enc":
						pt, err := decrypt(t, e.p, app, k.name, psa.AlgRSAPKCS1v15Crypt, k.b64(t, "enc"), nil)
						if err != nil || string(pt) != string(msg) {
							t.Fatalf("%s: Rust's ciphertext decrypts to %q, %v", k.name, pt, err)
						}
						ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub.(*rsa.PublicKey), []byte("to the Rust PEM"))
						if err != nil {
							t.Fatal(err)
						}
						if pt, err := decrypt(t, e.p, app, k.name, psa.AlgRSAPKCS1v15Crypt, ct, nil); err != nil || string(pt) != "to the Rust PEM" {
							t.Fatalf("%s: decrypt of data encrypted to the Rust PEM: %q, %v", k.name, pt, err)
						}
						ct, err = encrypt(t, e.p, app, k.name, psa.AlgRSAPKCS1v15Crypt, []byte("round trip"), nil)
						if err != nil {
							t.Fatal(err)
						}
						if pt, err := decrypt(t, e.p, app, k.name, psa.AlgRSAPKCS1v15Crypt, ct, nil); err != nil || string(pt) != "round trip" {
							t.Fatalf("%s: round trip: %q, %v", k.name, pt, err)
						}
					}
					if n, max := e.tpm.transientCount(t), e.p.dev.budget(); n > max {
						t.Fatalf("%d objects loaded, budget %d", n, max)
					}
				}
			}
			// Key attestation (ActivateCredential) of a Rust key: the name handed
			// out is the one the TPM gives the loaded key.
			k0 := rustFixtureKeys(t, dir)[0]
			out, err := prepare(e.p, k0.client(), k0.name, "")
			if err != nil {
				t.Fatal(err)
			}
			secret := []byte("nonce for a Rust key")
			blob, enc := makeCredential(t, verifierEK(t, out.GetAttestingKeyPub()), out.GetName(), secret)
			if got, err := attest(e.p, k0.client(), k0.name, blob, enc); err != nil || string(got) != string(secret) {
				t.Fatalf("attesting %s: %q, %v", k0.name, got, err)
			}

			// Another client does not see them.
			_, err = exportPub(e.p, bob, "tpm-ecc-0")
			wantStatus(t, err, wire.StatusPsaErrorDoesNotExist)

			// New keys keep our format and our primary.
			if err := generate(t, e.p, alice, "new", eccP256Sign); err != nil {
				t.Fatal(err)
			}
			ent, err := e.p.keys.Manager().Get(kim.OwnerOf(alice), "new")
			if err != nil || !strings.HasPrefix(string(ent.KeyID), "PGTK") {
				t.Fatalf("new key id %q, %v", ent.KeyID, err)
			}
			if _, err := sign(t, e.p, alice, "new", eccP256Sign.Alg, digest[:]); err != nil {
				t.Fatal(err)
			}

			// Destroy removes the mapping only.
			if err := destroy(e.p, k0.client(), k0.name); err != nil {
				t.Fatal(err)
			}
			_, err = exportPub(e.p, k0.client(), k0.name)
			wantStatus(t, err, wire.StatusPsaErrorDoesNotExist)
			if err := e.p.Close(); err != nil {
				t.Fatal(err)
			}
			if n := e.tpm.transientCount(t); n != 0 {
				t.Fatalf("%d objects left loaded after close", n)
			}
		})
	}
}

// TestRustKeysClearedTPM: on a TPM that does not hold the seed the Rust
// keys were made under (cleared, or another TPM), every Rust key is
// reported at start, key by key, at error level; using one gives
// PsaErrorStorageFailure; the provider still serves new keys, and the
// mappings stay (nothing stored is deleted) but can be destroyed.
func TestRustKeysClearedTPM(t *testing.T) {
	for _, noRoot := range []bool{false, true} {
		t.Run(fmt.Sprintf("RootKeyTPM=%v", !noRoot), func(t *testing.T) {
			e := newRustEnv(t, rustEnvOpts{clearedTPM: true, noRootKey: noRoot})
			keys := rustFixtureKeys(t, rustFixtureDir)
			for _, k := range keys {
				e.log.mustFind(t, "ERROR", "made by Rust Parsec cannot be used", "key="+k.name, "app="+k.app, "PsaErrorStorageFailure")
			}
			e.log.mustFind(t, "TPM provider ready", "rust_keys=6", "unreadable=6")
			msg := sha256.Sum256([]byte("m"))
			for _, k := range keys {
				switch k.kind {
				case "rsa-enc":
					ct, err := encrypt(t, e.p, k.client(), k.name, psa.AlgRSAPKCS1v15Crypt, []byte("x"), nil)
					if err != nil { // public-key operations need no TPM key
						t.Fatal(err)
					}
					_, err = decrypt(t, e.p, k.client(), k.name, psa.AlgRSAPKCS1v15Crypt, ct, nil)
					wantStatus(t, err, wire.StatusPsaErrorStorageFailure)
				default:
					ent, err := e.p.keys.Manager().Get(kim.OwnerOf(k.client()), k.name)
					if err != nil {
						t.Fatal(err)
					}
					_, err = sign(t, e.p, k.client(), k.name, ent.Attributes.Alg, msg[:])
					wantStatus(t, err, wire.StatusPsaErrorStorageFailure)
				}
				if _, err := exportPub(e.p, k.client(), k.name); err != nil {
					t.Fatalf("%s: export: %v", k.name, err)
				}
			}
			if err := generate(t, e.p, alice, "new", eccP256Sign); err != nil {
				t.Fatal(err)
			}
			if _, err := sign(t, e.p, alice, "new", eccP256Sign.Alg, msg[:]); err != nil {
				t.Fatal(err)
			}
			if err := destroy(e.p, keys[0].client(), keys[0].name); err != nil {
				t.Fatal(err)
			}
			if _, err := e.p.keys.Manager().Get(kim.OwnerOf(keys[1].client()), keys[1].name); err != nil {
				t.Fatalf("a mapping of an unusable Rust key was lost: %v", err)
			}
		})
	}
}

// TestRustKeysWithoutRootKeyTPM: a store from Rust before 1.4.0 has no
// RootKeyTPM; the primary is Rust's choice and each key is loaded once at
// start to check it.
func TestRustKeysWithoutRootKeyTPM(t *testing.T) {
	e := newRustEnv(t, rustEnvOpts{noRootKey: true})
	e.log.mustFind(t, "no RootKeyTPM record")
	e.log.mustFind(t, "TPM provider ready", "rust_keys=6", "unreadable=0")
	k := rustFixtureKeys(t, rustFixtureDir)[1]
	ent, err := e.p.keys.Manager().Get(kim.OwnerOf(k.client()), k.name)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(fixtureFile(t, rustFixtureDir, "", "message.txt"))
	sig, err := sign(t, e.p, k.client(), k.name, ent.Attributes.Alg, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyWithPEM(k.pem(t), digest[:], sig); err != nil {
		t.Fatal(err)
	}
}

// TestRustKeysDamaged: damaged or unsupported Rust key ids fail alone,
// with the status that says why, and can still be destroyed.
func TestRustKeysDamaged(t *testing.T) {
	e := newRustEnv(t, rustEnvOpts{edit: func(name string, id []byte) []byte {
		switch name {
		case "tpm-ecc-0":
			id[len(id)-10] ^= 1 // inside the encrypted sensitive area
		case "tpm-rsa-sign-0":
			return id[:100]
		case "tpm-ecc-61003":
			return legacyID()
		}
		return id
	}})
	for name, want := range map[string]string{"tpm-rsa-sign-0": "PsaErrorDataCorrupt", "tpm-ecc-61003": "PsaErrorNotSupported"} {
		e.log.mustFind(t, "ERROR", "made by Rust Parsec cannot be used", "key="+name, want)
	}
	e.log.mustFind(t, "TPM provider ready", "rust_keys=6", "unreadable=2")
	digest := sha256.Sum256([]byte("m"))
	for _, tc := range []struct {
		app, name string
		want      wire.Status
	}{
		{"0", "tpm-ecc-0", wire.StatusPsaErrorDataCorrupt}, // found when used: the TPM refuses it
		{"0", "tpm-rsa-sign-0", wire.StatusPsaErrorDataCorrupt},
		{"61003", "tpm-ecc-61003", wire.StatusPsaErrorNotSupported},
		{"61003", "tpm-rsa-sign-61003", 0},
	} {
		app := rustFixtureKey{app: tc.app}.client()
		ent, err := e.p.keys.Manager().Get(kim.OwnerOf(app), tc.name)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sign(t, e.p, app, tc.name, ent.Attributes.Alg, digest[:])
		if tc.want == 0 {
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			continue
		}
		wantStatus(t, err, tc.want)
		if err := destroy(e.p, app, tc.name); err != nil {
			t.Fatalf("%s: destroy: %v", tc.name, err)
		}
	}
}

// TestRustKeysTPMRestart: after the TPM restarts (its loaded objects and
// saved contexts gone), the Rust primary is derived again, checked again,
// and the keys work.
func TestRustKeysTPMRestart(t *testing.T) {
	e := newRustEnv(t, rustEnvOpts{})
	k := rustFixtureKeys(t, rustFixtureDir)[0]
	digest := sha256.Sum256([]byte("before and after"))
	for i := 0; i < 2; i++ {
		sig, err := sign(t, e.p, k.client(), k.name, psa.ECDSA(psa.AlgSHA256), digest[:])
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if err := verifyWithPEM(k.pem(t), digest[:], sig); err != nil {
			t.Fatal(err)
		}
		e.tpm.restart(t)
	}
	if e.p.dev.rust.lost != nil {
		t.Fatal(e.p.dev.rust.lost)
	}
}

// TestRustPrimaryAES128: on a TPM without AES-256 Rust makes its primary
// with AES-128-CFB. swtpm has AES-256, so such a deployment is made here
// by hand, with Rust's templates: the RootKeyTPM record names the AES-128
// primary and the provider must fall back to it.
func TestRustPrimaryAES128(t *testing.T) {
	e := newEnv(t)
	if err := e.p.Close(); err != nil {
		t.Fatal(err)
	}
	tr := e.tpm.direct(t)
	prim, err := retryTPM(func() (*tpm2.CreatePrimaryResponse, error) {
		return tpm2.CreatePrimary{
			PrimaryHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
			InPublic:      tpm2.New2B(rustPrimaryTemplate(128)),
		}.Execute(tr)
	})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := rustPublic(eccP256Sign, &rustKeyID{ecc: true})
	if err != nil {
		t.Fatal(err)
	}
	keyAuth := filled(32, 0x5a)
	created, err := retryTPM(func() (*tpm2.CreateResponse, error) {
		return tpm2.Create{
			ParentHandle: tpm2.AuthHandle{Handle: prim.ObjectHandle, Name: prim.Name, Auth: tpm2.PasswordAuth(nil)},
			InSensitive:  tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{UserAuth: tpm2.TPM2BAuth{Buffer: keyAuth}}},
			InPublic:     tpm2.New2B(tmpl),
		}.Execute(tr)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (tpm2.FlushContext{FlushHandle: prim.ObjectHandle}).Execute(tr); err != nil {
		t.Fatal(err)
	}
	pub, err := created.OutPublic.Contents()
	if err != nil {
		t.Fatal(err)
	}
	pt, err := pub.Unique.ECC()
	if err != nil {
		t.Fatal(err)
	}
	m, err := kim.OpenOnDisk(e.kimDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	root := binary.LittleEndian.AppendUint64(nil, uint64(len(prim.Name.Buffer)))
	id := (&rustKeyID{auth: keyAuth, ecc: true, x: pt.X.Buffer, y: pt.Y.Buffer, private: created.OutPrivate.Buffer}).encode()
	for _, k := range []kim.Key{
		{Owner: kim.InternalOwner, Name: rustRootKeyName, Entry: kim.Entry{KeyID: append(root, prim.Name.Buffer...),
			Attributes: psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Bits: 2048}}},
		{Owner: kim.OwnerOf(alice), Name: "rust-aes128", Entry: kim.Entry{KeyID: id, Attributes: eccP256Sign}},
	} {
		k.Entry.Provider, k.Entry.ProviderName = wire.ProviderTpm, "tpm-provider"
		if err := m.Insert(k.Owner, k.Name, k.Entry); err != nil {
			t.Fatal(err)
		}
	}
	p := e.open(t)
	e.log.mustFind(t, "derived the primary key of Rust Parsec's keys", "cipher=AES-128-CFB", "checked_against_RootKeyTPM=true")
	digest := sha256.Sum256([]byte("aes-128"))
	sig, err := sign(t, p, alice, "rust-aes128", eccP256Sign.Alg, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	k := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(pt.X.Buffer), Y: new(big.Int).SetBytes(pt.Y.Buffer)}
	if err := verifyWithPEM(k, digest[:], sig); err != nil {
		t.Fatal(err)
	}
}

// retryTPM runs a command until the TPM stops answering "retry" (libtpms
// does when a key search or its self-test runs long).
func retryTPM[R any](cmd func() (*R, error)) (*R, error) {
	for i := 0; ; i++ {
		r, err := cmd()
		if !isWarningRetry(err) || i == 50 {
			return r, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
