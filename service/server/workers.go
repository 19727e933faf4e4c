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
// which costs more than the goroutine each request starts instead.
const maxIdle = 1

// workers accept clients and serve each on the goroutine that accepted
// it. A worker that takes the last waiting place starts another before it
// serves, so a long request (an RSA key generation) never stops the
// service from accepting; under load the pool grows up to max, the
// configured concurrency, and shrinks back to maxIdle when it passes.
// Serving on the accepting goroutine saves handing the connection over:
// the thread the kernel woke for the client is the one that answers it.
type workers struct {
	s     *Server
	ctx   context.Context
	max   int
	mu    sync.Mutex
	idle  int
	total int
	err   error
	wg    sync.WaitGroup
}

func (s *Server) runWorkers(ctx context.Context, max int) error {
	w := &workers{s: s, ctx: ctx, max: max}
	w.mu.Lock()
	w.start()
	w.mu.Unlock()
	w.wg.Wait()
	return w.err
}

// start (mu held) adds a waiting worker unless the pool is full.
func (w *workers) start() {
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
		if w.idle >= maxIdle {
			w.total--
			w.mu.Unlock()
			return
		}
		w.idle++
		w.mu.Unlock()
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
// runtime keeps in its per-thread caches; a 32 KiB stack came from the
// heap, under its lock, and went back to it for every request.
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
