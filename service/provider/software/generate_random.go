package software

import (
	"context"
	"crypto/rand"

	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func (p *Provider) generateRandom(_ context.Context, c provider.Call[*pb.GenerateRandomRequest]) (*pb.GenerateRandomResult, error) {
	if err := p.settings.CheckRandom(c.Req.GetSize()); err != nil {
		return nil, err
	}
	b := make([]byte, c.Req.GetSize())
	if _, err := rand.Read(b); err != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorInsufficientEntropy, "reading random data: %v", err)
	}
	return &pb.GenerateRandomResult{RandomBytes: b}, nil
}
