package software

import (
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// nameFree fails early when the name is taken, before costly key
// generation; Insert still decides races.
func (p *Provider) nameFree(o kim.Owner, name string) error {
	_, err := p.kim.Get(o, name)
	if err == nil {
		return wire.Errorf(wire.StatusPsaErrorAlreadyExists, "key %q already exists", name)
	}
	if wire.StatusOf(err, 0) == wire.StatusPsaErrorDoesNotExist {
		return nil
	}
	return err
}

// persist writes the key material, then records the mapping. The order
// matters for crash safety: material without a mapping is inert, a
// mapping without material would be a broken key. If the mapping cannot
// be recorded the material is removed again.
func (p *Provider) persist(o kim.Owner, name string, a psa.Attributes, material []byte) error {
	id, err := p.store.create(encodeRecord(a, material))
	if err != nil {
		return err
	}
	err = p.kim.Insert(o, name, kim.Entry{
		Provider:     wire.ProviderMbedCrypto,
		ProviderName: p.info.Name,
		KeyID:        encodeKeyID(id),
		Attributes:   a,
	})
	if err != nil {
		if rmErr := p.store.remove(id); rmErr != nil {
			p.log.Error("removing key material after a failed mapping", "key_id", id, "err", rmErr)
		}
		return err
	}
	return nil
}

func (p *Provider) generateKey(app auth.Application, r *pb.GenerateKeyRequest) (*pb.GenerateKeyResult, error) {
	a, err := psa.AttributesFromProto(r.GetAttributes())
	if err != nil {
		return nil, err
	}
	if err := p.settings.CheckGenerate(a); err != nil {
		return nil, err
	}
	if err := a.CheckRSASize(false); err != nil {
		return nil, err
	}
	o := kim.OwnerOf(app)
	if err := p.nameFree(o, r.GetKeyName()); err != nil {
		return nil, err
	}
	material, err := generateMaterial(a)
	if err != nil {
		return nil, err
	}
	if err := p.persist(o, r.GetKeyName(), a, material); err != nil {
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
		// Parsec only warns on import.
		p.log.Warn("importing a key with a deprecated primitive", "type", a.Type, "alg", a.Alg)
	}
	if err := a.CheckRSASize(true); err != nil {
		return nil, err
	}
	o := kim.OwnerOf(app)
	if err := p.nameFree(o, r.GetKeyName()); err != nil {
		return nil, err
	}
	k, err := parseKey(a, r.GetData())
	if err != nil {
		return nil, err
	}
	if err := p.persist(o, r.GetKeyName(), k.attrs, k.material); err != nil {
		return nil, err
	}
	return &pb.ImportKeyResult{}, nil
}

func (p *Provider) destroyKey(app auth.Application, r *pb.DestroyKeyRequest) (*pb.DestroyKeyResult, error) {
	o := kim.OwnerOf(app)
	e, err := kim.GetFor(p.kim, o, r.GetKeyName(), p.info.Name)
	if err != nil {
		return nil, err
	}
	// Mapping first: once it is gone the key is unusable, whatever
	// happens to the material next.
	if err := p.kim.Remove(o, r.GetKeyName()); err != nil {
		return nil, err
	}
	id, ok := decodeKeyID(e.KeyID)
	if !ok {
		p.log.Error("destroyed a mapping with an invalid key id", "key", r.GetKeyName())
		return &pb.DestroyKeyResult{}, nil
	}
	p.forget(id)
	if err := p.store.remove(id); err != nil {
		p.log.Error("key mapping removed but its material could not be deleted", "key_id", id, "err", err)
		return nil, err
	}
	return &pb.DestroyKeyResult{}, nil
}

func (p *Provider) exportPublicKey(app auth.Application, r *pb.ExportPublicKeyRequest) (*pb.ExportPublicKeyResult, error) {
	k, err := p.lookup(app, r.GetKeyName())
	if err != nil {
		return nil, err
	}
	data, err := k.publicKey()
	if err != nil {
		return nil, err
	}
	return &pb.ExportPublicKeyResult{Data: data}, nil
}

func (p *Provider) exportKey(app auth.Application, r *pb.ExportKeyRequest) (*pb.ExportKeyResult, error) {
	k, err := p.lookup(app, r.GetKeyName())
	if err != nil {
		return nil, err
	}
	// Public keys are always exportable.
	if !k.attrs.Type.IsPublicKey() && k.attrs.Usage&psa.UsageExport == 0 {
		return nil, errNotPermitted("key %q does not allow export", r.GetKeyName())
	}
	return &pb.ExportKeyResult{Data: append([]byte(nil), k.material...)}, nil
}
