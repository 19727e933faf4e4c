package software

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/parsec-go/parsec/internal/durable"
	"github.com/parsec-go/parsec/internal/statedir"
	"github.com/parsec-go/parsec/internal/wal"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
)

// Key ids are PSA persistent key ids in the user range, as the Mbed
// Crypto provider allocates them.
const (
	minKeyID = 1
	maxKeyID = 0x3fffffff // PSA_KEY_ID_USER_MAX
)

// store keeps the software provider's key material. Keys are records in
// one append-only log, <dir>/keys-v2.log (format and durability in
// keylog.go), with an in-memory index from key id to the record's place;
// key files of the first format, <dir>/<8 hex digits of the id>.key,
// which earlier versions wrote and the takeover still writes (Adopt),
// keep loading and are removed when their key is destroyed.
type store struct {
	dir  string
	log  *slog.Logger
	next atomic.Uint32
	// fsSync runs one syncfs(2) on the store's file system for every
	// removal of a key file waiting at that moment (group commit).
	fsSync  durable.Group
	dirFile *os.File

	// lock is the store's flock: one writer of the log.
	lock *os.File
	// f is the log, read by any goroutine (pread); wal writes it, from
	// the writer goroutine only. A compaction replaces it (under mu,
	// with index).
	f   *os.File
	wal *wal.Log
	// index maps a key id to its record in f. Only the writer changes it
	// (under mu, once a round is durable); readers take the slot and f
	// together under the read lock and read the file without it.
	mu        sync.RWMutex
	index     map[uint32]slot
	liveBytes int64 // writer's
	// compactMin: a smaller log is never compacted. retryAt: after a
	// failed compaction (a full disk: it needs room for the new file),
	// the writer tries again once the log has grown by compactMin.
	compactMin, retryAt int64
	buf                 []byte
	// content is the log as read, for adoptView only.
	content []byte

	// q is the log writer's queue; opPool keeps answered ops for reuse.
	q      *wal.Queue[*keyOp]
	opPool sync.Pool
}

// close stops the writer after the mutations already submitted and
// releases the log, the lock and the directory.
func (s *store) close() error {
	if !s.q.Close() {
		return nil
	}
	err := s.wal.Close()
	s.lock.Close()
	if derr := s.dirFile.Close(); err == nil {
		err = derr
	}
	return err
}

const keyFileSuffix = ".key"

// kimMarker records which key info manager's mappings the store's
// material belongs to: orphans are only recognised against that one.
const kimMarker = ".kim-dir"

// openStore opens the key store in dir and reconciles it with the key
// info manager m, which holds every mapping to it:
//
//   - temporary files and a torn log tail are what a write cut short
//     leaves: removed;
//   - material no mapping references is what a crash between the two
//     steps of a creation (material, then mapping) or a destruction
//     (mapping, then material) leaves: destroyed (zeroed in the log, or
//     its key file removed), since no request can claim it any more (a
//     creation that reached its mapping is referenced; one that did not
//     was never acknowledged);
//   - a destroyed key whose material a crash left unzeroed is zeroed.
//
// Nothing else writes to the store meanwhile: a provider is opened at
// start or on reload after the previous one closed, and the store's lock
// refuses any other writer. Mapped ids (even without material) are never
// handed out again.
func openStore(dir string, m kim.Manager, log *slog.Logger) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating key store %s: %w", dir, err)
	}
	// The store holds private keys: whoever created the directory, only
	// the service may enter it.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("restricting key store %s: %w", dir, err)
	}
	lock, err := lockKeyStore(dir)
	if err != nil {
		return nil, err
	}
	s := &store{dir: dir, log: log, lock: lock, compactMin: keyCompactMin}
	if err := s.load(m); err != nil {
		if s.wal != nil {
			s.wal.Close()
		}
		lock.Close()
		return nil, err
	}
	// The directory stays open for the provider's life: one syncfs per
	// group through it, no open and close around each.
	d, err := os.Open(dir)
	if err != nil {
		s.wal.Close()
		lock.Close()
		return nil, fmt.Errorf("opening key store %s: %w", dir, err)
	}
	s.dirFile = d
	s.fsSync.Sync = func() error { return syncFS(d) }
	s.q = wal.Start(maxKeyBatch, s.commit)
	return s, nil
}

