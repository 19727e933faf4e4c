package link

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

func TestKeyNameRoundTrip(t *testing.T) {
	for _, id := range []uint32{0, 1, 0xaf423e66, 0xffffffff} {
		got, err := ParseKeyName(KeyName(id))
		if err != nil || got != id {
			t.Errorf("%#x: got %#x, %v", id, got, err)
		}
	}
	// The name spells CKA_ID: the id big-endian.
	if n := KeyName(0xaf423e66); n != "cka_id:af423e66" {
		t.Errorf("KeyName = %q", n)
	}
	for _, bad := range []string{"", "key", "cka_id:", "cka_id:af423e6", "cka_id:af423e666", "cka_id:zz423e66", "CKA_ID:af423e66"} {
		if _, err := ParseKeyName(bad); !errors.Is(err, wire.StatusPsaErrorInvalidArgument) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func request(h wire.Header, body []byte) []byte {
	h.BodyLen = uint32(len(body))
	return append(h.Marshal(nil), body...)
}

func TestReadRequestRefuses(t *testing.T) {
	sign, _ := protomsg.Marshal(&pb.GenerateRandomRequest{Size: 4})
	ok := wire.Header{Provider: wire.ProviderPkcs11, Opcode: wire.OpPsaGenerateRandom}
	for _, c := range []struct {
		name string
		in   []byte
		want wire.Status
	}{
		{"accepted", request(ok, sign), wire.StatusSuccess},
		{"other provider", request(wire.Header{Provider: wire.ProviderMbedCrypto, Opcode: wire.OpPsaGenerateRandom}, sign), wire.StatusWrongProviderID},
		{"authenticated", request(wire.Header{Provider: wire.ProviderPkcs11, Opcode: wire.OpPsaGenerateRandom, AuthType: wire.AuthDirect}, sign), wire.StatusAuthenticatorNotRegistered},
		{"unserved opcode", request(wire.Header{Provider: wire.ProviderPkcs11, Opcode: wire.OpPsaHashCompute}, nil), wire.StatusPsaErrorNotSupported},
		{"admin opcode", request(wire.Header{Provider: wire.ProviderCore, Opcode: wire.OpDeleteClient}, nil), wire.StatusWrongProviderID},
		{"bad body", request(ok, []byte{0xff, 0xff}), wire.StatusDeserializingBodyFailed},
		{"truncated header", ok.Marshal(nil)[:wire.HeaderSize-16], wire.StatusConnectionError},
		{"short", []byte{0x10, 0xa7, 0xc0}, wire.StatusConnectionError},
	} {
		_, _, err := ReadRequest(bytes.NewReader(c.in))
		if got := wire.StatusOf(err, 9999); got != c.want {
			t.Errorf("%s: status %v (%v), want %v", c.name, got, err, c.want)
		}
	}
	big := ok
	big.BodyLen = MaxBody + 1
	if _, _, err := ReadRequest(bytes.NewReader(big.Marshal(nil))); !errors.Is(err, wire.StatusBodySizeExceedsLimit) {
		t.Errorf("body over the limit: %v", err)
	}
}

// echo is a backend that answers random requests with the size asked and
// fails everything else with the key id it was given.
type echo struct{ block chan struct{} }

func (e echo) Execute(ctx context.Context, op wire.Opcode, req protomsg.Message) (protomsg.Message, error) {
	if e.block != nil {
		select {
		case <-e.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	switch r := req.(type) {
	case *pb.GenerateRandomRequest:
		return &pb.GenerateRandomResult{RandomBytes: make([]byte, r.GetSize())}, nil
	case *pb.ExportPublicKeyRequest:
		id, err := ParseKeyName(r.GetKeyName())
		if err != nil {
			return nil, err
		}
		return &pb.ExportPublicKeyResult{Data: []byte(KeyName(id))}, nil
	}
	return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "no")
}

func serve(t *testing.T, b Backend) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go Serve(context.Background(), c, b, 5*time.Second)
		}
	}()
	return sock
}

func TestCallAndServe(t *testing.T) {
	sock := serve(t, echo{})
	ctx := context.Background()
	res, err := Call(ctx, sock, wire.OpPsaGenerateRandom, &pb.GenerateRandomRequest{Size: 7})
	if err != nil || len(res.(*pb.GenerateRandomResult).GetRandomBytes()) != 7 {
		t.Fatalf("random: %v %v", res, err)
	}
	res, err = Call(ctx, sock, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: KeyName(42)})
	if err != nil || string(res.(*pb.ExportPublicKeyResult).GetData()) != KeyName(42) {
		t.Fatalf("export: %v %v", res, err)
	}
	// The co-server's status comes back as is.
	_, err = Call(ctx, sock, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: "alice's key"})
	if !errors.Is(err, wire.StatusPsaErrorInvalidArgument) {
		t.Fatalf("bad key name: %v", err)
	}
	// No co-server: communication failure, at once.
	_, err = Call(ctx, filepath.Join(t.TempDir(), "none"), wire.OpPsaGenerateRandom, &pb.GenerateRandomRequest{Size: 1})
	if !errors.Is(err, wire.StatusPsaErrorCommunicationFailure) {
		t.Fatalf("no co-server: %v", err)
	}
}

func TestCallDeadline(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	sock := serve(t, echo{block: block})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := Call(ctx, sock, wire.OpPsaGenerateRandom, &pb.GenerateRandomRequest{Size: 1})
	if !errors.Is(err, wire.StatusPsaErrorCommunicationFailure) {
		t.Fatalf("a stuck co-server: %v", err)
	}
}

// FuzzReadRequest: the co-server trusts nothing from its socket. Any byte
// string is either refused with a defined status or decodes to a request
// that Serve answers; a key name in it is either a token id or refused.
func FuzzReadRequest(f *testing.F) {
	body, _ := protomsg.Marshal(&pb.ExportPublicKeyRequest{KeyName: KeyName(0xaf423e66)})
	f.Add(request(wire.Header{Provider: wire.ProviderPkcs11, Opcode: wire.OpPsaExportPublicKey}, body))
	body, _ = protomsg.Marshal(&pb.GenerateRandomRequest{Size: 16})
	f.Add(request(wire.Header{Provider: wire.ProviderPkcs11, Opcode: wire.OpPsaGenerateRandom}, body))
	f.Add(request(wire.Header{Provider: wire.ProviderCore, Opcode: wire.OpPing}, nil))
	f.Add([]byte{0x10, 0xa7, 0xc0, 0x5e})
	f.Fuzz(func(t *testing.T, in []byte) {
		h, req, err := ReadRequest(bytes.NewReader(in))
		if err != nil {
			if s := wire.StatusOf(err, 9999); !s.Valid() {
				t.Fatalf("undefined status for %x: %v", in, err)
			}
			return
		}
		if req == nil || !served(h.Opcode) {
			t.Fatalf("accepted %v without a request", h.Opcode)
		}
		// Serve the same bytes end to end: an answer always comes back.
		a, b := net.Pipe()
		go a.Write(in)
		answered := make(chan wire.Status, 1)
		go func() {
			h, err := wire.ReadHeader(a)
			if err != nil {
				t.Errorf("no answer to %x: %v", in, err)
			}
			answered <- h.Status
			io.Copy(io.Discard, a)
		}()
		Serve(context.Background(), b, echo{}, time.Second)
		<-answered
		a.Close()
	})
}
