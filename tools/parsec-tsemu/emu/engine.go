package emu

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"math/big"

	"github.com/parsec-go/parsec/internal/ts"
	"github.com/parsec-go/parsec/psa"
)

// engine is the crypto partition's PSA core: keys and the single-part
// operations. Both service encodings call it, so keys are shared between
// them as on the real partition.
type engine struct {
	keys *keyStore
	ops  *opPools
}

func newEngine(store ObjectStore, owner uint16) *engine {
	return &engine{keys: newKeyStore(store, owner), ops: newOpPools()}
}

// hashOf maps a PSA hash to Go's; NOT_SUPPORTED for the ones the Go
// standard library lacks (RIPEMD-160, SHA-3 before Go 1.24).
func hashOf(alg psa.Algorithm) (crypto.Hash, func() hash.Hash, error) {
	switch alg {
	case psa.AlgMD5:
		return crypto.MD5, md5.New, nil
	case psa.AlgSHA1:
		return crypto.SHA1, sha1.New, nil
	case psa.AlgSHA224:
		return crypto.SHA224, sha256.New224, nil
	case psa.AlgSHA256:
		return crypto.SHA256, sha256.New, nil
	case psa.AlgSHA384:
		return crypto.SHA384, sha512.New384, nil
	case psa.AlgSHA512:
		return crypto.SHA512, sha512.New, nil
	case psa.AlgSHA512_224:
		return crypto.SHA512_224, sha512.New512_224, nil
	case psa.AlgSHA512_256:
		return crypto.SHA512_256, sha512.New512_256, nil
	}
	if !alg.IsHash() {
		return 0, nil, ts.PSAErrorInvalidArgument
	}
	return 0, nil, ts.PSAErrorNotSupported
}

func (e *engine) generateKey(client uint16, a ts.KeyAttributes) (uint32, error) {
	k, err := generate(a)
	if err != nil {
		return 0, err
	}
	return e.keys.add(client, k)
}

func (e *engine) importKey(client uint16, a ts.KeyAttributes, data []byte) (uint32, error) {
	k, err := importKey(a, data)
	if err != nil {
		return 0, err
	}
	return e.keys.add(client, k)
}

func (e *engine) copyKey(client uint16, src uint32, a ts.KeyAttributes) (uint32, error) {
	k, err := e.keys.get(client, src)
	if err != nil {
		return 0, err
	}
	if k.attrs.Usage&psa.UsageCopy == 0 {
		return 0, ts.PSAErrorNotPermitted
	}
	if a.Type != 0 && a.Type != k.attrs.Type || a.Bits != 0 && a.Bits != k.attrs.Bits {
		return 0, ts.PSAErrorInvalidArgument
	}
	// The copy's policy is the intersection of both policies.
	n := &key{attrs: a, material: k.material}
	n.attrs.Type, n.attrs.Bits = k.attrs.Type, k.attrs.Bits
	n.attrs.Usage &= k.attrs.Usage
	if a.Alg != k.attrs.Alg && a.Alg != 0 && k.attrs.Alg != 0 {
		return 0, ts.PSAErrorInvalidArgument
	}
	if n.attrs.Alg == 0 {
		n.attrs.Alg = k.attrs.Alg
	}
	if err := n.parse(); err != nil {
		return 0, ts.PSAErrorGenericError
	}
	return e.keys.add(client, n)
}

func (e *engine) attributes(client uint16, id uint32) (ts.KeyAttributes, error) {
	k, err := e.keys.get(client, id)
	if err != nil {
		return ts.KeyAttributes{}, err
	}
	a := k.attrs
	a.ID = id
	return a, nil
}

func (e *engine) exportKey(client uint16, id uint32) ([]byte, error) {
	k, err := e.keys.get(client, id)
	if err != nil {
		return nil, err
	}
	if k.attrs.Usage&psa.UsageExport == 0 && !k.attrs.Type.IsPublicKey() {
		return nil, ts.PSAErrorNotPermitted
	}
	return k.material, nil
}

func (e *engine) exportPublicKey(client uint16, id uint32) ([]byte, error) {
	k, err := e.keys.get(client, id)
	if err != nil {
		return nil, err
	}
	return k.public()
}

