package tpm

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/parsec-go/parsec/psa"
)

// Benchmarks of TPM signing through the provider (in process, no socket),
// against a private swtpm. Each reports p50 latency and throughput beside
// Go's ns/op, so runs can be set next to the Rust provider's numbers on
// the same swtpm (scripts/rust-parsec.sh). Compare like with like: the
// Rust figures go through the service socket, these do not.
//
//	go test ./service/provider/tpm -run XXX -bench . -benchtime 300x

func benchSign(b *testing.B, a psa.Attributes, nkeys int, maxLoaded int) {
	e := &env{t: b, tpm: startSwtpm(b), kimDir: b.TempDir(), log: &logRecorder{t: b}}
	e.cfg = Config{Tcti: e.tpm.tcti, MaxLoadedObjects: maxLoaded}
	e.p = e.open(b)
	for i := 0; i < nkeys; i++ {
		if err := generate(b, e.p, alice, fmt.Sprint("k", i), a); err != nil {
			b.Fatal(err)
		}
	}
	d := make([]byte, a.Alg.HashAlg().HashSize())
	// Warm up: every key signs once.
	for i := 0; i < nkeys; i++ {
		if _, err := sign(b, e.p, alice, fmt.Sprint("k", i), a.Alg, d); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	loads := e.p.dev.loads
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := sign(b, e.p, alice, fmt.Sprint("k", i%nkeys), a.Alg, d); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	report(b, lat, elapsed)
	b.ReportMetric(float64(e.p.dev.loads-loads)/float64(b.N), "loads/op")
}

func report(b *testing.B, lat []time.Duration, elapsed time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.9), "p90-ms")
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "ops/s")
}

// One hot key: the cached handle makes each signature one TPM command.
func BenchmarkSignECDSAP256(b *testing.B) { benchSign(b, eccP256Sign, 1, 0) }
func BenchmarkSignRSA2048(b *testing.B)   { benchSign(b, rsa2048Sign, 1, 0) }

// More keys than the TPM can hold, used round-robin: every signature
// loads its key (and often the storage root) first, the cost the cache
// avoids.
func BenchmarkSignECDSAP256Uncached(b *testing.B) { benchSign(b, eccP256Sign, 4, 0) }

// Eight clients at once: the TPM serialises them, so this is the
// provider's throughput ceiling on this TPM.
func BenchmarkSignECDSAP256Parallel(b *testing.B) {
	e := &env{t: b, tpm: startSwtpm(b), kimDir: b.TempDir(), log: &logRecorder{t: b}}
	e.cfg = Config{Tcti: e.tpm.tcti}
	e.p = e.open(b)
	if err := generate(b, e.p, alice, "k", eccP256Sign); err != nil {
		b.Fatal(err)
	}
	d := make([]byte, 32)
	if _, err := sign(b, e.p, alice, "k", eccP256Sign.Alg, d); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	b.SetParallelism(4) // 4 x GOMAXPROCS goroutines
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t0 := time.Now()
			if _, err := signNoT(e.p, "k", d); err != nil {
				b.Error(err)
				return
			}
			dt := time.Since(t0)
			mu.Lock()
			lat = append(lat, dt)
			mu.Unlock()
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	report(b, lat, elapsed)
}
