package chacha20poly1305

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// ErrOpen is returned when a ciphertext fails authentication.
var ErrOpen = errors.New("chacha20poly1305: message authentication failed")

type aead struct {
	key [KeySize]byte
}

// New returns the RFC 8439 AEAD (12-byte nonce, 16-byte tag) for key.
func New(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, errors.New("chacha20poly1305: bad key length")
	}
	a := &aead{}
	copy(a.key[:], key)
	return a, nil
}

func (a *aead) NonceSize() int { return NonceSize }
func (a *aead) Overhead() int  { return TagSize }

// tag computes the RFC 8439 section 2.8 MAC over aad and ciphertext with
// the one-time key from block 0.
func (a *aead) tag(nonce, aad, ct []byte) [TagSize]byte {
	var n [NonceSize]byte
	copy(n[:], nonce)
	var b0 [blockSize]byte
	block(&b0, &a.key, 0, &n)
	var otk [32]byte
	copy(otk[:], b0[:32])
	clear(b0[:])
	p := newPoly1305(&otk)
	clear(otk[:])
	var pad [16]byte
	p.Write(aad)
	p.Write(pad[:(16-len(aad)%16)%16])
	p.Write(ct)
	p.Write(pad[:(16-len(ct)%16)%16])
	var lens [16]byte
	binary.LittleEndian.PutUint64(lens[0:], uint64(len(aad)))
	binary.LittleEndian.PutUint64(lens[8:], uint64(len(ct)))
	p.Write(lens[:])
	return p.Sum()
}

func (a *aead) Seal(dst, nonce, plaintext, aad []byte) []byte {
	if len(nonce) != NonceSize {
		panic("chacha20poly1305: bad nonce length passed to Seal")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+TagSize)
	if err := XORKeyStream(out, plaintext, a.key[:], nonce, 1); err != nil {
		panic(err) // only for messages over 256 GiB
	}
	t := a.tag(nonce, aad, out[:len(plaintext)])
	copy(out[len(plaintext):], t[:])
	return ret
}

func (a *aead) Open(dst, nonce, ciphertext, aad []byte) ([]byte, error) {
	if len(nonce) != NonceSize {
		return nil, errors.New("chacha20poly1305: bad nonce length")
	}
	if len(ciphertext) < TagSize {
		return nil, ErrOpen
	}
	ct := ciphertext[:len(ciphertext)-TagSize]
	want := a.tag(nonce, aad, ct)
	if subtle.ConstantTimeCompare(want[:], ciphertext[len(ct):]) != 1 {
		return nil, ErrOpen
	}
	ret, out := sliceForAppend(dst, len(ct))
	if err := XORKeyStream(out, ct, a.key[:], nonce, 1); err != nil {
		return nil, err
	}
	return ret, nil
}

// sliceForAppend extends in by n bytes, returning the whole slice and the
// new tail.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}
