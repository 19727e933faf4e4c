package software

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/service/provider/software/internal/rfc6979"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// checkSignAlg is Mbed TLS's psa_sign_verify_check_alg: a message
// signature needs a hash-and-sign algorithm, the wildcard hash is never
// an operation, and an unimplemented hash fails early.
func checkSignAlg(alg psa.Algorithm, message bool) error {
	h := alg.HashAlg()
	if message && (h == psa.AlgNone) {
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v cannot sign a message", alg)
	}
	if h == psa.AlgAnyHash {
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v is a policy wildcard, not an algorithm", alg)
	}
	if h != psa.AlgNone {
		if _, err := hashFor(h); err != nil {
			return err
		}
	}
	return nil
}

// hashLenOK is parsec-interface's is_hash_len_permitted.
func hashLenOK(alg psa.Algorithm, n int) bool {
	if alg == psa.AlgECDSAAny || alg == psa.AlgRSAPKCS1v15SignRaw {
		return true
	}
	return alg.HashAlg().HashSize() == n
}

func (p *Provider) signHash(_ context.Context, c provider.Call[*pb.SignHashRequest]) (*pb.SignHashResult, error) {
	k, err := p.hashKey(c.App, c.Req.GetKeyName(), psa.UsageSignHash, c.Alg, c.Req.GetHash())
	if err != nil {
		return nil, err
	}
	sig, err := k.sign(c.Alg, c.Req.GetHash())
	if err != nil {
		return nil, err
	}
	return &pb.SignHashResult{Signature: sig}, nil
}

func (p *Provider) verifyHash(_ context.Context, c provider.Call[*pb.VerifyHashRequest]) (*pb.VerifyHashResult, error) {
	k, err := p.hashKey(c.App, c.Req.GetKeyName(), psa.UsageVerifyHash, c.Alg, c.Req.GetHash())
	if err != nil {
		return nil, err
	}
	if err := k.verify(c.Alg, c.Req.GetHash(), c.Req.GetSignature()); err != nil {
		return nil, err
	}
	return &pb.VerifyHashResult{}, nil
}

// hashKey is what sign- and verify-hash share: the key, allowed usage with
// alg, and a hash whose length fits alg.
func (p *Provider) hashKey(app auth.Application, name string, usage psa.Usage, alg psa.Algorithm, hash []byte) (*key, error) {
	k, err := p.keyFor(app, name, usage, alg)
	if err != nil {
		return nil, err
	}
	if !hashLenOK(alg, len(hash)) {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "a %d-byte hash does not fit %v", len(hash), alg)
	}
	if err := checkSignAlg(alg, false); err != nil {
		return nil, err
	}
	return k, nil
}

func (p *Provider) signMessage(_ context.Context, c provider.Call[*pb.SignMessageRequest]) (*pb.SignMessageResult, error) {
	k, digest, err := p.messageKey(c.App, c.Req.GetKeyName(), psa.UsageSignMessage, c.Alg, c.Req.GetMessage())
	if err != nil {
		return nil, err
	}
	sig, err := k.sign(c.Alg, digest)
	if err != nil {
		return nil, err
	}
	return &pb.SignMessageResult{Signature: sig}, nil
}

func (p *Provider) verifyMessage(_ context.Context, c provider.Call[*pb.VerifyMessageRequest]) (*pb.VerifyMessageResult, error) {
	k, digest, err := p.messageKey(c.App, c.Req.GetKeyName(), psa.UsageVerifyMessage, c.Alg, c.Req.GetMessage())
	if err != nil {
		return nil, err
	}
	if err := k.verify(c.Alg, digest, c.Req.GetSignature()); err != nil {
		return nil, err
	}
	return &pb.VerifyMessageResult{}, nil
}

// messageKey is what sign- and verify-message share: the key, allowed
// usage with alg, and msg hashed with alg's hash.
func (p *Provider) messageKey(app auth.Application, name string, usage psa.Usage, alg psa.Algorithm, msg []byte) (*key, []byte, error) {
	k, err := p.keyFor(app, name, usage, alg)
	if err != nil {
		return nil, nil, err
	}
	if err := checkSignAlg(alg, true); err != nil {
		return nil, nil, err
	}
	digest, err := hashSum(alg.HashAlg(), msg)
	if err != nil {
		return nil, nil, err
	}
	return k, digest, nil
}

// sign signs a hash with an algorithm already checked against the key.
func (k *key) sign(alg psa.Algorithm, digest []byte) ([]byte, error) {
	if !k.attrs.Type.IsKeyPair() {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "a public key cannot sign")
	}
	switch {
	case k.rsaPriv != nil:
		return k.signRSA(alg, digest)
	case k.ecdsaPriv != nil:
		return k.signECDSA(alg, digest)
	}
	return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v keys cannot make %v signatures", k.attrs.Type, alg)
}

