package tee

import (
	"errors"
	"fmt"
	"syscall"
)

// Error is a failed TEE call. Errno is the errno the kernel returned (or
// the emulator reproduced); Detail adds what this side knows.
type Error struct {
	Op     string // ioctl name, "open" or "mmap"
	Dev    string
	Errno  syscall.Errno
	Detail string
}

func (e *Error) Error() string {
	s := "tee: " + e.Op
	if e.Dev != "" {
		s += " on " + e.Dev
	}
	if e.Errno != 0 {
		s += ": " + e.Errno.Error()
		if m := Meaning(e.Op, e.Errno); m != "" {
			s += " (" + m + ")"
		}
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap exposes the errno, so errors.Is(err, syscall.ENODEV) works.
func (e *Error) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// Errno extracts the errno from err, 0 if there is none.
func Errno(err error) syscall.Errno {
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	return 0
}

// Meaning explains what an errno from a TEE call means with the arm_tstee
// driver. Both Device implementations produce the same errnos for the same
// situations, so callers (and logs) treat them alike.
func Meaning(op string, e syscall.Errno) string {
	switch e {
	case syscall.ENOENT:
		if op == "open" {
			return "no such TEE device"
		}
	case syscall.EACCES, syscall.EPERM:
		return "permission denied: the service user needs access to the TEE device (e.g. group teeclnt)"
	case syscall.ENODEV:
		if op == "TEE_IOC_OPEN_SESSION" {
			return "the partition behind this device does not provide the service"
		}
		return "no TEE driver behind this device"
	case syscall.EINVAL:
		switch op {
		case "TEE_IOC_INVOKE":
			return "call rejected: unknown session or shared memory, request longer than the buffer, or a TS RPC error (the driver hides which)"
		case "TEE_IOC_SHM_ALLOC":
			return "the partition refused the shared memory (it has 16 slots for all clients)"
		case "TEE_IOC_CLOSE_SESSION":
			return "unknown session"
		}
		return "invalid argument or operation not supported by this TEE driver"
	case syscall.ENOMEM:
		return "out of memory"
	case syscall.EBUSY:
		return "device busy"
	case syscall.EINTR:
		return "interrupted"
	}
	return ""
}

func errorf(op, dev string, en syscall.Errno, format string, args ...any) error {
	return &Error{Op: op, Dev: dev, Errno: en, Detail: fmt.Sprintf(format, args...)}
}
