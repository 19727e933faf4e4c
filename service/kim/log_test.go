package kim

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
)

// copyFixture copies testdata/v1-store to a fresh directory.
func copyFixture(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mappings")
	if out, err := exec.Command("cp", "-a", "testdata/v1-store", dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	return dir
}

// fixtureKeys is what testdata/v1-store holds (see testdata/README.md).
func fixtureKeys() []Key {
	alice := Owner{AuthType: wire.AuthUnixPeerCredentials, App: "1000"}
	bob := Owner{AuthType: wire.AuthUnixPeerCredentials, App: "1001"}
	direct := Owner{AuthType: wire.AuthDirect, App: "client ünïcode"}
	tpm := Entry{Provider: wire.ProviderTpm, ProviderName: "tpm-provider", KeyID: append([]byte("PGTK"), make([]byte, 40)...),
		Attributes: psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: psa.UsageSignHash, Alg: psa.ECDSA(psa.AlgSHA256)}}
	replaced := testEntry(8)
	replaced.Attributes.Usage |= psa.UsageVerifyHash
	keys := []Key{
		{alice, "sign-key", testEntry(1)},
		{alice, "", testEntry(2)},
		{alice, "with/slash:and=", testEntry(3)},
		{alice, strings.Repeat("long-name/", 30), testEntry(4)},
		{bob, "sign-key", testEntry(6)},
		{direct, "rsa", Entry{Provider: wire.ProviderMbedCrypto, ProviderName: "mbed-crypto-provider", KeyID: []byte{7, 0, 0, 0},
			Attributes: psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: psa.UsageSignHash | psa.UsageExport, Alg: psa.RSAPKCS1v15Sign(psa.AlgSHA256)}}},
		{bob, "tpm-key", tpm},
		{InternalOwner, "RootKeyTPM", tpm},
		{bob, "replaced", replaced},
	}
	sortKeys(keys)
	return keys
}

func checkAll(t *testing.T, m Manager, want []Key) {
	t.Helper()
	got, err := m.All()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("keys:\n got %+v\nwant %+v", got, want)
	}
}

