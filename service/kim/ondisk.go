package kim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/parsec-go/parsec/internal/durable"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
)

// OnDisk keeps one small file per key under
//
//	<root>/<auth type>/<base64url(application)>/<base64url(key name)>
//
// and the whole map in memory. Each file is written atomically and durably
// (temp file, fsync, rename, fsync of the directory), so a crash leaves
// either the old mapping or the new one, never half of one. The layout is
// parsec-go's own: Rust Parsec's OnDisk store (<app>/<provider id>/<key>)
// can share a root without either reading the other's files.
type OnDisk struct {
	root string
	log  *slog.Logger

	mu   sync.RWMutex
	keys map[Owner]map[string]Entry
}

// fileVersion is bumped if the record format changes incompatibly.
const fileVersion = 1

// record is the on-disk form of one mapping.
type record struct {
	Version      int    `json:"version"`
	Name         string `json:"name"`
	Provider     uint8  `json:"provider"`
	ProviderName string `json:"provider_name"`
	KeyID        []byte `json:"key_id"`
	Type         uint16 `json:"type"`
	Bits         uint32 `json:"bits"`
	Usage        uint32 `json:"usage"`
	Alg          uint32 `json:"alg"`
}

// maxEncodedName keeps file names under the 255-byte limit of common file
// systems; longer key names are stored under a hash of the name.
const maxEncodedName = 200

// OpenOnDisk loads (creating if needed) the store rooted at dir. Files it
// cannot read are logged and left untouched: a damaged entry must not
// cost the others, and nothing is deleted behind the user's back.
func OpenOnDisk(dir string, log *slog.Logger) (*OnDisk, error) {
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
	m := &OnDisk{root: dir, log: log, keys: map[Owner]map[string]Entry{}}
	if err := m.load(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *OnDisk) load() error {
	authDirs, err := os.ReadDir(m.root)
	if err != nil {
		return fmt.Errorf("key info manager: reading %s: %w", m.root, err)
	}
	for _, ad := range authDirs {
		at, err := strconv.ParseUint(ad.Name(), 10, 8)
		if err != nil || !ad.IsDir() {
			continue // not ours
		}
		appDirs, err := os.ReadDir(filepath.Join(m.root, ad.Name()))
		if err != nil {
			return fmt.Errorf("key info manager: %w", err)
		}
		for _, pd := range appDirs {
			app, err := base64.URLEncoding.DecodeString(pd.Name())
			if err != nil || !pd.IsDir() {
				continue
			}
			owner := Owner{AuthType: wire.AuthType(at), App: string(app)}
			dir := filepath.Join(m.root, ad.Name(), pd.Name())
			files, err := os.ReadDir(dir)
			if err != nil {
				return fmt.Errorf("key info manager: %w", err)
			}
			for _, f := range files {
				if strings.HasPrefix(f.Name(), ".tmp-") || f.IsDir() {
					continue
				}
				p := filepath.Join(dir, f.Name())
				name, e, err := readRecord(p)
				if err != nil {
					m.log.Warn("key info manager: skipping unreadable mapping", "file", p, "err", err)
					continue
				}
				if fileName(name) != f.Name() {
					m.log.Warn("key info manager: skipping mapping whose name does not match its file", "file", p)
					continue
				}
				m.put(owner, name, e)
			}
		}
	}
	return nil
}

func readRecord(p string) (string, Entry, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", Entry{}, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return "", Entry{}, err
	}
	if r.Version != fileVersion {
		return "", Entry{}, fmt.Errorf("record version %d, want %d", r.Version, fileVersion)
	}
	return r.Name, Entry{
		Provider:     wire.ProviderID(r.Provider),
		ProviderName: r.ProviderName,
		KeyID:        r.KeyID,
		Attributes:   psa.Attributes{Type: psa.KeyType(r.Type), Bits: r.Bits, Usage: psa.Usage(r.Usage), Alg: psa.Algorithm(r.Alg)},
	}, nil
}

func (m *OnDisk) put(o Owner, name string, e Entry) {
	byName := m.keys[o]
	if byName == nil {
		byName = map[string]Entry{}
		m.keys[o] = byName
	}
	byName[name] = e
}

// emptyName stands for the empty key name, which Parsec allows; it cannot
// collide with an encoded name (those have a length divisible by 4) or a
// hashed one ("h-" and 64 hex digits).
const emptyName = "_empty"

