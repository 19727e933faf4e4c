package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parsec-go/parsec/client/parsectest"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func TestMain(m *testing.M) {
	code := m.Run()
	parsectest.Cleanup()
	os.Exit(code)
}

// Every operation, in both I/O modes, against every service the benchmark
// compares, gets exactly the answers asked for: a figure from a tool that
// loses or miscounts requests means nothing.
func TestRunCountsEveryAnswer(t *testing.T) {
	for _, k := range parsectest.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			socket := parsectest.Start(t, k, parsectest.Config{}).Socket
			for _, op := range []string{"ping", "random", "sign", "sign-rsa", "create", "list"} {
				spec := signSpec{alg: "ecdsa"}
				if op == "sign-rsa" {
					op, spec.alg = "sign", "rsa"
				}
				for name, do := range map[string]func(string, request) (wire.Status, error){"blocking": send, "poller": sendPolled} {
					req, cleanup, err := prepare(socket, op, wire.ProviderMbedCrypto, "load-test-key", spec)
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
		})
	}
}

func TestRunReportsRefusals(t *testing.T) {
	socket := parsectest.Start(t, parsectest.Go, parsectest.Config{}).Socket
	// Sign with a key that does not exist: answered, but not a success.
	req := build(wire.ProviderMbedCrypto, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: "missing", Hash: make([]byte, 32)}, true)
	res := run(socket, fixed(req), 1, 0, 5, send)
	if res.ok != 0 || res.errors != 5 || res.firstErr == nil {
		t.Fatalf("ok %d errors %d first %v", res.ok, res.errors, res.firstErr)
	}
	res = run(filepath.Join(t.TempDir(), "nothing.sock"), fixed(req), 1, 0, 3, sendPolled)
	if res.ok != 0 || res.errors != 3 {
		t.Fatalf("no service: ok %d errors %d", res.ok, res.errors)
	}
}
