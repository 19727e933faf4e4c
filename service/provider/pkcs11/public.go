package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"math/big"
	"sync"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/provider/pkcs11/link"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// software_public_operations: as in Parsec, verification and encryption
// use the key's public part in the service instead of the token (faster,
// and not limited by the token's mechanisms, e.g. SoftHSM's SHA-1-only
// OAEP). The public key is read from the token once per key.

// publicKeys caches parsed public keys by token key id.
type publicKeys struct {
	mu sync.Mutex
	m  map[uint32]crypto.PublicKey
}

func (c *publicKeys) forget(id uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// publicKey returns key id's public key, reading it from the token the
// first time.
func (p *Provider) publicKey(ctx context.Context, id uint32, a psa.Attributes) (crypto.PublicKey, error) {
	p.pub.mu.Lock()
	k, ok := p.pub.m[id]
	p.pub.mu.Unlock()
	if ok {
		return k, nil
	}
	res, err := forward[*pb.ExportPublicKeyResult](ctx, p, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: link.KeyName(id)})
	if err != nil {
		return nil, err
	}
	data := res.GetData()
	switch {
	case a.Type.IsRSA():
		k, err = x509.ParsePKCS1PublicKey(data)
	case a.Type.IsECC() && a.Type.EccFamily() == psa.EccSecpR1:
		curve := map[uint32]elliptic.Curve{224: elliptic.P224(), 256: elliptic.P256(), 384: elliptic.P384(), 521: elliptic.P521()}[a.Bits]
		if curve == nil {
			return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "no software operations for %d-bit curves", a.Bits)
		}
		x, y := elliptic.Unmarshal(curve, data)
		if x == nil {
			err = wire.Errorf(wire.StatusPsaErrorCommunicationFailure, "the token's public key is not a point of the curve")
		} else {
			k = &ecdsa.PublicKey{Curve: curve, X: x, Y: y}
		}
	default:
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "no software operations for %v keys", a.Type)
	}
	if err != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorCommunicationFailure, "parsing the token's public key: %v", err)
	}
	p.pub.mu.Lock()
	p.pub.m[id] = k
	p.pub.mu.Unlock()
	return k, nil
}

var cryptoHashes = map[psa.Algorithm]crypto.Hash{
	psa.AlgSHA1: crypto.SHA1, psa.AlgSHA224: crypto.SHA224, psa.AlgSHA256: crypto.SHA256,
	psa.AlgSHA384: crypto.SHA384, psa.AlgSHA512: crypto.SHA512,
}

// verifySoftware checks sig over hash with alg and the public key.
func verifySoftware(pub crypto.PublicKey, alg psa.Algorithm, hash, sig []byte) error {
	bad := wire.Errorf(wire.StatusPsaErrorInvalidSignature, "the signature does not verify")
	h, known := cryptoHashes[alg.HashAlg()]
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		n := (k.Curve.Params().BitSize + 7) / 8
		if !alg.IsECDSA() || len(sig) != 2*n {
			return bad
		}
		if !ecdsa.Verify(k, hash, new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])) {
			return bad
		}
		return nil
	case *rsa.PublicKey:
		var err error
		switch {
		case alg == psa.AlgRSAPKCS1v15SignRaw:
			err = rsa.VerifyPKCS1v15(k, 0, hash, sig)
		case alg.IsRSAPKCS1v15Sign() && known:
			err = rsa.VerifyPKCS1v15(k, h, hash, sig)
		case alg.IsRSAPSS() && known:
			err = rsa.VerifyPSS(k, h, hash, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h})
		default:
			return wire.Errorf(wire.StatusPsaErrorNotSupported, "%v is not supported", alg)
		}
		if err != nil {
			return bad
		}
		return nil
	}
	return wire.Errorf(wire.StatusPsaErrorNotSupported, "%v is not supported", alg)
}

// encryptSoftware encrypts with the RSA public key.
func encryptSoftware(pub crypto.PublicKey, alg psa.Algorithm, plaintext, salt []byte) ([]byte, error) {
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v needs an RSA key", alg)
	}
	var ct []byte
	var err error
	switch {
	case alg == psa.AlgRSAPKCS1v15Crypt:
		if len(salt) != 0 {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v takes no salt", alg)
		}
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, k, plaintext)
	case alg.IsRSAOAEP():
		h, known := cryptoHashes[alg.HashAlg()]
		if !known {
			return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v is not supported", alg)
		}
		ct, err = rsa.EncryptOAEP(h.New(), rand.Reader, k, plaintext, salt)
	default:
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v is not supported", alg)
	}
	if err != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "encrypting: %v", err)
	}
	return ct, nil
}
