package main

// End-to-end tests: the real daemon binary on a temporary socket, driven
// with raw wire-protocol requests so that every byte and status code the
// service produces is checked, not just what a client library exposes.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

var daemonBin string

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	dir, err := os.MkdirTemp("", "parsec-e2e-bin")
	if err != nil {
		panic(err)
	}
	daemonBin = filepath.Join(dir, "parsec")
	out, err := exec.Command("go", "build", "-o", daemonBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building daemon: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is one running service.
type daemon struct {
	t      *testing.T
	dir    string
	cfg    string
	socket string
	wd     string // the daemon's working directory; "" = the test's
	cmd    *exec.Cmd
	log    *bytes.Buffer
}

const baseConfig = `
[core_settings]
allow_root = true
log_level = "debug"
[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = "{{dir}}/parsec.sock"
[authenticator]
auth_type = "{{auth}}"
admins = [ { name = "0" }, { name = "admin" } ]
[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "{{dir}}/mappings"
[[provider]]
provider_type = "MbedCrypto"
key_info_manager = "on-disk-manager"
store_path = "{{dir}}/keys"
`

func writeConfig(t *testing.T, dir, auth, extra string) string {
	cfg := strings.NewReplacer("{{dir}}", dir, "{{auth}}", auth).Replace(baseConfig) + extra
	p := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func startDaemon(t *testing.T, auth string) *daemon {
	t.Helper()
	dir := t.TempDir()
	// Other uids (the isolation test's child) must reach the socket; the
	// test's temporary root above dir is private too.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	return (&daemon{t: t, dir: dir, cfg: writeConfig(t, dir, auth, ""), socket: filepath.Join(dir, "parsec.sock")}).run()
}

// run starts d and stops it when the test ends (also when the start
// fails the test).
func (d *daemon) run() *daemon {
	d.t.Helper()
	d.t.Cleanup(d.stop)
	d.start()
	return d
}

// start starts the daemon and waits until it answers a ping. The wait is
// long because a first start may run parsec-takeover over a Rust store.
func (d *daemon) start() {
	d.t.Helper()
	d.log = &bytes.Buffer{}
	d.cmd = exec.Command(daemonBin, "-c", d.cfg)
	d.cmd.Dir = d.wd
	d.cmd.Stderr = d.log
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, _, err := rawCall(d.socket, wire.Header{Opcode: wire.OpPing}, nil, nil); err == nil && st == wire.StatusSuccess {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("daemon did not answer a ping; log:\n%s", d.log)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		d.t.Errorf("daemon did not stop on SIGTERM; log:\n%s", d.log)
	}
	d.cmd = nil
}

// rawCall sends one request (header fields, body, auth) and returns the
// response status and body.
func rawCall(socket string, h wire.Header, body, auth []byte) (wire.Status, []byte, error) {
	conn, err := net.Dial("unix", socket)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	h.BodyLen, h.AuthLen = uint32(len(body)), uint16(len(auth))
	msg := append(h.Marshal(nil), body...)
	if _, err := conn.Write(append(msg, auth...)); err != nil {
		return 0, nil, err
	}
	return readResponse(conn)
}

func readResponse(conn net.Conn) (wire.Status, []byte, error) {
	rh, err := wire.ReadHeader(conn)
	if err != nil {
		return 0, nil, err
	}
	rb := make([]byte, rh.BodyLen)
	if _, err := io.ReadFull(conn, rb); err != nil {
		return 0, nil, err
	}
	return rh.Status, rb, nil
}

func uidAuth() []byte { return binary.LittleEndian.AppendUint32(nil, uint32(os.Getuid())) }

// call sends a typed request as the current uid.
func call(t *testing.T, socket string, provider wire.ProviderID, op wire.Opcode, req, res protomsg.Message) wire.Status {
	t.Helper()
	body, err := protomsg.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	st, rb, err := rawCall(socket, wire.Header{Provider: provider, Opcode: op, AuthType: wire.AuthUnixPeerCredentials}, body, uidAuth())
	if err != nil {
		t.Fatalf("%v: %v", op, err)
	}
	if st == wire.StatusSuccess && res != nil {
		if err := protomsg.Unmarshal(rb, res); err != nil {
			t.Fatalf("%v result: %v", op, err)
		}
	}
	return st
}

func TestPingBytes(t *testing.T) {
	d := startDaemon(t, "UnixPeerCredentials")
	conn, err := net.Dial("unix", d.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h := wire.Header{Opcode: wire.OpPing, Session: 0xdeadbeef}
	conn.Write(h.Marshal(nil))
	resp, err := io.ReadAll(conn) // the Go client reads to EOF: we must close
	if err != nil {
		t.Fatal(err)
	}
	want := wire.Header{Opcode: wire.OpPing, Session: 0xdeadbeef, BodyLen: 2}
	if !bytes.Equal(resp, append(want.Marshal(nil), 0x08, 0x01)) {
		t.Fatalf("ping response %x", resp)
	}
}

func TestStatusCodesMatchParsec(t *testing.T) {
	d := startDaemon(t, "UnixPeerCredentials")
	genKey, _ := protomsg.Marshal(&pb.GenerateKeyRequest{KeyName: "k"}) // no attributes: invalid
	listOpcodes := func(id uint32) []byte { b, _ := protomsg.Marshal(&pb.ListOpcodesRequest{ProviderId: id}); return b }
	random, _ := protomsg.Marshal(&pb.GenerateRandomRequest{Size: 8})
	badUID := binary.LittleEndian.AppendUint32(nil, uint32(os.Getuid())+1)
	tests := []struct {
		name string
		h    wire.Header
		body []byte
		auth []byte
		want wire.Status
	}{
		{"ok", wire.Header{Opcode: wire.OpListProviders}, nil, nil, wire.StatusSuccess},
		{"content type", wire.Header{Opcode: wire.OpPing, ContentType: 1}, nil, nil, wire.StatusContentTypeNotSupported},
		{"accept type", wire.Header{Opcode: wire.OpPing, AcceptType: 1}, nil, nil, wire.StatusAcceptTypeNotSupported},
		{"auth type unknown", wire.Header{Opcode: wire.OpPing, AuthType: 7}, nil, nil, wire.StatusAuthenticatorDoesNotExist},
		{"opcode unknown", wire.Header{Opcode: 0x1D}, nil, nil, wire.StatusOpcodeDoesNotExist},
		{"provider unknown", wire.Header{Opcode: wire.OpPing, Provider: 6}, nil, nil, wire.StatusProviderDoesNotExist},
		{"auth type not configured", wire.Header{Opcode: wire.OpPing, AuthType: wire.AuthDirect}, nil, []byte("x"), wire.StatusAuthenticatorNotRegistered},
		{"jwt never implemented", wire.Header{Opcode: wire.OpPing, AuthType: wire.AuthJwt}, nil, []byte("x"), wire.StatusAuthenticatorNotRegistered},
		{"wrong uid", wire.Header{Opcode: wire.OpPing, AuthType: wire.AuthUnixPeerCredentials}, nil, badUID, wire.StatusAuthenticationError},
		{"provider not configured", wire.Header{Opcode: wire.OpPsaGenerateRandom, Provider: wire.ProviderTpm}, random, nil, wire.StatusProviderNotRegistered},
		{"core op to crypto provider", wire.Header{Opcode: wire.OpPing, Provider: 1}, nil, nil, wire.StatusPsaErrorNotSupported},
		{"crypto op to core", wire.Header{Opcode: wire.OpPsaGenerateRandom}, random, nil, wire.StatusPsaErrorNotSupported},
		{"admin op anonymous", wire.Header{Opcode: wire.OpListClients}, nil, nil, wire.StatusNotAuthenticated},
		{"bad protobuf", wire.Header{Opcode: wire.OpListOpcodes}, []byte{0xff, 0xff}, nil, wire.StatusDeserializingBodyFailed},
		{"missing attributes", wire.Header{Opcode: wire.OpPsaGenerateKey, Provider: 1}, genKey, nil, wire.StatusInvalidEncoding},
		{"list opcodes unknown provider", wire.Header{Opcode: wire.OpListOpcodes}, listOpcodes(9), nil, wire.StatusProviderDoesNotExist},
		{"list opcodes unconfigured", wire.Header{Opcode: wire.OpListOpcodes}, listOpcodes(3), nil, wire.StatusProviderNotRegistered},
		{"identity needed", wire.Header{Opcode: wire.OpListKeys}, nil, nil, wire.StatusNotAuthenticated},
		{"random anonymous", wire.Header{Opcode: wire.OpPsaGenerateRandom, Provider: 1}, random, nil, wire.StatusSuccess},
		{"mac not advertised but answered", wire.Header{Opcode: wire.OpPsaMacCompute, Provider: 1, AuthType: wire.AuthUnixPeerCredentials}, mustMarshal(&pb.MacComputeRequest{KeyName: "none", Alg: &pb.Algorithm_Mac{Variant: &pb.Algorithm_Mac_FullLength_{FullLength: &pb.Algorithm_Mac_FullLength{Variant: &pb.Algorithm_Mac_FullLength_Cmac_{Cmac: &pb.Algorithm_Mac_FullLength_Cmac{}}}}}}), uidAuth(), wire.StatusPsaErrorDoesNotExist},
	}
	for _, tt := range tests {
		st, _, err := rawCall(d.socket, tt.h, tt.body, tt.auth)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if st != tt.want {
			t.Errorf("%s: status %v, want %v", tt.name, st, tt.want)
		}
	}
}

func mustMarshal(m protomsg.Message) []byte {
	b, err := protomsg.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// rawBytes writes b and returns the response header; the request never
// parses, so the response must carry opcode Ping and provider Core.
func rawBytes(t *testing.T, socket string, b []byte) wire.Header {
	t.Helper()
	conn, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	conn.Write(b)
	h, err := wire.ReadHeader(conn)
	if err != nil {
		t.Fatalf("reading response to %x: %v", b, err)
	}
	return h
}

func TestFramingErrors(t *testing.T) {
	d := startDaemon(t, "UnixPeerCredentials")
	ping := (&wire.Header{Opcode: wire.OpPing, Provider: 1, Session: 5}).Marshal(nil)
	mut := func(i int, v byte) []byte { b := bytes.Clone(ping); b[i] = v; return b }
	big := wire.Header{Opcode: wire.OpPing, BodyLen: 1<<20 + 1}
	tests := []struct {
		name string
		b    []byte
		want wire.Status
	}{
		{"magic", mut(0, 0), wire.StatusInvalidHeader},
		{"version", mut(6, 2), wire.StatusWireProtocolVersionNotSupported},
		{"reserved", mut(35, 1), wire.StatusInvalidHeader},
		// Answered without the body being sent at all.
		{"body too large", big.Marshal(nil), wire.StatusBodySizeExceedsLimit},
		// Half a header, then silence: the 200 ms timeout answers.
		{"truncated", ping[:20], wire.StatusConnectionError},
	}
	for _, tt := range tests {
		h := rawBytes(t, d.socket, tt.b)
		if h.Status != tt.want || h.Opcode != wire.OpPing || h.Provider != 0 || h.Session != 0 {
			t.Errorf("%s: got %+v, want status %v with opcode Ping, provider 0, session 0", tt.name, h, tt.want)
		}
	}
}

func TestOneRequestPerConnection(t *testing.T) {
	d := startDaemon(t, "UnixPeerCredentials")
	conn, err := net.Dial("unix", d.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ping := (&wire.Header{Opcode: wire.OpPing}).Marshal(nil)
	conn.Write(append(bytes.Clone(ping), ping...))
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	st, _, err := readResponse(conn)
	if err != nil || st != wire.StatusSuccess {
		t.Fatalf("first response: %v %v", st, err)
	}
	if _, _, err := readResponse(conn); err == nil {
		t.Fatal("a second request on the same connection was answered")
	}
}

func TestSurvivesGarbageBurst(t *testing.T) {
	d := startDaemon(t, "UnixPeerCredentials")
	seed := uint64(1)
	next := func() byte { seed = seed*6364136223846793005 + 1442695040888963407; return byte(seed >> 56) }
	ping := (&wire.Header{Opcode: wire.OpPing}).Marshal(nil)
	for i := 0; i < 300; i++ {
		conn, err := net.Dial("unix", d.socket)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		var b []byte
		switch i % 3 {
		case 0: // random bytes
			b = make([]byte, int(next())+1)
			for j := range b {
				b[j] = next()
			}
		case 1: // a valid header with a random body
			h := wire.Header{Opcode: wire.Opcode(next() % 0x22), Provider: wire.ProviderID(next() % 3), BodyLen: 16}
			b = h.Marshal(nil)
			for j := 0; j < 16; j++ {
				b = append(b, next())
			}
		case 2: // a corrupted ping
			b = bytes.Clone(ping)
			b[int(next())%len(b)] ^= next() | 1
		}
		conn.Write(b)
		conn.Close() // often before the answer: must not upset the service
	}
	st, _, err := rawCall(d.socket, wire.Header{Opcode: wire.OpPing}, nil, nil)
	if err != nil || st != wire.StatusSuccess {
		t.Fatalf("after the burst: %v %v\n%s", st, err, d.log)
	}
	if strings.Contains(d.log.String(), "panic") {
		t.Fatalf("daemon log mentions a panic:\n%s", d.log)
	}
}

func TestListProvidersAndOpcodes(t *testing.T) {
	d := startDaemon(t, "UnixPeerCredentials")
	var lp pb.ListProvidersResult
	if st := call(t, d.socket, 0, wire.OpListProviders, &pb.ListProvidersRequest{}, &lp); st != 0 {
		t.Fatal(st)
	}
	if len(lp.Providers) != 2 || lp.Providers[0].Id != 1 || lp.Providers[1].Id != 0 ||
		lp.Providers[0].Uuid != "1c1139dc-ad7c-47dc-ad6b-db6fdb466552" || lp.Providers[1].Uuid != "47049873-2a43-4845-9d72-831eab668784" {
		t.Fatalf("providers: %v", lp.Providers)
	}
	var lo pb.ListOpcodesResult
	call(t, d.socket, 0, wire.OpListOpcodes, &pb.ListOpcodesRequest{ProviderId: 0}, &lo)
	if fmt.Sprint(lo.Opcodes) != "[1 8 9 14 26]" {
		t.Errorf("core opcodes %v", lo.Opcodes)
	}
	lo.Reset()
	call(t, d.socket, 0, wire.OpListOpcodes, &pb.ListOpcodesRequest{ProviderId: 1}, &lo)
	seen := map[uint32]bool{}
	for _, op := range lo.Opcodes {
		if !wire.Opcode(op).Advertisable() {
			t.Errorf("advertises %#x, which Parsec clients reject", op)
		}
		seen[op] = true
	}
	for _, op := range []uint32{0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0a, 0x0b, 0x0c, 0x0d, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x20} {
		if !seen[op] {
			t.Errorf("software provider does not advertise %#x", op)
		}
	}
	var la pb.ListAuthenticatorsResult
	call(t, d.socket, 0, wire.OpListAuthenticators, &pb.ListAuthenticatorsRequest{}, &la)
	if len(la.Authenticators) != 1 || la.Authenticators[0].Id != uint32(wire.AuthUnixPeerCredentials) {
		t.Errorf("authenticators %v", la.Authenticators)
	}
}

func eccAttrs() *pb.KeyAttributes {
	return &pb.KeyAttributes{
		KeyType: &pb.KeyType{Variant: &pb.KeyType_EccKeyPair_{EccKeyPair: &pb.KeyType_EccKeyPair{CurveFamily: pb.KeyType_SECP_R1}}},
		KeyBits: 256,
		KeyPolicy: &pb.KeyPolicy{
			KeyUsageFlags: &pb.UsageFlags{SignHash: true, VerifyHash: true},
			KeyAlgorithm: &pb.Algorithm{Variant: &pb.Algorithm_AsymmetricSignature_{AsymmetricSignature: &pb.Algorithm_AsymmetricSignature{
				Variant: &pb.Algorithm_AsymmetricSignature_Ecdsa_{Ecdsa: &pb.Algorithm_AsymmetricSignature_Ecdsa{
					HashAlg: &pb.Algorithm_AsymmetricSignature_SignHash{Variant: &pb.Algorithm_AsymmetricSignature_SignHash_Specific{Specific: pb.Algorithm_SHA_256}}}}}}},
		},
	}
}

func listKeyNames(t *testing.T, socket string) []string {
	var lk pb.ListKeysResult
	if st := call(t, socket, 0, wire.OpListKeys, &pb.ListKeysRequest{}, &lk); st != 0 {
		t.Fatalf("ListKeys: %v", st)
	}
	var names []string
	for _, k := range lk.Keys {
		names = append(names, k.Name)
	}
	return names
}

func TestKeysSurviveRestartAndReload(t *testing.T) {
	d := startDaemon(t, "UnixPeerCredentials")
	if st := call(t, d.socket, 1, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "persist", Attributes: eccAttrs()}, nil); st != 0 {
		t.Fatalf("generate: %v\n%s", st, d.log)
	}
	var pub1 pb.ExportPublicKeyResult
	call(t, d.socket, 1, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: "persist"}, &pub1)

	// SIGHUP: config re-read in place, keys still there.
	d.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	if names := listKeyNames(t, d.socket); fmt.Sprint(names) != "[persist]" {
		t.Fatalf("after reload: %v\n%s", names, d.log)
	}
	// Restart: same key material.
	d.stop()
	d.start()
	var pub2 pb.ExportPublicKeyResult
	if st := call(t, d.socket, 1, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: "persist"}, &pub2); st != 0 {
		t.Fatalf("export after restart: %v", st)
	}
	if !bytes.Equal(pub1.Data, pub2.Data) || len(pub1.Data) != 65 {
		t.Fatalf("public key changed across restart: %x vs %x", pub1.Data, pub2.Data)
	}
	if st := call(t, d.socket, 1, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "persist", Attributes: eccAttrs()}, nil); st != wire.StatusPsaErrorAlreadyExists {
		t.Fatalf("duplicate generate: %v", st)
	}
}

func TestReloadAppliesConfigAndSurvivesBadOne(t *testing.T) {
	d := startDaemon(t, "UnixPeerCredentials")
	// Limit bodies to 10 bytes: a GenerateKey no longer fits.
	writeConfig(t, d.dir, "UnixPeerCredentials", "")
	cfg, _ := os.ReadFile(d.cfg)
	os.WriteFile(d.cfg, bytes.Replace(cfg, []byte("log_level"), []byte("body_len_limit = 10\nlog_level"), 1), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	if st := call(t, d.socket, 1, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "x", Attributes: eccAttrs()}, nil); st != wire.StatusBodySizeExceedsLimit {
		t.Fatalf("after reload with body_len_limit = 10: %v\n%s", st, d.log)
	}
	// A broken config is refused and the running one stays.
	os.WriteFile(d.cfg, []byte("this is not toml ["), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	if st, _, err := rawCall(d.socket, wire.Header{Opcode: wire.OpPing}, nil, nil); err != nil || st != 0 {
		t.Fatalf("after a bad reload: %v %v\n%s", st, err, d.log)
	}
	if !strings.Contains(d.log.String(), "reload refused") {
		t.Errorf("no log line for the refused reload:\n%s", d.log)
	}
}

func TestStartupErrorsAreClear(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, from, to, want string
	}{
		{"bad manager", `manager_type = "OnDisk"`, `manager_type = "Redis"`, `use \"OnDisk\" or \"SQLite\"`},
		{"unknown provider", `provider_type = "MbedCrypto"`, `provider_type = "CryptoAuthLib"`, "does not include"},
		{"root", `allow_root = true`, `allow_root = false`, "root"},
	}
	for _, tt := range tests {
		if tt.name == "root" && os.Geteuid() != 0 {
			continue
		}
		p := writeConfig(t, dir, "UnixPeerCredentials", "")
		cfg, _ := os.ReadFile(p)
		os.WriteFile(p, bytes.Replace(cfg, []byte(tt.from), []byte(tt.to), 1), 0o644)
		out, err := exec.Command(daemonBin, "-c", p).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("%s: exit %v, want 1", tt.name, err)
		}
		if !strings.Contains(string(out), tt.want) {
			t.Errorf("%s: output %q lacks %q", tt.name, out, tt.want)
		}
	}
}

