package tpm

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"

	"github.com/google/go-tpm/tpm2"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// keyAuthSize is the length of the random auth value of each key.
const keyAuthSize = 32

// lookup fetches the caller's key and decodes its TPM blob.
func (p *Provider) lookup(app auth.Application, name string) (kim.Entry, *keyBlob, error) {
	e, err := kim.GetFor(p.kim, kim.OwnerOf(app), name, p.info.Name)
	if err != nil {
		return e, nil, err
	}
	b, err := decodeKeyID(e)
	if err != nil {
		return e, nil, err
	}
	return e, b, nil
}

// checkFree fails with AlreadyExists if the caller already has the name
// (in any provider: names are unique per application, as in Parsec).
func (p *Provider) checkFree(app auth.Application, name string) error {
	_, err := p.kim.Get(kim.OwnerOf(app), name)
	switch {
	case err == nil:
		return wire.Errorf(wire.StatusPsaErrorAlreadyExists, "a key named %q already exists", name)
	case errors.Is(err, wire.StatusPsaErrorDoesNotExist):
		return nil
	}
	return err
}

func (p *Provider) generateKey(app auth.Application, r *pb.GenerateKeyRequest) (*pb.GenerateKeyResult, error) {
	a, err := psa.AttributesFromProto(r.GetAttributes())
	if err != nil {
		return nil, err
	}
	if err := p.settings.CheckGenerate(a); err != nil {
		return nil, err
	}
	switch {
	case a.Type.IsPublicKey():
		return nil, invalidArg("a public key cannot be generated")
	case !a.Type.IsKeyPair() || a.Type.IsDH():
		return nil, notSupported("the TPM provider generates RSA and ECC key pairs, not %v", a.Type)
	case a.Bits == 0:
		return nil, invalidArg("key generation needs a key size")
	}
	if err := p.checkFree(app, r.GetKeyName()); err != nil {
		return nil, err
	}
	tmpl, err := template(a)
	if err != nil {
		return nil, err
	}
	keyAuth := make([]byte, keyAuthSize)
	if _, err := rand.Read(keyAuth); err != nil {
		return nil, fmt.Errorf("random key auth value: %w", err)
	}
	var blob *keyBlob
	err = p.dev.run(func(o *op) error {
		if err := o.d.caps.checkKey(a); err != nil {
			return err
		}
		if err := o.d.caps.checkAlg(a); err != nil {
			return err
		}
		root, err := o.storageRoot()
		if err != nil {
			return err
		}
		// The sensitive area (the new key's auth value) is encrypted.
		parent, err := o.authorize(root, nil, true, false)
		if err != nil {
			return err
		}
		rsp, err := tpm2.Create{
			ParentHandle: parent,
			InSensitive:  tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{UserAuth: tpm2.TPM2BAuth{Buffer: keyAuth}}},
			InPublic:     tpm2.New2B(tmpl),
		}.Execute(o.tpm())
		if err != nil {
			return fmt.Errorf("TPM2_Create: %w", err)
		}
		blob = &keyBlob{kind: kindPair, auth: keyAuth, public: rsp.OutPublic.Bytes(), private: rsp.OutPrivate.Buffer, parent: root.name.Buffer}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The TPM object exists (as a blob) before the mapping does: a failure
	// here leaves nothing behind in the TPM.
	if err := p.kim.Insert(kim.OwnerOf(app), r.GetKeyName(), kim.Entry{
		Provider: wire.ProviderTpm, ProviderName: p.info.Name, KeyID: blob.encode(), Attributes: a,
	}); err != nil {
		return nil, err
	}
	return &pb.GenerateKeyResult{}, nil
}

func (p *Provider) importKey(app auth.Application, r *pb.ImportKeyRequest) (*pb.ImportKeyResult, error) {
	a, err := psa.AttributesFromProto(r.GetAttributes())
	if err != nil {
		return nil, err
	}
	if a.Deprecated() {
		p.log.Warn("importing a key with a deprecated primitive", "type", a.Type.String(), "alg", a.Alg.String())
	}
	pub, a, err := importPublic(a, r.GetData())
	if err != nil {
		return nil, err
	}
	if err := p.checkFree(app, r.GetKeyName()); err != nil {
		return nil, err
	}
	// Offer only what this TPM supports, as for generated keys.
	if err := p.dev.run(func(o *op) error {
		if err := o.d.caps.checkKey(a); err != nil {
			return err
		}
		return o.d.caps.checkAlg(a)
	}); err != nil {
		return nil, err
	}
	blob := &keyBlob{kind: kindPublic, public: tpm2.Marshal(pub)}
	if err := p.kim.Insert(kim.OwnerOf(app), r.GetKeyName(), kim.Entry{
		Provider: wire.ProviderTpm, ProviderName: p.info.Name, KeyID: blob.encode(), Attributes: a,
	}); err != nil {
		return nil, err
	}
	return &pb.ImportKeyResult{}, nil
}

func (p *Provider) exportPublicKey(app auth.Application, r *pb.ExportPublicKeyRequest) (*pb.ExportPublicKeyResult, error) {
	_, b, err := p.lookup(app, r.GetKeyName())
	if err != nil {
		return nil, err
	}
	data, err := exportPublic(b.pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadBlob, err)
	}
	return &pb.ExportPublicKeyResult{Data: data}, nil
}

