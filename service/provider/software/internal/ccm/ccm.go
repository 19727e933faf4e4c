// Package ccm implements the CCM authenticated encryption mode of NIST SP
// 800-38C (RFC 3610) over a 128-bit block cipher, with every nonce length
// (7 to 13 bytes) and tag length (4 to 16 bytes, even) the standard allows.
// The Go standard library has no CCM.
package ccm

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// ErrOpen is returned when a ciphertext fails authentication.
var ErrOpen = errors.New("ccm: message authentication failed")

type ccm struct {
	b         cipher.Block
	nonceSize int
	tagSize   int
}

// New returns a CCM AEAD with the given nonce and tag sizes. The block
// cipher must have a 16-byte block.
func New(b cipher.Block, nonceSize, tagSize int) (cipher.AEAD, error) {
	if b.BlockSize() != 16 {
		return nil, errors.New("ccm: block size must be 16 bytes")
	}
	if nonceSize < 7 || nonceSize > 13 {
		return nil, errors.New("ccm: nonce must be 7 to 13 bytes")
	}
	if tagSize < 4 || tagSize > 16 || tagSize%2 != 0 {
		return nil, errors.New("ccm: tag must be 4, 6, 8, 10, 12, 14 or 16 bytes")
	}
	return &ccm{b: b, nonceSize: nonceSize, tagSize: tagSize}, nil
}

func (c *ccm) NonceSize() int { return c.nonceSize }
func (c *ccm) Overhead() int  { return c.tagSize }

// maxLen is the largest payload the q = 15 - nonceSize length field holds.
func (c *ccm) maxLen() uint64 {
	q := 15 - c.nonceSize
	if q >= 8 {
		return 1<<63 - 1
	}
	return 1<<(8*q) - 1
}

// counterBlock returns Ctr_i: flags (q-1), the nonce, then i in q bytes.
func (c *ccm) counterBlock(nonce []byte, i uint64) [16]byte {
	var ctr [16]byte
	q := 15 - c.nonceSize
	ctr[0] = byte(q - 1)
	copy(ctr[1:], nonce)
	for j := 15; j > c.nonceSize; j-- {
		ctr[j] = byte(i)
		i >>= 8
	}
	return ctr
}

// mac computes the CBC-MAC T of SP 800-38C section 6.1 (untruncated).
func (c *ccm) mac(nonce, plaintext, aad []byte) [16]byte {
	q := 15 - c.nonceSize
	var y [16]byte
	// B0: flags, nonce, payload length.
	flags := byte((c.tagSize-2)/2) << 3
	flags |= byte(q - 1)
	if len(aad) > 0 {
		flags |= 0x40
	}
	y[0] = flags
	copy(y[1:], nonce)
	n := uint64(len(plaintext))
	for j := 15; j > c.nonceSize; j-- {
		y[j] = byte(n)
		n >>= 8
	}
	c.b.Encrypt(y[:], y[:])

	var blk [16]byte
	absorb := func(data []byte, used int) {
		// used bytes of blk are already filled; data continues the block.
		for len(data) > 0 {
			k := copy(blk[used:], data)
			data = data[k:]
			used += k
			if used == 16 {
				subtle.XORBytes(y[:], y[:], blk[:])
				c.b.Encrypt(y[:], y[:])
				used = 0
				blk = [16]byte{}
			}
		}
		if used > 0 {
			// zero padding to the block boundary
			subtle.XORBytes(y[:], y[:], blk[:])
			c.b.Encrypt(y[:], y[:])
			blk = [16]byte{}
		}
	}
	if len(aad) > 0 {
		// The associated data is prefixed with its encoded length.
		var hdr []byte
		a := uint64(len(aad))
		switch {
		case a < 0xff00:
			hdr = binary.BigEndian.AppendUint16(nil, uint16(a))
		case a <= 0xffffffff:
			hdr = binary.BigEndian.AppendUint32([]byte{0xff, 0xfe}, uint32(a))
		default:
			hdr = binary.BigEndian.AppendUint64([]byte{0xff, 0xff}, a)
		}
		used := copy(blk[:], hdr)
		absorb(aad, used)
	}
	absorb(plaintext, 0)
	return y
}

// ctr XORs src with the key stream starting at counter block 1.
func (c *ccm) ctr(dst, src, nonce []byte) {
	var ks [16]byte
	for i := 0; i*16 < len(src); i++ {
		ctr := c.counterBlock(nonce, uint64(i+1))
		c.b.Encrypt(ks[:], ctr[:])
		end := min((i+1)*16, len(src))
		subtle.XORBytes(dst[i*16:end], src[i*16:end], ks[:])
	}
}

// tagMask returns S0 = E(Ctr_0), which masks the tag.
func (c *ccm) tagMask(nonce []byte) [16]byte {
	ctr := c.counterBlock(nonce, 0)
	var s0 [16]byte
	c.b.Encrypt(s0[:], ctr[:])
	return s0
}

func (c *ccm) Seal(dst, nonce, plaintext, aad []byte) []byte {
	if len(nonce) != c.nonceSize {
		panic("ccm: bad nonce length passed to Seal")
	}
	if uint64(len(plaintext)) > c.maxLen() {
		panic("ccm: plaintext too long for the nonce length")
	}
	t := c.mac(nonce, plaintext, aad)
	s0 := c.tagMask(nonce)
	ret, out := sliceForAppend(dst, len(plaintext)+c.tagSize)
	c.ctr(out, plaintext, nonce)
	subtle.XORBytes(out[len(plaintext):], t[:c.tagSize], s0[:c.tagSize])
	return ret
}

func (c *ccm) Open(dst, nonce, ciphertext, aad []byte) ([]byte, error) {
	if len(nonce) != c.nonceSize {
		return nil, errors.New("ccm: bad nonce length")
	}
	if len(ciphertext) < c.tagSize {
		return nil, ErrOpen
	}
	ct := ciphertext[:len(ciphertext)-c.tagSize]
	if uint64(len(ct)) > c.maxLen() {
		return nil, ErrOpen
	}
	ret, out := sliceForAppend(dst, len(ct))
	c.ctr(out, ct, nonce)
	t := c.mac(nonce, out, aad)
	s0 := c.tagMask(nonce)
	var want [16]byte
	subtle.XORBytes(want[:c.tagSize], t[:c.tagSize], s0[:c.tagSize])
	if subtle.ConstantTimeCompare(want[:c.tagSize], ciphertext[len(ct):]) != 1 {
		clear(out)
		return nil, ErrOpen
	}
	return ret, nil
}

// MaxPlaintext reports the longest payload the AEAD accepts (the length
// field shrinks as the nonce grows).
func MaxPlaintext(a cipher.AEAD) uint64 {
	if c, ok := a.(*ccm); ok {
		return c.maxLen()
	}
	return 0
}

func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}
