package tpm

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"math/big"

	"github.com/google/go-tpm/tpm2"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// signAlg checks a signature request against the key and returns the TPM
// hash to use.
func checkSignAlg(a psa.Attributes, alg psa.Algorithm, digest []byte) (psa.Algorithm, error) {
	switch {
	case a.Type.IsRSA() && (alg.IsRSAPKCS1v15Sign() || alg.IsRSAPSS()):
	case a.Type.IsECC() && alg.IsECDSA():
	default:
		return 0, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v cannot be used with a %v key", alg, a.Type)
	}
	switch {
	case alg == psa.AlgRSAPKCS1v15SignRaw:
		return 0, wire.Errorf(wire.StatusPsaErrorNotSupported, "the TPM cannot sign without a hash algorithm (RSA_PKCS1V15_SIGN_RAW)")
	case alg.IsDeterministicECDSA():
		return 0, wire.Errorf(wire.StatusPsaErrorNotSupported, "the TPM cannot produce deterministic ECDSA signatures")
	case alg == psa.AlgECDSAAny:
		// The TPM wants a hash algorithm: take the one of the digest's size.
		for _, h := range []psa.Algorithm{psa.AlgSHA256, psa.AlgSHA384, psa.AlgSHA512, psa.AlgSHA1} {
			if h.HashSize() == len(digest) {
				return h, nil
			}
		}
		return 0, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "a %d-byte digest matches no hash the TPM can name", len(digest))
	}
	h := alg.HashAlg()
	if len(digest) != h.HashSize() {
		return 0, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v needs a %d-byte hash, got %d bytes", alg, h.HashSize(), len(digest))
	}
	return h, nil
}

func sigScheme(alg psa.Algorithm, h tpm2.TPMAlgID) tpm2.TPMTSigScheme {
	id := sigAlgID(alg)
	return tpm2.TPMTSigScheme{Scheme: id, Details: tpm2.NewTPMUSigScheme(id, &tpm2.TPMSSchemeHash{HashAlg: h})}
}

func (p *Provider) signHash(_ context.Context, c provider.Call[*pb.SignHashRequest]) (*pb.SignHashResult, error) {
	e, b, err := p.lookup(c.App, c.Req.GetKeyName())
	if err != nil {
		return nil, err
	}
	alg := c.Alg
	if err := e.Attributes.Permits(psa.UsageSignHash, alg); err != nil {
		return nil, err
	}
	if b.kind != kindPair {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key %q is a public key: it cannot sign", c.Req.GetKeyName())
	}
	h, err := checkSignAlg(e.Attributes, alg, c.Req.GetHash())
	if err != nil {
		return nil, err
	}
	var sig *tpm2.TPMTSignature
	err = p.dev.run(func(o *op) error {
		th, err := o.d.caps.hashAlg(h)
		if err != nil {
			return err
		}
		l, err := o.loadKey(b)
		if err != nil {
			return err
		}
		key, err := o.authorize(l, b.auth, false, false)
		if err != nil {
			return err
		}
		rsp, err := tpm2.Sign{
			KeyHandle:  key,
			Digest:     tpm2.TPM2BDigest{Buffer: c.Req.GetHash()},
			InScheme:   sigScheme(alg, th),
			Validation: tpm2.TPMTTKHashCheck{Tag: tpm2.TPMSTHashCheck, Hierarchy: tpm2.TPMRHNull},
		}.Execute(o.tpm())
		if err != nil {
			return fmt.Errorf("TPM2_Sign: %w", err)
		}
		sig = &rsp.Signature
		return nil
	})
	if err != nil {
		return nil, err
	}
	out, err := signatureBytes(sig, b.pub)
	if err != nil {
		return nil, err
	}
	return &pb.SignHashResult{Signature: out}, nil
}

// signatureBytes renders a TPM signature in PSA format: RSA as is, ECDSA
// as r || s, each left-padded to the curve size.
func signatureBytes(sig *tpm2.TPMTSignature, pub *tpm2.TPMTPublic) ([]byte, error) {
	switch sig.SigAlg {
	case tpm2.TPMAlgRSASSA, tpm2.TPMAlgRSAPSS:
		var s *tpm2.TPMSSignatureRSA
		var err error
		if sig.SigAlg == tpm2.TPMAlgRSASSA {
			s, err = sig.Signature.RSASSA()
		} else {
			s, err = sig.Signature.RSAPSS()
		}
		if err != nil {
			return nil, err
		}
		return s.Sig.Buffer, nil
	case tpm2.TPMAlgECDSA:
		s, err := sig.Signature.ECDSA()
		if err != nil {
			return nil, err
		}
		cv, _, _, err := eccPublic(pub)
		if err != nil {
			return nil, err
		}
		rb, sb := leftPad(s.SignatureR.Buffer, cv.size()), leftPad(s.SignatureS.Buffer, cv.size())
		if rb == nil || sb == nil {
			return nil, wire.Errorf(wire.StatusPsaErrorGenericError, "TPM returned an ECDSA signature larger than the curve")
		}
		return append(rb, sb...), nil
	}
	return nil, wire.Errorf(wire.StatusPsaErrorGenericError, "TPM returned an unexpected signature type %v", sig.SigAlg)
}

