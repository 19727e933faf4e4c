// Package statedir decides whether a directory may hold the service's
// state (key mappings, key material). Whoever can write a state directory,
// or a parent of it, can plant a mapping and then use or export another
// client's key; so, as sshd's StrictModes does, every directory on the path
// must belong to root or to the service's user and must not be writable
// by group or other (a parent may be if it is sticky, like /tmp: there
// nobody can rename or remove what the service created).
package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrUnsafe is wrapped by every refusal of Check, so callers can tell an
// unsafe directory from an I/O error.
var ErrUnsafe = errors.New("unsafe state directory")

// maxLinks bounds symlink resolution on the path, as the kernel does.
const maxLinks = 40

// Check verifies the state directory dir, which need not exist yet (the
// caller then creates it, owned by the service), and everything above and
// below it:
//   - each existing directory from / down to dir is owned by root or by
//     the effective user, and is not writable by group or other, except
//     that a parent (not dir itself) may be if its sticky bit is set;
//   - symlinks on the way to dir are followed and their targets checked
//     the same way (a symlink's parent is checked, so nobody else can
//     swap it);
//   - nothing inside dir is a symlink or a special file, and each entry is
//     owned by root or the effective user and not writable by group or
//     other, so the stores never follow a link someone planted.
//
// The error names the offending path and the command that fixes it.
func Check(dir string) error {
	c, real, exists, err := checkPath(dir)
	if err != nil || !exists {
		return err
	}
	if err := c.tree(real); err != nil {
		return fmt.Errorf("state directory %s: %w", dir, err)
	}
	return nil
}

// checkPath checks the path from / down to dir (Check's first two rules)
// and returns dir's resolved path and whether it exists, for Check and
// CheckDirs.
func checkPath(dir string) (c *checker, real string, exists bool, err error) {
	if dir == "" {
		return nil, "", false, fmt.Errorf("%w: empty path", ErrUnsafe)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, "", false, fmt.Errorf("state directory %s: %w", dir, err)
	}
	if abs == "/" {
		return nil, "", false, fmt.Errorf("%w: / cannot be a state directory", ErrUnsafe)
	}
	c = &checker{euid: os.Geteuid()}
	real, exists, err = c.resolve(abs, true)
	if err != nil {
		return nil, "", false, fmt.Errorf("state directory %s: %w", dir, err)
	}
	return c, real, exists, nil
}

type checker struct {
	euid  int
	links int
}

// resolve walks abs from the root, checking each existing directory, and
// returns the path with symlinks resolved. exists is false when a
// component is missing (the rest will be created by the service). last
// says whether abs is the state directory itself rather than the target
// of a symlink on the way to it.
func (c *checker) resolve(abs string, last bool) (string, bool, error) {
	cur := "/"
	if err := c.checkStat(cur, false); err != nil {
		return "", false, err
	}
	parts := strings.Split(strings.TrimPrefix(filepath.Clean(abs), "/"), "/")
	for i, name := range parts {
		if name == "" {
			continue
		}
		isDir := last && i == len(parts)-1
		next := filepath.Join(cur, name)
		fi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			c.links++
			if c.links > maxLinks {
				return "", false, fmt.Errorf("%w: too many symlinks at %s", ErrUnsafe, next)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", false, err
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(cur, target)
			}
			// The target is checked as a parent would be, then as the
			// state directory itself if it is the last component.
			real, ok, err := c.resolve(target, false)
			if err != nil || !ok {
				return "", ok, err
			}
			if isDir {
				if err := c.checkStat(real, true); err != nil {
					return "", false, err
				}
			}
			cur = real
			continue
		}
		if !fi.IsDir() {
			return "", false, fmt.Errorf("%w: %s is not a directory", ErrUnsafe, next)
		}
		if err := c.check(next, fi, isDir); err != nil {
			return "", false, err
		}
		cur = next
	}
	return cur, true, nil
}

func (c *checker) checkStat(path string, isDir bool) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	return c.check(path, fi, isDir)
}

// check applies the owner and mode rules to one directory or file. inside
// is true for the state directory and what it holds, where a sticky bit
// does not help: anyone allowed to create an entry can plant a mapping.
func (c *checker) check(path string, fi fs.FileInfo, inside bool) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%w: cannot read the owner of %s", ErrUnsafe, path)
	}
	if uid := int(st.Uid); uid != 0 && uid != c.euid {
		fix := "root"
		if inside {
			fix = loginName(c.euid)
		}
		return fmt.Errorf("%w: %s is owned by %s, not by root or the service's user %s; fix: chown %s %s",
			ErrUnsafe, path, userName(uid), userName(c.euid), fix, path)
	}
	perm := fi.Mode().Perm()
	if perm&0o022 == 0 {
		return nil
	}
	if !inside && fi.IsDir() && fi.Mode()&fs.ModeSticky != 0 {
		return nil
	}
	who := "group and other"
	switch perm & 0o022 {
	case 0o020:
		who = "group"
	case 0o002:
		who = "other"
	}
	return fmt.Errorf("%w: %s is writable by %s (mode %04o); fix: chmod go-w %s",
		ErrUnsafe, path, who, modeBits(fi.Mode()), path)
}

// tree checks everything below the state directory without following
// symlinks (WalkDir uses lstat).
func (c *checker) tree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%w: %s is a symlink; the service never follows links inside its stores; fix: rm %s", ErrUnsafe, p, p)
		}
		if !d.Type().IsRegular() && !d.IsDir() {
			return fmt.Errorf("%w: %s is not a regular file or directory; fix: rm %s", ErrUnsafe, p, p)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return c.check(p, fi, true)
	})
}

// modeBits is the octal mode as chmod takes it, sticky bit included.
func modeBits(m fs.FileMode) uint32 {
	b := uint32(m.Perm())
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}

// userName names uid for messages: "parsec (uid 999)", or just the uid
// when it has no passwd entry.
func userName(uid int) string {
	if n := loginName(uid); n != strconv.Itoa(uid) {
		return fmt.Sprintf("%s (uid %d)", n, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

// loginName is what chown takes: the user's name, else the number.
func loginName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}