func fileName(keyName string) string {
	if keyName == "" {
		return emptyName
	}
	enc := base64.URLEncoding.EncodeToString([]byte(keyName))
	if len(enc) <= maxEncodedName {
		return enc
	}
	sum := sha256.Sum256([]byte(keyName))
	return "h-" + hex.EncodeToString(sum[:])
}

func (m *OnDisk) ownerDir(o Owner) string {
	return filepath.Join(m.root, strconv.Itoa(int(o.AuthType)), base64.URLEncoding.EncodeToString([]byte(o.App)))
}

func storageErr(op string, err error) error {
	return wire.Errorf(wire.StatusKeyInfoManagerError, "%s: %v", op, err)
}

func notFound(name string) error {
	return wire.Errorf(wire.StatusPsaErrorDoesNotExist, "key %q does not exist", name)
}

// Get implements Manager.
func (m *OnDisk) Get(o Owner, name string) (Entry, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.keys[o][name]
	if !ok {
		return Entry{}, notFound(name)
	}
	return e, nil
}

// Insert implements Manager.
func (m *OnDisk) Insert(o Owner, name string, e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[o][name]; ok {
		return wire.Errorf(wire.StatusPsaErrorAlreadyExists, "key %q already exists", name)
	}
	if err := m.write(o, name, e); err != nil {
		return err
	}
	m.put(o, name, e)
	return nil
}

// Replace implements Manager.
func (m *OnDisk) Replace(o Owner, name string, e Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[o][name]; !ok {
		return notFound(name)
	}
	if err := m.write(o, name, e); err != nil {
		return err
	}
	m.put(o, name, e)
	return nil
}

// Remove implements Manager.
func (m *OnDisk) Remove(o Owner, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[o][name]; !ok {
		return notFound(name)
	}
	dir := m.ownerDir(o)
	if err := durable.Remove(filepath.Join(dir, fileName(name))); err != nil {
		return storageErr("removing mapping", err)
	}
	delete(m.keys[o], name)
	if len(m.keys[o]) == 0 {
		delete(m.keys, o)
	}
	return nil
}

// List implements Manager.
func (m *OnDisk) List(o Owner) ([]Key, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	keys := make([]Key, 0, len(m.keys[o]))
	for name, e := range m.keys[o] {
		keys = append(keys, Key{Owner: o, Name: name, Entry: e})
	}
	sortKeys(keys)
	return keys, nil
}

// All implements Manager.
func (m *OnDisk) All() ([]Key, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var keys []Key
	for o, byName := range m.keys {
		for name, e := range byName {
			keys = append(keys, Key{Owner: o, Name: name, Entry: e})
		}
	}
	sortKeys(keys)
	return keys, nil
}

func sortKeys(keys []Key) {
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Owner.AuthType != b.Owner.AuthType {
			return a.Owner.AuthType < b.Owner.AuthType
		}
		if a.Owner.App != b.Owner.App {
			return a.Owner.App < b.Owner.App
		}
		return a.Name < b.Name
	})
}

// write stores one record durably. The caller holds m.mu.
func (m *OnDisk) write(o Owner, name string, e Entry) error {
	b, err := json.Marshal(record{
		Version: fileVersion, Name: name,
		Provider: uint8(e.Provider), ProviderName: e.ProviderName, KeyID: e.KeyID,
		Type: uint16(e.Attributes.Type), Bits: e.Attributes.Bits,
		Usage: uint32(e.Attributes.Usage), Alg: uint32(e.Attributes.Alg),
	})
	if err != nil {
		return storageErr("encoding mapping", err)
	}
	dir := m.ownerDir(o)
	if err := mkdirDurable(m.root, dir); err != nil {
		return storageErr("creating mapping directory", err)
	}
	if err := durable.WriteFile(filepath.Join(dir, fileName(name)), b, 0o600); err != nil {
		return storageErr("writing mapping", err)
	}
	return nil
}

// mkdirDurable creates dir (under root) and fsyncs each parent it had to
// create an entry in, so the new file's directory survives a crash too.
func mkdirDurable(root, dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != root && parent != dir {
		if err := mkdirDurable(root, parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return durable.SyncDir(parent)
}
