package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// EndpointEnv is the environment variable Parsec clients read the service
// address from, as a URI such as "unix:/run/parsec/parsec.sock".
const EndpointEnv = "PARSEC_SERVICE_ENDPOINT"

// DefaultSocketPath is where the Parsec service listens by default.
const DefaultSocketPath = "/run/parsec/parsec.sock"

// DefaultEndpoint is the endpoint used when EndpointEnv is not set.
const DefaultEndpoint = "unix:" + DefaultSocketPath

// DefaultTimeout bounds each request whose context has no deadline; it is the
// Rust client's default read/write timeout.
const DefaultTimeout = 60 * time.Second

// DefaultMaxResponseBody caps the body of a response the client will read.
// The service's own buffer limit is 1 MiB by default; the cap only guards the
// client against a misbehaving peer announcing a huge body.
const DefaultMaxResponseBody = 64 << 20

// ErrInvalidEndpoint is returned for an endpoint URI that is not of the
// form unix:/path or unix:///path.
var ErrInvalidEndpoint = errors.New("invalid Parsec endpoint")

// ErrServiceUnreachable wraps the connection failures that mean no service
// answers at the endpoint (no socket file, nobody listening, no permission).
var ErrServiceUnreachable = errors.New("cannot reach the Parsec service")

// ErrResponseMismatch is returned when the service answers with another
// opcode than the one requested.
var ErrResponseMismatch = errors.New("the opcode of the response does not match the opcode of the request")

// EndpointFromEnv returns the endpoint URI from PARSEC_SERVICE_ENDPOINT, or
// DefaultEndpoint when the variable is unset or empty.
func EndpointFromEnv() string {
	if e := os.Getenv(EndpointEnv); e != "" {
		return e
	}
	return DefaultEndpoint
}

// ParseEndpoint turns an endpoint URI into a socket path. Only the unix
// scheme exists: "unix:/path" and "unix:///path" name an absolute path,
// "unix:relative/path" a path relative to the working directory.
func ParseEndpoint(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrInvalidEndpoint, endpoint, err)
	}
	if u.Scheme != "unix" {
		return "", fmt.Errorf("%w %q: the scheme must be unix, as in unix:%s", ErrInvalidEndpoint, endpoint, DefaultSocketPath)
	}
	p := u.Path
	if u.Opaque != "" {
		p = u.Opaque
	}
	if p == "" {
		return "", fmt.Errorf("%w %q: no socket path, as in unix:%s", ErrInvalidEndpoint, endpoint, DefaultSocketPath)
	}
	return p, nil
}

// transport sends one request per connection, as every Parsec client and the
// service expect: the service answers exactly one request and closes.
type transport struct {
	socketPath string
	timeout    time.Duration
	maxBody    uint32
	// blocking: see WithBlockingIO.
	blocking bool
}

// request is one operation ready to send.
type request struct {
	provider wire.ProviderID
	opcode   wire.Opcode
	auth     wire.AuthType
	token    []byte
	body     protomsg.Message
}

func (t *transport) do(ctx context.Context, req *request, res protomsg.Message) error {
	body, err := protomsg.Marshal(req.body)
	if err != nil {
		return fmt.Errorf("encoding %v request: %w", req.opcode, err)
	}
	if len(req.token) > 0xffff {
		return fmt.Errorf("%v: authentication data is %d bytes, the protocol allows 65535", req.opcode, len(req.token))
	}
	h := wire.Header{
		Provider: req.provider,
		AuthType: req.auth,
		BodyLen:  uint32(len(body)),
		AuthLen:  uint16(len(req.token)),
		Opcode:   req.opcode,
	}
	msg := make([]byte, 0, wire.HeaderSize+len(body)+len(req.token))
	msg = h.Marshal(msg)
	msg = append(msg, body...)
	msg = append(msg, req.token...)

	resp, err := t.roundTrip(ctx, msg, req.opcode)
	if err != nil {
		return err
	}
	if res != nil {
		if err := protomsg.Unmarshal(resp, res); err != nil {
			return fmt.Errorf("%v: decoding the response: %w", req.opcode, err)
		}
	}
	return nil
}

func (t *transport) roundTrip(ctx context.Context, msg []byte, op wire.Opcode) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok && t.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
		defer cancel()
	}
	dial := dialUnix
	if t.blocking {
		dial = dialUnixBlocking
	}
	conn, err := dial(ctx, t.socketPath)
	if err != nil {
		return nil, t.dialError(err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Cancellation without a deadline (or before it) must also unblock I/O:
	// a blocking socket is shut down, which ends a read or write in flight.
	stop := context.AfterFunc(ctx, func() {
		_ = conn.SetDeadline(time.Unix(1, 0))
		if rc, err := conn.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) { _ = syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
		}
	})
	defer stop()

	_, werr := conn.Write(msg)
	// The service may answer and close before reading the whole request
	// (a body over its limit, a read timeout): its answer explains the
	// failed write better than the write error does.
	hdr, err := readResponseHeader(conn)
	if err != nil {
		if werr != nil {
			return nil, t.ioError(ctx, op, "sending the request", werr)
		}
		return nil, t.ioError(ctx, op, "reading the response header", err)
	}
	// Status first, like the Rust client: an error answer to a request the
	// service could not parse carries opcode Ping, not ours.
	if hdr.Status != wire.StatusSuccess {
		return nil, &wire.Error{Status: hdr.Status, Msg: fmt.Sprintf("%v: %s", op, hdr.Status.Description())}
	}
	if hdr.Opcode != op {
		return nil, fmt.Errorf("%v: %w (got %v)", op, ErrResponseMismatch, hdr.Opcode)
	}
	if hdr.BodyLen > t.maxBody {
		return nil, fmt.Errorf("%v: response body of %d bytes exceeds the client limit of %d", op, hdr.BodyLen, t.maxBody)
	}
	body := make([]byte, hdr.BodyLen)
	if _, err := io.ReadFull(conn, body); err != nil {
		return nil, t.ioError(ctx, op, "reading the response body", err)
	}
	return body, nil
}

