package takeover_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/parsec-go/parsec/internal/syncbuf"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/config"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/service/provider/software"
	"github.com/parsec-go/parsec/service/takeover"
	"github.com/parsec-go/parsec/service/takeover/sqlitekim"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

const fixtures = "testdata/rust-1.4.1"

// deployment is a copy of a fixture run: the Rust service's working
// directory, with a config naming the copy's paths.
type deployment struct {
	dir, manager string
	cfg          *config.Config
	log          *syncbuf.Buffer
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func newDeployment(t *testing.T, manager string) *deployment {
	t.Helper()
	d := &deployment{dir: t.TempDir(), manager: manager, log: &syncbuf.Buffer{}}
	copyTree(t, filepath.Join(fixtures, manager), d.dir)
	kimTable := `name = "sqlite-manager"
manager_type = "SQLite"
sqlite_db_path = "` + d.dir + `/kim/sqlite-key-info-manager.sqlite3"`
	name := "sqlite-manager"
	if manager == "ondisk" {
		name = "on-disk-manager"
		kimTable = `name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "` + d.dir + `/mappings"`
	}
	doc := fmt.Sprintf(`[core_settings]
allow_root = true
[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = "%s/parsec.sock"
[authenticator]
auth_type = "UnixPeerCredentials"
[[key_manager]]
%s
[[provider]]
provider_type = "MbedCrypto"
key_info_manager = "%s"
store_path = "%s/parsec-go-keys"
[[provider]]
provider_type = "Tpm"
key_info_manager = "%s"
tcti = "swtpm:host=127.0.0.1,port=2321"
owner_hierarchy_auth = ""
`, d.dir, kimTable, name, d.dir, name)
	cfg, _, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	d.cfg = cfg
	return d
}

func (d *deployment) run(dry bool) takeover.Report {
	return takeover.Run(takeover.Options{
		Config: d.cfg, WorkDir: d.dir, DryRun: dry, ReadSQLite: sqlitekim.Read,
		Log: slog.New(slog.NewTextHandler(d.log, nil)),
	})
}

// rustFiles hashes every file the Rust service wrote, to prove none changes.
func (d *deployment) rustFiles(t *testing.T) map[string][32]byte {
	t.Helper()
	m := map[string][32]byte{}
	filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(d.dir, p)
		if strings.HasPrefix(rel, "parsec-go-keys") || strings.Contains(rel, "parsec-go/") ||
			strings.HasSuffix(rel, takeover.MarkerName) || strings.HasSuffix(rel, takeover.JournalName) || strings.HasPrefix(rel, "mappings/kim-v2.") || strings.HasPrefix(rel, "mappings/.kim") {
			return nil // ours
		}
		b, _ := os.ReadFile(p)
		m[rel] = sha256.Sum256(b)
		return nil
	})
	return m
}

func counts(rep takeover.Report) map[string]int {
	c := map[string]int{}
	for _, m := range rep.Managers {
		if m.Error != "" {
			c["manager error"]++
		}
		for s, n := range m.Counts() {
			c[s] += n
		}
	}
	return c
}

