package software

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/parsec-go/parsec/internal/wal"
	"github.com/parsec-go/parsec/wire"
)

// Key material log, format version 2 (little-endian), <store>/keys-v2.log:
//
//	header: magic "PGOKEYLG" | version u32 | 4 zero bytes
//	record: payload length u32 | kind u8 | 3 zero bytes | key id u32 |
//	        CRC-32C of the 12 bytes before it u32 | payload
//
// A put's payload is the key's v1 record (encodeRecord: attributes,
// material, SHA-256), a destroy has none. The header's own checksum (not
// the payload's) delimits records, because destroying a key zeroes its
// put's payload in place: a zeroed payload (first byte 0; a record starts
// with "PGKM") is a destroyed key, and damage inside a payload is found by
// the record's SHA-256 when the key is read. A header that does not check
// ends the replay: appends are the only writes past the last record, so
// that is a torn tail, which is cut off.
var keyLogMagic = []byte("PGOKEYLG")

const (
	keyLogName       = "keys-v2.log"
	keyLockName      = "keys-v2.lock"
	keyLogVersion    = 2
	keyLogHeaderSize = 16
	keyRecHeaderSize = 16
	// maxKeyPayload is far above any key record; a larger length in a
	// header whose checksum holds is not ours.
	maxKeyPayload = 1 << 24

	kindPut     = 1
	kindDestroy = 2

	// keyLogReserve is written ahead past the log's end (wal.Reserve), so
	// destroy records (16 bytes each; a destroy zeroes in place and needs
	// no more) fit on a full disk.
	keyLogReserve = 32 << 10
	// maxKeyBatch bounds one group commit.
	maxKeyBatch = 1024
	// keyCompactMin keeps small logs from being rewritten at every start.
	keyCompactMin = 256 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func keyLogHeader() []byte {
	b := append([]byte(nil), keyLogMagic...)
	b = binary.LittleEndian.AppendUint32(b, keyLogVersion)
	return append(b, 0, 0, 0, 0)
}

func appendKeyRec(b []byte, kind byte, id uint32, payload []byte) []byte {
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, kind, 0, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, id)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
	return append(b, payload...)
}

// slot is where a live key's record (its payload) lies in the log.
type slot struct {
	off int64
	n   uint32
}

// keyLogState is what a replay finds.
type keyLogState struct {
	index map[uint32]slot
	// unzeroed are payloads of destroyed keys that still hold material: a
	// crash came after the destroy record was durable but before the
	// zeros were.
	unzeroed []slot
	// good is the end of the last whole record.
	good int64
	// liveBytes counts the records of index (headers included).
	liveBytes int64
}

// replayKeyLog reads a whole log.
func replayKeyLog(b []byte) (keyLogState, error) {
	st := keyLogState{index: map[uint32]slot{}}
	if len(b) < keyLogHeaderSize || !bytes.Equal(b[:len(keyLogMagic)], keyLogMagic) {
		return st, errors.New("not a parsec-go key material log")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != keyLogVersion {
		return st, fmt.Errorf("key material log version %d is not supported (this build reads version %d)", v, keyLogVersion)
	}
	off := int64(keyLogHeaderSize)
	end := int64(len(b))
	for end-off >= keyRecHeaderSize {
		h := b[off : off+keyRecHeaderSize]
		if crc32.Checksum(h[:12], castagnoli) != binary.LittleEndian.Uint32(h[12:]) {
			break
		}
		n := int64(binary.LittleEndian.Uint32(h))
		kind, id := h[4], binary.LittleEndian.Uint32(h[8:])
		if n > maxKeyPayload || n > end-off-keyRecHeaderSize || (kind != kindPut && kind != kindDestroy) {
			break
		}
		pay := slot{off: off + keyRecHeaderSize, n: uint32(n)}
		if old, ok := st.index[id]; ok {
			// Replaced or destroyed: its material must be zeros by now.
			delete(st.index, id)
			st.liveBytes -= keyRecHeaderSize + int64(old.n)
			st.unzeroed = append(st.unzeroed, old)
		}
		if kind == kindPut && n > 0 {
			p := b[pay.off : pay.off+n]
			if p[0] != 0 {
				st.index[id] = pay
				st.liveBytes += keyRecHeaderSize + n
			} else if !wal.AllZero(p) {
				// Zeroing cut by a crash: finish it.
				st.unzeroed = append(st.unzeroed, pay)
			}
		}
		off += keyRecHeaderSize + n
	}
	st.good = off
	// A put replaced by a later put of the same id, then destroyed, was
	// zeroed already when it was replaced; only payloads that still hold
	// bytes need zeros.
	kept := st.unzeroed[:0]
	for _, s := range st.unzeroed {
		if !wal.AllZero(b[s.off : s.off+int64(s.n)]) {
			kept = append(kept, s)
		}
	}
	st.unzeroed = kept
	return st, nil
}

// lockKeyStore takes an exclusive flock(2) on the store's lock file: one
// writer of the log at a time, whether another process (a second service,
// a takeover run) or another provider instance in this process (flock
// conflicts between open files, unlike POSIX record locks).
func lockKeyStore(dir string) (*os.File, error) {
	p := filepath.Join(dir, keyLockName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", p, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("key store %s is in use (by a running service, a takeover, or another provider configured with the same store_path)", dir)
		}
		return nil, fmt.Errorf("locking %s: %w", p, err)
	}
	return f, nil
}

