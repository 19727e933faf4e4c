package software

import (
	"fmt"
	"sync"
	"testing"

	"github.com/parsec-go/parsec/psa"
)

// TestCreateAndRemoveWaitForASync checks the group commit's promise: a
// creation (or removal) returns only after an fdatasync of the log that
// started once its record (or its destroy record and zeros) was written,
// so what it acknowledges is durable. Each fdatasync records the live key
// ids the log file holds when it starts; every id create returned must be
// in the snapshot of a run that started after the call, and every
// removed one absent from a later run's snapshot.
func TestCreateAndRemoveWaitForASync(t *testing.T) {
	e := newEnv(t)
	s := e.p.store
	real := s.wal.Fdatasync
	var mu sync.Mutex
	var runs []map[string]bool
	s.wal.Fdatasync = func(fd int) error {
		st, _, err := readKeyLog(s.dir)
		if err != nil {
			return err
		}
		snap := map[string]bool{}
		for id := range st.index {
			snap[fmt.Sprintf("%08x", id)] = true
		}
		mu.Lock()
		runs = append(runs, snap)
		mu.Unlock()
		return real(fd)
	}
	// covered reports whether a run that started at or after index from
	// saw the file (want true) or did not (want false).
	covered := func(from int, name string, want bool) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, snap := range runs[from:] {
			if snap[name] == want {
				return true
			}
		}
		return false
	}
	rec := encodeRecord(psa.Attributes{Type: psa.KeyTypeRawData, Bits: 8}, []byte{1})
	var wg sync.WaitGroup
	errs := make(chan error, 128)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				mu.Lock()
				from := len(runs)
				mu.Unlock()
				id, err := s.create(rec)
				if err != nil {
					errs <- err
					return
				}
				name := fmt.Sprintf("%08x", id)
				if !covered(from, name, true) {
					errs <- fmt.Errorf("create of %s returned before a sync that saw it", name)
				}
				if i%2 == 0 {
					continue
				}
				mu.Lock()
				from = len(runs)
				mu.Unlock()
				if err := s.remove(id); err != nil {
					errs <- err
					return
				}
				if !covered(from, name, false) {
					errs <- fmt.Errorf("remove of %s returned before a sync that saw it gone", name)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d sync runs for 64 creations and 32 removals", len(runs))
}
