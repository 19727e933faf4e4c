package tpm

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// signAndCheck signs with a P-256 key and checks the result with the
// exported public key.
func signAndCheck(t *testing.T, p *Provider, name string) {
	t.Helper()
	d := digest(psa.AlgSHA256, "check "+name)
	sig, err := sign(t, p, alice, name, eccP256Sign.Alg, d)
	if err != nil {
		t.Fatalf("sign with %q: %v", name, err)
	}
	if err := verify(t, p, alice, name, eccP256Sign.Alg, d, sig); err != nil {
		t.Fatalf("verify with %q: %v", name, err)
	}
}

func decryptCheck(t *testing.T, p *Provider, name string) {
	t.Helper()
	ct, err := encrypt(t, p, alice, name, psa.AlgRSAPKCS1v15Crypt, []byte("persist"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := decrypt(t, p, alice, name, psa.AlgRSAPKCS1v15Crypt, ct, nil)
	if err != nil || string(pt) != "persist" {
		t.Fatalf("decrypt with %q: %q, %v", name, pt, err)
	}
}

// TestRestartPersistence: keys made by one provider instance work in a new
// instance on the same KIM directory, also after the TPM itself restarts
// (same state) and is reached by a third instance.
func TestRestartPersistence(t *testing.T) {
	e := newEnv(t)
	if err := generate(t, e.p, alice, "ecc", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	if err := generate(t, e.p, alice, "rsa", rsa2048Crypt); err != nil {
		t.Fatal(err)
	}
	pubBefore, err := exportPub(e.p, alice, "ecc")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.p.Close(); err != nil {
		t.Fatal(err)
	}

	p2 := e.open(t)
	signAndCheck(t, p2, "ecc")
	decryptCheck(t, p2, "rsa")
	if err := p2.Close(); err != nil {
		t.Fatal(err)
	}

	e.tpm.restart(t)
	p3 := e.open(t)
	signAndCheck(t, p3, "ecc")
	decryptCheck(t, p3, "rsa")
	pubAfter, err := exportPub(p3, alice, "ecc")
	if err != nil || !bytes.Equal(pubBefore, pubAfter) {
		t.Fatalf("public key changed across restarts: %x vs %x (%v)", pubBefore, pubAfter, err)
	}
	if _, ok := e.log.find("TPM provider ready", "keys=2"); !ok {
		t.Fatal("the new instance did not report the 2 stored keys")
	}
}

// TestSwtpmKilledAndRestarted: the TPM dies under a running provider.
// Requests fail with CommunicationFailure and a log line while it is down,
// the provider stays usable, and recovers on its own when it is back,
// keys intact, with no transient object left over.
func TestSwtpmKilledAndRestarted(t *testing.T) {
	e := newEnv(t)
	for _, k := range []string{"a", "b"} {
		if err := generate(t, e.p, alice, k, eccP256Sign); err != nil {
			t.Fatal(err)
		}
		signAndCheck(t, e.p, k)
	}
	if err := generate(t, e.p, alice, "r", rsa2048Crypt); err != nil {
		t.Fatal(err)
	}
	decryptCheck(t, e.p, "r")

	e.tpm.kill(t)
	e.log.reset()
	_, err := sign(t, e.p, alice, "a", eccP256Sign.Alg, digest(psa.AlgSHA256, "down"))
	wantStatus(t, err, wire.StatusPsaErrorCommunicationFailure)
	e.log.mustFind(t, "PsaSignHash failed", "PsaErrorCommunicationFailure", "connecting to swtpm")
	_, err = random(e.p, 16)
	wantStatus(t, err, wire.StatusPsaErrorCommunicationFailure)
	wantStatus(t, generate(t, e.p, alice, "c", eccP256Sign), wire.StatusPsaErrorCommunicationFailure)
	// Nothing was lost or half-made while it was down.
	if _, err := exportPub(e.p, alice, "c"); statusOf(err) != wire.StatusPsaErrorDoesNotExist {
		t.Fatalf("a key was recorded although the TPM was down: %v", err)
	}
	if _, err := exportPub(e.p, alice, "a"); err != nil {
		t.Fatalf("export needs no TPM and must still work: %v", err)
	}

	e.tpm.start(t)
	signAndCheck(t, e.p, "a")
	signAndCheck(t, e.p, "b")
	decryptCheck(t, e.p, "r")
	if err := generate(t, e.p, alice, "c", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	signAndCheck(t, e.p, "c")
	if n, want := e.tpm.transientCount(t), e.p.dev.loadedCount(); n != want {
		t.Fatalf("TPM holds %d transient objects, the provider accounts for %d", n, want)
	}
}

// TestSwtpmRestartedBetweenRequests: the TPM restarts while no request is
// in flight, so the provider sees no channel error; its cached handles are
// stale (and may be reused by the TPM for other objects). It must notice
// and never use a key through a handle now holding another.
func TestSwtpmRestartedBetweenRequests(t *testing.T) {
	e := newEnv(t)
	names := []string{"k1", "k2"}
	for _, k := range names {
		if err := generate(t, e.p, alice, k, eccP256Sign); err != nil {
			t.Fatal(err)
		}
		signAndCheck(t, e.p, k)
	}
	pubs := map[string][]byte{}
	for _, k := range names {
		pubs[k], _ = exportPub(e.p, alice, k)
	}
	for round := 0; round < 2; round++ {
		e.tpm.restart(t)
		// Use them in the other order so a reused handle would point at
		// the other key.
		for i := len(names) - 1; i >= 0; i-- {
			k := names[i]
			d := digest(psa.AlgSHA256, fmt.Sprintf("round %d %s", round, k))
			sig, err := sign(t, e.p, alice, k, eccP256Sign.Alg, d)
			if err != nil {
				t.Fatalf("round %d: sign with %s: %v", round, k, err)
			}
			if err := goVerify(eccP256Sign.Type, pubs[k], eccP256Sign.Alg, psa.AlgSHA256, d, sig); err != nil {
				t.Fatalf("round %d: %s signed with the wrong key: %v", round, k, err)
			}
		}
	}
	if n, want := e.tpm.transientCount(t), e.p.dev.loadedCount(); n != want {
		t.Fatalf("TPM holds %d transient objects, the provider accounts for %d", n, want)
	}
}

// TestTenantIsolation: two applications with keys of the same name never
// see or use each other's.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	if err := generate(t, e.p, alice, "shared-name", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	if err := generate(t, e.p, bob, "shared-name", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	if err := generate(t, e.p, bob, "bob-only", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	pa, _ := exportPub(e.p, alice, "shared-name")
	pb_, _ := exportPub(e.p, bob, "shared-name")
	if bytes.Equal(pa, pb_) {
		t.Fatal("alice and bob got the same key")
	}
	// Each signs with their own key.
	d := digest(psa.AlgSHA256, "tenants")
	for _, c := range []struct {
		app  string
		pub  []byte
		sign func() ([]byte, error)
	}{
		{"alice", pa, func() ([]byte, error) { return sign(t, e.p, alice, "shared-name", eccP256Sign.Alg, d) }},
		{"bob", pb_, func() ([]byte, error) { return sign(t, e.p, bob, "shared-name", eccP256Sign.Alg, d) }},
	} {
		sig, err := c.sign()
		if err != nil {
			t.Fatal(err)
		}
		if err := goVerify(eccP256Sign.Type, c.pub, eccP256Sign.Alg, psa.AlgSHA256, d, sig); err != nil {
			t.Fatalf("%s's signature is not from %s's key: %v", c.app, c.app, err)
		}
	}
	// Alice cannot reach bob's other key in any way.
	_, err := sign(t, e.p, alice, "bob-only", eccP256Sign.Alg, d)
	wantStatus(t, err, wire.StatusPsaErrorDoesNotExist)
	_, err = exportPub(e.p, alice, "bob-only")
	wantStatus(t, err, wire.StatusPsaErrorDoesNotExist)
	wantStatus(t, destroy(e.p, alice, "bob-only"), wire.StatusPsaErrorDoesNotExist)
	// Destroying alice's key leaves bob's of the same name.
	if err := destroy(e.p, alice, "shared-name"); err != nil {
		t.Fatal(err)
	}
	if _, err := sign(t, e.p, bob, "shared-name", eccP256Sign.Alg, d); err != nil {
		t.Fatalf("bob's key went with alice's: %v", err)
	}
	// The KIM agrees.
	keys, err := e.p.keys.Manager().List(kim.OwnerOf(bob))
	if err != nil || len(keys) != 2 {
		t.Fatalf("bob has %d keys (%v), want 2", len(keys), err)
	}
	keys, _ = e.p.keys.Manager().List(kim.OwnerOf(alice))
	if len(keys) != 0 {
		t.Fatalf("alice still has %d keys", len(keys))
	}
}

// TestHandleCacheBounded: many keys used in random order never hold more
// than the budget loaded, nothing leaks in the TPM, and Close leaves it
// empty.
func TestHandleCacheBounded(t *testing.T) {
	e := newEnv(t)
	const nkeys = 7
	for i := 0; i < nkeys; i++ {
		a := eccP256Sign
		if i%3 == 2 {
			a = rsa2048Crypt
		}
		if err := generate(t, e.p, alice, fmt.Sprint("k", i), a); err != nil {
			t.Fatal(err)
		}
	}
	budget := e.p.dev.budget()
	for i := 0; i < 150; i++ {
		n, _ := rand.Int(rand.Reader, big.NewInt(nkeys))
		k := fmt.Sprint("k", n.Int64())
		if n.Int64()%3 == 2 {
			decryptCheck(t, e.p, k)
		} else {
			signAndCheck(t, e.p, k)
		}
		if got := e.p.dev.loadedCount(); got > budget {
			t.Fatalf("%d objects loaded, budget %d", got, budget)
		}
	}
	// Destroying keys flushes their handles.
	for i := 0; i < nkeys; i++ {
		if i%2 == 0 {
			if err := destroy(e.p, alice, fmt.Sprint("k", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, want := e.tpm.transientCount(t), e.p.dev.loadedCount(); n != want || n > budget {
		t.Fatalf("TPM holds %d transient objects, provider accounts for %d, budget %d", n, want, budget)
	}
	t.Logf("budget %d, %d loads, %d flushes for 150 operations on %d keys", budget, e.p.dev.loads, e.p.dev.flushes, nkeys)
	if err := e.p.Close(); err != nil {
		t.Fatal(err)
	}
	if n := e.tpm.transientCount(t); n != 0 {
		t.Fatalf("%d transient objects left in the TPM after Close", n)
	}
}

// TestCachedSignIsOneCommand: with the key cached, a signature costs one
// TPM command.
func TestCachedSignIsOneCommand(t *testing.T) {
	e := newEnv(t)
	if err := generate(t, e.p, alice, "k", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	if _, err := sign(t, e.p, alice, "k", eccP256Sign.Alg, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	counter := &countingTransport{}
	e.p.dev.mu.Lock()
	counter.inner = e.p.dev.t
	e.p.dev.t = counter
	e.p.dev.mu.Unlock()
	for i := 0; i < 10; i++ {
		if _, err := sign(t, e.p, alice, "k", eccP256Sign.Alg, make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
	}
	if counter.n != 10 {
		t.Fatalf("10 cached signatures took %d TPM commands, want 10", counter.n)
	}
}

type countingTransport struct {
	inner interface {
		Send([]byte) ([]byte, error)
		Close() error
	}
	n int
}

func (c *countingTransport) Send(b []byte) ([]byte, error) { c.n++; return c.inner.Send(b) }
func (c *countingTransport) Close() error                  { return c.inner.Close() }

// TestObjectMemory: another client fills the TPM's object slots (a
// crashed process would leave them so). The provider flushes its own
// cache, then the foreign objects, logs it, and succeeds.
func TestObjectMemory(t *testing.T) {
	e := newEnv(t)
	if err := generate(t, e.p, alice, "k", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Close(); err != nil { // start with an empty TPM
		t.Fatal(err)
	}
	other := e.tpm.direct(t)
	for i := 0; ; i++ {
		_, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.ECCSRKTemplate)}.Execute(other)
		if isObjectMemory(err) {
			t.Logf("another client filled the TPM with %d objects", i)
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	e.log.reset()
	p := e.open(t)
	signAndCheck(t, p, "k")
	e.log.mustFind(t, "out of object memory")
	e.log.mustFind(t, "flushed transient objects we did not load")
}

// TestObjectMemoryWithResourceManager: behind a resource manager foreign
// objects are not ours to flush; the request fails with
// InsufficientMemory and a log line naming the cause.
func TestObjectMemoryWithResourceManager(t *testing.T) {
	e := newEnv(t)
	if err := generate(t, e.p, alice, "k", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	// Empty our cache, fill the TPM through another channel, then pretend
	// ours is resource-managed so the provider may not flush them.
	e.p.dev.mu.Lock()
	if err := e.p.dev.flushAll(true); err != nil {
		t.Fatal(err)
	}
	e.p.dev.mu.Unlock()
	other := e.tpm.direct(t)
	for {
		_, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.ECCSRKTemplate)}.Execute(other)
		if isObjectMemory(err) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	e.p.dev.mu.Lock()
	e.p.dev.resourceManaged = true
	e.p.dev.mu.Unlock()
	e.log.reset()
	_, err := sign(t, e.p, alice, "k", eccP256Sign.Alg, make([]byte, 32))
	wantStatus(t, err, wire.StatusPsaErrorInsufficientMemory)
	e.log.mustFind(t, "PsaSignHash failed", "PsaErrorInsufficientMemory", "TPM_RC_OBJECT_MEMORY")
}

// TestWrongOwnerAuth: the owner hierarchy has a password the config does
// not give. The provider starts (logging why), key creation fails with
// NotPermitted and a log line naming the config key, random still works;
// the right value in both syntaxes works.
func TestWrongOwnerAuth(t *testing.T) {
	e := newEnv(t)
	_ = e.p.Close()
	if _, err := (tpm2.HierarchyChangeAuth{
		AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
		NewAuth:    tpm2.TPM2BAuth{Buffer: []byte("owner-secret")},
	}).Execute(e.tpm.direct(t)); err != nil {
		t.Fatal(err)
	}
	e.log.reset()
	wrong := "str:not-it"
	e.cfg.OwnerHierarchyAuth = &wrong
	p := e.open(t)
	e.log.mustFind(t, "cannot derive the TPM storage root key", "owner_hierarchy_auth")
	wantStatus(t, generate(t, p, alice, "k", eccP256Sign), wire.StatusPsaErrorNotPermitted)
	e.log.mustFind(t, "PsaGenerateKey failed", "owner_hierarchy_auth")
	if _, err := random(p, 8); err != nil {
		t.Fatalf("random needs no auth: %v", err)
	}
	for _, right := range []string{"owner-secret", "str:owner-secret", "hex:6f776e65722d736563726574"} {
		right := right
		e.cfg.OwnerHierarchyAuth = &right
		p := e.open(t)
		name := "k-" + strings.ReplaceAll(right, ":", "-")
		if err := generate(t, p, alice, name, eccP256Sign); err != nil {
			t.Fatalf("owner auth %q: %v", right, err)
		}
		signAndCheck(t, p, name)
		_ = p.Close()
	}
	bad := "hex:zz"
	e.cfg.OwnerHierarchyAuth = &bad
	if _, err := e.tryOpen(e.cfg); err == nil || !strings.Contains(err.Error(), "owner_hierarchy_auth") {
		t.Fatalf("bad hex auth: %v", err)
	}
}

// TestSkipIfNoTpm: nothing listens at the configured address.
func TestSkipIfNoTpm(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	e := &env{t: t, kimDir: t.TempDir(), log: &logRecorder{t: t}}
	cfg := Config{Tcti: fmt.Sprintf("swtpm:host=127.0.0.1,port=%d", port), SkipIfNoTpm: true}
	_, err = e.tryOpen(cfg)
	if !errors.Is(err, ErrSkipped) || !errors.Is(err, provider.ErrSkip) {
		t.Fatalf("skip_if_no_tpm: got %v, want ErrSkipped and provider.ErrSkip", err)
	}
	cfg.SkipIfNoTpm = false
	_, err = e.tryOpen(cfg)
	if err == nil || errors.Is(err, ErrSkipped) || !strings.Contains(err.Error(), fmt.Sprint(port)) || !strings.Contains(err.Error(), "skip_if_no_tpm = true") {
		t.Fatalf("without skip: got %v, want an error naming the TPM address and skip_if_no_tpm", err)
	}
	for _, bad := range []string{"tabrmd", "tabrmd:bus_name=x", "libtpms", "nonsense:x", "mssim:path=/x"} {
		cfg.Tcti = bad
		if _, err := e.tryOpen(cfg); err == nil || !strings.Contains(err.Error(), "tcti") {
			t.Fatalf("tcti %q: got %v, want a config error", bad, err)
		}
	}
}

// TestBadKeyEntry: a KIM entry this provider cannot read yields
// DataCorrupt for that key only, and can still be destroyed.
func TestBadKeyEntry(t *testing.T) {
	e := newEnv(t)
	if err := generate(t, e.p, alice, "good", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	if err := e.p.keys.Manager().Insert(kim.OwnerOf(alice), "bad", kim.Entry{
		Provider: wire.ProviderTpm, ProviderName: e.p.info.Name, KeyID: []byte("garbage"), Attributes: eccP256Sign,
	}); err != nil {
		t.Fatal(err)
	}
	_, err := sign(t, e.p, alice, "bad", eccP256Sign.Alg, make([]byte, 32))
	wantStatus(t, err, wire.StatusPsaErrorDataCorrupt)
	signAndCheck(t, e.p, "good")
	// A blob whose private part was damaged: the TPM refuses to load it.
	good, _ := e.p.keys.Manager().Get(kim.OwnerOf(alice), "good")
	b, _ := decodeBlob(good.KeyID)
	priv := append([]byte(nil), b.private...)
	priv[len(priv)-3] ^= 0xff
	damaged := (&keyBlob{kind: b.kind, auth: b.auth, public: b.public, private: priv, parent: b.parent}).encode()
	_ = e.p.keys.Manager().Insert(kim.OwnerOf(alice), "damaged", kim.Entry{Provider: wire.ProviderTpm, ProviderName: e.p.info.Name, KeyID: damaged, Attributes: eccP256Sign})
	_, err = sign(t, e.p, alice, "damaged", eccP256Sign.Alg, make([]byte, 32))
	wantStatus(t, err, wire.StatusPsaErrorDataCorrupt)
	// A wrong auth value.
	wrongAuth := (&keyBlob{kind: b.kind, auth: []byte("wrong"), public: b.public, private: b.private, parent: b.parent}).encode()
	_ = e.p.keys.Manager().Insert(kim.OwnerOf(alice), "wrong-auth", kim.Entry{Provider: wire.ProviderTpm, ProviderName: e.p.info.Name, KeyID: wrongAuth, Attributes: eccP256Sign})
	e.log.reset()
	_, err = sign(t, e.p, alice, "wrong-auth", eccP256Sign.Alg, make([]byte, 32))
	wantStatus(t, err, wire.StatusPsaErrorNotPermitted)
	e.log.mustFind(t, "PsaSignHash failed", "authorization")
	signAndCheck(t, e.p, "good")
	for _, k := range []string{"bad", "damaged", "wrong-auth"} {
		if err := destroy(e.p, alice, k); err != nil {
			t.Fatalf("destroy %s: %v", k, err)
		}
	}
	if n, want := e.tpm.transientCount(t), e.p.dev.loadedCount(); n != want {
		t.Fatalf("TPM holds %d transient objects, the provider accounts for %d", n, want)
	}
}

// TestConcurrentUse: many goroutines share the provider (and so the TPM
// channel and the handle cache); every signature must verify with the
// right key. Run with -race.
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	const nkeys = 5
	pubs := make([][]byte, nkeys)
	for i := 0; i < nkeys; i++ {
		name := fmt.Sprint("c", i)
		if err := generate(t, e.p, alice, name, eccP256Sign); err != nil {
			t.Fatal(err)
		}
		pubs[i], _ = exportPub(e.p, alice, name)
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func(g int) {
			for i := 0; i < 15; i++ {
				k := (g + i) % nkeys
				d := digest(psa.AlgSHA256, fmt.Sprint(g, i))
				sig, err := signNoT(e.p, fmt.Sprint("c", k), d)
				if err == nil {
					err = goVerify(eccP256Sign.Type, pubs[k], eccP256Sign.Alg, psa.AlgSHA256, d, sig)
				}
				if err == nil && i%5 == 0 {
					_, err = random(e.p, 100)
				}
				if err != nil {
					errs <- fmt.Errorf("goroutine %d op %d key %d: %w", g, i, k, err)
					return
				}
			}
			errs <- nil
		}(g)
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n, want := e.tpm.transientCount(t), e.p.dev.loadedCount(); n != want || n > e.p.dev.budget() {
		t.Fatalf("TPM holds %d transient objects, provider accounts for %d (budget %d)", n, want, e.p.dev.budget())
	}
}

// signNoT signs with a P-256 key from a goroutine other than the test's.
func signNoT(p *Provider, name string, d []byte) ([]byte, error) {
	alg, err := psa.SignToProto(eccP256Sign.Alg)
	if err != nil {
		return nil, err
	}
	res, err := call(p, alice, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: name, Alg: alg, Hash: d})
	if err != nil {
		return nil, err
	}
	return res.(*pb.SignHashResult).GetSignature(), nil
}
