package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/parsec-go/parsec/client/parsectest"
)

// End-to-end: the built parsec-tool binary against real services.

var toolBin string

func TestMain(m *testing.M) {
	code := m.Run()
	parsectest.Cleanup()
	os.Exit(code)
}

func buildTool(t *testing.T) string {
	t.Helper()
	if toolBin == "" {
		bin, err := parsectest.BuildBinary("./tools/parsec-tool")
		if err != nil {
			t.Fatal(err)
		}
		toolBin = bin
	}
	return toolBin
}

type result struct {
	stdout, stderr string
	code           int
}

func runTool(t *testing.T, endpoint string, args ...string) result {
	t.Helper()
	cmd := exec.Command(buildTool(t), args...)
	cmd.Env = []string{"PARSEC_SERVICE_ENDPOINT=" + endpoint, "PATH=" + os.Getenv("PATH")}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// ok runs the tool and fails the test unless it succeeds.
func ok(t *testing.T, endpoint string, args ...string) result {
	t.Helper()
	r := runTool(t, endpoint, args...)
	if r.code != 0 {
		t.Fatalf("parsec-tool %q exited %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// failsWith runs the tool, wants exit code 1, no Go panic and a one-line
// error naming want.
func failsWith(t *testing.T, endpoint, want string, args ...string) result {
	t.Helper()
	r := runTool(t, endpoint, args...)
	errLines := regexp.MustCompile(`(?m)^\[ERROR parsec_tool[^\]]*\] .*$`).FindAllString(r.stderr, -1)
	if r.code != 1 || len(errLines) != 1 || !strings.Contains(errLines[0], want) || strings.Contains(r.stderr, "goroutine") {
		t.Fatalf("parsec-tool %q: exit %d, want 1 with one [ERROR] line containing %q; stderr:\n%s", args, r.code, want, r.stderr)
	}
	return r
}

func TestTool(t *testing.T) {
	for _, k := range parsectest.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			s := parsectest.Start(t, k, parsectest.Config{})
			testTool(t, s)
		})
	}
}

func testTool(t *testing.T, s *parsectest.Service) {
	ep := s.Endpoint
	r := ok(t, ep, "ping")
	if r.stdout != "1.0\n" || r.stderr != "[INFO  parsec_tool::subcommands::ping] Service wire protocol version\n" {
		t.Errorf("ping: %+v", r)
	}
	r = ok(t, ep, "list-providers")
	wantProviders := regexp.MustCompile(`^ID: 0x01 \(Mbed Crypto provider\)
Description: .+
Version: 0\.1\.0
Vendor: Arm
UUID: 1c1139dc-ad7c-47dc-ad6b-db6fdb466552

ID: 0x00 \(Core provider\)
Description: .+
Version: \d+\.\d+\.\d+
Vendor: Unspecified
UUID: 47049873-2a43-4845-9d72-831eab668784

$`)
	if !wantProviders.MatchString(r.stdout) {
		t.Errorf("list-providers:\n%s", r.stdout)
	}
	r = ok(t, ep, "list-authenticators")
	if !strings.HasPrefix(r.stdout, "ID: 0x03 (Unix Peer Credentials authentication)\nDescription: ") || !strings.HasSuffix(r.stdout, "\nVersion: 0.1.0\n\n") {
		t.Errorf("list-authenticators:\n%s", r.stdout)
	}
	r = ok(t, ep, "list-opcodes")
	if r.stdout != "0x01 (Ping)\n0x08 (ListProviders)\n0x09 (ListOpcodes)\n0x0e (ListAuthenticators)\n0x1a (ListKeys)\n" ||
		r.stderr != "[INFO  parsec_tool::subcommands::list_opcodes] Available opcodes for Core provider:\n" {
		t.Errorf("list-opcodes: %+v", r)
	}
	r = ok(t, ep, "-p", "1", "list-opcodes")
	if !strings.Contains(r.stdout, "0x02 (PsaGenerateKey)\n") || !strings.Contains(r.stdout, "0x0d (PsaGenerateRandom)\n") {
		t.Errorf("-p 1 list-opcodes:\n%s", r.stdout)
	}
	failsWith(t, ep, "ProviderNotRegistered", "list-opcodes", "-p", "2")
	failsWith(t, ep, "The provider ID entered does not map with an existing provider", "-p", "9", "ping")

	r = ok(t, ep, "list-keys")
	if r.stdout != "" || r.stderr != "[INFO  parsec_tool::subcommands::list_keys] No keys currently available.\n" {
		t.Errorf("list-keys (none): %+v", r)
	}
	r = ok(t, ep, "generate-random", "-n", "8")
	if !regexp.MustCompile(`^([0-9A-F]{2} ){8}\n$`).MatchString(r.stdout) {
		t.Errorf("generate-random: %q", r.stdout)
	}

	ok(t, ep, "create-ecc-key", "-k", "ecc")
	ok(t, ep, "create-rsa-key", "--key-name=rsa")
	ok(t, ep, "create-rsa-key", "-k", "rsa-sign", "--for-signing")
	ok(t, ep, "create-rsa-key", "-k", "rsa-pss", "-r")
	ok(t, ep, "create-rsa-key", "-krsa-oaep", "-o", "-b", "1024")
	failsWith(t, ep, "PsaErrorAlreadyExists", "create-ecc-key", "-k", "ecc")
	r = ok(t, ep, "list-keys")
	for _, want := range []string{
		"* ecc (Mbed Crypto provider, EccKeyPair { curve_family: SecpR1 }, 256 bits, permitted algorithm: AsymmetricSignature(Ecdsa { hash_alg: Specific(Sha256) }))\n",
		"* rsa (Mbed Crypto provider, RsaKeyPair, 2048 bits, permitted algorithm: AsymmetricEncryption(RsaPkcs1v15Crypt))\n",
		"* rsa-sign (Mbed Crypto provider, RsaKeyPair, 2048 bits, permitted algorithm: AsymmetricSignature(RsaPkcs1v15Sign { hash_alg: Specific(Sha256) }))\n",
		"* rsa-pss (Mbed Crypto provider, RsaKeyPair, 2048 bits, permitted algorithm: AsymmetricSignature(RsaPss { hash_alg: Specific(Sha256) }))\n",
		"* rsa-oaep (Mbed Crypto provider, RsaKeyPair, 1024 bits, permitted algorithm: AsymmetricEncryption(RsaOaep { hash_alg: Sha256 }))\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("list-keys lacks %q; got:\n%s", want, r.stdout)
		}
	}

	pubs := map[string]crypto.PublicKey{}
	for _, k := range []string{"ecc", "rsa", "rsa-sign", "rsa-pss", "rsa-oaep"} {
		r = ok(t, ep, "export-public-key", "-k", k)
		block, rest := pem.Decode([]byte(r.stdout))
		if block == nil || block.Type != "PUBLIC KEY" || len(rest) != 0 {
			t.Fatalf("export-public-key %s: %q", k, r.stdout)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		pubs[k] = pub
	}
	r = ok(t, ep, "export-public-key", "-k", "rsa", "--pkcs1")
	block, _ := pem.Decode([]byte(r.stdout))
	if p, err := x509.ParsePKCS1PublicKey(block.Bytes); err != nil || block.Type != "RSA PUBLIC KEY" || !p.Equal(pubs["rsa"]) {
		t.Errorf("export-public-key --pkcs1: %v %q", err, r.stdout)
	}
	failsWith(t, ep, "PKCS1 format doesn't support ECC keys", "export-public-key", "-k", "ecc", "--pkcs1")

	msg := "hello world"
	digest := sha256.Sum256([]byte(msg))
	r = ok(t, ep, "sign", "-k", "ecc", msg)
	if r.stderr != "[INFO  parsec_tool::util] Hashing data with Sha256...\n[INFO  parsec_tool::util] Signing data with Ecdsa { hash_alg: Specific(Sha256) }...\n" {
		t.Errorf("sign logs: %q", r.stderr)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(r.stdout, "\n"))
	if err != nil || !ecdsa.VerifyASN1(pubs["ecc"].(*ecdsa.PublicKey), digest[:], sig) {
		t.Errorf("ECDSA signature %q does not verify (%v)", r.stdout, err)
	}
	sig = signed(t, ep, "rsa-sign", msg)
	if err := rsa.VerifyPKCS1v15(pubs["rsa-sign"].(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("RSA PKCS#1 signature: %v", err)
	}
	sig = signed(t, ep, "rsa-pss", msg)
	if err := rsa.VerifyPSS(pubs["rsa-pss"].(*rsa.PublicKey), crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}); err != nil {
		t.Errorf("RSA-PSS signature: %v", err)
	}
	failsWith(t, ep, "can not be used for signing", "sign", "-k", "rsa", msg)
	failsWith(t, ep, "not found", "sign", "-k", "missing", msg)

	for _, k := range []string{"rsa", "rsa-oaep"} {
		r = ok(t, ep, "encrypt", "-k", k, msg)
		r = ok(t, ep, "decrypt", "-k", k, strings.TrimSpace(r.stdout))
		if r.stdout != msg+"\n" {
			t.Errorf("%s: decrypt(encrypt) = %q", k, r.stdout)
		}
	}
	ct, _ := rsa.EncryptPKCS1v15(rand.Reader, pubs["rsa"].(*rsa.PublicKey), []byte(msg))
	if r = ok(t, ep, "decrypt", base64.StdEncoding.EncodeToString(ct), "-k", "rsa"); r.stdout != msg+"\n" {
		t.Errorf("decrypt of Go's ciphertext = %q", r.stdout)
	}
	failsWith(t, ep, "not valid base64", "decrypt", "-k", "rsa", "!!!")
	failsWith(t, ep, "cannot be used for encryption", "encrypt", "-k", "ecc", msg)

	for _, k := range []string{"ecc", "rsa-sign", "rsa-pss"} {
		r = ok(t, ep, "create-csr", "-k", k, "--cn", "parsec-go.example", "--serialNumber", "EZ4U2CIXL", "--o", "Org", "--c", "GB", "--san", "localhost", "--san", "x.example")
		block, rest := pem.Decode([]byte(r.stdout))
		if block == nil || block.Type != "CERTIFICATE REQUEST" || string(rest) != "\n" {
			t.Fatalf("create-csr %s output: %q", k, r.stdout)
		}
		csr, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if err := csr.CheckSignature(); err != nil {
			t.Errorf("create-csr %s: signature: %v", k, err)
		}
		// The Rust tool's order: CN, OU, O, L, ST, C, serialNumber.
		var names []string
		for _, n := range csr.Subject.Names {
			names = append(names, n.Type.String()+"="+n.Value.(string))
		}
		if got := strings.Join(names, ","); got != "2.5.4.3=parsec-go.example,2.5.4.10=Org,2.5.4.6=GB,2.5.4.5=EZ4U2CIXL" {
			t.Errorf("create-csr %s: subject %q", k, got)
		}
		if strings.Join(csr.DNSNames, ",") != "localhost,x.example" {
			t.Errorf("create-csr %s: SANs %q", k, csr.DNSNames)
		}
		if !csr.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(pubs[k]) {
			t.Errorf("create-csr %s: the CSR carries another public key", k)
		}
	}
	failsWith(t, ep, "not an asymmetric signing key", "create-csr", "-k", "rsa")

	failsWith(t, ep, "AdminOperation", "list-clients")
	for _, k := range []string{"ecc", "rsa", "rsa-sign", "rsa-pss", "rsa-oaep"} {
		r = ok(t, ep, "delete-key", "-k", k)
		if !strings.HasSuffix(r.stderr, "Key \""+k+"\" deleted.\n") {
			t.Errorf("delete-key log: %q", r.stderr)
		}
	}
	r = failsWith(t, ep, "PsaErrorDoesNotExist", "delete-key", "-k", "ecc")
	if !strings.Contains(r.stderr, "list-keys") {
		t.Errorf("the error does not say what to do: %q", r.stderr)
	}
	failsWith(t, ep, "operation not supported by selected provider", "-p", "0", "create-ecc-key", "-k", "x")

	// RUST_LOG=error silences the info lines.
	cmd := exec.Command(buildTool(t), "ping")
	cmd.Env = []string{"PARSEC_SERVICE_ENDPOINT=" + ep, "RUST_LOG=error"}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if out, err := cmd.Output(); err != nil || string(out) != "1.0\n" || errb.Len() != 0 {
		t.Errorf("RUST_LOG=error ping: %q %q %v", out, errb.String(), err)
	}
}

func signed(t *testing.T, ep, key, msg string) []byte {
	t.Helper()
	r := ok(t, ep, "sign", "-k", key, msg)
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatalf("sign -k %s: %q is not base64", key, r.stdout)
	}
	return sig
}

