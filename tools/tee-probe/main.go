// Command tee-probe drives TEE devices through the tee package: the same
// ioctl code the Trusted Service provider uses, for checking a real
// /dev/teeN (OP-TEE in QEMU, a board with Trusted Services) or the
// emulator by hand or from image tests.
//
//	tee-probe list                               every /dev/teeN: driver, and for arm_tstee the TS services it hosts
//	tee-probe version -dev /dev/tee0
//	tee-probe open    -dev /dev/tee0 -uuid UUID  open and close a session
//	tee-probe invoke  -dev /dev/tee0 -uuid UUID -func N [-value A,B]...
//	tee-probe invoke  -dev /dev/tee1 -uuid UUID -func OPCODE -shm SIZE -req HEX
//	                  (a Trusted Services call: request in shared memory,
//	                  prints the service status and the response)
//
// -emu ADDR uses the emulated secure world instead (devices tee0..teeN-1).
// Output is key=value lines. Exit status: 0 success, 1 a failed call or
// a non-zero TEE return code, 2 bad usage.
//
// For OP-TEE's built-in test pseudo-TA:
//
//	tee-probe invoke -dev /dev/tee0 -uuid d96a5b40-c3e5-21e3-8794-1002a5d5c61b -func 0
//
// and for 16 random bytes from a Trusted Services crypto partition:
//
//	tee-probe invoke -dev /dev/tee1 -uuid d9df52d5-16a2-4bb2-9aa4-d26d3b84e8c0 -func 0x10c -shm 4096 -req 10000000
package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/parsec-go/parsec/internal/tee"
	"github.com/parsec-go/parsec/internal/ts"
)

type values []tee.Param

func (v *values) String() string { return fmt.Sprint(len(*v)) }
func (v *values) Set(s string) error {
	var p tee.Param
	p.Attr = tee.ParamValueInout
	for i, f := range strings.SplitN(s, ",", 3) {
		n, err := strconv.ParseUint(f, 0, 64)
		if err != nil {
			return err
		}
		*[]*uint64{&p.A, &p.B, &p.C}[i] = n
	}
	*v = append(*v, p)
	return nil
}

func main() { os.Exit(run(os.Args[1:])) }

var implNames = map[uint32]string{tee.ImplOPTEE: "optee", tee.ImplAMDTEE: "amdtee", tee.ImplTSTEE: "arm_tstee"}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: tee-probe list|version|open|invoke [flags]")
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet("tee-probe "+cmd, flag.ContinueOnError)
	dev := fs.String("dev", "/dev/tee0", "device")
	emuAddr := fs.String("emu", "", "emulator address (unix:PATH, unix-inline:PATH, serial:PATH) instead of the kernel")
	uuid := fs.String("uuid", "", "TA or service UUID")
	fn := fs.Uint("func", 0, "function number to invoke")
	login := fs.Uint("login", uint(tee.LoginPublic), "login method")
	timeout := fs.Duration("timeout", 30*time.Second, "bound on each call")
	shmSize := fs.Int("shm", 0, "TS call: size of the shared memory holding the request")
	reqHex := fs.String("req", "", "TS call: request bytes in hex")
	var vals values
	fs.Var(&vals, "value", "a value-inout parameter A[,B[,C]] (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	var o tee.Opener = tee.KernelOpener{Path: *dev}
	if *emuAddr != "" {
		c, err := tee.DialEmulator(ctx, *emuAddr)
		if err != nil {
			return fail(err)
		}
		defer c.Close()
		o = tee.EmuOpener{Conn: c}
	}
	if cmd == "list" {
		if *emuAddr == "" && *dev == "/dev/tee0" {
			o = tee.KernelOpener{Path: "auto"}
		}
		return list(ctx, o)
	}
	d, err := o.Open(ctx, *dev)
	if err != nil {
		return fail(err)
	}
	defer d.Close()
	switch cmd {
	case "version":
		v, err := d.Version(ctx)
		if err != nil {
			return fail(err)
		}
		fmt.Printf("device=%s impl_id=%d impl=%s impl_caps=%#x gen_caps=%#x\n", d.Name(), v.ImplID, implNames[v.ImplID], v.ImplCaps, v.GenCaps)
		return 0
	case "open", "invoke":
		u, err := tee.ParseUUID(*uuid)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tee-probe: -uuid:", err)
			return 2
		}
		out, _, err := d.OpenSession(ctx, tee.OpenSessionArg{UUID: u, ClntLogin: uint32(*login)}, nil)
		if err != nil {
			return fail(err)
		}
		fmt.Printf("open session=%d ret=%#x ret_origin=%d\n", out.Session, out.Ret, out.RetOrigin)
		if out.Ret != 0 {
			return 1
		}
		code := 0
		if cmd == "invoke" && *shmSize > 0 {
			code = tsInvoke(ctx, d, out.Session, uint16(*fn), *shmSize, *reqHex)
		} else if cmd == "invoke" {
			res, ps, err := d.Invoke(ctx, tee.InvokeArg{Func: uint32(*fn), Session: out.Session}, vals)
			if err != nil {
				code = fail(err)
			} else {
				fmt.Printf("invoke func=%d ret=%#x ret_origin=%d\n", *fn, res.Ret, res.RetOrigin)
				for i, p := range ps {
					fmt.Printf("param%d a=%#x b=%#x c=%#x\n", i, p.A, p.B, p.C)
				}
				if res.Ret != 0 {
					code = 1
				}
			}
		}
		if err := d.CloseSession(ctx, out.Session); err != nil {
			return fail(err)
		}
		fmt.Printf("close session=%d ok\n", out.Session)
		return code
	}
	fmt.Fprintf(os.Stderr, "tee-probe: unknown command %q\n", cmd)
	return 2
}