// sign signs input: a hash (message false) or a message, which is first
// hashed with the algorithm's hash.
func (e *engine) sign(client uint16, id uint32, alg psa.Algorithm, input []byte, message bool) ([]byte, error) {
	k, err := e.keys.get(client, id)
	if err != nil {
		return nil, err
	}
	usage := psa.UsageSignHash
	if message {
		usage = psa.UsageSignMessage
	}
	if err := k.permits(usage, alg); err != nil {
		return nil, err
	}
	if !alg.IsSign() {
		return nil, ts.PSAErrorInvalidArgument
	}
	if !k.attrs.Type.IsKeyPair() {
		return nil, ts.PSAErrorInvalidArgument
	}
	h, digest, err := signInput(alg, input, message)
	if err != nil {
		return nil, err
	}
	switch {
	case alg.IsRSAPKCS1v15Sign() && k.rsaPriv != nil:
		sig, err := rsa.SignPKCS1v15(rand.Reader, k.rsaPriv, h, digest)
		if err != nil {
			return nil, ts.PSAErrorInvalidArgument
		}
		return sig, nil
	case alg.IsRSAPSS() && k.rsaPriv != nil:
		sig, err := rsa.SignPSS(rand.Reader, k.rsaPriv, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			return nil, ts.PSAErrorInvalidArgument
		}
		return sig, nil
	case alg.IsDeterministicECDSA() && k.ecPriv != nil:
		// RFC 6979 is not in Go's standard library before 1.24.
		return nil, ts.PSAErrorNotSupported
	case alg.IsECDSA() && k.ecPriv != nil:
		r, s, err := ecdsa.Sign(rand.Reader, k.ecPriv, digest)
		if err != nil {
			return nil, ts.PSAErrorGenericError
		}
		n := byteLen(k.attrs.Bits)
		sig := make([]byte, 2*n)
		r.FillBytes(sig[:n])
		s.FillBytes(sig[n:])
		return sig, nil
	}
	return nil, ts.PSAErrorInvalidArgument
}

// signInput returns the hash function and the digest to sign.
func signInput(alg psa.Algorithm, input []byte, message bool) (crypto.Hash, []byte, error) {
	ha := alg.HashAlg()
	if ha == psa.AlgNone {
		if message {
			return 0, nil, ts.PSAErrorInvalidArgument
		}
		return 0, input, nil
	}
	h, newHash, err := hashOf(ha)
	if err != nil {
		return 0, nil, err
	}
	if message {
		hh := newHash()
		hh.Write(input)
		return h, hh.Sum(nil), nil
	}
	if len(input) != h.Size() {
		return 0, nil, ts.PSAErrorInvalidArgument
	}
	return h, input, nil
}

func (e *engine) verify(client uint16, id uint32, alg psa.Algorithm, input, sig []byte, message bool) error {
	k, err := e.keys.get(client, id)
	if err != nil {
		return err
	}
	usage := psa.UsageVerifyHash
	if message {
		usage = psa.UsageVerifyMessage
	}
	if err := k.permits(usage, alg); err != nil {
		return err
	}
	if !alg.IsSign() {
		return ts.PSAErrorInvalidArgument
	}
	h, digest, err := signInput(alg, input, message)
	if err != nil {
		return err
	}
	switch {
	case alg.IsRSAPKCS1v15Sign() && k.rsaPub != nil:
		if rsa.VerifyPKCS1v15(k.rsaPub, h, digest, sig) != nil {
			return ts.PSAErrorInvalidSignature
		}
		return nil
	case alg.IsRSAPSS() && k.rsaPub != nil:
		if rsa.VerifyPSS(k.rsaPub, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) != nil {
			return ts.PSAErrorInvalidSignature
		}
		return nil
	case alg.IsECDSA() && k.ecPub != nil:
		n := byteLen(k.attrs.Bits)
		if len(sig) != 2*n {
			return ts.PSAErrorInvalidSignature
		}
		r := new(big.Int).SetBytes(sig[:n])
		s := new(big.Int).SetBytes(sig[n:])
		if !ecdsa.Verify(k.ecPub, digest, r, s) {
			return ts.PSAErrorInvalidSignature
		}
		return nil
	}
	return ts.PSAErrorInvalidArgument
}

