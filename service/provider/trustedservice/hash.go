package trustedservice

import (
	"context"

	"github.com/parsec-go/parsec/wire/pb"
)

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
