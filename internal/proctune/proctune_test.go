package proctune

import (
	"errors"
	"runtime"
	"testing"
	"time"
)

// fake is a machine whose usage the test writes: each window adds the
// service's and the idle cores given.
type fake struct {
	now        time.Time
	self, idle time.Duration
	procs      []int // every value set
}

func (f *fake) read() (usage, error) { return usage{at: f.now, self: f.self, idle: f.idle}, nil }
func (f *fake) set(n int)            { f.procs = append(f.procs, n) }

func (f *fake) window(d time.Duration, self, idle float64) usage {
	f.now = f.now.Add(d)
	f.self += time.Duration(self * float64(d))
	f.idle += time.Duration(idle * float64(d))
	u, _ := f.read()
	return u
}

func TestStepAddsForSaturationAndTakesBackUnused(t *testing.T) {
	f := &fake{now: time.Unix(1000, 0)}
	g := newGovernor(4, f.read, f.set)
	if g == nil || g.Procs() != 1 || len(f.procs) != 1 || f.procs[0] != 1 {
		t.Fatalf("a new governor must start the service on one processor (set %v)", f.procs)
	}
	for _, tc := range []struct {
		name       string
		d          time.Duration
		self, idle float64
		want       int
	}{
		{"saturated, cores idle: add", window, 0.98, 1.5, 2},
		{"saturated again: add", window, 1.9, 1.2, 3},
		{"saturated but no idle core left: keep", window, 2.9, 0.2, 3},
		{"half a core idle is enough", window, 2.8, 0.5, 4},
		{"never above the start value", window, 4, 1, 4},
		{"light use between the bounds: keep", window, 3.5, 0.5, 4},
		{"one processor unused: take it back", window, 3.1, 0.9, 3},
		{"idle: take another back", 10 * time.Second, 0.01, 3.9, 2},
		{"idle: down to one", window, 0, 3.9, 1},
		{"idle: never below one", window, 0, 3.9, 1},
		{"busy within the hold after a take-back: keep", window, 1, 3, 1},
		{"busy after the hold: add", time.Second, 1, 3, 2},
	} {
		g.step(f.window(tc.d, tc.self, tc.idle))
		if g.Procs() != tc.want {
			t.Fatalf("%s: %d processors, want %d", tc.name, g.Procs(), tc.want)
		}
		if f.procs[len(f.procs)-1] != tc.want {
			t.Fatalf("%s: runtime set to %d, governor at %d", tc.name, f.procs[len(f.procs)-1], tc.want)
		}
	}
}

// A load that saturates one processor and does not use a second (its
// clients take the other core) is retried less and less often.
func TestStepBacksOffFromUnprofitableAdds(t *testing.T) {
	f := &fake{now: time.Unix(1000, 0)}
	g := newGovernor(2, f.read, f.set)
	var adds []time.Time
	for i := 0; i < 1000; i++ { // 200 s of windows
		before := g.Procs()
		if before == 1 {
			g.step(f.window(window, 0.97, 0.55))
		} else {
			g.step(f.window(window, 1.08, 0.45))
		}
		if g.Procs() > before {
			adds = append(adds, f.now)
		}
	}
	if len(adds) < 4 {
		t.Fatalf("only %d tries to add a processor in 200 s", len(adds))
	}
	for i := 2; i < len(adds); i++ {
		if gap, prev := adds[i].Sub(adds[i-1]), adds[i-1].Sub(adds[i-2]); gap < prev && prev < holdMax {
			t.Fatalf("try %d came %v after the previous, sooner than the %v before it", i, gap, prev)
		}
	}
	if gap := adds[len(adds)-1].Sub(adds[len(adds)-2]); gap < holdMax {
		t.Fatalf("tries still %v apart after 200 s, want the %v cap", gap, holdMax)
	}
	// A load that profits (the second processor is used) resets the
	// back-off: after its next take-back the hold is the shortest again.
	for g.Procs() == 1 {
		g.step(f.window(window, 0.97, 0.55))
	}
	g.step(f.window(window, 1.9, 0.1))
	g.step(f.window(window, 1.9, 0.1))
	g.step(f.window(window, 0.5, 1.5))
	if g.Procs() != 1 || g.hold != holdMin {
		t.Fatalf("after a used second processor went idle: %d processors, hold %v, want 1 and %v", g.Procs(), g.hold, holdMin)
	}
}

