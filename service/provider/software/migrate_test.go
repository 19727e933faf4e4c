package software

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// copyTree copies the regular files under src into dst, private.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestV1StoreFixture: a store of key files written by the previous main
// (testdata/v1-store) keeps working on the log store: its keys sign as
// before, an orphaned key file is still removed, new keys go to the log,
// and destroying an old key removes its file.
func TestV1StoreFixture(t *testing.T) {
	e := &env{t: t, root: t.TempDir()}
	copyTree(t, filepath.Join("testdata", "v1-store"), e.root)
	expect := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(e.root, "expect", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Material no mapping references: what a crash between the steps of a
	// creation left in a v1 store.
	orphan := filepath.Join(e.storeDir(), "00000009.key")
	if err := os.WriteFile(orphan, expect("alice-aes.key"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("orphaned key file kept: %v", err)
	}
	d := sum256([]byte("fixture"))
	check := func() {
		t.Helper()
		if got := e.sign(alice, "ecc", psa.DeterministicECDSA(psa.AlgSHA256), d); !bytes.Equal(got, expect("alice-ecc.sig")) {
			t.Error("alice's deterministic ECDSA signature changed")
		}
		if got := e.exportPublic(alice, "ecc"); !bytes.Equal(got, expect("alice-ecc.pub")) {
			t.Error("alice's ECC public key changed")
		}
		if got := e.sign(alice, "rsa", psa.RSAPKCS1v15Sign(psa.AlgSHA256), d); !bytes.Equal(got, expect("alice-rsa.sig")) {
			t.Error("alice's RSA PKCS#1 v1.5 signature changed")
		}
		if got := e.exportPublic(bob, "ecc"); !bytes.Equal(got, expect("bob-ecc.pub")) {
			t.Error("bob's P-384 public key changed")
		}
		e.expect(wire.StatusPsaErrorDoesNotExist, bob, &pb.ExportPublicKeyRequest{KeyName: "gone"})
	}
	check()
	if got := e.export(alice, "aes"); !bytes.Equal(got, expect("alice-aes.key")) {
		t.Error("alice's AES key changed")
	}
	// New keys go to the log, above every id the store held.
	e.generate(alice, "new", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	e.must(alice, &pb.DestroyKeyRequest{KeyName: "aes"})
	want := "[00000001.key 00000002.key 00000005.key 0000000a]" // 9 was the orphan
	if got := fmt.Sprint(e.material()); got != want {
		t.Errorf("store holds %s, want %s", got, want)
	}
	e.reopen()
	check()
	e.sign(alice, "new", psa.ECDSA(psa.AlgSHA256), d)
	e.expect(wire.StatusPsaErrorDoesNotExist, alice, &pb.ExportKeyRequest{KeyName: "aes"})
	if got := fmt.Sprint(e.material()); got != want {
		t.Errorf("after a restart the store holds %s, want %s", got, want)
	}
}
