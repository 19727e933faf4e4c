package software

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parsec-go/parsec/internal/syncbuf"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// pattern is recognisable key material.
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed ^ byte(i*7+1)
	}
	return b
}

var aesGCM = psa.Attributes{Type: psa.KeyTypeAES, Bits: 256, Usage: uCrypt | uExport, Alg: psa.AlgGCM}

// writeAtEnd writes b after the log's last whole record (into the zeros
// written ahead), as an append cut short by a crash leaves it.
func (e *env) writeAtEnd(b []byte) {
	e.t.Helper()
	lp := filepath.Join(e.storeDir(), keyLogName)
	st, _, err := readKeyLog(e.storeDir())
	if err != nil {
		e.t.Fatal(err)
	}
	f, err := os.OpenFile(lp, os.O_WRONLY, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, st.good); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) logBytes() []byte {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.storeDir(), keyLogName))
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func TestDestroyZeroesMaterial(t *testing.T) {
	e := newEnv(t)
	secret, kept := pattern(1, 32), pattern(2, 32)
	e.importKey(alice, "secret", aesGCM, secret)
	e.importKey(alice, "kept", aesGCM, kept)
	if !bytes.Contains(e.logBytes(), secret) {
		t.Fatal("material not in the log")
	}
	e.must(alice, &pb.DestroyKeyRequest{KeyName: "secret"})
	if b := e.logBytes(); bytes.Contains(b, secret) || !bytes.Contains(b, kept) {
		t.Error("destroyed material still in the log, or kept material lost")
	}
	e.reopen()
	if !bytes.Equal(e.export(alice, "kept"), kept) {
		t.Error("kept key changed")
	}
	e.expect(wire.StatusPsaErrorDoesNotExist, alice, &pb.ExportKeyRequest{KeyName: "secret"})
}

// A crash during an append leaves a torn last record: cut off (kept
// aside), and the store goes on after the last whole record.
func TestTornTail(t *testing.T) {
	e := newEnv(t)
	e.importKey(alice, "a", aesGCM, pattern(3, 32))
	e.p.Close()
	lp := filepath.Join(e.storeDir(), keyLogName)
	torn := appendKeyRec(nil, kindPut, 99, encodeRecord(aesGCM, pattern(4, 32)))
	for _, cut := range []int{5, keyRecHeaderSize + 3, len(torn) - 1} {
		e.writeAtEnd(torn[:cut])
		e.reopen()
		if !bytes.Equal(e.export(alice, "a"), pattern(3, 32)) {
			t.Fatalf("cut %d: key changed", cut)
		}
		name := fmt.Sprintf("k%d", cut)
		e.importKey(alice, name, aesGCM, pattern(5, 32))
		e.reopen()
		if !bytes.Equal(e.export(alice, name), pattern(5, 32)) {
			t.Fatalf("cut %d: key written after the torn tail lost", cut)
		}
		e.p.Close()
	}
	sides, _ := filepath.Glob(lp + ".damaged-*")
	if len(sides) == 0 {
		t.Error("torn tail not kept aside")
	}
}

// A crash after a destroy record was durable but before the zeros were:
// the next start zeroes the material. An orphaned record (a creation cut
// before its mapping) is destroyed and zeroed too.
func TestLeftoverMaterialZeroedAtStart(t *testing.T) {
	e := newEnv(t)
	e.importKey(alice, "half-destroyed", aesGCM, pattern(6, 32))
	e.importKey(alice, "kept", aesGCM, pattern(7, 32))
	if _, err := e.p.store.create(encodeRecord(aesGCM, pattern(8, 32))); err != nil {
		t.Fatal(err)
	}
	e.p.Close()
	if err := e.kim.Remove(kimOwner(alice), "half-destroyed"); err != nil {
		t.Fatal(err)
	}
	e.writeAtEnd(appendKeyRec(nil, kindDestroy, 1, nil))
	if inv, err := Inspect(e.storeDir()); err != nil || inv.Unzeroed != 1 || len(inv.Keys) != 2 {
		t.Fatalf("before restart: %+v %v", inv, err)
	}
	var logged syncbuf.Buffer
	e.log = slog.New(slog.NewTextHandler(&logged, nil))
	e.reopen()
	b := e.logBytes()
	if bytes.Contains(b, pattern(6, 32)) || bytes.Contains(b, pattern(8, 32)) || !bytes.Contains(b, pattern(7, 32)) {
		t.Error("leftover material not zeroed, or kept material lost")
	}
	if !strings.Contains(logged.String(), "orphaned_material_removed=1") {
		t.Errorf("orphan not reported: %s", logged.String())
	}
	if inv, err := Inspect(e.storeDir()); err != nil || inv.Unzeroed != 0 || fmt.Sprint(inv.Keys) != "[2]" {
		t.Errorf("after restart: %+v %v", inv, err)
	}
	if !bytes.Equal(e.export(alice, "kept"), pattern(7, 32)) {
		t.Error("kept key changed")
	}
}

