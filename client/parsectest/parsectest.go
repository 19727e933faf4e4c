// Package parsectest starts real Parsec services for tests: this
// repository's daemon (built once per test binary with go build) and,
// when its cached trixie root is available, the Rust Parsec 1.4.1 service
// through scripts/rust-parsec.sh. Each service runs on a socket in a
// temporary directory and is stopped when the test ends.
package parsectest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/internal/syncbuf"
)

// Kind names a service implementation.
type Kind string

const (
	// Go is this repository's daemon, service/cmd/parsec.
	Go Kind = "go"
	// Rust is Debian trixie's Parsec 1.4.1, run by scripts/rust-parsec.sh.
	Rust Kind = "rust"
)

// Config describes the service to start.
type Config struct {
	// Auth is the authenticator: "UnixPeerCredentials" (default) or
	// "Direct" (Go only: the Rust build lacks it).
	Auth string
	// Admins are application names allowed to run admin operations.
	Admins []string
}

// Service is a running service.
type Service struct {
	Kind Kind
	// Endpoint is the PARSEC_SERVICE_ENDPOINT value for the service.
	Endpoint string
	// Socket is its socket path.
	Socket string
	// Dir holds its config, keys and log.
	Dir string
	log func() string
}

// Log returns what the service logged so far.
func (s *Service) Log() string { return s.log() }

// RepoRoot returns the repository's root directory (where go.mod is).
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the module")
	}
	return filepath.Dir(mod), nil
}

var build struct {
	once sync.Once
	dir  string
	err  error
}

// BuildBinary builds package pkg of the repository (e.g. "./service/cmd/parsec")
// into a directory shared by the test binary and returns its path. The
// directory is removed by Cleanup.
func BuildBinary(pkg string) (string, error) {
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "parsectest-bin")
	})
	if build.err != nil {
		return "", build.err
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(build.dir, filepath.Base(pkg))
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// Cleanup removes the binaries BuildBinary made; call it from TestMain.
func Cleanup() {
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
}

// Kinds returns the services tests should run against: Go always, Rust
// when the trixie root is cached (or PARSEC_TEST_RUST=1 asks for it, which
// builds the root if needed). PARSEC_TEST_SERVICES=go,rust overrides.
func Kinds() []Kind {
	if v := os.Getenv("PARSEC_TEST_SERVICES"); v != "" {
		var ks []Kind
		for _, k := range strings.Split(v, ",") {
			ks = append(ks, Kind(strings.TrimSpace(k)))
		}
		return ks
	}
	ks := []Kind{Go}
	if os.Getenv("PARSEC_TEST_RUST") == "1" || rustRootCached() {
		ks = append(ks, Rust)
	}
	return ks
}

// TrixieRoot returns where scripts/lib/trixie.sh keeps the trixie root:
// $TRIXIE_ROOT, else ${PARSEC_CACHE:-$HOME/.cache/parsec-go}/trixie-root
// ("" when neither that nor a home directory is known). The root may be
// missing or incomplete there.
func TrixieRoot() string {
	if dir := os.Getenv("TRIXIE_ROOT"); dir != "" {
		return dir
	}
	base := os.Getenv("PARSEC_CACHE")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		base = filepath.Join(home, ".cache", "parsec-go")
	}
	return filepath.Join(base, "trixie-root")
}

func rustRootCached() bool {
	dir := TrixieRoot()
	if dir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, ".parsec-go-root.stamp"))
	return err == nil
}

// Start starts a service of kind k and stops it when t ends.
func Start(t testing.TB, k Kind, cfg Config) *Service {
	t.Helper()
	if cfg.Auth == "" {
		cfg.Auth = "UnixPeerCredentials"
	}
	switch k {
	case Go:
		return startGo(t, cfg)
	case Rust:
		if cfg.Auth != "UnixPeerCredentials" || len(cfg.Admins) > 0 {
			t.Skipf("the Rust service is run with UnixPeerCredentials and no admins only")
		}
		return startRust(t)
	}
	t.Fatalf("unknown service kind %q", k)
	return nil
}

// shortTempDir returns a directory whose socket path fits sun_path (108
// bytes); t.TempDir() paths can be too long.
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

const goConfig = `[core_settings]
allow_root = true
log_level = "info"

[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = "{{dir}}/parsec.sock"

[authenticator]
auth_type = "{{auth}}"
{{admins}}

[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "{{dir}}/mappings"

[[provider]]
provider_type = "MbedCrypto"
key_info_manager = "on-disk-manager"
store_path = "{{dir}}/keys"
`

func startGo(t testing.TB, cfg Config) *Service {
	t.Helper()
	bin, err := BuildBinary("./service/cmd/parsec")
	if err != nil {
		t.Fatal(err)
	}
	dir := shortTempDir(t)
	admins := ""
	if len(cfg.Admins) > 0 {
		var names []string
		for _, a := range cfg.Admins {
			names = append(names, fmt.Sprintf("{ name = %q }", a))
		}
		admins = "admins = [ " + strings.Join(names, ", ") + " ]"
	}
	conf := strings.NewReplacer("{{dir}}", dir, "{{auth}}", cfg.Auth, "{{admins}}", admins).Replace(goConfig)
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	log := &syncbuf.Buffer{}
	cmd := exec.Command(bin, "-c", cfgPath)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("the Go service ignored SIGTERM for 10 s; log:\n%s", log)
		}
	})
	s := &Service{Kind: Go, Dir: dir, Socket: filepath.Join(dir, "parsec.sock"), log: log.String}
	s.Endpoint = "unix:" + s.Socket
	waitReady(t, s, exited)
	return s
}

func startRust(t testing.TB) *Service {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "scripts", "rust-parsec.sh")
	dir := shortTempDir(t)
	var stderr bytes.Buffer
	cmd := exec.Command(script, "start", "--dir", dir, "--provider", "mbed-crypto", "--log-level", "info")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("starting the Rust service: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		if out, err := exec.Command(script, "stop", "--dir", dir).CombinedOutput(); err != nil {
			t.Errorf("stopping the Rust service: %v\n%s", err, out)
		}
	})
	s := &Service{Kind: Rust, Dir: dir, log: func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "parsec.log"))
		return string(b)
	}}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "PARSEC_SERVICE_ENDPOINT="); ok {
			s.Endpoint = v
		}
	}
	if s.Endpoint == "" {
		t.Fatalf("rust-parsec.sh printed no endpoint: %s", out)
	}
	s.Socket = strings.TrimPrefix(s.Endpoint, "unix:")
	waitReady(t, s, nil)
	return s
}

func waitReady(t testing.TB, s *Service, exited <-chan struct{}) {
	t.Helper()
	c, err := client.NewNaked(client.WithSocketPath(s.Socket), client.WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("the %s service exited during start-up; log:\n%s", s.Kind, s.log())
		default:
		}
		if _, _, err := c.Ping(context.Background()); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s service did not answer a ping within 20 s; log:\n%s", s.Kind, s.log())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
