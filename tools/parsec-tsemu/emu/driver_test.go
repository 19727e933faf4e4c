package emu_test

import (
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/parsec-go/parsec/internal/tee"
	"github.com/parsec-go/parsec/internal/ts"
	pc "github.com/parsec-go/parsec/internal/ts/packedc"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/tools/parsec-tsemu/emu"
)

// The arm_tstee behaviours a client can observe (see the fidelity
// checklist in shared/research/trusted-services.md).
func TestDeviceModel(t *testing.T) {
	_, path := startWorld(t, emu.Options{OPTEE: true})
	c := dial(t, path)
	ctx := ctxT(t)
	o := tee.EmuOpener{Conn: c}
	names, _ := o.List(ctx)
	if len(names) != 5 {
		t.Fatalf("devices %v, want OP-TEE + 4 partitions", names)
	}
	d0, err := o.Open(ctx, "tee0")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := d0.Version(ctx); err != nil || v.ImplID != tee.ImplOPTEE {
		t.Errorf("tee0 version %+v %v", v, err)
	}
	d0.Close()

	s, err := tee.FindService(ctx, o, ts.ServiceCrypto.UUID)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if s.Dev.Name() != "emu:tee1" || s.Version.ImplID != tee.ImplTSTEE || s.Version.ImplCaps != uint32(emu.EndpointCrypto) || s.Version.GenCaps != 0 {
		t.Errorf("crypto on %s with %+v", s.Dev.Name(), s.Version)
	}
	if s.ID != 0 {
		t.Errorf("first session id %d, want 0 (the xarray starts at 0)", s.ID)
	}
	// Both crypto encodings live on the crypto partition.
	id1, err := tee.OpenTSSession(ctx, s.Dev, ts.ServiceCryptoProtobuf.UUID)
	if err != nil || id1 != 1 {
		t.Errorf("second session %d %v", id1, err)
	}
	if err := s.Dev.CloseSession(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if id, err := tee.OpenTSSession(ctx, s.Dev, ts.ServiceCrypto.UUID); err != nil || id != 0 {
		t.Errorf("reopened session %d %v, want the lowest free id 0", id, err)
	}
	if err := s.Dev.CloseSession(ctx, 7); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("closing an unknown session: %v", err)
	}
	if _, err := tee.OpenTSSession(ctx, s.Dev, ts.ServiceITS.UUID); !errors.Is(err, syscall.ENODEV) {
		t.Errorf("ITS on the crypto partition: %v, want ENODEV", err)
	}
	_, err = tee.FindService(ctx, o, tee.MustUUID("00000000-0000-0000-0000-000000000001"))
	if !errors.Is(err, syscall.ENODEV) || !strings.Contains(err.Error(), "not arm_tstee") {
		t.Errorf("unknown service: %v", err)
	}
	if _, err := c.Open(ctx, 9); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("opening tee9: %v", err)
	}

	shm, err := s.Dev.ShmAlloc(ctx, 4096)
	if err != nil || shm.ID != 1 {
		t.Fatalf("first shm id %v %v, want 1", shm, err)
	}
	shm2, _ := s.Dev.ShmAlloc(ctx, 100)
	if shm2.ID != 2 {
		t.Errorf("second shm id %d", shm2.ID)
	}
	shm.Close()
	shm3, _ := s.Dev.ShmAlloc(ctx, 100)
	if shm3.ID != 1 {
		t.Errorf("reallocated shm id %d, want 1", shm3.ID)
	}
	shm2.Close()
	shm3.Close()
}

func TestInvokeErrors(t *testing.T) {
	_, path := startWorld(t, emu.Options{})
	for _, addr := range []string{path, "unix-inline:" + path} {
		c := dial(t, addr)
		ctx := ctxT(t)
		s, err := tee.FindService(ctx, tee.EmuOpener{Conn: c}, ts.ServiceCrypto.UUID)
		if err != nil {
			t.Fatal(err)
		}
		shm, err := s.Dev.ShmAlloc(ctx, 64)
		if err != nil {
			t.Fatal(err)
		}
		inv := func(session uint32, ps []tee.Param) error {
			_, _, err := s.Dev.Invoke(ctx, tee.InvokeArg{Func: uint32(pc.OpGenerateRandom), Session: session}, ps)
			return err
		}
		v := func(a, b uint64) []tee.Param { return []tee.Param{{Attr: tee.ParamValueInout, A: a, B: b}} }
		copy(shm.Buf, []byte{4, 0, 0, 0})
		if err := inv(s.ID, v(uint64(shm.ID), 4)); err != nil {
			t.Errorf("%s: good call: %v", addr, err)
		}
		cases := map[string]error{
			"unknown session":   inv(5, v(uint64(shm.ID), 4)),
			"unknown shm":       inv(s.ID, v(9, 4)),
			"request too long":  inv(s.ID, v(uint64(shm.ID), 65)),
			"no parameters":     inv(s.ID, nil),
			"no buffer, length": inv(s.ID, v(0, 4)),
		}
		for name, err := range cases {
			if !errors.Is(err, syscall.EINVAL) {
				t.Errorf("%s: %s: %v, want EINVAL", addr, name, err)
			}
		}
		// An opcode the service lacks is a TS RPC error: EINVAL with the
		// emulator's diagnostic.
		_, err = tee.InvokeTS(ctx, s.Dev, s.ID, 0x0999, shm, 0)
		if !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "TS RPC status -2") {
			t.Errorf("%s: unknown opcode: %v", addr, err)
		}
		// A malformed request body: INVALID_REQUEST_BODY (-6).
		_, err = tee.InvokeTS(ctx, s.Dev, s.ID, pc.OpSignHash, shm, 3)
		if !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "-6") {
			t.Errorf("%s: short body: %v", addr, err)
		}
		shm.Close()
		s.Close(ctx)
	}
}

