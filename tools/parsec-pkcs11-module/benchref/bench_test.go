package benchref

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/psa"
)

// BenchmarkClientSignP256 is the reference for the module's C_Sign
// benchmark (scripts/pkcs11-module-tests.sh --bench): the same ECDSA P-256
// signature of a 32-byte digest through the Go client library, against the
// service at PARSEC_SERVICE_ENDPOINT, with the key named by
// PARSEC_PKCS11_BENCH_KEY.
func BenchmarkClientSignP256(b *testing.B) {
	key := os.Getenv("PARSEC_PKCS11_BENCH_KEY")
	if key == "" || os.Getenv(client.EndpointEnv) == "" {
		b.Skip("needs PARSEC_SERVICE_ENDPOINT and PARSEC_PKCS11_BENCH_KEY")
	}
	ctx := context.Background()
	c, err := client.New(ctx)
	if err != nil {
		b.Fatal(err)
	}
	digest := bytes.Repeat([]byte{0x5a}, 32)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.SignHash(ctx, key, psa.ECDSA(psa.AlgSHA256), digest); err != nil {
			b.Fatal(err)
		}
	}
}