// readResponseHeader reads exactly one 36-byte header: a response has no
// reason to carry another header size, so unlike the service's ReadHeader
// this never reads further.
func readResponseHeader(r io.Reader) (wire.Header, error) {
	var buf [wire.HeaderSize]byte
	if _, err := io.ReadFull(r, buf[:]); err != nil {
		return wire.Header{}, err
	}
	return wire.ParseHeader(buf[:])
}

func (t *transport) dialError(err error) error {
	var hint string
	switch {
	case errors.Is(err, syscall.ENOENT):
		hint = "no socket at " + t.socketPath + "; is the Parsec service running? Set " + EndpointEnv + "=unix:/path/to/parsec.sock to use another socket"
	case errors.Is(err, syscall.ECONNREFUSED):
		hint = "nothing listens on " + t.socketPath + "; start the Parsec service or set " + EndpointEnv
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		hint = permissionHint(t.socketPath)
	case errors.Is(err, syscall.ENOTSOCK), errors.Is(err, syscall.ENOTDIR):
		hint = t.socketPath + " is not a socket; set " + EndpointEnv + " to the service's socket"
	case errors.Is(err, syscall.EINVAL) && len(t.socketPath) > 107:
		hint = "the socket path " + t.socketPath + " is longer than the 107 bytes a Unix socket address holds"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("%w at %s: %w", ErrServiceUnreachable, t.socketPath, err)
	default:
		return fmt.Errorf("%w at %s: %v", ErrServiceUnreachable, t.socketPath, err)
	}
	return fmt.Errorf("%w: %s (%v)", ErrServiceUnreachable, hint, unwrapSyscall(err))
}

// permissionHint says which file keeps the caller from the socket (the
// first directory on the way it may not search, else the socket) and the
// group that would let it in: the Yocto image grants access through the
// group of /run/parsec (parsec-clients).
func permissionHint(path string) string {
	blocker := path
	abs, err := filepath.Abs(path)
	if err == nil {
		for d := "/"; ; {
			if syscall.Access(d, 1) != nil { // X_OK: may search
				blocker = d
				break
			}
			rest, ok := strings.CutPrefix(abs, strings.TrimSuffix(d, "/")+"/")
			if !ok || !strings.Contains(rest, "/") {
				break
			}
			d = filepath.Join(d, strings.SplitN(rest, "/", 2)[0])
		}
	}
	fi, err := os.Stat(blocker)
	if err != nil {
		return "permission denied: you may not open " + path + "; run as a user allowed to use Parsec"
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "permission denied: you may not open " + path + "; run as a user allowed to use Parsec"
	}
	group := strconv.FormatUint(uint64(st.Gid), 10)
	if g, err := user.LookupGroupId(group); err == nil {
		group = g.Name
	}
	return fmt.Sprintf("permission denied: %s (mode %04o, group %s) does not let you open %s; add your user to the group %s (usermod -aG %s $USER, then log in again), or run as a user allowed to use Parsec",
		blocker, fi.Mode().Perm(), group, path, group, group)
}

func unwrapSyscall(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}

func (t *transport) ioError(ctx context.Context, op wire.Opcode, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%v: %s: %w", op, what, ctx.Err())
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%v: %s: %w", op, what, context.DeadlineExceeded)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return fmt.Errorf("%v: %s: the service closed the connection (%v)", op, what, err)
	}
	return fmt.Errorf("%v: %s: %w", op, what, err)
}

// dialUnix connects a Unix stream socket to path. It goes through os.File
// rather than package net: the runtime poller still gives deadlines and
// cancellation, and a client process (parsec-tool runs one or a few
// requests) starts measurably faster without net's dialer.
func dialUnix(ctx context.Context, path string) (*os.File, error) {
	for {
		fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
		if err != nil {
			return nil, os.NewSyscallError("socket", err)
		}
		err = syscall.Connect(fd, &syscall.SockaddrUnix{Name: path})
		if err == nil {
			return os.NewFile(uintptr(fd), "unix:"+path), nil
		}
		syscall.Close(fd)
		// A Unix socket refuses a non-blocking connect with EAGAIN while the
		// service's accept backlog is full: try again until the context
		// gives up, as a blocking connect would have waited.
		if err != syscall.EAGAIN {
			return nil, os.NewSyscallError("connect", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// dialUnixBlocking connects like dialUnix but keeps the socket blocking, so
// that reads and writes block the calling thread instead of parking the
// goroutine in the runtime poller (see WithBlockingIO). The context's
// deadline becomes the socket's receive and send timeouts, which also bound
// the connect.
func dialUnixBlocking(ctx context.Context, path string) (*os.File, error) {
	var tv *syscall.Timeval
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return nil, context.DeadlineExceeded
		}
		// A zero timeval means no timeout: round up to a microsecond.
		t := syscall.NsecToTimeval((left + time.Microsecond - 1).Nanoseconds())
		tv = &t
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if tv != nil {
		for _, opt := range []int{syscall.SO_RCVTIMEO, syscall.SO_SNDTIMEO} {
			if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, opt, tv); err != nil {
				syscall.Close(fd)
				return nil, os.NewSyscallError("setsockopt", err)
			}
		}
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		if err == syscall.EAGAIN || err == syscall.EINPROGRESS {
			// The send timeout ran out while the accept backlog was full.
			return nil, context.DeadlineExceeded
		}
		return nil, os.NewSyscallError("connect", err)
	}
	return os.NewFile(uintptr(fd), "unix:"+path), nil
}
