package tpm

import (
	"context"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// canDoCrypto answers from what the TPM reported (curves, RSA sizes,
// algorithms), following Parsec's CanDoCrypto rules: a type and size the
// TPM holds; generate only key pairs, import only public keys; a use check
// needs an algorithm and a usage flag that fit the key.
func (p *Provider) canDoCrypto(_ context.Context, c provider.Call[*pb.CanDoCryptoRequest]) (*pb.CanDoCryptoResult, error) {
	ct := c.Req.GetCheckType()
	if ct < pb.CheckType_USE || ct > pb.CheckType_DERIVE {
		return nil, wire.Errorf(wire.StatusInvalidEncoding, "invalid check type %d", ct)
	}
	a := c.Attrs
	var caps *capabilities
	if err := p.dev.run(func(o *op) error { caps = o.d.caps; return nil }); err != nil {
		return nil, err
	}
	if err := caps.checkKey(a); err != nil {
		return nil, asNotSupported(err)
	}
	switch ct {
	case pb.CheckType_DERIVE:
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "the TPM provider derives no keys")
	case pb.CheckType_GENERATE:
		if !a.Type.IsKeyPair() {
			return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "only key pairs can be generated")
		}
		if a.Alg == psa.AlgNone {
			return &pb.CanDoCryptoResult{}, nil
		}
	case pb.CheckType_IMPORT:
		if !a.Type.IsPublicKey() {
			return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "only public keys can be imported")
		}
		if a.Alg == psa.AlgNone {
			return &pb.CanDoCryptoResult{}, nil
		}
	}
	if a.Alg == psa.AlgNone {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "no algorithm to check")
	}
	const uses = psa.UsageEncrypt | psa.UsageDecrypt | psa.UsageSignHash | psa.UsageSignMessage |
		psa.UsageVerifyHash | psa.UsageVerifyMessage
	if a.Usage&uses == 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "no usage flag to check")
	}
	if err := caps.checkAlg(a); err != nil {
		return nil, asNotSupported(err)
	}
	return &pb.CanDoCryptoResult{}, nil
}

// asNotSupported reports a failed capability check as NotSupported, which
// is all CanDoCrypto answers, keeping the reason.
func asNotSupported(err error) error {
	s, msg := statusFor(err)
	if s == wire.StatusPsaErrorNotSupported {
		return err
	}
	return wire.Errorf(wire.StatusPsaErrorNotSupported, "%s", msg)
}
