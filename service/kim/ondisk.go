package kim

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/parsec-go/parsec/internal/wal"
	"github.com/parsec-go/parsec/wire"
)

// OnDisk keeps every mapping in memory and its history in one append-only
// log file per store, <root>/kim-v2.log (format in record.go):
//
//   - Durability: a mutation is acknowledged only once its record is on
//     stable storage (write, then fdatasync). A crash leaves the log with
//     whole records plus at most a torn last one, which replay drops.
//   - Group commit: one goroutine owns the file; each round it takes every
//     mutation waiting at that moment, appends their records with one
//     write and makes them durable with one fdatasync.
//   - Readers never wait for disk I/O: the in-memory map changes only after
//     a round is durable, under a lock held for the map updates alone.
//   - Start-up reads the log sequentially once; when removed and replaced
//     records outweigh live ones the log is rewritten (compacted), at start
//     or between rounds.
//
// The file name cannot be one Rust Parsec's OnDisk store (padded base64
// directories) or the v1 layout (numeric directories) produces, so they
// can share a root. A v1 store found at start is migrated (v1.go).
type OnDisk struct {
	root    string
	logPath string
	log     *slog.Logger
	quota   quota

	mu   sync.RWMutex
	keys map[Owner]map[string]Entry

	// q is the writer's queue (started once the log is loaded).
	q *wal.Queue[*op]

	// lock holds a POSIX record lock on kim-v2.lock while open.
	lock *os.File

	// Owned by the writer goroutine (and by OpenOnDisk before it starts).
	w       *wal.Log
	live    int // records that hold a current mapping
	garbage int // records replaced or removed since
	buf     []byte
	// opPool keeps answered ops for reuse (submit).
	opPool sync.Pool
	// overlay, added and errs are plan's, reused every round.
	overlay map[slot]pending
	added   map[Owner]int
	errs    []error
}

// Limits, documented in the README's "Key store" section.
const (
	// MaxKeyNameLen bounds a key name in bytes (PsaErrorInvalidArgument
	// beyond it): names are stored in memory and in every listing.
	MaxKeyNameLen = 1024
	// MaxAppNameLen bounds an application name in bytes: Direct
	// authentication lets a client choose it, and it is stored per key.
	MaxAppNameLen = 4096
)

// Options tune an OnDisk store.
type Options struct {
	Log *slog.Logger
	// MaxKeysPerClient bounds the keys one owner may hold; an Insert
	// beyond it fails with PsaErrorInsufficientStorage. 0 means no bound.
	// Internal keys are not counted.
	MaxKeysPerClient int
}

// quota is read by the writer and may be changed by a config reload.
type quota struct {
	mu  sync.Mutex
	max int
}

func (q *quota) get() int        { q.mu.Lock(); defer q.mu.Unlock(); return q.max }
func (q *quota) set(n int)       { q.mu.Lock(); q.max = n; q.mu.Unlock() }
func (m *OnDisk) SetQuota(n int) { m.quota.set(n) }

const (
	logName = "kim-v2.log"
	// logTemp is a log being written whole (migration, compaction); it
	// only ever replaces the log by rename, so a leftover is garbage.
	logTemp = logName + wal.TempSuffix
	// lockName is locked while a service has the store open.
	lockName = "kim-v2.lock"
	// maxBatch bounds one group commit (and so one write).
	maxBatch = 1024
	// compactMin keeps small logs from being rewritten over and over.
	compactMin = 256 << 10
)

type opKind byte

const (
	opInsert opKind = iota + 1
	opReplace
	opRemove
)

type op struct {
	kind opKind
	o    Owner
	name string
	e    Entry
	done chan error
}

// OpenOnDisk opens the store in dir without a quota.
func OpenOnDisk(dir string, log *slog.Logger) (*OnDisk, error) {
	return Open(dir, Options{Log: log})
}

// Open loads (creating or migrating if needed) the store rooted at dir.
// Only one OnDisk may have a directory open at a time: Stores keeps them.
func Open(dir string, opts Options) (*OnDisk, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("key info manager: creating %s: %w", dir, err)
	}
	// Mappings reveal which applications hold which keys: keep them private
	// even if the directory was created by someone else.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("key info manager: %w", err)
	}
	m := &OnDisk{
		root: dir, logPath: filepath.Join(dir, logName), log: log,
		keys: map[Owner]map[string]Entry{},
	}
	m.quota.set(opts.MaxKeysPerClient)
	lock, err := lockStore(dir)
	if err != nil {
		return nil, err
	}
	m.lock = lock
	// A leftover temp log is an interrupted rewrite: the log (or, before
	// the first log, the v1 files) still holds everything.
	if err := os.Remove(filepath.Join(dir, logTemp)); err == nil {
		log.Info("key info manager: removed an interrupted log rewrite", "file", filepath.Join(dir, logTemp))
	}
	if _, err := os.Lstat(m.logPath); errors.Is(err, fs.ErrNotExist) {
		if err := m.migrateV1(); err != nil {
			lock.Close()
			return nil, err
		}
	}
	if err := m.load(); err != nil {
		lock.Close()
		return nil, err
	}
	// v1 files left by a migration a crash cut short: the log has them.
	if err := removeV1(dir, log); err != nil {
		m.w.Close()
		lock.Close()
		return nil, err
	}
	if m.garbage > m.live && m.w.Size() > compactMin {
		if err := m.compact(); err != nil {
			log.Warn("key info manager: compacting the log at start failed; continuing with it as it is", "file", m.logPath, "err", err)
		}
	}
	m.q = wal.Start(maxBatch, m.round)
	return m, nil
}

