package tee

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Device is one opened TEE device: a /dev/teeN context on the kernel path,
// or the emulator's equivalent. The methods are the generic TEE ioctls the
// arm_tstee driver implements, at the level of their tee.h arguments, so the
// Trusted Services logic above (TS helpers, discovery, the ts package) runs
// unchanged on both implementations. Every call honours ctx: a call that
// does not complete in time returns ErrTimeout and the device is then
// unusable (Broken).
type Device interface {
	// Name identifies the device in logs, e.g. "/dev/tee1" or "emu:tee2".
	Name() string
	Version(ctx context.Context) (VersionData, error)
	OpenSession(ctx context.Context, arg OpenSessionArg, params []Param) (OpenSessionArg, []Param, error)
	CloseSession(ctx context.Context, session uint32) error
	// ShmAlloc allocates shared memory the secure side can see; Shm.Close
	// releases it.
	ShmAlloc(ctx context.Context, size int) (*Shm, error)
	Invoke(ctx context.Context, arg InvokeArg, params []Param) (InvokeArg, []Param, error)
	Close() error
}

// Health is implemented by devices that can tell, without a call, that
// they are no longer usable (the emulator connection went away).
type Health interface {
	Err() error
}

// MaxShmPerSP is how many shared memories a Trusted Services partition's
// RPC endpoint can hold in total (all clients together): a fixed table of
// 16 slots in ts_rpc_endpoint_sp. A client should allocate one buffer per
// session and reuse it.
const MaxShmPerSP = 16

// Shm is a shared memory buffer. Requests are written at offset 0 and the
// response replaces them.
type Shm struct {
	ID  int32
	Buf []byte

	once sync.Once
	free func() error
	err  error
}

// NewShm is for Device implementations: free runs once, on Close.
func NewShm(id int32, buf []byte, free func() error) *Shm {
	return &Shm{ID: id, Buf: buf, free: free}
}

// Close releases the buffer; later calls return the first result.
func (s *Shm) Close() error {
	s.once.Do(func() {
		if s.free != nil {
			s.err = s.free()
		}
		s.Buf = nil
	})
	return s.err
}

// UUID is a service UUID in the byte order the TEE ioctls carry: the
// canonical string's bytes, most significant first.
type UUID [16]byte

// ParseUUID parses the canonical 8-4-4-4-12 hex form.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	h := strings.ReplaceAll(s, "-", "")
	if len(s) != 36 || len(h) != 32 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, fmt.Errorf("tee: %q is not a UUID", s)
	}
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return u, fmt.Errorf("tee: %q is not a UUID: %w", s, err)
	}
	return u, nil
}

// MustUUID is ParseUUID for constants.
func MustUUID(s string) UUID {
	u, err := ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

func (u UUID) String() string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ErrTimeout reports a call that did not complete in time. The device is
// left broken: reopen it.
var ErrTimeout = errors.New("tee: call timed out")

// ErrBroken reports use of a device after a timeout or a lost connection.
var ErrBroken = errors.New("tee: device is broken (earlier timeout or lost connection)")

// Session is an open TS session: the device, the session id and the
// device's version data.
type Session struct {
	Dev     Device
	ID      uint32
	Version VersionData
	Service UUID
}

// OpenTSSession opens a session for a Trusted Services service: login
// public, no parameters. The arm_tstee driver answers ENODEV when the
// partition behind dev does not host the service.
func OpenTSSession(ctx context.Context, dev Device, service UUID) (uint32, error) {
	out, _, err := dev.OpenSession(ctx, OpenSessionArg{UUID: service, ClntLogin: LoginPublic}, nil)
	if err != nil {
		return 0, err
	}
	if out.Ret != 0 {
		// tstee always sets ret 0 on success; anything else is a TEE that
		// is not speaking the TS protocol.
		return 0, &Error{Op: "TEE_IOC_OPEN_SESSION", Dev: dev.Name(), Detail: fmt.Sprintf("ret %#x origin %d", out.Ret, out.RetOrigin)}
	}
	return out.Session, nil
}

// InvokeResult is what a TS service call returns through the driver.
type InvokeResult struct {
	// Status is the service status (a psa_status_t for crypto, storage
	// and attestation), the driver's ret reinterpreted as signed.
	Status int32
	// RespLen is the response length at offset 0 of the shared memory.
	RespLen int
}

// InvokeTS calls function opcode of a TS session with the request in the
// first reqLen bytes of shm (nil shm: a doorbell call without buffer). The
// arm_tstee driver hides the TS RPC status: any RPC-level failure is
// EINVAL. It writes the response length back only when it fits the
// buffer, so a length that does not fit is reported here as an error
// rather than trusted.
func InvokeTS(ctx context.Context, dev Device, session uint32, opcode uint16, shm *Shm, reqLen int) (InvokeResult, error) {
	p := Param{Attr: ParamValueInout}
	size := 0
	if shm != nil {
		if shm.Buf == nil {
			return InvokeResult{}, &Error{Op: "TEE_IOC_INVOKE", Dev: dev.Name(), Detail: "shared memory already released"}
		}
		p.A = uint64(uint32(shm.ID))
		size = len(shm.Buf)
	}
	if reqLen < 0 || reqLen > size {
		return InvokeResult{}, &Error{Op: "TEE_IOC_INVOKE", Dev: dev.Name(), Detail: fmt.Sprintf("request of %d bytes does not fit the %d-byte buffer", reqLen, size)}
	}
	p.B = uint64(reqLen)
	out, ps, err := dev.Invoke(ctx, InvokeArg{Func: uint32(opcode), Session: session}, []Param{p})
	if err != nil {
		return InvokeResult{}, err
	}
	if len(ps) != 1 {
		return InvokeResult{}, &Error{Op: "TEE_IOC_INVOKE", Dev: dev.Name(), Detail: fmt.Sprintf("driver returned %d parameters", len(ps))}
	}
	n := ps[0].A
	if shm == nil {
		n = 0
	} else if n > uint64(size) {
		return InvokeResult{}, &Error{Op: "TEE_IOC_INVOKE", Dev: dev.Name(), Detail: fmt.Sprintf("response length %d exceeds the %d-byte buffer", n, size)}
	}
	return InvokeResult{Status: int32(out.Ret), RespLen: int(n)}, nil
}
