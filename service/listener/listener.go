// Package listener owns the service's Unix socket: it opens it (or takes
// the one systemd passed), accepts client connections and hands them out
// as Conns.
//
// Parsec clients open one connection per request, so what a connection
// costs matters more than what a byte costs, and on small boards thread
// wake-ups cost more than anything else. Nothing here goes through the
// runtime's poller: accepting is a blocking accept4 (the kernel wakes
// exactly one waiting thread per client), and accepted connections are
// blocking descriptors (no epoll registration and removal per request).
// The request is almost always queued by the time it is read, so reads
// and writes are first tried without waiting; only a client that is slow
// to send or to read arms a timer that shuts the socket down at its
// deadline.
package listener

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/parsec-go/parsec/service/config"
	"github.com/parsec-go/parsec/service/systemd"
)

// defaultSocketMode is Parsec's: every local user may connect, and the
// authenticator decides what they may do. Deployments that want a group
// boundary set listener.socket_mode or restrict the directory.
const defaultSocketMode = 0o666

// backlog asks for the largest queue; the kernel caps it at
// net.core.somaxconn.
const backlog = 4096

// ErrClosed is returned by Accept once the listener is closed.
var ErrClosed = errors.New("listener closed")

// Listener is the service socket.
type Listener struct {
	fd      int // blocking
	path    string
	created bool

	closed  atomic.Bool
	waiting atomic.Int32 // goroutines in (or entering) accept4
}

// Open returns the service socket: the one systemd passed, or a new one at
// the configured path.
func Open(l config.Listener) (*Listener, error) {
	files, err := systemd.ListenFDs()
	if err != nil {
		return nil, err
	}
	switch len(files) {
	case 0:
		return create(l)
	case 1:
		ln, err := inherit(files[0])
		files[0].Close()
		if err != nil {
			return nil, fmt.Errorf("socket from systemd: %w", err)
		}
		return ln, nil
	default:
		for _, f := range files {
			f.Close()
		}
		return nil, fmt.Errorf("systemd passed %d sockets; parsec takes exactly one", len(files))
	}
}

// inherit takes over a socket passed by systemd. It works on a duplicate
// so that the descriptor it polls is one the runtime opened itself.
func inherit(f *os.File) (*Listener, error) {
	var fd int
	var serr error
	raw, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	if err := raw.Control(func(s uintptr) {
		fd, serr = checkListening(int(s))
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, serr
	}
	path := ""
	if sa, err := unix.Getsockname(fd); err == nil {
		if ua, ok := sa.(*unix.SockaddrUnix); ok {
			path = ua.Name
		}
	}
	return &Listener{fd: fd, path: path}, nil
}

// checkListening verifies that s is a listening Unix stream socket and
// returns a blocking close-on-exec duplicate of it.
func checkListening(s int) (int, error) {
	for _, c := range []struct {
		opt  int
		want int
		what string
	}{
		{unix.SO_DOMAIN, unix.AF_UNIX, "not a Unix socket"},
		{unix.SO_TYPE, unix.SOCK_STREAM, "not a stream socket"},
		{unix.SO_ACCEPTCONN, 1, "not listening"},
	} {
		v, err := unix.GetsockoptInt(s, unix.SOL_SOCKET, c.opt)
		if err != nil {
			return -1, fmt.Errorf("inspecting the socket: %w", err)
		}
		if v != c.want {
			return -1, errors.New(c.what)
		}
	}
	fd, err := unix.FcntlInt(uintptr(s), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("duplicating the socket: %w", err)
	}
	// O_NONBLOCK belongs to the socket, shared with systemd's copy, which
	// systemd only polls.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func create(l config.Listener) (*Listener, error) {
	path := l.SocketPath
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("listener: %s exists and is not a socket; remove it or set listener.socket_path", path)
		}
		// A live service there would keep running, unreachable, if its
		// socket were replaced: refuse instead.
		if err := probe(path); err != nil {
			return nil, err
		}
		// A socket left by an earlier run (Parsec does the same).
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("listener: removing stale socket: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("listener: %w", err)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("listener: %w", os.NewSyscallError("socket", err))
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listener: binding %s: %w", path, err)
	}
	mode := os.FileMode(defaultSocketMode)
	if l.SocketMode != nil {
		mode = os.FileMode(*l.SocketMode)
	}
	// Before listen: no client can connect through a mode we do not mean.
	if err := os.Chmod(path, mode); err != nil {
		unix.Close(fd)
		os.Remove(path)
		return nil, fmt.Errorf("listener: %w", err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		os.Remove(path)
		return nil, fmt.Errorf("listener: %w", os.NewSyscallError("listen", err))
	}
	return &Listener{fd: fd, path: path, created: true}, nil
}

// probe returns an error when something still listens on the socket at
// path. The connect does not block: a Unix socket accepts at once, refuses
// (nobody listening: a stale socket), or reports a full backlog.
func probe(path string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("listener: %w", os.NewSyscallError("socket", err))
	}
	defer unix.Close(fd)
	switch err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err {
	case unix.ECONNREFUSED, unix.ENOENT:
		return nil
	case nil, unix.EAGAIN:
		return fmt.Errorf("listener: another service is listening on %s; stop it first (systemctl stop parsec), or give this one another listener.socket_path", path)
	default:
		return fmt.Errorf("listener: cannot tell whether a service still listens on %s: %w", path, os.NewSyscallError("connect", err))
	}
}

