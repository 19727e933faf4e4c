package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

const rustFixture = "../../takeover/testdata/rust-1.4.1/sqlite"

var buildTakeover = sync.OnceValues(func() (string, error) {
	// Built once into a subdirectory, not beside the daemon: the test
	// installs it there and removes it (and -count=2 runs it again).
	bin := filepath.Join(filepath.Dir(daemonBin), "built", takeoverProgram)
	out, err := exec.Command("go", "build", "-o", bin, "../parsec-takeover").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building parsec-takeover: %v\n%s", err, out)
	}
	return bin, nil
})

// installTakeover puts parsec-takeover beside the daemon's executable,
// where the daemon looks for it.
func installTakeover(dst string) error {
	bin, err := buildTakeover()
	if err != nil {
		return err
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

// rustDeployment copies the SQLite fixture (the Rust service's working
// directory) and writes a config for it with the Mbed Crypto provider only.
func rustDeployment(t *testing.T) (dir, cfg string) {
	t.Helper()
	dir = t.TempDir()
	err := filepath.WalkDir(rustFixture, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(rustFixture, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, rel), b, 0o600)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg = filepath.Join(dir, "parsec-go.toml")
	doc := strings.ReplaceAll(`[core_settings]
allow_root = true
[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = "{{dir}}/parsec.sock"
[authenticator]
auth_type = "UnixPeerCredentials"
[[key_manager]]
name = "sqlite-manager"
manager_type = "SQLite"
sqlite_db_path = "{{dir}}/kim/sqlite-key-info-manager.sqlite3"
[[provider]]
provider_type = "MbedCrypto"
key_info_manager = "sqlite-manager"
store_path = "{{dir}}/mbed-keys"
`, "{{dir}}", dir)
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

// startIn runs the daemon with its working directory in dir (where the
// Rust service kept its key files).
func startIn(t *testing.T, dir, cfg string) *daemon {
	t.Helper()
	return (&daemon{t: t, dir: dir, wd: dir, cfg: cfg, socket: filepath.Join(dir, "parsec.sock")}).run()
}

func sortedKeyNames(t *testing.T, d *daemon) []string {
	names := listKeyNames(t, d.socket)
	sort.Strings(names)
	return names
}

// TestStartTakesOverRustState: the first start with Rust state carries it
// over (without parsec-takeover installed: an error, the service serves
// its own keys and retries at the next start).
func TestStartTakesOverRustState(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("the fixture's keys belong to uid 0 and 61003")
	}
	takeoverBin := filepath.Join(filepath.Dir(daemonBin), takeoverProgram)
	os.Remove(takeoverBin)
	dir, cfg := rustDeployment(t)

	d := startIn(t, dir, cfg)
	if names := sortedKeyNames(t, d); len(names) != 0 {
		t.Fatalf("keys without a takeover: %v", names)
	}
	d.stop()
	if !strings.Contains(d.log.String(), "level=ERROR") || !strings.Contains(d.log.String(), "not installed") {
		t.Fatalf("no error about the missing program:\n%s", d.log)
	}

	if err := installTakeover(takeoverBin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(takeoverBin) })
	d = startIn(t, dir, cfg)
	want := []string{"mbed-ecc-0", "mbed-rsa-enc-0", "mbed-rsa-sign-0"}
	if names := sortedKeyNames(t, d); fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("keys %v, want %v; log:\n%s", names, want, d.log)
	}
	// The TPM keys have no provider in this config: reported, not carried.
	if !strings.Contains(d.log.String(), "tpm-ecc-0") || !strings.Contains(d.log.String(), "some Rust Parsec keys were not carried over") {
		t.Errorf("TPM keys not reported:\n%s", d.log)
	}
	var res pb.ExportPublicKeyResult
	if st := call(t, d.socket, wire.ProviderMbedCrypto, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: "mbed-ecc-0"}, &res); st != wire.StatusSuccess {
		t.Fatalf("export: %v", st)
	}
	pemBytes, _ := os.ReadFile(filepath.Join(dir, "pem/mbed-ecc-0.pem"))
	blk, _ := pem.Decode(pemBytes)
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ek, _ := pub.(*ecdsa.PublicKey).ECDH()
	if !bytes.Equal(ek.Bytes(), res.Data) {
		t.Fatal("exported public key differs from the PEM Rust exported")
	}
	d.stop()

	// The marker is there: later starts do not run the takeover again.
	d = startIn(t, dir, cfg)
	if strings.Contains(d.log.String(), "carrying Rust Parsec state over") {
		t.Errorf("takeover ran again:\n%s", d.log)
	}
	if names := sortedKeyNames(t, d); len(names) != 3 {
		t.Errorf("after restart: %v", names)
	}
}
