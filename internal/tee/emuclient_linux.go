//go:build linux

package tee

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// EmuConn is a connection to the emulated secure world (tools/parsec-tsemu).
// One connection carries every device a client opens; calls are serialised.
// A call that times out or loses the connection breaks the EmuConn, and
// the client reconnects (the HELLO that starts a connection makes the
// emulator drop whatever state an earlier client left on that stream).
type EmuConn struct {
	addr  string
	memfd bool
	uc    *net.UnixConn // nil for serial
	f     *os.File      // serial device
	ndev  int

	mu     sync.Mutex
	seq    uint32
	broken error

	inbox chan *Frame
	dead  chan struct{}
	rerr  error
}

// Emulator address forms: "unix:PATH" or a bare path (Unix stream socket,
// memfd shared memory), "unix-inline:PATH" (Unix socket, buffers inline),
// "serial:PATH" (character device such as /dev/vport0p1 or /dev/hvc1,
// buffers inline).
func parseEmuAddr(addr string) (kind, path string, err error) {
	switch {
	case strings.HasPrefix(addr, "serial:"):
		kind, path = "serial", strings.TrimPrefix(addr, "serial:")
	case strings.HasPrefix(addr, "unix-inline:"):
		kind, path = "unix-inline", strings.TrimPrefix(addr, "unix-inline:")
	case strings.HasPrefix(addr, "unix:"):
		kind, path = "unix", strings.TrimPrefix(addr, "unix:")
	case strings.HasPrefix(addr, "/") || strings.HasPrefix(addr, "."):
		kind, path = "unix", addr
	default:
		return "", "", fmt.Errorf("tee: emulator address %q: want unix:PATH, unix-inline:PATH, serial:PATH or a path", addr)
	}
	if path == "" {
		return "", "", fmt.Errorf("tee: emulator address %q has no path", addr)
	}
	return kind, path, nil
}

// DialEmulator connects and says HELLO.
func DialEmulator(ctx context.Context, addr string) (*EmuConn, error) {
	kind, path, err := parseEmuAddr(addr)
	if err != nil {
		return nil, err
	}
	c := &EmuConn{addr: addr, inbox: make(chan *Frame, 4), dead: make(chan struct{})}
	// A serial line may still carry answers meant for an earlier client
	// of the same port; a random first sequence number keeps them from
	// matching ours.
	var seed [4]byte
	rand.Read(seed[:])
	c.seq = le.Uint32(seed[:])
	var r io.Reader
	switch kind {
	case "serial":
		f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
		if err != nil {
			return nil, &Error{Op: "open", Dev: path, Errno: errnoOf(unwrapPathErr(err))}
		}
		makeRaw(f)
		c.f, r = f, f
	default:
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", path)
		if err != nil {
			return nil, &Error{Op: "open", Dev: addr, Errno: errnoOf(unwrapNetErr(err)), Detail: "emulator socket"}
		}
		c.uc = conn.(*net.UnixConn)
		c.memfd = kind == "unix"
		r = c.uc
	}
	go c.readLoop(r)
	var flags uint32
	if c.memfd {
		flags |= HelloMemfd
	}
	resp, err := c.call(ctx, &Frame{Type: MsgHello, Code: EmuProtocolVersion, Arg: HelloArg(flags)}, -1)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.Errno != 0 || len(resp.Arg) < 4 {
		c.Close()
		return nil, &Error{Op: "hello", Dev: addr, Errno: syscall.Errno(resp.Errno), Detail: fmt.Sprintf("emulator refused protocol version %d (it speaks %d)", EmuProtocolVersion, resp.Code)}
	}
	c.ndev = int(le.Uint32(resp.Arg))
	return c, nil
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func unwrapNetErr(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return syscall.ETIMEDOUT
	}
	return err
}

// makeRaw turns off the line discipline's processing when the serial path
// is a tty (/dev/hvcN); virtio-serial ports (/dev/vportNpM) are not ttys
// and are left alone. It goes through SyscallConn: File.Fd would put the
// file in blocking mode, and then Close could no longer stop a reader
// still waiting on the line (which would steal the next client's bytes).
func makeRaw(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(u uintptr) {
		fd := int(u)
		t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return
		}
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN] = 1
		t.Cc[unix.VTIME] = 0
		unix.IoctlSetTermios(fd, unix.TCSETS, t)
	})
}

