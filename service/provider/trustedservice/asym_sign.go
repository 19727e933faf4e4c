package trustedservice

import (
	"context"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

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
