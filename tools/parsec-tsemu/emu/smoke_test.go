package emu_test

import (
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/tools/parsec-tsemu/emu"
	"github.com/parsec-go/parsec/ts"
)

func TestSmoke(t *testing.T) {
	_, path := startWorld(t, emu.Options{OPTEE: true})
	c := dial(t, path)
	cr := ts.NewCrypto(caller(t, c, ts.ServiceCrypto))
	id, err := cr.GenerateKey(ctxT(t), ts.KeyAttributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Lifetime: 1, ID: 1, Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)})
	if err != nil || id != 1 {
		t.Fatal(id, err)
	}
	h := make([]byte, 32)
	sig, err := cr.SignHash(ctxT(t), 1, psa.ECDSA(psa.AlgSHA256), h)
	if err != nil {
		t.Fatal(err)
	}
	if err := cr.VerifyHash(ctxT(t), 1, psa.ECDSA(psa.AlgSHA256), h, sig); err != nil {
		t.Fatal(err)
	}
	t.Logf("sig %x", sig)
}
