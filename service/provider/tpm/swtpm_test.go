package tpm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/service/provider/tpm/tcti"
	"github.com/parsec-go/parsec/wire"
)

// The tests run against a real swtpm started by scripts/swtpm.sh (which
// installs it from Debian if needed); they skip only when it cannot be
// installed.

type swtpm struct {
	dir  string
	port int
	tcti string
}

func swtpmScript(t testing.TB) string {
	p, err := filepath.Abs("../../../scripts/swtpm.sh")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runScript(t testing.TB, args ...string) (map[string]string, error) {
	t.Helper()
	cmd := exec.Command(swtpmScript(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			t.Skipf("swtpm is not available and cannot be installed: %s", strings.TrimSpace(stderr.String()))
		}
		return nil, fmt.Errorf("swtpm.sh %v: %v: %s", args, err, stderr.String())
	}
	vals := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vals[k] = v
		}
	}
	return vals, nil
}

// startSwtpm starts a private swtpm for the test and stops it (removing
// its state) when the test ends.
func startSwtpm(t testing.TB) *swtpm {
	t.Helper()
	return startSwtpmIn(t, t.TempDir())
}

// startSwtpmIn starts a swtpm on dir/state (which may hold a TPM state
// made elsewhere) and kills it when the test ends.
func startSwtpmIn(t testing.TB, dir string) *swtpm {
	t.Helper()
	vals, err := runScript(t, "start", "--dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(vals["SWTPM_PORT"])
	if err != nil {
		t.Fatalf("swtpm.sh printed no port: %v", vals)
	}
	s := &swtpm{dir: vals["SWTPM_DIR"], port: port, tcti: vals["SWTPM_TCTI"]}
	// SIGKILL: the state is thrown away, and SIGTERM takes swtpm ~1.4 s.
	t.Cleanup(func() { _, _ = runScript(t, "kill", "--dir", s.dir) })
	return s
}

func (s *swtpm) restart(t testing.TB) {
	t.Helper()
	if _, err := runScript(t, "restart", "--dir", s.dir); err != nil {
		t.Fatal(err)
	}
}

func (s *swtpm) kill(t testing.TB) {
	t.Helper()
	if _, err := runScript(t, "kill", "--dir", s.dir); err != nil {
		t.Fatal(err)
	}
}

// start starts a stopped or killed instance again on the same state.
func (s *swtpm) start(t testing.TB) {
	t.Helper()
	if _, err := runScript(t, "start", "--dir", s.dir); err != nil {
		t.Fatal(err)
	}
}

// direct opens a channel of our own to the swtpm, for checks and for
// playing another client.
func (s *swtpm) direct(t testing.TB) tcti.Transport {
	t.Helper()
	c, err := tcti.Parse(s.tcti)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// transientCount counts the transient objects loaded in the swtpm (it has
// no resource manager: these are everyone's).
func (s *swtpm) transientCount(t testing.TB) int {
	t.Helper()
	hs, err := transientHandles(s.direct(t))
	if err != nil {
		t.Fatal(err)
	}
	return len(hs)
}

// logRecorder keeps log records so tests can check that a fault was
// logged with its cause, and forwards them to t.Log.
type logRecorder struct {
	mu   sync.Mutex
	recs []string
	t    testing.TB
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	l.mu.Lock()
	l.recs = append(l.recs, b.String())
	l.mu.Unlock()
	if os.Getenv("TPM_TEST_LOG") != "" {
		l.t.Log(b.String())
	}
	return nil
}

func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// find returns the first record containing all the given substrings.
func (l *logRecorder) find(subs ...string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
outer:
	for _, r := range l.recs {
		for _, s := range subs {
			if !strings.Contains(r, s) {
				continue outer
			}
		}
		return r, true
	}
	return "", false
}

func (l *logRecorder) reset() {
	l.mu.Lock()
	l.recs = nil
	l.mu.Unlock()
}

func (l *logRecorder) mustFind(t testing.TB, subs ...string) {
	t.Helper()
	if _, ok := l.find(subs...); !ok {
		l.mu.Lock()
		defer l.mu.Unlock()
		t.Fatalf("no log line contains %q; log:\n%s", subs, strings.Join(l.recs, "\n"))
	}
}

// env is a provider on a swtpm with an on-disk KIM.
type env struct {
	t      testing.TB
	tpm    *swtpm
	kimDir string
	log    *logRecorder
	p      *Provider
	cfg    Config
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, tpm: startSwtpm(t), kimDir: t.TempDir(), log: &logRecorder{t: t}}
	e.cfg = Config{Tcti: e.tpm.tcti}
	e.p = e.open(t)
	return e
}

// open builds a new provider instance on the same swtpm and KIM directory.
func (e *env) open(t testing.TB) *Provider {
	t.Helper()
	p, err := e.tryOpen(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p.(*Provider)
}

func (e *env) tryOpen(cfg Config) (provider.Provider, error) {
	m, err := kim.OpenOnDisk(e.kimDir, slog.New(e.log))
	if err != nil {
		return nil, err
	}
	return New(provider.Deps{
		Name: "tpm-provider", KIM: m, Log: slog.New(e.log),
		Settings: provider.Settings{BufferSizeLimit: 1 << 20},
		Decode: func(v any) error {
			*v.(*Config) = cfg
			return nil
		},
	})
}

var alice = auth.Application{Name: "alice", AuthType: wire.AuthUnixPeerCredentials}
var bob = auth.Application{Name: "bob", AuthType: wire.AuthUnixPeerCredentials}

// statusOf is the Parsec status of an Execute error.
func statusOf(err error) wire.Status { return wire.StatusOf(err, wire.StatusPsaErrorGenericError) }

func wantStatus(t testing.TB, err error, want wire.Status) {
	t.Helper()
	if got := statusOf(err); got != want {
		t.Fatalf("status %v, want %v (err: %v)", got, want, err)
	}
}
