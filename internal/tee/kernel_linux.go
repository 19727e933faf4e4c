//go:build linux

package tee

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Kernel is a /dev/teeN device driven through the generic TEE ioctls.
//
// OPEN_SESSION and INVOKE pass the kernel a pointer to a buf_data that
// itself holds a pointer to the argument, which the garbage collector must
// neither move nor free while the kernel reads it. The arguments therefore
// live in one anonymous mmap'd page per device, outside the Go heap, and
// calls on a device are serialised.
type Kernel struct {
	path string

	mu     sync.Mutex
	fd     int
	page   []byte // ioctl argument page
	broken error
	shms   int // live shared memories (see MaxShmPerSP)
	calls  sync.WaitGroup
}

const argPageSize = 4096

// argument page layout: buf_data at 0, the argument it points at from 64.
const argOffset = 64

// OpenKernel opens a TEE device node.
func OpenKernel(path string) (*Kernel, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &Error{Op: "open", Dev: path, Errno: errnoOf(err)}
	}
	page, err := unix.Mmap(-1, 0, argPageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		unix.Close(fd)
		return nil, &Error{Op: "mmap", Dev: path, Errno: errnoOf(err), Detail: "argument page"}
	}
	return &Kernel{path: path, fd: fd, page: page}, nil
}

func errnoOf(err error) syscall.Errno {
	if en, ok := err.(syscall.Errno); ok {
		return en
	}
	return syscall.EIO
}

// Name is the device path.
func (k *Kernel) Name() string { return k.path }

// Err implements Health: the timeout that broke the device, if any.
func (k *Kernel) Err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.broken
}

// ioctl runs one request with the argument page as scratch space. prep
// fills the page and returns the pointer to pass; the call runs on its
// own goroutine so that a context deadline can abandon it (the kernel call
// may be stuck in the secure world). An abandoned call keeps the page and
// the fd alive and breaks the device.
func (k *Kernel) ioctl(ctx context.Context, req uint32, arg unsafe.Pointer) (uintptr, error) {
	type result struct {
		r1 uintptr
		en syscall.Errno
	}
	done := make(chan result, 1)
	k.calls.Add(1)
	go func() {
		defer k.calls.Done()
		r1, _, en := unix.Syscall(unix.SYS_IOCTL, uintptr(k.fd), uintptr(req), uintptr(arg))
		done <- result{r1, en}
	}()
	select {
	case r := <-done:
		if r.en != 0 {
			return 0, &Error{Op: IoctlName(req), Dev: k.path, Errno: r.en}
		}
		return r.r1, nil
	case <-ctx.Done():
		k.broken = fmt.Errorf("%s on %s did not return: %w", IoctlName(req), k.path, ErrTimeout)
		return 0, k.broken
	}
}

func (k *Kernel) lock() error {
	k.mu.Lock()
	if k.broken != nil {
		err := k.broken
		k.mu.Unlock()
		return fmt.Errorf("%w: %v", ErrBroken, err)
	}
	if k.page == nil {
		k.mu.Unlock()
		return &Error{Op: "ioctl", Dev: k.path, Errno: syscall.EBADF, Detail: "device closed"}
	}
	return nil
}

// Version runs TEE_IOC_VERSION.
func (k *Kernel) Version(ctx context.Context) (VersionData, error) {
	if err := k.lock(); err != nil {
		return VersionData{}, err
	}
	defer k.mu.Unlock()
	clear(k.page[:VersionDataSize])
	if _, err := k.ioctl(ctx, IocVersion, unsafe.Pointer(&k.page[0])); err != nil {
		return VersionData{}, err
	}
	return UnmarshalVersionData(k.page[:VersionDataSize])
}

// bufCall runs an ioctl whose argument is a buf_data pointing at argBytes,
// and returns the argument bytes as the kernel left them.
func (k *Kernel) bufCall(ctx context.Context, req uint32, argBytes []byte) ([]byte, error) {
	if len(argBytes) > argPageSize-argOffset || len(argBytes) > MaxArgSize {
		return nil, &Error{Op: IoctlName(req), Dev: k.path, Errno: syscall.EINVAL, Detail: "argument too large"}
	}
	buf := k.page[argOffset : argOffset+len(argBytes)]
	copy(buf, argBytes)
	bd := (*BufData)(unsafe.Pointer(&k.page[0]))
	bd.BufPtr = uint64(uintptr(unsafe.Pointer(&buf[0])))
	bd.BufLen = uint64(len(argBytes))
	if _, err := k.ioctl(ctx, req, unsafe.Pointer(&k.page[0])); err != nil {
		return nil, err
	}
	out := make([]byte, len(argBytes))
	copy(out, buf)
	return out, nil
}

// OpenSession runs TEE_IOC_OPEN_SESSION.
func (k *Kernel) OpenSession(ctx context.Context, arg OpenSessionArg, params []Param) (OpenSessionArg, []Param, error) {
	if err := k.lock(); err != nil {
		return OpenSessionArg{}, nil, err
	}
	defer k.mu.Unlock()
	out, err := k.bufCall(ctx, IocOpenSession, MarshalOpenSession(arg, params))
	if err != nil {
		return OpenSessionArg{}, nil, err
	}
	return UnmarshalOpenSession(out)
}

