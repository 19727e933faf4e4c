package software

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/service/provider/software/internal/ccm"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// aeadFor validates an AEAD request as Mbed TLS does (nonce length, then
// tag length) and returns the sealer with the algorithm's tag length.
func aeadFor(k *key, alg psa.Algorithm, nonce []byte) (aeadImpl, error) {
	base, tag := alg.AEADBase(), alg.AEADTagLength()
	if alg&psa.AlgAEADAtLeastThisLength != 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v is a policy wildcard, not an algorithm", alg)
	}
	n := len(nonce)
	switch base {
	case psa.AlgGCM:
		if n == 0 {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "GCM needs a nonce")
		}
		if tag != 4 && tag != 8 && (tag < 12 || tag > 16) {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "GCM tags are 4, 8 or 12-16 bytes, not %d", tag)
		}
	case psa.AlgCCM:
		if n < 7 || n > 13 {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "CCM nonces are 7-13 bytes, not %d", n)
		}
		if tag < 4 || tag > 16 || tag%2 != 0 {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "CCM tags are 4-16 bytes and even, not %d", tag)
		}
	case psa.AlgChaCha20Poly1305:
		if n == 8 {
			return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "ChaCha20-Poly1305 with a 64-bit nonce is not supported")
		}
		if n != chacha20poly1305.NonceSize {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "ChaCha20-Poly1305 nonces are 12 bytes, not %d", n)
		}
		if tag != chacha20poly1305.Overhead {
			return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "ChaCha20-Poly1305 is only supported with 16-byte tags")
		}
	default:
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v is not supported", alg)
	}
	switch k.attrs.Type {
	case psa.KeyTypeAES:
		b, err := aes.NewCipher(k.material)
		if err != nil {
			return nil, wire.Errorf(wire.StatusPsaErrorDataCorrupt, "AES key: %v", err)
		}
		if base == psa.AlgCCM {
			a, err := ccm.New(b, n, tag)
			if err != nil {
				return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v", err)
			}
			return stdAEAD{a, ccm.MaxPlaintext(a)}, nil
		}
		g, err := cipher.NewGCMWithNonceSize(b, n)
		if err != nil {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v", err)
		}
		return truncatedGCM{g, tag}, nil
	case psa.KeyTypeChaCha20:
		a, err := chacha20poly1305.New(k.material)
		if err != nil {
			return nil, wire.Errorf(wire.StatusPsaErrorDataCorrupt, "ChaCha20 key: %v", err)
		}
		return stdAEAD{a, 0}, nil
	}
	return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v with %v keys is not supported", alg, k.attrs.Type)
}

// aeadImpl seals and opens with one nonce size and tag length.
type aeadImpl interface {
	seal(nonce, pt, aad []byte) ([]byte, error)
	open(nonce, ct, aad []byte) ([]byte, error)
	tagSize() int
}

type stdAEAD struct {
	a cipher.AEAD
	// maxPT limits the payload (CCM's length field); 0 means no limit
	// that a request could reach.
	maxPT uint64
}

func (s stdAEAD) tagSize() int { return s.a.Overhead() }

func (s stdAEAD) seal(nonce, pt, aad []byte) ([]byte, error) {
	if s.maxPT != 0 && uint64(len(pt)) > s.maxPT {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the plaintext is too long for this nonce length")
	}
	return s.a.Seal(nil, nonce, pt, aad), nil
}

func (s stdAEAD) open(nonce, ct, aad []byte) ([]byte, error) {
	if s.maxPT != 0 && uint64(len(ct)-s.a.Overhead()) > s.maxPT {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the ciphertext is too long for this nonce length")
	}
	pt, err := s.a.Open(nil, nonce, ct, aad)
	if err != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidSignature, "authentication failed")
	}
	return pt, nil
}

// truncatedGCM is GCM with any nonce size and a tag of 4, 8 or 12-16
// bytes. The standard library cannot combine a custom nonce size with a
// custom tag size, nor does it allow 4- and 8-byte tags, but a GCM tag
// is only ever truncated: sealing keeps the first bytes of the full tag,
// and opening recomputes the full tag over the recovered plaintext.
type truncatedGCM struct {
	g   cipher.AEAD // 16-byte tags
	tag int
}

func (t truncatedGCM) tagSize() int { return t.tag }

func (t truncatedGCM) seal(nonce, pt, aad []byte) ([]byte, error) {
	out := t.g.Seal(nil, nonce, pt, aad)
	return out[:len(pt)+t.tag], nil
}

func (t truncatedGCM) open(nonce, ct, aad []byte) ([]byte, error) {
	if t.tag == 16 {
		pt, err := t.g.Open(nil, nonce, ct, aad)
		if err != nil {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidSignature, "authentication failed")
		}
		return pt, nil
	}
	body, tag := ct[:len(ct)-t.tag], ct[len(ct)-t.tag:]
	// GCM encryption XORs a key stream that depends only on key and
	// nonce: sealing zeros yields it.
	ks := t.g.Seal(nil, nonce, make([]byte, len(body)), nil)[:len(body)]
	pt := make([]byte, len(body))
	subtle.XORBytes(pt, body, ks)
	full := t.g.Seal(nil, nonce, pt, aad)
	if subtle.ConstantTimeCompare(full[len(body):len(body)+t.tag], tag) != 1 {
		clear(pt)
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidSignature, "authentication failed")
	}
	return pt, nil
}

func (p *Provider) aeadEncrypt(_ context.Context, c provider.Call[*pb.AeadEncryptRequest]) (*pb.AeadEncryptResult, error) {
	alg := c.Alg
	k, err := p.keyFor(c.App, c.Req.GetKeyName(), psa.UsageEncrypt, alg)
	if err != nil {
		return nil, err
	}
	if len(c.Req.GetPlaintext()) == 0 || len(c.Req.GetNonce()) == 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the plaintext and the nonce must not be empty")
	}
	a, err := aeadFor(k, alg, c.Req.GetNonce())
	if err != nil {
		return nil, err
	}
	ct, err := a.seal(c.Req.GetNonce(), c.Req.GetPlaintext(), c.Req.GetAdditionalData())
	if err != nil {
		return nil, err
	}
	return &pb.AeadEncryptResult{Ciphertext: ct}, nil
}

func (p *Provider) aeadDecrypt(_ context.Context, c provider.Call[*pb.AeadDecryptRequest]) (*pb.AeadDecryptResult, error) {
	alg := c.Alg
	k, err := p.keyFor(c.App, c.Req.GetKeyName(), psa.UsageDecrypt, alg)
	if err != nil {
		return nil, err
	}
	if len(c.Req.GetCiphertext()) == 0 || len(c.Req.GetNonce()) == 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the ciphertext and the nonce must not be empty")
	}
	a, err := aeadFor(k, alg, c.Req.GetNonce())
	if err != nil {
		return nil, err
	}
	if len(c.Req.GetCiphertext()) < a.tagSize() {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the ciphertext is shorter than the tag")
	}
	pt, err := a.open(c.Req.GetNonce(), c.Req.GetCiphertext(), c.Req.GetAdditionalData())
	if err != nil {
		return nil, err
	}
	return &pb.AeadDecryptResult{Plaintext: pt}, nil
}
