// Package memtune keeps the Go runtime's soft memory limit a little above
// what the service really holds, so that a burst of requests is collected
// early instead of letting the heap double (GOGC=100) before the first
// cycle. A fixed limit would not do: the live heap grows with the number
// of stored keys (about 200 bytes each), and a limit below it makes the
// collector run without pause.
package memtune

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"

	"github.com/parsec-go/parsec/internal/gcnotify"
)

// Tuner re-computes the limit after every garbage collection.
type Tuner struct {
	// headroom is the current margin, between base and base*maxGrowth:
	// it grows while the collector takes too much of the CPU (a load that
	// allocates faster than base allows), and shrinks back after.
	headroom, base uint64
	// lastGC and lastTotal are the CPU seconds (collector, all) at the
	// last evaluation of the collector's share.
	lastGC, lastTotal float64
	stopped           atomic.Bool
	samples           []metrics.Sample
}

// The collector's share of the CPU available to the process (GOMAXPROCS
// times wall time), evaluated over at least window seconds of wall time.
// Above growAbove the headroom doubles: creating keys at 8 clients with a
// 1.5 MiB margin ran 576 collections a second and cost 843 µs of CPU per
// key instead of 116 µs with 4 MiB. Below shrinkBelow it shrinks by an
// eighth, so a signing load, whose collections take about 6%, keeps the
// small margin and its low peak RSS.
const (
	window      = 0.05
	growAbove   = 0.20
	shrinkBelow = 0.05
	maxGrowth   = 16
)

var names = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
}

// Start sets the limit to the live heap, plus what the runtime holds
// besides the heap (stacks, metadata), plus headroom or half the live
// heap, whichever is larger, and keeps it so; the headroom grows while
// collections take more than growAbove of the CPU.
// It does nothing if the environment sets GOMEMLIMIT or GOGC (the
// operator's choice wins); it returns nil then.
func Start(headroom uint64, env func(string) string) *Tuner {
	if env("GOMEMLIMIT") != "" || env("GOGC") != "" {
		return nil
	}
	t := &Tuner{headroom: headroom, base: headroom, samples: make([]metrics.Sample, len(names))}
	for i, n := range names {
		t.samples[i].Name = n
	}
	t.adjust()
	t.arm()
	return t
}

// Stop lifts the limit and stops following the heap.
func (t *Tuner) Stop() {
	if t == nil {
		return
	}
	t.stopped.Store(true)
	debug.SetMemoryLimit(math.MaxInt64)
}

// Limit computes the limit from the current statistics.
func (t *Tuner) Limit() int64 {
	metrics.Read(t.samples)
	return t.limit()
}

func (t *Tuner) u64(i int) uint64 {
	if t.samples[i].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return t.samples[i].Value.Uint64()
}

func (t *Tuner) f64(i int) float64 {
	if t.samples[i].Value.Kind() != metrics.KindFloat64 {
		return 0
	}
	return t.samples[i].Value.Float64()
}

// limit computes the limit from the statistics last read.
func (t *Tuner) limit() int64 {
	live, total := t.u64(0), t.u64(1)
	if live == 0 {
		// No collection yet: count every heap object as live.
		live = t.u64(2)
	}
	heap := t.u64(2) + t.u64(3) + t.u64(4) + t.u64(5)
	nonHeap := uint64(0)
	if total > heap {
		nonHeap = total - heap
	}
	// A large live heap (a big key store, a ListKeys answer being built)
	// gets room in proportion, as GOGC=50 would give it: a fixed margin
	// would make each cycle mark it all for little gain.
	return int64(live + nonHeap + max(t.headroom, live/2))
}

// tune adapts the headroom to the collector's share of the CPU since the
// last evaluation (gc and total: cumulative CPU seconds).
func (t *Tuner) tune(gc, total float64, procs int) {
	if t.lastTotal == 0 || total < t.lastTotal {
		t.lastGC, t.lastTotal = gc, total
		return
	}
	dt := total - t.lastTotal
	if dt < window*float64(procs) {
		return
	}
	share := (gc - t.lastGC) / dt
	t.lastGC, t.lastTotal = gc, total
	switch {
	case share > growAbove:
		t.headroom = min(2*t.headroom, maxGrowth*t.base)
	case share < shrinkBelow:
		t.headroom = max(t.base, t.headroom-t.headroom/8)
	}
}

func (t *Tuner) adjust() {
	metrics.Read(t.samples)
	t.tune(t.f64(6), t.f64(7), runtime.GOMAXPROCS(0))
	debug.SetMemoryLimit(t.limit())
}

func (t *Tuner) arm() {
	gcnotify.Each(func() bool {
		if t.stopped.Load() {
			return false
		}
		t.adjust()
		return true
	})
}
