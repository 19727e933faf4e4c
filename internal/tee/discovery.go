package tee

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// Opener enumerates and opens TEE devices of one kind (kernel nodes or the
// emulator's devices).
type Opener interface {
	List(ctx context.Context) ([]string, error)
	Open(ctx context.Context, name string) (Device, error)
}

// FindService opens a session for service on the first Trusted Services
// device that provides it, the way libts's "find and open" does: devices
// whose implementation id is not arm_tstee (e.g. OP-TEE's own /dev/tee0)
// are skipped, and ENODEV from OPEN_SESSION means "not on this partition,
// try the next". The error names every device tried and why it did not
// fit.
func FindService(ctx context.Context, o Opener, service UUID) (*Session, error) {
	names, err := o.List(ctx)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, &Error{Op: "open", Errno: syscall.ENOENT, Detail: "no TEE devices found"}
	}
	var why []string
	var lastErr error
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dev, err := o.Open(ctx, name)
		if err != nil {
			why = append(why, err.Error())
			lastErr = err
			continue
		}
		v, err := dev.Version(ctx)
		if err != nil {
			why = append(why, err.Error())
			lastErr = err
			dev.Close()
			continue
		}
		if v.ImplID != ImplTSTEE {
			why = append(why, fmt.Sprintf("%s: implementation id %d is not arm_tstee", name, v.ImplID))
			dev.Close()
			continue
		}
		id, err := OpenTSSession(ctx, dev, service)
		if err != nil {
			why = append(why, err.Error())
			if !errors.Is(err, syscall.ENODEV) {
				lastErr = err
			}
			dev.Close()
			if errors.Is(err, ErrTimeout) {
				break
			}
			continue
		}
		return &Session{Dev: dev, ID: id, Version: v, Service: service}, nil
	}
	e := &Error{Op: "TEE_IOC_OPEN_SESSION", Errno: syscall.ENODEV, Detail: fmt.Sprintf("service %s not found: %s", service, strings.Join(why, "; "))}
	if lastErr != nil && errors.Is(lastErr, ErrTimeout) {
		return nil, fmt.Errorf("%w: %v", ErrTimeout, e)
	}
	return nil, e
}

// Close closes the session and its device.
func (s *Session) Close(ctx context.Context) error {
	err := s.Dev.CloseSession(ctx, s.ID)
	if cerr := s.Dev.Close(); err == nil {
		err = cerr
	}
	return err
}
