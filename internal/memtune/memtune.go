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
)

// Tuner re-computes the limit after every garbage collection.
type Tuner struct {
	headroom uint64
	stopped  atomic.Bool
	samples  []metrics.Sample
}

var names = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
}

// Start sets the limit to the live heap, plus what the runtime holds
// besides the heap (stacks, metadata), plus headroom or half the live
// heap, whichever is larger, and keeps it so.
// It does nothing if the environment sets GOMEMLIMIT (the operator's
// choice wins); it returns nil then.
func Start(headroom uint64, env func(string) string) *Tuner {
	if env("GOMEMLIMIT") != "" {
		return nil
	}
	t := &Tuner{headroom: headroom, samples: make([]metrics.Sample, len(names))}
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
	v := func(i int) uint64 {
		if t.samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return t.samples[i].Value.Uint64()
	}
	live, total := v(0), v(1)
	if live == 0 {
		// No collection yet: count every heap object as live.
		live = v(2)
	}
	heap := v(2) + v(3) + v(4) + v(5)
	nonHeap := uint64(0)
	if total > heap {
		nonHeap = total - heap
	}
	// A large live heap (a big key store, a ListKeys answer being built)
	// gets room in proportion, as GOGC=50 would give it: a fixed margin
	// would make each cycle mark it all for little gain.
	return int64(live + nonHeap + max(t.headroom, live/2))
}

func (t *Tuner) adjust() { debug.SetMemoryLimit(t.Limit()) }

// sentinel is garbage from birth; its finalizer runs once per collection
// cycle. Large enough to escape the tiny allocator, whose blocks may
// outlive their objects and delay the finalizer.
type sentinel struct {
	_ *int
	_ [24]byte
}

func (t *Tuner) arm() {
	s := &sentinel{}
	runtime.SetFinalizer(s, func(*sentinel) {
		if t.stopped.Load() {
			return
		}
		t.adjust()
		t.arm()
	})
}
