package takeover

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parsec-go/parsec/psa"
)

// Mbed TLS's file-backed PSA ITS (psa_its_file.c) keeps one file per uid,
// "%08x%08x.psa_its", holding a 16-byte header (magic, u32 data size, u32
// create flags) and the data; persistent keys store Mbed TLS's key storage
// format (psa_crypto_storage.c) there. All little-endian. See FORMATS.md.
var (
	itsMagic = []byte("PSA\x00ITS\x00")
	keyMagic = []byte("PSA\x00KEY\x00")
)

const (
	itsHeaderSize = 16
	keyHeaderSize = 8 + 4 + 4 + 2 + 2 + 4 + 4 + 4 + 4
	itsSuffix     = ".psa_its"
	// maxITSFile bounds what is read: the largest key Mbed Crypto stores
	// (RSA-4096 PKCS#1) is a few kilobytes.
	maxITSFile = 64 << 10
)

// ITSKey is one Mbed Crypto persistent key.
type ITSKey struct {
	ID         uint32
	Attributes psa.Attributes
	// Lifetime is PSA's lifetime value (1 = persistent, default location).
	Lifetime uint32
	// Alg2 is Mbed TLS's enrolment algorithm, which PSA clients of Parsec
	// cannot set; a non-zero value is kept out of our store.
	Alg2 uint32
	// Material is the key data in PSA export format (ECC: the private
	// scalar, big-endian; RSA: PKCS#1 RSAPrivateKey DER).
	Material []byte
}

// ITSPath returns the file of key id in dir (the Rust service's working
// directory).
func ITSPath(dir string, id uint32) string {
	return filepath.Join(dir, fmt.Sprintf("%08x%08x%s", 0, id, itsSuffix))
}

// ParseITSName returns the key id of a file name of the form Mbed TLS
// writes for a PSA persistent key without owner encoding.
func ParseITSName(name string) (uint32, bool) {
	hexUID, ok := strings.CutSuffix(name, itsSuffix)
	if !ok || len(hexUID) != 16 || !strings.HasPrefix(hexUID, "00000000") {
		return 0, false
	}
	id, err := strconv.ParseUint(hexUID[8:], 16, 32)
	if err != nil || id == 0 {
		return 0, false
	}
	return uint32(id), true
}

// ReadITSKey reads and checks key id's file in dir. The file is opened
// read-only and never changed.
func ReadITSKey(dir string, id uint32) (ITSKey, error) {
	f, err := os.Open(ITSPath(dir, id))
	if err != nil {
		return ITSKey{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxITSFile+1))
	if err != nil {
		return ITSKey{}, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	k, err := ParseITSKey(b)
	if err != nil {
		return ITSKey{}, fmt.Errorf("%s: %w", f.Name(), err)
	}
	k.ID = id
	return k, nil
}

// ErrITS marks a key file that fails its checks.
var ErrITS = errors.New("PSA ITS key file")

// ParseITSKey checks a whole .psa_its file and decodes the key in it.
func ParseITSKey(b []byte) (ITSKey, error) {
	bad := func(format string, args ...any) (ITSKey, error) {
		return ITSKey{}, fmt.Errorf("%w: %s", ErrITS, fmt.Sprintf(format, args...))
	}
	if len(b) > maxITSFile {
		return bad("larger than %d bytes", maxITSFile)
	}
	if len(b) < itsHeaderSize || !bytes.Equal(b[:8], itsMagic) {
		return bad("no PSA ITS header")
	}
	size := binary.LittleEndian.Uint32(b[8:])
	data := b[itsHeaderSize:]
	if uint64(size) != uint64(len(data)) {
		return bad("header says %d data bytes, file has %d", size, len(data))
	}
	if len(data) < keyHeaderSize || !bytes.Equal(data[:8], keyMagic) {
		return bad("data is not a PSA persistent key")
	}
	le := binary.LittleEndian
	if v := le.Uint32(data[8:]); v != 0 {
		return bad("key storage format version %d (only 0 is known)", v)
	}
	k := ITSKey{Lifetime: le.Uint32(data[12:])}
	k.Attributes.Type = psa.KeyType(le.Uint16(data[16:]))
	k.Attributes.Bits = uint32(le.Uint16(data[18:]))
	k.Attributes.Usage = psa.Usage(le.Uint32(data[20:]))
	k.Attributes.Alg = psa.Algorithm(le.Uint32(data[24:]))
	k.Alg2 = le.Uint32(data[28:])
	n := le.Uint32(data[32:])
	if uint64(n) != uint64(len(data)-keyHeaderSize) {
		return bad("key data length %d, %d bytes follow", n, len(data)-keyHeaderSize)
	}
	if n == 0 {
		return bad("no key data")
	}
	// Persistent (1) in the local storage location (0): the only lifetime
	// a file-backed key can have.
	if k.Lifetime != 1 {
		return bad("lifetime %#x is not a local persistent key", k.Lifetime)
	}
	k.Material = bytes.Clone(data[keyHeaderSize:])
	return k, nil
}
