package pkcs11

import (
	"context"
	"errors"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/service/provider/pkcs11/link"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// forward sends one request to the co-server and returns its typed result.
func forward[Res protomsg.Message](ctx context.Context, p *Provider, op wire.Opcode, req protomsg.Message) (Res, error) {
	var zero Res
	res, err := p.co.call(ctx, op, req)
	if err != nil {
		return zero, err
	}
	r, ok := res.(Res)
	if !ok {
		return zero, wire.Errorf(wire.StatusPsaErrorCommunicationFailure, "the co-server answered %v with %T", op, res)
	}
	return r, nil
}

// key resolves app's key name to this provider's token key id and
// attributes.
func (p *Provider) key(app auth.Application, name string) (uint32, psa.Attributes, error) {
	e, err := p.keys.Get(app, name)
	if err != nil {
		return 0, psa.Attributes{}, err
	}
	id, ok := keyIDs.Decode(e.KeyID)
	if !ok {
		return 0, psa.Attributes{}, wire.Errorf(wire.StatusPsaErrorDataCorrupt, "key %q has an invalid key id", name)
	}
	return id, e.Attributes, nil
}

// use resolves a key and applies its PSA policy for usage with alg; the
// token name of the key is returned for the forwarded request.
func (p *Provider) use(app auth.Application, name string, usage psa.Usage, alg psa.Algorithm) (string, error) {
	id, _, err := p.usable(app, name, usage, alg)
	return link.KeyName(id), err
}

// usable is use returning the key's id and attributes.
func (p *Provider) usable(app auth.Application, name string, usage psa.Usage, alg psa.Algorithm) (uint32, psa.Attributes, error) {
	id, a, err := p.key(app, name)
	if err != nil {
		return 0, a, err
	}
	return id, a, a.CheckUse(usage, alg, psa.Restrictions{})
}

const maxIDTries = 16

// create draws a free key id, has the co-server create the key under it
// and records the mapping; if recording fails the key is destroyed again.
func (p *Provider) create(ctx context.Context, app auth.Application, name string, a psa.Attributes, op wire.Opcode, mk func(keyName string) protomsg.Message) error {
	if err := p.keys.Free(app, name); err != nil {
		return err
	}
	if a.Usage&psa.UsageExport != 0 && !p.allowExport {
		return wire.Errorf(wire.StatusPsaErrorNotPermitted, "allow_export is off for this provider: keys with the export usage cannot be created")
	}
	used, err := p.usedIDs()
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
		_, err = p.co.call(ctx, op, mk(link.KeyName(id)))
		if err == nil {
			break
		}
		// An object left on the token with this id (a crash between
		// creating a key and recording it): draw again.
		if errors.Is(err, wire.StatusPsaErrorAlreadyExists) && try < maxIDTries {
			p.log.Warn("the token already has objects with this key id, not mapped here; drawing another", "key_id", link.KeyName(id))
			continue
		}
		return err
	}
	return p.keys.Insert(app, name, keyIDs.Encode(id), a, func() error {
		_, err := p.co.call(context.Background(), wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: link.KeyName(id)})
		return err
	})
}

// usedIDs are the key ids this provider has recorded.
func (p *Provider) usedIDs() (map[uint32]bool, error) {
	all, err := p.keys.All()
	if err != nil {
		return nil, err
	}
	used := map[uint32]bool{}
	for _, k := range all {
		if id, ok := keyIDs.Decode(k.Entry.KeyID); ok {
			used[id] = true
		}
	}
	return used, nil
}

func (p *Provider) generateKey(ctx context.Context, c provider.Call[*pb.GenerateKeyRequest]) (*pb.GenerateKeyResult, error) {
	if err := p.settings.CheckGenerate(c.Attrs); err != nil {
		return nil, err
	}
	if c.Attrs.Type.IsPublicKey() {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "a public key cannot be generated")
	}
	if err := c.Attrs.CheckRSASize(false); err != nil {
		return nil, err
	}
	err := p.create(ctx, c.App, c.Req.GetKeyName(), c.Attrs, wire.OpPsaGenerateKey, func(kn string) protomsg.Message {
		return &pb.GenerateKeyRequest{KeyName: kn, Attributes: c.Req.GetAttributes()}
	})
	if err != nil {
		return nil, err
	}
	return &pb.GenerateKeyResult{}, nil
}

func (p *Provider) importKey(ctx context.Context, c provider.Call[*pb.ImportKeyRequest]) (*pb.ImportKeyResult, error) {
	if c.Attrs.Deprecated() {
		p.log.Warn("importing a key with a deprecated primitive", "type", c.Attrs.Type, "alg", c.Attrs.Alg)
	}
	if len(c.Req.GetData()) == 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key data is empty")
	}
	if err := c.Attrs.CheckRSASize(true); err != nil {
		return nil, err
	}
	err := p.create(ctx, c.App, c.Req.GetKeyName(), c.Attrs, wire.OpPsaImportKey, func(kn string) protomsg.Message {
		return &pb.ImportKeyRequest{KeyName: kn, Attributes: c.Req.GetAttributes(), Data: c.Req.GetData()}
	})
	if err != nil {
		return nil, err
	}
	return &pb.ImportKeyResult{}, nil
}