func storeFiles(t *testing.T, d *deployment) []string {
	ents, err := os.ReadDir(filepath.Join(d.dir, "parsec-go-keys"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "keys-v2.") { // the store's log and lock
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

func TestTakeoverFixtures(t *testing.T) {
	for _, manager := range []string{"sqlite", "ondisk"} {
		t.Run(manager, func(t *testing.T) {
			d := newDeployment(t, manager)
			before := d.rustFiles(t)
			pending, err := takeover.Pending(d.cfg)
			if err != nil || len(pending) != 1 {
				t.Fatalf("pending %v, %v", pending, err)
			}

			dry := d.run(true)
			if c := counts(dry); c[takeover.StatusWouldCarry] != 14 || len(c) != 1 {
				t.Fatalf("dry run: %v\n%s", c, d.log)
			}
			if _, err := os.Stat(filepath.Join(d.dir, "parsec-go-keys")); err == nil {
				t.Fatal("the dry run wrote the software store")
			}
			if after := d.rustFiles(t); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatal("the dry run changed Rust's files")
			}
			if ents, _ := os.ReadDir(d.cfg.KeyManagers[0].Dir()); manager == "ondisk" && len(ents) != 3 {
				t.Fatalf("the dry run wrote into store_path: %d entries", len(ents))
			}

			rep := d.run(false)
			if c := counts(rep); c[takeover.StatusCarried] != 14 || len(c) != 1 {
				t.Fatalf("takeover: %v\n%s", c, d.log)
			}
			if p, _ := takeover.Pending(d.cfg); len(p) != 0 {
				t.Fatal("still pending after the takeover")
			}
			// Same ids as Rust: 2..8.
			want := []string{"00000002.key", "00000003.key", "00000004.key", "00000005.key", "00000006.key", "00000007.key", "00000008.key"}
			if got := storeFiles(t, d); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("software store %v, want %v", got, want)
			}

			again := d.run(false)
			if c := counts(again); c[takeover.StatusPresent] != 14 || len(c) != 1 {
				t.Fatalf("second run: %v", c)
			}
			if got := storeFiles(t, d); len(got) != 7 {
				t.Fatalf("second run changed the store: %v", got)
			}
			if after := d.rustFiles(t); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatal("Rust's files changed")
			}
			mr, err := takeover.ReadMarker(d.cfg.KeyManagers[0])
			if err != nil || len(mr.Keys) != 14 {
				t.Fatalf("marker: %d keys, %v", len(mr.Keys), err)
			}
			d.checkMbedKeys(t)
		})
	}
}