func TestV1FixtureMigrates(t *testing.T) {
	dir := copyFixture(t)
	m, err := OpenOnDisk(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAll(t, m, fixtureKeys())
	m.Close()
	// The v1 files are gone (the log holds them), the log is all that is left.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 || ents[0].Name() != lockName || ents[1].Name() != logName {
		t.Fatalf("store after migration holds %v", ents)
	}
	m2, err := OpenOnDisk(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAll(t, m2, fixtureKeys())
}

func TestV1MigrationCrashBeforeLogIsNamed(t *testing.T) {
	// A crash while the log was being written leaves its temp file and
	// the v1 files untouched: the next start migrates again.
	dir := copyFixture(t)
	if err := os.WriteFile(filepath.Join(dir, logTemp), []byte("PGOKIMLG half"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := OpenOnDisk(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAll(t, m, fixtureKeys())
	if _, err := os.Stat(filepath.Join(dir, logTemp)); err == nil {
		t.Fatal("temp log left behind")
	}
}

func TestV1MigrationCrashWhileRemovingV1Files(t *testing.T) {
	// A crash after the log was named but before every v1 file was
	// removed: the leftovers must not bring back a key deleted since.
	dir := copyFixture(t)
	saved := t.TempDir()
	if out, err := exec.Command("cp", "-a", dir+"/.", saved).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	m, err := OpenOnDisk(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice := Owner{AuthType: wire.AuthUnixPeerCredentials, App: "1000"}
	if err := m.Remove(alice, "sign-key"); err != nil {
		t.Fatal(err)
	}
	m.Close()
	// Put the v1 files back as if their removal had never happened.
	if out, err := exec.Command("cp", "-a", saved+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	m2, err := OpenOnDisk(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []Key
	for _, k := range fixtureKeys() {
		if k.Owner != alice || k.Name != "sign-key" {
			want = append(want, k)
		}
	}
	checkAll(t, m2, want)
	if _, err := os.Stat(filepath.Join(dir, "3")); err == nil {
		t.Fatal("v1 leftovers not removed")
	}
}

func TestV1UnreadableFileIsKept(t *testing.T) {
	dir := copyFixture(t)
	bad := filepath.Join(dir, "3", "MTAwMA==", fileName("damaged"))
	if err := os.WriteFile(bad, []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := OpenOnDisk(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkAll(t, m, fixtureKeys())
	if _, err := os.Stat(bad); err != nil {
		t.Fatal("an unreadable v1 file must be left for the operator:", err)
	}
}

func TestNameBoundsAndLongDirectApps(t *testing.T) {
	m, _ := OpenOnDisk(t.TempDir(), nil)
	o := Owner{AuthType: wire.AuthDirect, App: "app"}
	if err := m.Insert(o, strings.Repeat("n", MaxKeyNameLen), testEntry(1)); err != nil {
		t.Fatal("name at the limit:", err)
	}
	if err := m.Insert(o, strings.Repeat("n", MaxKeyNameLen+1), testEntry(1)); !errors.Is(err, wire.StatusPsaErrorInvalidArgument) {
		t.Fatalf("name over the limit: %v", err)
	}
	// Direct application names of 200 bytes and more (issue 15, item 4).
	for _, n := range []int{200, 255, 1000, MaxAppNameLen} {
		long := Owner{AuthType: wire.AuthDirect, App: strings.Repeat("a", n)}
		if err := m.Insert(long, "k", testEntry(2)); err != nil {
			t.Fatalf("app name of %d bytes: %v", n, err)
		}
	}
	long := Owner{AuthType: wire.AuthDirect, App: strings.Repeat("a", MaxAppNameLen+1)}
	if err := m.Insert(long, "k", testEntry(2)); !errors.Is(err, wire.StatusPsaErrorInvalidArgument) {
		t.Fatalf("app name over the limit: %v", err)
	}
}

func TestQuotaPerClient(t *testing.T) {
	dir := t.TempDir()
	m, _ := Open(dir, Options{MaxKeysPerClient: 3})
	alice := Owner{AuthType: wire.AuthUnixPeerCredentials, App: "1000"}
	bob := Owner{AuthType: wire.AuthUnixPeerCredentials, App: "1001"}
	for i := 0; i < 3; i++ {
		if err := m.Insert(alice, fmt.Sprint(i), testEntry(1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Insert(alice, "3", testEntry(1)); !errors.Is(err, wire.StatusPsaErrorInsufficientStorage) {
		t.Fatalf("over quota: %v", err)
	}
	if err := m.Insert(bob, "0", testEntry(1)); err != nil {
		t.Fatal("the quota is per client:", err)
	}
	if err := m.Insert(InternalOwner, "RootKeyTPM", testEntry(1)); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(alice, "0"); err != nil {
		t.Fatal(err)
	}
	if err := m.Insert(alice, "3", testEntry(1)); err != nil {
		t.Fatal("a freed slot can be used again:", err)
	}
	m.SetQuota(0)
	if err := m.Insert(alice, "4", testEntry(1)); err != nil {
		t.Fatal("no quota:", err)
	}
}

// TestConcurrentMutationsGroupCommit runs many writers at once: every
// acknowledged insert is there after a reopen, every acknowledged remove
// stays removed, and exactly one of two racing inserts of a name wins.
func TestConcurrentMutationsGroupCommit(t *testing.T) {
	dir := t.TempDir()
	m, _ := Open(dir, Options{})
	const writers, each = 16, 50
	var wg sync.WaitGroup
	wins := make([]int, each)
	var mu sync.Mutex
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			o := Owner{AuthType: wire.AuthDirect, App: fmt.Sprint("app", w%4)}
			for i := 0; i < each; i++ {
				name := fmt.Sprintf("k%d-%d", w, i)
				if err := m.Insert(o, name, testEntry(byte(i))); err != nil {
					t.Error(err)
				}
				if i%2 == 0 {
					if err := m.Remove(o, name); err != nil {
						t.Error(err)
					}
				}
				if err := m.Insert(Owner{AuthType: wire.AuthDirect, App: "race"}, fmt.Sprint(i), testEntry(1)); err == nil {
					mu.Lock()
					wins[i]++
					mu.Unlock()
				} else if !errors.Is(err, wire.StatusPsaErrorAlreadyExists) {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	for i, n := range wins {
		if n != 1 {
			t.Fatalf("name %d inserted %d times", i, n)
		}
	}
	m.Close()
	m2, _ := Open(dir, Options{})
	all, _ := m2.All()
	if len(all) != writers*each/2+each {
		t.Fatalf("%d keys after reopen, want %d", len(all), writers*each/2+each)
	}
	for _, k := range all {
		if k.Owner.App != "race" && !strings.HasSuffix(k.Name, "1") && !strings.HasSuffix(k.Name, "3") &&
			!strings.HasSuffix(k.Name, "5") && !strings.HasSuffix(k.Name, "7") && !strings.HasSuffix(k.Name, "9") {
			t.Fatalf("removed key %v came back", k)
		}
	}
}

func TestCompactionKeepsLiveMappings(t *testing.T) {
	dir := t.TempDir()
	m, _ := Open(dir, Options{})
	o := Owner{AuthType: wire.AuthDirect, App: "app"}
	long := strings.Repeat("x", 900)
	// Enough churn to pass compactMin with garbage dominating.
	for i := 0; i < 400; i++ {
		name := fmt.Sprint(long, i)
		if err := m.Insert(o, name, testEntry(1)); err != nil {
			t.Fatal(err)
		}
		if i%10 != 0 {
			if err := m.Remove(o, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	m.Close()
	st, _ := os.Stat(filepath.Join(dir, logName))
	if st.Size() > compactMin+64<<10 {
		t.Fatalf("log of %d bytes was never compacted", st.Size())
	}
	m2, _ := Open(dir, Options{})
	keys, _ := m2.List(o)
	if len(keys) != 40 {
		t.Fatalf("%d keys after compaction, want 40", len(keys))
	}
}

func TestSecondProcessIsRefused(t *testing.T) {
	if os.Getenv("KIM_LOCK_CHILD") != "" {
		_, err := OpenOnDisk(os.Getenv("KIM_LOCK_CHILD"), nil)
		fmt.Print(err)
		os.Exit(0)
	}
	dir := t.TempDir()
	m, err := OpenOnDisk(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondProcessIsRefused$")
	cmd.Env = append(os.Environ(), "KIM_LOCK_CHILD="+dir)
	out, _ := cmd.Output()
	if !strings.Contains(string(out), "in use by another process") {
		t.Fatalf("second process opening the store: %q", out)
	}
}

func sortKeys(keys []Key) {
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Owner.AuthType != b.Owner.AuthType {
			return a.Owner.AuthType < b.Owner.AuthType
		}
		if a.Owner.App != b.Owner.App {
			return a.Owner.App < b.Owner.App
		}
		return a.Name < b.Name
	})
}

// A config reload gets the store it already has, with the new quota: two
// instances over one log would be two writers.
func TestStoresKeepOneInstancePerDirectory(t *testing.T) {
	var s Stores
	dir := t.TempDir()
	a, err := s.Open(dir, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Open(dir+"/.", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("a second Open of the same directory made a second instance")
	}
	o := Owner{AuthType: wire.AuthDirect, App: "app"}
	for i := 0; i < 3; i++ {
		if err := a.Insert(o, fmt.Sprint(i), testEntry(1)); err != nil {
			t.Fatal("the reload's quota (none) must apply:", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Insert(o, "after", testEntry(1)); !errors.Is(err, wire.StatusKeyInfoManagerError) {
		t.Fatalf("insert after Close: %v", err)
	}
}
