package trustedservice

import (
	"context"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

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
