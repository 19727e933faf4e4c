package tpm

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// A key's KIM KeyID is a keyBlob: everything needed to load the key again
// into any TPM holding the same owner seed. Only the TPM can open the
// private part; the auth value is what lets us use it once loaded.
//
// Encoding (version 1), all integers big-endian:
//
//	"PGTK" | version u8 = 1 | kind u8 |
//	auth, public, private, parent: each u16 length + bytes
//
// public is a marshalled TPMT_PUBLIC, private the contents of the
// TPM2B_PRIVATE the TPM returned, parent the name of the storage root the
// key was created under (to tell "TPM cleared" from "blob damaged").
type keyBlob struct {
	kind    keyKind
	auth    []byte
	public  []byte
	private []byte
	parent  []byte

	pub *tpm2.TPMTPublic // decoded public
	// rust: a key made by Rust Parsec's TPM provider (rustkey.go); it
	// loads under the Rust-style primary (rustprimary.go).
	rust bool
}

type keyKind byte

const (
	// kindPair is a key generated in the TPM, wrapped by the storage root.
	kindPair keyKind = 1
	// kindPublic is an imported public key: public area only.
	kindPublic keyKind = 2
)

var blobMagic = []byte("PGTK")

const blobVersion = 1

// errBadBlob marks a KeyID this provider cannot read.
var errBadBlob = errors.New("TPM key entry is malformed")

func (b *keyBlob) encode() []byte {
	out := make([]byte, 0, 6+8+len(b.auth)+len(b.public)+len(b.private)+len(b.parent))
	out = append(out, blobMagic...)
	out = append(out, blobVersion, byte(b.kind))
	for _, f := range [][]byte{b.auth, b.public, b.private, b.parent} {
		out = binary.BigEndian.AppendUint16(out, uint16(len(f)))
		out = append(out, f...)
	}
	return out
}

func decodeBlob(data []byte) (*keyBlob, error) {
	if len(data) < 6 || string(data[:4]) != string(blobMagic) {
		return nil, fmt.Errorf("%w: not a parsec-go TPM key", errBadBlob)
	}
	if data[4] != blobVersion {
		return nil, fmt.Errorf("%w: format version %d is not supported", errBadBlob, data[4])
	}
	b := &keyBlob{kind: keyKind(data[5])}
	if b.kind != kindPair && b.kind != kindPublic {
		return nil, fmt.Errorf("%w: unknown key kind %d", errBadBlob, b.kind)
	}
	rest := data[6:]
	fields := []*[]byte{&b.auth, &b.public, &b.private, &b.parent}
	for i, f := range fields {
		if len(rest) < 2 {
			return nil, fmt.Errorf("%w: truncated at field %d", errBadBlob, i)
		}
		n := int(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
		if len(rest) < n {
			return nil, fmt.Errorf("%w: field %d is truncated", errBadBlob, i)
		}
		*f = rest[:n:n]
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errBadBlob, len(rest))
	}
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](b.public)
	if err != nil {
		return nil, fmt.Errorf("%w: public area: %v", errBadBlob, err)
	}
	b.pub = pub
	if b.kind == kindPair && len(b.private) == 0 {
		return nil, fmt.Errorf("%w: key pair without a private part", errBadBlob)
	}
	return b, nil
}

// cacheID names the loaded object in the handle cache. A hash of the whole
// blob: two entries share a handle only if they are the same key with the
// same auth value.
func (b *keyBlob) cacheID() string {
	h := sha256.New()
	h.Write([]byte{byte(b.kind)})
	if b.rust {
		h.Write([]byte("rust"))
	}
	for _, f := range [][]byte{b.auth, b.public, b.private, b.parent} {
		var n [2]byte
		binary.BigEndian.PutUint16(n[:], uint16(len(f)))
		h.Write(n[:])
		h.Write(f)
	}
	return string(h.Sum(nil))
}
