package trustedservice

import (
	"context"

	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func (p *Provider) generateRandom(ctx context.Context, c provider.Call[*pb.GenerateRandomRequest]) (*pb.GenerateRandomResult, error) {
	if err := p.settings.CheckRandom(c.Req.GetSize()); err != nil {
		return nil, err
	}
	x, err := begin(ctx, p, wire.OpPsaGenerateRandom, c)
	if err != nil {
		return nil, err
	}
	b, err := x.cr.GenerateRandom(ctx, int(c.Req.GetSize()))
	if err != nil {
		return nil, x.fail(err, nil)
	}
	return &pb.GenerateRandomResult{RandomBytes: b}, nil
}
