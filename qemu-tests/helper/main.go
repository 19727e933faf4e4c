// Command qt-helper is the small static program the QEMU image tests put in
// the guest next to the service. It does the checks that neither busybox nor
// parsec-tool can: a raw TPM2_GetRandom on the kernel's resource manager, a
// Parsec ping over the raw wire protocol (so readiness can be measured even
// when parsec-tool is missing or broken), and a burst of malformed requests.
//
//	qt-helper tpm-random [-dev /dev/tpmrm0] [-n 16]
//	qt-helper ping [-socket /run/parsec/parsec.sock] [-pad N]
//	qt-helper wait-ready [-socket ...] [-timeout 30s]
//	qt-helper burst [-socket ...] [-n 300] [-workers 8]
//	qt-helper tee-check [-dev /dev/tee0]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"
)

const defaultSocket = "/run/parsec/parsec.sock"

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	var err error
	switch cmd {
	case "tpm-random":
		dev := fs.String("dev", "/dev/tpmrm0", "TPM character device")
		n := fs.Int("n", 16, "bytes to request")
		fs.Parse(args)
		var b []byte
		if b, err = tpmGetRandom(*dev, *n); err == nil {
			fmt.Printf("%x\n", b)
		}
	case "ping":
		sock := fs.String("socket", defaultSocket, "service socket")
		pad := fs.Int("pad", 0, "pad the request body with this many bytes of an unknown field")
		fs.Parse(args)
		var maj, min uint32
		if maj, min, err = pingPadded(*sock, 5*time.Second, *pad); err == nil {
			fmt.Printf("wire protocol %d.%d\n", maj, min)
		}
	case "wait-ready":
		sock := fs.String("socket", defaultSocket, "service socket")
		timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
		fs.Parse(args)
		var d time.Duration
		if d, err = waitReady(*sock, *timeout); err == nil {
			fmt.Printf("ready after %.2fs\n", d.Seconds())
		}
	case "tee-check":
		dev := fs.String("dev", "/dev/tee0", "OP-TEE device")
		fs.Parse(args)
		err = teeCheck(*dev)
	case "burst":
		sock := fs.String("socket", defaultSocket, "service socket")
		n := fs.Int("n", 300, "malformed requests to send")
		workers := fs.Int("workers", 8, "concurrent connections")
		fs.Parse(args)
		var st burstStats
		st, err = burst(*sock, *n, *workers)
		fmt.Println(st)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "qt-helper %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: qt-helper tpm-random|ping|wait-ready|burst|tee-check [flags]")
	os.Exit(2)
}

// waitReady pings until the service answers. A missing socket and a refused
// connection both mean "not yet"; only the deadline ends the wait.
func waitReady(sock string, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	var last error
	for time.Since(start) < timeout {
		if _, _, err := ping(sock, time.Second); err == nil {
			return time.Since(start), nil
		} else {
			last = err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, errors.Join(fmt.Errorf("no ping answer within %v", timeout), last)
}
