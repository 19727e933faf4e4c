package server

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/parsec-go/parsec/service/listener"
)

// maxIdle is how many workers may wait for clients at once. One: a
// worker blocked in accept4 holds its P in a system call, and with every P
// held that way the runtime's monitor thread takes them back every 20 µs,
// which costs more than waking another worker for each request.
const maxIdle = 1

// maxSpare is how many workers that finished a request may wait, parked,
// to become the next accepting worker. Reusing one saves creating a
// goroutine and growing its stack for each request, and the stack it
// keeps is not freed and faulted in again around every collection; a
// parked worker costs its stack (servingStack) when the service is idle.
// With 8 clients on 2 cores, 8 spares meant no goroutine created per
// request (README, Performance).
const maxSpare = 8

// workers accept clients and serve each on the goroutine that accepted
// it. A worker that takes the last waiting place wakes a spare (or starts
// a worker) before it serves, so a long request (an RSA key generation)
// never stops the service from accepting; under load the pool grows up to
// max, the configured concurrency, and shrinks back to maxIdle accepting
// and maxSpare parked when it passes.
// Serving on the accepting goroutine saves handing the connection over:
// the thread the kernel woke for the client is the one that answers it.
type workers struct {
	s     *Server
	ctx   context.Context
	max   int
	mu    sync.Mutex
	idle  int // accepting, or woken to accept
	total int // every worker: serving, accepting or spare
	// spares are the parked workers' wake-up channels, the most recently
	// parked last (its stack is the likeliest to be in cache).
	spares []chan struct{}
	done   bool // the listener failed or closed: spares exit
	err    error
	wg     sync.WaitGroup
}

func (s *Server) runWorkers(ctx context.Context, max int) error {
	w := &workers{s: s, ctx: ctx, max: max}
	w.mu.Lock()
	w.start()
	w.mu.Unlock()
	w.wg.Wait()
	return w.err
}

// start (mu held) adds an accepting worker: a spare if one is parked,
// else a new one unless the pool is full.
func (w *workers) start() {
	if n := len(w.spares); n > 0 {
		wake := w.spares[n-1]
		w.spares = w.spares[:n-1]
		w.idle++
		wake <- struct{}{}
		return
	}
	if w.total >= w.max {
		return
	}
	w.total++
	w.idle++
	w.wg.Add(1)
	go w.work()
}

func (w *workers) work() {
	defer w.wg.Done()
	var wake chan struct{}
	growStack(0)
	var backoff time.Duration
	for {
		conn, err := w.s.ln.Accept()
		w.mu.Lock()
		if err != nil {
			if !errors.Is(err, listener.ErrClosed) && w.ctx.Err() == nil && transient(err) {
				w.mu.Unlock()
				// Out of descriptors or memory: connections in flight
				// will give some back. Keep serving rather than exiting.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				w.s.log.Warn("accepting a connection", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			w.idle--
			w.total--
			if !errors.Is(err, listener.ErrClosed) && w.ctx.Err() == nil && w.err == nil {
				w.err = err
				// The socket is unusable: stop the other workers too.
				go w.s.ln.Close()
			}
			// The parked workers would wait for ever: wake them to
			// find the listener closed too.
			w.done = true
			for _, c := range w.spares {
				w.idle++
				c <- struct{}{}
			}
			w.spares = nil
			w.mu.Unlock()
			return
		}
		backoff = 0
		w.idle--
		if w.idle == 0 {
			w.start()
		}
		w.mu.Unlock()

		w.s.serve(w.ctx, conn)

		w.mu.Lock()
		if w.idle < maxIdle {
			w.idle++
			w.mu.Unlock()
			continue
		}
		if w.done || len(w.spares) >= maxSpare {
			w.total--
			w.mu.Unlock()
			return
		}
		if wake == nil {
			wake = make(chan struct{}, 1)
		}
		w.spares = append(w.spares, wake)
		w.mu.Unlock()
		<-wake // start counted us in idle
		// A collection may have shrunk the stack while parked: grow it
		// again while it is empty.
		growStack(0)
	}
}

// servingStack is about the stack a request needs (front end, protobuf,
// provider, crypto). A goroutine starts with a small stack and doubles it
// each time a call runs past the end, copying every frame above it; on the
// serving path that was 13% of the CPU of a sign at 8 clients. Growing it
// once, while the stack is still empty, costs one copy of one frame.
// Counted with a uprobe on runtime.copystack over 5,000 requests at 8
// clients: ping, ECDSA sign and key creation need one copy per request
// with 16 KiB (8 KiB: two for sign). 16 KiB is also the largest stack the
// runtime keeps in its per-P caches; a 32 KiB stack came from the heap,
// under its lock, and went back to it for every request.
const servingStack = 16 << 10

// growStack makes the calling goroutine's stack large enough for a
// request: its frame alone needs servingStack bytes, so the runtime grows
// the stack on entry, and the grown stack stays with the goroutine.
//
//go:noinline
func growStack(i int) byte {
	var frame [servingStack - 4<<10]byte
	return frame[i]
}

// transient reports accept errors that pass once resources are freed.
func transient(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}