// lockStore takes a write lock on the store's lock file, so that a second
// service process on the same directory (another socket, same state)
// is refused instead of becoming a second writer of the log. POSIX locks
// do not conflict within one process; Stores keeps one instance per
// directory there.
func lockStore(dir string) (*os.File, error) {
	p := filepath.Join(dir, lockName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("key info manager: opening %s: %w", p, err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk); err != nil {
		f.Close()
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("key info manager: %s is in use by another process (is another Parsec service running on this state?)", dir)
		}
		return nil, fmt.Errorf("key info manager: locking %s: %w", p, err)
	}
	return f, nil
}

// migrateV1 writes the log from a v1 store (or an empty log for a new
// store). The log appears by rename only once durable: a crash before
// leaves the v1 files as they were, a crash after leaves a complete log.
func (m *OnDisk) migrateV1() error {
	files, _, _, err := scanV1(m.root)
	if err != nil {
		return err
	}
	var buf []byte
	n := 0
	for _, f := range files {
		if f.err != nil {
			m.log.Warn("key info manager: skipping unreadable v1 mapping", "file", f.path, "err", f.err)
			continue
		}
		buf = appendPut(buf, f.owner, f.name, f.entry)
		n++
	}
	if err := m.writeWhole(buf); err != nil {
		return fmt.Errorf("key info manager: creating %s: %w", m.logPath, err)
	}
	if n > 0 {
		m.log.Info("key info manager: migrated v1 mappings into the log", "keys", n, "file", m.logPath)
	}
	return nil
}

// writeWhole replaces the log with a header and recs, durably (wal's
// Rewrite: a crash leaves the old log or the new one), and leaves m.w
// open on the new file.
func (m *OnDisk) writeWhole(recs []byte) error {
	b := make([]byte, 0, logHeaderSize+len(recs))
	b = append(appendHeader(b), recs...)
	if m.w != nil {
		return m.w.Rewrite(b)
	}
	w, err := wal.Create(m.logPath, b)
	if err != nil {
		return err
	}
	m.w = w
	return nil
}

// load replays the log. A torn or damaged tail (a crash during an append,
// or damage) ends the replay: the tail is kept aside in a .damaged file
// for inspection and cut off so that appends continue after the last
// whole record.
func (m *OnDisk) load() error {
	w, b, err := wal.Open(m.logPath)
	if err != nil {
		return fmt.Errorf("key info manager: opening %s: %w", m.logPath, err)
	}
	names := map[string]string{} // provider names, shared by every entry
	good, records, err := replay(b, func(kind opKind, o Owner, name string, e Entry) {
		if p, ok := names[e.ProviderName]; ok {
			e.ProviderName = p
		} else {
			names[e.ProviderName] = e.ProviderName
		}
		if kind == opRemove {
			m.del(o, name)
		} else {
			m.put(o, name, e)
		}
	})
	if err != nil {
		w.Close()
		return fmt.Errorf("key info manager: %s: %w", m.logPath, err)
	}
	side, err := w.Resume(b, good)
	if side != "" {
		m.log.Warn("key info manager: the log ends in a torn or damaged record (a crash during a write?); replay stops before it", "file", m.logPath, "offset", good, "bytes", int64(len(b))-good, "kept_in", side)
	}
	if err != nil {
		w.Close()
		return fmt.Errorf("key info manager: %w", err)
	}
	m.w = w
	m.live = 0
	for _, byName := range m.keys {
		m.live += len(byName)
	}
	m.garbage = records - m.live
	return nil
}

func (m *OnDisk) put(o Owner, name string, e Entry) {
	byName := m.keys[o]
	if byName == nil {
		byName = map[string]Entry{}
		m.keys[o] = byName
	}
	byName[name] = e
}

func (m *OnDisk) del(o Owner, name string) {
	delete(m.keys[o], name)
	if len(m.keys[o]) == 0 {
		delete(m.keys, o)
	}
}

func notFound(name string) error {
	return wire.Errorf(wire.StatusPsaErrorDoesNotExist, "key %q does not exist", name)
}

