// Command parsec-tsemu is the emulated Trusted Services secure world: the
// crypto, internal trusted storage, protected storage and attestation
// partitions behind emulated arm_tstee devices, in a process of its own.
// Parsec's Trusted Service provider reaches it with
// emulator_socket = "<path>" (memfd shared memory) or, from a QEMU guest
// whose virtio-serial port QEMU connects to this socket,
// emulator_socket = "serial:/dev/vport0p1" (buffers inline).
//
// Usage:
//
//	parsec-tsemu -listen /run/parsec-tsemu.sock [-state DIR] [flags]
//	parsec-tsemu -connect /tmp/qemu-tee.sock ...   (QEMU chardev with server=on)
//	parsec-tsemu -serial /dev/ttyX ...             (serve a character device)
//
// Without -state, storage (and so persistent keys) lives in RAM and is
// lost when the process ends, like the reference OP-TEE deployments.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/parsec-go/parsec/tools/parsec-tsemu/emu"
)

type faultFlags []emu.Fault

func (f *faultFlags) String() string { return fmt.Sprint(len(*f)) }
func (f *faultFlags) Set(s string) error {
	x, err := emu.ParseFault(s)
	if err != nil {
		return err
	}
	*f = append(*f, x)
	return nil
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("parsec-tsemu", flag.ContinueOnError)
	listen := fs.String("listen", "", "Unix socket to listen on")
	connect := fs.String("connect", "", "Unix socket to connect to and serve (e.g. a QEMU chardev with server=on); reconnects")
	serial := fs.String("serial", "", "character device to serve as one client stream; reopened when it ends")
	state := fs.String("state", "", "directory for persistent storage (default: RAM, lost on exit)")
	optee := fs.Bool("optee", false, "put a stand-in for OP-TEE's own device at tee0")
	maxObj := fs.Int("max-object-size", emu.DefaultLimits.MaxObjectSize, "largest storage object in bytes")
	maxObjs := fs.Int("max-objects", emu.DefaultLimits.MaxObjects, "most storage objects (all owners)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	var faults faultFlags
	fs.Var(&faults, "fault", "inject a fault: [PARTITION/]OPCODE|any:hang|garbage|badlen|exit|rpc=N|psa=N[*COUNT] (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	n := 0
	for _, s := range []string{*listen, *connect, *serial} {
		if s != "" {
			n++
		}
	}
	if n != 1 || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "parsec-tsemu: give exactly one of -listen, -connect, -serial")
		fs.Usage()
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "parsec-tsemu: -log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	w, err := emu.New(emu.Options{
		StateDir: *state, OPTEE: *optee, Faults: faults, Log: log,
		Limits: emu.StorageLimits{MaxObjectSize: *maxObj, MaxObjects: *maxObjs},
		Exit: func() {
			log.Warn("exiting mid-call (fault injection)")
			os.Exit(3)
		},
	})
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	for _, d := range w.Devices() {
		if d.Partition != nil {
			log.Info("device", "index", d.Index, "impl_id", d.ImplID, "partition", d.Partition.Name, "endpoint", fmt.Sprintf("%#04x", d.Partition.Endpoint))
		} else {
			log.Info("device", "index", d.Index, "impl_id", d.ImplID, "partition", "optee stand-in")
		}
	}
	storage := "RAM"
	if *state != "" {
		storage = *state
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	switch {
	case *listen != "":
		l, err := listenUnix(*listen)
		if err != nil {
			log.Error("cannot listen", "socket", *listen, "err", err)
			return 1
		}
		log.Info("listening", "socket", *listen, "storage", storage)
		go func() {
			<-ctx.Done()
			l.Close()
		}()
		if err := w.Serve(l); err != nil {
			log.Error("serve", "err", err)
			return 1
		}
		log.Info("stopped")
		return 0
	case *connect != "":
		log.Info("connecting", "socket", *connect, "storage", storage)
		return redial(ctx, log, func() (net.Conn, error) { return net.Dial("unix", *connect) }, w)
	default:
		log.Info("serving", "device", *serial, "storage", storage)
		for ctx.Err() == nil {
			f, err := os.OpenFile(*serial, os.O_RDWR|syscall.O_NOCTTY, 0)
			if err != nil {
				log.Error("cannot open", "device", *serial, "err", err)
				return 1
			}
			go func() {
				<-ctx.Done()
				f.Close()
			}()
			w.ServeConn(f)
			sleep(ctx, 200*time.Millisecond)
		}
		return 0
	}
}

// listenUnix listens on path, replacing a stale socket file left by a
// previous run (but not a live one, nor a file that is not a socket).
func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s is in use by another process", path)
		}
		os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	l.(*net.UnixListener).SetUnlinkOnClose(true)
	return l, nil
}

func redial(ctx context.Context, log *slog.Logger, dial func() (net.Conn, error), w *emu.World) int {
	for ctx.Err() == nil {
		c, err := dial()
		if err != nil {
			if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) && !strings.Contains(err.Error(), "no such file") {
				log.Warn("connect failed", "err", err)
			}
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		log.Info("connected")
		go func() {
			<-ctx.Done()
			c.Close()
		}()
		w.ServeConn(c)
		log.Info("connection ended")
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
