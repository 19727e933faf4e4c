package trustedservice

import (
	"context"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire/pb"
)

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
