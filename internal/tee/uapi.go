package tee

import (
	"encoding/binary"
	"fmt"
)

// Values from the kernel's include/uapi/linux/tee.h, declared here because
// golang.org/x/sys/unix has none of them. The layouts below are the same on
// every 64-bit little-endian Linux architecture we build for (amd64, arm64);
// uapi_test.go pins each offset.

// Implementation ids reported by TEE_IOC_VERSION.
const (
	ImplOPTEE  uint32 = 1
	ImplAMDTEE uint32 = 2
	ImplTSTEE  uint32 = 3 // arm_tstee: one device per Trusted Services partition
)

// Generic capability bits (gen_caps).
const (
	GenCapGP         uint32 = 1 << 0
	GenCapPrivileged uint32 = 1 << 1
	GenCapRegMem     uint32 = 1 << 2
	GenCapMemrefNull uint32 = 1 << 3
)

// Parameter attribute types.
const (
	ParamNone         uint64 = 0
	ParamValueInput   uint64 = 1
	ParamValueOutput  uint64 = 2
	ParamValueInout   uint64 = 3
	ParamMemrefInput  uint64 = 5
	ParamMemrefOutput uint64 = 6
	ParamMemrefInout  uint64 = 7
)

// LoginPublic is the only login method the TS path uses.
const LoginPublic uint32 = 0

// MaxArgSize is TEE_MAX_ARG_SIZE: the TEE core rejects larger arguments.
const MaxArgSize = 1024

// Struct sizes in bytes.
const (
	VersionDataSize    = 12
	ShmAllocDataSize   = 16
	BufDataSize        = 16
	ParamSize          = 32
	OpenSessionArgSize = 56
	InvokeArgSize      = 24
	CancelArgSize      = 8
	CloseSessionSize   = 4
)

const (
	iocMagic = 0xa4

	iocNone  = 0
	iocWrite = 1
	iocRead  = 2

	iocNRShift   = 0
	iocTypeShift = 8
	iocSizeShift = 16
	iocDirShift  = 30
)

// ioc computes an ioctl request number with the generic _IOC layout used by
// amd64 and arm64 (2 direction bits, 14 size bits, 8 type bits, 8 number bits).
func ioc(dir, typ, nr, size uint32) uint32 {
	return dir<<iocDirShift | size<<iocSizeShift | typ<<iocTypeShift | nr<<iocNRShift
}

// TEE ioctl request numbers.
var (
	IocVersion      = ioc(iocRead, iocMagic, 0, VersionDataSize)
	IocShmAlloc     = ioc(iocRead|iocWrite, iocMagic, 1, ShmAllocDataSize)
	IocOpenSession  = ioc(iocRead, iocMagic, 2, BufDataSize)
	IocInvoke       = ioc(iocRead, iocMagic, 3, BufDataSize)
	IocCancel       = ioc(iocRead, iocMagic, 4, CancelArgSize)
	IocCloseSession = ioc(iocRead, iocMagic, 5, CloseSessionSize)
	IocSupplRecv    = ioc(iocRead, iocMagic, 6, BufDataSize)
	IocSupplSend    = ioc(iocRead, iocMagic, 7, BufDataSize)
	IocShmRegister  = ioc(iocRead|iocWrite, iocMagic, 9, 24)
)

// IoctlName names a TEE request number for logs.
func IoctlName(req uint32) string {
	switch req {
	case IocVersion:
		return "TEE_IOC_VERSION"
	case IocShmAlloc:
		return "TEE_IOC_SHM_ALLOC"
	case IocOpenSession:
		return "TEE_IOC_OPEN_SESSION"
	case IocInvoke:
		return "TEE_IOC_INVOKE"
	case IocCancel:
		return "TEE_IOC_CANCEL"
	case IocCloseSession:
		return "TEE_IOC_CLOSE_SESSION"
	case IocSupplRecv:
		return "TEE_IOC_SUPPL_RECV"
	case IocSupplSend:
		return "TEE_IOC_SUPPL_SEND"
	case IocShmRegister:
		return "TEE_IOC_SHM_REGISTER"
	}
	return fmt.Sprintf("ioctl(%#x)", req)
}

