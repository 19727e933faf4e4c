package tpm

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func prepare(p *Provider, app auth.Application, key, attesting string) (*pb.PrepareKeyAttestationOutput_ActivateCredential, error) {
	res, err := call(p, app, wire.OpPrepareKeyAttestation, &pb.PrepareKeyAttestationRequest{Parameters: &pb.PrepareKeyAttestationParams{
		Mechanism: &pb.PrepareKeyAttestationParams_ActivateCredential_{ActivateCredential: &pb.PrepareKeyAttestationParams_ActivateCredential{
			AttestedKeyName: key, AttestingKeyName: attesting,
		}},
	}})
	if err != nil {
		return nil, err
	}
	return res.(*pb.PrepareKeyAttestationResult).GetOutput().GetActivateCredential(), nil
}

func attest(p *Provider, app auth.Application, key string, blob, secret []byte) ([]byte, error) {
	res, err := call(p, app, wire.OpAttestKey, &pb.AttestKeyRequest{AttestedKeyName: key, Parameters: &pb.AttestationMechanismParams{
		Mechanism: &pb.AttestationMechanismParams_ActivateCredential_{ActivateCredential: &pb.AttestationMechanismParams_ActivateCredential{
			CredentialBlob: blob, Secret: secret,
		}},
	}})
	if err != nil {
		return nil, err
	}
	return res.(*pb.AttestKeyResult).GetOutput().GetActivateCredential().GetCredential(), nil
}

// verifierEK rebuilds the EK's public area from the PKCS#1 key Parsec
// hands out, as a verifier knowing the TCG template does.
func verifierEK(t *testing.T, der []byte) tpm2.TPMTPublic {
	t.Helper()
	k, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		t.Fatalf("attesting_key_pub is not PKCS#1: %v", err)
	}
	ek := tpm2.RSAEKTemplate
	ek.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: k.N.Bytes()})
	return ek
}

// makeCredential is the verifier's side, in software (go-tpm's
// implementation of the TPM's credential protection).
func makeCredential(t *testing.T, ek tpm2.TPMTPublic, name, secret []byte) (blob, encSecret []byte) {
	t.Helper()
	key, err := tpm2.ImportEncapsulationKey(&ek)
	if err != nil {
		t.Fatal(err)
	}
	blob, encSecret, err = tpm2.CreateCredential(rand.Reader, key, name, secret)
	if err != nil {
		t.Fatal(err)
	}
	return blob, encSecret
}

func TestAttestation(t *testing.T) {
	e := newEnv(t)
	if err := generate(t, e.p, alice, "attested", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	if err := generate(t, e.p, alice, "other", rsa2048Sign); err != nil {
		t.Fatal(err)
	}
	out, err := prepare(e.p, alice, "attested", "")
	if err != nil {
		t.Fatal(err)
	}
	// The name is the hash of the public area handed out, and that area
	// is the key the provider exports.
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](out.GetPublic())
	if err != nil {
		t.Fatalf("public is not a TPMT_PUBLIC: %v", err)
	}
	name, err := tpm2.ObjectName(pub)
	if err != nil || !bytes.Equal(name.Buffer, out.GetName()) {
		t.Fatalf("name %x does not match the public area (%x, %v)", out.GetName(), name.Buffer, err)
	}
	exported, _ := exportPub(e.p, alice, "attested")
	if fromArea, _ := exportPublic(pub); !bytes.Equal(fromArea, exported) {
		t.Fatal("the attested public area is not the exported key")
	}
	if !pub.ObjectAttributes.FixedTPM || !pub.ObjectAttributes.SensitiveDataOrigin {
		t.Fatal("attested key is not fixedTPM/sensitiveDataOrigin")
	}
	ek := verifierEK(t, out.GetAttestingKeyPub())

	t.Run("software-make-credential", func(t *testing.T) {
		secret := []byte("the verifier's nonce 0123456789")
		blob, enc := makeCredential(t, ek, out.GetName(), secret)
		got, err := attest(e.p, alice, "attested", blob, enc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, secret) {
			t.Fatalf("credential %q, want %q", got, secret)
		}
	})
	t.Run("tpm-make-credential", func(t *testing.T) {
		// TPM2_MakeCredential on the TPM itself, from the public EK.
		other := e.tpm.direct(t)
		lrsp, err := tpm2.LoadExternal{InPublic: tpm2.New2B(ek), Hierarchy: tpm2.TPMRHNull}.Execute(other)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _, _ = tpm2.FlushContext{FlushHandle: lrsp.ObjectHandle}.Execute(other) }()
		secret := []byte("made by the TPM")
		mc, err := tpm2.MakeCredential{
			Handle:     lrsp.ObjectHandle,
			Credential: tpm2.TPM2BDigest{Buffer: secret},
			ObjectName: tpm2.TPM2BName{Buffer: out.GetName()},
		}.Execute(other)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = tpm2.FlushContext{FlushHandle: lrsp.ObjectHandle}.Execute(other)
		got, err := attest(e.p, alice, "attested", mc.CredentialBlob.Buffer, mc.Secret.Buffer)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, secret) {
			t.Fatalf("credential %q, want %q", got, secret)
		}
	})
	t.Run("credential-for-another-key", func(t *testing.T) {
		o, err := prepare(e.p, alice, "other", "")
		if err != nil {
			t.Fatal(err)
		}
		blob, enc := makeCredential(t, ek, o.GetName(), []byte("for other"))
		_, err = attest(e.p, alice, "attested", blob, enc)
		wantStatus(t, err, wire.StatusPsaErrorInvalidArgument)
		// and the right key gets it
		got, err := attest(e.p, alice, "other", blob, enc)
		if err != nil || string(got) != "for other" {
			t.Fatalf("%q, %v", got, err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		_, err := attest(e.p, alice, "attested", []byte{0, 1, 2}, make([]byte, 256))
		wantStatus(t, err, wire.StatusPsaErrorInvalidArgument)
	})
	t.Run("other-attesting-key", func(t *testing.T) {
		_, err := prepare(e.p, alice, "attested", "other")
		wantStatus(t, err, wire.StatusPsaErrorNotSupported)
	})
	t.Run("missing-key", func(t *testing.T) {
		_, err := prepare(e.p, alice, "nope", "")
		wantStatus(t, err, wire.StatusPsaErrorDoesNotExist)
		_, err = prepare(e.p, bob, "attested", "")
		wantStatus(t, err, wire.StatusPsaErrorDoesNotExist)
	})
	t.Run("public-key", func(t *testing.T) {
		a := psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Usage: psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)}
		pubKey, _ := exportPub(e.p, alice, "attested")
		if err := importKey(t, e.p, alice, "imported", a, pubKey); err != nil {
			t.Fatal(err)
		}
		_, err := prepare(e.p, alice, "imported", "")
		wantStatus(t, err, wire.StatusPsaErrorInvalidArgument)
	})
	if n, want := e.tpm.transientCount(t), e.p.dev.loadedCount(); n != want {
		t.Fatalf("TPM holds %d transient objects, the provider accounts for %d", n, want)
	}
}

