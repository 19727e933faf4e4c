// Package sha3 implements the SHA-3 fixed-length hash functions of FIPS 202
// (SHA3-224, SHA3-256, SHA3-384, SHA3-512). The module targets Go 1.22,
// whose standard library has no SHA-3, and only standard-library
// dependencies are allowed, so the permutation lives here. It favours
// clarity over speed: the provider hashes request-sized inputs.
package sha3

import (
	"encoding/binary"
	"hash"
	"math/bits"
)

// The round constants and rotation offsets are derived at start-up from
// the definitions in FIPS 202 (Algorithms 2 and 5) instead of being typed
// in, so a transcription slip cannot hide in a table.
var (
	roundConstants [24]uint64
	rotations      [25]int
)

func init() {
	// rho offsets: walk (x, y) from (1, 0) with (x, y) -> (y, 2x+3y).
	x, y := 1, 0
	for t := 0; t < 24; t++ {
		rotations[x+5*y] = ((t + 1) * (t + 2) / 2) % 64
		x, y = y, (2*x+3*y)%5
	}
	// iota constants: bit 2^j-1 of RC[i] is rc(j + 7i).
	for i := range roundConstants {
		var c uint64
		for j := 0; j <= 6; j++ {
			if rc(j + 7*i) {
				c |= 1 << ((1 << j) - 1)
			}
		}
		roundConstants[i] = c
	}
}

// rc is the output bit of the degree-8 LFSR of FIPS 202 Algorithm 5.
func rc(t int) bool {
	t %= 255
	if t == 0 {
		return true
	}
	r := uint16(1) // bit i holds R[i]
	for i := 1; i <= t; i++ {
		r <<= 1 // R = 0 || R
		r8 := (r >> 8) & 1
		r ^= r8 | r8<<4 | r8<<5 | r8<<6
		r &= 0xff
	}
	return r&1 == 1
}

// keccakF1600 applies the 24-round permutation to the state, whose lane
// (x, y) is a[x+5y].
func keccakF1600(a *[25]uint64) {
	var c [5]uint64
	var b [25]uint64
	for round := 0; round < 24; round++ {
		// theta
		for x := 0; x < 5; x++ {
			c[x] = a[x] ^ a[x+5] ^ a[x+10] ^ a[x+15] ^ a[x+20]
		}
		for x := 0; x < 5; x++ {
			d := c[(x+4)%5] ^ bits.RotateLeft64(c[(x+1)%5], 1)
			for y := 0; y < 25; y += 5 {
				a[x+y] ^= d
			}
		}
		// rho and pi: B[y, 2x+3y] = ROT(A[x, y], r[x, y])
		for x := 0; x < 5; x++ {
			for y := 0; y < 5; y++ {
				b[y+5*((2*x+3*y)%5)] = bits.RotateLeft64(a[x+5*y], rotations[x+5*y])
			}
		}
		// chi
		for y := 0; y < 25; y += 5 {
			for x := 0; x < 5; x++ {
				a[x+y] = b[x+y] ^ (^b[(x+1)%5+y] & b[(x+2)%5+y])
			}
		}
		// iota
		a[0] ^= roundConstants[round]
	}
}

// digest is a SHA-3 sponge with capacity 2*size bytes.
type digest struct {
	state [25]uint64
	buf   []byte // pending input, shorter than rate
	rate  int
	size  int
}

func newDigest(size int) *digest {
	rate := 200 - 2*size
	return &digest{rate: rate, size: size, buf: make([]byte, 0, rate)}
}

// New224, New256, New384 and New512 return the FIPS 202 hash functions.
func New224() hash.Hash { return newDigest(28) }
func New256() hash.Hash { return newDigest(32) }
func New384() hash.Hash { return newDigest(48) }
func New512() hash.Hash { return newDigest(64) }

func (d *digest) Size() int      { return d.size }
func (d *digest) BlockSize() int { return d.rate }

func (d *digest) Reset() {
	d.state = [25]uint64{}
	d.buf = d.buf[:0]
}

func (d *digest) absorb(block []byte) {
	for i := 0; i < len(block)/8; i++ {
		d.state[i] ^= binary.LittleEndian.Uint64(block[8*i:])
	}
	keccakF1600(&d.state)
}

func (d *digest) Write(p []byte) (int, error) {
	n := len(p)
	if len(d.buf) > 0 {
		k := copy(d.buf[len(d.buf):d.rate], p)
		d.buf = d.buf[:len(d.buf)+k]
		p = p[k:]
		if len(d.buf) < d.rate {
			return n, nil
		}
		d.absorb(d.buf)
		d.buf = d.buf[:0]
	}
	for len(p) >= d.rate {
		d.absorb(p[:d.rate])
		p = p[d.rate:]
	}
	d.buf = append(d.buf, p...)
	return n, nil
}

// Sum appends the digest of the data written so far; d is not changed.
func (d *digest) Sum(in []byte) []byte {
	c := *d
	last := make([]byte, d.rate)
	copy(last, d.buf)
	// SHA-3 domain separation bits 01, then pad10*1.
	last[len(d.buf)] ^= 0x06
	last[d.rate-1] ^= 0x80
	c.absorb(last)
	out := make([]byte, 0, 200)
	for i := 0; i < (d.size+7)/8; i++ {
		out = binary.LittleEndian.AppendUint64(out, c.state[i])
	}
	return append(in, out[:d.size]...)
}
