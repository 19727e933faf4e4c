package gcnotify

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestEachRunsAfterCyclesUntilFalse(t *testing.T) {
	var calls atomic.Int32
	done := make(chan struct{})
	Each(func() bool {
		if calls.Add(1) == 3 {
			close(done)
			return false
		}
		return true
	})
	deadline := time.After(10 * time.Second)
	for {
		runtime.GC()
		select {
		case <-done:
			// Stopped: more cycles must not call f again.
			for i := 0; i < 5; i++ {
				runtime.GC()
				time.Sleep(time.Millisecond)
			}
			if n := calls.Load(); n != 3 {
				t.Fatalf("f called %d times, want 3 (it returned false on the third)", n)
			}
			return
		case <-deadline:
			t.Fatalf("f called %d times in 10 s of collections, want 3", calls.Load())
		case <-time.After(time.Millisecond):
		}
	}
}