// When destroyed records outweigh live ones the log is rewritten at start.
func TestCompactionAtStart(t *testing.T) {
	e := newEnv(t)
	raw := psa.Attributes{Type: psa.KeyTypeRawData, Bits: 8 * 4096, Usage: uExport}
	for i := 0; i < 80; i++ {
		e.importKey(alice, fmt.Sprint(i), raw, pattern(byte(i), 4096))
	}
	// 50 of 80 destroyed: more dead than live (compacted at start), not
	// twice as much (the writer's own compaction leaves it).
	for i := 0; i < 50; i++ {
		e.must(alice, &pb.DestroyKeyRequest{KeyName: fmt.Sprint(i)})
	}
	before := len(e.logBytes())
	e.reopen()
	after := len(e.logBytes())
	if after*2 > before {
		t.Errorf("log of %d bytes became %d", before, after)
	}
	for i := 50; i < 80; i++ {
		if !bytes.Equal(e.export(alice, fmt.Sprint(i)), pattern(byte(i), 4096)) {
			t.Fatalf("key %d changed by the compaction", i)
		}
	}
	e.importKey(alice, "after", raw, pattern(9, 4096))
	e.reopen()
	if !bytes.Equal(e.export(alice, "after"), pattern(9, 4096)) {
		t.Error("key written after the compaction lost")
	}
}

// A store whose keys come and go is compacted by the writer while the
// service runs, under readers: every read during and after it returns the
// key's own material, and the log shrinks without a restart.
func TestCompactionWhileServing(t *testing.T) {
	e := newEnv(t)
	var logged syncbuf.Buffer
	e.log = slog.New(slog.NewTextHandler(&logged, nil))
	e.reopen()
	e.p.store.compactMin = 64 << 10
	raw := psa.Attributes{Type: psa.KeyTypeRawData, Bits: 8 * 2048, Usage: uExport}
	const keys, kept = 120, 12
	for i := 0; i < keys; i++ {
		e.importKey(alice, fmt.Sprint(i), raw, pattern(byte(i), 2048))
	}
	before := len(e.logBytes())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads atomic.Int64
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				i := keys - kept + (n+r)%kept
				res, err := e.exec(alice, &pb.ExportKeyRequest{KeyName: fmt.Sprint(i)})
				if err != nil {
					t.Errorf("reading key %d during compaction: %v", i, err)
					return
				}
				if !bytes.Equal(res.(*pb.ExportKeyResult).GetData(), pattern(byte(i), 2048)) {
					t.Errorf("key %d read other material during compaction", i)
					return
				}
				reads.Add(1)
			}
		}(r)
	}
	for i := 0; i < keys-kept; i++ {
		e.must(alice, &pb.DestroyKeyRequest{KeyName: fmt.Sprint(i)})
	}
	close(stop)
	wg.Wait()
	after := len(e.logBytes())
	if after*4 > before {
		t.Errorf("log of %d bytes is %d after destroying %d of %d keys: not compacted", before, after, keys-kept, keys)
	}
	if n := strings.Count(logged.String(), "compacted the log"); n == 0 {
		t.Errorf("no compaction logged: %s", logged.String())
	}
	if reads.Load() == 0 {
		t.Error("no read ran during the destructions")
	}
	for i := keys - kept; i < keys; i++ {
		if !bytes.Equal(e.export(alice, fmt.Sprint(i)), pattern(byte(i), 2048)) {
			t.Fatalf("key %d changed by the compaction", i)
		}
	}
	e.expect(wire.StatusPsaErrorDoesNotExist, alice, &pb.ExportKeyRequest{KeyName: "0"})
	// New keys go into the compacted log, and all of it survives a restart.
	e.importKey(alice, "new", raw, pattern(200, 2048))
	e.reopen()
	for i := keys - kept; i < keys; i++ {
		if !bytes.Equal(e.export(alice, fmt.Sprint(i)), pattern(byte(i), 2048)) {
			t.Fatalf("key %d lost after the restart", i)
		}
	}
	if !bytes.Equal(e.export(alice, "new"), pattern(200, 2048)) {
		t.Error("key created after the compaction lost")
	}
	for i := 0; i < keys-kept; i++ {
		if bytes.Contains(e.logBytes(), pattern(byte(i), 2048)) {
			t.Fatalf("destroyed key %d's material is in the log", i)
		}
	}
}
