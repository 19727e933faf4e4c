// Package gcnotify calls a function after each garbage collection cycle.
// The runtime tuners use it as their clock: a service that allocates is
// busy and collects, an idle one does not, so a tuner driven by the
// collector costs nothing while the service idles (no timer wakes an
// embedded board from its sleep states).
package gcnotify

import "runtime"

// sentinel is garbage from birth; its finalizer runs once per collection
// cycle. Large enough to escape the tiny allocator, whose blocks may
// outlive their objects and delay the finalizer.
type sentinel struct {
	_ *int
	_ [24]byte
}

// Each calls f on the finalizer goroutine after every collection cycle,
// until f returns false. f must be quick: it delays other finalizers.
func Each(f func() bool) {
	s := &sentinel{}
	runtime.SetFinalizer(s, func(*sentinel) {
		if f() {
			Each(f)
		}
	})
}
