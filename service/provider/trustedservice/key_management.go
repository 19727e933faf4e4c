package trustedservice

import (
	"context"
	"errors"

	"github.com/parsec-go/parsec/internal/ts"
	pc "github.com/parsec-go/parsec/internal/ts/packedc"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// maxIDTries bounds how many ids a creation tries when the partition
// already holds keys the key info manager does not know (left by a crash
// between creating a key and recording it, or a reset mapping store).
const maxIDTries = 16

// create makes a key in the partition with a fresh persistent id and
// records the mapping; if recording fails the key is destroyed again.
func (x *call) create(ctx context.Context, name string, a psa.Attributes, mk func(ts.KeyAttributes) (uint32, error)) error {
	if err := x.p.keys.Free(x.app, name); err != nil {
		return err
	}
	var id uint32
	for try := 0; ; try++ {
		var err error
		if id, err = x.p.allocID(); err != nil {
			return err
		}
		got, err := mk(ts.PersistentKey(a, id))
		if err == nil {
			if got != id {
				x.p.log.Error("secure world created the key under another id", "asked", id, "got", got)
				x.cr.DestroyKey(ctx, got)
				return wire.Errorf(wire.StatusPsaErrorCommunicationFailure, "secure world created key %d when asked for %d", got, id)
			}
			break
		}
		if errors.Is(err, ts.PSAErrorAlreadyExists) && try < maxIDTries {
			x.p.log.Warn("secure world already holds a key with this id, not mapped here; skipping the id", "key_id", id)
			continue
		}
		return x.fail(err, nil)
	}
	// The partition fills in the size of an imported key; record that.
	if a.Bits == 0 && x.cr.Supports(pc.OpGetKeyAttrs) {
		if got, err := x.cr.GetKeyAttributes(ctx, id); err == nil {
			a.Bits = got.Bits
		}
	}
	return x.p.keys.Insert(x.app, name, encodeKeyID(id), a, func() error { return x.cr.DestroyKey(ctx, id) })
}

func (x *call) generateKey(ctx context.Context, r *pb.GenerateKeyRequest) (*pb.GenerateKeyResult, error) {
	a := x.attrs
	if err := x.p.settings.CheckGenerate(a); err != nil {
		return nil, err
	}
	if err := a.CheckRSASize(false); err != nil {
		return nil, err
	}
	err := x.create(ctx, r.GetKeyName(), a, func(ka ts.KeyAttributes) (uint32, error) { return x.cr.GenerateKey(ctx, ka) })
	if err != nil {
		return nil, err
	}
	return &pb.GenerateKeyResult{}, nil
}

func (x *call) importKey(ctx context.Context, r *pb.ImportKeyRequest) (*pb.ImportKeyResult, error) {
	a := x.attrs
	if a.Deprecated() {
		x.p.log.Warn("importing a key with a deprecated primitive", "type", a.Type, "alg", a.Alg)
	}
	if err := a.CheckRSASize(true); err != nil {
		return nil, err
	}
	err := x.create(ctx, r.GetKeyName(), a, func(ka ts.KeyAttributes) (uint32, error) { return x.cr.ImportKey(ctx, ka, r.GetData()) })
	if err != nil {
		return nil, err
	}
	return &pb.ImportKeyResult{}, nil
}

// destroyKey destroys the key in the partition, then removes the mapping.
// A key the partition lost is reported DoesNotExist and its mapping is
// removed all the same.
func (x *call) destroyKey(ctx context.Context, r *pb.DestroyKeyRequest) (*pb.DestroyKeyResult, error) {
	k, err := x.key(r.GetKeyName())
	if err != nil {
		return nil, err
	}
	if err := x.cr.DestroyKey(ctx, k.id); err != nil {
		return nil, x.fail(err, &k)
	}
	if err := x.p.keys.Remove(x.app, k.name); err != nil {
		x.p.log.Error("key destroyed in the secure world but its mapping could not be removed", "key", k.name, "key_id", k.id, "err", err)
		return nil, err
	}
	return &pb.DestroyKeyResult{}, nil
}

func (x *call) exportPublicKey(ctx context.Context, r *pb.ExportPublicKeyRequest) (*pb.ExportPublicKeyResult, error) {
	k, err := x.key(r.GetKeyName())
	if err != nil {
		return nil, err
	}
	if !k.entry.Attributes.Type.IsAsymmetric() {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key %q is not an asymmetric key", k.name)
	}
	b, err := x.cr.ExportPublicKey(ctx, k.id)
	if err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.ExportPublicKeyResult{Data: b}, nil
}

func (x *call) exportKey(ctx context.Context, r *pb.ExportKeyRequest) (*pb.ExportKeyResult, error) {
	k, err := x.key(r.GetKeyName())
	if err != nil {
		return nil, err
	}
	a := k.entry.Attributes
	if !a.Type.IsPublicKey() && a.Usage&psa.UsageExport == 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorNotPermitted, "key %q does not allow export", k.name)
	}
	b, err := x.cr.ExportKey(ctx, k.id)
	if err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.ExportKeyResult{Data: b}, nil
}
