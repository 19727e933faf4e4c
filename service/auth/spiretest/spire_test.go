//go:build parsec_jwtsvid

package spiretest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/client/spiffe"
	"github.com/parsec-go/parsec/wire"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// SPIRE_DIR names the directory with spire-server and spire-agent
// (scripts/spire-build.sh prints it).
const spireDirEnv = "PARSEC_SPIRE_DIR"

// The test binary doubles as a client run under another uid.
const childEnv = "PARSEC_SPIRE_CHILD"

const td = "spiffe://example.org"

// Workloads by uid; 1004 holds two SPIFFE IDs.
const (
	uidA     = 1001
	uidB     = 1002
	uidAdmin = 1003
	uidTwo   = 1004
	idA      = td + "/workload-a"
	idB      = td + "/workload-b"
	idAdmin  = td + "/admin"
	idC1     = td + "/c1"
	idC2     = td + "/c2"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

type world struct {
	t         *testing.T
	dir       string
	spire     string
	port      int
	serverAPI string
	agentSock string
	parsec    string // socket
	toolBin   string
	self      string
	server    *proc
	agent     *proc
	daemon    *proc
	joinToken string // of the agent
}

type proc struct {
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
}

func (w *world) start(name string, args ...string) *proc {
	w.t.Helper()
	p := &proc{cmd: exec.Command(args[0], args[1:]...), log: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		w.t.Fatalf("starting %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	w.t.Cleanup(func() { p.stop() })
	return p
}

func (p *proc) stop() {
	if p == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// eventually retries f until it succeeds or a minute has passed: SPIRE
// propagates entries to the agent on its own schedule (the deadline only
// bounds a broken setup; it measures nothing).
func (w *world) eventually(what string, f func() error) {
	w.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// healthy waits for a SPIRE program's healthcheck on its socket.
func (w *world) healthy(prog, socket string, p *proc) {
	w.t.Helper()
	w.eventually(prog+" healthcheck", func() error {
		out, err := w.run(filepath.Join(w.spire, prog), "healthcheck", "-socketPath", socket)
		if err != nil {
			return fmt.Errorf("%v: %s\nlog: %s", err, out, p.log)
		}
		return nil
	})
}

// token fetches the JWT-SVID of the workload running as uid, for audience
// "parsec" and the extra one if given.
func (w *world) token(uid int, extraAudience ...string) string {
	w.t.Helper()
	out, err := as(uid, []string{childEnv + "=token", spiffe.EndpointEnv + "=unix://" + w.agentSock, "EXTRA_AUDIENCE=" + strings.Join(extraAudience, "")}, w.self)
	if err != nil {
		w.t.Fatalf("fetching uid %d's token: %v %s", uid, err, out)
	}
	return strings.TrimSpace(out)
}

// localAuthority runs "spire-server localauthority jwt ARGS".
func (w *world) localAuthority(args ...string) string {
	w.t.Helper()
	out, err := w.run(append([]string{filepath.Join(w.spire, "spire-server"), "localauthority", "jwt", args[0], "-socketPath", w.serverAPI, "-output", "json"}, args[1:]...)...)
	if err != nil {
		w.t.Fatalf("localauthority jwt %v: %v %s", args, err, out)
	}
	return out
}

// authority returns the ID of the server's JWT authority in a slot
// ("active", "prepared", "old").
func (w *world) authority(slot string) string {
	w.t.Helper()
	var show map[string]struct {
		AuthorityID string `json:"authority_id"`
	}
	out := w.localAuthority("show")
	if err := json.Unmarshal([]byte(out), &show); err != nil || show[slot].AuthorityID == "" {
		w.t.Fatalf("no %s JWT authority in %s (%v)", slot, out, err)
	}
	return show[slot].AuthorityID
}

func (w *world) run(args ...string) (string, error) {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	return string(out), err
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func build(t *testing.T, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-tags", "parsec_jwtsvid", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, b)
	}
}

func setup(t *testing.T) *world {
	spire := os.Getenv(spireDirEnv)
	if spire == "" {
		t.Skipf("%s is not set; scripts/spire-tests.sh builds SPIRE and sets it", spireDirEnv)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: workloads run as other uids")
	}
	dir := t.TempDir()
	// Workloads run as other uids: they need to reach the sockets and
	// binaries under dir.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	w := &world{t: t, dir: dir, spire: spire, port: freePort(t),
		serverAPI: filepath.Join(dir, "server", "api.sock"),
		agentSock: filepath.Join(dir, "agent", "agent.sock"),
		parsec:    filepath.Join(dir, "parsec.sock"),
		toolBin:   filepath.Join(dir, "parsec-tool"),
		self:      filepath.Join(dir, "child")}
	for _, d := range []string{"server", "agent"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	build(t, filepath.Join(dir, "parsec"), "github.com/parsec-go/parsec/service/cmd/parsec")
	build(t, w.toolBin, "github.com/parsec-go/parsec/tools/parsec-tool")
	self, _ := os.Executable()
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.self, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) startServer() {
	cfg := fmt.Sprintf(`server {
  bind_address = "127.0.0.1"
  bind_port = "%d"
  socket_path = "%s"
  trust_domain = "example.org"
  data_dir = "%s/server/data"
  log_level = "WARN"
}
plugins {
  DataStore "sql" {
    plugin_data { database_type = "sqlite3" connection_string = "%s/server/datastore.sqlite3" }
  }
  KeyManager "memory" { plugin_data {} }
  NodeAttestor "join_token" { plugin_data {} }
}
`, w.port, w.serverAPI, w.dir, w.dir)
	p := filepath.Join(w.dir, "server", "server.conf")
	os.WriteFile(p, []byte(cfg), 0o644)
	w.server = w.start("spire-server", filepath.Join(w.spire, "spire-server"), "run", "-config", p)
	w.healthy("spire-server", w.serverAPI, w.server)
	out, err := w.run(filepath.Join(w.spire, "spire-server"), "token", "generate", "-socketPath", w.serverAPI, "-spiffeID", td+"/host")
	if err != nil {
		w.t.Fatalf("token generate: %v %s", err, out)
	}
	w.joinToken = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), "Token:"))
	for _, e := range []struct {
		id  string
		uid int
	}{{td + "/parsec", 0}, {idA, uidA}, {idB, uidB}, {idAdmin, uidAdmin}, {idC1, uidTwo}, {idC2, uidTwo}} {
		out, err := w.run(filepath.Join(w.spire, "spire-server"), "entry", "create", "-socketPath", w.serverAPI,
			"-parentID", td+"/host", "-spiffeID", e.id, "-selector", "unix:uid:"+strconv.Itoa(e.uid))
		if err != nil {
			w.t.Fatalf("entry create %s: %v %s", e.id, err, out)
		}
	}
}

// startAgent starts (or restarts: its key and SVID persist in its data
// directory) the agent.
func (w *world) startAgent() {
	cfg := fmt.Sprintf(`agent {
  data_dir = "%s/agent/data"
  log_level = "WARN"
  server_address = "127.0.0.1"
  server_port = "%d"
  socket_path = "%s"
  trust_domain = "example.org"
  insecure_bootstrap = true
}
plugins {
  NodeAttestor "join_token" { plugin_data {} }
  KeyManager "disk" { plugin_data { directory = "%s/agent/data" } }
  WorkloadAttestor "unix" { plugin_data {} }
}
`, w.dir, w.port, w.agentSock, w.dir)
	p := filepath.Join(w.dir, "agent", "agent.conf")
	os.WriteFile(p, []byte(cfg), 0o644)
	w.agent = w.start("spire-agent", filepath.Join(w.spire, "spire-agent"), "run", "-config", p, "-joinToken", w.joinToken)
	w.healthy("spire-agent", w.agentSock, w.agent)
}

const daemonConfig = `
[core_settings]
allow_root = true
log_level = "debug"
[listener]
listener_type = "DomainSocket"
timeout = 2000
socket_path = "{{dir}}/parsec.sock"
[[authenticator]]
auth_type = "JwtSvid"
workload_endpoint = "unix://{{dir}}/agent/agent.sock"
admins = [ { name = "` + idAdmin + `" } ]
[[authenticator]]
auth_type = "UnixPeerCredentials"
admins = [ { name = "0" } ]
[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "{{dir}}/state/mappings"
[[provider]]
provider_type = "MbedCrypto"
key_info_manager = "on-disk-manager"
store_path = "{{dir}}/state/keys"
`

func (w *world) startDaemon() {
	os.MkdirAll(filepath.Join(w.dir, "state"), 0o700)
	p := filepath.Join(w.dir, "config.toml")
	os.WriteFile(p, []byte(strings.ReplaceAll(daemonConfig, "{{dir}}", w.dir)), 0o600)
	w.daemon = w.start("parsec", filepath.Join(w.dir, "parsec"), "-c", p)
	w.eventually("parsec ping", func() error {
		err := ping(w.parsec)
		if err != nil {
			select {
			case <-w.daemon.done:
				w.t.Fatalf("daemon exited: %s", w.daemon.log)
			default:
			}
		}
		return err
	})
}

// as runs cmd as uid with env added to a minimal environment.
func as(uid int, env []string, args ...string) (string, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "RUST_LOG=error"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		cmd.Process.Kill()
		<-done
		return string(out), fmt.Errorf("hung for a minute: %v", ctx.Err())
	}
	return string(out), err
}

// jwtEnv makes parsec-tool authenticate with a JWT-SVID: through the
// standard SPIFFE variable (discovery picks JwtSvid, listed first) or our
// forcing one.
func (w *world) jwtEnv(force bool, subject string) []string {
	env := []string{"PARSEC_SERVICE_ENDPOINT=unix:" + w.parsec}
	if force {
		env = append(env, spiffe.ForceEnv+"=unix://"+w.agentSock)
	} else {
		env = append(env, spiffe.EndpointEnv+"=unix://"+w.agentSock)
	}
	if subject != "" {
		env = append(env, spiffe.SubjectEnv+"="+subject)
	}
	return env
}

func (w *world) tool(uid int, env []string, args ...string) (string, error) {
	return as(uid, env, append([]string{w.toolBin}, args...)...)
}

func (w *world) mustTool(uid int, env []string, args ...string) string {
	w.t.Helper()
	out, err := w.tool(uid, env, args...)
	if err != nil {
		w.t.Fatalf("uid %d parsec-tool %v: %v\n%s\ndaemon log tail: %s", uid, args, err, out, tail(w.daemon.log.String()))
	}
	return out
}

func tail(s string) string {
	if len(s) > 3000 {
		return s[len(s)-3000:]
	}
	return s
}

// keyNames parses list-keys output.
func keyNames(out string) string {
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "* ") {
			names = append(names, strings.Fields(l)[1])
		}
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

func TestSPIRE(t *testing.T) {
	w := setup(t)

	// The Workload API is down when the service starts: requests get
	// AuthenticationError at once, the service keeps running.
	w.startDaemon()
	if _, err := listWith(w.parsec, "a.b.c"); !errors.Is(err, wire.StatusAuthenticationError) {
		t.Fatalf("with no Workload API: %v", err)
	}

	w.startServer()
	w.startAgent()
	jwtA, jwtB := w.jwtEnv(false, ""), w.jwtEnv(true, "")
	// Recovery without a restart: the service's bundle watch finds the
	// agent, and the agent gets the workload entries from the server.
	w.eventually("workload A through the service", func() error {
		out, err := w.tool(uidA, jwtA, "list-keys")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	for _, uid := range []int{uidB, uidAdmin} {
		w.eventually(fmt.Sprintf("workload uid %d", uid), func() error {
			out, err := w.tool(uid, jwtB, "list-keys")
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			return nil
		})
	}

	t.Run("isolation", func(t *testing.T) {
		w.mustTool(uidA, jwtA, "create-ecc-key", "-k", "a-key")
		w.mustTool(uidB, jwtB, "create-ecc-key", "-k", "b-key")
		if got := keyNames(w.mustTool(uidA, jwtA, "list-keys")); got != "a-key" {
			t.Errorf("A sees %q", got)
		}
		if got := keyNames(w.mustTool(uidB, jwtB, "list-keys")); got != "b-key" {
			t.Errorf("B sees %q", got)
		}
		w.mustTool(uidA, jwtA, "sign", "-k", "a-key", "hello")
		if out, err := w.tool(uidA, jwtA, "sign", "-k", "b-key", "hello"); err == nil || !strings.Contains(out, "PsaErrorDoesNotExist") {
			t.Errorf("A signing with B's key: %v %s", err, out)
		}
		if out, err := w.tool(uidB, jwtB, "delete-key", "-k", "a-key"); err == nil {
			t.Errorf("B deleted A's key: %s", out)
		}
		// Not an admin: ListClients refused.
		if out, err := w.tool(uidA, jwtA, "list-clients"); err == nil || !strings.Contains(out, "AdminOperation") {
			t.Errorf("A listing clients: %v %s", err, out)
		}
	})

	t.Run("two SPIFFE IDs in one uid", func(t *testing.T) {
		c1, c2 := w.jwtEnv(true, idC1), w.jwtEnv(true, idC2)
		w.eventually("c1", func() error { _, err := w.tool(uidTwo, c1, "list-keys"); return err })
		w.mustTool(uidTwo, c1, "create-ecc-key", "-k", "shared-name")
		if got := keyNames(w.mustTool(uidTwo, c2, "list-keys")); got != "" {
			t.Errorf("c2 sees c1's keys: %q", got)
		}
		w.mustTool(uidTwo, c2, "create-ecc-key", "-k", "shared-name")
		w.mustTool(uidTwo, c1, "delete-key", "-k", "shared-name")
		if got := keyNames(w.mustTool(uidTwo, c2, "list-keys")); got != "shared-name" {
			t.Errorf("c2's key after c1 deleted its own: %q", got)
		}
	})

	t.Run("mixed mode", func(t *testing.T) {
		// UnixPeerCredentials (no SPIFFE variables) and JwtSvid clients on
		// the one socket at the same time.
		unixEnv := []string{"PARSEC_SERVICE_ENDPOINT=unix:" + w.parsec}
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := 0; i < 4; i++ {
			i := i
			wg.Add(2)
			go func() {
				defer wg.Done()
				if out, err := w.tool(uidB, unixEnv, "create-ecc-key", "-k", fmt.Sprintf("u%d", i)); err != nil {
					errs <- fmt.Errorf("unix client: %v %s", err, out)
				}
			}()
			go func() {
				defer wg.Done()
				if out, err := w.tool(uidA, jwtA, "sign", "-k", "a-key", "x"); err != nil {
					errs <- fmt.Errorf("jwt client: %v %s", err, out)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		// uid 1002 under UnixPeerCredentials is another client than B's
		// SPIFFE ID in the same uid.
		if got := keyNames(w.mustTool(uidB, unixEnv, "list-keys")); got != "u0,u1,u2,u3" {
			t.Errorf("uid %d under UnixPeerCredentials sees %q", uidB, got)
		}
		if got := keyNames(w.mustTool(uidB, jwtB, "list-keys")); got != "b-key" {
			t.Errorf("B sees %q", got)
		}
	})

	t.Run("admin", func(t *testing.T) {
		adm := w.jwtEnv(true, "")
		out := w.mustTool(uidAdmin, adm, "list-clients")
		for _, id := range []string{idA, idB} {
			if !strings.Contains(out, id) {
				t.Errorf("list-clients lacks %s:\n%s", id, out)
			}
		}
		w.mustTool(uidAdmin, adm, "delete-client", "--client", idB)
		if got := keyNames(w.mustTool(uidB, jwtB, "list-keys")); got != "" {
			t.Errorf("B's keys after delete-client: %q", got)
		}
		if got := keyNames(w.mustTool(uidA, jwtA, "list-keys")); got != "a-key" {
			t.Errorf("A's keys after B was deleted: %q", got)
		}
	})

	// A's token replayed by another process (uid B) works only as A: a
	// JWT-SVID is a bearer token.
	tokA := w.token(uidA)
	t.Run("replay", func(t *testing.T) {
		out, err := as(uidB, []string{childEnv + "=replay", "PARSEC_SERVICE_ENDPOINT=unix:" + w.parsec, "TOKEN=" + tokA}, w.self)
		if err != nil || strings.TrimSpace(out) != "a-key" {
			t.Errorf("replayed token: %v %q\ntoken %q\ndaemon log: %s", err, out, tokA, tail(w.daemon.log.String()))
		}
	})

	t.Run("agent stopped", func(t *testing.T) {
		w.agent.stop()
		out, err := w.tool(uidA, jwtA, "list-keys")
		if err == nil || !strings.Contains(out, "Workload API") {
			t.Errorf("with the agent down: %v %s", err, out)
		}
		// The service keeps the bundles it has: a token still valid keeps
		// working, nothing waits for the agent.
		if names, err := listWith(w.parsec, tokA); err != nil || names != "a-key" {
			t.Errorf("valid token with the agent down: %q %v", names, err)
		}
		if err := ping(w.parsec); err != nil {
			t.Fatalf("service after the agent went: %v", err)
		}
		w.startAgent()
		w.eventually("A after the agent returned", func() error {
			out, err := w.tool(uidA, jwtA, "list-keys")
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			if keyNames(out) != "a-key" {
				return fmt.Errorf("A sees %q", keyNames(out))
			}
			return nil
		})
	})
	// The trust domain's JWT key rotates (prepare, activate, taint and
	// revoke the old one): the service takes the new key from the bundle
	// stream and drops the revoked one, without a restart.
	t.Run("key rotation", func(t *testing.T) {
		old := w.authority("active")
		w.localAuthority("prepare")
		w.localAuthority("activate", "-authorityID", w.authority("prepared"))
		w.localAuthority("taint", "-authorityID", old)
		w.localAuthority("revoke", "-authorityID", old)
		w.eventually("old token refused, new one accepted", func() error {
			if _, err := listWith(w.parsec, tokA); !errors.Is(err, wire.StatusAuthenticationError) {
				return fmt.Errorf("token signed by the revoked key: %v", err)
			}
			// The agent keeps handing out its cached JWT-SVID (signed by
			// the revoked key) until it expires: ask for another audience
			// too, which it must sign anew.
			fresh := w.token(uidA, "rotation")
			if names, err := listWith(w.parsec, fresh); err != nil || names != "a-key" {
				return fmt.Errorf("token signed by the new key: %q %v\ndaemon log: %s", names, err, tail(w.daemon.log.String()))
			}
			return nil
		})
	})

	select {
	case <-w.daemon.done:
		t.Fatalf("daemon exited: %s", tail(w.daemon.log.String()))
	default:
	}
}

// child is the test binary run as a workload: "token" prints its
// JWT-SVID; "replay" lists keys with the token in $TOKEN.
func child(mode string) int {
	switch mode {
	case "replay":
		ep, _ := client.ParseEndpoint(os.Getenv("PARSEC_SERVICE_ENDPOINT"))
		names, err := listWith(ep, os.Getenv("TOKEN"))
		if err != nil {
			fmt.Println(err)
			return 1
		}
		fmt.Println(names)
		return 0
	}
	params := jwtsvid.Params{Audience: client.JWTSVIDAudience}
	if a := os.Getenv("EXTRA_AUDIENCE"); a != "" {
		params.ExtraAudiences = []string{a}
	}
	svid, err := workloadapi.FetchJWTSVID(context.Background(), params)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println(svid.Marshal())
	return 0
}

type fixedToken string

func (f fixedToken) FetchJWTSVID(context.Context, string) (string, error) { return string(f), nil }

func listWith(socket, token string) (string, error) {
	c, err := client.NewNaked(client.WithSocketPath(socket), client.WithAuthenticator(client.JWTSVID(fixedToken(token))))
	if err != nil {
		return "", err
	}
	keys, err := c.ListKeys(context.Background())
	if err != nil {
		return "", err
	}
	var names []string
	for _, k := range keys {
		names = append(names, k.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ","), nil
}

func ping(socket string) error {
	c, err := client.NewNaked(client.WithSocketPath(socket))
	if err != nil {
		return err
	}
	_, _, err = c.Ping(context.Background())
	return err
}
