package software

import (
	"context"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// persist writes the key material, then records the mapping. The order
// matters for crash safety: material without a mapping is inert, a
// mapping without material would be a broken key. If the mapping cannot
// be recorded the material is removed again.
func (p *Provider) persist(app auth.Application, name string, a psa.Attributes, material []byte) error {
	id, err := p.store.create(encodeRecord(a, material))
	if err != nil {
		return err
	}
	return p.keys.Insert(app, name, encodeKeyID(id), a, func() error { return p.store.remove(id) })
}

func (p *Provider) generateKey(_ context.Context, c provider.Call[*pb.GenerateKeyRequest]) (*pb.GenerateKeyResult, error) {
	a := c.Attrs
	if err := p.settings.CheckGenerate(a); err != nil {
		return nil, err
	}
	if err := a.CheckRSASize(false); err != nil {
		return nil, err
	}
	if err := p.keys.Free(c.App, c.Req.GetKeyName()); err != nil {
		return nil, err
	}
	material, err := generateMaterial(a)
	if err != nil {
		return nil, err
	}
	if err := p.persist(c.App, c.Req.GetKeyName(), a, material); err != nil {
		return nil, err
	}
	return &pb.GenerateKeyResult{}, nil
}

func (p *Provider) importKey(_ context.Context, c provider.Call[*pb.ImportKeyRequest]) (*pb.ImportKeyResult, error) {
	a := c.Attrs
	if a.Deprecated() {
		// Parsec only warns on import.
		p.log.Warn("importing a key with a deprecated primitive", "type", a.Type, "alg", a.Alg)
	}
	if err := a.CheckRSASize(true); err != nil {
		return nil, err
	}
	if err := p.keys.Free(c.App, c.Req.GetKeyName()); err != nil {
		return nil, err
	}
	k, err := parseKey(a, c.Req.GetData())
	if err != nil {
		return nil, err
	}
	if err := p.persist(c.App, c.Req.GetKeyName(), k.attrs, k.material); err != nil {
		return nil, err
	}
	return &pb.ImportKeyResult{}, nil
}

func (p *Provider) destroyKey(_ context.Context, c provider.Call[*pb.DestroyKeyRequest]) (*pb.DestroyKeyResult, error) {
	e, err := p.keys.Get(c.App, c.Req.GetKeyName())
	if err != nil {
		return nil, err
	}
	// Mapping first: once it is gone the key is unusable, whatever
	// happens to the material next.
	if err := p.keys.Remove(c.App, c.Req.GetKeyName()); err != nil {
		return nil, err
	}
	id, ok := decodeKeyID(e.KeyID)
	if !ok {
		p.log.Error("destroyed a mapping with an invalid key id", "key", c.Req.GetKeyName())
		return &pb.DestroyKeyResult{}, nil
	}
	p.forget(id)
	if err := p.store.remove(id); err != nil {
		p.log.Error("key mapping removed but its material could not be deleted", "key_id", id, "err", err)
		return nil, err
	}
	return &pb.DestroyKeyResult{}, nil
}

func (p *Provider) exportPublicKey(_ context.Context, c provider.Call[*pb.ExportPublicKeyRequest]) (*pb.ExportPublicKeyResult, error) {
	k, err := p.lookup(c.App, c.Req.GetKeyName())
	if err != nil {
		return nil, err
	}
	data, err := k.publicKey()
	if err != nil {
		return nil, err
	}
	return &pb.ExportPublicKeyResult{Data: data}, nil
}

func (p *Provider) exportKey(_ context.Context, c provider.Call[*pb.ExportKeyRequest]) (*pb.ExportKeyResult, error) {
	k, err := p.lookup(c.App, c.Req.GetKeyName())
	if err != nil {
		return nil, err
	}
	// Public keys are always exportable.
	if !k.attrs.Type.IsPublicKey() && k.attrs.Usage&psa.UsageExport == 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorNotPermitted, "key %q does not allow export", c.Req.GetKeyName())
	}
	return &pb.ExportKeyResult{Data: append([]byte(nil), k.material...)}, nil
}