// load reads the log and the key files and reconciles them with m's
// mappings (see openStore).
func (s *store) load(m kim.Manager) error {
	dir, log := s.dir, s.log
	l, st, err := openKeyLog(dir, log)
	if err != nil {
		return fmt.Errorf("key store: %w", err)
	}
	s.wal, s.f, s.index, s.liveBytes = l, l.File(), st.index, st.liveBytes
	// The files are listed before the mappings are read: a creation
	// finishing in between (none should; see above) would then look
	// mapped, never orphaned. Names only, unsorted: no stat per file.
	names, err := readNames(dir)
	if err != nil {
		return fmt.Errorf("reading key store %s: %w", dir, err)
	}
	var usedMax uint32
	mapped := map[uint32]bool{}
	note := func(e kim.Entry) {
		// Any software-provider mapping counts, whatever provider name it
		// carries: a renamed provider still owns its keys.
		if e.Provider != wire.ProviderMbedCrypto {
			return
		}
		if id, ok := decodeKeyID(e.KeyID); ok {
			usedMax = max(usedMax, id)
			mapped[id] = true
		}
	}
	if r, ok := m.(interface {
		Range(func(kim.Owner, string, kim.Entry) bool)
	}); ok {
		r.Range(func(_ kim.Owner, _ string, e kim.Entry) bool { note(e); return true })
	} else {
		all, err := m.All()
		if err != nil {
			return fmt.Errorf("listing keys: %w", err)
		}
		for _, k := range all {
			note(k.Entry)
		}
	}
	reconcile := sameKIM(dir, m, log)
	temps, orphans, kept := 0, 0, 0
	for _, name := range names {
		p := filepath.Join(dir, name)
		if strings.HasPrefix(name, ".tmp-") {
			if err := os.Remove(p); err == nil {
				temps++
			}
			continue
		}
		id, ok := parseKeyFileName(name)
		if !ok {
			continue
		}
		usedMax = max(usedMax, id)
		if mapped[id] {
			continue
		}
		if !reconcile {
			kept++
			continue
		}
		if err := os.Remove(p); err != nil {
			log.Error("removing orphaned key material", "file", p, "err", err)
			kept++
			continue
		}
		orphans++
	}
	// Orphans and unzeroed leftovers in the log: zeroed and recorded
	// destroyed in one durable append.
	var recs []byte
	var patches []wal.Patch
	for _, sl := range st.unzeroed {
		patches = append(patches, wal.Patch{Off: sl.off, Data: make([]byte, sl.n)})
	}
	for id, sl := range s.index {
		usedMax = max(usedMax, id)
		if mapped[id] {
			continue
		}
		if !reconcile {
			kept++
			continue
		}
		patches = append(patches, wal.Patch{Off: sl.off, Data: make([]byte, sl.n)})
		recs = appendKeyRec(recs, kindDestroy, id, nil)
		delete(s.index, id)
		s.liveBytes -= keyRecHeaderSize + int64(sl.n)
		orphans++
	}
	if len(recs) > 0 || len(patches) > 0 {
		if err := s.wal.Append(recs, patches); err != nil {
			return fmt.Errorf("key store: destroying orphaned material in %s: %w", s.wal.Path(), err)
		}
	}
	if temps+orphans > 0 {
		if err := durable.SyncDir(dir); err != nil {
			return fmt.Errorf("syncing key store %s: %w", dir, err)
		}
		log.Info("key store reconciled with the key mappings", "dir", dir, "orphaned_material_removed", orphans, "temporary_files_removed", temps)
	}
	if len(st.unzeroed) > 0 {
		log.Info("key store: zeroed the material of keys destroyed just before a crash", "dir", dir, "records", len(st.unzeroed))
	}
	if kept > 0 {
		log.Warn("key store holds material no key maps to, left in place", "dir", dir, "files", kept)
	}
	if s.dead() > s.liveBytes && s.wal.Size() > s.compactMin {
		if err := s.compact(); err != nil {
			log.Warn("key store: compacting the log at start failed; continuing with it as it is", "file", s.wal.Path(), "err", err)
		}
	}
	s.next.Store(max(usedMax+1, minKeyID))
	return nil
}

// dead is how many bytes of the log are destroyed records (zeroed
// material and destroy records). The writer's.
func (s *store) dead() int64 { return s.wal.Size() - keyLogHeaderSize - s.liveBytes }

