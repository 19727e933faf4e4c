package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
)

// TestDiskFullIsInsufficientStorage fills a small file system holding the
// key stores: key creation then fails with PsaErrorInsufficientStorage,
// the failure is logged at error level with the file, and every key
// created before still works (issue 15 item 5). It needs to mount a
// tmpfs (root); elsewhere it is skipped.
func TestDiskFullIsInsufficientStorage(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", state).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", state).Run() })
	cfg := strings.NewReplacer("{{dir}}/mappings", state+"/mappings", "{{dir}}/keys", state+"/keys").Replace(baseConfig)
	cfg = strings.NewReplacer("{{dir}}", dir, "{{auth}}", "UnixPeerCredentials").Replace(cfg)
	p := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := runDaemon(t, dir, p)
	ctx := context.Background()
	c := softwareClient(t, d)
	attrs := psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: psa.UsageSignHash, Alg: psa.ECDSA(psa.AlgSHA256)}
	// Long names fill the mapping log too, not only the key files.
	long := strings.Repeat("n", 1000)
	var made []string
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("256 KiB never filled up")
		}
		name := fmt.Sprintf("%d-%s", i, long)
		err := c.GenerateKey(ctx, name, attrs)
		if err == nil {
			made = append(made, name)
			continue
		}
		if !errors.Is(err, wire.StatusPsaErrorInsufficientStorage) {
			t.Fatalf("key %d on a full disk: %v, want PsaErrorInsufficientStorage", i, err)
		}
		break
	}
	// The daemon's stderr is copied into d.log by another goroutine: read
	// it once the daemon has exited (Wait waits for the copy), then start
	// again on the full disk.
	d.stop()
	log := d.log.String()
	if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, state) {
		t.Fatalf("the full disk is not logged at error level with the path:\n%s", log)
	}
	d.start()
	hash := make([]byte, 32)
	for _, name := range made {
		if _, err := c.SignHash(ctx, name, attrs.Alg, hash); err != nil {
			t.Fatalf("key made before the disk filled: %v", err)
		}
	}
	// Space comes back: creation works again, and a restart loses nothing.
	if err := c.DestroyKey(ctx, made[0]); err != nil {
		t.Fatal(err)
	}
	d.stop()
	d.start()
	keys, err := c.ListKeys(ctx)
	if err != nil || len(keys) != len(made)-1 {
		t.Fatalf("after restart: %d keys (%v), want %d", len(keys), err, len(made)-1)
	}
}