// checkMbedKeys opens the software provider on the carried-over store and
// compares every public key with the PEM Rust exported.
func (d *deployment) checkMbedKeys(t *testing.T) {
	t.Helper()
	km, err := kim.OpenOnDisk(d.cfg.KeyManagers[0].Dir(), slog.New(slog.NewTextHandler(d.log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	pc := d.cfg.Providers[0]
	p, err := software.New(provider.Deps{Name: "mbed-crypto-provider", KIM: km, Decode: func(v any) error {
		_, err := pc.Decode(v)
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tsv, _ := os.ReadFile(filepath.Join(d.dir, "keys.tsv"))
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(tsv)), "\n") {
		f := strings.Split(line, "\t")
		if f[1] != "1" {
			continue
		}
		app := auth.Application{Name: f[0], AuthType: wire.AuthUnixPeerCredentials}
		res, err := provider.Run(context.Background(), p, app, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: f[3]})
		if err != nil {
			t.Errorf("%s/%s: %v", f[0], f[3], err)
			continue
		}
		got := res.(*pb.ExportPublicKeyResult).Data
		pemBytes, _ := os.ReadFile(takeover.PemFile(d.dir, f[3]))
		blk, _ := pem.Decode(pemBytes)
		pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		if f[2] == "ecc" {
			want = pubECC(t, pub)
		} else {
			want = x509.MarshalPKCS1PublicKey(pubRSA(pub))
		}
		if string(got) != string(want) {
			t.Errorf("%s/%s: exported public key differs from Rust's PEM", f[0], f[3])
		}
		n++
	}
	if n != 7 {
		t.Fatalf("checked %d keys, want 7", n)
	}
}

// TestTakeoverMissingMaterial: a key file missing from the working
// directory is reported, the rest is carried, and no marker is written so
// the next start (in the right directory) completes the takeover.
func TestTakeoverMissingMaterial(t *testing.T) {
	d := newDeployment(t, "sqlite")
	its := takeover.ITSPath(d.dir, 5)
	if err := os.Rename(its, its+".aside"); err != nil {
		t.Fatal(err)
	}
	rep := d.run(false)
	if c := counts(rep); c[takeover.StatusFailed] != 1 || c[takeover.StatusCarried] != 13 {
		t.Fatalf("%v", c)
	}
	if !strings.Contains(d.log.String(), "level=ERROR") || !strings.Contains(d.log.String(), "0000000000000005.psa_its") {
		t.Errorf("no error naming the missing file:\n%s", d.log)
	}
	if p, _ := takeover.Pending(d.cfg); len(p) != 1 {
		t.Fatal("marker written although a key is missing")
	}
	os.Rename(its+".aside", its)
	rep = d.run(false)
	if c := counts(rep); c[takeover.StatusCarried] != 1 || c[takeover.StatusPresent] != 13 {
		t.Fatalf("rerun: %v", c)
	}
	if p, _ := takeover.Pending(d.cfg); len(p) != 0 {
		t.Fatal("no marker after the complete rerun")
	}
}

// TestTakeoverCutShort: material stored but mapping not recorded (a crash
// in between) and an id already taken by another key.
func TestTakeoverCutShort(t *testing.T) {
	d := newDeployment(t, "sqlite")
	store := filepath.Join(d.dir, "parsec-go-keys")
	k, err := takeover.ReadITSKey(d.dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := software.Adopt(store, 3, k.Attributes, k.Material); err != nil {
		t.Fatal(err)
	}
	// Id 4 already holds another key (id 2's) in our store.
	k2, _ := takeover.ReadITSKey(d.dir, 2)
	if _, err := software.Adopt(store, 4, k2.Attributes, k2.Material); err != nil {
		t.Fatal(err)
	}
	rep := d.run(false)
	if c := counts(rep); c[takeover.StatusCarried] != 14 {
		t.Fatalf("%v\n%s", c, d.log)
	}
	again := d.run(false)
	if c := counts(again); c[takeover.StatusPresent] != 14 {
		t.Fatalf("rerun %v", c)
	}
	// 7 Rust keys + the stray copy at id 4's place; id 4's key went above.
	if got := storeFiles(t, d); len(got) != 8 || got[7] != "00000009.key" {
		t.Fatalf("store %v", got)
	}
	d.checkMbedKeys(t)
}

// TestTakeoverRefusedDatabase: a database Rust would refuse is an error
// for its manager; nothing is carried, no marker.
func TestTakeoverRefusedDatabase(t *testing.T) {
	d := newDeployment(t, "sqlite")
	b, _ := os.ReadFile(filepath.Join(fixtures, "corrupt/schema-v2.sqlite3"))
	os.WriteFile(filepath.Join(d.dir, "kim/sqlite-key-info-manager.sqlite3"), b, 0o600)
	rep := d.run(false)
	if len(rep.Managers) != 1 || !strings.Contains(rep.Managers[0].Error, "schema_version 2") {
		t.Fatalf("%+v", rep.Managers)
	}
	if p, _ := takeover.Pending(d.cfg); len(p) != 1 {
		t.Fatal("marker written for a refused database")
	}
}

// TestTakeoverBadRows: rows that do not decode are reported one by one.
func TestTakeoverBadRows(t *testing.T) {
	d := newDeployment(t, "sqlite")
	b, _ := os.ReadFile(filepath.Join(fixtures, "corrupt/bad-rows.sqlite3"))
	os.WriteFile(filepath.Join(d.dir, "kim/sqlite-key-info-manager.sqlite3"), b, 0o600)
	rep := d.run(false)
	c := counts(rep)
	// mbed-ecc-0 (attributes), mbed-rsa-sign-0 (key id), mbed-rsa-enc-0
	// (provider uuid); tpm-ecc-0's cut key id is the TPM provider's to
	// reject when loading.
	if c[takeover.StatusFailed] != 3 || c[takeover.StatusCarried] != 11 {
		t.Fatalf("%v\n%s", c, d.log)
	}
	for _, n := range []string{"mbed-ecc-0", "mbed-rsa-sign-0", "mbed-rsa-enc-0"} {
		if !strings.Contains(d.log.String(), n) {
			t.Errorf("%s not logged", n)
		}
	}
}

func pubECC(t *testing.T, pub any) []byte {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("PEM holds %T", pub)
	}
	b, err := k.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pubRSA(pub any) *rsa.PublicKey { k, _ := pub.(*rsa.PublicKey); return k }

// TestCarryTokenMappings: PKCS#11 and Trusted Services mappings are carried
// verbatim (the keys stay in the token / secure world under the same u32).
func TestCarryTokenMappings(t *testing.T) {
	doc := `[listener]
listener_type = "DomainSocket"
timeout = 200
[authenticator]
auth_type = "UnixPeerCredentials"
[[key_manager]]
name = "m"
manager_type = "OnDisk"
store_path = "` + t.TempDir() + `"
[[provider]]
provider_type = "Pkcs11"
key_info_manager = "m"
[[provider]]
provider_type = "TrustedService"
name = "ts"
key_info_manager = "m"
`
	cfg, _, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	km, err := kim.OpenOnDisk(cfg.KeyManagers[0].Dir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer km.Close()
	owner := kim.Owner{AuthType: wire.AuthUnixPeerCredentials, App: "1000"}
	recs := []takeover.Record{
		{Owner: owner, Name: "p11", Provider: wire.ProviderPkcs11, KeyID: []byte{0xaf, 0x42, 0x3e, 0x66}},
		{Owner: owner, Name: "ts", Provider: wire.ProviderTrustedService, ProviderName: "ts", KeyID: []byte{2, 0, 0, 0}},
		{Owner: owner, Name: "ts-other-name", Provider: wire.ProviderTrustedService, ProviderName: "trusted-service-provider", KeyID: []byte{3, 0, 0, 0}},
		{Owner: owner, Name: "p11-bad-id", Provider: wire.ProviderPkcs11, KeyID: []byte{1, 2, 3}},
		{Owner: owner, Name: "cal", Provider: wire.ProviderCryptoAuthLib, KeyID: []byte{1, 0, 0, 0}},
	}
	out := takeover.Carry(takeover.Env{Config: cfg, KIM: km}, cfg.KeyManagers[0], recs)
	want := []string{takeover.StatusCarried, takeover.StatusCarried, takeover.StatusFailed, takeover.StatusFailed, takeover.StatusFailed}
	for i, o := range out {
		if o.Status != want[i] {
			t.Errorf("%s: %s (%s), want %s", o.Name, o.Status, o.Detail, want[i])
		}
	}
	e, err := km.Get(owner, "p11")
	if err != nil || e.ProviderName != "pkcs11-provider" || string(e.KeyID) != "\xaf\x42\x3e\x66" {
		t.Errorf("p11 mapping %+v, %v", e, err)
	}
}

// TestDeletedKeysStayDeleted: a key carried over and then deleted by its
// client is not brought back by a later run (a retry, or one by hand).
func TestDeletedKeysStayDeleted(t *testing.T) {
	d := newDeployment(t, "sqlite")
	if c := counts(d.run(false)); c[takeover.StatusCarried] != 14 {
		t.Fatalf("%v", c)
	}
	km, err := kim.OpenOnDisk(d.cfg.KeyManagers[0].Dir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	owner := kim.Owner{AuthType: wire.AuthUnixPeerCredentials, App: "0"}
	for _, n := range []string{"mbed-ecc-0", "tpm-ecc-0"} {
		if err := km.Remove(owner, n); err != nil {
			t.Fatal(err)
		}
	}
	km.Close()
	os.Remove(takeover.MarkerPath(d.cfg.KeyManagers[0]))
	rep := d.run(false)
	if c := counts(rep); c[takeover.StatusDeleted] != 2 || c[takeover.StatusPresent] != 12 {
		t.Fatalf("rerun: %v", c)
	}
	km, err = kim.OpenOnDisk(d.cfg.KeyManagers[0].Dir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer km.Close()
	if _, err := km.Get(owner, "mbed-ecc-0"); err == nil {
		t.Fatal("a deleted key came back")
	}
}

// TestUnsafeSoftwareStoreIsRefused: a software store that another user
// could write receives no Rust key material (each Mbed Crypto key fails,
// to be retried once the store is fixed); the other keys are carried.
func TestUnsafeSoftwareStoreIsRefused(t *testing.T) {
	d := newDeployment(t, "sqlite")
	store := filepath.Join(d.dir, "parsec-go-keys")
	if err := os.Mkdir(store, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(store, 0o777); err != nil {
		t.Fatal(err)
	}
	rep := d.run(false)
	mbed, others := 0, 0
	for _, m := range rep.Managers {
		for _, k := range m.Keys {
			if k.Provider != wire.ProviderMbedCrypto {
				if k.Status == takeover.StatusCarried {
					others++
				}
				continue
			}
			mbed++
			if k.Status != takeover.StatusFailed || !k.Retry || !strings.Contains(k.Detail, "chmod go-w") {
				t.Errorf("%s: %s, retry %v (%s); want failed, retried, naming the fix", k.Name, k.Status, k.Retry, k.Detail)
			}
		}
	}
	if mbed == 0 || others == 0 {
		t.Fatalf("fixture: %d Mbed Crypto keys, %d others carried", mbed, others)
	}
	if files := storeFiles(t, d); len(files) != 0 {
		t.Errorf("key material written into the unsafe store: %v", files)
	}
}
