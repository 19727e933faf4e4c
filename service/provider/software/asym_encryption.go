package software

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func (p *Provider) asymmetricEncrypt(_ context.Context, c provider.Call[*pb.AsymmetricEncryptRequest]) (*pb.AsymmetricEncryptResult, error) {
	alg := c.Alg
	k, err := p.keyFor(c.App, c.Req.GetKeyName(), psa.UsageEncrypt, alg)
	if err != nil {
		return nil, err
	}
	// An empty salt is no salt (proto3 cannot tell them apart).
	if alg == psa.AlgRSAPKCS1v15Crypt && len(c.Req.GetSalt()) > 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "PKCS#1 v1.5 encryption takes no salt")
	}
	if len(c.Req.GetPlaintext()) == 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the plaintext is empty")
	}
	if k.rsaPub == nil {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v keys cannot encrypt", k.attrs.Type)
	}
	var ct []byte
	switch {
	case alg == psa.AlgRSAPKCS1v15Crypt:
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, k.rsaPub, c.Req.GetPlaintext())
	case alg.IsRSAOAEP():
		h, herr := hashFor(alg.HashAlg())
		if herr != nil {
			return nil, herr
		}
		// PSA's "salt" is the OAEP label.
		ct, err = rsa.EncryptOAEP(h.new(), rand.Reader, k.rsaPub, c.Req.GetPlaintext(), c.Req.GetSalt())
	default:
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v is not an encryption algorithm", alg)
	}
	if errors.Is(err, rsa.ErrMessageTooLong) {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the plaintext is too long for the key")
	}
	if err != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorGenericError, "RSA encryption: %v", err)
	}
	return &pb.AsymmetricEncryptResult{Ciphertext: ct}, nil
}

func (p *Provider) asymmetricDecrypt(_ context.Context, c provider.Call[*pb.AsymmetricDecryptRequest]) (*pb.AsymmetricDecryptResult, error) {
	alg := c.Alg
	k, err := p.keyFor(c.App, c.Req.GetKeyName(), psa.UsageDecrypt, alg)
	if err != nil {
		return nil, err
	}
	if alg == psa.AlgRSAPKCS1v15Crypt && len(c.Req.GetSalt()) > 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "PKCS#1 v1.5 decryption takes no salt")
	}
	if len(c.Req.GetCiphertext()) == 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the ciphertext is empty")
	}
	if !k.attrs.Type.IsKeyPair() {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "a public key cannot decrypt")
	}
	if k.rsaPriv == nil {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v keys cannot decrypt", k.attrs.Type)
	}
	if len(c.Req.GetCiphertext()) != k.rsaPub.Size() {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "a ciphertext for this key is %d bytes, not %d", k.rsaPub.Size(), len(c.Req.GetCiphertext()))
	}
	var pt []byte
	switch {
	case alg == psa.AlgRSAPKCS1v15Crypt:
		pt, err = rsa.DecryptPKCS1v15(rand.Reader, k.rsaPriv, c.Req.GetCiphertext())
	case alg.IsRSAOAEP():
		h, herr := hashFor(alg.HashAlg())
		if herr != nil {
			return nil, herr
		}
		pt, err = rsa.DecryptOAEP(h.new(), rand.Reader, k.rsaPriv, c.Req.GetCiphertext(), c.Req.GetSalt())
	default:
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v is not an encryption algorithm", alg)
	}
	if err != nil {
		// Mbed TLS reports every decoding failure as bad padding.
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidPadding, "RSA decryption failed")
	}
	return &pb.AsymmetricDecryptResult{Plaintext: pt}, nil
}
