package statedir

import (
	"fmt"
	"os"
)

// CheckDirs is Check for a flat store that holds one file per key: the
// path to dir and dir itself are checked as Check does, but not what dir
// holds; the store checks each file with CheckFile when it opens it. Walking 100,000 key files at every start
// would cost an lstat each (most of the start-up time at that size).
func CheckDirs(dir string) error {
	_, _, _, err := checkPath(dir)
	return err
}

// CheckFile applies Check's rules for what a state directory holds to a
// file the store opened (with O_NOFOLLOW, so it is no symlink): it must be
// a regular file owned by root or the service's user and not writable by
// group or other.
func CheckFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file; fix: rm %s", ErrUnsafe, f.Name(), f.Name())
	}
	c := &checker{euid: os.Geteuid()}
	return c.check(f.Name(), fi, true)
}
