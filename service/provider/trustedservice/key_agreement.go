package trustedservice

import (
	"context"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire/pb"
)

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
