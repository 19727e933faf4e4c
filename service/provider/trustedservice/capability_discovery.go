package trustedservice

import (
	"context"

	"github.com/parsec-go/parsec/internal/ts"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// canDoCrypto answers like Rust Parsec's Trusted Service provider (the
// partition's Mbed TLS configuration is the platform's choice, so the
// answer is about types and sizes, not every algorithm); every refusal is
// PsaErrorNotSupported.
func (p *Provider) canDoCrypto(_ context.Context, c provider.Call[*pb.CanDoCryptoRequest]) (*pb.CanDoCryptoResult, error) {
	a, r := c.Attrs, c.Req
	no := func(why string, args ...any) (*pb.CanDoCryptoResult, error) {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, why, args...)
	}
	creatable := a.Type.IsKeyPair() || a.Type == psa.KeyTypeRawData || a.Type == psa.KeyTypeAES ||
		a.Type == psa.KeyTypeCamellia || a.Type == psa.KeyTypeChaCha20
	switch r.GetCheckType() {
	case pb.CheckType_USE:
		if a.CheckRSASize(false) != nil {
			return no("RSA keys of %d bits are not supported", a.Bits)
		}
		if a.Alg != psa.AlgNone && !restrictions.Compatible(a.Type, a.Alg) {
			return no("%v cannot be used with a %v key", a.Alg, a.Type)
		}
		if p.enc == ts.Protobuf && !(a.Alg.IsSign() || a.Alg.IsAsymEncrypt() || a.Alg == psa.AlgNone) {
			return no("the protobuf interface has no %v operations", a.Alg)
		}
	case pb.CheckType_GENERATE:
		if a.CheckRSASize(false) != nil {
			return no("RSA keys of %d bits are not supported", a.Bits)
		}
		if !creatable {
			return no("%v keys cannot be generated", a.Type)
		}
	case pb.CheckType_IMPORT:
		if a.CheckRSASize(true) != nil {
			return no("RSA keys of %d bits are not supported", a.Bits)
		}
		if !creatable && !a.Type.IsPublicKey() {
			return no("%v keys cannot be imported", a.Type)
		}
	case pb.CheckType_DERIVE:
		return no("key derivation is not offered through Parsec")
	default:
		return nil, wire.Errorf(wire.StatusInvalidEncoding, "invalid CanDoCrypto check type %d", r.GetCheckType())
	}
	return &pb.CanDoCryptoResult{}, nil
}
