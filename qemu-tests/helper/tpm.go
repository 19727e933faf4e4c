package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"
)

// tpmGetRandom sends TPM2_GetRandom straight to the kernel's TPM device. The
// command is 12 bytes, so speaking it raw keeps go-tpm (and a vendor change)
// out of a helper whose only job is to prove the guest sees the TPM.
func tpmGetRandom(dev string, n int) ([]byte, error) {
	// A blocking descriptor on purpose: os.OpenFile would register the
	// device with Go's poller and make it non-blocking, and the kernel TPM
	// driver then runs the command asynchronously, so a read that comes
	// before the TPM has answered returns 0 bytes (EOF), not EAGAIN.
	fd, err := syscall.Open(dev, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dev, Err: err}
	}
	f := os.NewFile(uintptr(fd), dev)
	defer f.Close()
	const (
		tagNoSessions = 0x8001
		ccGetRandom   = 0x0000017b
	)
	cmd := binary.BigEndian.AppendUint16(nil, tagNoSessions)
	cmd = binary.BigEndian.AppendUint32(cmd, 12)
	cmd = binary.BigEndian.AppendUint32(cmd, ccGetRandom)
	cmd = binary.BigEndian.AppendUint16(cmd, uint16(n))
	if _, err := f.Write(cmd); err != nil {
		return nil, fmt.Errorf("writing TPM2_GetRandom: %w", err)
	}
	rsp := make([]byte, 4096)
	m, err := f.Read(rsp)
	if err != nil {
		return nil, fmt.Errorf("reading TPM2_GetRandom response: %w", err)
	}
	rsp = rsp[:m]
	if len(rsp) < 12 {
		return nil, fmt.Errorf("TPM response is %d bytes", len(rsp))
	}
	if rc := binary.BigEndian.Uint32(rsp[6:]); rc != 0 {
		return nil, fmt.Errorf("TPM2_GetRandom returned rc %#x", rc)
	}
	got := int(binary.BigEndian.Uint16(rsp[10:]))
	if got != n || len(rsp) < 12+got {
		return nil, fmt.Errorf("TPM returned %d random bytes, asked for %d", got, n)
	}
	return rsp[12 : 12+got], nil
}