// destroyKey destroys the token objects, then the mapping. Objects the
// token no longer has do not keep the mapping alive.
func (p *Provider) destroyKey(ctx context.Context, c provider.Call[*pb.DestroyKeyRequest]) (*pb.DestroyKeyResult, error) {
	name := c.Req.GetKeyName()
	id, _, err := p.key(c.App, name)
	if err != nil {
		return nil, err
	}
	_, err = p.co.call(ctx, wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: link.KeyName(id)})
	if err != nil && !errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
		return nil, err
	}
	if err != nil {
		p.log.Warn("key already missing on the token; removing its mapping", "key", name, "key_id", link.KeyName(id))
	}
	p.pub.forget(id)
	if err := p.keys.Remove(c.App, name); err != nil {
		p.log.Error("key destroyed on the token but its mapping could not be removed", "key", name, "err", err)
		return nil, err
	}
	return &pb.DestroyKeyResult{}, nil
}

func (p *Provider) exportPublicKey(ctx context.Context, c provider.Call[*pb.ExportPublicKeyRequest]) (*pb.ExportPublicKeyResult, error) {
	id, a, err := p.key(c.App, c.Req.GetKeyName())
	if err != nil {
		return nil, err
	}
	if !a.Type.IsAsymmetric() {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key %q is not an asymmetric key", c.Req.GetKeyName())
	}
	return forward[*pb.ExportPublicKeyResult](ctx, p, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: link.KeyName(id)})
}

// checkHash refuses a hash whose length does not match alg's hash.
func checkHash(alg psa.Algorithm, hash []byte) error {
	if n := alg.HashAlg().HashSize(); n != 0 && len(hash) != n {
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "a %v hash is %d bytes, not %d", alg.HashAlg(), n, len(hash))
	}
	return nil
}

func (p *Provider) signHash(ctx context.Context, c provider.Call[*pb.SignHashRequest]) (*pb.SignHashResult, error) {
	kn, err := p.use(c.App, c.Req.GetKeyName(), psa.UsageSignHash, c.Alg)
	if err != nil {
		return nil, err
	}
	if err := checkHash(c.Alg, c.Req.GetHash()); err != nil {
		return nil, err
	}
	return forward[*pb.SignHashResult](ctx, p, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: kn, Alg: c.Req.GetAlg(), Hash: c.Req.GetHash()})
}

func (p *Provider) verifyHash(ctx context.Context, c provider.Call[*pb.VerifyHashRequest]) (*pb.VerifyHashResult, error) {
	id, a, err := p.usable(c.App, c.Req.GetKeyName(), psa.UsageVerifyHash, c.Alg)
	if err != nil {
		return nil, err
	}
	if err := checkHash(c.Alg, c.Req.GetHash()); err != nil {
		return nil, err
	}
	if p.softwarePub {
		pub, err := p.publicKey(ctx, id, a)
		if err != nil {
			return nil, err
		}
		if err := verifySoftware(pub, c.Alg, c.Req.GetHash(), c.Req.GetSignature()); err != nil {
			return nil, err
		}
		return &pb.VerifyHashResult{}, nil
	}
	kn := link.KeyName(id)
	return forward[*pb.VerifyHashResult](ctx, p, wire.OpPsaVerifyHash, &pb.VerifyHashRequest{KeyName: kn, Alg: c.Req.GetAlg(), Hash: c.Req.GetHash(), Signature: c.Req.GetSignature()})
}

func (p *Provider) asymmetricEncrypt(ctx context.Context, c provider.Call[*pb.AsymmetricEncryptRequest]) (*pb.AsymmetricEncryptResult, error) {
	id, a, err := p.usable(c.App, c.Req.GetKeyName(), psa.UsageEncrypt, c.Alg)
	if err != nil {
		return nil, err
	}
	if p.softwarePub {
		pub, err := p.publicKey(ctx, id, a)
		if err != nil {
			return nil, err
		}
		ct, err := encryptSoftware(pub, c.Alg, c.Req.GetPlaintext(), c.Req.GetSalt())
		if err != nil {
			return nil, err
		}
		return &pb.AsymmetricEncryptResult{Ciphertext: ct}, nil
	}
	kn := link.KeyName(id)
	return forward[*pb.AsymmetricEncryptResult](ctx, p, wire.OpPsaAsymmetricEncrypt, &pb.AsymmetricEncryptRequest{KeyName: kn, Alg: c.Req.GetAlg(), Plaintext: c.Req.GetPlaintext(), Salt: c.Req.GetSalt()})
}

func (p *Provider) asymmetricDecrypt(ctx context.Context, c provider.Call[*pb.AsymmetricDecryptRequest]) (*pb.AsymmetricDecryptResult, error) {
	kn, err := p.use(c.App, c.Req.GetKeyName(), psa.UsageDecrypt, c.Alg)
	if err != nil {
		return nil, err
	}
	return forward[*pb.AsymmetricDecryptResult](ctx, p, wire.OpPsaAsymmetricDecrypt, &pb.AsymmetricDecryptRequest{KeyName: kn, Alg: c.Req.GetAlg(), Ciphertext: c.Req.GetCiphertext(), Salt: c.Req.GetSalt()})
}

func (p *Provider) generateRandom(ctx context.Context, c provider.Call[*pb.GenerateRandomRequest]) (*pb.GenerateRandomResult, error) {
	if c.Req.GetSize() > p.settings.BufferSizeLimit {
		return nil, wire.Errorf(wire.StatusResponseTooLarge, "%d random bytes exceed the %d-byte buffer limit", c.Req.GetSize(), p.settings.BufferSizeLimit)
	}
	return forward[*pb.GenerateRandomResult](ctx, p, wire.OpPsaGenerateRandom, c.Req)
}

func (p *Provider) canDoCrypto(ctx context.Context, c provider.Call[*pb.CanDoCryptoRequest]) (*pb.CanDoCryptoResult, error) {
	return forward[*pb.CanDoCryptoResult](ctx, p, wire.OpCanDoCrypto, c.Req)
}
