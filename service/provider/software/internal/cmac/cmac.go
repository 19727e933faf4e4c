// Package cmac implements the CMAC message authentication code of NIST SP
// 800-38B (RFC 4493) over a 128-bit block cipher.
package cmac

import (
	"crypto/cipher"
	"crypto/subtle"
	"errors"
)

const bs = 16

// Sum returns the full 16-byte CMAC of msg under the block cipher b.
func Sum(b cipher.Block, msg []byte) ([bs]byte, error) {
	var out [bs]byte
	if b.BlockSize() != bs {
		return out, errors.New("cmac: block size must be 16 bytes")
	}
	// Subkeys: L = E(0); K1 = dbl(L); K2 = dbl(K1).
	var l [bs]byte
	b.Encrypt(l[:], l[:])
	k1 := dbl(l)
	k2 := dbl(k1)

	n := (len(msg) + bs - 1) / bs
	complete := n > 0 && len(msg)%bs == 0
	if n == 0 {
		n = 1
	}
	var x [bs]byte
	for i := 0; i < n-1; i++ {
		subtle.XORBytes(x[:], x[:], msg[i*bs:(i+1)*bs])
		b.Encrypt(x[:], x[:])
	}
	var last [bs]byte
	rest := msg[(n-1)*bs:]
	if complete {
		subtle.XORBytes(last[:], rest, k1[:])
	} else {
		copy(last[:], rest)
		last[len(rest)] = 0x80
		subtle.XORBytes(last[:], last[:], k2[:])
	}
	subtle.XORBytes(x[:], x[:], last[:])
	b.Encrypt(out[:], x[:])
	return out, nil
}

// dbl multiplies by x in GF(2^128) with the polynomial x^128+x^7+x^2+x+1.
func dbl(in [bs]byte) [bs]byte {
	var out [bs]byte
	carry := in[0] >> 7
	for i := 0; i < bs-1; i++ {
		out[i] = in[i]<<1 | in[i+1]>>7
	}
	out[bs-1] = in[bs-1]<<1 ^ byte(subtle.ConstantTimeSelect(int(carry), 0x87, 0))
	return out
}
