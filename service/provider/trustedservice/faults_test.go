package trustedservice

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parsec-go/parsec/internal/tee"
	"github.com/parsec-go/parsec/internal/ts"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func genECC(t *testing.T, p *Provider, name string) {
	t.Helper()
	do[*pb.GenerateKeyResult](t, p, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: name, Attributes: attrs(t, eccSign)})
}

func signErr(t *testing.T, p *Provider, name string) error {
	return exec1(t, p, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: name, Alg: signAlg(t, eccSign.Alg), Hash: make([]byte, 32)})
}

// With RAM storage (the reference deployments), restarting the secure
// world loses every key: a normal state answered with DoesNotExist, and
// the mappings are removed, both for the key used and (by the check after
// reconnecting) for the others.
func TestLostKeys(t *testing.T) {
	// packed-c finds lost keys when it reconnects (GET_KEY_ATTRIBUTES);
	// protobuf cannot ask and finds them when they are used.
	for _, enc := range []string{"packed-c", "protobuf"} {
		t.Run(enc, func(t *testing.T) {
			dir := t.TempDir()
			sock := filepath.Join(dir, "s")
			emu := startEmulator(t, sock)
			k := newKIM(t, filepath.Join(dir, "kim"))
			p, log := newProvider(t, Config{EmulatorSocket: sock, Encoding: enc}, k)
			genECC(t, p, "a")
			genECC(t, p, "b")
			if err := signErr(t, p, "a"); err != nil {
				t.Fatal(err)
			}
			emu.kill()
			emu.start()
			err := signErr(t, p, "a")
			if statusOf(err) != wire.StatusPsaErrorDoesNotExist {
				t.Fatalf("lost key: %v, want PsaErrorDoesNotExist", err)
			}
			if _, err := k.Get(kim.OwnerOf(alice), "a"); wire.StatusOf(err, 0) != wire.StatusPsaErrorDoesNotExist {
				t.Errorf("mapping of the lost key still there: %v", err)
			}
			_, err = k.Get(kim.OwnerOf(alice), "b")
			if gone := wire.StatusOf(err, 0) == wire.StatusPsaErrorDoesNotExist; gone != (enc == "packed-c") {
				t.Errorf("mapping of the unused lost key: %v", err)
			}
			if enc == "protobuf" {
				err := exec1(t, p, wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: "b"})
				if statusOf(err) != wire.StatusPsaErrorDoesNotExist {
					t.Errorf("destroying a lost key: %v", err)
				}
				if _, err := k.Get(kim.OwnerOf(alice), "b"); wire.StatusOf(err, 0) != wire.StatusPsaErrorDoesNotExist {
					t.Errorf("mapping still there after destroy: %v", err)
				}
			}
			if !strings.Contains(log.String(), "no longer exists in the secure world") {
				t.Errorf("no log line about the lost key:\n%s", log.String())
			}
			// The name is free again and works.
			genECC(t, p, "a")
			if err := signErr(t, p, "a"); err != nil {
				t.Errorf("new key after the loss: %v", err)
			}
		})
	}
}

