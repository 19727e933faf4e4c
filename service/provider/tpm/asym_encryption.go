package tpm

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// checkEncryptAlg checks an encryption algorithm against an RSA key and
// the PSA rule that PKCS#1 v1.5 takes no salt.
func checkEncryptAlg(a psa.Attributes, alg psa.Algorithm, salt []byte) error {
	if !a.Type.IsRSA() {
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v cannot be used with a %v key", alg, a.Type)
	}
	if alg == psa.AlgRSAPKCS1v15Crypt && len(salt) > 0 {
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "RSA PKCS#1 v1.5 encryption takes no salt")
	}
	return nil
}

func (p *Provider) asymmetricEncrypt(_ context.Context, c provider.Call[*pb.AsymmetricEncryptRequest]) (*pb.AsymmetricEncryptResult, error) {
	e, b, err := p.lookup(c.App, c.Req.GetKeyName())
	if err != nil {
		return nil, err
	}
	alg := c.Alg
	if err := e.Attributes.Permits(psa.UsageEncrypt, alg); err != nil {
		return nil, err
	}
	if err := checkEncryptAlg(e.Attributes, alg, c.Req.GetSalt()); err != nil {
		return nil, err
	}
	k, err := rsaPublic(b.pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadBlob, err)
	}
	var ct []byte
	if alg.IsRSAOAEP() {
		ch, ok := cryptoHash[alg.HashAlg()]
		if !ok {
			return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "OAEP with %v", alg.HashAlg())
		}
		ct, err = rsa.EncryptOAEP(ch.New(), rand.Reader, k, c.Req.GetPlaintext(), c.Req.GetSalt())
	} else {
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, k, c.Req.GetPlaintext())
	}
	if err != nil {
		if errors.Is(err, rsa.ErrMessageTooLong) {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "plaintext too long for this key and padding")
		}
		return nil, wire.Errorf(wire.StatusPsaErrorGenericError, "RSA encryption: %v", err)
	}
	return &pb.AsymmetricEncryptResult{Ciphertext: ct}, nil
}

// tpmLabel checks that an OAEP label can be given to the TPM unchanged:
// the TPM takes a label only as a NUL-terminated string.
func tpmLabel(salt []byte) error {
	if len(salt) == 0 {
		return nil
	}
	for i, c := range salt {
		if c == 0 && i != len(salt)-1 {
			return wire.Errorf(wire.StatusPsaErrorNotSupported, "the TPM accepts an OAEP label only as a string ending in one zero byte")
		}
	}
	if salt[len(salt)-1] != 0 {
		return wire.Errorf(wire.StatusPsaErrorNotSupported, "the TPM accepts an OAEP label only as a string ending in one zero byte")
	}
	return nil
}

func (p *Provider) asymmetricDecrypt(_ context.Context, c provider.Call[*pb.AsymmetricDecryptRequest]) (*pb.AsymmetricDecryptResult, error) {
	e, b, err := p.lookup(c.App, c.Req.GetKeyName())
	if err != nil {
		return nil, err
	}
	alg := c.Alg
	if err := e.Attributes.Permits(psa.UsageDecrypt, alg); err != nil {
		return nil, err
	}
	if err := checkEncryptAlg(e.Attributes, alg, c.Req.GetSalt()); err != nil {
		return nil, err
	}
	if b.kind != kindPair {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key %q is a public key: it cannot decrypt", c.Req.GetKeyName())
	}
	if err := tpmLabel(c.Req.GetSalt()); err != nil {
		return nil, err
	}
	k, err := rsaPublic(b.pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadBlob, err)
	}
	if len(c.Req.GetCiphertext()) != k.Size() {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "ciphertext is %d bytes, the key's modulus %d", len(c.Req.GetCiphertext()), k.Size())
	}
	var pt []byte
	err = p.dev.run(func(o *op) error {
		scheme := tpm2.TPMTRSADecrypt{Scheme: tpm2.TPMAlgRSAES, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSAES, &tpm2.TPMSEncSchemeRSAES{})}
		if alg.IsRSAOAEP() {
			th, err := o.d.caps.hashAlg(alg.HashAlg())
			if err != nil {
				return err
			}
			scheme = tpm2.TPMTRSADecrypt{Scheme: tpm2.TPMAlgOAEP, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgOAEP, &tpm2.TPMSEncSchemeOAEP{HashAlg: th})}
		}
		l, err := o.loadKey(b)
		if err != nil {
			return err
		}
		// The plaintext comes back encrypted.
		key, err := o.authorize(l, b.auth, false, true)
		if err != nil {
			return err
		}
		rsp, err := tpm2.RSADecrypt{
			KeyHandle:  key,
			CipherText: tpm2.TPM2BPublicKeyRSA{Buffer: c.Req.GetCiphertext()},
			InScheme:   scheme,
			Label:      tpm2.TPM2BData{Buffer: c.Req.GetSalt()},
		}.Execute(o.tpm())
		if o.inputFailure(err) {
			return errBadPadding
		}
		if err != nil {
			return fmt.Errorf("TPM2_RSA_Decrypt: %w", err)
		}
		pt = rsp.Message.Buffer
		return nil
	})
	if err != nil {
		// The TPM answers a bad padding (or wrong label) with TPM_RC_VALUE;
		// PSA reports that as invalid padding.
		if rcIs(err, tpm2.TPMRCValue) || errors.Is(err, errBadPadding) {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidPadding, "decryption failed: invalid padding or label")
		}
		return nil, err
	}
	return &pb.AsymmetricDecryptResult{Plaintext: pt}, nil
}

// inputFailure tells a TPM_RC_FAILURE caused by the command's input from
// a TPM in failure mode: libtpms answers an RSA decryption that fails
// (bad padding, a secret not made for the key) with TPM_RC_FAILURE while
// staying fully operational. If the TPM still answers, it was the input.
func (o *op) inputFailure(err error) bool {
	if !rcIs(err, tpm2.TPMRCFailure) {
		return false
	}
	_, perr := tpm2.GetRandom{BytesRequested: 1}.Execute(o.tpm())
	return perr == nil
}

// errBadPadding marks a decryption the TPM refused for its content.
var errBadPadding = errors.New("decryption failed")
