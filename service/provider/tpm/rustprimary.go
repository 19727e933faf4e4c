package tpm

// The parent of keys made by Rust Parsec's TPM provider. Rust re-creates a
// transient primary at every start (tss-esapi's TransientKeyContext): Owner
// hierarchy, RSA-2048 restricted decryption key, AES-256-CFB for its
// children if the TPM has it, else AES-128-CFB, unique empty. Its keys'
// private blobs are wrapped by that primary's seed-derived keys, so they
// load only under the same primary, which we derive again here, lazily:
// only when Rust keys exist. Since 1.4.0 Rust records the primary's Name in
// an internal mapping, RootKeyTPM; we check it as Rust does, but instead
// of refusing to start we report the Rust keys unusable and serve the rest.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
)

// rustRootKeyName is the internal mapping where Rust Parsec (≥ 1.4.0)
// keeps its primary's Name.
const rustRootKeyName = "RootKeyTPM"

// rustRootID names the Rust-style primary in the handle cache.
const rustRootID = "\x00rust-root"

// rustRoot is what the device knows of the Rust-style primary.
type rustRoot struct {
	// expected is the Name in the RootKeyTPM record; nil without one
	// (stores written by Rust Parsec before 1.4.0).
	expected []byte
	// aesBits is the child cipher found to give the right primary (256 or
	// 128); 0 until the primary was first created.
	aesBits int
	name    tpm2.TPM2BName
	saved   *tpm2.TPMSContext
	// lost is set once this TPM is known not to derive the primary the
	// Rust keys were made under; it does not change while we run.
	lost error
}

// rustPrimaryTemplate is tss-esapi's create_restricted_decryption_rsa_public
// with Rust Parsec's parameters (2048 bits, exponent 0, unique empty).
func rustPrimaryTemplate(aesBits int) tpm2.TPMTPublic {
	return tpm2.TPMTPublic{
		Type: tpm2.TPMAlgRSA, NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{
			FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true, UserWithAuth: true,
			Restricted: true, Decrypt: true,
		},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
			Symmetric: rustCipher(aesBits),
			Scheme:    tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull},
			KeyBits:   2048,
		}),
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{}),
	}
}

func rustCipher(aesBits int) tpm2.TPMTSymDefObject {
	return tpm2.TPMTSymDefObject{
		Algorithm: tpm2.TPMAlgAES,
		KeyBits:   tpm2.NewTPMUSymKeyBits(tpm2.TPMAlgAES, tpm2.TPMKeyBits(aesBits)),
		Mode:      tpm2.NewTPMUSymMode(tpm2.TPMAlgAES, tpm2.TPMAlgCFB),
	}
}

// rustCiphers lists the child ciphers to try, in Rust's order: AES-256-CFB
// if TPM2_TestParms accepts it, then AES-128-CFB. Without a recorded Name
// only Rust's own choice is tried.
func (o *op) rustCiphers() ([]int, error) {
	r := &o.d.rust
	if r.aesBits != 0 {
		return []int{r.aesBits}, nil
	}
	_, err := tpm2.TestParms{Parameters: tpm2.TPMTPublicParms{
		Type:       tpm2.TPMAlgSymCipher,
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgSymCipher, &tpm2.TPMSSymCipherParms{Sym: rustCipher(256)}),
	}}.Execute(o.tpm())
	switch {
	case err != nil && isTransport(err):
		return nil, err
	case err != nil:
		return []int{128}, nil
	case r.expected == nil:
		return []int{256}, nil
	}
	return []int{256, 128}, nil
}

// rustRootLost builds the error every Rust key gets once the TPM does not
// give the recorded primary: PsaErrorStorageFailure (the key material is
// lost to us for good; Rust itself refuses to start its TPM provider then).
func rustRootLost(want []byte, got []string) error {
	return wire.Errorf(wire.StatusPsaErrorStorageFailure,
		"this TPM does not derive the primary key Rust Parsec's TPM keys were made under (Name %x recorded, this TPM gives %v): "+
			"the owner hierarchy was cleared or this is another TPM, so keys made by Rust Parsec cannot be used", want, got)
}

// rustRoot returns the Rust-style primary, loaded: from the cache, from
// its saved context, or created again and checked against RootKeyTPM.
func (o *op) rustRoot() (*loaded, error) {
	d := o.d
	r := &d.rust
	if r.lost != nil {
		return nil, r.lost
	}
	if l, err := o.reusePrimary(rustRootID, r.saved, r.name); l != nil || err != nil {
		return l, err
	}
	r.saved = nil
	ciphers, err := o.rustCiphers()
	if err != nil {
		return nil, err
	}
	// Once derived, the primary must come back the same even without a
	// record: a different one means the TPM changed under us.
	want := r.expected
	if want == nil && len(r.name.Buffer) > 0 {
		want = r.name.Buffer
	}
	var got []string
	for _, bits := range ciphers {
		rsp, err := tpm2.CreatePrimary{
			PrimaryHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(d.ownerAuth)},
			InPublic:      tpm2.New2B(rustPrimaryTemplate(bits)),
		}.Execute(d.t)
		if err != nil {
			if isAuthFailure(err) {
				return nil, &hierarchyAuthError{hierarchy: "owner", key: "owner_hierarchy_auth", err: err}
			}
			return nil, fmt.Errorf("creating the Rust Parsec primary key (AES-%d): %w", bits, err)
		}
		if want != nil && !bytes.Equal(rsp.Name.Buffer, want) {
			got = append(got, fmt.Sprintf("%x (AES-%d)", rsp.Name.Buffer, bits))
			if _, err := (tpm2.FlushContext{FlushHandle: rsp.ObjectHandle}).Execute(d.t); err != nil && isTransport(err) {
				return nil, err
			}
			continue
		}
		if r.aesBits == 0 {
			d.log.Info("TPM: derived the primary key of Rust Parsec's keys", "cipher", fmt.Sprintf("AES-%d-CFB", bits),
				"name", hex.EncodeToString(rsp.Name.Buffer), "checked_against_RootKeyTPM", r.expected != nil)
		}
		r.aesBits, r.name = bits, rsp.Name
		l := d.insert(rustRootID, rsp.ObjectHandle, rsp.Name)
		o.pin(l)
		if s, err := (tpm2.ContextSave{SaveHandle: rsp.ObjectHandle}).Execute(d.t); err == nil {
			r.saved = &s.Context
		} else if isTransport(err) {
			return nil, err
		}
		return l, nil
	}
	r.lost = rustRootLost(want, got)
	return nil, r.lost
}