func (c *EmuConn) readLoop(r io.Reader) {
	fr := NewFrameReader(r)
	for {
		f, err := fr.Read()
		if err != nil {
			c.rerr = err
			close(c.dead)
			return
		}
		if f.Type&MsgResponse == 0 {
			continue
		}
		select {
		case c.inbox <- f:
		default:
			// Nobody is waiting: a late answer to an abandoned call.
		}
	}
}

// Devices is how many devices the emulator offers.
func (c *EmuConn) Devices() int { return c.ndev }

// Addr is the address dialled.
func (c *EmuConn) Addr() string { return c.addr }

// Err reports why the connection is unusable, nil while it is fine. A
// peer that went away is noticed here before the next call fails.
func (c *EmuConn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken == nil {
		select {
		case <-c.dead:
			c.broken = fmt.Errorf("emulator %s closed the connection: %v", c.addr, c.rerr)
		default:
		}
	}
	return c.broken
}

func (c *EmuConn) write(b []byte, fd int) error {
	if c.uc == nil {
		_, err := c.f.Write(b)
		return err
	}
	if fd < 0 {
		_, err := c.uc.Write(b)
		return err
	}
	// The fd travels with the first bytes; the rest follows as a plain
	// write, since a stream sendmsg may be partial.
	first := b
	if len(first) > 4096 {
		first = first[:4096]
	}
	n, _, err := c.uc.WriteMsgUnix(first, unix.UnixRights(fd), nil)
	if err != nil {
		return err
	}
	_, err = c.uc.Write(b[n:])
	return err
}

// call sends f (with fd attached when fd >= 0) and waits for the matching
// response.
func (c *EmuConn) call(ctx context.Context, f *Frame, fd int) (*Frame, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return nil, fmt.Errorf("%w: %v", ErrBroken, c.broken)
	}
	c.seq++
	f.Seq = c.seq
	b, err := f.Marshal()
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		c.setWriteDeadline(dl)
		defer c.setWriteDeadline(time.Time{})
	}
	if err := c.write(b, fd); err != nil {
		c.broken = fmt.Errorf("writing to emulator %s: %w", c.addr, err)
		return nil, c.broken
	}
	for {
		select {
		case r := <-c.inbox:
			if r.Seq != f.Seq || r.Type != f.Type|MsgResponse {
				continue // a stale answer
			}
			return r, nil
		case <-c.dead:
			c.broken = fmt.Errorf("emulator %s closed the connection: %v", c.addr, c.rerr)
			return nil, c.broken
		case <-ctx.Done():
			c.broken = fmt.Errorf("emulator %s did not answer: %w", c.addr, ErrTimeout)
			return nil, c.broken
		}
	}
}

func (c *EmuConn) setWriteDeadline(t time.Time) {
	if c.uc != nil {
		c.uc.SetWriteDeadline(t)
	} else {
		c.f.SetWriteDeadline(t)
	}
}

// Close closes the connection; the emulator then releases everything the
// connection held, as the kernel does when a process exits.
func (c *EmuConn) Close() error {
	c.mu.Lock()
	if c.broken == nil {
		c.broken = errors.New("connection closed")
	}
	c.mu.Unlock()
	if c.uc != nil {
		return c.uc.Close()
	}
	return c.f.Close()
}

// Open opens emulated device index (like open("/dev/teeN")).
func (c *EmuConn) Open(ctx context.Context, index int) (*EmuDevice, error) {
	name := "emu:tee" + strconv.Itoa(index)
	r, err := c.call(ctx, &Frame{Type: MsgOpen, Code: uint32(index)}, -1)
	if err != nil {
		return nil, err
	}
	if r.Errno != 0 {
		return nil, &Error{Op: "open", Dev: name, Errno: syscall.Errno(r.Errno)}
	}
	return &EmuDevice{c: c, ctx: r.Ctx, name: name, shms: map[int32]*Shm{}}, nil
}

