package statedir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckDirsAndFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "00000001.key")
	if err := os.WriteFile(p, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckDirs(dir); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := CheckFile(f); err != nil {
		t.Fatal(err)
	}
	// A file others may write is refused when opened.
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := CheckFile(f); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("group/other-writable file: %v", err)
	}
	// The directory itself is still checked.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := CheckDirs(dir); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("writable store directory: %v", err)
	}
}