// Two uids: each sees only its own keys, and cannot use the other's.
const childEnv = "PARSEC_E2E_CHILD"

func TestTenantsAreIsolated(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	d := startDaemon(t, "UnixPeerCredentials")
	if st := call(t, d.socket, 1, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "mine", Attributes: eccAttrs()}, nil); st != 0 {
		t.Fatal(st)
	}
	// The child runs as nobody (65534) and reports what it sees.
	// The test binary lives in a directory only we can read: give the
	// child its own copy.
	self, _ := os.Executable()
	bin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	child := filepath.Join(d.dir, "child")
	if err := os.WriteFile(child, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(child)
	cmd.Env = append(os.Environ(), childEnv+"="+d.socket)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := "keys=[] sign=PsaErrorDoesNotExist export=PsaErrorDoesNotExist destroy=PsaErrorDoesNotExist create=Success keys2=[mine]"
	if strings.TrimSpace(string(out)) != want {
		t.Fatalf("child saw %q, want %q", out, want)
	}
	// Root's key is intact and root does not see nobody's.
	if names := listKeyNames(t, d.socket); fmt.Sprint(names) != "[mine]" {
		t.Fatalf("root's keys: %v", names)
	}
	var sig pb.SignHashResult
	alg := eccAttrs().KeyPolicy.KeyAlgorithm.GetAsymmetricSignature()
	if st := call(t, d.socket, 1, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: "mine", Alg: alg, Hash: make([]byte, 32)}, &sig); st != 0 {
		t.Fatalf("root signing with its key: %v", st)
	}
	// An admin sees both clients and can delete nobody's keys.
	var lc pb.ListClientsResult
	if st := call(t, d.socket, 0, wire.OpListClients, &pb.ListClientsRequest{}, &lc); st != 0 || fmt.Sprint(lc.Clients) != "[0 65534]" {
		t.Fatalf("ListClients: %v %v", st, lc.Clients)
	}
	if st := call(t, d.socket, 0, wire.OpDeleteClient, &pb.DeleteClientRequest{Client: "65534"}, nil); st != 0 {
		t.Fatal(st)
	}
	lc.Reset()
	call(t, d.socket, 0, wire.OpListClients, &pb.ListClientsRequest{}, &lc)
	if fmt.Sprint(lc.Clients) != "[0]" {
		t.Fatalf("after DeleteClient: %v", lc.Clients)
	}
}