// A long request (an RSA key generation) holds the others up on one
// processor although it leaves it partly idle: the governor adds a second
// while long requests end, keeps it while they go on, and takes it back
// once they have stopped for longMemory.
func TestStepKeepsTwoProcessorsForLongRequests(t *testing.T) {
	f := &fake{now: time.Unix(1000, 0)}
	g := newGovernor(4, f.read, f.set)
	g.now = func() time.Time { return f.now }
	g.Served(longRequest - time.Millisecond)
	if g.step(f.window(window, 0.7, 1.2)); g.Procs() != 1 {
		t.Fatalf("short requests, not saturated: %d processors, want 1", g.Procs())
	}
	g.Served(longRequest)
	if g.step(f.window(window, 0.7, 1.2)); g.Procs() != 2 {
		t.Fatalf("a long request, a core idle: %d processors, want 2", g.Procs())
	}
	// Unsaturated, a second processor used little: kept while long
	// requests go on.
	for i := 0; i < 10; i++ {
		g.Served(time.Second)
		if g.step(f.window(window, 1.1, 0.8)); g.Procs() != 2 {
			t.Fatalf("window %d of long requests: %d processors, want 2", i, g.Procs())
		}
	}
	// Never more than two for long requests alone.
	g.Served(time.Second)
	if g.step(f.window(window, 1.2, 2)); g.Procs() != 2 {
		t.Fatalf("long requests, unsaturated: %d processors, want 2", g.Procs())
	}
	// Stopped: kept for longMemory, then taken back.
	g.step(f.window(longMemory-2*window, 1.1, 0.8))
	if g.Procs() != 2 {
		t.Fatalf("%v after the last long request: %d processors, want 2", longMemory-window, g.Procs())
	}
	g.step(f.window(2*window, 1.1, 0.8))
	if g.Procs() != 1 {
		t.Fatalf("%v after the last long request: %d processors, want 1", longMemory+window, g.Procs())
	}
	// Without an idle core a long request adds nothing.
	g.Served(time.Second)
	if g.step(f.window(window, 0.9, 0.2)); g.Procs() != 1 {
		t.Fatalf("a long request, no idle core: %d processors, want 1", g.Procs())
	}
	var none *Governor
	none.Served(time.Second) // no governor (GOMAXPROCS set): a no-op
}

func TestNoGovernor(t *testing.T) {
	f := &fake{}
	if newGovernor(1, f.read, f.set) != nil || len(f.procs) != 0 {
		t.Fatal("one core: nothing to govern, and GOMAXPROCS must stay")
	}
	if newGovernor(4, func() (usage, error) { return usage{}, errors.New("no /proc") }, f.set) != nil || len(f.procs) != 0 {
		t.Fatal("without usage figures the governor must leave GOMAXPROCS alone")
	}
	if Start(func(k string) string {
		if k == "GOMAXPROCS" {
			return "3"
		}
		return ""
	}, nil) != nil {
		t.Fatal("GOMAXPROCS in the environment must win")
	}
}

func TestStartAndStop(t *testing.T) {
	max := runtime.GOMAXPROCS(0)
	g := Start(func(string) string { return "" }, nil)
	if max < 2 {
		if g != nil {
			t.Fatal("a governor on one core")
		}
		return
	}
	if g == nil {
		t.Fatal("no governor on a multi-core machine with /proc")
	}
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Fatalf("GOMAXPROCS %d after Start, want 1", n)
	}
	g.Stop()
	if n := runtime.GOMAXPROCS(0); n != max {
		t.Fatalf("GOMAXPROCS %d after Stop, want the %d it started with", n, max)
	}
}

func TestParseIdle(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"cpu  4705 356 584 3699 23 0 17 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n", 3722 * 10 * time.Millisecond, true},
		{"cpu  1 2 3 4 5", 9 * 10 * time.Millisecond, true},
		{"cpu0 1 2 3 4 5 6\n", 0, false},
		{"cpu  1 2 3\n", 0, false},
		{"cpu  1 2 3 x 5 6\n", 0, false},
		{"", 0, false},
	} {
		got, err := parseIdle([]byte(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseIdle(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