// VersionData is struct tee_ioctl_version_data.
type VersionData struct {
	ImplID   uint32
	ImplCaps uint32
	GenCaps  uint32
}

// ShmAllocData is struct tee_ioctl_shm_alloc_data.
type ShmAllocData struct {
	Size  uint64
	Flags uint32
	ID    int32
}

// BufData is struct tee_ioctl_buf_data.
type BufData struct {
	BufPtr uint64
	BufLen uint64
}

// Param is struct tee_ioctl_param; for value parameters A, B and C are
// the values, for memory references A is the offset, B the size and C the
// shared memory id.
type Param struct {
	Attr uint64
	A    uint64
	B    uint64
	C    uint64
}

// OpenSessionArg is struct tee_ioctl_open_session_arg without its
// trailing parameters.
type OpenSessionArg struct {
	UUID      [16]byte
	ClntUUID  [16]byte
	ClntLogin uint32
	CancelID  uint32
	Session   uint32
	Ret       uint32
	RetOrigin uint32
	NumParams uint32
}

// InvokeArg is struct tee_ioctl_invoke_arg without its trailing parameters.
type InvokeArg struct {
	Func      uint32
	Session   uint32
	CancelID  uint32
	Ret       uint32
	RetOrigin uint32
	NumParams uint32
}

// The byte forms below are what the emulator socket carries; they match the
// in-memory layout the kernel reads, so one set of helpers serves both paths.

var le = binary.LittleEndian

// Marshal returns the 12-byte form.
func (v VersionData) Marshal() []byte {
	b := make([]byte, VersionDataSize)
	le.PutUint32(b[0:], v.ImplID)
	le.PutUint32(b[4:], v.ImplCaps)
	le.PutUint32(b[8:], v.GenCaps)
	return b
}

// UnmarshalVersionData parses the 12-byte form.
func UnmarshalVersionData(b []byte) (VersionData, error) {
	if len(b) != VersionDataSize {
		return VersionData{}, fmt.Errorf("tee: version data is %d bytes, want %d", len(b), VersionDataSize)
	}
	return VersionData{ImplID: le.Uint32(b[0:]), ImplCaps: le.Uint32(b[4:]), GenCaps: le.Uint32(b[8:])}, nil
}

// Marshal returns the 16-byte form.
func (s ShmAllocData) Marshal() []byte {
	b := make([]byte, ShmAllocDataSize)
	le.PutUint64(b[0:], s.Size)
	le.PutUint32(b[8:], s.Flags)
	le.PutUint32(b[12:], uint32(s.ID))
	return b
}

// UnmarshalShmAllocData parses the 16-byte form.
func UnmarshalShmAllocData(b []byte) (ShmAllocData, error) {
	if len(b) != ShmAllocDataSize {
		return ShmAllocData{}, fmt.Errorf("tee: shm alloc data is %d bytes, want %d", len(b), ShmAllocDataSize)
	}
	return ShmAllocData{Size: le.Uint64(b[0:]), Flags: le.Uint32(b[8:]), ID: int32(le.Uint32(b[12:]))}, nil
}

func putParams(b []byte, ps []Param) {
	for i, p := range ps {
		o := i * ParamSize
		le.PutUint64(b[o:], p.Attr)
		le.PutUint64(b[o+8:], p.A)
		le.PutUint64(b[o+16:], p.B)
		le.PutUint64(b[o+24:], p.C)
	}
}

func getParams(b []byte, n int) []Param {
	ps := make([]Param, n)
	for i := range ps {
		o := i * ParamSize
		ps[i] = Param{Attr: le.Uint64(b[o:]), A: le.Uint64(b[o+8:]), B: le.Uint64(b[o+16:]), C: le.Uint64(b[o+24:])}
	}
	return ps
}

