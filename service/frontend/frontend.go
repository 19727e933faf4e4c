// Package frontend serves one request on one connection: read the header
// and body within the deadline, authenticate, dispatch, write the
// response, close. Parsec clients open a connection per request and the Go
// client reads to EOF, so the connection is always closed after replying.
package frontend

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/dispatch"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// Options configure a front end. A config reload builds a new FrontEnd.
type Options struct {
	// Auth holds the configured authenticators; the request header's auth
	// type picks one.
	Auth         *auth.Set
	Dispatcher   *dispatch.Dispatcher
	BodyLenLimit uint64
	// Timeout bounds reading the request and writing the response.
	Timeout time.Duration
	Log     *slog.Logger
	// LogErrorDetails adds key names and other request details to logs.
	LogErrorDetails bool
}

// Conn is the connection a request arrives on (service/listener's).
type Conn interface {
	io.ReadWriteCloser
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	// PeerCredentials is the kernel's record of the client process.
	PeerCredentials() (auth.Peer, error)
}

// FrontEnd is safe for concurrent use.
type FrontEnd struct {
	o Options
}

// New returns a front end.
func New(o Options) *FrontEnd { return &FrontEnd{o: o} }

var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// Serve handles the single request on conn and closes it. It returns how
// long the request took, from reading it to writing the answer.
func (f *FrontEnd) Serve(ctx context.Context, conn Conn) time.Duration {
	defer conn.Close()
	start := time.Now()
	conn.SetReadDeadline(start.Add(f.o.Timeout))
	br := readers.Get().(*bufio.Reader)
	br.Reset(conn)
	defer func() { br.Reset(nil); readers.Put(br) }()

	h, body, authBytes, err := f.read(br)
	if err != nil {
		// The request could not be framed: answer as Parsec does, with
		// opcode Ping and provider Core.
		f.o.Log.Debug("rejecting request", "status", wire.StatusOf(err, wire.StatusConnectionError), "err", err)
		f.write(conn, wire.Header{Opcode: wire.OpPing, Status: wire.StatusOf(err, wire.StatusConnectionError)}, nil)
		return time.Since(start)
	}
	resp := wire.Header{Provider: h.Provider, Session: h.Session, ContentType: h.AcceptType, Opcode: h.Opcode}
	res, err := f.handle(ctx, conn, h, body, authBytes)
	var out []byte
	if err == nil {
		out, err = protomsg.Marshal(res)
		if err != nil {
			err = wire.Errorf(wire.StatusSerializingBodyFailed, "encoding %v result: %v", h.Opcode, err)
		}
	}
	if err != nil {
		resp.Status = wire.StatusOf(err, wire.StatusPsaErrorGenericError)
		out = nil
		lvl := slog.LevelDebug
		if resp.Status == wire.StatusPsaErrorGenericError || resp.Status == wire.StatusKeyInfoManagerError {
			lvl = slog.LevelWarn
		}
		attrs := []any{"opcode", h.Opcode, "provider", uint8(h.Provider), "status", resp.Status}
		if f.o.LogErrorDetails || lvl == slog.LevelDebug {
			attrs = append(attrs, "err", err)
		}
		f.o.Log.Log(ctx, lvl, "request failed", attrs...)
	}
	f.write(conn, resp, out)
	d := time.Since(start)
	if err == nil {
		f.o.Log.Debug("request served", "opcode", h.Opcode, "provider", uint8(h.Provider), "duration", d)
	}
	return d
}

// read frames one request, applying Parsec's checks in Parsec's order.
func (f *FrontEnd) read(r io.Reader) (wire.Header, []byte, []byte, error) {
	h, err := wire.ReadHeader(r)
	if err != nil {
		return h, nil, nil, err
	}
	if uint64(h.BodyLen) > f.o.BodyLenLimit {
		// Answer without reading the body: it may be huge.
		return h, nil, nil, wire.Errorf(wire.StatusBodySizeExceedsLimit, "body of %d bytes exceeds the %d-byte limit", h.BodyLen, f.o.BodyLenLimit)
	}
	buf := make([]byte, int(h.BodyLen)+int(h.AuthLen))
	if _, err := io.ReadFull(r, buf); err != nil {
		return h, nil, nil, wire.Errorf(wire.StatusConnectionError, "reading body: %v", err)
	}
	if err := h.Validate(); err != nil {
		return h, nil, nil, err
	}
	return h, buf[:h.BodyLen], buf[h.BodyLen:], nil
}

func (f *FrontEnd) handle(ctx context.Context, conn Conn, h wire.Header, body, authBytes []byte) (protomsg.Message, error) {
	var app auth.Application
	switch h.AuthType {
	case wire.AuthNone:
		// Anonymous: fine for the operations that need no identity.
	default:
		a, ok := f.o.Auth.Lookup(h.AuthType)
		if !ok {
			return nil, wire.Errorf(wire.StatusAuthenticatorNotRegistered, "%v is not a configured authenticator", h.AuthType)
		}
		peer, err := conn.PeerCredentials()
		if err != nil {
			return nil, wire.Errorf(wire.StatusAuthenticationError, "reading peer credentials: %v", err)
		}
		if app, err = a.Authenticate(authBytes, peer); err != nil {
			return nil, err
		}
	}
	return f.o.Dispatcher.Dispatch(ctx, h, app, body)
}

func (f *FrontEnd) write(conn Conn, h wire.Header, body []byte) {
	// The read may have used up the deadline (a client that went silent):
	// the answer still gets its own time, one more timeout per MiB, so
	// that a large answer (ListKeys of many keys) is not cut off.
	conn.SetWriteDeadline(time.Now().Add(f.o.Timeout * time.Duration(1+len(body)>>20)))
	h.BodyLen = uint32(len(body))
	b := make([]byte, 0, wire.HeaderSize+len(body))
	b = h.Marshal(b)
	b = append(b, body...)
	if _, err := conn.Write(b); err != nil && !errors.Is(err, os.ErrClosed) {
		f.o.Log.Debug("writing response", "err", err)
	}
}