// parentFor returns the primary a key loads under.
func (o *op) parentFor(b *keyBlob) (*loaded, error) {
	if b.rust {
		return o.rustRoot()
	}
	return o.storageRoot()
}

// rustLoadRefused explains a TPM_RC_INTEGRITY from loading a Rust key
// whose primary could be derived.
func (d *device) rustLoadRefused(err error) error {
	if d.rust.expected != nil {
		// The primary is the recorded one: the entry itself is damaged.
		return fmt.Errorf("%w: the TPM rejects the Rust key's private part although the primary matches RootKeyTPM (damaged entry?): %v", errBadBlob, err)
	}
	return wire.Errorf(wire.StatusPsaErrorStorageFailure,
		"the TPM rejects the Rust key's private part: the TPM was cleared or is another TPM, or the entry is damaged "+
			"(the store has no RootKeyTPM record to tell which): %v", err)
}

// readRootKeyTPM reads Rust's RootKeyTPM record: bincode Vec<u8> (u64
// little-endian length, then the Name, 0x000B || SHA-256 of the primary's
// public area). It returns nil without a record.
func readRootKeyTPM(m kim.Manager) ([]byte, error) {
	e, err := m.Get(kim.InternalOwner, rustRootKeyName)
	if errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if e.Provider != wire.ProviderTpm {
		return nil, fmt.Errorf("the internal key %s belongs to provider %v, not the TPM", rustRootKeyName, e.Provider)
	}
	id := e.KeyID
	if len(id) != 8+34 || binary.LittleEndian.Uint64(id) != 34 || id[8] != 0 || id[9] != byte(tpm2.TPMAlgSHA256) {
		return nil, fmt.Errorf("the internal key %s is not a SHA-256 TPM Name in Rust's encoding (%d bytes)", rustRootKeyName, len(id))
	}
	return id[8:], nil
}

// checkRustKeys runs at start: it reads RootKeyTPM and, when Rust keys
// exist, derives their primary and reports at error level, key by key,
// every Rust key that cannot be used. It returns how many cannot.
func (p *Provider) checkRustKeys(keys []kim.Key) int {
	want, err := readRootKeyTPM(p.keys.Manager())
	if err != nil {
		p.log.Error("TPM: ignoring Rust Parsec's RootKeyTPM record", "err", err)
	}
	p.dev.mu.Lock()
	p.dev.rust.expected = want
	p.dev.mu.Unlock()
	if len(keys) == 0 {
		return 0
	}
	report := func(k kim.Key, err error) {
		s, cause := statusFor(err)
		p.log.Error("TPM: a key made by Rust Parsec cannot be used (mapping kept)", "auth_type", int(k.Owner.AuthType),
			"app", k.Owner.App, "key", k.Name, "status", s.String(), "cause", cause)
	}
	bad := 0
	var pairs []kim.Key
	var blobs []*keyBlob
	for _, k := range keys {
		b, err := decodeKeyID(k.Entry)
		switch {
		case err != nil:
			report(k, err)
			bad++
		case b.kind == kindPair:
			pairs = append(pairs, k)
			blobs = append(blobs, b)
		}
	}
	if len(pairs) == 0 {
		return bad
	}
	err = p.dev.run(func(o *op) error { _, err := o.rustRoot(); return err })
	var ws *wire.Error
	switch {
	case errors.As(err, &ws) && ws.Status == wire.StatusPsaErrorStorageFailure:
		for _, k := range pairs {
			report(k, err)
		}
		return bad + len(pairs)
	case err != nil:
		p.log.Error("TPM: cannot derive Rust Parsec's primary key now; its keys will be tried when used", "keys", len(pairs), "err", err)
		return bad
	case want != nil:
		return bad // the recorded primary: its keys load
	}
	// No record to check the primary against: load each key once.
	p.log.Warn("TPM: no RootKeyTPM record (a store of Rust Parsec before 1.4.0); loading each Rust key once to check it", "keys", len(pairs))
	for i, b := range blobs {
		if err := p.dev.run(func(o *op) error { _, err := o.loadKey(b); return err }); err != nil {
			report(pairs[i], err)
			bad++
		}
	}
	return bad
}
