package tee_test

// The kernel path (tee.Kernel: ioctls on a device fd, argument pointers,
// mmap of the fd SHM_ALLOC returns) run unchanged against the emulated
// secure world. A child process installs a seccomp filter that turns the
// TEE ioctls into user notifications; this test, its supervisor, reads
// each ioctl's argument from the child's memory, forwards it to the
// emulator as the very tee.h bytes, writes the result back and, for
// SHM_ALLOC, installs a memfd shared with the emulator as the ioctl's
// return value (SECCOMP_IOCTL_NOTIF_ADDFD). The child's device nodes are
// placeholder files named teeN.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/parsec-go/parsec/internal/tee"
	"github.com/parsec-go/parsec/internal/ts"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/tools/parsec-tsemu/emu"
)

// struct seccomp_data, seccomp_notif, seccomp_notif_resp and
// seccomp_notif_addfd from linux/seccomp.h (x/sys/unix has only the
// constants).
type seccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

type seccompNotifAddfd struct {
	ID         uint64
	Flags      uint32
	Srcfd      uint32
	Newfd      uint32
	NewfdFlags uint32
}

var teeIoctls = []uint32{tee.IocVersion, tee.IocShmAlloc, tee.IocOpenSession, tee.IocInvoke, tee.IocCancel, tee.IocCloseSession}

func auditArch() uint32 {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64
	}
	return 0
}

// installFilter makes every TEE ioctl of this process a user notification
// and returns the listener fd.
func installFilter() (int, error) {
	const (
		ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
	)
	n := uint8(len(teeIoctls))
	prog := []unix.SockFilter{
		{Code: ldAbs, K: 4}, // arch
		{Code: jeq, K: auditArch(), Jt: 0, Jf: 3 + n},
		{Code: ldAbs, K: 0}, // syscall number
		{Code: jeq, K: unix.SYS_IOCTL, Jt: 0, Jf: 1 + n},
		{Code: ldAbs, K: 24}, // low word of args[1], the request
	}
	for i, req := range teeIoctls {
		prog = append(prog, unix.SockFilter{Code: jeq, K: req, Jt: n - uint8(i), Jf: 0})
	}
	prog = append(prog,
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_USER_NOTIF},
	)
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, fmt.Errorf("no_new_privs: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	flags := unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_TSYNC | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	fd, _, en := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if en != 0 {
		return -1, fmt.Errorf("seccomp: %w", en)
	}
	return int(fd), nil
}

// TestSeccompChild is the child's side; it runs only when started by
// TestSeccompInterposer.
func TestSeccompChild(t *testing.T) {
	dir := os.Getenv("TEE_SECCOMP_CHILD")
	if dir == "" {
		t.Skip("run by TestSeccompInterposer")
	}
	lfd, err := installFilter()
	if err != nil {
		// Old kernels (no TSYNC_ESRCH before 5.7) or a sandbox: the parent skips.
		fmt.Println("SECCOMP-UNAVAILABLE:", err)
		return
	}
	ctl := os.NewFile(3, "control")
	uc, err := net.FileConn(ctl)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := uc.(*net.UnixConn).WriteMsgUnix([]byte{1}, unix.UnixRights(lfd), nil); err != nil {
		t.Fatal(err)
	}
	unix.Close(lfd)
	if err := kernelClientFlows(dir); err != nil {
		t.Fatal(err)
	}
}

type dirOpener struct{ dir string }

func (o dirOpener) List(context.Context) ([]string, error) {
	return tee.KernelDevices(o.dir)
}

func (o dirOpener) Open(_ context.Context, name string) (tee.Device, error) {
	return tee.OpenKernel(name)
}

