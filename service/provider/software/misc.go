package software

import (
	"context"
	"crypto/rand"
	"crypto/subtle"

	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func (p *Provider) generateRandom(_ context.Context, c provider.Call[*pb.GenerateRandomRequest]) (*pb.GenerateRandomResult, error) {
	if c.Req.GetSize() > p.settings.BufferSizeLimit {
		return nil, wire.Errorf(wire.StatusResponseTooLarge, "%d random bytes exceed the %d-byte buffer limit", c.Req.GetSize(), p.settings.BufferSizeLimit)
	}
	b := make([]byte, c.Req.GetSize())
	if _, err := rand.Read(b); err != nil {
		return nil, errEntropy(err)
	}
	return &pb.GenerateRandomResult{RandomBytes: b}, nil
}

func (p *Provider) hashCompute(_ context.Context, c provider.Call[*pb.HashComputeRequest]) (*pb.HashComputeResult, error) {
	alg := c.Alg
	h, err := hashSum(alg, c.Req.GetInput())
	if err != nil {
		return nil, err
	}
	return &pb.HashComputeResult{Hash: h}, nil
}

func (p *Provider) hashCompare(_ context.Context, c provider.Call[*pb.HashCompareRequest]) (*pb.HashCompareResult, error) {
	alg := c.Alg
	h, err := hashSum(alg, c.Req.GetInput())
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(h, c.Req.GetHash()) != 1 {
		return nil, errInvalidSignature("the hash does not match")
	}
	return &pb.HashCompareResult{}, nil
}