// compact rewrites the log with one put per live key, read from the
// current file; readers keep reading the old file until the new one and
// its index are published together. Run at start (when destroyed records
// outweigh live ones) and by the writer between rounds (when they weigh
// twice as much), so that a store whose keys come and go does not grow
// without bound. The old file's blocks go back to the file system as they
// are: destroyed keys' material in them is zeros, live keys' is what the
// new file holds too.
func (s *store) compact() error {
	before := s.wal.Size()
	b := keyLogHeader()
	index := make(map[uint32]slot, len(s.index))
	for id, sl := range s.index {
		off := int64(len(b)) + keyRecHeaderSize
		rec := make([]byte, sl.n)
		if _, err := s.f.ReadAt(rec, sl.off); err != nil {
			return fmt.Errorf("reading key %08x: %w", id, err)
		}
		b = appendKeyRec(b, kindPut, id, rec)
		index[id] = slot{off: off, n: sl.n}
	}
	old, err := s.wal.Replace(b)
	if old != nil {
		s.mu.Lock()
		s.index, s.f = index, s.wal.File()
		s.mu.Unlock()
		old.Close()
	}
	if err != nil {
		return err
	}
	s.log.Info("key store: compacted the log", "file", s.wal.Path(), "keys", len(index), "bytes_before", before, "bytes_after", s.wal.Size())
	return nil
}

func readNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// sameKIM reports whether the store's material belongs to m's mappings,
// recording m on first use. Material of a store shared with another key
// info manager (two providers configured onto one store_path) is never
// judged orphaned: its mappings are not all in m.
func sameKIM(dir string, m kim.Manager, log *slog.Logger) bool {
	d, ok := m.(interface{ Dir() string })
	if !ok {
		return true // tests' wrappers: the mappings are m's
	}
	want, err := filepath.Abs(d.Dir())
	if err != nil {
		return false
	}
	p := filepath.Join(dir, kimMarker)
	b, err := os.ReadFile(p)
	switch {
	case err == nil && string(b) == want:
		return true
	case err == nil:
		log.Warn("key store is shared with another key info manager; orphaned material is not removed", "dir", dir, "key_manager", want, "recorded", string(b))
		return false
	case errors.Is(err, fs.ErrNotExist):
		if err := durable.WriteFile(p, []byte(want), 0o600); err != nil {
			log.Warn("recording the key store's key info manager", "file", p, "err", err)
			return false
		}
		return true
	default:
		log.Warn("reading the key store's key info manager", "file", p, "err", err)
		return false
	}
}

func parseKeyFileName(name string) (uint32, bool) {
	hexID, ok := strings.CutSuffix(name, keyFileSuffix)
	if !ok || len(hexID) != 8 {
		return 0, false
	}
	id, err := strconv.ParseUint(hexID, 16, 32)
	if err != nil || id < minKeyID || id > maxKeyID {
		return 0, false
	}
	return uint32(id), true
}

func (s *store) path(id uint32) string {
	return filepath.Join(s.dir, fmt.Sprintf("%08x%s", id, keyFileSuffix))
}

// syncFS makes everything written to d's file system durable: file data,
// inodes and directory entries (syncfs(2); since Linux 5.8 it reports
// write-back errors that occurred since the file was opened).
func syncFS(d *os.File) error {
	rc, err := d.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.Syncfs(int(fd))
			if !errors.Is(serr, unix.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}

// create stores rec under a fresh id and returns the id once the record
// is durable: the log's writer appends every creation and destruction
// waiting at that moment with one write and one fdatasync (group commit).
// The mapping is written only after create returns, so a crash in between
// leaves a record no mapping references, which the next start destroys.
func (s *store) create(rec []byte) (uint32, error) {
	id := s.next.Add(1) - 1
	if id > maxKeyID {
		s.next.Store(maxKeyID + 1)
		return 0, errInsufficientMemory("all PSA key ids are in use")
	}
	if err := s.submit(false, id, rec); err != nil {
		return 0, err
	}
	return id, nil
}

// failed logs a storage failure at error level with the file (the client
// only sees the status) and maps it to a status: a full disk or quota is
// PsaErrorInsufficientStorage, anything else PsaErrorStorageFailure.
func (s *store) failed(what, path string, err error) error {
	s.log.Error("key store: "+what+" failed", "file", path, "err", err)
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return wire.Errorf(wire.StatusPsaErrorInsufficientStorage, "%s %s: %v", what, path, err)
	}
	return errStorage("%s %s: %v", what, path, err)
}

