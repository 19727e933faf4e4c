// Package chacha20poly1305 implements the ChaCha20 stream cipher, the
// Poly1305 one-time authenticator and their AEAD combination as specified
// in RFC 8439 (96-bit nonce, 32-bit block counter). The Go 1.22 standard
// library does not export them and golang.org/x/crypto is not a
// dependency we may take, so they live here.
package chacha20poly1305

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

const (
	// KeySize is the ChaCha20 key size in bytes.
	KeySize = 32
	// NonceSize is the RFC 8439 nonce size in bytes.
	NonceSize = 12
	blockSize = 64
)

// errCounterOverflow reports a message longer than the 32-bit block
// counter can cover (256 GiB), which RFC 8439 forbids.
var errCounterOverflow = errors.New("chacha20: message too long for the block counter")

func quarterRound(a, b, c, d uint32) (uint32, uint32, uint32, uint32) {
	a += b
	d = bits.RotateLeft32(d^a, 16)
	c += d
	b = bits.RotateLeft32(b^c, 12)
	a += b
	d = bits.RotateLeft32(d^a, 8)
	c += d
	b = bits.RotateLeft32(b^c, 7)
	return a, b, c, d
}

// block computes the ChaCha20 block function (RFC 8439 section 2.3) into out.
func block(out *[blockSize]byte, key *[KeySize]byte, counter uint32, nonce *[NonceSize]byte) {
	var s [16]uint32
	s[0], s[1], s[2], s[3] = 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574
	for i := 0; i < 8; i++ {
		s[4+i] = binary.LittleEndian.Uint32(key[4*i:])
	}
	s[12] = counter
	for i := 0; i < 3; i++ {
		s[13+i] = binary.LittleEndian.Uint32(nonce[4*i:])
	}
	w := s
	for i := 0; i < 10; i++ {
		// column rounds
		w[0], w[4], w[8], w[12] = quarterRound(w[0], w[4], w[8], w[12])
		w[1], w[5], w[9], w[13] = quarterRound(w[1], w[5], w[9], w[13])
		w[2], w[6], w[10], w[14] = quarterRound(w[2], w[6], w[10], w[14])
		w[3], w[7], w[11], w[15] = quarterRound(w[3], w[7], w[11], w[15])
		// diagonal rounds
		w[0], w[5], w[10], w[15] = quarterRound(w[0], w[5], w[10], w[15])
		w[1], w[6], w[11], w[12] = quarterRound(w[1], w[6], w[11], w[12])
		w[2], w[7], w[8], w[13] = quarterRound(w[2], w[7], w[8], w[13])
		w[3], w[4], w[9], w[14] = quarterRound(w[3], w[4], w[9], w[14])
	}
	for i := range w {
		binary.LittleEndian.PutUint32(out[4*i:], w[i]+s[i])
	}
}

// XORKeyStream sets dst to src XOR the ChaCha20 key stream for key and
// nonce, starting at block counter. dst and src may overlap exactly.
func XORKeyStream(dst, src, key, nonce []byte, counter uint32) error {
	if len(key) != KeySize {
		return errors.New("chacha20: bad key length")
	}
	if len(nonce) != NonceSize {
		return errors.New("chacha20: bad nonce length")
	}
	if len(dst) < len(src) {
		return errors.New("chacha20: output smaller than input")
	}
	blocks := (uint64(len(src)) + blockSize - 1) / blockSize
	if uint64(counter)+blocks > 1<<32 {
		return errCounterOverflow
	}
	var k [KeySize]byte
	var n [NonceSize]byte
	copy(k[:], key)
	copy(n[:], nonce)
	var ks [blockSize]byte
	for off := 0; off < len(src); off += blockSize {
		block(&ks, &k, counter, &n)
		counter++
		end := min(off+blockSize, len(src))
		for i := off; i < end; i++ {
			dst[i] = src[i] ^ ks[i-off]
		}
	}
	clear(ks[:])
	clear(k[:])
	return nil
}