// TestAttestationEndorsementAuth: with an endorsement password the config
// lacks, attestation fails with NotPermitted and a log line naming the
// config key; with it, it works.
func TestAttestationEndorsementAuth(t *testing.T) {
	e := newEnv(t)
	if err := generate(t, e.p, alice, "k", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	out, err := prepare(e.p, alice, "k", "")
	if err != nil {
		t.Fatal(err)
	}
	_ = e.p.Close()
	if _, err := (tpm2.HierarchyChangeAuth{
		AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHEndorsement, Auth: tpm2.PasswordAuth(nil)},
		NewAuth:    tpm2.TPM2BAuth{Buffer: []byte("endorse")},
	}).Execute(e.tpm.direct(t)); err != nil {
		t.Fatal(err)
	}
	blob, enc := makeCredential(t, verifierEK(t, out.GetAttestingKeyPub()), out.GetName(), []byte("s3cret"))
	p := e.open(t)
	e.log.reset()
	_, err = attest(p, alice, "k", blob, enc)
	wantStatus(t, err, wire.StatusPsaErrorNotPermitted)
	e.log.mustFind(t, "AttestKey failed", "endorsement_hierarchy_auth")
	_, err = prepare(p, alice, "k", "")
	wantStatus(t, err, wire.StatusPsaErrorNotPermitted)
	_ = p.Close()

	right := "str:endorse"
	e.cfg.EndorsementHierarchyAuth = &right
	p = e.open(t)
	got, err := attest(p, alice, "k", blob, enc)
	if err != nil || string(got) != "s3cret" {
		t.Fatalf("with the right endorsement auth: %q, %v", got, err)
	}
	if n := e.tpm.transientCount(t); n != p.dev.loadedCount() {
		t.Fatalf("TPM holds %d transient objects, the provider accounts for %d", n, p.dev.loadedCount())
	}
}

// TestSessionMemory: another client left every session slot taken; the
// attestation's policy session needs one. Without a resource manager the
// provider flushes them, logs it, and succeeds.
func TestSessionMemory(t *testing.T) {
	e := newEnv(t)
	if err := generate(t, e.p, alice, "k", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	out, err := prepare(e.p, alice, "k", "")
	if err != nil {
		t.Fatal(err)
	}
	other := e.tpm.direct(t)
	for i := 0; ; i++ {
		_, err := tpm2.StartAuthSession{
			TPMKey: tpm2.TPMRHNull, Bind: tpm2.TPMRHNull, NonceCaller: tpm2.TPM2BNonce{Buffer: make([]byte, 16)},
			SessionType: tpm2.TPMSEHMAC, Symmetric: tpm2.TPMTSymDef{Algorithm: tpm2.TPMAlgNull}, AuthHash: tpm2.TPMAlgSHA256,
		}.Execute(other)
		if isSessionMemory(err) {
			t.Logf("another client took %d sessions", i)
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i > 100 {
			t.Fatal("the TPM never ran out of sessions")
		}
	}
	blob, enc := makeCredential(t, verifierEK(t, out.GetAttestingKeyPub()), out.GetName(), []byte("despite"))
	e.log.reset()
	got, err := attest(e.p, alice, "k", blob, enc)
	if err != nil || string(got) != "despite" {
		t.Fatalf("attest with the sessions full: %q, %v", got, err)
	}
	e.log.mustFind(t, "out of session memory")
}
