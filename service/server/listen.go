package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/parsec-go/parsec/service/config"
	"github.com/parsec-go/parsec/service/systemd"
)

// defaultSocketMode is Parsec's: every local user may connect, and the
// authenticator decides what they may do. Deployments that want a group
// boundary set listener.socket_mode or restrict the directory.
const defaultSocketMode = 0o666

// listen returns the service socket: the one systemd passed, or a new one
// at the configured path. created reports whether we own the file.
func listen(l config.Listener) (ln *net.UnixListener, created bool, err error) {
	files, err := systemd.ListenFDs()
	if err != nil {
		return nil, false, err
	}
	switch len(files) {
	case 0:
	case 1:
		fl, err := net.FileListener(files[0])
		files[0].Close()
		if err != nil {
			return nil, false, fmt.Errorf("socket from systemd: %w", err)
		}
		ul, ok := fl.(*net.UnixListener)
		if !ok {
			fl.Close()
			return nil, false, errors.New("socket from systemd is not a Unix stream socket")
		}
		return ul, false, nil
	default:
		return nil, false, fmt.Errorf("systemd passed %d sockets; parsec takes exactly one", len(files))
	}

	path := l.SocketPath
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, false, fmt.Errorf("listener: %s exists and is not a socket; remove it or set listener.socket_path", path)
		}
		// A socket left by an earlier run (Parsec does the same).
		if err := os.Remove(path); err != nil {
			return nil, false, fmt.Errorf("listener: removing stale socket: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, false, fmt.Errorf("listener: %w", err)
	}
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, false, fmt.Errorf("listener: %w", err)
	}
	// We remove the file ourselves on shutdown, after draining.
	ul.SetUnlinkOnClose(false)
	mode := os.FileMode(defaultSocketMode)
	if l.SocketMode != nil {
		mode = os.FileMode(*l.SocketMode)
	}
	if err := os.Chmod(path, mode); err != nil {
		ul.Close()
		return nil, false, fmt.Errorf("listener: %w", err)
	}
	return ul, true, nil
}
