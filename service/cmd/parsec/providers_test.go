package main

// The build tags that leave hardware providers out: which packages a tagged
// build links, and what a binary built without a provider says when a config
// names it.

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parsec-go/parsec/internal/syncbuf"
	"github.com/parsec-go/parsec/wire"
)

const module = "github.com/parsec-go/parsec/"

// Packages that must be linked exactly when their provider is built. A
// prefix ending in "/" stands for a module or a package tree.
var (
	tpmPkgs = []string{module + "service/provider/tpm", "github.com/google/go-tpm/"}
	tsPkgs  = []string{module + "service/provider/trustedservice", module + "internal/tee", module + "internal/ts", module + "internal/ts/"}
	swPkgs  = []string{module + "service/provider/software"}
)

func TestBuildTagsLeaveOutPackages(t *testing.T) {
	tests := []struct {
		tags      string
		tpm, ts   bool
		wantProvs []string
	}{
		{"", true, true, []string{"MbedCrypto", "Tpm", "TrustedService"}},
		{"parsec_no_tpm", false, true, []string{"MbedCrypto", "TrustedService"}},
		{"parsec_no_trustedservice", true, false, []string{"MbedCrypto", "Tpm"}},
		{"parsec_no_tpm,parsec_no_trustedservice", false, false, []string{"MbedCrypto"}},
	}
	for _, tt := range tests {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "-tags", tt.tags, ".").Output()
		if err != nil {
			t.Fatalf("go list -tags %q: %v", tt.tags, err)
		}
		deps := strings.Fields(string(out))
		for _, c := range []struct {
			pkgs []string
			want bool
		}{{tpmPkgs, tt.tpm}, {tsPkgs, tt.ts}, {swPkgs, true}} {
			for _, p := range c.pkgs {
				if got := linked(deps, p); got != c.want {
					t.Errorf("tags %q: %s linked = %v, want %v", tt.tags, p, got, c.want)
				}
			}
		}
	}
}

func linked(deps []string, p string) bool {
	for _, d := range deps {
		if d == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(d, p)) {
			return true
		}
	}
	return false
}

// Every provider type is in the registry, built or marked left out with the
// tag that did it, so a config naming it never reads as a typo.
func TestRegistryNamesEveryProvider(t *testing.T) {
	reg := providers()
	for name, id := range map[string]wire.ProviderID{
		"MbedCrypto": wire.ProviderMbedCrypto, "Tpm": wire.ProviderTpm, "TrustedService": wire.ProviderTrustedService,
	} {
		rp, ok := reg[name]
		switch {
		case !ok:
			t.Errorf("%s is not in the registry", name)
		case rp.ID != id:
			t.Errorf("%s has provider id %d, want %d", name, rp.ID, id)
		case rp.Factory == nil && !strings.Contains(rp.LeftOut, "parsec_no_"):
			t.Errorf("%s has no factory and its LeftOut %q names no tag", name, rp.LeftOut)
		}
	}
	if reg["MbedCrypto"].Factory == nil {
		t.Error("the software provider must always be built")
	}
}

const tpmProviderConfig = `
[[provider]]
provider_type = "Tpm"
key_info_manager = "on-disk-manager"
tcti = "device:/dev/tpmrm0"
skip_if_no_tpm = true
`

const tsProviderConfig = `
[[provider]]
provider_type = "TrustedService"
key_info_manager = "on-disk-manager"
`

// A software-only binary, built the way a board build without TPM and TS
// builds it: refuses a config that names either, at start and on reload,
// saying how to get the provider back, and runs the software provider.
func TestSoftwareOnlyBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a second daemon binary")
	}
	bin := filepath.Join(t.TempDir(), "parsec-sw")
	if out, err := exec.Command("go", "build", "-tags", "parsec_no_tpm,parsec_no_trustedservice", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	for _, tt := range []struct{ name, extra, want string }{
		{"Tpm", tpmProviderConfig, `"Tpm", which was left out of this build (built with Go build tag parsec_no_tpm; rebuild without that tag, or in Yocto add TPM to PACKAGECONFIG of parsec-service); available: MbedCrypto`},
		{"TrustedService", tsProviderConfig, `"TrustedService", which was left out of this build (built with Go build tag parsec_no_trustedservice; rebuild without that tag, or in Yocto add TS to PACKAGECONFIG of parsec-service); available: MbedCrypto`},
	} {
		cfg := writeConfig(t, t.TempDir(), "UnixPeerCredentials", tt.extra)
		out, err := exec.Command(bin, "-c", cfg).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("%s: exit %v, want status 1\n%s", tt.name, err, out)
		}
		// The logger quotes the error, escaping its quotes.
		if got := strings.ReplaceAll(string(out), `\"`, `"`); !strings.Contains(got, tt.want) {
			t.Errorf("%s: output lacks %q:\n%s", tt.name, tt.want, out)
		}
	}

	dir := t.TempDir()
	cfg := writeConfig(t, dir, "UnixPeerCredentials", "")
	socket := filepath.Join(dir, "parsec.sock")
	log := &syncbuf.Buffer{}
	cmd := exec.Command(bin, "-c", cfg)
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("daemon exit: %v\n%s", err, log)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("daemon did not stop on SIGTERM\n%s", log)
		}
	}()
	ping := func() error {
		st, _, err := rawCall(socket, wire.Header{Opcode: wire.OpPing}, nil, nil)
		if err == nil && st != wire.StatusSuccess {
			err = st
		}
		return err
	}
	waitFor(t, "a ping answer", func() bool { return ping() == nil }, log)

	writeConfig(t, dir, "UnixPeerCredentials", tpmProviderConfig)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload to be refused", func() bool {
		return strings.Contains(log.String(), "left out of this build")
	}, log)
	if err := ping(); err != nil {
		t.Errorf("ping after the refused reload: %v\n%s", err, log)
	}
}

func waitFor(t *testing.T, what string, cond func() bool, log *syncbuf.Buffer) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s; log:\n%s", what, log)
		}
	}
}
