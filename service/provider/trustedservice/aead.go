package trustedservice

import (
	"context"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire/pb"
)

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
