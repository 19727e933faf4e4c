package emu

import (
	"fmt"
	"log/slog"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/parsec-go/parsec/internal/tee"
	"github.com/parsec-go/parsec/internal/ts"
)

// Device is one emulated /dev/teeN: an arm_tstee device in front of a
// partition, or (Partition nil) a stand-in for OP-TEE's own device, which
// TS discovery must skip.
type Device struct {
	Index     int
	ImplID    uint32
	Partition *Partition

	mu     sync.Mutex
	shmIDs map[int32]bool // ids are per device, like the TEE core's idr
}

func (d *Device) name() string {
	if d.Partition != nil {
		return fmt.Sprintf("tee%d (%s)", d.Index, d.Partition.Name)
	}
	return fmt.Sprintf("tee%d (optee)", d.Index)
}

// allocShmID returns the lowest free id from 1.
func (d *Device) allocShmID() int32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id := int32(1); ; id++ {
		if !d.shmIDs[id] {
			d.shmIDs[id] = true
			return id
		}
	}
}

func (d *Device) freeShmID(id int32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.shmIDs, id)
}

// shmBuf is a shared memory of a context: a mapping of the client's memfd
// or, inline, the emulator's copy.
type shmBuf struct {
	id     int32
	buf    []byte
	mapped bool
}

// teeCtx is an open device (a file description on the kernel path).
type teeCtx struct {
	dev      *Device
	sessions map[uint32]uint8 // session id -> interface id
	shms     map[int32]*shmBuf
}

func (c *teeCtx) release() {
	for id, s := range c.shms {
		c.freeShm(s)
		delete(c.shms, id)
	}
	c.sessions = map[uint32]uint8{}
}

func (c *teeCtx) freeShm(s *shmBuf) {
	if s.mapped {
		unix.Munmap(s.buf)
	}
	if c.dev.Partition != nil {
		c.dev.Partition.MemRelinquish()
	}
	c.dev.freeShmID(s.id)
}

// ioctlResult is what an ioctl answers: errno, the argument back, data
// for inline mode and a diagnostic (the TS RPC status the driver hides).
type ioctlResult struct {
	errno syscall.Errno
	arg   []byte
	data  []byte
	diag  ts.RPCStatus
}

func errnoResult(e syscall.Errno) ioctlResult { return ioctlResult{errno: e} }

// connState is what one client stream holds.
type connState struct {
	w        *World
	log      *slog.Logger
	memfd    bool
	contexts map[uint32]*teeCtx
	nextCtx  uint32
	fds      []int // received, not yet claimed by SHM_ALLOC
	closed   chan struct{}
}

func (s *connState) reset() {
	for id, c := range s.contexts {
		c.release()
		delete(s.contexts, id)
	}
	for _, fd := range s.fds {
		unix.Close(fd)
	}
	s.fds = nil
}

func (s *connState) open(index uint32) (uint32, syscall.Errno) {
	if int(index) >= len(s.w.devices) {
		return 0, syscall.ENOENT
	}
	s.nextCtx++
	s.contexts[s.nextCtx] = &teeCtx{dev: s.w.devices[index], sessions: map[uint32]uint8{}, shms: map[int32]*shmBuf{}}
	return s.nextCtx, 0
}

func (s *connState) close(ctx uint32) syscall.Errno {
	c, ok := s.contexts[ctx]
	if !ok {
		return syscall.EBADF
	}
	c.release()
	delete(s.contexts, ctx)
	return 0
}

func (s *connState) shmFree(ctx uint32, id int32) syscall.Errno {
	c, ok := s.contexts[ctx]
	if !ok {
		return syscall.EBADF
	}
	sb, ok := c.shms[id]
	if !ok {
		return syscall.EINVAL
	}
	c.freeShm(sb)
	delete(c.shms, id)
	return 0
}

// ioctl runs one TEE ioctl on a context with the TEE core's argument
// checks and arm_tstee's semantics.
func (s *connState) ioctl(ctx uint32, req uint32, arg, data []byte) ioctlResult {
	c, ok := s.contexts[ctx]
	if !ok {
		return errnoResult(syscall.EBADF)
	}
	switch req {
	case tee.IocVersion:
		if len(arg) != tee.VersionDataSize {
			return errnoResult(syscall.EFAULT)
		}
		v := tee.VersionData{ImplID: c.dev.ImplID}
		if c.dev.Partition != nil {
			v.ImplCaps = uint32(c.dev.Partition.Endpoint)
		} else {
			v.ImplCaps = 1 // TEE_OPTEE_CAP_TZ
			v.GenCaps = tee.GenCapGP | tee.GenCapRegMem | tee.GenCapMemrefNull
		}
		return ioctlResult{arg: v.Marshal()}
	case tee.IocOpenSession:
		return s.openSession(c, arg)
	case tee.IocInvoke:
		return s.invoke(c, arg, data)
	case tee.IocCloseSession:
		if len(arg) != tee.CloseSessionSize {
			return errnoResult(syscall.EFAULT)
		}
		id := le.Uint32(arg)
		if _, ok := c.sessions[id]; !ok {
			return errnoResult(syscall.EINVAL)
		}
		delete(c.sessions, id)
		return ioctlResult{arg: arg}
	case tee.IocShmAlloc:
		return s.shmAlloc(c, arg)
	}
	// CANCEL, the supplicant calls, SHM_REGISTER: arm_tstee has none.
	return errnoResult(syscall.EINVAL)
}