// A key the mapping store does not know but the partition holds (a crash
// between creating and recording) makes the id be skipped, not fail.
func TestOrphanIDSkipped(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	startEmulator(t, sock, "-state", filepath.Join(dir, "sw"))
	c, err := tee.DialEmulator(ctxT(t), sock)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := ts.Dial(ctxT(t), tee.EmuOpener{Conn: c}, ts.ServiceCrypto, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.NewCrypto(cl).GenerateKey(ctxT(t), ts.PersistentKey(eccSign, 1)); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	c.Close()
	k := newKIM(t, filepath.Join(dir, "kim"))
	p, log := newProvider(t, Config{EmulatorSocket: sock}, k)
	genECC(t, p, "k")
	e, err := k.Get(kim.OwnerOf(alice), "k")
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := decodeKeyID(e.KeyID); id != 2 {
		t.Errorf("key id %d, want 2 (1 is taken in the secure world)", id)
	}
	if !strings.Contains(log.String(), "skipping the id") {
		t.Error("the skipped id was not logged")
	}
	// A restarted provider continues after the largest recorded id.
	p.Close()
	p2, _ := newProvider(t, Config{EmulatorSocket: sock}, k)
	genECC(t, p2, "k2")
	e2, _ := k.Get(kim.OwnerOf(alice), "k2")
	if id, _ := decodeKeyID(e2.KeyID); id != 3 {
		t.Errorf("after restart: key id %d, want 3", id)
	}
}

// Faults of the secure side end as a Parsec status and a log line naming
// the cause, within the call timeout, and the provider recovers.
func TestSecureWorldFaults(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	state := filepath.Join(dir, "sw")
	emu := startEmulator(t, sock, "-state", state,
		"-fault", "crypto/0x010c:garbage*1", // GENERATE_RANDOM: malformed response
		"-fault", "crypto/0x0106:badlen*1", // EXPORT_PUBLIC_KEY: length beyond the buffer
		"-fault", "crypto/0x0201:rpc=-2*1", // HASH_SETUP: unknown opcode at the RPC level
		"-fault", "crypto/0x0102:psa=-146*1", // DESTROY_KEY: storage failure
		"-fault", "crypto/0x0108:hang*1", // SIGN_HASH: never answers
	)
	k := newKIM(t, filepath.Join(dir, "kim"))
	p, log := newProvider(t, Config{EmulatorSocket: sock, CallTimeoutSecs: 2}, k)
	genECC(t, p, "k")

	check := func(what string, err error, want wire.Status, logWant string) {
		t.Helper()
		if statusOf(err) != want {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
		if logWant != "" && !strings.Contains(log.String(), logWant) {
			t.Errorf("%s: the log does not name the cause (%q):\n%s", what, logWant, log.String())
		}
	}
	err := exec1(t, p, wire.OpPsaGenerateRandom, &pb.GenerateRandomRequest{Size: 8})
	check("garbage", err, wire.StatusPsaErrorCommunicationFailure, "malformed packed-c message")
	err = exec1(t, p, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: "k"})
	check("bad length", err, wire.StatusPsaErrorCommunicationFailure, "")
	err = exec1(t, p, wire.OpPsaHashCompute, &pb.HashComputeRequest{Alg: pb.Algorithm_SHA_256, Input: []byte("x")})
	check("unknown opcode", err, wire.StatusPsaErrorCommunicationFailure, "invalid argument")
	err = exec1(t, p, wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: "k"})
	check("service status", err, wire.StatusPsaErrorStorageFailure, "")
	if _, err := k.Get(kim.OwnerOf(alice), "k"); err != nil {
		t.Errorf("a failed destroy removed the mapping: %v", err)
	}
	start := time.Now()
	err = signErr(t, p, "k")
	check("hang", err, wire.StatusPsaErrorCommunicationFailure, "did not answer")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a hung call took %v with a 2s timeout", d)
	}
	// The next call reconnects.
	time.Sleep(1100 * time.Millisecond)
	if err := signErr(t, p, "k"); err != nil {
		t.Errorf("after the timeout: %v", err)
	}

	// Killed mid-call: the call ends at once, not at the timeout.
	emu.kill()
	emu.args = []string{"-state", state, "-fault", "crypto/0x0108:hang"}
	emu.start()
	time.Sleep(1100 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- signErr(t, p, "k") }()
	time.Sleep(300 * time.Millisecond)
	start = time.Now()
	emu.kill()
	select {
	case err := <-done:
		check("killed mid-call", err, wire.StatusPsaErrorCommunicationFailure, "closed the connection")
		if d := time.Since(start); d > time.Second {
			t.Errorf("noticed the dead emulator after %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("call hung after the emulator died")
	}
	// Missing while down, back when it returns (the state dir kept the key).
	time.Sleep(1100 * time.Millisecond)
	err = signErr(t, p, "k")
	check("emulator down", err, wire.StatusPsaErrorCommunicationFailure, "not reachable")
	emu.args = []string{"-state", state}
	emu.start()
	time.Sleep(1100 * time.Millisecond)
	if err := signErr(t, p, "k"); err != nil {
		t.Errorf("after the emulator came back: %v", err)
	}

	// The emulator exiting by itself mid-call.
	emu.kill()
	emu.args = []string{"-state", state, "-fault", "crypto/0x010c:exit"}
	emu.start()
	time.Sleep(1100 * time.Millisecond)
	err = exec1(t, p, wire.OpPsaGenerateRandom, &pb.GenerateRandomRequest{Size: 8})
	check("emulator exited", err, wire.StatusPsaErrorCommunicationFailure, "")
}

func TestDeviceMissing(t *testing.T) {
	dir := t.TempDir()
	k := newKIM(t, filepath.Join(dir, "kim"))
	// A missing secure world stops the start, as a missing TPM does, and
	// the error names skip_if_no_tee (issue 15, item 12).
	for _, c := range []Config{
		{EmulatorSocket: filepath.Join(dir, "nothing.sock")},
		{EmulatorSocket: "serial:" + filepath.Join(dir, "no-port")},
		{TEEDevice: filepath.Join(dir, "tee9")},
	} {
		_, err := New(depsFor(k, c))
		if err == nil || errors.Is(err, provider.ErrSkip) || !strings.Contains(err.Error(), "not reachable") || !strings.Contains(err.Error(), "skip_if_no_tee = true") {
			t.Errorf("%+v: New = %v, want a start-up error naming skip_if_no_tee", c, err)
		}
		// The key namespace is untouched: nothing was created.
		if all, _ := k.All(); len(all) != 0 {
			t.Errorf("mappings after failures: %v", all)
		}
		c.SkipIfNoTEE = true
		_, err = New(depsFor(k, c))
		if !errors.Is(err, provider.ErrSkip) {
			t.Errorf("skip_if_no_tee: %v", err)
		}
	}
}
