package chacha20poly1305

import "encoding/binary"

// TagSize is the Poly1305 tag size in bytes.
const TagSize = 16

// poly1305 is the one-time authenticator of RFC 8439 section 2.5, with
// the accumulator and r held in five 26-bit limbs so that every product
// fits in 64 bits and no step branches on secret data.
type poly1305 struct {
	r   [5]uint32
	s   [4]uint32
	h   [5]uint32
	buf [16]byte
	n   int // bytes pending in buf
}

const mask26 = 0x3ffffff

func newPoly1305(key *[32]byte) *poly1305 {
	p := &poly1305{}
	// r is clamped as the RFC requires (r &= 0x0ffffffc0ffffffc0ffffffc0fffffff).
	p.r[0] = binary.LittleEndian.Uint32(key[0:]) & 0x3ffffff
	p.r[1] = (binary.LittleEndian.Uint32(key[3:]) >> 2) & 0x3ffff03
	p.r[2] = (binary.LittleEndian.Uint32(key[6:]) >> 4) & 0x3ffc0ff
	p.r[3] = (binary.LittleEndian.Uint32(key[9:]) >> 6) & 0x3f03fff
	p.r[4] = (binary.LittleEndian.Uint32(key[12:]) >> 8) & 0x00fffff
	for i := 0; i < 4; i++ {
		p.s[i] = binary.LittleEndian.Uint32(key[16+4*i:])
	}
	return p
}

// blocks absorbs whole 16-byte blocks; hibit is 1<<24 for full blocks and
// 0 for the final, already padded, partial block.
func (p *poly1305) blocks(m []byte, hibit uint32) {
	r0, r1, r2, r3, r4 := uint64(p.r[0]), uint64(p.r[1]), uint64(p.r[2]), uint64(p.r[3]), uint64(p.r[4])
	s1, s2, s3, s4 := r1*5, r2*5, r3*5, r4*5
	h0, h1, h2, h3, h4 := p.h[0], p.h[1], p.h[2], p.h[3], p.h[4]
	for len(m) >= 16 {
		h0 += binary.LittleEndian.Uint32(m[0:]) & mask26
		h1 += (binary.LittleEndian.Uint32(m[3:]) >> 2) & mask26
		h2 += (binary.LittleEndian.Uint32(m[6:]) >> 4) & mask26
		h3 += (binary.LittleEndian.Uint32(m[9:]) >> 6) & mask26
		h4 += (binary.LittleEndian.Uint32(m[12:]) >> 8) | hibit

		d0 := uint64(h0)*r0 + uint64(h1)*s4 + uint64(h2)*s3 + uint64(h3)*s2 + uint64(h4)*s1
		d1 := uint64(h0)*r1 + uint64(h1)*r0 + uint64(h2)*s4 + uint64(h3)*s3 + uint64(h4)*s2
		d2 := uint64(h0)*r2 + uint64(h1)*r1 + uint64(h2)*r0 + uint64(h3)*s4 + uint64(h4)*s3
		d3 := uint64(h0)*r3 + uint64(h1)*r2 + uint64(h2)*r1 + uint64(h3)*r0 + uint64(h4)*s4
		d4 := uint64(h0)*r4 + uint64(h1)*r3 + uint64(h2)*r2 + uint64(h3)*r1 + uint64(h4)*r0

		c := d0 >> 26
		h0 = uint32(d0) & mask26
		d1 += c
		c = d1 >> 26
		h1 = uint32(d1) & mask26
		d2 += c
		c = d2 >> 26
		h2 = uint32(d2) & mask26
		d3 += c
		c = d3 >> 26
		h3 = uint32(d3) & mask26
		d4 += c
		c = d4 >> 26
		h4 = uint32(d4) & mask26
		h0 += uint32(c) * 5
		h1 += h0 >> 26
		h0 &= mask26

		m = m[16:]
	}
	p.h = [5]uint32{h0, h1, h2, h3, h4}
}

func (p *poly1305) Write(m []byte) {
	if p.n > 0 {
		k := copy(p.buf[p.n:], m)
		p.n += k
		m = m[k:]
		if p.n < 16 {
			return
		}
		p.blocks(p.buf[:], 1<<24)
		p.n = 0
	}
	full := len(m) &^ 15
	p.blocks(m[:full], 1<<24)
	p.n = copy(p.buf[:], m[full:])
}

// Sum returns the tag. The authenticator must not be used afterwards.
func (p *poly1305) Sum() [TagSize]byte {
	if p.n > 0 {
		p.buf[p.n] = 1
		clear(p.buf[p.n+1:])
		p.blocks(p.buf[:], 0)
	}
	h0, h1, h2, h3, h4 := p.h[0], p.h[1], p.h[2], p.h[3], p.h[4]
	// Fully carry h.
	c := h1 >> 26
	h1 &= mask26
	h2 += c
	c = h2 >> 26
	h2 &= mask26
	h3 += c
	c = h3 >> 26
	h3 &= mask26
	h4 += c
	c = h4 >> 26
	h4 &= mask26
	h0 += c * 5
	c = h0 >> 26
	h0 &= mask26
	h1 += c

	// g = h + 5 - 2^130; keep g when it does not underflow, i.e. h >= p.
	g0 := h0 + 5
	c = g0 >> 26
	g0 &= mask26
	g1 := h1 + c
	c = g1 >> 26
	g1 &= mask26
	g2 := h2 + c
	c = g2 >> 26
	g2 &= mask26
	g3 := h3 + c
	c = g3 >> 26
	g3 &= mask26
	g4 := h4 + c - (1 << 26)

	sel := (g4 >> 31) - 1 // all ones when g4 did not go negative
	g0 &= sel
	g1 &= sel
	g2 &= sel
	g3 &= sel
	g4 &= sel
	sel = ^sel
	h0 = h0&sel | g0
	h1 = h1&sel | g1
	h2 = h2&sel | g2
	h3 = h3&sel | g3
	h4 = h4&sel | g4

	// h mod 2^128, as four 32-bit words.
	w0 := h0 | h1<<26
	w1 := h1>>6 | h2<<20
	w2 := h2>>12 | h3<<14
	w3 := h3>>18 | h4<<8

	// tag = (h + s) mod 2^128
	var tag [TagSize]byte
	f := uint64(w0) + uint64(p.s[0])
	binary.LittleEndian.PutUint32(tag[0:], uint32(f))
	f = uint64(w1) + uint64(p.s[1]) + f>>32
	binary.LittleEndian.PutUint32(tag[4:], uint32(f))
	f = uint64(w2) + uint64(p.s[2]) + f>>32
	binary.LittleEndian.PutUint32(tag[8:], uint32(f))
	f = uint64(w3) + uint64(p.s[3]) + f>>32
	binary.LittleEndian.PutUint32(tag[12:], uint32(f))
	*p = poly1305{}
	return tag
}

// Poly1305 returns the one-time authenticator of msg under key.
func Poly1305(key *[32]byte, msg []byte) [TagSize]byte {
	p := newPoly1305(key)
	p.Write(msg)
	return p.Sum()
}
