// Package rfc6979 implements deterministic ECDSA (RFC 6979) on the NIST
// curves P-256, P-384 and P-521. The Go 1.22 standard library only signs
// with random nonces.
//
// The nonce k is derived with HMAC-DRBG from the private key and the
// message hash as RFC 6979 section 3.2 specifies; the point k·G is
// computed by crypto/ecdh's constant-time scalar multiplication. The
// final modular arithmetic uses math/big, which is not constant-time, so
// the nonce is blinded with a random factor before inversion.
package rfc6979

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"errors"
	"hash"
	"io"
	"math/big"
)

// ecdhCurve maps an elliptic curve to its crypto/ecdh counterpart.
func ecdhCurve(c elliptic.Curve) (ecdh.Curve, error) {
	switch c {
	case elliptic.P256():
		return ecdh.P256(), nil
	case elliptic.P384():
		return ecdh.P384(), nil
	case elliptic.P521():
		return ecdh.P521(), nil
	}
	return nil, errors.New("rfc6979: unsupported curve")
}

// bits2int is RFC 6979 section 2.3.2: the leftmost qlen bits of b.
func bits2int(b []byte, qlen int) *big.Int {
	v := new(big.Int).SetBytes(b)
	if blen := len(b) * 8; blen > qlen {
		v.Rsh(v, uint(blen-qlen))
	}
	return v
}

// int2octets is RFC 6979 section 2.3.3.
func int2octets(v *big.Int, rolen int) []byte {
	return v.FillBytes(make([]byte, rolen))
}

// bits2octets is RFC 6979 section 2.3.4.
func bits2octets(b []byte, q *big.Int, qlen, rolen int) []byte {
	z := bits2int(b, qlen)
	if z.Cmp(q) >= 0 {
		z.Sub(z, q)
	}
	return int2octets(z, rolen)
}

// nonces is the HMAC-DRBG of RFC 6979 section 3.2 steps b-h.
type nonces struct {
	newHash func() hash.Hash
	k, v    []byte
	started bool
}

func (g *nonces) hmac(key []byte, parts ...[]byte) []byte {
	m := hmac.New(g.newHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func newNonces(newHash func() hash.Hash, x, h1 []byte) *nonces {
	g := &nonces{newHash: newHash}
	hlen := newHash().Size()
	g.v = make([]byte, hlen)
	for i := range g.v {
		g.v[i] = 0x01 // step b
	}
	g.k = make([]byte, hlen)                    // step c
	g.k = g.hmac(g.k, g.v, []byte{0x00}, x, h1) // step d
	g.v = g.hmac(g.k, g.v)                      // step e
	g.k = g.hmac(g.k, g.v, []byte{0x01}, x, h1) // step f
	g.v = g.hmac(g.k, g.v)                      // step g
	return g
}

// next returns the next candidate k in [1, q-1] (step h).
func (g *nonces) next(q *big.Int, qlen int) *big.Int {
	for {
		if g.started {
			g.k = g.hmac(g.k, g.v, []byte{0x00})
			g.v = g.hmac(g.k, g.v)
		}
		g.started = true
		var t []byte
		for len(t)*8 < qlen {
			g.v = g.hmac(g.k, g.v)
			t = append(t, g.v...)
		}
		k := bits2int(t, qlen)
		if k.Sign() > 0 && k.Cmp(q) < 0 {
			return k
		}
	}
}

// Nonce returns the RFC 6979 nonce k for the first signing attempt; it
// exists for testing against the RFC's published k values.
func Nonce(priv *ecdsa.PrivateKey, newHash func() hash.Hash, digest []byte) *big.Int {
	q := priv.Curve.Params().N
	qlen := q.BitLen()
	rolen := (qlen + 7) / 8
	g := newNonces(newHash, int2octets(priv.D, rolen), bits2octets(digest, q, qlen, rolen))
	return g.next(q, qlen)
}

// Sign returns the deterministic signature (r, s) of digest, a hash the
// caller computed, with the HMAC of RFC 6979 built on newHash. rnd only
// feeds the blinding factor; it does not influence the result.
func Sign(priv *ecdsa.PrivateKey, newHash func() hash.Hash, digest []byte, rnd io.Reader) (r, s *big.Int, err error) {
	curve, err := ecdhCurve(priv.Curve)
	if err != nil {
		return nil, nil, err
	}
	q := priv.Curve.Params().N
	qlen := q.BitLen()
	rolen := (qlen + 7) / 8
	if priv.D == nil || priv.D.Sign() <= 0 || priv.D.Cmp(q) >= 0 {
		return nil, nil, errors.New("rfc6979: invalid private key")
	}
	e := bits2int(digest, qlen)
	g := newNonces(newHash, int2octets(priv.D, rolen), bits2octets(digest, q, qlen, rolen))
	for {
		k := g.next(q, qlen)
		kp, err := curve.NewPrivateKey(int2octets(k, rolen))
		if err != nil {
			return nil, nil, err
		}
		pt := kp.PublicKey().Bytes() // 0x04 || X || Y
		r = new(big.Int).SetBytes(pt[1 : 1+rolen])
		r.Mod(r, q)
		if r.Sign() == 0 {
			continue
		}
		// s = k^-1 (e + r·d) mod q, computed as (k·b)^-1 · b·(e + r·d)
		// with a random b so the inversion never sees k itself.
		b, err := randScalar(rnd, q)
		if err != nil {
			return nil, nil, err
		}
		kb := new(big.Int).Mul(k, b)
		kb.Mod(kb, q)
		kbInv := new(big.Int).ModInverse(kb, q)
		s = new(big.Int).Mul(r, priv.D)
		s.Add(s, e)
		s.Mul(s, b)
		s.Mod(s, q)
		s.Mul(s, kbInv)
		s.Mod(s, q)
		if s.Sign() == 0 {
			continue
		}
		return r, s, nil
	}
}

// randScalar returns a uniform value in [1, q-1].
func randScalar(rnd io.Reader, q *big.Int) (*big.Int, error) {
	buf := make([]byte, (q.BitLen()+7)/8+8) // 64 extra bits make the bias negligible
	if _, err := io.ReadFull(rnd, buf); err != nil {
		return nil, err
	}
	v := new(big.Int).SetBytes(buf)
	qm1 := new(big.Int).Sub(q, big.NewInt(1))
	v.Mod(v, qm1)
	return v.Add(v, big.NewInt(1)), nil
}
