package tpm

import (
	"context"
	"io"
	"log/slog"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/client/parsectest"
	"github.com/parsec-go/parsec/service/config"
	"github.com/parsec-go/parsec/service/server"
	"github.com/parsec-go/parsec/wire"
)

// TestCLISuiteOnTPM runs our parsec-cli-tests.sh (tools/parsec-cli-tests)
// against the real service with only this provider, on swtpm, driven by
// our parsec-tool and, when the trixie root is cached, by the Rust
// parsec-tool 0.7.0: every check must pass (the Rust tool cannot make
// RSA-PSS keys; the script reports those checks as skipped).
func TestCLISuiteOnTPM(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	e := newEnv(t)
	_ = e.p.Close() // the service gets its own instance
	work := t.TempDir()
	sock := filepath.Join(work, "parsec.sock")
	doc := onDiskTPMConfig("error", sock, filepath.Join(work, "mappings"), e.tpm.tcti)
	cfg, _, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	reg := server.Registry{"Tpm": {ID: wire.ProviderTpm, Factory: New}}
	srv, err := server.New(cfg, filepath.Join(work, "config.toml"), reg, slog.New(e.log))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the service did not stop")
		}
	})

	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	ourTool := filepath.Join(work, "parsec-tool")
	build := osexec.Command("go", "build", "-o", ourTool, "./tools/parsec-tool")
	build.Dir = repo
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building parsec-tool: %v\n%s", err, out)
	}
	openssl, err := osexec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl on this machine; the CLI suite needs it as judge")
	}
	run := func(t *testing.T, label, tool, openssl string) {
		cmd := osexec.Command("sh", filepath.Join(repo, "tools/parsec-cli-tests/parsec-cli-tests.sh"), "-3")
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PARSEC_SERVICE_ENDPOINT=unix:"+sock, "PARSEC_TOOL="+tool, "OPENSSL="+openssl, "RUST_LOG=error")
		out, err := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		summary := lines[len(lines)-1]
		if err != nil || !strings.HasSuffix(summary, " 0 failed") {
			t.Fatalf("parsec-cli-tests.sh with %s: %v\n%s", tool, err, out)
		}
		t.Logf("%s: %s", label, summary)
	}
	t.Run("go-parsec-tool", func(t *testing.T) { run(t, "parsec-go parsec-tool", ourTool, openssl) })
	t.Run("rust-parsec-tool", func(t *testing.T) {
		root := parsectest.TrixieRoot()
		if _, err := os.Stat(filepath.Join(root, "usr/bin/parsec-tool")); err != nil {
			t.Skipf("no cached trixie root at %s (scripts/trixie-root.sh builds it); Rust parsec-tool half skipped", root)
		}
		wrappers := filepath.Join(work, "rust")
		cmd := osexec.Command(filepath.Join(repo, "scripts/rust-parsec.sh"), "--root", root, "install-wrapper", wrappers)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("install-wrapper: %v\n%s", err, out)
		}
		run(t, "Rust parsec-tool 0.7.0", filepath.Join(wrappers, "parsec-tool"), filepath.Join(wrappers, "openssl"))
	})
}

// startService runs the service in process with only the TPM provider on
// the given swtpm and returns its socket.
func startService(tb testing.TB, tcti string) string {
	tb.Helper()
	work := tb.TempDir()
	sock := filepath.Join(work, "parsec.sock")
	doc := onDiskTPMConfig("error", sock, filepath.Join(work, "mappings"), tcti)
	cfg, _, err := config.Parse([]byte(doc))
	if err != nil {
		tb.Fatal(err)
	}
	reg := server.Registry{"Tpm": {ID: wire.ProviderTpm, Factory: New}}
	srv, err := server.New(cfg, filepath.Join(work, "config.toml"), reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	return sock
}

// startRustService starts the Rust Parsec 1.4.1 TPM provider on the given
// swtpm, or skips without a cached trixie root.
func startRustService(tb testing.TB, tcti string, extra ...string) string {
	tb.Helper()
	root := parsectest.TrixieRoot()
	if _, err := os.Stat(filepath.Join(root, "usr/bin/parsec")); err != nil {
		tb.Skipf("no cached trixie root at %s: no Rust service to compare with", root)
	}
	script, _ := filepath.Abs("../../../scripts/rust-parsec.sh")
	dir := tb.TempDir()
	args := append([]string{"--root", root, "start", "--dir", dir, "--provider", "tpm", "--tcti", tcti, "--log-level", "error"}, extra...)
	out, err := osexec.Command(script, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("starting the Rust service: %v\n%s", err, out)
	}
	tb.Cleanup(func() { _ = osexec.Command(script, "--root", root, "stop", "--dir", dir, "--purge").Run() })
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "PARSEC_SERVICE_ENDPOINT=unix:"); ok {
			return v
		}
	}
	tb.Fatalf("the Rust service printed no endpoint:\n%s", out)
	return ""
}

// BenchmarkServiceSign: ECDSA P-256 signatures through the socket, one
// client, our service and the Rust service each with only the TPM
// provider on a private swtpm, in the same run. Reports p50/p90 and ops/s.
//
//	go test ./service/provider/tpm -run XXX -bench ServiceSign -benchtime 200x
func BenchmarkServiceSign(b *testing.B) {
	services := []struct {
		name  string
		start func(testing.TB, string) string
	}{
		{"go", func(tb testing.TB, tcti string) string { return startService(tb, tcti) }},
		{"rust", func(tb testing.TB, tcti string) string { return startRustService(tb, tcti) }},
		{"rust-idle-1ms", func(tb testing.TB, tcti string) string { return startRustService(tb, tcti, "--idle-sleep", "1") }},
	}
	for _, s := range services {
		b.Run(s.name, func(b *testing.B) {
			sock := s.start(b, startSwtpm(b).tcti)
			ctx := context.Background()
			c, err := client.New(ctx, client.WithSocketPath(sock), client.WithProvider(wire.ProviderTpm))
			if err != nil {
				b.Fatal(err)
			}
			if err := c.GenerateKey(ctx, "bench", eccP256Sign); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = c.DestroyKey(ctx, "bench") })
			d := make([]byte, 32)
			if _, err := c.SignHash(ctx, "bench", eccP256Sign.Alg, d); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if _, err := c.SignHash(ctx, "bench", eccP256Sign.Alg, d); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			elapsed := time.Since(start)
			b.StopTimer()
			report(b, lat, elapsed)
		})
	}
}