// Path is the socket's file system path.
func (l *Listener) Path() string { return l.path }

// Accept waits for the next client; any number of goroutines may wait at
// once. After Close it returns ErrClosed.
func (l *Listener) Accept() (*Conn, error) {
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	if l.closed.Load() {
		return nil, ErrClosed
	}
	nfd, err := accept(l.fd)
	if l.closed.Load() {
		if err == nil {
			unix.Close(nfd)
		}
		return nil, ErrClosed
	}
	if err != nil {
		return nil, os.NewSyscallError("accept4", err)
	}
	return newConn(nfd), nil
}

// accept takes one pending connection, waiting for it in the kernel. The
// new descriptor is blocking: Conn decides per call whether to wait. The
// peer address is not asked for (Unix clients have none worth reading).
func accept(s int) (int, error) {
	for {
		r, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(s), 0, 0, unix.SOCK_CLOEXEC, 0, 0)
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR, unix.ECONNABORTED:
			// A client that gave up before we got to it is no error of ours.
			continue
		default:
			return -1, e
		}
	}
}

// Close stops accepting: every pending Accept returns ErrClosed. It does
// not remove the socket file: the service does that after draining, with
// Remove, so that clients never find the path gone while it still
// answers.
func (l *Listener) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	// A thread blocked in accept4 does not notice the descriptor closing.
	// Wake each waiter with a connection of our own; shutdown(2) would
	// also wake them, but it would break the socket for systemd, which
	// keeps it to start us again.
	for tries := 0; l.waiting.Load() > 0; tries++ {
		if tries == 200 || !l.poke() {
			if !l.created {
				break // leave systemd's socket working; the waiters stay
			}
			unix.Shutdown(l.fd, unix.SHUT_RD)
			for i := 0; l.waiting.Load() > 0 && i < 100; i++ {
				time.Sleep(time.Millisecond)
			}
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	if l.waiting.Load() > 0 {
		return errors.New("listener: accepting threads did not return; socket left open")
	}
	return os.NewSyscallError("close", unix.Close(l.fd))
}

// poke connects to the socket so that one waiting Accept returns.
func (l *Listener) poke() bool {
	if l.path == "" {
		return false
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	err = unix.Connect(fd, &unix.SockaddrUnix{Name: l.path})
	// EAGAIN: the queue is full, so waiters are being woken anyway.
	return err == nil || err == unix.EAGAIN
}

// Remove deletes the socket file if this listener created it. A socket
// from systemd belongs to systemd.
func (l *Listener) Remove() {
	if l.created {
		os.Remove(l.path)
	}
}
