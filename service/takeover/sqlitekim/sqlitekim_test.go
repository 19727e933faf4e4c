package sqlitekim

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/takeover"
	"github.com/parsec-go/parsec/wire"
)

const fixtures = "../testdata/rust-1.4.1"

var goodDB = filepath.Join(fixtures, "sqlite/kim/sqlite-key-info-manager.sqlite3")

func sum(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestReadFixture: every row the Rust service wrote, and the same mappings
// as the OnDisk run (same names, providers and attributes).
func TestReadFixture(t *testing.T) {
	before := sum(t, goodDB)
	recs, err := Read(goodDB)
	if err != nil {
		t.Fatal(err)
	}
	if sum(t, goodDB) != before {
		t.Fatal("the Rust database changed")
	}
	ondisk, err := takeover.ReadOnDisk(filepath.Join(fixtures, "ondisk/mappings"), wire.AuthUnixPeerCredentials)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(ondisk) || len(recs) != 14 {
		t.Fatalf("%d SQLite records, %d OnDisk; want 14", len(recs), len(ondisk))
	}
	for i, r := range recs {
		o := ondisk[i]
		if r.Err != nil {
			t.Fatalf("%v: %v", r, r.Err)
		}
		if r.Owner != o.Owner || r.Name != o.Name || r.Provider != o.Provider || r.Attributes != o.Attributes {
			t.Errorf("SQLite %+v\nOnDisk %+v", r, o)
		}
		if len(r.KeyID) != len(o.KeyID) {
			t.Errorf("%v: key id of %d bytes, OnDisk %d", r, len(r.KeyID), len(o.KeyID))
		}
		want := r.Provider.Desc().DefaultName
		if r.ProviderName != want {
			t.Errorf("%v: provider name %q, want %q", r, r.ProviderName, want)
		}
		if r.Owner == kim.InternalOwner && (r.Name != "RootKeyTPM" || !bytes.Equal(r.KeyID[:8], []byte{34, 0, 0, 0, 0, 0, 0, 0})) {
			t.Errorf("internal record %+v", r)
		}
	}
}

func TestReadRefused(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"truncated", ""},
		{"garbage", ""},
		{"schema-v2", "schema_version 2"},
		{"keyid-v2", "key_id_version 2"},
		{"attrs-v2", "key_attributes_version 2"},
		{"one-table", "only one of the tables"},
	} {
		p := filepath.Join(fixtures, "corrupt", c.file+".sqlite3")
		before := sum(t, p)
		recs, err := Read(p)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %d records, err %v; want refusal with %q", c.file, len(recs), err, c.want)
		}
		if sum(t, p) != before {
			t.Errorf("%s changed", c.file)
		}
	}
	recs, err := Read(filepath.Join(fixtures, "corrupt/no-tables.sqlite3"))
	if err != nil || len(recs) != 0 {
		t.Errorf("no tables: %d records, %v; want an empty store as Rust sees it", len(recs), err)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing.sqlite3")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestReadBadRows(t *testing.T) {
	recs, err := Read(filepath.Join(fixtures, "corrupt/bad-rows.sqlite3"))
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]bool{}
	for _, r := range recs {
		if r.Err != nil {
			bad[r.Name] = true
		}
	}
	// The key id blobs are checked when used (by provider), not here.
	for _, n := range []string{"mbed-ecc-0", "mbed-rsa-enc-0"} {
		if !bad[n] {
			t.Errorf("%s not reported", n)
		}
	}
	if len(recs) != 14 || len(bad) != 2 {
		t.Errorf("%d records, %d bad (%v)", len(recs), len(bad), bad)
	}
}