// MarshalOpenSession returns the argument bytes (struct plus parameters)
// that TEE_IOC_OPEN_SESSION's buf_data points at. NumParams is set from ps.
func MarshalOpenSession(a OpenSessionArg, ps []Param) []byte {
	b := make([]byte, OpenSessionArgSize+ParamSize*len(ps))
	copy(b[0:16], a.UUID[:])
	copy(b[16:32], a.ClntUUID[:])
	le.PutUint32(b[32:], a.ClntLogin)
	le.PutUint32(b[36:], a.CancelID)
	le.PutUint32(b[40:], a.Session)
	le.PutUint32(b[44:], a.Ret)
	le.PutUint32(b[48:], a.RetOrigin)
	le.PutUint32(b[52:], uint32(len(ps)))
	putParams(b[OpenSessionArgSize:], ps)
	return b
}

// UnmarshalOpenSession parses open-session argument bytes, enforcing the
// TEE core's rule that the length is exactly the struct plus num_params
// parameters and at most MaxArgSize.
func UnmarshalOpenSession(b []byte) (OpenSessionArg, []Param, error) {
	if len(b) < OpenSessionArgSize || len(b) > MaxArgSize {
		return OpenSessionArg{}, nil, fmt.Errorf("tee: open-session argument is %d bytes", len(b))
	}
	var a OpenSessionArg
	copy(a.UUID[:], b[0:16])
	copy(a.ClntUUID[:], b[16:32])
	a.ClntLogin = le.Uint32(b[32:])
	a.CancelID = le.Uint32(b[36:])
	a.Session = le.Uint32(b[40:])
	a.Ret = le.Uint32(b[44:])
	a.RetOrigin = le.Uint32(b[48:])
	a.NumParams = le.Uint32(b[52:])
	if uint64(len(b)) != OpenSessionArgSize+ParamSize*uint64(a.NumParams) {
		return OpenSessionArg{}, nil, fmt.Errorf("tee: open-session argument is %d bytes for %d parameters", len(b), a.NumParams)
	}
	return a, getParams(b[OpenSessionArgSize:], int(a.NumParams)), nil
}

// MarshalInvoke returns the argument bytes TEE_IOC_INVOKE's buf_data
// points at. NumParams is set from ps.
func MarshalInvoke(a InvokeArg, ps []Param) []byte {
	b := make([]byte, InvokeArgSize+ParamSize*len(ps))
	le.PutUint32(b[0:], a.Func)
	le.PutUint32(b[4:], a.Session)
	le.PutUint32(b[8:], a.CancelID)
	le.PutUint32(b[12:], a.Ret)
	le.PutUint32(b[16:], a.RetOrigin)
	le.PutUint32(b[20:], uint32(len(ps)))
	putParams(b[InvokeArgSize:], ps)
	return b
}

// UnmarshalInvoke parses invoke argument bytes with the same length rules
// as UnmarshalOpenSession.
func UnmarshalInvoke(b []byte) (InvokeArg, []Param, error) {
	if len(b) < InvokeArgSize || len(b) > MaxArgSize {
		return InvokeArg{}, nil, fmt.Errorf("tee: invoke argument is %d bytes", len(b))
	}
	a := InvokeArg{
		Func: le.Uint32(b[0:]), Session: le.Uint32(b[4:]), CancelID: le.Uint32(b[8:]),
		Ret: le.Uint32(b[12:]), RetOrigin: le.Uint32(b[16:]), NumParams: le.Uint32(b[20:]),
	}
	if uint64(len(b)) != InvokeArgSize+ParamSize*uint64(a.NumParams) {
		return InvokeArg{}, nil, fmt.Errorf("tee: invoke argument is %d bytes for %d parameters", len(b), a.NumParams)
	}
	return a, getParams(b[InvokeArgSize:], int(a.NumParams)), nil
}
