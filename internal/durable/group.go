package durable

import "sync"

// Group shares one run of a sync function among every caller waiting at
// the same time (group commit): a caller that arrives while a sync is
// running joins the next one, which one of its callers starts as soon as
// the running one ends. Each caller's writes happened before its call, so
// the run that starts after the call covers them. The zero Group (with
// Sync set) is ready to use.
type Group struct {
	// Sync makes everything written before it started durable.
	Sync func() error

	mu      sync.Mutex
	cond    *sync.Cond
	running bool
	next    *groupRun
}

type groupRun struct {
	ended bool
	err   error
}

// Do returns once a run of Sync that started after the call has ended,
// with that run's error.
func (g *Group) Do() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cond == nil {
		g.cond = sync.NewCond(&g.mu)
	}
	if g.next == nil {
		g.next = &groupRun{}
	}
	r := g.next
	for g.running && !r.ended {
		g.cond.Wait()
	}
	if r.ended {
		return r.err
	}
	// Nothing running and our run not started: lead it. Callers arriving
	// from now on form the next run, led by one of them when this ends.
	g.running = true
	g.next = nil
	g.mu.Unlock()
	err := g.Sync()
	g.mu.Lock()
	r.ended, r.err = true, err
	g.running = false
	g.cond.Broadcast()
	return err
}
