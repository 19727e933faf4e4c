package statedir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// nobody is the owner of "another user's" directories in these tests.
const nobody = 65534

func TestCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give directories to another user")
	}
	// Each case builds a tree under base (a fresh 0700 directory in a
	// sticky /tmp) and returns the state directory to check.
	tests := []struct {
		name string
		prep func(t *testing.T, base string) string
		// want is "" for success, else text the error must contain.
		want []string
	}{
		{"missing dir", func(t *testing.T, b string) string { return filepath.Join(b, "a", "state") }, nil},
		{"own 0700 dir", func(t *testing.T, b string) string { return mkdir(t, b, "state", 0o700) }, nil},
		{"root-owned 0755 parents", func(t *testing.T, b string) string {
			p := mkdir(t, b, "lib", 0o755)
			return mkdir(t, p, "parsec", 0o700)
		}, nil},
		{"sticky world-writable parent", func(t *testing.T, b string) string {
			p := mkdir(t, b, "tmp", 0o1777)
			return mkdir(t, p, "parsec", 0o700)
		}, nil},
		{"dir owned by another user", func(t *testing.T, b string) string {
			d := mkdir(t, b, "state", 0o700)
			chown(t, d, nobody)
			return d
		}, []string{"/state is owned by ", "uid 65534)", "chown root"}},
		{"parent owned by another user", func(t *testing.T, b string) string {
			p := mkdir(t, b, "lib", 0o755)
			chown(t, p, nobody)
			return mkdir(t, p, "state", 0o700)
		}, []string{"/lib is owned by ", "uid 65534)", "chown root /"}},
		{"missing dir under another user's parent", func(t *testing.T, b string) string {
			p := mkdir(t, b, "lib", 0o755)
			chown(t, p, nobody)
			return filepath.Join(p, "state")
		}, []string{"/lib is owned by ", "uid 65534)"}},
		{"group-writable parent", func(t *testing.T, b string) string {
			p := mkdir(t, b, "lib", 0o775)
			return mkdir(t, p, "state", 0o700)
		}, []string{"/lib is writable by group (mode 0775)", "chmod go-w /"}},
		{"other-writable parent", func(t *testing.T, b string) string {
			p := mkdir(t, b, "lib", 0o757)
			return mkdir(t, p, "state", 0o700)
		}, []string{"/lib is writable by other (mode 0757)"}},
		{"sticky parent of another user", func(t *testing.T, b string) string {
			p := mkdir(t, b, "tmp", 0o1777)
			chown(t, p, nobody)
			return mkdir(t, p, "state", 0o700)
		}, []string{"/tmp is owned by ", "uid 65534)"}},
		{"sticky state dir itself", func(t *testing.T, b string) string {
			return mkdir(t, b, "state", 0o1777)
		}, []string{"/state is writable by group and other (mode 1777)"}},
		{"group-writable state dir", func(t *testing.T, b string) string {
			return mkdir(t, b, "state", 0o770)
		}, []string{"/state is writable by group"}},
		{"not a directory", func(t *testing.T, b string) string {
			p := filepath.Join(b, "file")
			write(t, p, 0o600)
			return p
		}, []string{"/file is not a directory"}},
		{"symlink to a safe dir", func(t *testing.T, b string) string {
			mkdir(t, b, "real", 0o700)
			link := filepath.Join(b, "link")
			symlink(t, "real", link)
			return link
		}, nil},
		{"symlink to a dir under a group-writable parent", func(t *testing.T, b string) string {
			p := mkdir(t, b, "shared", 0o775)
			mkdir(t, p, "real", 0o700)
			link := filepath.Join(b, "link")
			symlink(t, filepath.Join(p, "real"), link)
			return link
		}, []string{"/shared is writable by group"}},
		{"symlink to another user's dir", func(t *testing.T, b string) string {
			d := mkdir(t, b, "real", 0o700)
			chown(t, d, nobody)
			link := filepath.Join(b, "link")
			symlink(t, d, link)
			return link
		}, []string{"/real is owned by ", "uid 65534)"}},
		{"symlinked parent to a sticky dir", func(t *testing.T, b string) string {
			p := mkdir(t, b, "tmp", 0o1777)
			symlink(t, p, filepath.Join(b, "var"))
			mkdir(t, p, "state", 0o700)
			return filepath.Join(b, "var", "state")
		}, nil},
		{"symlink loop", func(t *testing.T, b string) string {
			symlink(t, "b", filepath.Join(b, "a"))
			symlink(t, "a", filepath.Join(b, "b"))
			return filepath.Join(b, "a", "state")
		}, []string{"too many symlinks"}},
		{"symlink inside the store", func(t *testing.T, b string) string {
			d := mkdir(t, b, "state", 0o700)
			sub := mkdir(t, d, "1", 0o700)
			symlink(t, "/etc/passwd", filepath.Join(sub, "key"))
			return d
		}, []string{"/state/1/key is a symlink", "rm "}},
		{"symlinked subdirectory inside the store", func(t *testing.T, b string) string {
			d := mkdir(t, b, "state", 0o700)
			other := mkdir(t, b, "other", 0o700)
			symlink(t, other, filepath.Join(d, "1"))
			return d
		}, []string{"/state/1 is a symlink"}},
		{"file of another user inside the store", func(t *testing.T, b string) string {
			d := mkdir(t, b, "state", 0o700)
			f := filepath.Join(d, "00000001.key")
			write(t, f, 0o600)
			chown(t, f, nobody)
			return d
		}, []string{"/state/00000001.key is owned by ", "uid 65534)"}},
		{"world-writable file inside the store", func(t *testing.T, b string) string {
			d := mkdir(t, b, "state", 0o700)
			write(t, filepath.Join(d, "m"), 0o666)
			return d
		}, []string{"/state/m is writable by group and other (mode 0666)"}},
		{"group-writable subdirectory inside the store", func(t *testing.T, b string) string {
			d := mkdir(t, b, "state", 0o700)
			mkdir(t, d, "1", 0o1770)
			return d
		}, []string{"/state/1 is writable by group"}},
		{"fifo inside the store", func(t *testing.T, b string) string {
			d := mkdir(t, b, "state", 0o700)
			if err := syscall.Mkfifo(filepath.Join(d, "f"), 0o600); err != nil {
				t.Fatal(err)
			}
			return d
		}, []string{"/state/f is not a regular file or directory"}},
		{"safe files inside the store", func(t *testing.T, b string) string {
			d := mkdir(t, b, "state", 0o700)
			sub := mkdir(t, d, "1", 0o755)
			write(t, filepath.Join(sub, "key"), 0o644)
			return d
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			dir := tc.prep(t, base)
			err := Check(dir)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want nil", dir, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check(%s) = nil, want an error containing %q", dir, tc.want)
			}
			if !errors.Is(err, ErrUnsafe) {
				t.Errorf("error %v does not wrap ErrUnsafe", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestCheckRejectsRoot(t *testing.T) {
	if err := Check("/"); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("Check(/) = %v, want ErrUnsafe", err)
	}
	if err := Check(""); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("Check(\"\") = %v, want ErrUnsafe", err)
	}
}

func mkdir(t *testing.T, parent, name string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(parent, name)
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	// Chmod, because Mkdir applies the umask; 0o1000 in the table is
	// chmod's sticky bit, which FileMode spells differently.
	if mode&0o1000 != 0 {
		mode = mode&0o777 | os.ModeSticky
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func write(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, p string, uid int) {
	t.Helper()
	if err := os.Lchown(p, uid, -1); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
