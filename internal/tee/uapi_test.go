package tee

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// Offsets and sizes from include/uapi/linux/tee.h. The structs use only
// naturally aligned fixed-size fields, so amd64 and arm64 agree; this test
// runs on both (scripts/arm64-tests.sh runs it under qemu-aarch64-static).
func TestStructLayout(t *testing.T) {
	type field struct {
		name   string
		got    uintptr
		offset uintptr
	}
	var v VersionData
	var s ShmAllocData
	var b BufData
	var p Param
	var o OpenSessionArg
	var i InvokeArg
	sizes := []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"tee_ioctl_version_data", unsafe.Sizeof(v), 12},
		{"tee_ioctl_shm_alloc_data", unsafe.Sizeof(s), 16},
		{"tee_ioctl_buf_data", unsafe.Sizeof(b), 16},
		{"tee_ioctl_param", unsafe.Sizeof(p), 32},
		{"tee_ioctl_open_session_arg", unsafe.Sizeof(o), 56},
		{"tee_ioctl_invoke_arg", unsafe.Sizeof(i), 24},
	}
	for _, c := range sizes {
		if c.got != c.want {
			t.Errorf("%s: sizeof = %d, tee.h says %d", c.name, c.got, c.want)
		}
	}
	fields := []field{
		{"version.impl_id", unsafe.Offsetof(v.ImplID), 0},
		{"version.impl_caps", unsafe.Offsetof(v.ImplCaps), 4},
		{"version.gen_caps", unsafe.Offsetof(v.GenCaps), 8},
		{"shm_alloc.size", unsafe.Offsetof(s.Size), 0},
		{"shm_alloc.flags", unsafe.Offsetof(s.Flags), 8},
		{"shm_alloc.id", unsafe.Offsetof(s.ID), 12},
		{"buf_data.buf_ptr", unsafe.Offsetof(b.BufPtr), 0},
		{"buf_data.buf_len", unsafe.Offsetof(b.BufLen), 8},
		{"param.attr", unsafe.Offsetof(p.Attr), 0},
		{"param.a", unsafe.Offsetof(p.A), 8},
		{"param.b", unsafe.Offsetof(p.B), 16},
		{"param.c", unsafe.Offsetof(p.C), 24},
		{"open_session.uuid", unsafe.Offsetof(o.UUID), 0},
		{"open_session.clnt_uuid", unsafe.Offsetof(o.ClntUUID), 16},
		{"open_session.clnt_login", unsafe.Offsetof(o.ClntLogin), 32},
		{"open_session.cancel_id", unsafe.Offsetof(o.CancelID), 36},
		{"open_session.session", unsafe.Offsetof(o.Session), 40},
		{"open_session.ret", unsafe.Offsetof(o.Ret), 44},
		{"open_session.ret_origin", unsafe.Offsetof(o.RetOrigin), 48},
		{"open_session.num_params", unsafe.Offsetof(o.NumParams), 52},
		{"invoke.func", unsafe.Offsetof(i.Func), 0},
		{"invoke.session", unsafe.Offsetof(i.Session), 4},
		{"invoke.cancel_id", unsafe.Offsetof(i.CancelID), 8},
		{"invoke.ret", unsafe.Offsetof(i.Ret), 12},
		{"invoke.ret_origin", unsafe.Offsetof(i.RetOrigin), 16},
		{"invoke.num_params", unsafe.Offsetof(i.NumParams), 20},
	}
	for _, f := range fields {
		if f.got != f.offset {
			t.Errorf("%s at offset %d, tee.h says %d", f.name, f.got, f.offset)
		}
	}
}