// Bad endpoints and no service: one line that says what to do, exit 1.
func TestToolWithoutService(t *testing.T) {
	dir, err := os.MkdirTemp("", "pt")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o600)
	// A socket nobody listens on any more.
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	for _, tc := range []struct{ endpoint, want string }{
		{"unix:" + filepath.Join(dir, "none.sock"), "does not exist; is the Parsec service running? Set PARSEC_SERVICE_ENDPOINT"},
		{"unix:" + filepath.Join(dir, "file"), "is not a socket"},
		{filepath.Join(dir, "none.sock"), "the socket URL is invalid"},
		{"tcp://127.0.0.1:1", "the socket URL is invalid"},
		{"unix:" + stale, "nothing listens on"},
	} {
		for _, cmd := range []string{"ping", "list-keys"} {
			r := failsWith(t, tc.endpoint, tc.want, cmd)
			if r.stdout != "" {
				t.Errorf("%s with %s printed %q", cmd, tc.endpoint, r.stdout)
			}
		}
	}
}

// A peer that never answers: -t bounds the wait.
func TestToolTimeout(t *testing.T) {
	dir, err := os.MkdirTemp("", "pt")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var conns []net.Conn
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	failsWith(t, "unix:"+sock, "did not answer within 1s", "-t", "1", "ping")
}