// Invoke runs TEE_IOC_INVOKE.
func (k *Kernel) Invoke(ctx context.Context, arg InvokeArg, params []Param) (InvokeArg, []Param, error) {
	if err := k.lock(); err != nil {
		return InvokeArg{}, nil, err
	}
	defer k.mu.Unlock()
	out, err := k.bufCall(ctx, IocInvoke, MarshalInvoke(arg, params))
	if err != nil {
		return InvokeArg{}, nil, err
	}
	return UnmarshalInvoke(out)
}

// CloseSession runs TEE_IOC_CLOSE_SESSION.
func (k *Kernel) CloseSession(ctx context.Context, session uint32) error {
	if err := k.lock(); err != nil {
		return err
	}
	defer k.mu.Unlock()
	*(*uint32)(unsafe.Pointer(&k.page[0])) = session
	_, err := k.ioctl(ctx, IocCloseSession, unsafe.Pointer(&k.page[0]))
	return err
}

// ShmAlloc runs TEE_IOC_SHM_ALLOC and maps the returned fd. The fd is
// closed once mapped; unmapping releases the memory, which makes the
// kernel reclaim it from the partition.
func (k *Kernel) ShmAlloc(ctx context.Context, size int) (*Shm, error) {
	if err := k.lock(); err != nil {
		return nil, err
	}
	defer k.mu.Unlock()
	if size <= 0 {
		return nil, &Error{Op: "TEE_IOC_SHM_ALLOC", Dev: k.path, Errno: syscall.EINVAL, Detail: "size must be positive"}
	}
	if k.shms >= MaxShmPerSP {
		return nil, &Error{Op: "TEE_IOC_SHM_ALLOC", Dev: k.path, Errno: syscall.EINVAL, Detail: fmt.Sprintf("this process already holds %d shared memories on the partition", k.shms)}
	}
	d := (*ShmAllocData)(unsafe.Pointer(&k.page[0]))
	*d = ShmAllocData{Size: uint64(size)}
	r1, err := k.ioctl(ctx, IocShmAlloc, unsafe.Pointer(d))
	if err != nil {
		return nil, err
	}
	fd := int(r1)
	got := *d
	defer unix.Close(fd)
	if got.Size < uint64(size) || got.ID <= 0 {
		return nil, &Error{Op: "TEE_IOC_SHM_ALLOC", Dev: k.path, Detail: fmt.Sprintf("kernel returned id %d size %d for %d bytes", got.ID, got.Size, size)}
	}
	mem, err := unix.Mmap(fd, 0, int(got.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, &Error{Op: "mmap", Dev: k.path, Errno: errnoOf(err), Detail: "shared memory"}
	}
	k.shms++
	return NewShm(got.ID, mem[:size], func() error {
		k.mu.Lock()
		k.shms--
		k.mu.Unlock()
		if err := unix.Munmap(mem); err != nil {
			return &Error{Op: "munmap", Dev: k.path, Errno: errnoOf(err)}
		}
		return nil
	}), nil
}

// Close closes the device. After a timed-out call the fd and page stay
// allocated (the kernel may still write to them); they are leaked rather
// than risk memory corruption.
func (k *Kernel) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.page == nil {
		return nil
	}
	if k.broken != nil {
		k.page = nil
		return nil
	}
	err := unix.Close(k.fd)
	unix.Munmap(k.page)
	k.page = nil
	if err != nil {
		return &Error{Op: "close", Dev: k.path, Errno: errnoOf(err)}
	}
	return nil
}

// KernelDevices lists /dev/tee<N> nodes (not teepriv) in numeric order.
func KernelDevices(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type dev struct {
		n    int
		path string
	}
	var devs []dev
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "tee") {
			continue
		}
		n, err := strconv.Atoi(name[3:])
		if err != nil {
			continue
		}
		devs = append(devs, dev{n, filepath.Join(dir, name)})
	}
	sort.Slice(devs, func(i, j int) bool { return devs[i].n < devs[j].n })
	out := make([]string, len(devs))
	for i, d := range devs {
		out[i] = d.path
	}
	return out, nil
}

// KernelOpener opens real TEE devices: either the one configured path or,
// for "auto" (or ""), every /dev/teeN.
type KernelOpener struct {
	Path string
}

// List implements Opener.
func (o KernelOpener) List(ctx context.Context) ([]string, error) {
	if o.Path != "" && o.Path != "auto" {
		return []string{o.Path}, nil
	}
	devs, err := KernelDevices("/dev")
	if err != nil {
		return nil, &Error{Op: "open", Dev: "/dev", Errno: errnoOf(err)}
	}
	return devs, nil
}

// Open implements Opener.
func (o KernelOpener) Open(ctx context.Context, name string) (Device, error) {
	k, err := OpenKernel(name)
	if err != nil {
		return nil, err
	}
	return k, nil
}