func (p *Provider) verifyHash(_ context.Context, c provider.Call[*pb.VerifyHashRequest]) (*pb.VerifyHashResult, error) {
	e, b, err := p.lookup(c.App, c.Req.GetKeyName())
	if err != nil {
		return nil, err
	}
	alg := c.Alg
	if err := e.Attributes.Permits(psa.UsageVerifyHash, alg); err != nil {
		return nil, err
	}
	h, err := checkSignAlg(e.Attributes, alg, c.Req.GetHash())
	if err != nil {
		return nil, err
	}
	ok, done, err := verifySoftware(b.pub, alg, h, c.Req.GetHash(), c.Req.GetSignature())
	if err != nil {
		return nil, err
	}
	if !done {
		ok, err = p.verifyInTPM(b, alg, h, c.Req.GetHash(), c.Req.GetSignature())
		if err != nil {
			return nil, err
		}
	}
	if !ok {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidSignature, "signature does not verify")
	}
	return &pb.VerifyHashResult{}, nil
}

// verifySoftware checks a signature with the stored public key. done is
// false when Go cannot (a curve or hash it lacks): the TPM does it then.
func verifySoftware(pub *tpm2.TPMTPublic, alg, h psa.Algorithm, digest, sig []byte) (ok, done bool, err error) {
	ch, known := cryptoHash[h]
	switch pub.Type {
	case tpm2.TPMAlgRSA:
		if !known {
			return false, false, nil
		}
		k, err := rsaPublic(pub)
		if err != nil {
			return false, true, fmt.Errorf("%w: %v", errBadBlob, err)
		}
		if alg.IsRSAPSS() {
			return rsa.VerifyPSS(k, ch, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: ch}) == nil, true, nil
		}
		return rsa.VerifyPKCS1v15(k, ch, digest, sig) == nil, true, nil
	case tpm2.TPMAlgECC:
		k, cv, err := goECDSAPublic(pub)
		if err != nil {
			return false, true, fmt.Errorf("%w: %v", errBadBlob, err)
		}
		if len(sig) != 2*cv.size() {
			return false, true, nil
		}
		if k == nil {
			return false, false, nil
		}
		rr := new(big.Int).SetBytes(sig[:cv.size()])
		ss := new(big.Int).SetBytes(sig[cv.size():])
		return ecdsa.Verify(k, digest, rr, ss), true, nil
	}
	return false, true, fmt.Errorf("%w: unexpected key type %v", errBadBlob, pub.Type)
}

// verifyInTPM loads the public key for one verification and flushes it.
func (p *Provider) verifyInTPM(b *keyBlob, alg, h psa.Algorithm, digest, sig []byte) (bool, error) {
	var ok bool
	err := p.dev.run(func(o *op) error {
		th, err := o.d.caps.hashAlg(h)
		if err != nil {
			return err
		}
		tsig, err := tpmSignature(b.pub, alg, th, sig)
		if err != nil {
			return err
		}
		if err := o.d.makeRoom(1); err != nil {
			return err
		}
		lrsp, err := tpm2.LoadExternal{InPublic: tpm2.New2B(externalPublic(*b.pub)), Hierarchy: tpm2.TPMRHNull}.Execute(o.tpm())
		if err != nil {
			return fmt.Errorf("TPM2_LoadExternal: %w", err)
		}
		defer func() { _, _ = tpm2.FlushContext{FlushHandle: lrsp.ObjectHandle}.Execute(o.tpm()) }()
		_, err = tpm2.VerifySignature{
			KeyHandle: tpm2.NamedHandle{Handle: lrsp.ObjectHandle, Name: lrsp.Name},
			Digest:    tpm2.TPM2BDigest{Buffer: digest},
			Signature: *tsig,
		}.Execute(o.tpm())
		switch {
		case err == nil:
			ok = true
		case rcIs(err, tpm2.TPMRCSignature), rcIs(err, tpm2.TPMRCValue), rcIs(err, tpm2.TPMRCSize):
			ok = false
		default:
			return fmt.Errorf("TPM2_VerifySignature: %w", err)
		}
		return nil
	})
	return ok, err
}

// tpmSignature converts a PSA signature to the TPM structure.
func tpmSignature(pub *tpm2.TPMTPublic, alg psa.Algorithm, h tpm2.TPMAlgID, sig []byte) (*tpm2.TPMTSignature, error) {
	id := sigAlgID(alg)
	switch id {
	case tpm2.TPMAlgRSASSA:
		return &tpm2.TPMTSignature{SigAlg: id, Signature: tpm2.NewTPMUSignature(id, &tpm2.TPMSSignatureRSA{Hash: h, Sig: tpm2.TPM2BPublicKeyRSA{Buffer: sig}})}, nil
	case tpm2.TPMAlgRSAPSS:
		return &tpm2.TPMTSignature{SigAlg: id, Signature: tpm2.NewTPMUSignature(id, &tpm2.TPMSSignatureRSA{Hash: h, Sig: tpm2.TPM2BPublicKeyRSA{Buffer: sig}})}, nil
	case tpm2.TPMAlgECDSA:
		cv, _, _, err := eccPublic(pub)
		if err != nil {
			return nil, err
		}
		n := cv.size()
		if len(sig) != 2*n {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidSignature, "an ECDSA signature on this curve is %d bytes, got %d", 2*n, len(sig))
		}
		return &tpm2.TPMTSignature{SigAlg: id, Signature: tpm2.NewTPMUSignature(id, &tpm2.TPMSSignatureECC{
			Hash: h, SignatureR: tpm2.TPM2BECCParameter{Buffer: sig[:n]}, SignatureS: tpm2.TPM2BECCParameter{Buffer: sig[n:]},
		})}, nil
	}
	return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v", alg)
}
