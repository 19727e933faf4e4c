package software

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/parsec-go/parsec/internal/syncbuf"
	"github.com/parsec-go/parsec/service/provider"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func TestPersistenceAcrossRestart(t *testing.T) {
	e := newEnv(t)
	d := sum256([]byte("survives a restart"))
	e.generate(alice, "ecc", ecc(256, uSign, psa.DeterministicECDSA(psa.AlgSHA256)))
	e.importKey(alice, "rsa", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Usage: uSign, Alg: psa.RSAPKCS1v15Sign(psa.AlgSHA256)}, x509PKCS1(testRSAKey(t, 1024)))
	e.generate(alice, "aes", psa.Attributes{Type: psa.KeyTypeAES, Bits: 256, Usage: uCrypt | uExport, Alg: psa.AlgGCM})
	e.generate(bob, "ecc", ecc(384, uSign, psa.ECDSA(psa.AlgSHA384)))
	sig := e.sign(alice, "ecc", psa.DeterministicECDSA(psa.AlgSHA256), d)
	rsaSig := e.sign(alice, "rsa", psa.RSAPKCS1v15Sign(psa.AlgSHA256), d)
	pub := e.exportPublic(alice, "ecc")
	aesKey := e.export(alice, "aes")
	nonce := make([]byte, 12)
	ct := e.aeadSeal("aes", psa.AlgGCM, nonce, nil, []byte("kept"))

	e.reopen()
	if !bytes.Equal(e.exportPublic(alice, "ecc"), pub) {
		t.Error("public key changed across the restart")
	}
	if !bytes.Equal(e.sign(alice, "ecc", psa.DeterministicECDSA(psa.AlgSHA256), d), sig) {
		t.Error("deterministic signature changed: the private key changed")
	}
	if s := e.verifyStatus(alice, "rsa", psa.RSAPKCS1v15Sign(psa.AlgSHA256), d, rsaSig); s != wire.StatusSuccess {
		t.Errorf("RSA signature after restart: %v", s)
	}
	if !bytes.Equal(e.export(alice, "aes"), aesKey) {
		t.Error("AES key changed")
	}
	if pt, st := e.aeadOpen("aes", psa.AlgGCM, nonce, nil, ct); st != wire.StatusSuccess || string(pt) != "kept" {
		t.Errorf("AES-GCM after restart: %v", st)
	}
	// Policies survive too.
	e.expect(wire.StatusPsaErrorNotPermitted, alice, &pb.ExportKeyRequest{KeyName: "ecc"})
	e.expect(wire.StatusPsaErrorDoesNotExist, bob, &pb.ExportPublicKeyRequest{KeyName: "aes"})
	// Ids keep growing; nothing is reused.
	e.generate(alice, "new", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	files := e.material()
	sort.Strings(files)
	if want := []string{"00000001", "00000002", "00000003", "00000004", "00000005"}; fmt.Sprint(files) != fmt.Sprint(want) {
		t.Errorf("key files %v, want %v", files, want)
	}
}

// faultyKIM injects storage failures into a real key info manager.
type faultyKIM struct {
	kim.Manager
	failInsert, failRemove bool
}

func (f *faultyKIM) Insert(o kim.Owner, name string, e kim.Entry) error {
	if f.failInsert {
		return wire.Errorf(wire.StatusKeyInfoManagerError, "injected insert failure")
	}
	return f.Manager.Insert(o, name, e)
}

func (f *faultyKIM) Remove(o kim.Owner, name string) error {
	if f.failRemove {
		return wire.Errorf(wire.StatusKeyInfoManagerError, "injected remove failure")
	}
	return f.Manager.Remove(o, name)
}

func TestMappingFailureRemovesMaterial(t *testing.T) {
	e := newEnv(t)
	f := &faultyKIM{Manager: e.kim, failInsert: true}
	e.p = e.open(f)
	a := ecc(256, uSign, psa.ECDSA(psa.AlgSHA256))
	e.expect(wire.StatusKeyInfoManagerError, alice, &pb.GenerateKeyRequest{KeyName: "k", Attributes: attrs(t, a)})
	e.expect(wire.StatusKeyInfoManagerError, alice, &pb.ImportKeyRequest{KeyName: "k", Attributes: attrs(t, psa.Attributes{Type: psa.KeyTypeAES, Usage: uCrypt, Alg: psa.AlgGCM}), Data: make([]byte, 16)})
	if files := e.material(); len(files) != 0 {
		t.Errorf("material left behind a failed mapping: %v", files)
	}
	e.expect(wire.StatusPsaErrorDoesNotExist, alice, &pb.ExportPublicKeyRequest{KeyName: "k"})
	f.failInsert = false
	e.generate(alice, "k", a)
	e.expect(wire.StatusSuccess, alice, &pb.ExportPublicKeyRequest{KeyName: "k"})
}

