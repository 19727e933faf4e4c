package emu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/parsec-go/parsec/internal/durable"
)

// Object is one secure storage object.
type Object struct {
	Flags    uint32
	Capacity uint64
	Data     []byte
}

// ObjKey names an object: the owner is the FF-A endpoint that stored it
// (the normal world is 0; partitions use their own ids), as in TS where
// objects are bound to the caller's source id.
type ObjKey struct {
	Owner uint16
	UID   uint64
}

// ObjectStore is the backing store of a storage partition: RAM (what the
// reference OP-TEE deployments use, lost on restart) or a directory.
type ObjectStore interface {
	Get(k ObjKey) (Object, bool, error)
	Put(k ObjKey, o Object) error
	Delete(k ObjKey) error
	Count() (int, error)
	Keys(owner uint16) ([]ObjKey, error)
}

// RAMStore keeps objects in memory.
type RAMStore struct {
	mu   sync.Mutex
	objs map[ObjKey]Object
}

// NewRAMStore returns an empty in-memory store.
func NewRAMStore() *RAMStore { return &RAMStore{objs: map[ObjKey]Object{}} }

func (s *RAMStore) Get(k ObjKey) (Object, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[k]
	o.Data = append([]byte(nil), o.Data...)
	return o, ok, nil
}

func (s *RAMStore) Put(k ObjKey, o Object) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o.Data = append([]byte(nil), o.Data...)
	s.objs[k] = o
	return nil
}

func (s *RAMStore) Delete(k ObjKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objs, k)
	return nil
}

func (s *RAMStore) Count() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.objs), nil
}

func (s *RAMStore) Keys(owner uint16) ([]ObjKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ks []ObjKey
	for k := range s.objs {
		if k.Owner == owner {
			ks = append(ks, k)
		}
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].UID < ks[j].UID })
	return ks, nil
}

// DirStore keeps one file per object, named <owner>-<uid> in hex and
// written atomically (temporary file, fsync, rename, fsync of the
// directory), so a crash leaves either the old or the new object.
type DirStore struct {
	dir string
	mu  sync.Mutex
}

// NewDirStore uses (and creates) dir.
func NewDirStore(dir string) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &DirStore{dir: dir}, nil
}

const objHeader = 12 // flags u32, capacity u64

func (s *DirStore) path(k ObjKey) string {
	return filepath.Join(s.dir, fmt.Sprintf("%04x-%016x", k.Owner, k.UID))
}

func (s *DirStore) Get(k ObjKey) (Object, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := os.ReadFile(s.path(k))
	if errors.Is(err, os.ErrNotExist) {
		return Object{}, false, nil
	}
	if err != nil {
		return Object{}, false, err
	}
	if len(b) < objHeader {
		return Object{}, false, fmt.Errorf("%s: truncated object", s.path(k))
	}
	return Object{Flags: binary.LittleEndian.Uint32(b), Capacity: binary.LittleEndian.Uint64(b[4:]), Data: b[objHeader:]}, true, nil
}

func (s *DirStore) Put(k ObjKey, o Object) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := make([]byte, objHeader, objHeader+len(o.Data))
	binary.LittleEndian.PutUint32(b, o.Flags)
	binary.LittleEndian.PutUint64(b[4:], o.Capacity)
	b = append(b, o.Data...)
	return durable.WriteFile(s.path(k), b, 0o600)
}

func (s *DirStore) Delete(k ObjKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return durable.Remove(s.path(k))
}

func (s *DirStore) list() ([]ObjKey, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var ks []ObjKey
	for _, e := range ents {
		owner, uid, ok := strings.Cut(e.Name(), "-")
		if !ok || len(owner) != 4 || len(uid) != 16 {
			continue
		}
		o, err1 := strconv.ParseUint(owner, 16, 16)
		u, err2 := strconv.ParseUint(uid, 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		ks = append(ks, ObjKey{Owner: uint16(o), UID: u})
	}
	return ks, nil
}

func (s *DirStore) Count() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks, err := s.list()
	return len(ks), err
}

func (s *DirStore) Keys(owner uint16) ([]ObjKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.list()
	if err != nil {
		return nil, err
	}
	var ks []ObjKey
	for _, k := range all {
		if k.Owner == owner {
			ks = append(ks, k)
		}
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].UID < ks[j].UID })
	return ks, nil
}
