package client

import (
	"context"
	"crypto"
	"crypto/rsa"
	"fmt"
	"io"

	"github.com/parsec-go/parsec/psa"
)

// KeySigner is a crypto.Signer backed by a Parsec key, so that Go's crypto
// packages (crypto/x509 certificates and CSRs, crypto/tls) can sign with a
// key that never leaves the service. Get one with Client.Signer.
type KeySigner struct {
	c     *Client
	ctx   context.Context
	name  string
	attrs psa.Attributes
	pub   crypto.PublicKey
}

// Signer returns a crypto.Signer for key name. crypto.Signer's methods take
// no context, so ctx bounds every signature made through it. The algorithm
// comes from the key's policy; Sign fails if the policy does not allow what
// the caller asks for.
func (c *Client) Signer(ctx context.Context, name string) (*KeySigner, error) {
	attrs, err := c.KeyAttributes(ctx, name)
	if err != nil {
		return nil, err
	}
	data, err := c.ExportPublicKey(ctx, name)
	if err != nil {
		return nil, err
	}
	pub, err := ParsePublicKey(attrs, data)
	if err != nil {
		return nil, err
	}
	return &KeySigner{c: c, ctx: ctx, name: name, attrs: attrs, pub: pub}, nil
}

// Public returns the key's public part (*rsa.PublicKey or *ecdsa.PublicKey).
func (s *KeySigner) Public() crypto.PublicKey { return s.pub }

// Attributes returns the key's attributes.
func (s *KeySigner) Attributes() psa.Attributes { return s.attrs }

// Sign signs digest, made with opts.HashFunc(). For RSA-PSS keys opts must
// be *rsa.PSSOptions with a salt as long as the hash (PSA's only choice) or
// rsa.PSSSaltLengthAuto. ECDSA signatures are returned in ASN.1 DER, as
// crypto.Signer requires.
func (s *KeySigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	alg, err := SignatureAlgorithm(s.attrs.Alg, opts)
	if err != nil {
		return nil, fmt.Errorf("signing with key %q: %w", s.name, err)
	}
	sig, err := s.c.SignHash(s.ctx, s.name, alg, digest)
	if err != nil {
		return nil, err
	}
	if alg.IsECDSA() {
		return ECDSASignatureToASN1(sig)
	}
	return sig, nil
}

var hashAlgs = [...]struct {
	h crypto.Hash
	a psa.Algorithm
}{
	{crypto.SHA1, psa.AlgSHA1},
	{crypto.SHA224, psa.AlgSHA224},
	{crypto.SHA256, psa.AlgSHA256},
	{crypto.SHA384, psa.AlgSHA384},
	{crypto.SHA512, psa.AlgSHA512},
	{crypto.SHA512_224, psa.AlgSHA512_224},
	{crypto.SHA512_256, psa.AlgSHA512_256},
	{crypto.SHA3_224, psa.AlgSHA3_224},
	{crypto.SHA3_256, psa.AlgSHA3_256},
	{crypto.SHA3_384, psa.AlgSHA3_384},
	{crypto.SHA3_512, psa.AlgSHA3_512},
	{crypto.MD5, psa.AlgMD5},
	{crypto.RIPEMD160, psa.AlgRIPEMD160},
}

// HashAlgorithm maps a Go hash to its PSA algorithm.
func HashAlgorithm(h crypto.Hash) (psa.Algorithm, bool) {
	for _, e := range hashAlgs {
		if e.h == h {
			return e.a, true
		}
	}
	return psa.AlgNone, false
}

// GoHash maps a PSA hash algorithm to Go's crypto.Hash.
func GoHash(a psa.Algorithm) (crypto.Hash, bool) {
	for _, e := range hashAlgs {
		if e.a == a {
			return e.h, true
		}
	}
	return 0, false
}