func TestDestroyMappingFailureKeepsKey(t *testing.T) {
	e := newEnv(t)
	f := &faultyKIM{Manager: e.kim}
	e.p = e.open(f)
	e.generate(alice, "k", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	f.failRemove = true
	e.expect(wire.StatusKeyInfoManagerError, alice, &pb.DestroyKeyRequest{KeyName: "k"})
	if len(e.material()) != 1 {
		t.Error("material deleted although the mapping stayed")
	}
	e.sign(alice, "k", psa.ECDSA(psa.AlgSHA256), sum256(nil)) // still usable
	f.failRemove = false
	e.must(alice, &pb.DestroyKeyRequest{KeyName: "k"})
	if len(e.material()) != 0 {
		t.Error("material left after destroy")
	}
}

// What a crash can leave behind: material without a mapping (between the
// two steps of a creation or a destruction) and temporary files.
func TestCrashLeftovers(t *testing.T) {
	e := newEnv(t)
	e.generate(alice, "kept", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	e.generate(alice, "half-destroyed", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	// Destruction cut after the mapping went.
	if err := e.kim.Remove(kimOwner(alice), "half-destroyed"); err != nil {
		t.Fatal(err)
	}
	// Creation cut after the material was written.
	if _, err := e.p.store.create(encodeRecord(psa.Attributes{Type: psa.KeyTypeAES, Bits: 128}, make([]byte, 16))); err != nil {
		t.Fatal(err)
	}
	// Writes cut before their link.
	temps := []string{filepath.Join(e.storeDir(), ".tmp-123"), filepath.Join(e.storeDir(), ".tmp-456")}
	for _, p := range temps {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var logged syncbuf.Buffer
	e.log = slog.New(slog.NewTextHandler(&logged, nil))
	e.reopen()
	for _, p := range temps {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("temporary file %s survived the restart", p)
		}
	}
	e.sign(alice, "kept", psa.ECDSA(psa.AlgSHA256), sum256(nil))
	e.expect(wire.StatusPsaErrorDoesNotExist, alice, &pb.ExportPublicKeyRequest{KeyName: "half-destroyed"})
	// Orphaned material (a secret that should no longer exist) is
	// destroyed at start, and the counts are logged (issue 15, item 3);
	// ids are not handed out again.
	if !strings.Contains(logged.String(), "orphaned_material_removed=2 temporary_files_removed=2") {
		t.Errorf("reconcile counts not logged: %s", logged.String())
	}
	e.generate(alice, "next", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	files := e.material()
	sort.Strings(files)
	if want := "[00000001 00000004]"; fmt.Sprint(files) != want {
		t.Errorf("key files %v, want %s", files, want)
	}
}

// A renamed provider still owns its keys, and a store that another key
// info manager's mappings may reference is never reconciled against ours.
func TestReconcileKeepsWhatOthersMayReference(t *testing.T) {
	e := newEnv(t)
	e.generate(alice, "k", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	e.p.Close()
	p, err := open(provider.Deps{Name: "renamed", KIM: e.kim, Log: quietLog(), Decode: func(v any) error {
		v.(*Config).StorePath = e.storeDir()
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if files := e.material(); len(files) != 1 {
		t.Fatalf("a renamed provider's material was removed: %v", files)
	}
	other, err := kim.OpenOnDisk(filepath.Join(e.root, "other-kim"), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	e.open(other)
	if files := e.material(); len(files) != 1 {
		t.Fatalf("material of another key info manager's mappings was removed: %v", files)
	}
}

func TestDanglingMappingAndForeignEntries(t *testing.T) {
	e := newEnv(t)
	e.generate(alice, "k", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	// Material lost (destroyed behind the mapping's back): the key is
	// reported missing, and destroy still clears the name.
	if err := e.p.store.remove(1); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	e.expect(wire.StatusPsaErrorDoesNotExist, alice, &pb.ExportPublicKeyRequest{KeyName: "k"})
	e.must(alice, &pb.DestroyKeyRequest{KeyName: "k"})
	if _, err := e.kim.Get(kimOwner(alice), "k"); wire.StatusOf(err, 0) != wire.StatusPsaErrorDoesNotExist {
		t.Errorf("mapping survived destroy: %v", err)
	}
	// A mapping whose id is still recorded is not reused even without
	// material.
	if err := e.kim.Insert(kimOwner(alice), "ghost", kim.Entry{Provider: wire.ProviderMbedCrypto, ProviderName: testProviderName,
		KeyID: encodeKeyID(41), Attributes: psa.Attributes{Type: psa.KeyTypeAES, Bits: 128}}); err != nil {
		t.Fatal(err)
	}
	// Another provider's key with the same owner: not ours to use or
	// destroy.
	if err := e.kim.Insert(kimOwner(alice), "tpm-key", kim.Entry{Provider: wire.ProviderTpm, ProviderName: "tpm-provider",
		KeyID: encodeKeyID(1), Attributes: psa.Attributes{Type: psa.KeyTypeAES, Bits: 128}}); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	e.generate(alice, "after-ghost", psa.Attributes{Type: psa.KeyTypeAES, Bits: 128, Usage: uCrypt, Alg: psa.AlgGCM})
	if files := e.material(); len(files) != 1 || files[0] != "0000002a" {
		t.Errorf("key material %v, want [0000002a]", files)
	}
	e.expect(wire.StatusPsaErrorDoesNotExist, alice, &pb.ExportKeyRequest{KeyName: "tpm-key"})
	e.expect(wire.StatusPsaErrorDoesNotExist, alice, &pb.DestroyKeyRequest{KeyName: "tpm-key"})
	if _, err := e.kim.Get(kimOwner(alice), "tpm-key"); err != nil {
		t.Errorf("another provider's mapping was touched: %v", err)
	}
	// Its name is taken all the same: names are unique across providers.
	e.expect(wire.StatusPsaErrorAlreadyExists, alice, &pb.GenerateKeyRequest{KeyName: "tpm-key",
		Attributes: attrs(t, psa.Attributes{Type: psa.KeyTypeAES, Bits: 128, Usage: uCrypt, Alg: psa.AlgGCM})})
}

// adoptV1 stores a key as a key file of the first format (as the previous
// version and the takeover write them) under id, maps it, and reopens.
func (e *env) adoptV1(app auth.Application, name string, id uint32, a psa.Attributes, material []byte) {
	e.t.Helper()
	e.p.Close()
	res, err := Adopt(e.storeDir(), id, a, material)
	if err != nil || res.ID != id {
		e.t.Fatalf("adopt: %+v %v", res, err)
	}
	if err := e.kim.Insert(kimOwner(app), name, kim.Entry{Provider: wire.ProviderMbedCrypto, ProviderName: testProviderName, KeyID: encodeKeyID(id), Attributes: a}); err != nil {
		e.t.Fatal(err)
	}
	e.reopen()
}

func TestCorruptMaterial(t *testing.T) {
	e := newEnv(t)
	e.generate(alice, "k", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	e.p.Close()
	// A bit flipped in the record inside the log.
	lp := filepath.Join(e.storeDir(), keyLogName)
	b, err := os.ReadFile(lp)
	if err != nil {
		t.Fatal(err)
	}
	b[keyLogHeaderSize+keyRecHeaderSize+recordHeaderSize] ^= 1
	if err := os.WriteFile(lp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	e.expect(wire.StatusPsaErrorDataCorrupt, alice, &pb.ExportPublicKeyRequest{KeyName: "k"})
	// Destroy still works on a damaged key.
	e.must(alice, &pb.DestroyKeyRequest{KeyName: "k"})
	// A key file of the first format, damaged.
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := ecc(256, uSign, psa.ECDSA(psa.AlgSHA256))
	e.adoptV1(alice, "v1", 7, a, k.Bytes())
	e.sign(alice, "v1", psa.ECDSA(psa.AlgSHA256), sum256(nil))
	p := filepath.Join(e.storeDir(), "00000007.key")
	if err := os.WriteFile(p, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	e.expect(wire.StatusPsaErrorDataCorrupt, alice, &pb.SignHashRequest{KeyName: "v1", Alg: signAlg(t, psa.ECDSA(psa.AlgSHA256)), Hash: sum256(nil)})
	e.must(alice, &pb.DestroyKeyRequest{KeyName: "v1"})
	if files := e.material(); len(files) != 0 {
		t.Errorf("material left: %v", files)
	}
}

func TestRecordEncoding(t *testing.T) {
	a := psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: uSign | uExport, Alg: psa.RSAPSS(psa.AlgSHA384)}
	material := []byte("pretend DER")
	rec := encodeRecord(a, material)
	got, m, err := decodeRecord(rec)
	if err != nil || got != a || !bytes.Equal(m, material) {
		t.Fatalf("round trip: %+v %q %v", got, m, err)
	}
	for i := range rec {
		bad := bytes.Clone(rec)
		bad[i] ^= 0x80
		if _, _, err := decodeRecord(bad); wire.StatusOf(err, 0) != wire.StatusPsaErrorDataCorrupt {
			t.Fatalf("flipping byte %d: %v", i, err)
		}
	}
	for n := 0; n < len(rec); n++ {
		if _, _, err := decodeRecord(rec[:n]); err == nil {
			t.Fatalf("truncated to %d bytes accepted", n)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	e.generate(alice, "shared", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	d := sum256([]byte("concurrent"))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			name := fmt.Sprintf("k%d", g)
			for i := 0; i < 10; i++ {
				if _, err := e.exec(alice, &pb.GenerateKeyRequest{KeyName: name, Attributes: attrs(t, ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))}); err != nil {
					errs <- err
					return
				}
				for _, k := range []string{name, "shared"} {
					res, err := e.exec(alice, &pb.SignHashRequest{KeyName: k, Alg: signAlg(t, psa.ECDSA(psa.AlgSHA256)), Hash: d})
					if err != nil {
						errs <- err
						return
					}
					sig := res.(*pb.SignHashResult).GetSignature()
					if _, err := e.exec(alice, &pb.VerifyHashRequest{KeyName: k, Alg: signAlg(t, psa.ECDSA(psa.AlgSHA256)), Hash: d, Signature: sig}); err != nil {
						errs <- err
						return
					}
				}
				if _, err := e.exec(alice, &pb.DestroyKeyRequest{KeyName: name}); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	// Racing creations of one name: exactly one wins.
	wins := make(chan bool, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.exec(bob, &pb.GenerateKeyRequest{KeyName: "race", Attributes: attrs(t, psa.Attributes{Type: psa.KeyTypeAES, Bits: 128, Usage: uCrypt, Alg: psa.AlgGCM})})
			switch wire.StatusOf(err, wire.StatusPsaErrorGenericError) {
			case wire.StatusSuccess:
				wins <- true
			case wire.StatusPsaErrorAlreadyExists:
				wins <- false
			default:
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(wins)
	for err := range errs {
		t.Error(err)
	}
	n := 0
	for w := range wins {
		if w {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d concurrent creations of one name succeeded", n)
	}
	// Only the shared key and the race winner remain, on disk and mapped.
	if files := e.material(); len(files) != 2 {
		t.Errorf("key files after the churn: %v", files)
	}
}

// A second instance on one store (a second service, a takeover run, two
// providers configured with one store_path) is refused while the first
// has it open: the log has one writer.
func TestSecondInstanceRefused(t *testing.T) {
	e := newEnv(t)
	_, err := open(provider.Deps{Name: "second", KIM: e.kim, Log: quietLog(), Decode: func(v any) error {
		v.(*Config).StorePath = e.storeDir()
		return nil
	}})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second instance: %v", err)
	}
	if _, err := Adopt(e.storeDir(), 5, psa.Attributes{Type: psa.KeyTypeAES, Bits: 128}, make([]byte, 16)); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("adopt into an open store: %v", err)
	}
	e.generate(alice, "k", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
}

// Key files are checked when opened (statedir's rules), not all at start:
// a symlink or a file others may write is refused.
func TestKeyFileCheckedOnOpen(t *testing.T) {
	e := newEnv(t)
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e.adoptV1(alice, "k", 1, ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)), k.Bytes())
	e.sign(alice, "k", psa.ECDSA(psa.AlgSHA256), sum256(nil))
	p := filepath.Join(e.storeDir(), "00000001.key")
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	e.reopen() // empties the cache
	e.expect(wire.StatusPsaErrorStorageFailure, alice, &pb.ExportPublicKeyRequest{KeyName: "k"})
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p, p+".real"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(p+".real", p); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	e.expect(wire.StatusPsaErrorStorageFailure, alice, &pb.ExportPublicKeyRequest{KeyName: "k"})
}
