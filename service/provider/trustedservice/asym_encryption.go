package trustedservice

import (
	"context"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire/pb"
)

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
