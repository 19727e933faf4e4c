package server

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/parsec-go/parsec/service/provider/software"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// The in-process request path, measured from a client's point of view:
// one connection per request, as every Parsec client does.
// Compare runs with benchstat; scripts/bench.sh compares whole services.

func startServer(b *testing.B) string {
	return testServer(b, "UnixPeerCredentials", software.New, io.Discard).SocketPath()
}

func request(provider wire.ProviderID, op wire.Opcode, m protomsg.Message, authed bool) []byte {
	body, _ := protomsg.Marshal(m)
	h := wire.Header{Provider: provider, Opcode: op, BodyLen: uint32(len(body))}
	var auth []byte
	if authed {
		h.AuthType, h.AuthLen = wire.AuthUnixPeerCredentials, 4
		auth = binary.LittleEndian.AppendUint32(nil, uint32(os.Getuid()))
	}
	return append(append(h.Marshal(nil), body...), auth...)
}

func roundTrip(b *testing.B, socket string, req []byte, buf []byte) {
	conn, err := net.Dial("unix", socket)
	if err != nil {
		b.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(req); err != nil {
		b.Fatal(err)
	}
	n, err := io.ReadAtLeast(conn, buf, wire.HeaderSize)
	conn.Close()
	if err != nil {
		b.Fatal(err)
	}
	h, err := wire.ParseHeader(buf[:n])
	if err != nil || h.Status != wire.StatusSuccess {
		b.Fatalf("status %v, %v", h.Status, err)
	}
}

func benchOp(b *testing.B, req []byte) {
	socket := startServer(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 4096)
		for pb.Next() {
			roundTrip(b, socket, req, buf)
		}
	})
}

func BenchmarkPing(b *testing.B) {
	benchOp(b, request(0, wire.OpPing, &pb.PingRequest{}, false))
}

func BenchmarkGenerateRandom(b *testing.B) {
	benchOp(b, request(1, wire.OpPsaGenerateRandom, &pb.GenerateRandomRequest{Size: 32}, false))
}

func BenchmarkListKeysAuthenticated(b *testing.B) {
	benchOp(b, request(0, wire.OpListKeys, &pb.ListKeysRequest{}, true))
}
