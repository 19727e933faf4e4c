package software

import (
	"crypto/rand"
	"crypto/subtle"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func (p *Provider) generateRandom(r *pb.GenerateRandomRequest) (*pb.GenerateRandomResult, error) {
	if r.GetSize() > p.settings.BufferSizeLimit {
		return nil, wire.Errorf(wire.StatusResponseTooLarge, "%d random bytes exceed the %d-byte buffer limit", r.GetSize(), p.settings.BufferSizeLimit)
	}
	b := make([]byte, r.GetSize())
	if _, err := rand.Read(b); err != nil {
		return nil, errEntropy(err)
	}
	return &pb.GenerateRandomResult{RandomBytes: b}, nil
}

func (p *Provider) hashCompute(r *pb.HashComputeRequest) (*pb.HashComputeResult, error) {
	alg, err := psa.HashFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
	h, err := hashSum(alg, r.GetInput())
	if err != nil {
		return nil, err
	}
	return &pb.HashComputeResult{Hash: h}, nil
}

func (p *Provider) hashCompare(r *pb.HashCompareRequest) (*pb.HashCompareResult, error) {
	alg, err := psa.HashFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
	h, err := hashSum(alg, r.GetInput())
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(h, r.GetHash()) != 1 {
		return nil, errInvalidSignature("the hash does not match")
	}
	return &pb.HashCompareResult{}, nil
}
