package emu_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/parsec-go/parsec/internal/tee"
	"github.com/parsec-go/parsec/internal/ts"
	"github.com/parsec-go/parsec/tools/parsec-tsemu/emu"
)

// startWorld serves a World on a Unix socket in this process and returns
// the socket path.
func startWorld(t testing.TB, o emu.Options) (*emu.World, string) {
	t.Helper()
	w, err := emu.New(o)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tsemu.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	go w.Serve(l)
	t.Cleanup(func() { l.Close() })
	return w, path
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t testing.TB, addr string) *tee.EmuConn {
	t.Helper()
	c, err := tee.DialEmulator(ctxT(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func caller(t testing.TB, c *tee.EmuConn, svc ts.Service) *ts.Caller {
	t.Helper()
	cl, err := ts.Dial(ctxT(t), tee.EmuOpener{Conn: c}, svc, 0, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not reached in 2s")
}
