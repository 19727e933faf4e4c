package wal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func TestAppendPatchAndCutBack(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	l, err := Create(p, []byte("HDR:"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Reserve(10); err != nil {
		t.Fatal(err)
	}
	if err := l.Append([]byte("one,two,"), nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Append([]byte("three,"), []Patch{{Off: 4, Data: []byte("ONE")}}); err != nil {
		t.Fatal(err)
	}
	// A failed sync: the round is cut back, the patch stays.
	fails := 1
	l.Fdatasync = func(fd int) error {
		if fails > 0 {
			fails--
			return unix.EIO
		}
		return unix.Fdatasync(fd)
	}
	if err := l.Append([]byte("lost,"), []Patch{{Off: 8, Data: []byte("TWO")}}); !errors.Is(err, unix.EIO) {
		t.Fatalf("append with a failing sync: %v", err)
	}
	if err := l.Append(nil, []Patch{{Off: l.Size(), Data: []byte("x")}}); err == nil {
		t.Error("patch past the end accepted")
	}
	if err := l.Reserve(5); err != nil {
		t.Fatal(err)
	}
	if err := l.Append([]byte("four,"), nil); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l, b, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Both failures: a log whose cut could not be synced refuses writes.
	l.Fdatasync = func(int) error { return unix.EIO }
	if err := l.Append([]byte("x"), nil); err == nil || l.Broken() == nil {
		t.Fatalf("append: %v, broken: %v", err, l.Broken())
	}
	if err := l.Append([]byte("y"), nil); err == nil {
		t.Error("a broken log took an append")
	}
	l.Fdatasync = unix.Fdatasync
	const want = "HDR:ONE,TWO,three,four,"
	if string(bytes.TrimRight(b, "\x00")) != want || len(b) < len(want)+10 {
		t.Errorf("log holds %q", b)
	}
	// The zeros written ahead are no damage.
	if side, err := l.Resume(b, int64(len(want))); side != "" || err != nil || l.Size() != int64(len(want)) {
		t.Errorf("resume over zeros: %q %v, size %d", side, err, l.Size())
	}
	side, err := l.Resume(b, 12)
	if err != nil {
		t.Fatal(err)
	}
	if kept, _ := os.ReadFile(side); string(bytes.TrimRight(kept, "\x00")) != "three,four," {
		t.Errorf("tail kept aside: %q", kept)
	}
	if st, _ := os.Stat(p); st.Size() != 12 || l.Size() != 12 {
		t.Errorf("cut to %d bytes, size %d", st.Size(), l.Size())
	}
	if err := l.Rewrite([]byte("HDR:new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "HDR:new" || l.Size() != 7 {
		t.Errorf("after rewrite: %q", b)
	}
	if _, err := os.Stat(p + TempSuffix); !os.IsNotExist(err) {
		t.Error("temporary file left")
	}
}

func TestRoundsGroupsWaitingOps(t *testing.T) {
	ops := make(chan int, 100)
	for i := 0; i < 10; i++ {
		ops <- i
	}
	close(ops)
	var mu sync.Mutex
	var rounds [][]int
	Rounds(ops, 4, func(b []int) {
		mu.Lock()
		rounds = append(rounds, append([]int(nil), b...))
		mu.Unlock()
	})
	n := 0
	for i, r := range rounds {
		if len(r) > 4 {
			t.Errorf("round %d has %d ops", i, len(r))
		}
		for _, x := range r {
			if x != n {
				t.Errorf("op %d out of order", x)
			}
			n++
		}
	}
	if n != 10 || len(rounds) != 3 {
		t.Errorf("%d ops in %d rounds, want 10 in 3", n, len(rounds))
	}
}

// TestRoundsTakesOpsOfRunnableSenders: on one processor, a sender that is
// runnable when the writer takes the first op gets to send before the
// round is committed, so both ops share one round (one flush).
//
// The yield is a heuristic on the scheduler's order, not a guarantee: the
// runtime takes a goroutine from its global queue, where the yield puts
// the writer, before the local one every 61st time, and a collection or a
// timer may come between. So the scenario runs many times and must share
// the round in most (without the yield it never does: the writer commits
// [1] at once).
func TestRoundsTakesOpsOfRunnableSenders(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const trials = 50
	shared := 0
	for i := 0; i < trials; i++ {
		ops := make(chan int, 8)
		rounds := make(chan []int, 8)
		ops <- 1
		// The sender is started first, the writer second: the writer runs
		// first (the newest goroutine runs next) while the sender waits.
		go func() { ops <- 2 }()
		go Rounds(ops, 8, func(b []int) { rounds <- append([]int(nil), b...) })
		first := <-rounds
		if len(first) == 2 && first[0] == 1 && first[1] == 2 {
			shared++
		} else if len(first) == 1 {
			<-rounds // the sender's op, in a round of its own
		}
		close(ops)
	}
	if shared < trials*8/10 {
		t.Fatalf("the two ops shared the first round in %d of %d trials, want most", shared, trials)
	}
}
