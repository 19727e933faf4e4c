package ts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parsec-go/parsec/internal/tee"
)

// DefaultBufferSize is the shared buffer of a session. libts uses 8 KiB;
// a larger one lets RSA-4096 material, signatures and chunked data through
// in fewer calls, and still costs one of the partition's 16 slots.
const DefaultBufferSize = 64 << 10

// DefaultTimeout bounds every call into the secure world.
const DefaultTimeout = 30 * time.Second

// Caller is an open session to a service with its one shared buffer,
// allocated for the whole session as libts does. Calls are serialised: the
// partition runs one call at a time and the buffer is shared.
type Caller struct {
	svc     Service
	sess    *tee.Session
	timeout time.Duration

	mu     sync.Mutex
	shm    *tee.Shm
	broken error
}

// Dial finds svc on the devices o offers and opens a session with a
// buffer of bufSize bytes (DefaultBufferSize if 0). timeout bounds each
// call (DefaultTimeout if 0), including this one's discovery steps.
func Dial(ctx context.Context, o tee.Opener, svc Service, bufSize int, timeout time.Duration) (*Caller, error) {
	if bufSize <= 0 {
		bufSize = DefaultBufferSize
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sess, err := tee.FindService(ctx, o, svc.UUID)
	if err != nil {
		return nil, fmt.Errorf("ts: locating %s: %w", svc.Name, err)
	}
	shm, err := sess.Dev.ShmAlloc(ctx, bufSize)
	if err != nil {
		sess.Close(ctx)
		return nil, fmt.Errorf("ts: shared memory for %s on %s: %w", svc.Name, sess.Dev.Name(), err)
	}
	return &Caller{svc: svc, sess: sess, shm: shm, timeout: timeout}, nil
}

// Service is the service this caller talks to.
func (c *Caller) Service() Service { return c.svc }

// Device names the device the session is on.
func (c *Caller) Device() string { return c.sess.Dev.Name() }

// Endpoint is the partition's FF-A endpoint id (arm_tstee's impl_caps).
func (c *Caller) Endpoint() uint16 { return uint16(c.sess.Version.ImplCaps) }

// BufferSize is the shared buffer's size: the limit on a request and on a
// response.
func (c *Caller) BufferSize() int { return len(c.shm.Buf) }

// Broken reports why the caller can no longer be used (a timeout or a lost
// connection), nil while it is usable.
func (c *Caller) Broken() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken == nil {
		if h, ok := c.sess.Dev.(tee.Health); ok {
			c.broken = h.Err()
		}
	}
	return c.broken
}

// Call sends req to opcode and returns a copy of the response. A
// non-success service status is an *Error; transport failures come from
// the tee layer wrapped with the service and opcode.
func (c *Caller) Call(ctx context.Context, opcode uint16, opName string, req []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return nil, fmt.Errorf("ts: %s %s: %w (%w)", c.svc.Name, opName, tee.ErrBroken, c.broken)
	}
	if len(req) > len(c.shm.Buf) {
		return nil, fmt.Errorf("ts: %s %s: %w: %d bytes, buffer %d", c.svc.Name, opName, ErrTooLarge, len(req), len(c.shm.Buf))
	}
	copy(c.shm.Buf, req)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res, err := tee.InvokeTS(ctx, c.sess.Dev, c.sess.ID, opcode, c.shm, len(req))
	if err != nil {
		if errors.Is(err, tee.ErrTimeout) || errors.Is(err, tee.ErrBroken) || isConnLoss(err) {
			c.broken = err
		}
		return nil, fmt.Errorf("ts: %s %s: %w", c.svc.Name, opName, err)
	}
	if res.Status != 0 {
		return nil, &Error{Service: c.svc.Name, Op: opName, Status: PSAStatus(res.Status)}
	}
	return append([]byte(nil), c.shm.Buf[:res.RespLen]...), nil
}

// isConnLoss reports a transport failure that is not an errno from the
// driver: the emulator connection went away.
func isConnLoss(err error) bool {
	var te *tee.Error
	if errors.As(err, &te) {
		return false
	}
	return true
}

// Close releases the buffer and the session.
func (c *Caller) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken == nil {
		c.broken = errors.New("caller closed")
	}
	err := c.shm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if cerr := c.sess.Close(ctx); err == nil {
		err = cerr
	}
	return err
}