func (s *connState) openSession(c *teeCtx, arg []byte) ioctlResult {
	a, ps, err := tee.UnmarshalOpenSession(arg)
	if err != nil {
		return errnoResult(syscall.EINVAL)
	}
	if c.dev.Partition == nil {
		// OP-TEE: an unknown TA is a successful ioctl with a GP error.
		a.Ret, a.RetOrigin = 0xffff0008, 3 // TEEC_ERROR_ITEM_NOT_FOUND from the TEE
		return ioctlResult{arg: tee.MarshalOpenSession(a, ps)}
	}
	iface, rs := c.dev.Partition.ServiceInfo(a.UUID)
	if rs != ts.RPCSuccess {
		return ioctlResult{errno: syscall.ENODEV, diag: rs}
	}
	var id uint32
	for hasSession(c.sessions, id) {
		id++
	}
	c.sessions[id] = iface
	a.Session, a.Ret, a.RetOrigin = id, 0, 0
	return ioctlResult{arg: tee.MarshalOpenSession(a, ps)}
}

func hasSession(m map[uint32]uint8, id uint32) bool { _, ok := m[id]; return ok }

func (s *connState) shmAlloc(c *teeCtx, arg []byte) ioctlResult {
	d, err := tee.UnmarshalShmAllocData(arg)
	if err != nil {
		return errnoResult(syscall.EFAULT)
	}
	var fd = -1
	if s.memfd {
		if len(s.fds) == 0 {
			return errnoResult(syscall.EINVAL)
		}
		fd, s.fds = s.fds[0], s.fds[1:]
		defer unix.Close(fd)
	}
	if d.Flags != 0 || d.Size == 0 || d.Size > tee.MaxEmuShm {
		return errnoResult(syscall.EINVAL)
	}
	if p := c.dev.Partition; p != nil {
		if rs := p.MemRetrieve(); rs != ts.RPCSuccess {
			s.log.Warn("partition refused shared memory", "device", c.dev.name(), "slots", tee.MaxShmPerSP, "rpc_status", rs)
			return ioctlResult{errno: syscall.EINVAL, diag: rs}
		}
	}
	sb := &shmBuf{}
	if fd >= 0 {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || uint64(st.Size) < d.Size {
			s.undoRetrieve(c)
			return errnoResult(syscall.EINVAL)
		}
		buf, err := unix.Mmap(fd, 0, int(d.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			s.undoRetrieve(c)
			return errnoResult(syscall.ENOMEM)
		}
		sb.buf, sb.mapped = buf, true
	} else {
		sb.buf = make([]byte, d.Size)
	}
	sb.id = c.dev.allocShmID()
	c.shms[sb.id] = sb
	d.ID = sb.id
	return ioctlResult{arg: d.Marshal()}
}

func (s *connState) undoRetrieve(c *teeCtx) {
	if c.dev.Partition != nil {
		c.dev.Partition.MemRelinquish()
	}
}

func (s *connState) invoke(c *teeCtx, arg, data []byte) ioctlResult {
	a, ps, err := tee.UnmarshalInvoke(arg)
	if err != nil || len(ps) == 0 {
		return errnoResult(syscall.EINVAL)
	}
	p := c.dev.Partition
	if p == nil {
		// OP-TEE stand-in: no sessions ever open.
		return errnoResult(syscall.EINVAL)
	}
	iface, ok := c.sessions[a.Session]
	if !ok {
		return errnoResult(syscall.EINVAL)
	}
	shmID := int32(uint32(ps[0].A))
	reqLen := uint32(ps[0].B)
	var sb *shmBuf
	if shmID != 0 {
		sb, ok = c.shms[shmID]
		if !ok {
			return errnoResult(syscall.EINVAL)
		}
		if uint64(reqLen) > uint64(len(sb.buf)) {
			return errnoResult(syscall.EINVAL)
		}
		if !sb.mapped {
			if len(data) != int(reqLen) {
				return errnoResult(syscall.EINVAL)
			}
			copy(sb.buf, data)
		}
	} else if reqLen != 0 {
		return errnoResult(syscall.EINVAL)
	}
	req := &Request{Opcode: uint16(a.Func), Client: 0}
	if sb != nil {
		req.Body = append([]byte(nil), sb.buf[:reqLen]...)
		req.Max = len(sb.buf)
	}
	resp, handled := s.w.faults.apply(s, p, req)
	if !handled {
		resp = p.Call(iface, req)
	}
	if resp.RPC != ts.RPCSuccess {
		s.log.Info("TS RPC error (the driver reports EINVAL)", "device", c.dev.name(), "opcode", fmt.Sprintf("%#04x", req.Opcode), "rpc_status", resp.RPC)
		return ioctlResult{errno: syscall.EINVAL, diag: resp.RPC}
	}
	a.Ret = uint32(resp.Status)
	var out []byte
	respLen := uint64(len(resp.Body))
	if resp.overlong {
		respLen = uint64(req.Max) + 1
	}
	if sb != nil {
		// The driver writes the length back only when it fits.
		if respLen <= uint64(len(sb.buf)) {
			copy(sb.buf, resp.Body)
			ps[0].A = respLen
		}
		if !sb.mapped && ps[0].A <= uint64(len(sb.buf)) {
			out = append([]byte(nil), sb.buf[:ps[0].A]...)
		}
	}
	return ioctlResult{arg: tee.MarshalInvoke(a, ps), data: out}
}
