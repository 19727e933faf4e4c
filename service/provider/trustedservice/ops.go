package trustedservice

import (
	"context"
	"errors"
	"log/slog"

	"github.com/parsec-go/parsec/internal/ts"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// call is one request: the provider, its crypto client, the caller and
// the request's converted attributes and algorithm.
type call struct {
	p     *Provider
	cr    ts.Crypto
	app   auth.Application
	op    wire.Opcode
	attrs psa.Attributes
	alg   psa.Algorithm
}

// session binds a handler that needs the secure world to op: it opens (or
// reuses) the session first, so no handler has to.
func session[Req, Res protomsg.Message](p *Provider, op wire.Opcode, h func(*call, context.Context, Req) (Res, error)) provider.Op {
	return provider.Handle(op, func(ctx context.Context, c provider.Call[Req]) (Res, error) {
		x, err := begin(ctx, p, op, c)
		if err != nil {
			var none Res
			return none, err
		}
		return h(x, ctx, c.Req)
	})
}

// begin opens (or reuses) the session for one request.
func begin[Req protomsg.Message](ctx context.Context, p *Provider, op wire.Opcode, c provider.Call[Req]) (*call, error) {
	cr, err := p.connect(ctx)
	if err != nil {
		p.log.Error("operation failed: no Trusted Services session", "op", op, "err", err)
		return nil, err
	}
	return &call{p: p, cr: cr, app: c.App, op: op, attrs: c.Attrs, alg: c.Alg}, nil
}

// keyRef is a resolved key name.
type keyRef struct {
	owner kim.Owner
	name  string
	entry kim.Entry
	id    uint32
}

// key resolves a key name of the caller to this provider's key.
func (x *call) key(name string) (keyRef, error) {
	e, err := x.p.keys.Get(x.app, name)
	if err != nil {
		return keyRef{}, err
	}
	id, ok := decodeKeyID(e.KeyID)
	if !ok {
		return keyRef{}, wire.Errorf(wire.StatusPsaErrorDataCorrupt, "key %q has an invalid key id", name)
	}
	return keyRef{owner: kim.OwnerOf(x.app), name: name, entry: e, id: id}, nil
}

// fail turns an error from the secure world into the Parsec error the
// client sees, logs it, and repairs the mapping of a key the secure world
// no longer has. The cause is logged here because the front end logs
// failed requests without details (they may name keys).
func (x *call) fail(err error, k *keyRef) error {
	status := ts.ParsecStatus(err)
	if k != nil && errors.Is(err, ts.PSAErrorDoesNotExist) {
		x.p.forgetLost(k.owner, k.name, k.entry, x.op.String())
		return wire.Errorf(wire.StatusPsaErrorDoesNotExist, "key %q no longer exists in the secure world (its storage may have been reset); the mapping was removed", k.name)
	}
	level := slog.LevelDebug
	if status == wire.StatusPsaErrorCommunicationFailure || status == wire.StatusPsaErrorGenericError {
		level = slog.LevelError
	}
	x.p.log.Log(context.Background(), level, "Trusted Services call failed", "op", x.op, "status", status, "err", err)
	return wire.Errorf(status, "%v", err)
}

// restrictions is what this provider refuses beyond PSA's compatibility
// rule: the partition has no ARC4.
var restrictions = psa.Restrictions{NoTypes: []psa.KeyType{psa.KeyTypeARC4}}

// checkUse applies the key policy before the call, as Parsec's operation
// validation does; the partition checks again.
func checkUse(a psa.Attributes, usage psa.Usage, alg psa.Algorithm) error {
	return a.CheckUse(usage, alg, restrictions)
}

// use resolves a key and checks its policy for usage with alg.
func (x *call) use(name string, usage psa.Usage, alg psa.Algorithm) (keyRef, error) {
	k, err := x.key(name)
	if err != nil {
		return k, err
	}
	return k, checkUse(k.entry.Attributes, usage, alg)
}

func (x *call) signHash(ctx context.Context, r *pb.SignHashRequest) (*pb.SignHashResult, error) {
	alg := x.alg
	k, err := x.use(r.GetKeyName(), psa.UsageSignHash, alg)
	if err != nil {
		return nil, err
	}
	sig, err := x.cr.SignHash(ctx, k.id, alg, r.GetHash())
	if err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.SignHashResult{Signature: sig}, nil
}

func (x *call) verifyHash(ctx context.Context, r *pb.VerifyHashRequest) (*pb.VerifyHashResult, error) {
	alg := x.alg
	k, err := x.use(r.GetKeyName(), psa.UsageVerifyHash, alg)
	if err != nil {
		return nil, err
	}
	if err := x.cr.VerifyHash(ctx, k.id, alg, r.GetHash(), r.GetSignature()); err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.VerifyHashResult{}, nil
}

func (x *call) signMessage(ctx context.Context, r *pb.SignMessageRequest) (*pb.SignMessageResult, error) {
	alg := x.alg
	if !alg.IsHashAndSign() {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v cannot sign a message", alg)
	}
	k, err := x.use(r.GetKeyName(), psa.UsageSignMessage, alg)
	if err != nil {
		return nil, err
	}
	sig, err := x.cr.SignMessage(ctx, k.id, alg, r.GetMessage())
	if err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.SignMessageResult{Signature: sig}, nil
}

func (x *call) verifyMessage(ctx context.Context, r *pb.VerifyMessageRequest) (*pb.VerifyMessageResult, error) {
	alg := x.alg
	if !alg.IsHashAndSign() {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v cannot verify a message", alg)
	}
	k, err := x.use(r.GetKeyName(), psa.UsageVerifyMessage, alg)
	if err != nil {
		return nil, err
	}
	if err := x.cr.VerifyMessage(ctx, k.id, alg, r.GetMessage(), r.GetSignature()); err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.VerifyMessageResult{}, nil
}

func (x *call) asymmetricEncrypt(ctx context.Context, r *pb.AsymmetricEncryptRequest) (*pb.AsymmetricEncryptResult, error) {
	alg := x.alg
	k, err := x.use(r.GetKeyName(), psa.UsageEncrypt, alg)
	if err != nil {
		return nil, err
	}
	ct, err := x.cr.AsymmetricEncrypt(ctx, k.id, alg, r.GetPlaintext(), r.GetSalt())
	if err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.AsymmetricEncryptResult{Ciphertext: ct}, nil
}

func (x *call) asymmetricDecrypt(ctx context.Context, r *pb.AsymmetricDecryptRequest) (*pb.AsymmetricDecryptResult, error) {
	alg := x.alg
	k, err := x.use(r.GetKeyName(), psa.UsageDecrypt, alg)
	if err != nil {
		return nil, err
	}
	pt, err := x.cr.AsymmetricDecrypt(ctx, k.id, alg, r.GetCiphertext(), r.GetSalt())
	if err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.AsymmetricDecryptResult{Plaintext: pt}, nil
}

func (p *Provider) generateRandom(ctx context.Context, c provider.Call[*pb.GenerateRandomRequest]) (*pb.GenerateRandomResult, error) {
	if c.Req.GetSize() > p.settings.BufferSizeLimit {
		return nil, wire.Errorf(wire.StatusResponseTooLarge, "%d random bytes exceed the %d-byte buffer limit", c.Req.GetSize(), p.settings.BufferSizeLimit)
	}
	x, err := begin(ctx, p, wire.OpPsaGenerateRandom, c)
	if err != nil {
		return nil, err
	}
	b, err := x.cr.GenerateRandom(ctx, int(c.Req.GetSize()))
	if err != nil {
		return nil, x.fail(err, nil)
	}
	return &pb.GenerateRandomResult{RandomBytes: b}, nil
}

func (x *call) hashCompute(ctx context.Context, r *pb.HashComputeRequest) (*pb.HashComputeResult, error) {
	alg := x.alg
	h, err := x.cr.HashCompute(ctx, alg, r.GetInput())
	if err != nil {
		return nil, x.fail(err, nil)
	}
	return &pb.HashComputeResult{Hash: h}, nil
}

func (x *call) hashCompare(ctx context.Context, r *pb.HashCompareRequest) (*pb.HashCompareResult, error) {
	alg := x.alg
	if err := x.cr.HashCompare(ctx, alg, r.GetInput(), r.GetHash()); err != nil {
		return nil, x.fail(err, nil)
	}
	return &pb.HashCompareResult{}, nil
}

// ivLen is PSA_CIPHER_IV_LENGTH for the types the partition supports.
func ivLen(t psa.KeyType, alg psa.Algorithm) int {
	switch {
	case alg == psa.AlgECBNoPadding:
		return 0
	case t == psa.KeyTypeChaCha20:
		return 12
	case t == psa.KeyTypeDES:
		return 8
	}
	return 16
}

func (x *call) cipherEncrypt(ctx context.Context, r *pb.CipherEncryptRequest) (*pb.CipherEncryptResult, error) {
	alg := x.alg
	k, err := x.use(r.GetKeyName(), psa.UsageEncrypt, alg)
	if err != nil {
		return nil, err
	}
	ct, err := x.cr.CipherEncrypt(ctx, k.id, alg, r.GetPlaintext())
	if err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.CipherEncryptResult{Ciphertext: ct}, nil
}

func (x *call) cipherDecrypt(ctx context.Context, r *pb.CipherDecryptRequest) (*pb.CipherDecryptResult, error) {
	alg := x.alg
	k, err := x.use(r.GetKeyName(), psa.UsageDecrypt, alg)
	if err != nil {
		return nil, err
	}
	n := ivLen(k.entry.Attributes.Type, alg)
	if len(r.GetCiphertext()) < n {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "ciphertext of %d bytes has no room for the %d-byte IV", len(r.GetCiphertext()), n)
	}
	pt, err := x.cr.CipherDecrypt(ctx, k.id, alg, n, r.GetCiphertext())
	if err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.CipherDecryptResult{Plaintext: pt}, nil
}

