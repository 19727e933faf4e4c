package memtune

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestLimitFollowsTheLiveHeap(t *testing.T) {
	if Start(1<<20, func(string) string { return "1GiB" }) != nil {
		t.Fatal("GOMEMLIMIT in the environment must win")
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
