package listener

import (
	"io"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/parsec-go/parsec/service/auth"
)

// Conn is one accepted client connection: a blocking socket with
// deadlines. It is meant for one goroutine doing I/O; only the deadline
// timer runs beside it.
type Conn struct {
	fd int

	// mu keeps the timer from shutting down a descriptor that Close has
	// already handed back to the kernel (and that may be reused).
	mu       sync.Mutex
	closed   bool
	timer    *time.Timer
	armed    bool
	deadline time.Time // of the current phase; zero: none
	how      int       // shutdown(2) mode once deadline passes
	expired  int       // shutdown modes already applied by the timer
}

func newConn(fd int) *Conn { return &Conn{fd: fd} }

// SetReadDeadline bounds the reads to come. Once it passes, a pending
// Read returns os.ErrDeadlineExceeded; writes are still possible.
func (c *Conn) SetReadDeadline(t time.Time) error {
	return c.setDeadline(t, unix.SHUT_RD)
}

// SetWriteDeadline bounds the writes to come, replacing any read
// deadline: once it passes, the connection is shut down both ways.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	return c.setDeadline(t, unix.SHUT_RDWR)
}

func (c *Conn) setDeadline(t time.Time, how int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return os.ErrClosed
	}
	c.deadline, c.how = t, how
	if c.armed {
		// Re-arm for the new deadline; a timer already due for the old
		// one sees the new deadline and does nothing.
		c.arm()
	}
	return nil
}

// wait arms the deadline timer before a call that may block. A deadline
// that has already passed fails at once.
func (c *Conn) wait(mode int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expired&mode == mode || (!c.deadline.IsZero() && !time.Now().Before(c.deadline)) {
		return os.ErrDeadlineExceeded
	}
	if !c.armed && !c.deadline.IsZero() {
		c.armed = true
		c.arm()
	}
	return nil
}

// arm (mu held) schedules expire at the deadline.
func (c *Conn) arm() {
	if c.deadline.IsZero() {
		if c.timer != nil {
			c.timer.Stop()
		}
		return
	}
	d := time.Until(c.deadline)
	if c.timer == nil {
		c.timer = time.AfterFunc(d, c.expire)
	} else {
		c.timer.Reset(d)
	}
}

// expire shuts the socket down so that a blocked read or write returns.
func (c *Conn) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.deadline.IsZero() || time.Now().Before(c.deadline) {
		return // closed, or a later deadline was set meanwhile
	}
	unix.Shutdown(c.fd, c.how)
	c.expired |= modeBits(c.how)
}

const (
	readBit  = 1
	writeBit = 2
)

func modeBits(how int) int {
	switch how {
	case unix.SHUT_RD:
		return readBit
	case unix.SHUT_WR:
		return writeBit
	default:
		return readBit | writeBit
	}
}

func (c *Conn) isExpired(bit int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expired&bit != 0
}

// Read reads what the client sent. It first takes what is already
// queued without waiting, so the usual request costs one system call and
// no timer.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	flags := unix.MSG_DONTWAIT
	for {
		n, err := recv(c.fd, p, flags)
		switch {
		case err == nil && n > 0:
			return n, nil
		case err == nil:
			if c.isExpired(readBit) {
				return 0, os.ErrDeadlineExceeded
			}
			return 0, io.EOF
		case err == unix.EINTR:
		case err == unix.EAGAIN && flags != 0:
			if err := c.wait(readBit); err != nil {
				return 0, err
			}
			flags = 0
		default:
			return 0, os.NewSyscallError("recv", err)
		}
	}
}

// Write sends all of p, waiting (until the deadline) only if the socket
// buffer is full.
func (c *Conn) Write(p []byte) (int, error) {
	flags := unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL
	done := 0
	for done < len(p) {
		n, err := send(c.fd, p[done:], flags)
		switch {
		case err == nil:
			done += n
		case err == unix.EINTR:
		case err == unix.EAGAIN && flags&unix.MSG_DONTWAIT != 0:
			if err := c.wait(writeBit); err != nil {
				return done, err
			}
			flags = unix.MSG_NOSIGNAL
		default:
			if err == unix.EPIPE && c.isExpired(writeBit) {
				return done, os.ErrDeadlineExceeded
			}
			return done, os.NewSyscallError("send", err)
		}
	}
	return done, nil
}

// PeerCredentials returns the kernel's record of the client process.
func (c *Conn) PeerCredentials() (auth.Peer, error) {
	cred, err := unix.GetsockoptUcred(c.fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return auth.Peer{}, os.NewSyscallError("getsockopt SO_PEERCRED", err)
	}
	return auth.Peer{UID: cred.Uid, GID: cred.Gid, PID: cred.Pid}, nil
}

// Close releases the connection; the client reads end of file.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return os.ErrClosed
	}
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	return os.NewSyscallError("close", unix.Close(c.fd))
}

// recv and send pass no address: a stream peer's is known, and asking for
// it would cost an allocation per call. Calls that may block go through
// Syscall so the runtime can run other goroutines meanwhile. (The pointer
// conversions stay inside the call expressions, as package unsafe asks.)
func recv(fd int, p []byte, flags int) (int, error) {
	var r uintptr
	var e unix.Errno
	if flags&unix.MSG_DONTWAIT != 0 {
		r, _, e = unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(flags), 0, 0)
	} else {
		r, _, e = unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(flags), 0, 0)
	}
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func send(fd int, p []byte, flags int) (int, error) {
	var r uintptr
	var e unix.Errno
	if flags&unix.MSG_DONTWAIT != 0 {
		r, _, e = unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(flags), 0, 0)
	} else {
		r, _, e = unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(flags), 0, 0)
	}
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
