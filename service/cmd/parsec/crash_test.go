package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider/software"
	"github.com/parsec-go/parsec/wire"
)

// crashLedger is what the clients were told, across kills of the daemon.
type crashLedger struct {
	mu      sync.Mutex
	acked   map[string]bool // creation acknowledged, not destroyed since
	deleted map[string]bool // destruction acknowledged (or proven)
	unsure  map[string]bool // request cut by the kill: either outcome is fine
}

func (l *crashLedger) set(name string, state map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.acked, name)
	delete(l.deleted, name)
	delete(l.unsure, name)
	state[name] = true
}

// runDaemon starts the daemon with config file cfg in dir; it is stopped
// when the test ends.
func runDaemon(t *testing.T, dir, cfg string) *daemon {
	t.Helper()
	return (&daemon{t: t, dir: dir, cfg: cfg, socket: filepath.Join(dir, "parsec.sock")}).run()
}

// softwareClient is a client of d's software provider, as the current uid.
func softwareClient(t *testing.T, d *daemon) *client.Client {
	t.Helper()
	c, err := client.New(context.Background(), client.WithSocketPath(d.socket), client.WithProvider(wire.ProviderMbedCrypto))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestKill9DuringCreateAndDestroy kills the real daemon with SIGKILL at
// random moments while clients create and destroy keys, restarts it, and
// checks that every acknowledged key is there and signs, no destroyed key
// returns, and no key material is left that no mapping references
// (issue 15 item 3; issue 18's durability). Bounded: a fixed number of
// kills, each after at most 150 ms of load.
func TestKill9DuringCreateAndDestroy(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the daemon repeatedly")
	}
	d := startDaemon(t, "UnixPeerCredentials")
	ledger := &crashLedger{acked: map[string]bool{}, deleted: map[string]bool{}, unsure: map[string]bool{}}
	attrs := psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)}
	rounds := 12
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	seq := 0
	for round := 0; round < rounds; round++ {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w, base int) {
				defer wg.Done()
				c, err := client.New(ctx, client.WithSocketPath(d.socket), client.WithProvider(wire.ProviderMbedCrypto), client.WithTimeout(5*time.Second))
				if err != nil {
					return // the daemon died already
				}
				var mine []string
				for i := 0; ctx.Err() == nil; i++ {
					name := fmt.Sprintf("r%d-w%d-%d", base, w, i)
					err := c.GenerateKey(ctx, name, attrs)
					switch {
					case err == nil:
						ledger.set(name, ledger.acked)
						mine = append(mine, name)
					case wire.StatusOf(err, 0) != 0:
						t.Errorf("create %s: %v", name, err)
						return
					default: // cut by the kill
						ledger.set(name, ledger.unsure)
						return
					}
					if len(mine) > 2 && i%2 == 0 {
						victim := mine[0]
						mine = mine[1:]
						err := c.DestroyKey(ctx, victim)
						switch {
						case err == nil:
							ledger.set(victim, ledger.deleted)
						case wire.StatusOf(err, 0) != 0:
							t.Errorf("destroy %s: %v", victim, err)
							return
						default:
							ledger.set(victim, ledger.unsure)
							return
						}
					}
				}
			}(w, seq)
		}
		seq++
		time.Sleep(time.Duration(10+rng.Intn(140)) * time.Millisecond)
		d.cmd.Process.Kill()
		d.cmd.Wait()
		cancel()
		wg.Wait()
		d.cmd = nil
		d.start()
		checkCrashState(t, d, ledger, attrs)
		if t.Failed() {
			t.Fatalf("after kill %d; daemon log:\n%s", round+1, d.log)
		}
	}
	t.Logf("%d kills; %d keys acknowledged and present, %d destroyed", rounds, len(ledger.acked), len(ledger.deleted))
}

func checkCrashState(t *testing.T, d *daemon, l *crashLedger, attrs psa.Attributes) {
	t.Helper()
	ctx := context.Background()
	c := softwareClient(t, d)
	keys, err := c.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, k := range keys {
		present[k.Name] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	hash := sha256.Sum256([]byte("after the crash"))
	for name := range l.acked {
		if !present[name] {
			t.Errorf("acknowledged key %s is gone", name)
			continue
		}
		sig, err := c.SignHash(ctx, name, attrs.Alg, hash[:])
		if err == nil {
			err = c.VerifyHash(ctx, name, attrs.Alg, hash[:], sig)
		}
		if err != nil {
			t.Errorf("acknowledged key %s does not work: %v", name, err)
		}
	}
	for name := range l.deleted {
		if present[name] {
			t.Errorf("destroyed key %s came back", name)
		}
	}
	// A cut request settles now: whatever the restart shows must hold.
	for name := range l.unsure {
		delete(l.unsure, name)
		if present[name] {
			l.acked[name] = true
		} else {
			l.deleted[name] = true
		}
	}
	// Every stored key is referenced by exactly one mapping, and the
	// material of every destroyed key is zeros (the daemon is idle now:
	// the store's log is read as it stands).
	inv, err := software.Inspect(filepath.Join(d.dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Keys) != len(keys) || inv.Temporary != 0 || inv.Unzeroed != 0 {
		t.Errorf("%d stored keys, %d temporary files and %d unzeroed destroyed keys for %d mappings: orphaned material", len(inv.Keys), inv.Temporary, inv.Unzeroed, len(keys))
	}
	ents, _ := os.ReadDir(filepath.Join(d.dir, "mappings"))
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary mapping file %s left", e.Name())
		}
	}
}

// TestHugeListKeysIsAnswered: a client holding many keys with names at the
// length bound still gets a complete ListKeys answer (issue 15 item 2: it
// used to be a cut connection), and a longer name gets a status.
func TestHugeListKeysIsAnswered(t *testing.T) {
	dir := t.TempDir()
	m, err := kim.OpenOnDisk(filepath.Join(dir, "mappings"), nil)
	if err != nil {
		t.Fatal(err)
	}
	o := kim.Owner{AuthType: wire.AuthUnixPeerCredentials, App: fmt.Sprint(os.Getuid())}
	const n = 8000
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ { // concurrent inserts share their fdatasyncs
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 64 {
				name := fmt.Sprintf("%08d%s", i, strings.Repeat("n", kim.MaxKeyNameLen-8))
				e := kim.Entry{Provider: wire.ProviderMbedCrypto, ProviderName: "mbed-crypto-provider", KeyID: []byte{1, 0, 0, 0},
					Attributes: psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: psa.UsageSignHash, Alg: psa.ECDSA(psa.AlgSHA256)}}
				if err := m.Insert(o, name, e); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	m.Close()
	d := runDaemon(t, dir, writeConfig(t, dir, "UnixPeerCredentials", ""))
	ctx := context.Background()
	c := softwareClient(t, d)
	keys, err := c.ListKeys(ctx)
	if err != nil && wire.StatusOf(err, 0) == 0 {
		t.Fatalf("ListKeys of %d long names: no status: %v", n, err)
	}
	if err == nil && len(keys) != n {
		t.Fatalf("ListKeys returned %d keys, want %d", len(keys), n)
	}
	err = c.GenerateKey(ctx, strings.Repeat("x", kim.MaxKeyNameLen+1), psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: psa.UsageSignHash, Alg: psa.ECDSA(psa.AlgSHA256)})
	if !errors.Is(err, wire.StatusPsaErrorInvalidArgument) {
		t.Fatalf("over-long name: %v", err)
	}
}