func (p *Provider) destroyKey(app auth.Application, r *pb.DestroyKeyRequest) (*pb.DestroyKeyResult, error) {
	_, b, err := p.lookup(app, r.GetKeyName())
	if err != nil && !errors.Is(err, errBadBlob) {
		return nil, err
	}
	// The mapping goes first: once it is gone nobody can reach the key,
	// whatever happens to the TPM side.
	if err := p.kim.Remove(kim.OwnerOf(app), r.GetKeyName()); err != nil {
		return nil, err
	}
	if b != nil {
		p.dev.evict(b.cacheID())
	}
	return &pb.DestroyKeyResult{}, nil
}

// evict flushes a destroyed key's handle if it is loaded and the TPM is
// reachable; otherwise the LRU flushes it later (nothing can use it).
func (d *device) evict(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if l, ok := d.byID[id]; ok && d.t != nil && !d.recheck {
		_ = d.flush(l)
	}
}

// signAlg checks a signature request against the key and returns the TPM
// hash to use.
func checkSignAlg(a psa.Attributes, alg psa.Algorithm, digest []byte) (psa.Algorithm, error) {
	switch {
	case a.Type.IsRSA() && (alg.IsRSAPKCS1v15Sign() || alg.IsRSAPSS()):
	case a.Type.IsECC() && alg.IsECDSA():
	default:
		return 0, invalidArg("%v cannot be used with a %v key", alg, a.Type)
	}
	switch {
	case alg == psa.AlgRSAPKCS1v15SignRaw:
		return 0, notSupported("the TPM cannot sign without a hash algorithm (RSA_PKCS1V15_SIGN_RAW)")
	case alg.IsDeterministicECDSA():
		return 0, notSupported("the TPM cannot produce deterministic ECDSA signatures")
	case alg == psa.AlgECDSAAny:
		// The TPM wants a hash algorithm: take the one of the digest's size.
		for _, h := range []psa.Algorithm{psa.AlgSHA256, psa.AlgSHA384, psa.AlgSHA512, psa.AlgSHA1} {
			if h.HashSize() == len(digest) {
				return h, nil
			}
		}
		return 0, invalidArg("a %d-byte digest matches no hash the TPM can name", len(digest))
	}
	h := alg.HashAlg()
	if len(digest) != h.HashSize() {
		return 0, invalidArg("%v needs a %d-byte hash, got %d bytes", alg, h.HashSize(), len(digest))
	}
	return h, nil
}

func sigScheme(alg psa.Algorithm, h tpm2.TPMAlgID) tpm2.TPMTSigScheme {
	id := sigAlgID(alg)
	return tpm2.TPMTSigScheme{Scheme: id, Details: tpm2.NewTPMUSigScheme(id, &tpm2.TPMSSchemeHash{HashAlg: h})}
}

func (p *Provider) signHash(app auth.Application, r *pb.SignHashRequest) (*pb.SignHashResult, error) {
	e, b, err := p.lookup(app, r.GetKeyName())
	if err != nil {
		return nil, err
	}
	alg, err := psa.SignFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
	if err := e.Attributes.Permits(psa.UsageSignHash, alg); err != nil {
		return nil, err
	}
	if b.kind != kindPair {
		return nil, invalidArg("key %q is a public key: it cannot sign", r.GetKeyName())
	}
	h, err := checkSignAlg(e.Attributes, alg, r.GetHash())
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
			Digest:     tpm2.TPM2BDigest{Buffer: r.GetHash()},
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

func (p *Provider) verifyHash(app auth.Application, r *pb.VerifyHashRequest) (*pb.VerifyHashResult, error) {
	e, b, err := p.lookup(app, r.GetKeyName())
	if err != nil {
		return nil, err
	}
	alg, err := psa.SignFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
	if err := e.Attributes.Permits(psa.UsageVerifyHash, alg); err != nil {
		return nil, err
	}
	h, err := checkSignAlg(e.Attributes, alg, r.GetHash())
	if err != nil {
		return nil, err
	}
	ok, done, err := verifySoftware(b.pub, alg, h, r.GetHash(), r.GetSignature())
	if err != nil {
		return nil, err
	}
	if !done {
		ok, err = p.verifyInTPM(b, alg, h, r.GetHash(), r.GetSignature())
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
	return nil, notSupported("%v", alg)
}

// checkEncryptAlg checks an encryption algorithm against an RSA key and
// the PSA rule that PKCS#1 v1.5 takes no salt.
func checkEncryptAlg(a psa.Attributes, alg psa.Algorithm, salt []byte) error {
	if !a.Type.IsRSA() {
		return invalidArg("%v cannot be used with a %v key", alg, a.Type)
	}
	if alg == psa.AlgRSAPKCS1v15Crypt && len(salt) > 0 {
		return invalidArg("RSA PKCS#1 v1.5 encryption takes no salt")
	}
	return nil
}

func (p *Provider) asymmetricEncrypt(app auth.Application, r *pb.AsymmetricEncryptRequest) (*pb.AsymmetricEncryptResult, error) {
	e, b, err := p.lookup(app, r.GetKeyName())
	if err != nil {
		return nil, err
	}
	alg, err := psa.AsymEncryptFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
	if err := e.Attributes.Permits(psa.UsageEncrypt, alg); err != nil {
		return nil, err
	}
	if err := checkEncryptAlg(e.Attributes, alg, r.GetSalt()); err != nil {
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
			return nil, notSupported("OAEP with %v", alg.HashAlg())
		}
		ct, err = rsa.EncryptOAEP(ch.New(), rand.Reader, k, r.GetPlaintext(), r.GetSalt())
	} else {
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, k, r.GetPlaintext())
	}
	if err != nil {
		if errors.Is(err, rsa.ErrMessageTooLong) {
			return nil, invalidArg("plaintext too long for this key and padding")
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
			return notSupported("the TPM accepts an OAEP label only as a string ending in one zero byte")
		}
	}
	if salt[len(salt)-1] != 0 {
		return notSupported("the TPM accepts an OAEP label only as a string ending in one zero byte")
	}
	return nil
}

