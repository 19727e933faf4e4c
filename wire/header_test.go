package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

// The Ping request from the protocol description, byte by byte.
const pingHex = "10a7c05e" + "1e00" + "01" + "00" + "0000" + "00" + "0000000000000000" +
	"00" + "00" + "00" + "00000000" + "0000" + "01000000" + "0000" + "00" + "00"

func TestMarshalPing(t *testing.T) {
	h := Header{Opcode: OpPing}
	got := hex.EncodeToString(h.Marshal(nil))
	if got != pingHex {
		t.Fatalf("got  %s\nwant %s", got, pingHex)
	}
}

func TestRoundTrip(t *testing.T) {
	h := Header{Flags: 0, Provider: ProviderTpm, Session: 0x0102030405060708, AuthType: AuthUnixPeerCredentials,
		BodyLen: 77, AuthLen: 4, Opcode: OpPsaSignHash, Status: StatusPsaErrorDoesNotExist}
	b := h.Marshal(nil)
	if len(b) != HeaderSize {
		t.Fatalf("len %d", len(b))
	}
	got, err := ParseHeader(b)
	if err != nil || got != h {
		t.Fatalf("got %+v, %v", got, err)
	}
	got, err = ReadHeader(bytes.NewReader(b))
	if err != nil || got != h {
		t.Fatalf("ReadHeader got %+v, %v", got, err)
	}
}

func mutate(i int, v byte) []byte {
	b, _ := hex.DecodeString(pingHex)
	b[i] = v
	return b
}

func TestFramingErrors(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want Status
	}{
		{"magic", mutate(0, 0x11), StatusInvalidHeader},
		{"hdr size", mutate(4, 0x1d), StatusInvalidHeader},
		{"hdr size past end", mutate(4, 0x1f), StatusConnectionError},
		{"major", mutate(6, 2), StatusWireProtocolVersionNotSupported},
		{"minor", mutate(7, 1), StatusWireProtocolVersionNotSupported},
		{"reserved1", mutate(34, 1), StatusInvalidHeader},
		{"reserved2", mutate(35, 1), StatusInvalidHeader},
		{"truncated", mustHex(pingHex)[:20], StatusConnectionError},
	}
	for _, tt := range tests {
		_, err := ReadHeader(bytes.NewReader(tt.b))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestBadMagicAnsweredAfterFourBytes(t *testing.T) {
	// A reader that fails the test if more than 4 bytes are asked for.
	r := io.MultiReader(bytes.NewReader([]byte{1, 2, 3, 4}), failReader{t})
	if _, err := ReadHeader(r); !errors.Is(err, StatusInvalidHeader) {
		t.Fatal(err)
	}
}

type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Fatal("read past the magic")
	return 0, io.EOF
}

func TestWrongSizeConsumesDeclaredBytes(t *testing.T) {
	b := mustHex(pingHex)
	b[4], b[5] = 0x20, 0 // 32 instead of 30
	r := bytes.NewReader(append(b, 0xaa, 0xbb))
	if _, err := ReadHeader(r); !errors.Is(err, StatusInvalidHeader) {
		t.Fatal(err)
	}
	if r.Len() != 38-6-32 {
		t.Fatalf("%d bytes left unread", r.Len())
	}
}

func TestValidateOrder(t *testing.T) {
	tests := []struct {
		h    Header
		want Status
	}{
		{Header{ContentType: 1, AcceptType: 1, AuthType: 9, Opcode: 0x99, Provider: 9}, StatusContentTypeNotSupported},
		{Header{AcceptType: 1, AuthType: 9, Opcode: 0x99, Provider: 9}, StatusAcceptTypeNotSupported},
		{Header{AuthType: 9, Opcode: 0x99, Provider: 9}, StatusAuthenticatorDoesNotExist},
		{Header{Opcode: 0x1D, Provider: 9}, StatusOpcodeDoesNotExist},
		{Header{Opcode: OpPing, Provider: 6}, StatusProviderDoesNotExist},
		{Header{Opcode: OpPing, AuthType: AuthJwt}, StatusSuccess},
	}
	for i, tt := range tests {
		if got := StatusOf(tt.h.Validate(), 999); got != tt.want {
			t.Errorf("case %d: got %v, want %v", i, got, tt.want)
		}
	}
}

func TestStatusNamesAndErrors(t *testing.T) {
	if StatusPsaErrorDataInvalid.String() != "PsaErrorDataInvalid" || Status(1144).Valid() {
		t.Error("status table")
	}
	n := 0
	for s := Status(0); s < 2000; s++ {
		if s.Valid() {
			n++
			if strings.HasPrefix(s.String(), "Status(") || s.Description() == "unknown status code" {
				t.Errorf("%d lacks a name or description", s)
			}
		}
	}
	if n != 44 {
		t.Errorf("%d statuses defined, want 44", n)
	}
	err := Errorf(StatusPsaErrorNotPermitted, "policy")
	if !errors.Is(err, StatusPsaErrorNotPermitted) || errors.Is(err, StatusPsaErrorNotSupported) {
		t.Error("errors.Is on status")
	}
	if StatusOf(io.EOF, StatusConnectionError) != StatusConnectionError || StatusOf(nil, 1) != StatusSuccess {
		t.Error("StatusOf fallback")
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzReadHeader: any byte string either parses into a header that
// re-marshals to the same 36 bytes, or fails with a defined status.
func FuzzReadHeader(f *testing.F) {
	f.Add(mustHex(pingHex))
	f.Add(mutate(4, 0xff))
	f.Add([]byte{0x10, 0xa7})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ReadHeader(bytes.NewReader(b))
		if err != nil {
			if s := StatusOf(err, 999); !s.Valid() {
				t.Fatalf("undefined status from %x: %v", b, err)
			}
			return
		}
		out := h.Marshal(nil)
		// Flags/status round-trip; only the header bytes are compared.
		if !bytes.Equal(out, b[:HeaderSize]) {
			t.Fatalf("re-marshal differs:\n%x\n%x", out, b[:HeaderSize])
		}
	})
}
