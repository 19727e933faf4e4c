package software

import (
	"context"
	"crypto/aes"
	"crypto/hmac"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/service/provider/software/internal/cmac"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// MAC compute and verify are answered but never advertised: the Rust
// client rejects ListOpcodes results with opcodes it does not know.

// macLengths returns the full length of a MAC algorithm and the length the
// request asks for.
func macLengths(alg psa.Algorithm) (full, want int, err error) {
	base := alg.MACBase()
	switch {
	case base.IsHMAC():
		full = base.HashAlg().HashSize()
	case base == psa.AlgCMAC || base == psa.AlgCBCMAC:
		full = aes.BlockSize
	default:
		return 0, 0, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v is not supported", alg)
	}
	want = full
	if l := alg.MACLength(); l != 0 {
		if l > full {
			return 0, 0, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v is longer than the MAC", alg)
		}
		if l < 4 {
			return 0, 0, wire.Errorf(wire.StatusPsaErrorNotSupported, "MACs shorter than 4 bytes are not supported")
		}
		want = l
	}
	return full, want, nil
}

// mac computes the full-length MAC of msg.
func (k *key) mac(alg psa.Algorithm, msg []byte) ([]byte, error) {
	base := alg.MACBase()
	switch {
	case base.IsHMAC() && k.attrs.Type == psa.KeyTypeHMAC:
		h, err := hashFor(base.HashAlg())
		if err != nil {
			return nil, err
		}
		m := hmac.New(h.new, k.material)
		m.Write(msg)
		return m.Sum(nil), nil
	case base == psa.AlgCMAC && k.attrs.Type == psa.KeyTypeAES:
		b, err := aes.NewCipher(k.material)
		if err != nil {
			return nil, wire.Errorf(wire.StatusPsaErrorDataCorrupt, "AES key: %v", err)
		}
		t, err := cmac.Sum(b, msg)
		if err != nil {
			return nil, wire.Errorf(wire.StatusPsaErrorGenericError, "CMAC: %v", err)
		}
		return t[:], nil
	}
	return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v with %v keys is not supported", alg, k.attrs.Type)
}

// normalizeMAC turns a MAC truncated to its full length into the
// full-length algorithm, which PSA treats as the same algorithm.
func normalizeMAC(alg psa.Algorithm) psa.Algorithm {
	if full, want, err := macLengths(alg); err == nil && full == want {
		return alg.MACBase()
	}
	return alg
}

func (p *Provider) macCompute(_ context.Context, c provider.Call[*pb.MacComputeRequest]) (*pb.MacComputeResult, error) {
	m, err := p.macOf(c.App, c.Req.GetKeyName(), psa.UsageSignMessage, c.Alg, c.Req.GetInput())
	if err != nil {
		return nil, err
	}
	return &pb.MacComputeResult{Mac: m}, nil
}

func (p *Provider) macVerify(_ context.Context, c provider.Call[*pb.MacVerifyRequest]) (*pb.MacVerifyResult, error) {
	m, err := p.macOf(c.App, c.Req.GetKeyName(), psa.UsageVerifyMessage, c.Alg, c.Req.GetInput())
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(m, c.Req.GetMac()) {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidSignature, "the MAC does not match")
	}
	return &pb.MacVerifyResult{}, nil
}

// macOf computes the MAC of input with the named key, which must allow
// usage, truncated to the length alg asks.
func (p *Provider) macOf(app auth.Application, name string, usage psa.Usage, alg psa.Algorithm, input []byte) ([]byte, error) {
	alg = normalizeMAC(alg)
	k, err := p.keyFor(app, name, usage, alg)
	if err != nil {
		return nil, err
	}
	_, want, err := macLengths(alg)
	if err != nil {
		return nil, err
	}
	m, err := k.mac(alg, input)
	if err != nil {
		return nil, err
	}
	return m[:want], nil
}