// storageErr maps a failed write to a Parsec status: a full disk or quota
// is PsaErrorInsufficientStorage, anything else KeyInfoManagerError. The
// failure is logged at error level with the file here, once, because the
// client only sees the status.
func (m *OnDisk) storageErr(what string, err error) error {
	m.log.Error("key info manager: "+what+" failed", "file", m.logPath, "err", err)
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return wire.Errorf(wire.StatusPsaErrorInsufficientStorage, "%s %s: %v", what, m.logPath, err)
	}
	return wire.Errorf(wire.StatusKeyInfoManagerError, "%s %s: %v", what, m.logPath, err)
}

func checkNames(o Owner, name string) error {
	if len(name) > MaxKeyNameLen {
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key name of %d bytes exceeds the %d-byte limit", len(name), MaxKeyNameLen)
	}
	if len(o.App) > MaxAppNameLen {
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "application name of %d bytes exceeds the %d-byte limit", len(o.App), MaxAppNameLen)
	}
	return nil
}

// submit hands a mutation to the writer and waits until it is durable or
// refused.
func (m *OnDisk) submit(kind opKind, o Owner, name string, e Entry) error {
	// Ops and their channels are reused: once done has answered, the
	// writer no longer touches the op.
	x, _ := m.opPool.Get().(*op)
	if x == nil {
		x = &op{done: make(chan error, 1)}
	}
	x.kind, x.o, x.name, x.e = kind, o, name, e
	var err error
	if m.q.Send(x) {
		err = <-x.done
	} else {
		err = wire.Errorf(wire.StatusKeyInfoManagerError, "key info manager %s is closed", m.root)
	}
	*x = op{done: x.done}
	m.opPool.Put(x)
	return err
}

// Dir is the store's directory; stores of key material record it to know
// whose mappings reference them.
func (m *OnDisk) Dir() string { return m.root }

// Get implements Manager.
func (m *OnDisk) Get(o Owner, name string) (Entry, error) {
	m.mu.RLock()
	e, ok := m.keys[o][name]
	m.mu.RUnlock()
	if !ok {
		return Entry{}, notFound(name)
	}
	return e, nil
}

// Has reports whether o holds a key called name: Get without building
// an error for the usual answer of a creation's check.
func (m *OnDisk) Has(o Owner, name string) bool {
	m.mu.RLock()
	_, ok := m.keys[o][name]
	m.mu.RUnlock()
	return ok
}

// Insert implements Manager. It fails with PsaErrorInvalidArgument for a
// name beyond MaxKeyNameLen and PsaErrorInsufficientStorage beyond the
// owner's quota.
func (m *OnDisk) Insert(o Owner, name string, e Entry) error {
	if err := checkNames(o, name); err != nil {
		return err
	}
	return m.submit(opInsert, o, name, e)
}

// Replace implements Manager.
func (m *OnDisk) Replace(o Owner, name string, e Entry) error {
	return m.submit(opReplace, o, name, e)
}

// Remove implements Manager.
func (m *OnDisk) Remove(o Owner, name string) error {
	return m.submit(opRemove, o, name, Entry{})
}

// List implements Manager.
func (m *OnDisk) List(o Owner) ([]Key, error) {
	m.mu.RLock()
	byName := m.keys[o]
	keys := make([]Key, 0, len(byName))
	for name, e := range byName {
		keys = append(keys, Key{Owner: o, Name: name, Entry: e})
	}
	m.mu.RUnlock()
	slices.SortFunc(keys, func(a, b Key) int { return strings.Compare(a.Name, b.Name) })
	return keys, nil
}

// All implements Manager.
func (m *OnDisk) All() ([]Key, error) {
	m.mu.RLock()
	owners := make([]Owner, 0, len(m.keys))
	for o := range m.keys {
		owners = append(owners, o)
	}
	m.mu.RUnlock()
	sort.Slice(owners, func(i, j int) bool {
		if owners[i].AuthType != owners[j].AuthType {
			return owners[i].AuthType < owners[j].AuthType
		}
		return owners[i].App < owners[j].App
	})
	var keys []Key
	for _, o := range owners {
		k, _ := m.List(o)
		keys = append(keys, k...)
	}
	return keys, nil
}

// Range calls fn for every mapping, in no particular order, until fn
// returns false: what a start-up scan needs, without All's copy and sort.
// fn must not call m's methods that change it.
func (m *OnDisk) Range(fn func(o Owner, name string, e Entry) bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for o, byName := range m.keys {
		for name, e := range byName {
			if !fn(o, name, e) {
				return
			}
		}
	}
}

// Close stops the writer after the mutations already submitted and closes
// the log. Later mutations fail; reads still answer from memory.
func (m *OnDisk) Close() error {
	if !m.q.Close() {
		return nil
	}
	m.lock.Close()
	return m.w.Close()
}