func childMain() int {
	socket := os.Getenv(childEnv)
	name := func(st wire.Status) string { return st.String() }
	do := func(op wire.Opcode, req, res protomsg.Message) wire.Status {
		body, _ := protomsg.Marshal(req)
		st, rb, err := rawCall(socket, wire.Header{Provider: 1, Opcode: op, AuthType: wire.AuthUnixPeerCredentials}, body, uidAuth())
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
		if res != nil && st == 0 {
			protomsg.Unmarshal(rb, res)
		}
		return st
	}
	list := func() string {
		body, _ := protomsg.Marshal(&pb.ListKeysRequest{})
		st, rb, err := rawCall(socket, wire.Header{Opcode: wire.OpListKeys, AuthType: wire.AuthUnixPeerCredentials}, body, uidAuth())
		if err != nil || st != 0 {
			return "error " + strconv.Itoa(int(st))
		}
		var lk pb.ListKeysResult
		protomsg.Unmarshal(rb, &lk)
		var names []string
		for _, k := range lk.Keys {
			names = append(names, k.Name)
		}
		return fmt.Sprint(names)
	}
	alg := eccAttrs().KeyPolicy.KeyAlgorithm.GetAsymmetricSignature()
	fmt.Printf("keys=%s sign=%s export=%s destroy=%s create=%s keys2=%s\n",
		list(),
		name(do(wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: "mine", Alg: alg, Hash: make([]byte, 32)}, nil)),
		name(do(wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: "mine"}, nil)),
		name(do(wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: "mine"}, nil)),
		name(do(wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: "mine", Attributes: eccAttrs()}, nil)),
		list())
	return 0
}

