package emu

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/parsec-go/parsec/internal/tee"
)

// fdReader reads a Unix socket and keeps the file descriptors that arrive
// with the bytes (the memfds of SHM_ALLOC), in order.
type fdReader struct {
	c   *net.UnixConn
	oob []byte
	mu  sync.Mutex
	fds []int
}

func (r *fdReader) Read(p []byte) (int, error) {
	n, oobn, _, _, err := r.c.ReadMsgUnix(p, r.oob)
	if oobn > 0 {
		if msgs, perr := unix.ParseSocketControlMessage(r.oob[:oobn]); perr == nil {
			for _, m := range msgs {
				if fds, ferr := unix.ParseUnixRights(&m); ferr == nil {
					r.mu.Lock()
					r.fds = append(r.fds, fds...)
					r.mu.Unlock()
				}
			}
		}
	}
	return n, err
}

func (r *fdReader) take() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.fds
	r.fds = nil
	return f
}

// Serve accepts connections until l is closed.
func (w *World) Serve(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go w.ServeConn(c)
	}
}

// ServeConn serves one client stream until it closes: a Unix socket
// connection (memfds possible) or any byte stream (inline buffers). When
// it ends, everything the client held is released, as when a process that
// has /dev/teeN open exits.
func (w *World) ServeConn(rw io.ReadWriteCloser) {
	s := &connState{w: w, log: w.log, contexts: map[uint32]*teeCtx{}, closed: make(chan struct{})}
	var r io.Reader = rw
	var fr *fdReader
	if uc, ok := rw.(*net.UnixConn); ok {
		fr = &fdReader{c: uc, oob: make([]byte, unix.CmsgSpace(4*16))}
		r = fr
	}
	// The reader runs on its own so that a call that never completes
	// (fault injection) is released when the client goes away.
	frames := make(chan *tee.Frame)
	stop := make(chan struct{})
	go func() {
		defer close(s.closed)
		fread := tee.NewFrameReader(r)
		defer func() {
			if fread.Skipped > 0 {
				w.log.Warn("skipped bytes that were not frames", "bytes", fread.Skipped)
			}
		}()
		for {
			f, err := fread.Read()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
					w.log.Info("client stream ended", "err", err)
				}
				return
			}
			if f.Type&tee.MsgResponse != 0 {
				continue
			}
			select {
			case frames <- f:
			case <-stop:
				return
			}
		}
	}()
	defer func() {
		close(stop)
		rw.Close()
		<-s.closed
		s.reset()
		if fr != nil {
			for _, fd := range fr.take() {
				unix.Close(fd)
			}
		}
	}()
	for {
		select {
		case f := <-frames:
			if fr != nil {
				s.fds = append(s.fds, fr.take()...)
			}
			resp := s.handle(f, fr != nil)
			b, err := resp.Marshal()
			if err != nil {
				w.log.Error("cannot encode a response", "err", err)
				return
			}
			if _, err := rw.Write(b); err != nil {
				return
			}
		case <-s.closed:
			return
		}
	}
}

func (s *connState) handle(f *tee.Frame, unixConn bool) *tee.Frame {
	r := &tee.Frame{Seq: f.Seq, Type: f.Type | tee.MsgResponse, Ctx: f.Ctx}
	switch f.Type {
	case tee.MsgHello:
		s.reset()
		r.Code = tee.EmuProtocolVersion
		if f.Code != tee.EmuProtocolVersion {
			r.Errno = int32(syscall.EPROTONOSUPPORT)
			return r
		}
		var flags uint32
		if len(f.Arg) >= 4 {
			flags = le.Uint32(f.Arg)
		}
		s.memfd = unixConn && flags&tee.HelloMemfd != 0
		var accepted uint32
		if s.memfd {
			accepted = tee.HelloMemfd
		}
		r.Arg = le.AppendUint32(le.AppendUint32(nil, uint32(len(s.w.devices))), accepted)
	case tee.MsgOpen:
		ctx, e := s.open(f.Code)
		r.Ctx, r.Errno = ctx, int32(e)
	case tee.MsgClose:
		r.Errno = int32(s.close(f.Ctx))
	case tee.MsgShmFree:
		r.Errno = int32(s.shmFree(f.Ctx, int32(f.Code)))
	case tee.MsgIoctl:
		res := s.ioctl(f.Ctx, f.Code, f.Arg, f.Data)
		r.Code = f.Code
		r.Errno, r.Diag = int32(res.errno), int32(res.diag)
		if res.errno == 0 {
			r.Arg, r.Data = res.arg, res.data
		}
	default:
		r.Errno = int32(syscall.ENOSYS)
	}
	return r
}
