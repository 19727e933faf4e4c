package durable

import "sync"

// Group shares one run of a sync function among every caller waiting at
// the same time (group commit): a caller that arrives while a sync is
// running joins the next one, which starts as soon as the running one
// ends. Each caller's writes happened before its call, so the sync that
// starts after the call covers them.
type Group struct {
	// Sync makes everything written before it started durable.
	Sync func() error

	mu      sync.Mutex
	running bool
	next    *groupRun
}

type groupRun struct {
	done chan struct{}
	err  error
}

// Do returns once a run of Sync that started after the call has ended,
// with that run's error.
func (g *Group) Do() error {
	g.mu.Lock()
	if g.next == nil {
		g.next = &groupRun{done: make(chan struct{})}
	}
	r := g.next
	if g.running {
		g.mu.Unlock()
		<-r.done
		return r.err
	}
	// Leader: run batches until nobody is waiting.
	g.running = true
	for g.next != nil {
		b := g.next
		g.next = nil
		g.mu.Unlock()
		b.err = g.Sync()
		close(b.done)
		g.mu.Lock()
	}
	g.running = false
	g.mu.Unlock()
	return r.err
}