// openKeyLog opens (or creates) the log in dir and replays it, cutting a
// torn tail. The caller holds the store's lock.
func openKeyLog(dir string, log *slog.Logger) (*wal.Log, keyLogState, error) {
	p := filepath.Join(dir, keyLogName)
	// A leftover rewrite never replaced the log: garbage.
	os.Remove(p + wal.TempSuffix)
	l, b, err := wal.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		b = keyLogHeader()
		l, err = wal.Create(p, b)
	}
	if err != nil {
		return nil, keyLogState{}, fmt.Errorf("opening %s: %w", p, err)
	}
	l.Reserved = keyLogReserve
	st, err := replayKeyLog(b)
	if err != nil {
		l.Close()
		return nil, st, fmt.Errorf("%s: %w", p, err)
	}
	side, err := l.Resume(b, st.good)
	if side != "" {
		log.Warn("key store: the log ends in a torn or damaged record (a crash during a write?); replay stops before it", "file", p, "offset", st.good, "bytes", int64(len(b))-st.good, "kept_in", side)
	}
	if err != nil {
		l.Close()
		return nil, st, err
	}
	return l, st, nil
}

// readKeyLog replays the log in dir without writing it (none: empty).
func readKeyLog(dir string) (keyLogState, []byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, keyLogName))
	if errors.Is(err, fs.ErrNotExist) {
		return keyLogState{index: map[uint32]slot{}}, nil, nil
	}
	if err != nil {
		return keyLogState{}, nil, err
	}
	st, err := replayKeyLog(b)
	return st, b, err
}

// keyOp is one mutation for the log's writer.
type keyOp struct {
	destroy bool
	id      uint32
	rec     []byte
	done    chan error
}