// tsInvoke makes one Trusted Services call the way the provider does.
func tsInvoke(ctx context.Context, d tee.Device, session uint32, op uint16, size int, reqHex string) int {
	req, err := hex.DecodeString(reqHex)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tee-probe: -req:", err)
		return 2
	}
	shm, err := d.ShmAlloc(ctx, size)
	if err != nil {
		return fail(err)
	}
	defer shm.Close()
	fmt.Printf("shm id=%d size=%d\n", shm.ID, len(shm.Buf))
	if len(req) > len(shm.Buf) {
		fmt.Fprintln(os.Stderr, "tee-probe: the request does not fit the shared memory")
		return 2
	}
	copy(shm.Buf, req)
	res, err := tee.InvokeTS(ctx, d, session, op, shm, len(req))
	if err != nil {
		return fail(err)
	}
	fmt.Printf("invoke opcode=%#04x status=%d (%v) response=%x\n", op, res.Status, ts.PSAStatus(res.Status), shm.Buf[:res.RespLen])
	if res.Status != 0 {
		return 1
	}
	return 0
}

func list(ctx context.Context, o tee.Opener) int {
	names, err := o.List(ctx)
	if err != nil {
		return fail(err)
	}
	if len(names) == 0 {
		fmt.Println("no TEE devices")
		return 1
	}
	for _, n := range names {
		d, err := o.Open(ctx, n)
		if err != nil {
			fmt.Printf("device=%s error=%q\n", n, err)
			continue
		}
		v, err := d.Version(ctx)
		if err != nil {
			fmt.Printf("device=%s error=%q\n", d.Name(), err)
			d.Close()
			continue
		}
		line := fmt.Sprintf("device=%s impl_id=%d impl=%s impl_caps=%#x", d.Name(), v.ImplID, implNames[v.ImplID], v.ImplCaps)
		if v.ImplID == tee.ImplTSTEE {
			var svcs []string
			for _, s := range ts.Services {
				if id, err := tee.OpenTSSession(ctx, d, s.UUID); err == nil {
					svcs = append(svcs, s.Name)
					d.CloseSession(ctx, id)
				}
			}
			line += fmt.Sprintf(" endpoint=%#04x services=%s", uint16(v.ImplCaps), strings.Join(svcs, ","))
		}
		fmt.Println(line)
		d.Close()
	}
	return 0
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "tee-probe:", err)
	return 1
}
