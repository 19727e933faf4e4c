package software

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// Provider-level signing cost: key lookup in the key info manager, the
// cached parsed key, the signature and the response message.

func benchSign(b *testing.B, a psa.Attributes, alg psa.Algorithm, hash []byte) {
	e := newEnv(b)
	if _, err := e.exec(alice, &pb.GenerateKeyRequest{KeyName: "k", Attributes: attrs(b, a)}); err != nil {
		b.Fatal(err)
	}
	req, err := provider.Convert(wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: "k", Alg: signAlg(b, alg), Hash: hash})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.p.Execute(ctx, alice, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkSignECDSAP256(b *testing.B) {
	benchSign(b, ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)), psa.ECDSA(psa.AlgSHA256), sum256(nil))
}

func BenchmarkSignDeterministicECDSAP256(b *testing.B) {
	alg := psa.DeterministicECDSA(psa.AlgSHA256)
	benchSign(b, ecc(256, uSign, alg), alg, sum256(nil))
}

func BenchmarkSignRSA2048(b *testing.B) {
	alg := psa.RSAPKCS1v15Sign(psa.AlgSHA256)
	benchSign(b, psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: uSign, Alg: alg}, alg, sum256(nil))
}

// Provider-level creation cost: key generation, the key log's group
// commit and the mapping's.
func BenchmarkGenerateECCP256(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	a := attrs(b, ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(p *testing.PB) {
		for p.Next() {
			req, err := provider.Convert(wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: fmt.Sprint(n.Add(1)), Attributes: a})
			if err == nil {
				_, err = e.p.Execute(ctx, alice, req)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