// SignatureAlgorithm picks the PSA signature algorithm that a key whose
// policy is policy uses to sign a digest described by opts (as passed to
// crypto.Signer.Sign). A policy with a wildcard hash takes the hash of opts.
func SignatureAlgorithm(policy psa.Algorithm, opts crypto.SignerOpts) (psa.Algorithm, error) {
	if !policy.IsSign() {
		return 0, fmt.Errorf("%w: the key's policy %v is not a signature algorithm", ErrUnsupportedKey, policy)
	}
	pss, isPSS := opts.(*rsa.PSSOptions)
	if policy == psa.AlgECDSAAny || policy == psa.AlgRSAPKCS1v15SignRaw {
		if policy == psa.AlgRSAPKCS1v15SignRaw {
			return 0, fmt.Errorf("%w: raw PKCS#1 v1.5 keys sign DigestInfo, not digests", ErrUnsupportedKey)
		}
		return policy, nil
	}
	h, ok := HashAlgorithm(opts.HashFunc())
	if !ok {
		return 0, fmt.Errorf("%w: hash %v has no PSA equivalent", ErrUnsupportedKey, opts.HashFunc())
	}
	var alg psa.Algorithm
	switch {
	case policy.IsRSAPSS():
		if !isPSS {
			return 0, fmt.Errorf("%w: the key signs with RSA-PSS; pass *rsa.PSSOptions", ErrUnsupportedKey)
		}
		if sl := pss.SaltLength; sl != rsa.PSSSaltLengthEqualsHash && sl != rsa.PSSSaltLengthAuto && sl != opts.HashFunc().Size() {
			return 0, fmt.Errorf("%w: PSA RSA-PSS uses a salt as long as the hash, not %d bytes", ErrUnsupportedKey, sl)
		}
		alg = psa.RSAPSS(h)
	case policy.IsRSAPKCS1v15Sign():
		if isPSS {
			return 0, fmt.Errorf("%w: the key signs with RSA PKCS#1 v1.5, not PSS", ErrUnsupportedKey)
		}
		alg = psa.RSAPKCS1v15Sign(h)
	case policy.IsDeterministicECDSA():
		alg = psa.DeterministicECDSA(h)
	case policy.IsECDSA():
		alg = psa.ECDSA(h)
	default:
		return 0, fmt.Errorf("%w: signature policy %v", ErrUnsupportedKey, policy)
	}
	if ph := policy.HashAlg(); ph != psa.AlgAnyHash && ph != h {
		return 0, fmt.Errorf("%w: the key's policy %v does not allow hash %v", ErrUnsupportedKey, policy, h)
	}
	return alg, nil
}

// KeyDecrypter is a crypto.Decrypter backed by a Parsec RSA encryption key.
// Get one with Client.Decrypter.
type KeyDecrypter struct {
	c     *Client
	ctx   context.Context
	name  string
	attrs psa.Attributes
	pub   crypto.PublicKey
}

// Decrypter returns a crypto.Decrypter for RSA key name; ctx bounds every
// decryption made through it.
func (c *Client) Decrypter(ctx context.Context, name string) (*KeyDecrypter, error) {
	attrs, err := c.KeyAttributes(ctx, name)
	if err != nil {
		return nil, err
	}
	if !attrs.Alg.IsAsymEncrypt() {
		return nil, fmt.Errorf("%w: key %q has policy %v, not an encryption algorithm", ErrUnsupportedKey, name, attrs.Alg)
	}
	data, err := c.ExportPublicKey(ctx, name)
	if err != nil {
		return nil, err
	}
	pub, err := ParsePublicKey(attrs, data)
	if err != nil {
		return nil, err
	}
	return &KeyDecrypter{c: c, ctx: ctx, name: name, attrs: attrs, pub: pub}, nil
}

// Public returns the key's public part.
func (d *KeyDecrypter) Public() crypto.PublicKey { return d.pub }

// Decrypt decrypts msg with the key's policy algorithm. opts may be nil,
// *rsa.PKCS1v15DecryptOptions or *rsa.OAEPOptions (whose label becomes the
// PSA salt); it must agree with the policy.
func (d *KeyDecrypter) Decrypt(_ io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	alg := d.attrs.Alg
	var label []byte
	switch o := opts.(type) {
	case nil, *rsa.PKCS1v15DecryptOptions:
		if alg.IsRSAOAEP() && opts != nil {
			return nil, fmt.Errorf("%w: key %q decrypts OAEP, not PKCS#1 v1.5", ErrUnsupportedKey, d.name)
		}
	case *rsa.OAEPOptions:
		if !alg.IsRSAOAEP() {
			return nil, fmt.Errorf("%w: key %q does not decrypt OAEP", ErrUnsupportedKey, d.name)
		}
		if h, ok := HashAlgorithm(o.Hash); !ok || h != alg.HashAlg() {
			return nil, fmt.Errorf("%w: key %q uses OAEP with %v", ErrUnsupportedKey, d.name, alg.HashAlg())
		}
		label = o.Label
	default:
		return nil, fmt.Errorf("%w: decrypter options %T", ErrUnsupportedKey, opts)
	}
	return d.c.AsymmetricDecrypt(d.ctx, d.name, alg, msg, label)
}
