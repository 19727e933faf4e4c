package main

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/parsec-go/parsec/internal/tee"
	"github.com/parsec-go/parsec/internal/ts"
)

// OP-TEE's built-in "invoke tests" pseudo TA: always present in OP-TEE OS,
// needs no TA loading and no supplicant. Command 0 only traces.
var invokeTestsPTA = tee.MustUUID("d96a5b40-c3e5-21e3-8794-1002a5d5c61b")

const ptaCmdTrace = 0

// teeCheck drives a real OP-TEE through our tee package's kernel path: the
// same code the Trusted Services provider runs on hardware. Each step
// prints what it saw so a failure names the step.
func teeCheck(dev string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	devs, err := tee.KernelDevices("/dev")
	if err != nil {
		return fmt.Errorf("listing TEE devices: %w", err)
	}
	fmt.Printf("devices: %v\n", devs)

	k, err := tee.OpenKernel(dev)
	if err != nil {
		return err
	}
	defer k.Close()
	v, err := k.Version(ctx)
	if err != nil {
		return fmt.Errorf("version: %w", err)
	}
	fmt.Printf("version: impl_id=%d impl_caps=%#x gen_caps=%#x\n", v.ImplID, v.ImplCaps, v.GenCaps)
	if v.ImplID != tee.ImplOPTEE {
		return fmt.Errorf("impl_id %d, want %d (OP-TEE)", v.ImplID, tee.ImplOPTEE)
	}

	out, _, err := k.OpenSession(ctx, tee.OpenSessionArg{UUID: invokeTestsPTA, ClntLogin: tee.LoginPublic}, nil)
	if err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	if out.Ret != 0 {
		return fmt.Errorf("open session: ret %#x origin %d", out.Ret, out.RetOrigin)
	}
	sess := out.Session
	fmt.Printf("session: %d\n", sess)

	inv, _, err := k.Invoke(ctx, tee.InvokeArg{Func: ptaCmdTrace, Session: sess}, nil)
	if err != nil {
		return fmt.Errorf("invoke trace: %w", err)
	}
	if inv.Ret != 0 {
		return fmt.Errorf("invoke trace: ret %#x origin %d", inv.Ret, inv.RetOrigin)
	}
	fmt.Println("invoke trace: ret 0")

	// An unknown command must come back as a TEE error, not as success.
	inv, _, err = k.Invoke(ctx, tee.InvokeArg{Func: 0x7777, Session: sess}, nil)
	if err != nil {
		return fmt.Errorf("invoke unknown command: %w", err)
	}
	if inv.Ret == 0 {
		return errors.New("invoke of unknown command 0x7777 returned success")
	}
	fmt.Printf("invoke unknown command: ret %#x (refused, as it should be)\n", inv.Ret)

	shm, err := k.ShmAlloc(ctx, 4096)
	if err != nil {
		return fmt.Errorf("shm alloc: %w", err)
	}
	shm.Buf[0] = 0x5a // the mapping must be writable
	if err := shm.Close(); err != nil {
		return fmt.Errorf("shm free: %w", err)
	}
	fmt.Printf("shm: id %d, 4096 bytes mapped and released\n", shm.ID)

	if err := k.CloseSession(ctx, sess); err != nil {
		return fmt.Errorf("close session: %w", err)
	}
	fmt.Println("session closed")

	// Not tried: a session with a TA that is not built in. OP-TEE then asks
	// tee-supplicant to load it from the file system, and without a
	// supplicant the driver waits for one indefinitely.

	// Discovery of Trusted Services must pass over OP-TEE's own device
	// (implementation id 1) and report that no partition hosts crypto.
	s, err := tee.FindService(ctx, tee.KernelOpener{Path: "auto"}, ts.ServiceCrypto.UUID)
	if err == nil {
		s.Close(ctx)
		return errors.New("TS crypto service found on an OP-TEE-only system")
	}
	if !errors.Is(err, syscall.ENODEV) {
		return fmt.Errorf("TS discovery failed with something other than ENODEV: %w", err)
	}
	fmt.Printf("TS discovery: %v\n", err)
	return nil
}
