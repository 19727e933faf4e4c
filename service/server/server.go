// Package server runs the service: it owns the socket, accepts
// connections (blocking, no idle polling), hands each to the current
// front end, swaps the whole request path on reload, and drains in-flight
// requests before a reload or exit.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/parsec-go/parsec/internal/memtune"
	"github.com/parsec-go/parsec/service/config"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/listener"
	"github.com/parsec-go/parsec/service/systemd"
)

// cfgLoaded lets the caller react to a freshly loaded config (e.g. a new
// log level) before the providers are rebuilt.
func (s *Server) cfgLoaded(cfg *config.Config) {
	if s.OnConfig != nil {
		s.OnConfig(cfg)
	}
}

// ErrDown is returned by Reload when no provider set could be started:
// the service cannot go on serving and should exit.
var ErrDown = errors.New("service down")

// Server is one running service.
type Server struct {
	reg        Registry
	log        *slog.Logger
	configPath string

	// mu guards gen; request goroutines hold it for reading only while
	// they register in inflight, so a reload (writer) waits for nothing
	// but those few instructions, then drains inflight.
	mu       sync.RWMutex
	gen      *generation
	inflight sync.WaitGroup
	// concurrency bounds the requests served at once.
	concurrency int

	// stores are the key info managers' stores, kept open across reloads.
	stores kim.Stores

	// OnConfig, if set, is called with each config a reload loads.
	OnConfig func(*config.Config)
	// OnServed, if set, is told how long each request took, from reading
	// it to writing the answer (set it before Serve). A request whose
	// handler panicked is not counted.
	OnServed func(time.Duration)

	ln   *listener.Listener
	path string
}

// New refuses root unless the config allows it, builds the providers and
// opens the socket. configPath is where Reload reads the config again.
func New(cfg *config.Config, configPath string, reg Registry, log *slog.Logger) (*Server, error) {
	if err := checkRoot(cfg); err != nil {
		return nil, err
	}
	s := &Server{reg: reg, log: log, configPath: configPath, path: cfg.Listener.SocketPath}
	g, err := build(cfg, reg, &s.stores, log)
	if err != nil {
		s.stores.Close()
		return nil, err
	}
	ln, err := listener.Open(cfg.Listener)
	if err != nil {
		g.close(log)
		s.stores.Close()
		return nil, err
	}
	s.gen, s.ln = g, ln
	s.releaseStartupMemory()
	s.concurrency = concurrency(cfg)
	return s, nil
}

// checkRoot refuses a config that forbids root while running as root, at
// start and on reload alike.
func checkRoot(cfg *config.Config) error {
	if os.Geteuid() == 0 && !cfg.Core.AllowRoot {
		return errors.New("insecure configuration: the Parsec service should not run as root; run it as the parsec user, or set core_settings.allow_root = true")
	}
	return nil
}

func concurrency(cfg *config.Config) int {
	if n := cfg.Core.ThreadPoolSize; n > 0 {
		return n
	}
	// Requests are short and mostly CPU-bound or serialised by their
	// device; a bound keeps memory flat under a connection flood.
	return 64 * runtime.NumCPU()
}

// releaseStartupMemory returns to the system the memory that building a
// generation used and dropped (the key log read whole, the scans of the
// key stores): without it the idle service keeps it mapped until the
// runtime's background scavenger gets to it, minutes later. It is one
// forced collection plus the release, milliseconds to tens of them with
// 100,000 keys: done in the background, so that it does not delay the
// first answer. It then unmaps the executable's pages that start-up
// faulted in (memtune.DropExecutablePages): serving maps back the part it
// runs, which took the idle RSS from 8.2 MB to about 4.5 MB and the peak
// under load down by about 0.7 MB (README, Performance).
func (s *Server) releaseStartupMemory() {
	go func() {
		debug.FreeOSMemory()
		if err := memtune.DropExecutablePages(); err != nil {
			s.log.Debug("releasing the executable's start-up pages", "err", err)
		}
	}()
}

// LoadConfig reads the config at path and logs its warnings.
func LoadConfig(path string, log *slog.Logger) (*config.Config, error) {
	cfg, warns, err := config.Load(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, w := range warns {
		log.Warn(string(w), "config", path)
	}
	return cfg, nil
}

// SocketPath is where the service listens.
func (s *Server) SocketPath() string { return s.ln.Path() }

// Serve accepts connections until ctx is cancelled, then drains in-flight
// requests and closes the providers.
func (s *Server) Serve(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		s.ln.Close()
	}()
	err := s.runWorkers(ctx, s.concurrency)
	s.inflight.Wait()
	s.mu.Lock()
	s.gen.close(s.log)
	s.mu.Unlock()
	if err := s.stores.Close(); err != nil {
		s.log.Error("closing key info managers", "err", err)
	}
	s.ln.Remove()
	return err
}

// serve runs one request on the current request path. A bug that panics
// while serving one client costs that client its answer (the connection
// is closed unanswered, as the Rust service's worker threads do), not the
// service its other clients.
func (s *Server) serve(ctx context.Context, conn *listener.Conn) {
	s.mu.RLock()
	g := s.gen
	s.inflight.Add(1)
	s.mu.RUnlock()
	defer s.inflight.Done()
	defer func() {
		if r := recover(); r != nil {
			conn.Close()
			s.log.Error("request handler panicked; connection closed unanswered", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	if d := g.fe.Serve(ctx, conn); s.OnServed != nil {
		s.OnServed(d)
	}
}

// Reload re-reads the config and replaces the request path. A config that
// does not load leaves the running service untouched. Providers hold
// devices exclusively (a TPM connection, a TEE session), so the old ones
// are drained and closed before the new ones open; if the new ones cannot
// start, the old config is built again.
func (s *Server) Reload() error {
	systemd.Notify("RELOADING=1")
	defer systemd.Notify("READY=1")
	cfg, err := LoadConfig(s.configPath, s.log)
	if err != nil {
		return fmt.Errorf("reload refused, keeping the running config: %w", err)
	}
	if err := checkRoot(cfg); err != nil {
		return fmt.Errorf("reload refused, keeping the running config: %s: %w", s.configPath, err)
	}
	s.cfgLoaded(cfg)
	if cfg.Listener.SocketPath != s.path {
		s.log.Warn("listener.socket_path changed; the new path takes effect at the next restart", "running", s.path, "config", cfg.Listener.SocketPath)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight.Wait()
	old := s.gen
	old.close(s.log)
	g, err := build(cfg, s.reg, &s.stores, s.log)
	if err != nil {
		s.log.Error("reload failed, restoring the previous config", "err", err)
		g, err2 := build(old.cfg, s.reg, &s.stores, s.log)
		if err2 != nil {
			return fmt.Errorf("%w: reload failed (%v) and the previous config no longer starts: %v", ErrDown, err, err2)
		}
		s.gen = g
		return fmt.Errorf("reload failed: %w", err)
	}
	s.gen = g
	s.releaseStartupMemory()
	return nil
}