func (k *key) signRSA(alg psa.Algorithm, digest []byte) ([]byte, error) {
	var sig []byte
	var err error
	switch {
	case alg == psa.AlgRSAPKCS1v15SignRaw:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.rsaPriv, 0, digest)
	case alg.IsRSAPKCS1v15Sign():
		var prefix []byte
		if prefix, err = digestInfoPrefix(alg.HashAlg()); err != nil {
			return nil, err
		}
		// The DigestInfo is built here and signed as raw data, so every
		// hash PSA names works whatever the standard library registers.
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.rsaPriv, 0, append(prefix, digest...))
	case alg.IsRSAPSS():
		h, salt, perr := pssParams(alg, k.rsaPub)
		if perr != nil {
			return nil, perr
		}
		sig, err = rsa.SignPSS(rand.Reader, k.rsaPriv, h.std, digest, &rsa.PSSOptions{SaltLength: salt, Hash: h.std})
	default:
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v is not an RSA signature algorithm", alg)
	}
	if errors.Is(err, rsa.ErrMessageTooLong) {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "input too long for the key")
	}
	if err != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorGenericError, "RSA signature: %v", err)
	}
	return sig, nil
}

// pssParams returns the hash and the salt length Mbed TLS uses: as long
// as the hash when the key leaves room, otherwise the longest that fits.
func pssParams(alg psa.Algorithm, pub *rsa.PublicKey) (hashInfo, int, error) {
	h, err := hashFor(alg.HashAlg())
	if err != nil {
		return hashInfo{}, 0, err
	}
	if !h.std.Available() {
		return hashInfo{}, 0, wire.Errorf(wire.StatusPsaErrorNotSupported, "RSA-PSS with %v is not supported", alg.HashAlg())
	}
	hlen := alg.HashAlg().HashSize()
	room := pub.Size() - 2 - hlen
	if room < 0 {
		return hashInfo{}, 0, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the key is too small for %v", alg)
	}
	return h, min(room, hlen), nil
}

func (k *key) signECDSA(alg psa.Algorithm, digest []byte) ([]byte, error) {
	if !alg.IsECDSA() {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v is not an ECDSA algorithm", alg)
	}
	var r, s *big.Int
	var err error
	if alg.IsDeterministicECDSA() {
		h, herr := hashFor(alg.HashAlg())
		if herr != nil {
			return nil, herr
		}
		r, s, err = rfc6979.Sign(k.ecdsaPriv, h.new, digest, rand.Reader)
	} else {
		r, s, err = ecdsa.Sign(rand.Reader, k.ecdsaPriv, digest)
	}
	if err != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorGenericError, "ECDSA signature: %v", err)
	}
	n := (k.ecdsaPriv.Curve.Params().BitSize + 7) / 8
	sig := make([]byte, 2*n)
	r.FillBytes(sig[:n])
	s.FillBytes(sig[n:])
	return sig, nil
}

// verify checks a signature over a hash.
func (k *key) verify(alg psa.Algorithm, digest, sig []byte) error {
	switch {
	case k.rsaPub != nil:
		return k.verifyRSA(alg, digest, sig)
	case k.ecdsaPub != nil:
		if !alg.IsECDSA() {
			return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v is not an ECDSA algorithm", alg)
		}
		n := (k.ecdsaPub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*n {
			return wire.Errorf(wire.StatusPsaErrorInvalidSignature, "an ECDSA signature on this curve is %d bytes, not %d", 2*n, len(sig))
		}
		r := new(big.Int).SetBytes(sig[:n])
		s := new(big.Int).SetBytes(sig[n:])
		if !ecdsa.Verify(k.ecdsaPub, digest, r, s) {
			return wire.Errorf(wire.StatusPsaErrorInvalidSignature, "ECDSA signature does not verify")
		}
		return nil
	}
	return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v keys cannot verify %v signatures", k.attrs.Type, alg)
}

func (k *key) verifyRSA(alg psa.Algorithm, digest, sig []byte) error {
	if len(sig) != k.rsaPub.Size() {
		return wire.Errorf(wire.StatusPsaErrorInvalidSignature, "an RSA signature with this key is %d bytes, not %d", k.rsaPub.Size(), len(sig))
	}
	var err error
	switch {
	case alg == psa.AlgRSAPKCS1v15SignRaw:
		err = rsa.VerifyPKCS1v15(k.rsaPub, 0, digest, sig)
	case alg.IsRSAPKCS1v15Sign():
		prefix, perr := digestInfoPrefix(alg.HashAlg())
		if perr != nil {
			return perr
		}
		err = rsa.VerifyPKCS1v15(k.rsaPub, 0, append(prefix, digest...), sig)
	case alg.IsRSAPSS():
		h, salt, perr := pssParams(alg, k.rsaPub)
		if perr != nil {
			return perr
		}
		err = rsa.VerifyPSS(k.rsaPub, h.std, digest, sig, &rsa.PSSOptions{SaltLength: salt, Hash: h.std})
	default:
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v is not an RSA signature algorithm", alg)
	}
	if err != nil {
		return wire.Errorf(wire.StatusPsaErrorInvalidSignature, "RSA signature does not verify")
	}
	return nil
}