// kernelClientFlows is the provider's stack over tee.Kernel.
func kernelClientFlows(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	o := dirOpener{dir}
	s, err := tee.FindService(ctx, o, ts.ServiceCrypto.UUID)
	if err != nil {
		return fmt.Errorf("find crypto: %w", err)
	}
	if !strings.HasSuffix(s.Dev.Name(), "tee1") || s.Version.ImplID != tee.ImplTSTEE || s.Version.ImplCaps != uint32(emu.EndpointCrypto) || s.ID != 0 {
		return fmt.Errorf("crypto on %s: %+v session %d", s.Dev.Name(), s.Version, s.ID)
	}
	if _, err := tee.OpenTSSession(ctx, s.Dev, ts.ServiceITS.UUID); !errors.Is(err, syscall.ENODEV) {
		return fmt.Errorf("ITS on the crypto device: %v, want ENODEV", err)
	}
	if _, _, err := s.Dev.Invoke(ctx, tee.InvokeArg{Session: 9}, []tee.Param{{Attr: tee.ParamValueInout}}); !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("unknown session: %v, want EINVAL", err)
	}
	s.Close(ctx)

	c, err := ts.Dial(ctx, o, ts.ServiceCrypto, 0, 30*time.Second)
	if err != nil {
		return fmt.Errorf("dial crypto: %w", err)
	}
	defer c.Close()
	cr := ts.NewCrypto(c)
	a := ts.KeyAttributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Lifetime: 1, ID: 7,
		Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)}
	if _, err := cr.GenerateKey(ctx, a); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	pub, err := cr.ExportPublicKey(ctx, 7)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	digest := sha256.Sum256([]byte("through the kernel path"))
	sig, err := cr.SignHash(ctx, 7, a.Alg, digest[:])
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	x, y := elliptic.Unmarshal(elliptic.P256(), pub)
	if x == nil || !ecdsa.Verify(&ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("signature does not verify")
	}
	big := bytes.Repeat([]byte{0x5a}, 150000)
	h, err := cr.HashCompute(ctx, psa.AlgSHA256, big)
	if want := sha256.Sum256(big); err != nil || !bytes.Equal(h, want[:]) {
		return fmt.Errorf("hash over the shared buffer: %x %v", h, err)
	}
	r, err := cr.GenerateRandom(ctx, 200000)
	if err != nil || len(r) != 200000 {
		return fmt.Errorf("random: %d %v", len(r), err)
	}
	if _, err := cr.ExportPublicKey(ctx, 8); !errors.Is(err, ts.PSAErrorDoesNotExist) {
		return fmt.Errorf("absent key: %v", err)
	}
	st, err := ts.Dial(ctx, o, ts.ServicePS, 4096, 30*time.Second)
	if err != nil {
		return fmt.Errorf("dial PS: %w", err)
	}
	defer st.Close()
	if !strings.HasSuffix(st.Device(), "tee3") {
		return fmt.Errorf("PS found on %s", st.Device())
	}
	ps := ts.NewStorage(st)
	if err := ps.Set(ctx, 1, []byte("kept"), 0); err != nil {
		return fmt.Errorf("PS set: %w", err)
	}
	if got, err := ps.Get(ctx, 1, 0, 16); err != nil || string(got) != "kept" {
		return fmt.Errorf("PS get: %q %v", got, err)
	}
	fmt.Println("child: all kernel-path flows passed")
	return nil
}

// supervisor forwards trapped ioctls to the emulator.
type supervisor struct {
	t    *testing.T
	lfd  int
	pid  int
	mem  *os.File
	emu  *net.UnixConn
	fr   *tee.FrameReader
	seq  uint32
	ctxs map[string]uint32 // child fd + path -> emulator context
	n    int               // ioctls handled
}

func (s *supervisor) frame(f *tee.Frame, fd int) (*tee.Frame, error) {
	s.seq++
	f.Seq = s.seq
	b, err := f.Marshal()
	if err != nil {
		return nil, err
	}
	if fd >= 0 {
		_, _, err = s.emu.WriteMsgUnix(b, unix.UnixRights(fd), nil)
	} else {
		_, err = s.emu.Write(b)
	}
	if err != nil {
		return nil, err
	}
	r, err := s.fr.Read()
	if err != nil {
		return nil, err
	}
	if r.Seq != f.Seq {
		return nil, fmt.Errorf("answer %d to request %d", r.Seq, f.Seq)
	}
	return r, nil
}

func (s *supervisor) read(addr uint64, n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := s.mem.ReadAt(b, int64(addr))
	return b, err
}

func (s *supervisor) write(addr uint64, b []byte) error {
	_, err := s.mem.WriteAt(b, int64(addr))
	return err
}

// context returns the emulator context for the child's fd, opening the
// device named by the placeholder file's name.
func (s *supervisor) context(fd uint64) (uint32, error) {
	path, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", s.pid, fd))
	if err != nil {
		return 0, err
	}
	key := strconv.FormatUint(fd, 10) + ":" + path
	if c, ok := s.ctxs[key]; ok {
		return c, nil
	}
	idx, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(path), "tee"))
	if err != nil {
		return 0, fmt.Errorf("%s is not a teeN placeholder", path)
	}
	r, err := s.frame(&tee.Frame{Type: tee.MsgOpen, Code: uint32(idx)}, -1)
	if err != nil {
		return 0, err
	}
	if r.Errno != 0 {
		return 0, syscall.Errno(r.Errno)
	}
	s.ctxs[key] = r.Ctx
	return r.Ctx, nil
}

