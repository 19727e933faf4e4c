package frontend

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parsec-go/parsec/internal/syncbuf"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/dispatch"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/service/provider/core"
	"github.com/parsec-go/parsec/service/provider/software"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// pipeConn is one end of an in-memory connection with the peer
// credentials the kernel would report for a Unix socket.
type pipeConn struct {
	net.Conn
	peer auth.Peer
}

func (c pipeConn) PeerCredentials() (auth.Peer, error) { return c.peer, nil }

// newFrontEnd serves with the real dispatcher, core provider and a
// software provider over an on-disk key info manager.
func newFrontEnd(t *testing.T, logs io.Writer) *FrontEnd {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := kim.OpenOnDisk(filepath.Join(dir, "kim"), log)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := software.New(provider.Deps{Name: "sw", KIM: m, Log: log, Decode: func(v any) error {
		v.(*software.Config).StorePath = filepath.Join(dir, "store")
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.NewSet([]auth.Spec{{AuthType: "UnixPeerCredentials"}}, log)
	if err != nil {
		t.Fatal(err)
	}
	c := core.New([3]uint32{1, 0, 0}, []core.Backend{{Provider: sw, KIM: m}}, a, log)
	return New(Options{Auth: a, Dispatcher: dispatch.New(c), BodyLenLimit: 1 << 10, Timeout: 5 * time.Second, Log: log})
}

// roundTrip sends raw request bytes and returns the response header and
// body.
func roundTrip(t *testing.T, f *FrontEnd, req []byte) (wire.Header, []byte) {
	t.Helper()
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		f.Serve(context.Background(), pipeConn{Conn: server, peer: auth.Peer{UID: 1000}})
		close(done)
	}()
	go func() { client.Write(req) }()
	resp, err := io.ReadAll(client)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	h, err := wire.ParseHeader(resp[:wire.HeaderSize])
	if err != nil {
		t.Fatalf("response header: %v", err)
	}
	if int(h.BodyLen) != len(resp)-wire.HeaderSize {
		t.Fatalf("body_len %d, body of %d bytes", h.BodyLen, len(resp)-wire.HeaderSize)
	}
	return h, resp[wire.HeaderSize:]
}

func request(t *testing.T, p wire.ProviderID, op wire.Opcode, at wire.AuthType, msg protomsg.Message) []byte {
	t.Helper()
	body, err := protomsg.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	h := wire.Header{Provider: p, Session: 7, Opcode: op, AuthType: at, BodyLen: uint32(len(body))}
	var authBytes []byte
	if at == wire.AuthUnixPeerCredentials {
		authBytes = []byte{0xe8, 0x03, 0, 0} // uid 1000
	}
	h.AuthLen = uint16(len(authBytes))
	return append(append(h.Marshal(nil), body...), authBytes...)
}

func TestServe(t *testing.T) {
	var logs syncbuf.Buffer
	f := newFrontEnd(t, &logs)
	big := request(t, wire.ProviderCore, wire.OpPing, wire.AuthNone, &pb.PingRequest{})
	big[22] = 0xff // body_len far above the limit
	big[23] = 0xff
	cases := []struct {
		name     string
		req      []byte
		status   wire.Status
		op       wire.Opcode
		provider wire.ProviderID
	}{
		{"ping", request(t, wire.ProviderCore, wire.OpPing, wire.AuthNone, &pb.PingRequest{}), wire.StatusSuccess, wire.OpPing, wire.ProviderCore},
		{"random, anonymous", request(t, wire.ProviderMbedCrypto, wire.OpPsaGenerateRandom, wire.AuthNone, &pb.GenerateRandomRequest{Size: 4}), wire.StatusSuccess, wire.OpPsaGenerateRandom, wire.ProviderMbedCrypto},
		{"list keys, peer credentials", request(t, wire.ProviderCore, wire.OpListKeys, wire.AuthUnixPeerCredentials, &pb.ListKeysRequest{}), wire.StatusSuccess, wire.OpListKeys, wire.ProviderCore},
		{"list keys, anonymous", request(t, wire.ProviderCore, wire.OpListKeys, wire.AuthNone, &pb.ListKeysRequest{}), wire.StatusNotAuthenticated, wire.OpListKeys, wire.ProviderCore},
		{"other authenticator", request(t, wire.ProviderCore, wire.OpListKeys, wire.AuthDirect, &pb.ListKeysRequest{}), wire.StatusAuthenticatorNotRegistered, wire.OpListKeys, wire.ProviderCore},
		{"provider not configured", request(t, wire.ProviderTpm, wire.OpPsaGenerateRandom, wire.AuthNone, &pb.GenerateRandomRequest{Size: 4}), wire.StatusProviderNotRegistered, wire.OpPsaGenerateRandom, wire.ProviderTpm},
		// Unframed requests are answered as Parsec does: opcode Ping,
		// provider Core.
		{"body too large", big, wire.StatusBodySizeExceedsLimit, wire.OpPing, wire.ProviderCore},
		{"not a header", bytes.Repeat([]byte{0x11}, wire.HeaderSize), wire.StatusInvalidHeader, wire.OpPing, wire.ProviderCore},
	}
	for _, c := range cases {
		h, body := roundTrip(t, f, c.req)
		if h.Status != c.status || h.Opcode != c.op || h.Provider != c.provider {
			t.Errorf("%s: status %v opcode %v provider %v; want %v %v %v", c.name, h.Status, h.Opcode, h.Provider, c.status, c.op, c.provider)
		}
		if h.Status != wire.StatusSuccess && len(body) != 0 {
			t.Errorf("%s: a failure carries a %d-byte body", c.name, len(body))
		}
		if c.status == wire.StatusSuccess && c.op != wire.OpPing && h.Session != 7 {
			t.Errorf("%s: session %d not echoed", c.name, h.Session)
		}
	}
	// Each failure is logged once: three failed dispatches, two
	// requests that could not be framed.
	if n, m := strings.Count(logs.String(), "request failed"), strings.Count(logs.String(), "rejecting request"); n != 3 || m != 2 {
		t.Errorf("%d 'request failed' and %d 'rejecting request' lines, want 3 and 2:\n%s", n, m, logs.String())
	}
}
