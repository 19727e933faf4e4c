package software

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// oddOfBits returns 2^(bits-1)+1: an odd number of exactly bits bits,
// fixed so the DER below is the same on every run.
func oddOfBits(bits int) *big.Int {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	return n.Add(n, big.NewInt(1))
}

func marshalRSAPrivate(t testing.TB, k rsaPrivateKeyASN1) []byte {
	t.Helper()
	der, err := asn1.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// slowRSAPairs are RSA key pair imports that x509.ParsePKCS1PrivateKey
// spent long on before precheckRSAPrivateKey existed (one-off timings of
// parseKey on the 2-core dev machine in the comments; the pre-check
// refuses each in well under a millisecond). Their DER also sits in
// testdata/fuzz/FuzzParseKey.
func slowRSAPairs(t testing.TB) []struct {
	name string
	der  []byte
	want wire.Status
} {
	return []struct {
		name string
		der  []byte
		want wire.Status
	}{
		// 16384-bit modulus, 8192-bit primes: 1.7 s.
		{"16384-bit modulus", marshalRSAPrivate(t, rsaPrivateKeyASN1{
			Modulus: oddOfBits(16384), PublicExponent: 65537, PrivateExponent: oddOfBits(16000),
			Prime1: oddOfBits(8192), Prime2: oddOfBits(8192)}), wire.StatusPsaErrorNotSupported},
		// 1024-bit modulus, 8192-bit primes: 1.5 s.
		{"primes longer than the modulus", marshalRSAPrivate(t, rsaPrivateKeyASN1{
			Modulus: oddOfBits(1024), PublicExponent: 65537, PrivateExponent: oddOfBits(1000),
			Prime1: oddOfBits(8192), Prime2: oddOfBits(8192)}), wire.StatusPsaErrorInvalidArgument},
		// 4096-bit modulus and primes: 0.2 s, 0.8 s with other values
		// (validated twice under the module's x509rsacrt=0 default).
		{"4096-bit primes for a 4096-bit modulus", marshalRSAPrivate(t, rsaPrivateKeyASN1{
			Modulus: oddOfBits(4096), PublicExponent: 65537, PrivateExponent: oddOfBits(4000),
			Prime1: oddOfBits(4096), Prime2: oddOfBits(4096)}), wire.StatusPsaErrorInvalidArgument},
		// Sizes of a real 4096-bit key, primes that are not its factors:
		// 12 ms, the shape most fuzzed DER has.
		{"primes not factors of the modulus", marshalRSAPrivate(t, rsaPrivateKeyASN1{
			Modulus: oddOfBits(4096), PublicExponent: 65537, PrivateExponent: oddOfBits(4000),
			Prime1: oddOfBits(2048), Prime2: oddOfBits(2048)}), wire.StatusPsaErrorInvalidArgument},
	}
}

func manyOtherPrimes(n int) []rsaOtherPrimeInfo {
	o := make([]rsaOtherPrimeInfo, n)
	for i := range o {
		o[i] = rsaOtherPrimeInfo{big.NewInt(3), big.NewInt(1), big.NewInt(1)}
	}
	return o
}

func TestPrecheckRSAPrivateKey(t *testing.T) {
	// What the pre-check lets through must still be every key
	// crypto/x509 takes: real keys of each size, one without its
	// optional CRT values, and a multi-prime key.
	noCRT := testRSAKey(t, 2048)
	multi, err := rsa.GenerateMultiPrimeKey(rand.Reader, 3, 1536)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		der  []byte
	}{
		{"1024", x509.MarshalPKCS1PrivateKey(testRSAKey(t, 1024))},
		{"2048", x509.MarshalPKCS1PrivateKey(testRSAKey(t, 2048))},
		{"4096", x509.MarshalPKCS1PrivateKey(testRSAKey(t, 4096))},
		{"no CRT values", marshalRSAPrivate(t, rsaPrivateKeyASN1{Modulus: noCRT.N, PublicExponent: noCRT.E,
			PrivateExponent: noCRT.D, Prime1: noCRT.Primes[0], Prime2: noCRT.Primes[1]})},
		{"three primes", x509.MarshalPKCS1PrivateKey(multi)},
	} {
		if _, err := x509.ParsePKCS1PrivateKey(c.der); err != nil {
			t.Fatalf("%s: the test key itself does not parse: %v", c.name, err)
		}
		if err := precheckRSAPrivateKey(c.der); err != nil {
			t.Errorf("%s: refused a key x509 accepts: %v", c.name, err)
		}
	}
	// The slow imports stop here, in the pre-check, not in x509.
	for _, c := range slowRSAPairs(t) {
		if err := precheckRSAPrivateKey(c.der); !errors.Is(err, c.want) {
			t.Errorf("%s: pre-check gave %v, want %v", c.name, err, c.want)
		}
	}
	for _, c := range []struct {
		name string
		der  []byte
	}{
		{"not DER", []byte{0x30, 0x82, 0xff, 0xff, 0x02, 0x01}},
		{"trailing data", append(x509.MarshalPKCS1PrivateKey(testRSAKey(t, 1024)), 0)},
		{"public key", x509.MarshalPKCS1PublicKey(&testRSAKey(t, 1024).PublicKey)},
		// x509 refuses this quickly too; here the product bound stops
		// the list after a few factors.
		{"endless other primes", marshalRSAPrivate(t, rsaPrivateKeyASN1{
			Version: 1, Modulus: oddOfBits(2048), PublicExponent: 65537, PrivateExponent: oddOfBits(2000),
			Prime1: oddOfBits(1024), Prime2: oddOfBits(1024), OtherPrimeInfos: manyOtherPrimes(5000)})},
	} {
		if err := precheckRSAPrivateKey(c.der); !errors.Is(err, wire.StatusPsaErrorInvalidArgument) {
			t.Errorf("%s: pre-check gave %v, want %v", c.name, err, wire.StatusPsaErrorInvalidArgument)
		}
	}
}

// TestImportSlowRSAPairs sends the slow imports through the provider:
// each gets its status and the key already stored stays as it was.
func TestImportSlowRSAPairs(t *testing.T) {
	e := newEnv(t)
	kept := psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: uSign | uExport, Alg: psa.RSAPSS(psa.AlgSHA256)}
	keptDER := x509.MarshalPKCS1PrivateKey(testRSAKey(t, 2048))
	e.importKey(alice, "kept", kept, keptDER)
	files := e.material()
	pair := psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Usage: uSign, Alg: psa.RSAPSS(psa.AlgSHA256)}
	for _, c := range slowRSAPairs(t) {
		for _, name := range []string{"new", "kept"} {
			got := e.status(alice, &pb.ImportKeyRequest{KeyName: name, Attributes: attrs(t, pair), Data: c.der})
			want := c.want
			if name == "kept" {
				want = wire.StatusPsaErrorAlreadyExists
			}
			if got != want {
				t.Errorf("%s as %q: status %v, want %v", c.name, name, got, want)
			}
		}
	}
	if got := e.material(); len(got) != len(files) || got[0] != files[0] {
		t.Errorf("key files %v after refused imports, want %v", got, files)
	}
	if keys, _ := e.kim.All(); len(keys) != 1 {
		t.Errorf("%d mappings after refused imports, want 1", len(keys))
	}
	if got := e.export(alice, "kept"); !bytes.Equal(got, keptDER) {
		t.Error("the stored key changed")
	}
}