// read returns a key file's content. The file must be what the store
// wrote: no symlink (O_NOFOLLOW), a regular file owned by the service and
// writable by nobody else (statedir's rules, checked here rather than for
// every file at start).
func (s *store) read(id uint32) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		s.mu.RLock()
		sl, ok := s.index[id]
		f := s.f
		s.mu.RUnlock()
		if !ok {
			break
		}
		// The record is immutable until the key is destroyed, which comes
		// after its mapping is gone: no lock needed around the read. A
		// compaction closes the file the slot was taken from only after
		// publishing the new one: look again.
		b := make([]byte, sl.n)
		if _, err := f.ReadAt(b, sl.off); err != nil {
			if errors.Is(err, os.ErrClosed) && attempt < 3 {
				continue
			}
			return nil, s.failed("reading key log", s.wal.Path(), err)
		}
		if len(b) > 0 && b[0] == 0 {
			// Zeroed: destroyed after the lookup above (a request racing
			// the key's destruction).
			return nil, errDoesNotExist("key material %08x was destroyed", id)
		}
		return b, nil
	}
	p := s.path(id)
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errDoesNotExist("key material %08x is missing", id)
	}
	if err != nil {
		return nil, s.failed("opening key file", p, err)
	}
	defer f.Close()
	if err := statedir.CheckFile(f); err != nil {
		return nil, s.failed("checking key file", p, err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, s.failed("reading key file", p, err)
	}
	return b, nil
}

// remove destroys a key durably: a record in the log is zeroed in place
// and a destroy record appended, in one group-committed round; a key file
// is unlinked and one shared syncfs makes that durable. A key already
// gone is not an error.
func (s *store) remove(id uint32) error {
	s.mu.RLock()
	_, ok := s.index[id]
	s.mu.RUnlock()
	if ok {
		return s.submit(true, id, nil)
	}
	p := s.path(id)
	err := os.Remove(p)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		err = s.fsSync.Do()
	}
	if err != nil {
		return s.failed("removing key file", p, err)
	}
	return nil
}

// Record layout (little-endian), version 1:
//
//	magic "PGKM" | version u8 | 3 zero bytes | key type u16 | 2 zero bytes |
//	bits u32 | usage u32 | algorithm u32 | material length u32 | material |
//	SHA-256 of everything before it
//
// The checksum turns a damaged file into PsaErrorDataCorrupt instead of a
// wrong key.
var recordMagic = []byte("PGKM")

const (
	recordVersion    = 1
	recordHeaderSize = 4 + 4 + 4 + 4 + 4 + 4 + 4
)

func encodeRecord(a psa.Attributes, material []byte) []byte {
	b := make([]byte, 0, recordHeaderSize+len(material)+sha256.Size)
	b = append(b, recordMagic...)
	b = append(b, recordVersion, 0, 0, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(a.Type))
	b = append(b, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, a.Bits)
	b = binary.LittleEndian.AppendUint32(b, uint32(a.Usage))
	b = binary.LittleEndian.AppendUint32(b, uint32(a.Alg))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(material)))
	b = append(b, material...)
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

func decodeRecord(b []byte) (psa.Attributes, []byte, error) {
	var a psa.Attributes
	if len(b) < recordHeaderSize+sha256.Size || !bytes.Equal(b[:4], recordMagic) {
		return a, nil, errCorrupt("not a key record")
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if want := sha256.Sum256(body); !bytes.Equal(want[:], sum) {
		return a, nil, errCorrupt("key record checksum mismatch")
	}
	if b[4] != recordVersion {
		return a, nil, errCorrupt("key record version %d not supported", b[4])
	}
	a.Type = psa.KeyType(binary.LittleEndian.Uint16(b[8:]))
	a.Bits = binary.LittleEndian.Uint32(b[12:])
	a.Usage = psa.Usage(binary.LittleEndian.Uint32(b[16:]))
	a.Alg = psa.Algorithm(binary.LittleEndian.Uint32(b[20:]))
	n := binary.LittleEndian.Uint32(b[24:])
	if uint64(n) != uint64(len(body)-recordHeaderSize) {
		return a, nil, errCorrupt("key record length mismatch")
	}
	return a, bytes.Clone(body[recordHeaderSize:]), nil
}
