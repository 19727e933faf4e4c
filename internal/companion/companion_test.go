package companion

import (
	"os"
	"path/filepath"
	"testing"
)

func TestIsExecutable(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		mode os.FileMode
		want bool
	}{
		{"prog", 0o755, true},
		{"owner-only", 0o700, true},
		{"data", 0o644, false},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), tc.mode); err != nil {
			t.Fatal(err)
		}
		if got := IsExecutable(p); got != tc.want {
			t.Errorf("IsExecutable(%s, mode %v) = %v, want %v", tc.name, tc.mode, got, tc.want)
		}
	}
	sub := filepath.Join(dir, "subdir")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if IsExecutable(sub) {
		t.Error("a directory counts as executable")
	}
	if IsExecutable(filepath.Join(dir, "missing")) {
		t.Error("a missing file counts as executable")
	}
}

func TestBeside(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Skip("no executable path:", err)
	}
	// The test binary itself stands beside itself.
	p, ok := Beside(filepath.Base(self))
	if !ok || p != self {
		t.Errorf("Beside(own name) = %q, %v; want %q, true", p, ok, self)
	}
	p, ok = Beside("no-such-companion-program")
	if ok || p != filepath.Join(filepath.Dir(self), "no-such-companion-program") {
		t.Errorf("Beside(missing) = %q, %v; want the candidate path and false", p, ok)
	}
}
