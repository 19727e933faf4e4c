package tpm

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"

	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// Key attestation with TPM2_ActivateCredential, as Parsec's TPM provider
// does it: the verifier gets the key's name and public area and the
// endorsement key's public key (PrepareKeyAttestation), encrypts a secret
// to the EK bound to that name (TPM2_MakeCredential or its software
// equivalent), and only this TPM, holding both the EK and the key, can
// return the secret (AttestKey). The attesting key is always the default
// RSA-2048 EK (TCG template); naming another one is not supported, as in
// Parsec.

func (p *Provider) prepareKeyAttestation(_ context.Context, c provider.Call[*pb.PrepareKeyAttestationRequest]) (*pb.PrepareKeyAttestationResult, error) {
	ac := c.Req.GetParameters().GetActivateCredential()
	if ac == nil {
		return nil, wire.Errorf(wire.StatusInvalidEncoding, "PrepareKeyAttestation needs the activate_credential parameters")
	}
	if ac.GetAttestingKeyName() != "" {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "attesting with a key other than the endorsement key is not supported")
	}
	_, b, err := p.lookup(c.App, ac.GetAttestedKeyName())
	if err != nil {
		return nil, err
	}
	if b.kind != kindPair {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key %q is an imported public key: only keys held by the TPM can be attested", ac.GetAttestedKeyName())
	}
	name, err := tpm2.ObjectName(b.pub)
	if err != nil {
		return nil, fmt.Errorf("%w: computing the key's name: %v", errBadBlob, err)
	}
	ek, err := p.endorsementPublic()
	if err != nil {
		return nil, err
	}
	ekKey, err := rsaPublic(ek)
	if err != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorGenericError, "endorsement key: %v", err)
	}
	return &pb.PrepareKeyAttestationResult{Output: &pb.PrepareKeyAttestationOutput{
		Mechanism: &pb.PrepareKeyAttestationOutput_ActivateCredential_{ActivateCredential: &pb.PrepareKeyAttestationOutput_ActivateCredential{
			Name:            name.Buffer,
			Public:          b.public,
			AttestingKeyPub: x509.MarshalPKCS1PublicKey(ekKey),
		}},
	}}, nil
}

// endorsementPublic returns the EK's public area, deriving the EK once.
func (p *Provider) endorsementPublic() (*tpm2.TPMTPublic, error) {
	var pub *tpm2.TPMTPublic
	err := p.dev.run(func(o *op) error {
		if o.d.ek != nil {
			pub = o.d.ek
			return nil
		}
		ek, err := o.endorsementKey()
		if err != nil {
			return err
		}
		defer o.d.flushTemp(ek.handle)
		pub = o.d.ek
		return nil
	})
	return pub, err
}

// tempObject is an object loaded for one operation, outside the cache.
type tempObject struct {
	handle tpm2.TPMHandle
	name   tpm2.TPM2BName
}

// endorsementKey derives the default RSA EK (TCG template) into a
// temporary handle the caller flushes.
func (o *op) endorsementKey() (*tempObject, error) {
	d := o.d
	if err := d.makeRoom(1); err != nil {
		return nil, err
	}
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHEndorsement, Auth: tpm2.PasswordAuth(d.endorsementAuth)},
		InPublic:      tpm2.New2B(tpm2.RSAEKTemplate),
	}.Execute(d.t)
	if err != nil {
		if isAuthFailure(err) {
			return nil, &hierarchyAuthError{hierarchy: "endorsement", key: "endorsement_hierarchy_auth", err: err}
		}
		return nil, fmt.Errorf("deriving the endorsement key: %w", err)
	}
	pub, err := rsp.OutPublic.Contents()
	if err != nil {
		d.flushTemp(rsp.ObjectHandle)
		return nil, fmt.Errorf("endorsement key public area: %w", err)
	}
	d.ek = pub
	return &tempObject{handle: rsp.ObjectHandle, name: rsp.Name}, nil
}