// Our parsec-cli-tests.sh with our parsec-tool against each service.
func TestCLITestsScript(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: creates a dozen RSA keys per service")
	}
	root, err := parsectest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is needed on PATH (apt-get install openssl)")
	}
	for _, k := range parsectest.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			s := parsectest.Start(t, k, parsectest.Config{})
			cmd := exec.Command(filepath.Join(root, "tools", "parsec-cli-tests", "parsec-cli-tests.sh"))
			cmd.Env = append(os.Environ(), "PARSEC_SERVICE_ENDPOINT="+s.Endpoint, "PARSEC_TOOL="+buildTool(t), "OPENSSL="+openssl)
			out, err := cmd.CombinedOutput()
			if err != nil || !regexp.MustCompile(`(?m)^\d+ passed, 0 failed$`).Match(out) || bytes.Contains(out, []byte("SKIP")) {
				t.Fatalf("parsec-cli-tests.sh: %v\n%s\nservice log:\n%s", err, out, s.Log())
			}
		})
	}
}

// BenchmarkStartup reports the CPU time (user+sys, from the child's
// rusage) of whole parsec-tool runs: "--version" is the start-up cost
// alone, "ping" adds one request to a running service (the target is under
// 5 ms of CPU). Run with: go test -run XXX -bench Startup ./tools/parsec-tool
func BenchmarkStartup(b *testing.B) {
	bin, err := parsectest.BuildBinary("./tools/parsec-tool")
	if err != nil {
		b.Fatal(err)
	}
	s := parsectest.Start(b, parsectest.Go, parsectest.Config{})
	// A Go program that only prints puts the numbers in proportion: on a
	// loaded machine every process start costs several times more.
	hello := filepath.Join(b.TempDir(), "hello")
	src := filepath.Join(b.TempDir(), "main.go")
	os.WriteFile(src, []byte("package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hi\\n\") }\n"), 0o600)
	if out, err := exec.Command("go", "build", "-o", hello, src).CombinedOutput(); err != nil {
		b.Fatalf("building the baseline: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"baseline-go-hello"}, {"--version"}, {"ping"}} {
		b.Run(args[0], func(b *testing.B) {
			var cpu int64
			for i := 0; i < b.N; i++ {
				cmd := exec.Command(bin, args...)
				if args[0] == "baseline-go-hello" {
					cmd = exec.Command(hello)
				}
				cmd.Env = []string{"PARSEC_SERVICE_ENDPOINT=" + s.Endpoint, "RUST_LOG=off"}
				if err := cmd.Run(); err != nil {
					b.Fatal(err)
				}
				ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
				cpu += ru.Utime.Nano() + ru.Stime.Nano()
			}
			b.ReportMetric(float64(cpu)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}

// The first hour's messages (issue 15, items 9 and 10): a missing key is
// one error naming it in every subcommand, whichever service answers; a
// refused RSA size names the limit; create-csr without --cn warns.
func TestToolFirstHourMessages(t *testing.T) {
	for _, k := range parsectest.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			s := parsectest.Start(t, k, parsectest.Config{})
			ep := s.Endpoint
			for _, args := range [][]string{
				{"sign", "-k", "missing", "text"},
				{"delete-key", "-k", "missing"},
				{"export-public-key", "-k", "missing"},
				{"create-csr", "-k", "missing", "--cn", "x"},
				{"encrypt", "-k", "missing", "text"},
				{"decrypt", "-k", "missing", "AAAA"},
			} {
				r := failsWith(t, ep, `key "missing" not found (PsaErrorDoesNotExist); list your keys`, args...)
				if !strings.Contains(r.stderr, "list-keys") {
					t.Errorf("%q: the error does not say what to do: %q", args, r.stderr)
				}
			}
			// Parsec's sizes are 1024, 2048 and 4096: 3072, a common size,
			// is refused too, and the message must not suggest otherwise.
			for _, bits := range []string{"512", "3072", "8192"} {
				failsWith(t, ep, "RSA keys of 1024, 2048 or 4096 bits (a TPM may offer fewer sizes; see its provider's log); "+bits+" was asked", "create-rsa-key", "-k", "r", "-b", bits)
			}
			ok(t, ep, "create-ecc-key", "-k", "csr")
			r := ok(t, ep, "create-csr", "-k", "csr")
			if !strings.Contains(r.stderr, "WARN") || !strings.Contains(r.stderr, "no --cn given") {
				t.Errorf("create-csr without --cn did not warn: %q", r.stderr)
			}
			if r = ok(t, ep, "create-csr", "-k", "csr", "--cn", "host"); strings.Contains(r.stderr, "--cn") {
				t.Errorf("create-csr with --cn warned: %q", r.stderr)
			}
			ok(t, ep, "delete-key", "-k", "csr")
		})
	}
}

// A socket the user may not open: "permission denied" and the group that
// grants access, not "does not exist" (issue 15, item 8).
func TestToolPermissionDenied(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the tool as another user")
	}
	const nobody, gid = 65534, 1
	group := "1"
	if g, err := user.LookupGroupId("1"); err == nil {
		group = g.Name
	}
	dir, err := os.MkdirTemp("", "pt-perm")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	// A copy the other user may execute.
	bin := filepath.Join(dir, "parsec-tool")
	src, err := os.ReadFile(buildTool(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name              string
		dirMode, sockMode os.FileMode
		blocker           string
	}{
		{"run dir of the group", 0o750, 0o666, "run"},
		{"socket of the group", 0o755, 0o660, "run/parsec.sock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := filepath.Join(dir, "run")
			os.RemoveAll(run)
			if err := os.Mkdir(run, 0o700); err != nil {
				t.Fatal(err)
			}
			sock := filepath.Join(run, "parsec.sock")
			l, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			for p, m := range map[string]os.FileMode{run: tc.dirMode, sock: tc.sockMode} {
				if err := os.Chown(p, 0, gid); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, m); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(bin, "ping")
			cmd.Env = []string{"PARSEC_SERVICE_ENDPOINT=unix:" + sock}
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("ping as nobody succeeded: %s", out)
			}
			for _, want := range []string{"permission denied: " + filepath.Join(dir, tc.blocker), "group " + group, "usermod -aG " + group} {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(string(out), "does not exist") {
				t.Errorf("output still says the socket does not exist:\n%s", out)
			}
		})
	}
}