// EmuOpener enumerates the emulator's devices as tee0..teeN-1.
type EmuOpener struct{ Conn *EmuConn }

// List implements Opener.
func (o EmuOpener) List(ctx context.Context) ([]string, error) {
	names := make([]string, o.Conn.Devices())
	for i := range names {
		names[i] = "tee" + strconv.Itoa(i)
	}
	return names, nil
}

// Open implements Opener.
func (o EmuOpener) Open(ctx context.Context, name string) (Device, error) {
	i, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(name, "emu:"), "tee"))
	if err != nil {
		return nil, &Error{Op: "open", Dev: name, Errno: syscall.ENOENT}
	}
	return o.Conn.Open(ctx, i)
}

// EmuDevice is an opened emulated device.
type EmuDevice struct {
	c    *EmuConn
	ctx  uint32
	name string

	mu   sync.Mutex
	shms map[int32]*Shm // for inline mode: buffers by id
}

// Name implements Device.
func (d *EmuDevice) Name() string { return d.name }

// Err reports a lost connection (see Health).
func (d *EmuDevice) Err() error { return d.c.Err() }

func (d *EmuDevice) ioctl(ctx context.Context, req uint32, arg, data []byte, fd int) (*Frame, error) {
	r, err := d.c.call(ctx, &Frame{Type: MsgIoctl, Ctx: d.ctx, Code: req, Arg: arg, Data: data}, fd)
	if err != nil {
		return nil, err
	}
	if r.Errno != 0 {
		e := &Error{Op: IoctlName(req), Dev: d.name, Errno: syscall.Errno(r.Errno)}
		if r.Diag != 0 {
			e.Detail = fmt.Sprintf("emulator diagnostic: TS RPC status %d", r.Diag)
		}
		return nil, e
	}
	if len(r.Arg) != len(arg) {
		return nil, &Error{Op: IoctlName(req), Dev: d.name, Detail: fmt.Sprintf("%v: argument came back with %d bytes, sent %d", ErrFrame, len(r.Arg), len(arg))}
	}
	return r, nil
}

// Version implements Device.
func (d *EmuDevice) Version(ctx context.Context) (VersionData, error) {
	r, err := d.ioctl(ctx, IocVersion, make([]byte, VersionDataSize), nil, -1)
	if err != nil {
		return VersionData{}, err
	}
	return UnmarshalVersionData(r.Arg)
}

// OpenSession implements Device.
func (d *EmuDevice) OpenSession(ctx context.Context, arg OpenSessionArg, params []Param) (OpenSessionArg, []Param, error) {
	r, err := d.ioctl(ctx, IocOpenSession, MarshalOpenSession(arg, params), nil, -1)
	if err != nil {
		return OpenSessionArg{}, nil, err
	}
	return UnmarshalOpenSession(r.Arg)
}

// CloseSession implements Device.
func (d *EmuDevice) CloseSession(ctx context.Context, session uint32) error {
	_, err := d.ioctl(ctx, IocCloseSession, le.AppendUint32(nil, session), nil, -1)
	return err
}

// Invoke implements Device. In inline mode the request bytes of the shared
// memory named by a TS-style first parameter travel with the call and the
// response bytes come back into the buffer.
func (d *EmuDevice) Invoke(ctx context.Context, arg InvokeArg, params []Param) (InvokeArg, []Param, error) {
	var data []byte
	var shm *Shm
	if !d.c.memfd && len(params) > 0 && params[0].Attr == ParamValueInout && params[0].A != 0 {
		d.mu.Lock()
		shm = d.shms[int32(params[0].A)]
		d.mu.Unlock()
		if shm != nil && params[0].B <= uint64(len(shm.Buf)) {
			data = shm.Buf[:params[0].B]
		}
	}
	r, err := d.ioctl(ctx, IocInvoke, MarshalInvoke(arg, params), data, -1)
	if err != nil {
		return InvokeArg{}, nil, err
	}
	out, ps, err := UnmarshalInvoke(r.Arg)
	if err != nil {
		return InvokeArg{}, nil, err
	}
	if shm != nil {
		if len(r.Data) > len(shm.Buf) {
			return InvokeArg{}, nil, &Error{Op: "TEE_IOC_INVOKE", Dev: d.name, Detail: fmt.Sprintf("%v: %d response bytes for a %d-byte buffer", ErrFrame, len(r.Data), len(shm.Buf))}
		}
		copy(shm.Buf, r.Data)
	}
	return out, ps, nil
}

