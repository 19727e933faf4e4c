package kim

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

func TestOnDiskSkipsDamagedFilesWithoutLosingOthers(t *testing.T) {
	dir := t.TempDir()
	m, _ := OpenOnDisk(dir, nil)
	o := Owner{AuthType: wire.AuthDirect, App: "app"}
	m.Insert(o, "good", testEntry(1))
	m.Insert(o, "bad", testEntry(2))
	bad := filepath.Join(m.ownerDir(o), fileName("bad"))
	if err := os.WriteFile(bad, []byte("{half a rec"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A leftover temp file from a crash mid-write is ignored.
	os.WriteFile(filepath.Join(m.ownerDir(o), ".tmp-123"), []byte("x"), 0o600)
	m2, err := OpenOnDisk(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Get(o, "good"); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Get(o, "bad"); !errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
		t.Fatalf("damaged entry: %v", err)
	}
	if _, err := os.Stat(bad); err != nil {
		t.Fatal("damaged file must be left for the operator:", err)
	}
}

func TestOnDiskWriteFailureIsKIMError(t *testing.T) {
	dir := t.TempDir()
	m, _ := OpenOnDisk(dir, nil)
	// A file where the auth-type directory belongs makes every write fail,
	// even for root.
	if err := os.WriteFile(filepath.Join(dir, "1"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := m.Insert(Owner{AuthType: wire.AuthDirect, App: "x"}, "k", testEntry(1))
	if !errors.Is(err, wire.StatusKeyInfoManagerError) {
		t.Fatalf("got %v", err)
	}
	if _, err := m.Get(Owner{AuthType: wire.AuthDirect, App: "x"}, "k"); err == nil {
		t.Fatal("failed insert must not be visible")
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
