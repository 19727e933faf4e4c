package emu_test

import (
	"testing"

	"github.com/parsec-go/parsec/internal/ts"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/tools/parsec-tsemu/emu"
)

// Round trips through the device seam: a small call (ECDSA sign) and a
// buffer-sized one (hash of 60 KiB), per transport.
func BenchmarkTransports(b *testing.B) {
	_, path := startWorld(b, emu.Options{})
	for _, addr := range []string{"unix:" + path, "unix-inline:" + path} {
		c := dial(b, addr)
		cr := ts.NewCrypto(caller(b, c, ts.ServiceCrypto))
		id, err := cr.GenerateKey(ctxT(b), ts.KeyAttributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Lifetime: 0,
			Usage: psa.UsageSignHash, Alg: psa.ECDSA(psa.AlgSHA256)})
		if err != nil {
			b.Fatal(err)
		}
		digest := make([]byte, 32)
		b.Run(addr[:len(addr)-len(path)]+"sign", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := cr.SignHash(ctxT(b), id, psa.ECDSA(psa.AlgSHA256), digest); err != nil {
					b.Fatal(err)
				}
			}
		})
		data := make([]byte, 60<<10)
		b.Run(addr[:len(addr)-len(path)]+"hash60k", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := cr.HashCompute(ctxT(b), psa.AlgSHA256, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