// handle answers one notification: the ioctl's return value or errno,
// and for SHM_ALLOC the memfd to install.
func (s *supervisor) handle(n *seccompNotif) (val int64, errno syscall.Errno, addfd int) {
	addfd = -1
	fd, req, argp := n.Data.Args[0], uint32(n.Data.Args[1]), n.Data.Args[2]
	ctx, err := s.context(fd)
	if err != nil {
		s.t.Logf("ioctl on fd %d: %v", fd, err)
		return 0, syscall.EBADF, -1
	}
	var arg []byte
	argAddr := argp
	switch req {
	case tee.IocVersion:
		arg = make([]byte, tee.VersionDataSize)
	case tee.IocCloseSession:
		arg, err = s.read(argp, tee.CloseSessionSize)
	case tee.IocShmAlloc:
		arg, err = s.read(argp, tee.ShmAllocDataSize)
	case tee.IocOpenSession, tee.IocInvoke:
		var bd []byte
		if bd, err = s.read(argp, tee.BufDataSize); err == nil {
			ptr, n := leU64(bd), leU64(bd[8:])
			if n > tee.MaxArgSize {
				return 0, syscall.EINVAL, -1
			}
			argAddr = ptr
			arg, err = s.read(ptr, int(n))
		}
	default:
		return 0, syscall.EINVAL, -1
	}
	if err != nil {
		return 0, syscall.EFAULT, -1
	}
	memfd := -1
	if req == tee.IocShmAlloc {
		size := leU64(arg)
		if memfd, err = unix.MemfdCreate("tee-shm", unix.MFD_CLOEXEC); err != nil {
			return 0, syscall.ENOMEM, -1
		}
		if size == 0 || size > tee.MaxEmuShm || unix.Ftruncate(memfd, int64(size)) != nil {
			unix.Close(memfd)
			return 0, syscall.EINVAL, -1
		}
	}
	r, err := s.frame(&tee.Frame{Type: tee.MsgIoctl, Ctx: ctx, Code: req, Arg: arg}, memfd)
	if err != nil {
		s.t.Errorf("emulator: %v", err)
		return 0, syscall.EIO, -1
	}
	if r.Errno != 0 {
		if memfd >= 0 {
			unix.Close(memfd)
		}
		return 0, syscall.Errno(r.Errno), -1
	}
	if req != tee.IocVersion || len(r.Arg) > 0 {
		if err := s.write(argAddr, r.Arg); err != nil {
			return 0, syscall.EFAULT, -1
		}
	}
	return 0, 0, memfd
}

func leU64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func (s *supervisor) serve(done <-chan struct{}) error {
	for {
		select {
		case <-done:
			return nil
		default:
		}
		pfd := []unix.PollFd{{Fd: int32(s.lfd), Events: unix.POLLIN}}
		if n, err := unix.Poll(pfd, 100); err != nil && err != unix.EINTR {
			return err
		} else if n == 0 || pfd[0].Revents&unix.POLLIN == 0 {
			if pfd[0].Revents&unix.POLLHUP != 0 {
				return nil
			}
			continue
		}
		var n seccompNotif
		if _, _, en := unix.Syscall(unix.SYS_IOCTL, uintptr(s.lfd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n))); en != 0 {
			if en == unix.ENOENT || en == unix.EINTR {
				continue
			}
			return fmt.Errorf("NOTIF_RECV: %w", en)
		}
		val, errno, memfd := s.handle(&n)
		s.n++
		// The request must still be pending: its memory was read meanwhile.
		id := n.ID
		if _, _, en := unix.Syscall(unix.SYS_IOCTL, uintptr(s.lfd), unix.SECCOMP_IOCTL_NOTIF_ID_VALID, uintptr(unsafe.Pointer(&id))); en != 0 {
			if memfd >= 0 {
				unix.Close(memfd)
			}
			continue
		}
		if memfd >= 0 {
			add := seccompNotifAddfd{ID: n.ID, Flags: unix.SECCOMP_ADDFD_FLAG_SEND, Srcfd: uint32(memfd), NewfdFlags: unix.O_CLOEXEC}
			_, _, en := unix.Syscall(unix.SYS_IOCTL, uintptr(s.lfd), unix.SECCOMP_IOCTL_NOTIF_ADDFD, uintptr(unsafe.Pointer(&add)))
			unix.Close(memfd)
			if en != 0 {
				return fmt.Errorf("NOTIF_ADDFD: %w", en)
			}
			continue // ADDFD_FLAG_SEND answered the ioctl with the new fd
		}
		resp := seccompNotifResp{ID: n.ID, Val: val, Error: -int32(errno)}
		if _, _, en := unix.Syscall(unix.SYS_IOCTL, uintptr(s.lfd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp))); en != 0 && en != unix.ENOENT {
			return fmt.Errorf("NOTIF_SEND: %w", en)
		}
	}
}

