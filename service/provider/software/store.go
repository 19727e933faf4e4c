package software

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parsec-go/parsec/internal/durable"
	"github.com/parsec-go/parsec/psa"
)

// Key ids are PSA persistent key ids in the user range, as the Mbed
// Crypto provider allocates them.
const (
	minKeyID = 1
	maxKeyID = 0x3fffffff // PSA_KEY_ID_USER_MAX
)

// store keeps one file per key, <dir>/<8 hex digits of the id>.key,
// holding the key's attributes and its material in PSA export format.
// Files are created with link(2) from a synced temporary file, so an id is
// never overwritten even when two provider instances (a reload overlapping
// in-flight requests) allocate at the same time, and a crash leaves either
// no file or a complete one.
type store struct {
	dir  string
	next atomic.Uint32
}

const keyFileSuffix = ".key"

// staleTemp is the age after which a temporary file is known abandoned;
// a write takes milliseconds.
const staleTemp = time.Minute

func openStore(dir string, usedMax uint32) (*store, []uint32, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("creating key store %s: %w", dir, err)
	}
	// The store holds private keys: whoever created the directory, only
	// the service may enter it.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("restricting key store %s: %w", dir, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("reading key store %s: %w", dir, err)
	}
	var ids []uint32
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") {
			// A temporary file whose writer is gone is never linked to a
			// key id: it is what a cut-short write leaves. A young one
			// may belong to the previous instance still finishing a
			// request during a reload, so only stale ones go.
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTemp {
				os.Remove(filepath.Join(dir, name))
			}
			continue
		}
		if id, ok := parseKeyFileName(name); ok {
			ids = append(ids, id)
			usedMax = max(usedMax, id)
		}
	}
	s := &store{dir: dir}
	s.next.Store(max(usedMax+1, minKeyID))
	return s, ids, nil
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

// create stores rec under a fresh id and returns the id.
func (s *store) create(rec []byte) (uint32, error) {
	tmp, err := durable.TempFile(s.dir, rec, 0o600)
	if err != nil {
		return 0, errStorage("writing key file: %v", err)
	}
	defer os.Remove(tmp)
	for {
		id := s.next.Add(1) - 1
		if id > maxKeyID {
			s.next.Store(maxKeyID + 1)
			return 0, errInsufficientMemory("all PSA key ids are in use")
		}
		err := os.Link(tmp, s.path(id))
		if errors.Is(err, fs.ErrExist) {
			continue // taken by another instance: try the next id
		}
		if err != nil {
			return 0, errStorage("storing key file: %v", err)
		}
		if err := os.Remove(tmp); err != nil {
			return 0, errStorage("removing temporary key file: %v", err)
		}
		if err := durable.SyncDir(s.dir); err != nil {
			os.Remove(s.path(id))
			return 0, errStorage("syncing key store: %v", err)
		}
		return id, nil
	}
}

func (s *store) read(id uint32) ([]byte, error) {
	b, err := os.ReadFile(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errDoesNotExist("key material %08x is missing", id)
	}
	if err != nil {
		return nil, errStorage("reading key %08x: %v", id, err)
	}
	return b, nil
}

// remove deletes a key file durably; a file already gone is not an error.
func (s *store) remove(id uint32) error {
	if err := durable.Remove(s.path(id)); err != nil {
		return errStorage("removing key %08x: %v", id, err)
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
