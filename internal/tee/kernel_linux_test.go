package tee

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// skipIfIoctlsEmulated skips where TEE ioctls never reach a kernel:
// qemu-user answers ioctls it does not know with ENOSYS.
func skipIfIoctlsEmulated(t *testing.T) {
	k, err := OpenKernel("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := k.Version(context.Background()); errors.Is(err, syscall.ENOSYS) {
		t.Skip("TEE ioctls are not passed to the kernel here (qemu-user)")
	}
}

// The ioctl plumbing against a real kernel file that is not a TEE: every
// request reaches the kernel and comes back as ENOTTY, with the device
// still usable and its errno mapped.
func TestKernelAgainstNonTEE(t *testing.T) {
	skipIfIoctlsEmulated(t)
	k, err := OpenKernel("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = k.Version(ctx)
	if !errors.Is(err, syscall.ENOTTY) || !strings.Contains(err.Error(), "TEE_IOC_VERSION on /dev/null") {
		t.Errorf("version: %v", err)
	}
	_, _, err = k.OpenSession(ctx, OpenSessionArg{}, nil)
	if !errors.Is(err, syscall.ENOTTY) {
		t.Errorf("open session: %v", err)
	}
	_, _, err = k.Invoke(ctx, InvokeArg{}, []Param{{Attr: ParamValueInout}})
	if !errors.Is(err, syscall.ENOTTY) {
		t.Errorf("invoke: %v", err)
	}
	if _, err := k.ShmAlloc(ctx, 4096); !errors.Is(err, syscall.ENOTTY) {
		t.Errorf("shm alloc: %v", err)
	}
	if err := k.CloseSession(ctx, 0); !errors.Is(err, syscall.ENOTTY) {
		t.Errorf("close session: %v", err)
	}
	// An argument larger than the TEE core allows never reaches the kernel.
	_, _, err = k.Invoke(ctx, InvokeArg{}, make([]Param, 40))
	if !errors.Is(err, syscall.EINVAL) {
		t.Errorf("oversized argument: %v", err)
	}
	if err := k.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := k.Version(ctx); !errors.Is(err, syscall.EBADF) {
		t.Errorf("after close: %v", err)
	}
}

func TestKernelOpenErrors(t *testing.T) {
	_, err := OpenKernel(filepath.Join(t.TempDir(), "tee0"))
	if !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), "no such TEE device") {
		t.Errorf("missing device: %v", err)
	}
}

func TestKernelDiscoveryOrder(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"tee10", "tee2", "teepriv0", "tee0", "teeX", "null"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := KernelDevices(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"tee0", "tee2", "tee10"}
	if len(got) != len(want) {
		t.Fatalf("devices %v", got)
	}
	for i := range want {
		if filepath.Base(got[i]) != want[i] {
			t.Errorf("devices %v, want %v in numeric order", got, want)
		}
	}
	// FindService over files that are not TEEs names each and why.
	skipIfIoctlsEmulated(t)
	o := fileOpener{got}
	_, err = FindService(context.Background(), o, MustUUID("d9df52d5-16a2-4bb2-9aa4-d26d3b84e8c0"))
	if !errors.Is(err, syscall.ENODEV) || strings.Count(err.Error(), "inappropriate ioctl") != 3 {
		t.Errorf("discovery over non-TEE files: %v", err)
	}
}

type fileOpener struct{ names []string }

func (o fileOpener) List(context.Context) ([]string, error) { return o.names, nil }
func (o fileOpener) Open(_ context.Context, name string) (Device, error) {
	return OpenKernel(name)
}
