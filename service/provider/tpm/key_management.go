package tpm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"

	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// keyAuthSize is the length of the random auth value of each key.
const keyAuthSize = 32

// lookup fetches the caller's key and decodes its TPM blob.
func (p *Provider) lookup(app auth.Application, name string) (kim.Entry, *keyBlob, error) {
	e, err := p.keys.Get(app, name)
	if err != nil {
		return e, nil, err
	}
	b, err := decodeKeyID(e)
	if err != nil {
		return e, nil, err
	}
	return e, b, nil
}

func (p *Provider) generateKey(_ context.Context, c provider.Call[*pb.GenerateKeyRequest]) (*pb.GenerateKeyResult, error) {
	a := c.Attrs
	if err := p.settings.CheckGenerate(a); err != nil {
		return nil, err
	}
	switch {
	case a.Type.IsPublicKey():
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "a public key cannot be generated")
	case !a.Type.IsKeyPair() || a.Type.IsDH():
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "the TPM provider generates RSA and ECC key pairs, not %v", a.Type)
	case a.Bits == 0:
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key generation needs a key size")
	}
	if err := p.keys.Free(c.App, c.Req.GetKeyName()); err != nil {
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
	if err := p.keys.Insert(c.App, c.Req.GetKeyName(), blob.encode(), a, nil); err != nil {
		return nil, err
	}
	return &pb.GenerateKeyResult{}, nil
}

func (p *Provider) importKey(_ context.Context, c provider.Call[*pb.ImportKeyRequest]) (*pb.ImportKeyResult, error) {
	a := c.Attrs
	if a.Deprecated() {
		p.log.Warn("importing a key with a deprecated primitive", "type", a.Type.String(), "alg", a.Alg.String())
	}
	pub, a, err := importPublic(a, c.Req.GetData())
	if err != nil {
		return nil, err
	}
	if err := p.keys.Free(c.App, c.Req.GetKeyName()); err != nil {
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
	if err := p.keys.Insert(c.App, c.Req.GetKeyName(), blob.encode(), a, nil); err != nil {
		return nil, err
	}
	return &pb.ImportKeyResult{}, nil
}

func (p *Provider) exportPublicKey(_ context.Context, c provider.Call[*pb.ExportPublicKeyRequest]) (*pb.ExportPublicKeyResult, error) {
	_, b, err := p.lookup(c.App, c.Req.GetKeyName())
	if err != nil {
		return nil, err
	}
	data, err := exportPublic(b.pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadBlob, err)
	}
	return &pb.ExportPublicKeyResult{Data: data}, nil
}

func (p *Provider) destroyKey(_ context.Context, c provider.Call[*pb.DestroyKeyRequest]) (*pb.DestroyKeyResult, error) {
	_, b, err := p.lookup(c.App, c.Req.GetKeyName())
	if err != nil && !errors.Is(err, errBadBlob) {
		return nil, err
	}
	// The mapping goes first: once it is gone nobody can reach the key,
	// whatever happens to the TPM side.
	if err := p.keys.Remove(c.App, c.Req.GetKeyName()); err != nil {
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