// A partition holds 16 shared memories for all clients together; the
// 17th is refused (EINVAL), and closing a client releases its share.
func TestShmSlotLimit(t *testing.T) {
	w, path := startWorld(t, emu.Options{})
	ctx := ctxT(t)
	c1, c2 := dial(t, path), dial(t, path)
	d1, err := c1.Open(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := c2.Open(ctx, 0)
	var held []*tee.Shm
	for i := 0; i < 10; i++ {
		s, err := d1.ShmAlloc(ctx, 4096)
		if err != nil {
			t.Fatalf("alloc %d: %v", i, err)
		}
		held = append(held, s)
	}
	for i := 0; i < 6; i++ {
		if _, err := d2.ShmAlloc(ctx, 4096); err != nil {
			t.Fatalf("alloc %d on the second client: %v", i, err)
		}
	}
	crypto := w.Devices()[0].Partition
	if crypto.Slots() != 16 {
		t.Fatalf("partition holds %d", crypto.Slots())
	}
	_, err = d2.ShmAlloc(ctx, 4096)
	if !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "-8") {
		t.Fatalf("17th shared memory: %v, want EINVAL (RPC RESOURCE_FAILURE)", err)
	}
	held[0].Close()
	if _, err := d2.ShmAlloc(ctx, 4096); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	c1.Close()
	waitFor(t, func() bool { return crypto.Slots() == 7 })
	// The device's own bookkeeping also refuses a 17th buffer locally.
	c3 := dial(t, path)
	d3, _ := c3.Open(ctx, 1)
	for i := 0; i < tee.MaxShmPerSP; i++ {
		if _, err := d3.ShmAlloc(ctx, 64); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d3.ShmAlloc(ctx, 64); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("local limit: %v", err)
	}
}

// The same calls work over every transport: memfd on a Unix socket,
// inline on a Unix socket, and inline over a tty (the guest side of a
// virtio console looks like this), with garbage on the line first.
func TestTransports(t *testing.T) {
	w, path := startWorld(t, emu.Options{})
	master, slave := openPTY(t)
	go w.ServeConn(master)
	// Bytes that are not a frame, as a client killed mid-write leaves.
	// The slave stays open: a pty master reads EIO once no slave is.
	hold, err := os.OpenFile(slave, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if _, err := hold.Write([]byte("\x00garbage TSEM\xff\xff\xff\xff")); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"unix:" + path, "unix-inline:" + path, "serial:" + slave} {
		c := dial(t, addr)
		cr := ts.NewCrypto(caller(t, c, ts.ServiceCrypto))
		ctx := ctxT(t)
		r, err := cr.GenerateRandom(ctx, 100000)
		if err != nil || len(r) != 100000 {
			t.Fatalf("%s: random: %d bytes, %v", addr, len(r), err)
		}
		msg := make([]byte, 70000) // more than one TLV: hashed in chunks
		for i := range msg {
			msg[i] = byte(i)
		}
		h, err := cr.HashCompute(ctx, psa.AlgSHA256, msg)
		if err != nil {
			t.Fatalf("%s: hash: %v", addr, err)
		}
		if err := cr.HashCompare(ctx, psa.AlgSHA256, msg, h); err != nil {
			t.Errorf("%s: hash compare: %v", addr, err)
		}
		c.Close()
	}
}

// openPTY returns the master as an *os.File and the slave's path.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	// Through SyscallConn: Fd would make the master blocking.
	rc, err := m.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var e error
	rc.Control(func(fd uintptr) {
		var unlock int32
		if _, _, en := syscall.Syscall(syscall.SYS_IOCTL, fd, unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); en != 0 {
			e = en
			return
		}
		n, e = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
	})
	if e != nil {
		t.Skipf("pty: %v", e)
	}
	t.Cleanup(func() { m.Close() })
	return m, "/dev/pts/" + itoa(n)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

var _ net.Conn = (*net.UnixConn)(nil)

// On a serial line an answer meant for a client that gave up (or died)
// can reach the next client of the port; it must be ignored.
func TestStaleAnswersOnSerial(t *testing.T) {
	f, err := emu.ParseFault("crypto/0x010c:delay=400*1")
	if err != nil {
		t.Fatal(err)
	}
	w, err := emu.New(emu.Options{Faults: []emu.Fault{f}})
	if err != nil {
		t.Fatal(err)
	}
	master, slave := openPTY(t)
	go w.ServeConn(master)
	hold, err := os.OpenFile(slave, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	c1, err := tee.DialEmulator(ctxT(t), "serial:"+slave)
	if err != nil {
		t.Fatal(err)
	}
	cl1, err := ts.Dial(ctxT(t), tee.EmuOpener{Conn: c1}, ts.ServiceCrypto, 4096, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.NewCrypto(cl1).GenerateRandom(ctxT(t), 16); !errors.Is(err, tee.ErrTimeout) {
		t.Fatalf("delayed call: %v", err)
	}
	c1.Close()
	// The late answer arrives while the next client talks on the port.
	c2 := dial(t, "serial:"+slave)
	cr := ts.NewCrypto(caller(t, c2, ts.ServiceCrypto))
	for i := 0; i < 5; i++ {
		r, err := cr.GenerateRandom(ctxT(t), 32)
		if err != nil || len(r) != 32 {
			t.Fatalf("call %d on the new client: %v", i, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
