package kim

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/parsec-go/parsec/internal/syncbuf"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
)

func testEntry(id byte) Entry {
	return Entry{
		Provider: wire.ProviderMbedCrypto, ProviderName: "mbed-crypto-provider", KeyID: []byte{id, 0, 0, 0},
		Attributes: psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: psa.UsageSignHash, Alg: psa.ECDSA(psa.AlgSHA256)},
	}
}

func TestOnDiskPersistsAndIsolates(t *testing.T) {
	dir := t.TempDir()
	m, err := OpenOnDisk(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice := Owner{AuthType: wire.AuthUnixPeerCredentials, App: "1000"}
	bob := Owner{AuthType: wire.AuthUnixPeerCredentials, App: "1001"}
	direct := Owner{AuthType: wire.AuthDirect, App: "1000"}
	long := strings.Repeat("k/", 200)
	for _, n := range []string{"a", "b", "with/slash:and=", long, ""} {
		if err := m.Insert(alice, n, testEntry(1)); err != nil {
			t.Fatalf("insert %q: %v", n, err)
		}
	}
	if err := m.Insert(bob, "a", testEntry(2)); err != nil {
		t.Fatal(err)
	}
	if err := m.Insert(direct, "a", testEntry(3)); err != nil {
		t.Fatal("same name under another auth type must be allowed:", err)
	}
	if err := m.Insert(alice, "a", testEntry(9)); !errors.Is(err, wire.StatusPsaErrorAlreadyExists) {
		t.Fatalf("duplicate insert: got %v", err)
	}
	if err := m.Remove(alice, "b"); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(alice, "b"); !errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
		t.Fatalf("second remove: got %v", err)
	}
	e := testEntry(7)
	e.Attributes.Alg = psa.ECDSA(psa.AlgSHA384)
	if err := m.Replace(bob, "a", e); err != nil {
		t.Fatal(err)
	}

	// A fresh manager on the same directory sees exactly the same state.
	m2, err := OpenOnDisk(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := m2.List(alice)
	var names []string
	for _, k := range got {
		names = append(names, k.Name)
	}
	if strings.Join(names, ",") != strings.Join([]string{"", "a", long, "with/slash:and="}, ",") {
		t.Fatalf("alice's keys after reload: %q", names)
	}
	b, err := m2.Get(bob, "a")
	if err != nil || b.KeyID[0] != 7 || b.Attributes.Alg != psa.ECDSA(psa.AlgSHA384) {
		t.Fatalf("bob's replaced key after reload: %+v %v", b, err)
	}
	if d, err := m2.Get(direct, "a"); err != nil || d.KeyID[0] != 3 {
		t.Fatalf("direct key: %+v %v", d, err)
	}
	if _, err := m2.Get(bob, "b"); !errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
		t.Fatalf("bob sees alice's key: %v", err)
	}
	all, _ := m2.All()
	if len(all) != 6 {
		t.Fatalf("All returned %d keys, want 6", len(all))
	}
}

func TestOnDiskFileModesAndNoTempLeft(t *testing.T) {
	dir := t.TempDir()
	m, _ := OpenOnDisk(dir, nil)
	o := Owner{AuthType: wire.AuthDirect, App: "app"}
	if err := m.Insert(o, "k", testEntry(1)); err != nil {
		t.Fatal(err)
	}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(fi.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", p)
		}
		if fi.IsDir() && fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: dir mode %v", p, fi.Mode().Perm())
		}
		if !fi.IsDir() && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: file mode %v", p, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOnDiskTornTailIsDroppedAndKeptAside(t *testing.T) {
	dir := t.TempDir()
	m, _ := OpenOnDisk(dir, nil)
	o := Owner{AuthType: wire.AuthDirect, App: "app"}
	m.Insert(o, "good", testEntry(1))
	m.Insert(o, "torn", testEntry(2))
	m.Close()
	p := filepath.Join(dir, logName)
	b, _ := os.ReadFile(p)
	// Past the records: zeros written ahead.
	end, _, _ := replay(b, func(opKind, Owner, string, Entry) {})
	b = b[:end]
	// A crash in the middle of the last append: half its record on disk.
	if err := os.WriteFile(p, b[:len(b)-5], 0o600); err != nil {
		t.Fatal(err)
	}
	m2, err := OpenOnDisk(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Get(o, "good"); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Get(o, "torn"); !errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
		t.Fatalf("torn entry: %v", err)
	}
	side, _ := filepath.Glob(p + ".damaged-*")
	if len(side) != 1 {
		t.Fatalf("damaged tail kept in %v, want one file", side)
	}
	// Appends continue after the last whole record.
	if err := m2.Insert(o, "after", testEntry(3)); err != nil {
		t.Fatal(err)
	}
	m2.Close()
	m3, _ := OpenOnDisk(dir, nil)
	if keys, _ := m3.List(o); len(keys) != 2 {
		t.Fatalf("after reopen: %v", keys)
	}
}

func TestOnDiskFullDiskIsInsufficientStorage(t *testing.T) {
	dir := t.TempDir()
	var logged syncbuf.Buffer
	m, err := Open(dir, Options{Log: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	o := Owner{AuthType: wire.AuthDirect, App: "x"}
	m.Insert(o, "before", testEntry(1))
	m.w.Fdatasync = func(int) error { return syscall.ENOSPC }
	err = m.Insert(o, "k", testEntry(2))
	if !errors.Is(err, wire.StatusPsaErrorInsufficientStorage) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(logged.String(), "level=ERROR") || !strings.Contains(logged.String(), filepath.Join(dir, logName)) {
		t.Fatalf("storage failure not logged at error level with the path: %s", logged.String())
	}
	if _, err := m.Get(o, "k"); err == nil {
		t.Fatal("failed insert must not be visible")
	}
	m.w.Fdatasync = func(int) error { return syscall.EIO }
	if err := m.Remove(o, "before"); !errors.Is(err, wire.StatusKeyInfoManagerError) {
		t.Fatalf("I/O error: got %v", err)
	}
	m.w.Fdatasync = unix.Fdatasync
	m.Close()
	// Nothing a client was told failed comes back.
	m2, _ := OpenOnDisk(dir, nil)
	keys, _ := m2.List(o)
	if len(keys) != 1 || keys[0].Name != "before" {
		t.Fatalf("after reopen: %v", keys)
	}
}

func TestGetForOtherProviderIsDoesNotExist(t *testing.T) {
	m, _ := OpenOnDisk(t.TempDir(), nil)
	o := Owner{AuthType: wire.AuthDirect, App: "app"}
	if err := m.Insert(o, "k", testEntry(1)); err != nil {
		t.Fatal(err)
	}
	if e, err := GetFor(m, o, "k", "mbed-crypto-provider"); err != nil || e.KeyID[0] != 1 {
		t.Fatalf("own provider: %+v %v", e, err)
	}
	if _, err := GetFor(m, o, "k", "tpm-provider"); !errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
		t.Fatalf("other provider: %v", err)
	}
	if _, err := GetFor(m, o, "missing", "mbed-crypto-provider"); !errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
		t.Fatalf("missing key: %v", err)
	}
}
