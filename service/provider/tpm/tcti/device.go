package tcti

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// device is a TPM character device: /dev/tpmrmN (kernel resource manager)
// or /dev/tpmN (raw; the kernel lets one process open it at a time, and
// the provider's lock serialises our own users).
type device struct {
	path string
	f    *os.File
	buf  []byte
}

func openDevice(path string) (Transport, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, transportErr("TPM device %s does not exist (no TPM, or its driver is not loaded)", path)
		}
		return nil, transportErr("TPM device %s: %v", path, err)
	}
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return nil, fmt.Errorf("%s is not a character device (mode %v)", path, fi.Mode())
	}
	// A blocking descriptor on purpose. os.OpenFile would register a
	// pollable device with Go's poller, which makes it O_NONBLOCK; the
	// kernel's TPM driver then runs each command asynchronously, and a
	// read issued before the TPM has answered returns 0 bytes (seen as EOF)
	// instead of waiting, so slow commands (key generation) failed.
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		err = &fs.PathError{Op: "open", Path: path, Err: err}
		switch {
		case errors.Is(err, syscall.EBUSY):
			return nil, transportErr("TPM device %s is busy: another process holds the raw device; use the resource manager device /dev/tpmrm0", path)
		case errors.Is(err, fs.ErrPermission):
			return nil, transportErr("no permission to open %s: run the service in the group owning it (usually tss)", path)
		}
		return nil, transportErr("opening %s: %v", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	// 4096 is the kernel's TPM_BUFSIZE; a response never exceeds it.
	return &device{path: path, f: f, buf: make([]byte, 8192)}, nil
}

func (d *device) Send(cmd []byte) ([]byte, error) {
	if err := checkCommand(cmd); err != nil {
		return nil, err
	}
	if _, err := d.f.Write(cmd); err != nil {
		return nil, transportErr("writing to %s: %v", d.path, err)
	}
	// The kernel driver returns a whole response per read; keep reading
	// anyway if the header announces more (other character devices may
	// deliver it in pieces).
	n, err := d.f.Read(d.buf)
	for err == nil && n < 10 {
		var m int
		m, err = d.f.Read(d.buf[n:])
		n += m
	}
	if err != nil {
		return nil, transportErr("reading from %s: %v", d.path, err)
	}
	size, err := responseSize(d.buf[:10])
	if err != nil {
		return nil, err
	}
	if size > len(d.buf) {
		return nil, transportErr("TPM response from %s announces %d bytes", d.path, size)
	}
	for n < size {
		m, err := d.f.Read(d.buf[n:size])
		if err != nil {
			return nil, transportErr("reading from %s: %v", d.path, err)
		}
		n += m
	}
	if n != size {
		return nil, transportErr("TPM response from %s: header says %d bytes, read %d", d.path, size, n)
	}
	return append([]byte(nil), d.buf[:n]...), nil
}

func (d *device) Close() error { return d.f.Close() }
