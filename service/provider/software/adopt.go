package software

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/parsec-go/parsec/internal/durable"
	"github.com/parsec-go/parsec/psa"
)

// AdoptResult says where Adopt put a key.
type AdoptResult struct {
	// ID is the key id in the store: the requested one unless another key
	// already held it.
	ID uint32
	// Present is true when the store already held this exact key (a
	// takeover run again after a crash).
	Present bool
}

// Adopt stores key material carried over from Rust Parsec's Mbed Crypto
// provider (a PSA export-format key and its attributes) in the software
// store at dir, under id when that id is free or already holds the same
// key; otherwise under a fresh id. The material is checked as a key of its
// type first. The key is written as a key file of the first format
// (which the store keeps loading), under an id no record of the store's
// log holds either. The file is complete and durable when Adopt returns, so the
// caller records the mapping afterwards: a crash in between leaves only
// material that the next run finds Present. Adopt takes the store's lock:
// it fails while a service has the store open.
func Adopt(dir string, id uint32, a psa.Attributes, material []byte) (AdoptResult, error) {
	if id < minKeyID || id > maxKeyID {
		return AdoptResult{}, fmt.Errorf("key id %#x is outside the PSA user range", id)
	}
	if err := CheckMaterial(a, material); err != nil {
		return AdoptResult{}, err
	}
	// Not openStore: reconciling with mappings is the provider's job at
	// start, and the mapping of this key does not exist yet.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return AdoptResult{}, fmt.Errorf("creating key store %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return AdoptResult{}, fmt.Errorf("restricting key store %s: %w", dir, err)
	}
	lock, err := lockKeyStore(dir)
	if err != nil {
		return AdoptResult{}, err
	}
	defer lock.Close()
	st, err := adoptView(dir)
	if err != nil {
		return AdoptResult{}, err
	}
	rec := encodeRecord(a, material)
	if present, err := st.holds(id, rec); err != nil || present {
		return AdoptResult{ID: id, Present: present}, err
	}
	tmp, err := durable.TempFile(st.dir, rec, 0o600)
	if err != nil {
		return AdoptResult{}, fmt.Errorf("writing key file: %w", err)
	}
	defer os.Remove(tmp)
	link := func(id uint32) (bool, error) {
		if _, inLog := st.index[id]; inLog {
			return false, nil
		}
		err := os.Link(tmp, st.path(id))
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("storing key file: %w", err)
		}
		if err := durable.SyncDir(st.dir); err != nil {
			return false, fmt.Errorf("syncing key store: %w", err)
		}
		return true, nil
	}
	if done, err := link(id); done || err != nil {
		return AdoptResult{ID: id}, err
	}
	// Taken by another key (holds said not this one). A run cut short
	// after storing this key elsewhere left it under some other id: reuse
	// that, so a crash never doubles a key; else a fresh id, above every
	// id in the store and above the requested one.
	ids, err := st.ids()
	if err != nil {
		return AdoptResult{}, err
	}
	top := id
	for _, other := range ids {
		if present, err := st.holds(other, rec); err == nil && present {
			return AdoptResult{ID: other, Present: true}, nil
		}
		top = max(top, other)
	}
	for next := top + 1; next <= maxKeyID; next++ {
		if done, err := link(next); done || err != nil {
			return AdoptResult{ID: next}, err
		}
	}
	return AdoptResult{}, errors.New("all PSA key ids are in use")
}

// ErrBadMaterial marks key material that is not a valid key of its type.
var ErrBadMaterial = errors.New("key material is not a valid key")

// CheckMaterial checks material as a key with attributes a, as Adopt
// does before storing it.
func CheckMaterial(a psa.Attributes, material []byte) error {
	if _, err := parseKey(a, material); err != nil {
		return fmt.Errorf("%w of type %v: %v", ErrBadMaterial, a.Type, err)
	}
	return nil
}

// adoptView is a store read for Adopt and Holds: its log's index (read,
// not written) and its directory, no writer.
func adoptView(dir string) (*store, error) {
	ks, content, err := readKeyLog(dir)
	if err != nil {
		return nil, fmt.Errorf("reading key store %s: %w", dir, err)
	}
	return &store{dir: dir, index: ks.index, content: content}, nil
}

// ids lists the key ids that have a record in the log or a file in the
// store.
func (s *store) ids() ([]uint32, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("reading key store %s: %w", s.dir, err)
	}
	var ids []uint32
	for id := range s.index {
		ids = append(ids, id)
	}
	for _, e := range ents {
		if id, ok := parseKeyFileName(e.Name()); ok {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// holds reports whether id's record (in the log read by adoptView) or
// file holds exactly rec.
func (s *store) holds(id uint32, rec []byte) (bool, error) {
	if sl, ok := s.index[id]; ok {
		return bytes.Equal(s.content[sl.off:sl.off+int64(sl.n)], rec), nil
	}
	b, err := os.ReadFile(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading key %08x: %w", id, err)
	}
	return bytes.Equal(b, rec), nil
}

// Holds reports whether the store at dir holds, under id, exactly this
// key: how a takeover run again recognises a key it carried over to
// another id.
func Holds(dir string, id uint32, a psa.Attributes, material []byte) (bool, error) {
	s, err := adoptView(dir)
	if err != nil {
		return false, err
	}
	return s.holds(id, encodeRecord(a, material))
}
