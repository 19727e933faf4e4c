package software

import (
	"context"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func (p *Provider) rawKeyAgreement(_ context.Context, c provider.Call[*pb.RawKeyAgreementRequest]) (*pb.RawKeyAgreementResult, error) {
	alg := c.Alg
	k, err := p.keyFor(c.App, c.Req.GetPrivateKeyName(), psa.UsageDerive, alg)
	if err != nil {
		return nil, err
	}
	if alg != psa.AlgECDH {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v is not supported", alg)
	}
	if k.ecdhPriv == nil {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "raw key agreement needs an ECC key pair")
	}
	peer, err := k.ecdhPriv.Curve().NewPublicKey(c.Req.GetPeerKey())
	if err != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "invalid peer key: %v", err)
	}
	secret, err := k.ecdhPriv.ECDH(peer)
	if err != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key agreement: %v", err)
	}
	return &pb.RawKeyAgreementResult{SharedSecret: secret}, nil
}
