package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parsec-go/parsec/internal/syncbuf"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/config"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// crashing stands for a provider with a bug: every GenerateRandom panics.
type crashing struct{}

func (crashing) Info() provider.Info {
	return provider.Info{ID: wire.ProviderMbedCrypto, Name: "crashing"}
}
func (crashing) Opcodes() []wire.Opcode { return []wire.Opcode{wire.OpPsaGenerateRandom} }
func (crashing) Accepts(op wire.Opcode) bool {
	return op == wire.OpPsaGenerateRandom
}
func (crashing) Execute(context.Context, auth.Application, provider.Request) (protomsg.Message, error) {
	panic("provider bug")
}
func (crashing) Close() error { return nil }

func roundTripStatus(t *testing.T, socket string, req []byte) (wire.Status, error) {
	t.Helper()
	conn, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(req); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		return 0, err
	}
	h, err := wire.ParseHeader(b)
	if err != nil {
		return 0, err
	}
	return h.Status, nil
}

// testServer serves a temporary socket with one MbedCrypto-slot provider
// made by factory, logging to log, until the test ends; Serve must then
// return cleanly.
func testServer(tb testing.TB, auth string, factory provider.Factory, log io.Writer, setup ...func(*Server)) *Server {
	return testServerAuth(tb, "[authenticator]\nauth_type = \""+auth+"\"\n", factory, log, setup...)
}

// testServerAuth is testServer with the config's authenticator section;
// each setup function is applied before the server starts serving.
func testServerAuth(tb testing.TB, authSection string, factory provider.Factory, log io.Writer, setup ...func(*Server)) *Server {
	tb.Helper()
	dir := tb.TempDir()
	doc := strings.NewReplacer("DIR", dir, "AUTH\n", authSection).Replace(`
[core_settings]
allow_root = true
[listener]
listener_type = "DomainSocket"
timeout = 1000
socket_path = "DIR/parsec.sock"
AUTH
[[key_manager]]
name = "kim"
manager_type = "OnDisk"
store_path = "DIR/mappings"
[[provider]]
provider_type = "MbedCrypto"
key_info_manager = "kim"
store_path = "DIR/keys"
`)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg, _, err := config.Parse([]byte(doc))
	if err != nil {
		tb.Fatal(err)
	}
	reg := Registry{"MbedCrypto": {ID: wire.ProviderMbedCrypto, Factory: factory}}
	s, err := New(cfg, path, reg, slog.New(slog.NewTextHandler(log, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range setup {
		f(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			tb.Error("the service did not stop")
		}
	})
	return s
}

// slow stands for a provider whose GenerateRandom takes a while.
type slow struct{ crashing }

func (slow) Execute(context.Context, auth.Application, provider.Request) (protomsg.Message, error) {
	time.Sleep(30 * time.Millisecond)
	return &pb.GenerateRandomResult{RandomBytes: []byte{1}}, nil
}

// OnServed hears of every request with how long it took, a slow one too
// (the processor governor keeps a second processor for long requests).
func TestOnServedTimesEachRequest(t *testing.T) {
	served := make(chan time.Duration, 8)
	s := testServer(t, "Direct", func(provider.Deps) (provider.Provider, error) { return slow{}, nil }, io.Discard,
		func(s *Server) { s.OnServed = func(d time.Duration) { served <- d } })
	random := request(wire.ProviderMbedCrypto, wire.OpPsaGenerateRandom, &pb.GenerateRandomRequest{Size: 1}, false)
	ping := request(wire.ProviderCore, wire.OpPing, &pb.PingRequest{}, false)
	for _, tc := range []struct {
		req      []byte
		min, max time.Duration
	}{{ping, 0, 10 * time.Second}, {random, 30 * time.Millisecond, 10 * time.Second}} {
		if st, err := roundTripStatus(t, s.SocketPath(), tc.req); err != nil || st != wire.StatusSuccess {
			t.Fatalf("request: %v, %v", st, err)
		}
		select {
		case d := <-served:
			if d < tc.min || d >= tc.max {
				t.Errorf("request served in %v, want [%v, %v)", d, tc.min, tc.max)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("OnServed was not called")
		}
	}
}

// A request that hits a bug loses its answer; the service and every
// other client carry on.
func TestPanicCostsOneRequest(t *testing.T) {
	var logs syncbuf.Buffer
	s := testServer(t, "Direct", func(provider.Deps) (provider.Provider, error) { return crashing{}, nil }, &logs)
	random := request(wire.ProviderMbedCrypto, wire.OpPsaGenerateRandom, &pb.GenerateRandomRequest{Size: 8}, false)
	ping := request(wire.ProviderCore, wire.OpPing, &pb.PingRequest{}, false)
	for i := 0; i < 3; i++ {
		if st, err := roundTripStatus(t, s.SocketPath(), random); err == nil {
			t.Fatalf("the crashing request was answered with status %v", st)
		}
		if st, err := roundTripStatus(t, s.SocketPath(), ping); err != nil || st != wire.StatusSuccess {
			t.Fatalf("ping after a crash: %v, %v", st, err)
		}
	}
	if !strings.Contains(logs.String(), "provider bug") {
		t.Errorf("the panic was not logged:\n%s", logs.String())
	}
}

// A reload to a config that forbids root, while running as root, is
// refused as the start is, and the running config keeps serving
// (issue 15, item 6).
func TestReloadRefusesRootWhenForbidden(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	var logs syncbuf.Buffer
	s := testServer(t, "Direct", func(provider.Deps) (provider.Provider, error) { return crashing{}, nil }, &logs)
	doc, err := os.ReadFile(s.configPath)
	if err != nil {
		t.Fatal(err)
	}
	forbid := strings.Replace(string(doc), "allow_root = true", "allow_root = false", 1)
	if err := os.WriteFile(s.configPath, []byte(forbid), 0o600); err != nil {
		t.Fatal(err)
	}
	err = s.Reload()
	if err == nil || !strings.Contains(err.Error(), "should not run as root") || !strings.Contains(err.Error(), "reload refused") {
		t.Fatalf("Reload = %v, want a refusal naming root", err)
	}
	ping := request(wire.ProviderCore, wire.OpPing, &pb.PingRequest{}, false)
	if st, err := roundTripStatus(t, s.SocketPath(), ping); err != nil || st != wire.StatusSuccess {
		t.Fatalf("ping after the refused reload: %v, %v", st, err)
	}
	if !s.gen.cfg.Core.AllowRoot {
		t.Errorf("the refused config was applied")
	}
}

// Workers that finish while another accepts park as spares; concurrent
// clients are all answered, and the spares leave when the service stops
// (testServer's clean-up waits for Serve to return).
func TestSpareWorkersServeAndStop(t *testing.T) {
	s := testServer(t, "Direct", func(provider.Deps) (provider.Provider, error) { return crashing{}, nil }, io.Discard)
	ping := request(wire.ProviderCore, wire.OpPing, &pb.PingRequest{}, false)
	errs := make(chan error, 16)
	for c := 0; c < cap(errs); c++ {
		go func() {
			for i := 0; i < 25; i++ {
				conn, err := net.Dial("unix", s.SocketPath())
				if err != nil {
					errs <- err
					return
				}
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				_, err = conn.Write(ping)
				var b []byte
				if err == nil {
					b, err = io.ReadAll(conn)
				}
				conn.Close()
				if err == nil {
					var h wire.Header
					if h, err = wire.ParseHeader(b); err == nil && h.Status != wire.StatusSuccess {
						err = h.Status
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for c := 0; c < cap(errs); c++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