// A state directory that another user can write, or that holds a planted
// symlink, stops the start with the path and the fix (issue 15, item 1).
func TestUnsafeStateDirIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a directory to another user")
	}
	tests := []struct {
		name string
		prep func(dir string) error
		want []string
	}{
		{"group-writable parent of the mappings", func(dir string) error {
			return os.Chmod(dir, 0o775)
		}, []string{"on-disk-manager", "is writable by group", "chmod go-w"}},
		{"key store owned by another user", func(dir string) error {
			if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
				return err
			}
			return os.Chown(filepath.Join(dir, "keys"), 65534, -1)
		}, []string{"/keys is owned by", "uid 65534", "chown root"}},
		{"symlink planted in the mappings", func(dir string) error {
			if err := os.MkdirAll(filepath.Join(dir, "mappings", "1"), 0o700); err != nil {
				return err
			}
			return os.Symlink("/etc/passwd", filepath.Join(dir, "mappings", "1", "x"))
		}, []string{"/mappings/1/x is a symlink"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := writeConfig(t, dir, "UnixPeerCredentials", "")
			if err := tt.prep(dir); err != nil {
				t.Fatal(err)
			}
			// A daemon that starts anyway is killed, not waited for.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, daemonBin, "-c", p).CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit %v, want 1; output:\n%s", err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output %q lacks %q", out, w)
				}
			}
		})
	}
}