func (e *engine) asymEncrypt(client uint16, id uint32, alg psa.Algorithm, pt, salt []byte) ([]byte, error) {
	k, err := e.keys.get(client, id)
	if err != nil {
		return nil, err
	}
	if err := k.permits(psa.UsageEncrypt, alg); err != nil {
		return nil, err
	}
	if k.rsaPub == nil || !alg.IsAsymEncrypt() {
		return nil, ts.PSAErrorInvalidArgument
	}
	switch {
	case alg == psa.AlgRSAPKCS1v15Crypt:
		if len(salt) != 0 {
			return nil, ts.PSAErrorInvalidArgument
		}
		ct, err := rsa.EncryptPKCS1v15(rand.Reader, k.rsaPub, pt)
		if err != nil {
			return nil, ts.PSAErrorInvalidArgument
		}
		return ct, nil
	case alg.IsRSAOAEP():
		_, newHash, err := hashOf(alg.HashAlg())
		if err != nil {
			return nil, err
		}
		ct, err := rsa.EncryptOAEP(newHash(), rand.Reader, k.rsaPub, pt, salt)
		if err != nil {
			return nil, ts.PSAErrorInvalidArgument
		}
		return ct, nil
	}
	return nil, ts.PSAErrorNotSupported
}

func (e *engine) asymDecrypt(client uint16, id uint32, alg psa.Algorithm, ct, salt []byte) ([]byte, error) {
	k, err := e.keys.get(client, id)
	if err != nil {
		return nil, err
	}
	if err := k.permits(psa.UsageDecrypt, alg); err != nil {
		return nil, err
	}
	if k.rsaPriv == nil || !alg.IsAsymEncrypt() {
		return nil, ts.PSAErrorInvalidArgument
	}
	if len(ct) != k.rsaPub.Size() {
		return nil, ts.PSAErrorInvalidArgument
	}
	switch {
	case alg == psa.AlgRSAPKCS1v15Crypt:
		if len(salt) != 0 {
			return nil, ts.PSAErrorInvalidArgument
		}
		pt, err := rsa.DecryptPKCS1v15(rand.Reader, k.rsaPriv, ct)
		if err != nil {
			return nil, ts.PSAErrorInvalidPadding
		}
		return pt, nil
	case alg.IsRSAOAEP():
		_, newHash, err := hashOf(alg.HashAlg())
		if err != nil {
			return nil, err
		}
		pt, err := rsa.DecryptOAEP(newHash(), rand.Reader, k.rsaPriv, ct, salt)
		if err != nil {
			return nil, ts.PSAErrorInvalidPadding
		}
		return pt, nil
	}
	return nil, ts.PSAErrorNotSupported
}

func (e *engine) random(n uint64, max int) ([]byte, error) {
	if n > uint64(max) {
		return nil, ts.PSAErrorInsufficientMemory
	}
	b := make([]byte, n)
	rand.Read(b)
	return b, nil
}

// rawKeyAgreement is ECDH with a private key over the curves Go has.
func (e *engine) rawKeyAgreement(client uint16, alg psa.Algorithm, id uint32, peer []byte) ([]byte, error) {
	k, err := e.keys.get(client, id)
	if err != nil {
		return nil, err
	}
	if err := k.permits(psa.UsageDerive, alg); err != nil {
		return nil, err
	}
	if alg != psa.AlgECDH {
		if alg == psa.AlgFFDH {
			return nil, ts.PSAErrorNotSupported
		}
		return nil, ts.PSAErrorInvalidArgument
	}
	return ecdhShared(k, peer)
}

func ecdhShared(k *key, peer []byte) ([]byte, error) {
	if !k.attrs.Type.IsECC() || !k.attrs.Type.IsKeyPair() {
		return nil, ts.PSAErrorInvalidArgument
	}
	if k.xPriv == nil {
		return nil, ts.PSAErrorNotSupported
	}
	p, err := k.xPriv.Curve().NewPublicKey(peer)
	if err != nil {
		return nil, ts.PSAErrorInvalidArgument
	}
	s, err := k.xPriv.ECDH(p)
	if err != nil {
		return nil, ts.PSAErrorInvalidArgument
	}
	return s, nil
}