// ShmAlloc implements Device: a memfd shared with the emulator, or in
// inline mode a local buffer mirrored by the emulator.
func (d *EmuDevice) ShmAlloc(ctx context.Context, size int) (*Shm, error) {
	if size <= 0 || size > MaxEmuShm {
		return nil, &Error{Op: "TEE_IOC_SHM_ALLOC", Dev: d.name, Errno: syscall.EINVAL, Detail: fmt.Sprintf("size %d outside 1..%d", size, MaxEmuShm)}
	}
	d.mu.Lock()
	n := len(d.shms)
	d.mu.Unlock()
	if n >= MaxShmPerSP {
		return nil, &Error{Op: "TEE_IOC_SHM_ALLOC", Dev: d.name, Errno: syscall.EINVAL, Detail: fmt.Sprintf("this process already holds %d shared memories on the partition", n)}
	}
	arg := ShmAllocData{Size: uint64(size)}.Marshal()
	var buf []byte
	fd := -1
	if d.c.memfd {
		var err error
		fd, err = unix.MemfdCreate("tee-shm", unix.MFD_CLOEXEC)
		if err != nil {
			return nil, &Error{Op: "memfd_create", Dev: d.name, Errno: errnoOf(err)}
		}
		defer unix.Close(fd)
		if err := unix.Ftruncate(fd, int64(size)); err != nil {
			return nil, &Error{Op: "ftruncate", Dev: d.name, Errno: errnoOf(err)}
		}
		buf, err = unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return nil, &Error{Op: "mmap", Dev: d.name, Errno: errnoOf(err)}
		}
	} else {
		buf = make([]byte, size)
	}
	unmap := func() {
		if d.c.memfd {
			unix.Munmap(buf)
		}
	}
	r, err := d.ioctl(ctx, IocShmAlloc, arg, nil, fd)
	if err != nil {
		unmap()
		return nil, err
	}
	got, err := UnmarshalShmAllocData(r.Arg)
	if err != nil || got.ID <= 0 || got.Size < uint64(size) {
		unmap()
		return nil, &Error{Op: "TEE_IOC_SHM_ALLOC", Dev: d.name, Detail: fmt.Sprintf("emulator returned id %d size %d for %d bytes", got.ID, got.Size, size)}
	}
	id := got.ID
	shm := NewShm(id, buf, func() error {
		d.mu.Lock()
		delete(d.shms, id)
		d.mu.Unlock()
		defer unmap()
		// Releasing is best effort, like munmap on a dead process: a
		// broken connection has already released everything.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := d.c.call(ctx, &Frame{Type: MsgShmFree, Ctx: d.ctx, Code: uint32(id)}, -1)
		if err != nil {
			return err
		}
		if r.Errno != 0 {
			return &Error{Op: "shm free", Dev: d.name, Errno: syscall.Errno(r.Errno)}
		}
		return nil
	})
	d.mu.Lock()
	d.shms[id] = shm
	d.mu.Unlock()
	return shm, nil
}

// Close implements Device. The emulator releases the context's sessions
// and shared memories, as the kernel does on the last close of the fd.
func (d *EmuDevice) Close() error {
	d.mu.Lock()
	shms := d.shms
	d.shms = map[int32]*Shm{}
	d.mu.Unlock()
	for _, s := range shms {
		s.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := d.c.call(ctx, &Frame{Type: MsgClose, Ctx: d.ctx}, -1)
	if err != nil {
		return err
	}
	if r.Errno != 0 {
		return &Error{Op: "close", Dev: d.name, Errno: syscall.Errno(r.Errno)}
	}
	return nil
}
