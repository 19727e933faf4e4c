// Package companion finds the helper programs the daemon starts
// (parsec-takeover, the parsec-pkcs11 co-server). Packages install them
// beside the daemon's own executable, so that is where they are looked
// for first: a daemon and a helper from different builds must not pair up
// through PATH when the matching one is installed with it.
package companion

import (
	"os"
	"path/filepath"
)

// Beside returns the path name would have in the directory of the running
// executable, and whether a program is there (see IsExecutable). The path
// is "" when the running executable cannot be found.
func Beside(name string) (string, bool) {
	self, err := os.Executable()
	if err != nil {
		return "", false
	}
	p := filepath.Join(filepath.Dir(self), name)
	return p, IsExecutable(p)
}

// IsExecutable reports whether path is a regular file with an execute bit.
func IsExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
