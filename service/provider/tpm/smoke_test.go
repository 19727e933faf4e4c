package tpm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"math/big"
	"testing"
)

func TestSmoke(t *testing.T) {
	e := newEnv(t)
	if err := generate(t, e.p, alice, "k", eccP256Sign); err != nil {
		t.Fatal(err)
	}
	pub, err := exportPub(e.p, alice, "k")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte("hello"))
	sig, err := sign(t, e.p, alice, "k", eccP256Sign.Alg, h[:])
	if err != nil {
		t.Fatal(err)
	}
	x, y := elliptic.Unmarshal(elliptic.P256(), pub)
	if !ecdsa.Verify(&ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("bad sig")
	}
	t.Logf("loads %d flushes %d", e.p.dev.loads, e.p.dev.flushes)
}
