package pkcs11

import (
	"context"
	"errors"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider/pkcs11/link"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// call is one request: the provider and the caller.
type call struct {
	p   *Provider
	app auth.Application
	op  wire.Opcode
}

// keyRef is a resolved key name.
type keyRef struct {
	owner kim.Owner
	name  string
	entry kim.Entry
	id    uint32
}

func (x *call) key(name string) (keyRef, error) {
	o := kim.OwnerOf(x.app)
	e, err := kim.GetFor(x.p.kim, o, name, x.p.info.Name)
	if err != nil {
		return keyRef{}, err
	}
	id, ok := decodeKeyID(e.KeyID)
	if !ok {
		return keyRef{}, wire.Errorf(wire.StatusPsaErrorDataCorrupt, "key %q has an invalid key id", name)
	}
	return keyRef{owner: o, name: name, entry: e, id: id}, nil
}

// use resolves a key and applies its PSA policy for usage with alg; the
// algorithm must also fit the key's type.
func (x *call) use(name string, usage psa.Usage, alg psa.Algorithm) (keyRef, error) {
	k, err := x.key(name)
	if err != nil {
		return k, err
	}
	a := k.entry.Attributes
	if err := a.Permits(usage, alg); err != nil {
		return k, err
	}
	fits := a.Type.IsRSA() && (alg.IsRSAPKCS1v15Sign() || alg.IsRSAPSS() || alg.IsAsymEncrypt()) ||
		a.Type.IsECC() && alg.IsECDSA()
	if !fits {
		return k, wire.Errorf(wire.StatusPsaErrorNotPermitted, "%v cannot be used with a %v key", alg, a.Type)
	}
	return k, nil
}

// forward sends the request to the co-server with the key named by its
// token id instead of the client's name.
func (x *call) forward(ctx context.Context, req protomsg.Message) (protomsg.Message, error) {
	return x.p.co.call(ctx, x.op, req)
}

const maxIDTries = 16

// create draws a free key id, has the co-server create the key under it
// and records the mapping; if recording fails the key is destroyed again.
func (x *call) create(ctx context.Context, name string, a psa.Attributes, mk func(keyName string) protomsg.Message) error {
	o := kim.OwnerOf(x.app)
	if _, err := x.p.kim.Get(o, name); err == nil {
		return wire.Errorf(wire.StatusPsaErrorAlreadyExists, "key %q already exists", name)
	} else if wire.StatusOf(err, 0) != wire.StatusPsaErrorDoesNotExist {
		return err
	}
	used, err := x.usedIDs()
	if err != nil {
		return err
	}
	var id uint32
	for try := 0; ; try++ {
		if id, err = randomID(); err != nil {
			return err
		}
		if used[id] {
			continue
		}
		_, err = x.forward(ctx, mk(link.KeyName(id)))
		if err == nil {
			break
		}
		// An object left on the token with this id (a crash between
		// creating a key and recording it): draw again.
		if errors.Is(err, wire.StatusPsaErrorAlreadyExists) && try < maxIDTries {
			x.p.log.Warn("the token already has objects with this key id, not mapped here; drawing another", "key_id", link.KeyName(id))
			continue
		}
		return err
	}
	err = x.p.kim.Insert(o, name, kim.Entry{Provider: wire.ProviderPkcs11, ProviderName: x.p.info.Name, KeyID: encodeKeyID(id), Attributes: a})
	if err != nil {
		if _, derr := x.p.co.call(context.Background(), wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: link.KeyName(id)}); derr != nil {
			x.p.log.Error("cannot destroy a key whose mapping could not be recorded", "key_id", link.KeyName(id), "err", derr)
		}
		return err
	}
	return nil
}

// usedIDs are the key ids this provider has recorded.
func (x *call) usedIDs() (map[uint32]bool, error) {
	all, err := x.p.kim.All()
	if err != nil {
		return nil, err
	}
	used := map[uint32]bool{}
	for _, k := range all {
		if k.Entry.ProviderName == x.p.info.Name {
			if id, ok := decodeKeyID(k.Entry.KeyID); ok {
				used[id] = true
			}
		}
	}
	return used, nil
}

func (x *call) checkExport(a psa.Attributes) error {
	if a.Usage&psa.UsageExport != 0 && !x.p.allowExport {
		return wire.Errorf(wire.StatusPsaErrorNotPermitted, "allow_export is off for this provider: keys with the export usage cannot be created")
	}
	return nil
}

func (x *call) generateKey(ctx context.Context, r *pb.GenerateKeyRequest) (*pb.GenerateKeyResult, error) {
	a, err := psa.AttributesFromProto(r.GetAttributes())
	if err != nil {
		return nil, err
	}
	if err := x.p.settings.CheckGenerate(a); err != nil {
		return nil, err
	}
	if a.Type.IsPublicKey() {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "a public key cannot be generated")
	}
	if err := x.checkExport(a); err != nil {
		return nil, err
	}
	if err := a.CheckRSASize(false); err != nil {
		return nil, err
	}
	err = x.create(ctx, r.GetKeyName(), a, func(kn string) protomsg.Message {
		return &pb.GenerateKeyRequest{KeyName: kn, Attributes: r.GetAttributes()}
	})
	if err != nil {
		return nil, err
	}
	return &pb.GenerateKeyResult{}, nil
}

