// Package durable writes and removes files so that a crash (power loss
// included) leaves either the old state or the new one: data is fsynced
// before it is named, and the directory is fsynced after its entries
// change. The key info manager, the software provider's key store and the
// emulated secure world's object store all keep their state this way.
package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// TempFile writes data to a new file in dir with mode perm and fsyncs it,
// returning its path. The caller names it (rename or link) and removes the
// temporary name; the file is not in any durable directory state until
// SyncDir(dir) follows.
func TempFile(dir string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// WriteFile replaces path with data: after a crash the file holds either
// its old content or data (temp file in the same directory, fsync, rename
// over path, fsync the directory).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := TempFile(dir, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}

// Remove deletes path and fsyncs its directory; a file already gone is
// not an error.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir fsyncs dir, making its entries (new, renamed, removed) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