// commit appends a round's records with one write, zeroes the destroyed
// keys' material in place, and makes both durable with one fdatasync;
// then publishes the new index entries to readers and answers every op.
// Only the writer goroutine runs it.
func (s *store) commit(batch []*keyOp) {
	errs := make([]error, len(batch))
	full := false
	var buf []byte
	var patches []wal.Patch
	var zeros []byte
	puts := map[uint32]slot{}
	gone := map[uint32]bool{}
	plan := func() {
		buf, patches, zeros = s.buf[:0], patches[:0], zeros[:0]
		clear(puts)
		clear(gone)
		for i, x := range batch {
			if x.destroy {
				sl, ok := s.index[x.id]
				if !ok || gone[x.id] {
					continue
				}
				if int(sl.n) > len(zeros) {
					zeros = make([]byte, sl.n)
				}
				patches = append(patches, wal.Patch{Off: sl.off, Data: zeros[:sl.n]})
				buf = appendKeyRec(buf, kindDestroy, x.id, nil)
				gone[x.id] = true
				continue
			}
			if full {
				errs[i] = errFull
				continue
			}
			off := s.wal.Size() + int64(len(buf)) + keyRecHeaderSize
			buf = appendKeyRec(buf, kindPut, x.id, x.rec)
			puts[x.id] = slot{off: off, n: uint32(len(x.rec))}
		}
	}
	plan()
	if err := s.wal.Reserve(int64(len(buf))); err != nil {
		// Destroys still go, into the space kept for them, so that
		// destroying keys can free space; creations are refused.
		s.log.Error("key store: disk full; only destructions are recorded until space is freed", "file", s.wal.Path(), "err", err)
		full = true
		plan()
	}
	if len(buf) > 0 || len(patches) > 0 {
		if err := s.wal.Append(buf, patches); err != nil {
			ferr := s.failed("appending to the key log", s.wal.Path(), err)
			for i := range errs {
				if errs[i] == nil {
					errs[i] = ferr
				}
			}
		} else {
			s.mu.Lock()
			for id, sl := range puts {
				s.index[id] = sl
				s.liveBytes += keyRecHeaderSize + int64(sl.n)
			}
			for id := range gone {
				s.liveBytes -= keyRecHeaderSize + int64(s.index[id].n)
				delete(s.index, id)
			}
			s.mu.Unlock()
		}
	}
	if cap(buf) <= 1<<20 {
		s.buf = buf[:0]
	}
	for i, x := range batch {
		x.done <- errs[i]
	}
	// Between rounds, after answering: the round's clients do not wait
	// for a compaction; the next round's wait for it.
	if size := s.wal.Size(); s.dead() > 2*s.liveBytes && size > s.compactMin && size >= s.retryAt && s.wal.Broken() == nil {
		if err := s.compact(); err != nil {
			s.retryAt = s.wal.Size() + s.compactMin
			s.log.Warn("key store: compacting the log failed; it grows until the next attempt", "file", s.wal.Path(), "err", err)
		}
	}
}

// submit hands a mutation to the writer and waits until it is durable or
// refused.
func (s *store) submit(destroy bool, id uint32, rec []byte) error {
	// Ops and their channels are reused: once done has answered, the
	// writer no longer touches the op.
	x, _ := s.opPool.Get().(*keyOp)
	if x == nil {
		x = &keyOp{done: make(chan error, 1)}
	}
	x.destroy, x.id, x.rec = destroy, id, rec
	var err error
	if s.q.Send(x) {
		err = <-x.done
	} else {
		err = errStorage("key store %s is closed", s.dir)
	}
	*x = keyOp{done: x.done}
	s.opPool.Put(x)
	return err
}

var errFull = wire.Errorf(wire.StatusPsaErrorInsufficientStorage, "no space left for key material")

// Inventory is what a key store holds, as Inspect reads it.
type Inventory struct {
	// Keys are the ids of live keys: records in the log and key files.
	Keys []uint32
	// Unzeroed counts destroyed keys whose material is not zeros yet (a
	// crash cut their destruction; the next start zeroes them).
	Unzeroed int
	// Temporary counts temporary files.
	Temporary int
}

// Inspect reads the key store at dir without changing it: for checks
// and tests after the service stopped or while it is idle.
func Inspect(dir string) (Inventory, error) {
	var inv Inventory
	st, _, err := readKeyLog(dir)
	if err != nil {
		return inv, fmt.Errorf("reading key store %s: %w", dir, err)
	}
	for id := range st.index {
		inv.Keys = append(inv.Keys, id)
	}
	inv.Unzeroed = len(st.unzeroed)
	names, err := readNames(dir)
	if err != nil {
		return inv, fmt.Errorf("reading key store %s: %w", dir, err)
	}
	for _, name := range names {
		if id, ok := parseKeyFileName(name); ok {
			inv.Keys = append(inv.Keys, id)
		} else if strings.HasPrefix(name, ".tmp-") {
			inv.Temporary++
		}
	}
	return inv, nil
}
