package software

import (
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/wire/pb"
)

func (p *Provider) rawKeyAgreement(app auth.Application, r *pb.RawKeyAgreementRequest) (*pb.RawKeyAgreementResult, error) {
	alg, err := psa.RawKeyAgreementFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
	k, err := p.keyFor(app, r.GetPrivateKeyName(), psa.UsageDerive, alg)
	if err != nil {
		return nil, err
	}
	if alg != psa.AlgECDH {
		return nil, errNotSupported("%v is not supported", alg)
	}
	if k.ecdhPriv == nil {
		return nil, errInvalidArgument("raw key agreement needs an ECC key pair")
	}
	peer, err := k.ecdhPriv.Curve().NewPublicKey(r.GetPeerKey())
	if err != nil {
		return nil, errInvalidArgument("invalid peer key: %v", err)
	}
	secret, err := k.ecdhPriv.ECDH(peer)
	if err != nil {
		return nil, errInvalidArgument("key agreement: %v", err)
	}
	return &pb.RawKeyAgreementResult{SharedSecret: secret}, nil
}
