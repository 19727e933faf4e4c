package memtune

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestLimitFollowsTheLiveHeap(t *testing.T) {
	for _, name := range []string{"GOMEMLIMIT", "GOGC"} {
		if Start(1<<20, func(k string) string {
			if k == name {
				return "200"
			}
			return ""
		}) != nil {
			t.Fatalf("%s in the environment must win", name)
		}
	}
	tu := Start(4<<20, func(string) string { return "" })
	defer tu.Stop()
	runtime.GC()
	before := debug.SetMemoryLimit(-1)
	if before == math.MaxInt64 || before < 4<<20 {
		t.Fatalf("limit %d after start", before)
	}
	// 32 MiB more live data: the limit must follow, or the collector
	// would run without pause.
	keep := make([][]byte, 32)
	for i := range keep {
		keep[i] = make([]byte, 1<<20)
	}
	// The finalizer runs in the background after a cycle: a few cycles,
	// a bounded number.
	after := before
	for i := 0; i < 100 && after < before+30<<20; i++ {
		runtime.GC()
		runtime.Gosched()
		after = debug.SetMemoryLimit(-1)
	}
	if after < before+30<<20 {
		t.Fatalf("limit %d after 32 MiB more live heap (was %d)", after, before)
	}
	runtime.KeepAlive(keep)
	tu.Stop()
	if debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatal("Stop must lift the limit")
	}
}

// The headroom doubles while collections take more than growAbove of the
// CPU, up to maxGrowth times the base, and shrinks back by an eighth per
// window when they take less than shrinkBelow.
func TestHeadroomFollowsTheCollectorsShare(t *testing.T) {
	const base = 1 << 20
	tu := &Tuner{headroom: base, base: base}
	var gc, total float64
	step := func(share, seconds float64) {
		total += seconds * 2
		gc += share * seconds * 2
		tu.tune(gc, total, 2)
	}
	step(0, 1) // the first call only records
	for _, tc := range []struct {
		name    string
		share   float64
		seconds float64
		want    uint64
	}{
		{"moderate share keeps the base", 0.10, 1, base},
		{"heavy share doubles", 0.5, 1, 2 * base},
		{"a window too short is not evaluated", 0.5, window / 4, 2 * base},
		{"the short window counts in the next", 0.5, window, 4 * base},
		{"doubles again", 0.9, 1, 8 * base},
		{"again", 0.9, 1, 16 * base},
		{"capped at maxGrowth", 0.9, 1, maxGrowth * base},
		{"between the thresholds it stays", 0.1, 1, maxGrowth * base},
		{"light share shrinks by an eighth", 0.01, 1, maxGrowth*base - maxGrowth*base/8},
	} {
		step(tc.share, tc.seconds)
		if tu.headroom != tc.want {
			t.Fatalf("%s: headroom %d, want %d", tc.name, tu.headroom, tc.want)
		}
	}
	for i := 0; i < 100; i++ {
		step(0.01, 1)
	}
	if tu.headroom != base {
		t.Fatalf("headroom %d after a long light load, want the base %d", tu.headroom, base)
	}
}
