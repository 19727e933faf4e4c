package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parsec-go/parsec/service/config"
	"github.com/parsec-go/parsec/service/provider/software"
	"github.com/parsec-go/parsec/service/server"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func startService(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	doc := strings.ReplaceAll(`
[core_settings]
allow_root = true
[listener]
listener_type = "DomainSocket"
timeout = 1000
socket_path = "DIR/parsec.sock"
[authenticator]
auth_type = "UnixPeerCredentials"
[[key_manager]]
name = "kim"
manager_type = "OnDisk"
store_path = "DIR/mappings"
[[provider]]
provider_type = "MbedCrypto"
key_info_manager = "kim"
store_path = "DIR/keys"
`, "DIR", dir)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := server.New(cfg, path, server.Registry{"MbedCrypto": {ID: wire.ProviderMbedCrypto, Factory: software.New}}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s.SocketPath()
}

// Every operation, in both I/O modes, gets exactly the answers asked for;
// a figure from a tool that loses or miscounts requests means nothing.
func TestRunCountsEveryAnswer(t *testing.T) {
	socket := startService(t)
	for _, op := range []string{"ping", "random", "sign"} {
		for name, do := range map[string]func(string, request) (wire.Status, error){"blocking": send, "poller": sendPolled} {
			req, cleanup, err := prepare(socket, op, wire.ProviderMbedCrypto, "load-test-key")
			if err != nil {
				t.Fatalf("%s: %v", op, err)
			}
			res := run(socket, req, 3, 0, 60, do)
			cleanup()
			if res.ok != 60 || res.errors != 0 || len(res.lat) != 60 {
				t.Errorf("%s/%s: ok %d errors %d (%v) latencies %d", op, name, res.ok, res.errors, res.firstErr, len(res.lat))
			}
		}
	}
}

func TestRunReportsRefusals(t *testing.T) {
	socket := startService(t)
	// Sign with a key that does not exist: answered, but not a success.
	req := build(wire.ProviderMbedCrypto, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: "missing", Hash: make([]byte, 32)}, true)
	res := run(socket, req, 1, 0, 5, send)
	if res.ok != 0 || res.errors != 5 || res.firstErr == nil {
		t.Fatalf("ok %d errors %d first %v", res.ok, res.errors, res.firstErr)
	}
	res = run(filepath.Join(t.TempDir(), "nothing.sock"), req, 1, 0, 3, sendPolled)
	if res.ok != 0 || res.errors != 3 {
		t.Fatalf("no service: ok %d errors %d", res.ok, res.errors)
	}
}