// The request numbers are _IOR/_IOWR(0xa4, n, size) with the generic
// encoding; the expected values are what a C program including
// linux/tee.h prints on amd64 and arm64.
func TestIoctlNumbers(t *testing.T) {
	cases := []struct {
		name string
		got  uint32
		want uint32
	}{
		{"TEE_IOC_VERSION", IocVersion, 0x800ca400},
		{"TEE_IOC_SHM_ALLOC", IocShmAlloc, 0xc010a401},
		{"TEE_IOC_OPEN_SESSION", IocOpenSession, 0x8010a402},
		{"TEE_IOC_INVOKE", IocInvoke, 0x8010a403},
		{"TEE_IOC_CANCEL", IocCancel, 0x8008a404},
		{"TEE_IOC_CLOSE_SESSION", IocCloseSession, 0x8004a405},
		{"TEE_IOC_SUPPL_RECV", IocSupplRecv, 0x8010a406},
		{"TEE_IOC_SUPPL_SEND", IocSupplSend, 0x8010a407},
		{"TEE_IOC_SHM_REGISTER", IocShmRegister, 0xc018a409},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
		if IoctlName(c.got) != c.name {
			t.Errorf("IoctlName(%#x) = %s", c.got, IoctlName(c.got))
		}
	}
}

func TestMarshalVectors(t *testing.T) {
	u := MustUUID("d9df52d5-16a2-4bb2-9aa4-d26d3b84e8c0")
	got := MarshalOpenSession(OpenSessionArg{UUID: u, Session: 7, Ret: 0xffff0008}, nil)
	want := "d9df52d516a24bb29aa4d26d3b84e8c0" + strings.Repeat("00", 16) +
		"00000000" + "00000000" + "07000000" + "0800ffff" + "00000000" + "00000000"
	if hex.EncodeToString(got) != want {
		t.Errorf("open session:\n got %x\nwant %s", got, want)
	}
	a, ps, err := UnmarshalOpenSession(got)
	if err != nil || a.UUID != u || a.Session != 7 || a.Ret != 0xffff0008 || len(ps) != 0 {
		t.Errorf("round trip: %+v %v %v", a, ps, err)
	}

	inv := MarshalInvoke(InvokeArg{Func: 0x0101, Session: 2}, []Param{{Attr: ParamValueInout, A: 1, B: 24}})
	want = "01010000" + "02000000" + "00000000" + "00000000" + "00000000" + "01000000" +
		"0300000000000000" + "0100000000000000" + "1800000000000000" + "0000000000000000"
	if hex.EncodeToString(inv) != want {
		t.Errorf("invoke:\n got %x\nwant %s", inv, want)
	}
	ia, ips, err := UnmarshalInvoke(inv)
	if err != nil || ia.Func != 0x101 || ia.Session != 2 || len(ips) != 1 || ips[0].B != 24 {
		t.Errorf("invoke round trip: %+v %+v %v", ia, ips, err)
	}

	sa := ShmAllocData{Size: 8192, ID: 3}.Marshal()
	if hex.EncodeToString(sa) != "0020000000000000"+"00000000"+"03000000" {
		t.Errorf("shm alloc: %x", sa)
	}
	vd := VersionData{ImplID: 3, ImplCaps: 0x8002}.Marshal()
	if !bytes.Equal(vd, []byte{3, 0, 0, 0, 2, 0x80, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("version: %x", vd)
	}
}

// The TEE core demands buf_len == sizeof(arg) + 32 * num_params.
func TestUnmarshalRejectsBadLengths(t *testing.T) {
	good := MarshalInvoke(InvokeArg{}, []Param{{}})
	for _, b := range [][]byte{good[:InvokeArgSize], good[:len(good)-1], append(good, 0), make([]byte, 3)} {
		if _, _, err := UnmarshalInvoke(b); err == nil {
			t.Errorf("UnmarshalInvoke accepted %d bytes", len(b))
		}
	}
	os := MarshalOpenSession(OpenSessionArg{}, nil)
	le.PutUint32(os[52:], 1)
	if _, _, err := UnmarshalOpenSession(os); err == nil {
		t.Error("UnmarshalOpenSession accepted num_params 1 without parameters")
	}
	if _, _, err := UnmarshalOpenSession(make([]byte, 2048)); err == nil {
		t.Error("UnmarshalOpenSession accepted more than TEE_MAX_ARG_SIZE")
	}
}

// Checks our layout against the system's linux/tee.h with a C compiler,
// when both are present and the compiler targets the test's architecture.
func TestLayoutAgainstSystemHeader(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the host C compiler targets amd64")
	}
	if _, err := os.Stat("/usr/include/linux/tee.h"); err != nil {
		t.Skip("no linux/tee.h")
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	dir := t.TempDir()
	src := `#include <stdio.h>
#include <stddef.h>
#include <linux/tee.h>
#define O(s, f) printf("%zu ", offsetof(struct s, f))
int main(void) {
	printf("%lu %lu %lu %lu %lu %lu %lu ", (unsigned long)TEE_IOC_VERSION, (unsigned long)TEE_IOC_SHM_ALLOC,
	       (unsigned long)TEE_IOC_OPEN_SESSION, (unsigned long)TEE_IOC_INVOKE, (unsigned long)TEE_IOC_CANCEL,
	       (unsigned long)TEE_IOC_CLOSE_SESSION, (unsigned long)TEE_IOC_SHM_REGISTER);
	printf("%zu %zu %zu %zu %zu %zu ", sizeof(struct tee_ioctl_version_data), sizeof(struct tee_ioctl_shm_alloc_data),
	       sizeof(struct tee_ioctl_buf_data), sizeof(struct tee_ioctl_param),
	       sizeof(struct tee_ioctl_open_session_arg), sizeof(struct tee_ioctl_invoke_arg));
	O(tee_ioctl_shm_alloc_data, flags); O(tee_ioctl_shm_alloc_data, id);
	O(tee_ioctl_open_session_arg, clnt_login); O(tee_ioctl_open_session_arg, session);
	O(tee_ioctl_open_session_arg, ret); O(tee_ioctl_open_session_arg, num_params);
	O(tee_ioctl_open_session_arg, params);
	O(tee_ioctl_invoke_arg, session); O(tee_ioctl_invoke_arg, ret); O(tee_ioctl_invoke_arg, num_params);
	O(tee_ioctl_invoke_arg, params);
	printf("\n");
	return 0;
}
`
	if err := os.WriteFile(filepath.Join(dir, "p.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "p")
	if out, err := exec.Command(cc, "-o", bin, filepath.Join(dir, "p.c")).CombinedOutput(); err != nil {
		t.Skipf("cannot compile the probe: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	var s ShmAllocData
	var o OpenSessionArg
	var i InvokeArg
	want := []uint64{
		uint64(IocVersion), uint64(IocShmAlloc), uint64(IocOpenSession), uint64(IocInvoke),
		uint64(IocCancel), uint64(IocCloseSession), uint64(IocShmRegister),
		VersionDataSize, ShmAllocDataSize, BufDataSize, ParamSize, OpenSessionArgSize, InvokeArgSize,
		uint64(unsafe.Offsetof(s.Flags)), uint64(unsafe.Offsetof(s.ID)),
		uint64(unsafe.Offsetof(o.ClntLogin)), uint64(unsafe.Offsetof(o.Session)),
		uint64(unsafe.Offsetof(o.Ret)), uint64(unsafe.Offsetof(o.NumParams)), uint64(unsafe.Sizeof(o)),
		uint64(unsafe.Offsetof(i.Session)), uint64(unsafe.Offsetof(i.Ret)), uint64(unsafe.Offsetof(i.NumParams)), uint64(unsafe.Sizeof(i)),
	}
	fields := strings.Fields(string(out))
	if len(fields) != len(want) {
		t.Fatalf("probe printed %d values, want %d: %s", len(fields), len(want), out)
	}
	for k, f := range fields {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil || n != want[k] {
			t.Errorf("value %d: C says %s, Go says %d", k, f, want[k])
		}
	}
}

func TestUUID(t *testing.T) {
	s := "bdcd76d7-825e-4751-963b-86d4f84943ac"
	u, err := ParseUUID(s)
	if err != nil || u.String() != s || u[0] != 0xbd || u[15] != 0xac {
		t.Fatalf("ParseUUID(%s) = %x, %v", s, u, err)
	}
	for _, bad := range []string{"", "bdcd76d7825e4751963b86d4f84943ac", "bdcd76d7-825e-4751-963b-86d4f84943aZ", "bdcd76d7-825e-4751-963b-86d4f84943ac0"} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) succeeded", bad)
		}
	}
}