func (x *call) importKey(ctx context.Context, r *pb.ImportKeyRequest) (*pb.ImportKeyResult, error) {
	a, err := psa.AttributesFromProto(r.GetAttributes())
	if err != nil {
		return nil, err
	}
	if a.Deprecated() {
		x.p.log.Warn("importing a key with a deprecated primitive", "type", a.Type, "alg", a.Alg)
	}
	if err := x.checkExport(a); err != nil {
		return nil, err
	}
	if len(r.GetData()) == 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key data is empty")
	}
	if err := a.CheckRSASize(true); err != nil {
		return nil, err
	}
	err = x.create(ctx, r.GetKeyName(), a, func(kn string) protomsg.Message {
		return &pb.ImportKeyRequest{KeyName: kn, Attributes: r.GetAttributes(), Data: r.GetData()}
	})
	if err != nil {
		return nil, err
	}
	return &pb.ImportKeyResult{}, nil
}

// destroyKey destroys the token objects, then the mapping. Objects the
// token no longer has do not keep the mapping alive.
func (x *call) destroyKey(ctx context.Context, r *pb.DestroyKeyRequest) (*pb.DestroyKeyResult, error) {
	k, err := x.key(r.GetKeyName())
	if err != nil {
		return nil, err
	}
	_, err = x.forward(ctx, &pb.DestroyKeyRequest{KeyName: link.KeyName(k.id)})
	if err != nil && !errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
		return nil, err
	}
	if err != nil {
		x.p.log.Warn("key already missing on the token; removing its mapping", "key", k.name, "key_id", link.KeyName(k.id))
	}
	if err := x.p.kim.Remove(k.owner, k.name); err != nil {
		x.p.log.Error("key destroyed on the token but its mapping could not be removed", "key", k.name, "err", err)
		return nil, err
	}
	return &pb.DestroyKeyResult{}, nil
}

func (x *call) exportPublicKey(ctx context.Context, r *pb.ExportPublicKeyRequest) (protomsg.Message, error) {
	k, err := x.key(r.GetKeyName())
	if err != nil {
		return nil, err
	}
	if !k.entry.Attributes.Type.IsAsymmetric() {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key %q is not an asymmetric key", k.name)
	}
	return x.forward(ctx, &pb.ExportPublicKeyRequest{KeyName: link.KeyName(k.id)})
}

// checkHash refuses a hash whose length does not match alg's hash.
func checkHash(alg psa.Algorithm, hash []byte) error {
	if n := alg.HashAlg().HashSize(); n != 0 && len(hash) != n {
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "a %v hash is %d bytes, not %d", alg.HashAlg(), n, len(hash))
	}
	return nil
}

func (x *call) signHash(ctx context.Context, r *pb.SignHashRequest) (protomsg.Message, error) {
	alg, err := psa.SignFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
	k, err := x.use(r.GetKeyName(), psa.UsageSignHash, alg)
	if err != nil {
		return nil, err
	}
	if err := checkHash(alg, r.GetHash()); err != nil {
		return nil, err
	}
	return x.forward(ctx, &pb.SignHashRequest{KeyName: link.KeyName(k.id), Alg: r.GetAlg(), Hash: r.GetHash()})
}

func (x *call) verifyHash(ctx context.Context, r *pb.VerifyHashRequest) (protomsg.Message, error) {
	alg, err := psa.SignFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
	k, err := x.use(r.GetKeyName(), psa.UsageVerifyHash, alg)
	if err != nil {
		return nil, err
	}
	if err := checkHash(alg, r.GetHash()); err != nil {
		return nil, err
	}
	return x.forward(ctx, &pb.VerifyHashRequest{KeyName: link.KeyName(k.id), Alg: r.GetAlg(), Hash: r.GetHash(), Signature: r.GetSignature()})
}

func (x *call) asymmetricEncrypt(ctx context.Context, r *pb.AsymmetricEncryptRequest) (protomsg.Message, error) {
	alg, err := psa.AsymEncryptFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
	k, err := x.use(r.GetKeyName(), psa.UsageEncrypt, alg)
	if err != nil {
		return nil, err
	}
	return x.forward(ctx, &pb.AsymmetricEncryptRequest{KeyName: link.KeyName(k.id), Alg: r.GetAlg(), Plaintext: r.GetPlaintext(), Salt: r.GetSalt()})
}

func (x *call) asymmetricDecrypt(ctx context.Context, r *pb.AsymmetricDecryptRequest) (protomsg.Message, error) {
	alg, err := psa.AsymEncryptFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
	k, err := x.use(r.GetKeyName(), psa.UsageDecrypt, alg)
	if err != nil {
		return nil, err
	}
	return x.forward(ctx, &pb.AsymmetricDecryptRequest{KeyName: link.KeyName(k.id), Alg: r.GetAlg(), Ciphertext: r.GetCiphertext(), Salt: r.GetSalt()})
}