func (x *call) macCompute(ctx context.Context, r *pb.MacComputeRequest) (*pb.MacComputeResult, error) {
	alg := x.alg
	k, err := x.use(r.GetKeyName(), psa.UsageSignMessage, alg)
	if err != nil {
		return nil, err
	}
	mac, err := x.cr.MACCompute(ctx, k.id, alg, r.GetInput())
	if err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.MacComputeResult{Mac: mac}, nil
}

func (x *call) macVerify(ctx context.Context, r *pb.MacVerifyRequest) (*pb.MacVerifyResult, error) {
	alg := x.alg
	k, err := x.use(r.GetKeyName(), psa.UsageVerifyMessage, alg)
	if err != nil {
		return nil, err
	}
	if err := x.cr.MACVerify(ctx, k.id, alg, r.GetInput(), r.GetMac()); err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.MacVerifyResult{}, nil
}

func (x *call) aeadEncrypt(ctx context.Context, r *pb.AeadEncryptRequest) (*pb.AeadEncryptResult, error) {
	alg := x.alg
	k, err := x.use(r.GetKeyName(), psa.UsageEncrypt, alg)
	if err != nil {
		return nil, err
	}
	ct, err := x.cr.AEADEncrypt(ctx, k.id, alg, r.GetNonce(), r.GetAdditionalData(), r.GetPlaintext())
	if err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.AeadEncryptResult{Ciphertext: ct}, nil
}

func (x *call) aeadDecrypt(ctx context.Context, r *pb.AeadDecryptRequest) (*pb.AeadDecryptResult, error) {
	alg := x.alg
	k, err := x.use(r.GetKeyName(), psa.UsageDecrypt, alg)
	if err != nil {
		return nil, err
	}
	pt, err := x.cr.AEADDecrypt(ctx, k.id, alg, r.GetNonce(), r.GetAdditionalData(), r.GetCiphertext())
	if err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.AeadDecryptResult{Plaintext: pt}, nil
}

func (x *call) rawKeyAgreement(ctx context.Context, r *pb.RawKeyAgreementRequest) (*pb.RawKeyAgreementResult, error) {
	alg := x.alg
	k, err := x.use(r.GetPrivateKeyName(), psa.UsageDerive, alg)
	if err != nil {
		return nil, err
	}
	s, err := x.cr.RawKeyAgreement(ctx, alg, k.id, r.GetPeerKey())
	if err != nil {
		return nil, x.fail(err, &k)
	}
	return &pb.RawKeyAgreementResult{SharedSecret: s}, nil
}
