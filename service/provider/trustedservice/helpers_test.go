package trustedservice

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parsec-go/parsec/internal/syncbuf"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
)

// tsemuCmd is how to start the emulator: $PARSEC_TSEMU (a command line,
// e.g. "qemu-aarch64-static /tmp/parsec-tsemu" for cross-built tests) or
// a binary built from this module in TestMain.
var tsemuCmd []string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tsemu-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if s := os.Getenv("PARSEC_TSEMU"); s != "" {
		tsemuCmd = strings.Fields(s)
	} else {
		bin := filepath.Join(dir, "parsec-tsemu")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/parsec-go/parsec/tools/parsec-tsemu").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building parsec-tsemu: %v\n%s", err, out)
			os.Exit(1)
		}
		tsemuCmd = []string{bin}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// emulator is a parsec-tsemu process.
type emulator struct {
	t      *testing.T
	socket string
	args   []string
	cmd    *exec.Cmd
	log    *syncbuf.Buffer
	done   chan struct{}
}

// startEmulator runs the emulator on socket with extra flags and waits
// until it accepts connections.
func startEmulator(t *testing.T, socket string, flags ...string) *emulator {
	t.Helper()
	e := &emulator{t: t, socket: socket, args: flags}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *emulator) start() {
	e.t.Helper()
	args := append(append([]string(nil), tsemuCmd[1:]...), append([]string{"-listen", e.socket}, e.args...)...)
	e.cmd = exec.Command(tsemuCmd[0], args...)
	e.log = &syncbuf.Buffer{}
	e.cmd.Stderr = e.log
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.done = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(e.cmd, e.done)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("unix", e.socket)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-e.done:
			e.t.Fatalf("emulator exited at start: %s", e.log)
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("emulator did not start: %s", e.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the process abruptly (SIGKILL), as a crash would.
func (e *emulator) kill() {
	if e.cmd != nil && e.cmd.Process != nil {
		e.cmd.Process.Signal(syscall.SIGKILL)
		<-e.done
		os.Remove(e.socket)
	}
}

func (e *emulator) stop() {
	if e.cmd == nil || e.cmd.Process == nil {
		return
	}
	select {
	case <-e.done:
		return
	default:
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		e.cmd.Process.Kill()
		<-e.done
	}
}

// logBuffer collects the provider's log.
type logBuffer struct{ syncbuf.Buffer }

func newProvider(t *testing.T, cfg Config, k kim.Manager) (*Provider, *logBuffer) {
	t.Helper()
	lb := &logBuffer{}
	p, err := New(provider.Deps{
		Name: "trusted-service-provider",
		KIM:  k,
		Log:  slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Decode: func(v any) error {
			*(v.(*Config)) = cfg
			return nil
		},
		Settings: provider.Settings{BufferSizeLimit: 1 << 20},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.(*Provider), lb
}

func newKIM(t *testing.T, dir string) kim.Manager {
	t.Helper()
	k, err := kim.OpenOnDisk(dir, slog.New(slog.NewTextHandler(bytes.NewBuffer(nil), nil)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var alice = auth.Application{Name: "alice", AuthType: wire.AuthUnixPeerCredentials}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func statusOf(err error) wire.Status { return wire.StatusOf(err, wire.StatusPsaErrorGenericError) }