func (p *Provider) asymmetricDecrypt(app auth.Application, r *pb.AsymmetricDecryptRequest) (*pb.AsymmetricDecryptResult, error) {
	e, b, err := p.lookup(app, r.GetKeyName())
	if err != nil {
		return nil, err
	}
	alg, err := psa.AsymEncryptFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
	if err := e.Attributes.Permits(psa.UsageDecrypt, alg); err != nil {
		return nil, err
	}
	if err := checkEncryptAlg(e.Attributes, alg, r.GetSalt()); err != nil {
		return nil, err
	}
	if b.kind != kindPair {
		return nil, invalidArg("key %q is a public key: it cannot decrypt", r.GetKeyName())
	}
	if err := tpmLabel(r.GetSalt()); err != nil {
		return nil, err
	}
	k, err := rsaPublic(b.pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadBlob, err)
	}
	if len(r.GetCiphertext()) != k.Size() {
		return nil, invalidArg("ciphertext is %d bytes, the key's modulus %d", len(r.GetCiphertext()), k.Size())
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
			CipherText: tpm2.TPM2BPublicKeyRSA{Buffer: r.GetCiphertext()},
			InScheme:   scheme,
			Label:      tpm2.TPM2BData{Buffer: r.GetSalt()},
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

// maxRandomChunk is the most TPM2_GetRandom returns at once (the size of
// the TPM's largest digest).
const maxRandomChunk = 64

// randomBatch is how many TPM2_GetRandom calls run under one lock.
const randomBatch = 64

func (p *Provider) generateRandom(r *pb.GenerateRandomRequest) (*pb.GenerateRandomResult, error) {
	size := r.GetSize()
	if lim := p.settings.BufferSizeLimit; lim > 0 && size > lim {
		return nil, wire.Errorf(wire.StatusResponseTooLarge, "%d random bytes requested, buffer_size_limit is %d", size, lim)
	}
	out := make([]byte, 0, size)
	// The lock is taken per batch so a large request does not keep other
	// clients from the TPM for its whole length.
	for uint64(len(out)) < size {
		err := p.dev.run(func(o *op) error {
			for i := 0; i < randomBatch && uint64(len(out)) < size; i++ {
				n := size - uint64(len(out))
				if n > maxRandomChunk {
					n = maxRandomChunk
				}
				var extra []tpm2.Session
				s, err := o.session()
				var ha *hierarchyAuthError
				if errors.As(err, &ha) {
					// No storage root to salt the session with (wrong
					// owner auth): random still works, unencrypted.
					s, err = nil, nil
				}
				if err != nil {
					return err
				}
				if s != nil {
					// An encrypt-only session: the bytes come back encrypted.
					extra = append(extra, s.use(nil, false, true))
				}
				rsp, err := tpm2.GetRandom{BytesRequested: uint16(n)}.Execute(o.tpm(), extra...)
				if err != nil {
					return fmt.Errorf("TPM2_GetRandom: %w", err)
				}
				if len(rsp.RandomBytes.Buffer) == 0 {
					return wire.Errorf(wire.StatusPsaErrorInsufficientEntropy, "TPM returned no random bytes")
				}
				out = append(out, rsp.RandomBytes.Buffer...)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return &pb.GenerateRandomResult{RandomBytes: out[:size]}, nil
}