func TestSeccompInterposer(t *testing.T) {
	if os.Getenv("TEE_SECCOMP_CHILD") != "" {
		t.Skip("in the child")
	}
	if auditArch() == 0 {
		t.Skip("no seccomp arch value for " + runtime.GOARCH)
	}
	// seccomp is not emulated by qemu-user.
	if _, _, en := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&[]uint32{unix.SECCOMP_RET_USER_NOTIF}[0]))); en != 0 {
		t.Skipf("seccomp user notification unavailable: %v", en)
	}
	dir := t.TempDir()
	for i := 0; i < 5; i++ {
		os.WriteFile(filepath.Join(dir, "tee"+strconv.Itoa(i)), nil, 0o600)
	}
	// tee0 is OP-TEE's own device, which discovery must skip.
	w, err := emu.New(emu.Options{OPTEE: true})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	emuEnd, _ := net.FileConn(os.NewFile(uintptr(pair[0]), "emu"))
	ourEnd, _ := net.FileConn(os.NewFile(uintptr(pair[1]), "sup"))
	go w.ServeConn(emuEnd.(*net.UnixConn))
	defer ourEnd.Close()

	ctl, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	childCtl := os.NewFile(uintptr(ctl[1]), "child-ctl")
	parentCtl, _ := net.FileConn(os.NewFile(uintptr(ctl[0]), "parent-ctl"))
	cmd := exec.Command(os.Args[0], "-test.run=^TestSeccompChild$", "-test.v")
	cmd.Env = append(os.Environ(), "TEE_SECCOMP_CHILD="+dir)
	cmd.ExtraFiles = []*os.File{childCtl}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	childCtl.Close()
	done := make(chan struct{})
	var werr error
	go func() { werr = cmd.Wait(); close(done) }()

	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4))
	parentCtl.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, oobn, _, _, err := parentCtl.(*net.UnixConn).ReadMsgUnix(buf, oob)
	if err != nil {
		<-done
		if strings.Contains(out.String(), "SECCOMP-UNAVAILABLE") {
			t.Skipf("the child cannot install the filter: %s", out.String())
		}
		t.Fatalf("no listener from the child: %v\n%s", err, out.String())
	}
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("listener fd: %v", err)
	}
	mem, err := os.OpenFile(fmt.Sprintf("/proc/%d/mem", cmd.Process.Pid), os.O_RDWR, 0)
	if err != nil {
		cmd.Process.Kill()
		<-done
		t.Skipf("cannot reach the child's memory here: %v", err)
	}
	defer mem.Close()
	s := &supervisor{t: t, lfd: fds[0], pid: cmd.Process.Pid, mem: mem, emu: ourEnd.(*net.UnixConn),
		fr: tee.NewFrameReader(ourEnd), ctxs: map[string]uint32{}}
	if r, err := s.frame(&tee.Frame{Type: tee.MsgHello, Code: tee.EmuProtocolVersion, Arg: tee.HelloArg(tee.HelloMemfd)}, -1); err != nil || r.Errno != 0 {
		t.Fatalf("hello: %v", err)
	}
	if err := s.serve(done); err != nil {
		t.Errorf("supervisor: %v", err)
	}
	<-done
	unix.Close(s.lfd)
	if werr != nil || !strings.Contains(out.String(), "all kernel-path flows passed") {
		t.Fatalf("child failed (%v):\n%s", werr, out.String())
	}
	if s.n < 20 {
		t.Errorf("only %d ioctls were interposed", s.n)
	}
	t.Logf("%d TEE ioctls of tee.Kernel served by the emulator", s.n)
}