// flushTemp flushes an object loaded outside the cache.
func (d *device) flushTemp(h tpm2.TPMHandle) {
	if d.t != nil {
		_, _ = tpm2.FlushContext{FlushHandle: h}.Execute(d.t)
		d.flushes++
	}
}

// errBadCredential marks a credential the TPM could not open.
var errBadCredential = errors.New("the TPM cannot open the credential")

func (p *Provider) attestKey(_ context.Context, c provider.Call[*pb.AttestKeyRequest]) (*pb.AttestKeyResult, error) {
	ac := c.Req.GetParameters().GetActivateCredential()
	if ac == nil {
		return nil, wire.Errorf(wire.StatusInvalidEncoding, "AttestKey needs the activate_credential parameters")
	}
	if c.Req.GetAttestingKeyName() != "" {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "attesting with a key other than the endorsement key is not supported")
	}
	_, b, err := p.lookup(c.App, c.Req.GetAttestedKeyName())
	if err != nil {
		return nil, err
	}
	if b.kind != kindPair {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key %q is an imported public key: only keys held by the TPM can be attested", c.Req.GetAttestedKeyName())
	}
	var credential []byte
	err = p.dev.run(func(o *op) error {
		key, err := o.loadKey(b)
		if err != nil {
			return err
		}
		ek, err := o.endorsementKey()
		if err != nil {
			return err
		}
		defer o.d.flushTemp(ek.handle)
		// The EK's policy is PolicySecret(TPM_RH_ENDORSEMENT).
		sess, closeSess, err := tpm2.PolicySession(o.tpm(), tpm2.TPMAlgSHA256, 16)
		if err != nil {
			return fmt.Errorf("starting a policy session: %w", err)
		}
		defer func() { _ = closeSess() }()
		if _, err := (tpm2.PolicySecret{
			AuthHandle:    tpm2.AuthHandle{Handle: tpm2.TPMRHEndorsement, Auth: tpm2.PasswordAuth(o.d.endorsementAuth)},
			PolicySession: sess.Handle(),
			NonceTPM:      sess.NonceTPM(),
		}).Execute(o.tpm()); err != nil {
			if isAuthFailure(err) {
				return &hierarchyAuthError{hierarchy: "endorsement", key: "endorsement_hierarchy_auth", err: err}
			}
			return fmt.Errorf("TPM2_PolicySecret: %w", err)
		}
		// The credential comes back encrypted.
		activate, err := o.authorize(key, b.auth, false, true)
		if err != nil {
			return err
		}
		rsp, err := tpm2.ActivateCredential{
			ActivateHandle: activate,
			KeyHandle:      tpm2.AuthHandle{Handle: ek.handle, Name: ek.name, Auth: sess},
			CredentialBlob: tpm2.TPM2BIDObject{Buffer: ac.GetCredentialBlob()},
			Secret:         tpm2.TPM2BEncryptedSecret{Buffer: ac.GetSecret()},
		}.Execute(o.tpm())
		if o.inputFailure(err) {
			return errBadCredential
		}
		if err != nil {
			return fmt.Errorf("TPM2_ActivateCredential: %w", err)
		}
		credential = rsp.CertInfo.Buffer
		return nil
	})
	if err != nil {
		switch {
		case errors.Is(err, errBadCredential), rcIs(err, tpm2.TPMRCValue), rcIs(err, tpm2.TPMRCSize), rcIs(err, tpm2.TPMRCIntegrity),
			rcIs(err, tpm2.TPMRCInsufficient), rcIs(err, tpm2.TPMRCECCPoint):
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the credential was not made for this key and TPM, or is malformed: %v", err)
		}
		return nil, err
	}
	return &pb.AttestKeyResult{Output: &pb.AttestationOutput{
		Mechanism: &pb.AttestationOutput_ActivateCredential_{ActivateCredential: &pb.AttestationOutput_ActivateCredential{Credential: credential}},
	}}, nil
}
