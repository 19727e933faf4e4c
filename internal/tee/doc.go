// Package tee is the seam between Parsec's Trusted Services code and a TEE
// device: the Linux arm_tstee driver's /dev/teeN nodes (Kernel, through the
// generic TEE ioctls of include/uapi/linux/tee.h) or the emulated secure
// world of tools/parsec-tsemu (EmuDevice, over a Unix socket with memfd
// shared memory, or over a byte stream such as a QEMU virtio-serial port
// with buffers carried inline).
//
// Everything above Device is shared by both implementations: the argument
// layouts and their byte forms (uapi.go), service discovery by UUID across
// devices (FindService), the TS calling convention of the driver (one
// value-inout parameter naming the shared memory and request length,
// InvokeTS), the 16-slot shared-memory limit of a partition, and the
// meaning of each errno (Meaning). The emulator reproduces the driver's
// observable behaviour, so tests written against it hold on real hardware.
package tee
