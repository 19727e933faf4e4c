package trustedservice

import (
	"context"
	"errors"
	"log/slog"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/ts"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// call is one request: the provider, its crypto client and the caller.
type call struct {
	p   *Provider
	cr  ts.Crypto
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

// key resolves a key name of the caller to this provider's key.
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

// fail turns an error from the secure world into the Parsec error the
// client sees, logs it, and repairs the mapping of a key the secure world
// no longer has.
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

// checkUse applies the key policy before the call, as Parsec's operation
// validation does: usage flag and permitted algorithm, then whether the
// algorithm fits the key type. The partition checks again.
func checkUse(a psa.Attributes, usage psa.Usage, alg psa.Algorithm) error {
	if err := a.Permits(usage, alg); err != nil {
		return err
	}
	if !fits(a.Type, alg) {
		return wire.Errorf(wire.StatusPsaErrorNotPermitted, "%v cannot be used with a %v key", alg, a.Type)
	}
	return nil
}

// fits reports whether alg belongs to a family a key of type t serves.
func fits(t psa.KeyType, alg psa.Algorithm) bool {
	switch {
	case t.IsRSA():
		return alg.IsRSAPKCS1v15Sign() || alg.IsRSAPSS() || alg.IsAsymEncrypt()
	case t.IsECC():
		return alg.IsECDSA() || alg.IsKeyAgreement() && alg.KeyAgreementBase() == psa.AlgECDH
	case t.IsDH():
		return alg.IsKeyAgreement() && alg.KeyAgreementBase() == psa.AlgFFDH
	case t == psa.KeyTypeHMAC:
		return alg.IsMAC() && alg.HashAlg() != psa.AlgNone
	case t == psa.KeyTypeDerive:
		return alg.IsKeyDerivation()
	case t == psa.KeyTypeAES, t == psa.KeyTypeCamellia, t == psa.KeyTypeDES:
		return alg.IsCipher() && alg != psa.AlgStreamCipher ||
			alg.IsMAC() && (alg.MACBase() == psa.AlgCMAC || alg.MACBase() == psa.AlgCBCMAC) ||
			t != psa.KeyTypeDES && alg.IsAEAD() && (alg.AEADBase() == psa.AlgGCM || alg.AEADBase() == psa.AlgCCM)
	case t == psa.KeyTypeChaCha20:
		return alg == psa.AlgStreamCipher || alg.IsAEAD() && alg.AEADBase() == psa.AlgChaCha20Poly1305
	}
	return false
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
	alg, err := psa.SignFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
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
	alg, err := psa.SignFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
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
	alg, err := psa.SignFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
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
	alg, err := psa.SignFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
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
	alg, err := psa.AsymEncryptFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
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
	alg, err := psa.AsymEncryptFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
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

func (x *call) generateRandom(ctx context.Context, r *pb.GenerateRandomRequest) (*pb.GenerateRandomResult, error) {
	b, err := x.cr.GenerateRandom(ctx, int(r.GetSize()))
	if err != nil {
		return nil, x.fail(err, nil)
	}
	return &pb.GenerateRandomResult{RandomBytes: b}, nil
}

func (x *call) hashCompute(ctx context.Context, r *pb.HashComputeRequest) (*pb.HashComputeResult, error) {
	alg, err := psa.HashFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
	h, err := x.cr.HashCompute(ctx, alg, r.GetInput())
	if err != nil {
		return nil, x.fail(err, nil)
	}
	return &pb.HashComputeResult{Hash: h}, nil
}

func (x *call) hashCompare(ctx context.Context, r *pb.HashCompareRequest) (*pb.HashCompareResult, error) {
	alg, err := psa.HashFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
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
	alg, err := psa.CipherFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
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
	alg, err := psa.CipherFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
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
	alg, err := psa.MACFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
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
	alg, err := psa.MACFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
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
	alg, err := psa.AEADFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
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
	alg, err := psa.AEADFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
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
	alg, err := psa.RawKeyAgreementFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
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
