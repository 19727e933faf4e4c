// Package proctune sets how many processors (GOMAXPROCS) run the
// service's Go code from what the service and the machine do.
//
// Parsec's clients are processes on the same device, so a busy service
// shares the cores with them. When the requests are short (an ECDSA
// signature, a ping), a second processor does not make the service
// faster, it makes the runtime hand goroutines between threads, steal
// work and spin, and costs memory (a cache of heap spans and more threads
// per processor): on 2 cores with 8 signing clients, one processor served
// more signatures per second (21,000-22,000 against 16,500-17,000), for
// 44-46 µs of CPU each instead of 63-66, and peaked at 8.8-9.5 MB RSS
// instead of 9.6-10.4 (README, Performance).
// When the requests are long (RSA), the service saturates its processor
// while cores idle, and more processors are what it needs (RSA-2048 sign
// at 8 clients: 2,250 a second with 2, 1,260 with 1, p99 37-46 ms).
//
// The governor starts with one processor and, at most every window,
// looks at the CPU the service used and the CPU the machine left idle:
// a saturated service on a machine with idle cores gets one more; a
// processor the service leaves unused is taken back. A long request (an
// RSA key generation) counts apart: with one processor every other
// request waits behind it until the runtime preempts it (on 2 cores, one
// client creating RSA-4096 keys while another pings: ping max 49-50 ms
// and 22,600 pings a second with one processor, 20.7 ms and 61,000 with
// two), although it leaves the processor partly idle (the service used
// 0.64-0.73 cores), so while long requests run the service keeps two
// processors when the machine has an idle core. It is driven by the
// collector (internal/gcnotify), so an idle service never wakes it.
package proctune

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/parsec-go/parsec/internal/gcnotify"
)

const (
	// window is the shortest period over which usage is judged: the
	// machine's idle time comes in 10 ms ticks per core.
	window = 200 * time.Millisecond
	// busy: the service is saturated when it used this share of its
	// processors.
	busy = 0.85
	// spareCores is the idle CPU, in cores, that must be left on the
	// machine before the service takes one more processor.
	spareCores = 0.5
	// unused: a processor is taken back when the service used at least
	// this much less than all of them.
	unused = 0.75
	// holdMin and holdMax bound the time after taking a processor back
	// during which none is added: each add that is taken back at once
	// doubles it, so a load that does not profit from more processors
	// (its clients cannot feed them) stops being retried every window.
	holdMin = time.Second
	holdMax = 30 * time.Second
	// longRequest is a request long enough to hold up the others on one
	// processor: far above a signature or a ping (under 1 ms) and an
	// operating system's time slice, below an RSA key generation (tens of
	// ms to seconds). longMemory is how long one keeps a second processor.
	longRequest = 20 * time.Millisecond
	longMemory  = 2 * time.Second
)

// usage is cumulative: the service's CPU and the machine's idle CPU.
type usage struct {
	at         time.Time
	self, idle time.Duration
}

// Governor adjusts GOMAXPROCS.
type Governor struct {
	max int
	// mu guards the fields below; the collector's finalizer goroutine is
	// the only caller, Stop aside.
	mu      sync.Mutex
	stopped bool
	procs   int
	last    usage
	hold    time.Duration
	holdTo  time.Time
	addedAt time.Time // when the last processor was added
	read    func() (usage, error)
	set     func(int)
	changed func(from, to int, self, idle float64)
	// longAt is when the last long request ended (Unix nanoseconds).
	longAt atomic.Int64
	now    func() time.Time
}

// Served tells the governor that a request took d. It is called for
// every request: it costs a comparison unless d is long.
func (g *Governor) Served(d time.Duration) {
	if g != nil && d >= longRequest {
		g.longAt.Store(g.now().UnixNano())
	}
}

// Start takes the processors down to one and adjusts them from then on,
// up to as many as the runtime started with. It does nothing, and returns
// nil, if the environment sets GOMAXPROCS (the operator's choice wins),
// on a single core, or if the machine's idle time cannot be read.
// changed, if not nil, is told each change (from the finalizer
// goroutine), with the usage that led to it: the service's CPU and the
// machine's idle CPU over the window, in cores.
func Start(env func(string) string, changed func(from, to int, self, idle float64)) *Governor {
	if env("GOMAXPROCS") != "" {
		return nil
	}
	g := newGovernor(runtime.GOMAXPROCS(0), readUsage, func(n int) { runtime.GOMAXPROCS(n) })
	if g == nil {
		return nil
	}
	g.changed = changed
	gcnotify.Each(g.tick)
	return g
}

func newGovernor(max int, read func() (usage, error), set func(int)) *Governor {
	if max < 2 {
		return nil
	}
	u, err := read()
	if err != nil {
		return nil
	}
	g := &Governor{max: max, procs: 1, last: u, hold: holdMin, read: read, set: set, now: time.Now}
	set(1)
	return g
}

// Stop gives the runtime back the processors it started with.
func (g *Governor) Stop() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	g.set(g.max)
}

// Procs is the current number of processors.
func (g *Governor) Procs() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.procs
}

func (g *Governor) tick() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	// The collector may run a hundred times a second: read the usage
	// only once a window has passed.
	if g.now().Sub(g.last.at) < window {
		return true
	}
	if u, err := g.read(); err == nil {
		g.step(u)
	}
	return true
}

// step (mu held) judges the window since the last usage and moves the
// processors by one at most.
func (g *Governor) step(u usage) {
	wall := u.at.Sub(g.last.at).Seconds()
	self := (u.self - g.last.self).Seconds() / wall
	idle := (u.idle - g.last.idle).Seconds() / wall
	g.last = u
	from, p := g.procs, float64(g.procs)
	long := u.at.UnixNano()-g.longAt.Load() < int64(longMemory)
	switch {
	case g.procs < g.max && idle >= spareCores && (self >= busy*p && !u.at.Before(g.holdTo) || long && g.procs < 2):
		g.procs++
		g.addedAt = u.at
	case g.procs > 1 && self <= p-unused && !(long && g.procs == 2):
		g.procs--
		if u.at.Sub(g.addedAt) <= 2*window {
			// Added and not used: wait longer before the next try.
			g.hold = min(2*g.hold, holdMax)
		} else {
			g.hold = holdMin
		}
		g.holdTo = u.at.Add(g.hold)
	default:
		return
	}
	g.set(g.procs)
	if g.changed != nil {
		g.changed(from, g.procs, self, idle)
	}
}

// readUsage reads the process's CPU time (getrusage) and the machine's
// idle and I/O wait time (the first line of /proc/stat, in USER_HZ ticks,
// which Linux fixes at 100 a second).
func readUsage() (usage, error) {
	now := time.Now()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return usage{}, fmt.Errorf("getrusage: %w", err)
	}
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return usage{}, err
	}
	idle, err := parseIdle(b)
	if err != nil {
		return usage{}, err
	}
	return usage{at: now, self: self, idle: idle}, nil
}

// parseIdle returns idle + iowait from the aggregate "cpu" line of
// /proc/stat.
func parseIdle(stat []byte) (time.Duration, error) {
	line, _, _ := bytes.Cut(stat, []byte{'\n'})
	f := bytes.Fields(line)
	// cpu user nice system idle iowait ...
	if len(f) < 6 || string(f[0]) != "cpu" {
		return 0, fmt.Errorf("/proc/stat: no aggregate cpu line")
	}
	var ticks uint64
	for _, x := range f[4:6] {
		v, err := strconv.ParseUint(string(x), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		ticks += v
	}
	return time.Duration(ticks) * (time.Second / 100), nil
}
