package main

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/parsec-go/parsec/wire"
)

// TestMalformedKinds checks that every request the burst sends is broken in
// the way its name says, so the in-guest burst test cannot quietly turn into
// a stream of valid requests.
func TestMalformedKinds(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	tests := []struct {
		kind int
		name string
		// check reports why data is not a complete valid request ("" if it is).
		check func(data []byte) string
	}{
		{1, "bad magic", framingRejects},
		{2, "wrong header size", framingRejects},
		{3, "wire version 9.0", framingRejects},
		{4, "body length 4 GiB", bodyLongerThanSent},
		{5, "unknown opcode", validateRejects},
		{6, "unknown provider", validateRejects},
		{7, "truncated body", bodyLongerThanSent},
		{8, "garbage body and auth", garbageBody},
		{9, "truncated header", framingRejects},
		{10, "auth length 64 KiB, absent", authLongerThanSent},
		{11, "reserved bytes set", framingRejects},
		{12, "content type 7", validateRejects},
		{13, "connect and close", func(d []byte) string {
			if len(d) == 0 {
				return "empty"
			}
			return ""
		}},
	}
	seen := map[int]bool{}
	for _, tc := range tests {
		seen[tc.kind] = true
		data, name := malformed(tc.kind, r)
		if name != tc.name {
			t.Errorf("kind %d is %q, want %q", tc.kind, name, tc.name)
			continue
		}
		if why := tc.check(data); why == "" {
			t.Errorf("kind %d (%s) is a valid request", tc.kind, name)
		}
	}
	for k := 1; k < malformedKinds; k++ {
		if !seen[k] {
			t.Errorf("kind %d has no check here", k)
		}
	}
	// Random bytes: a valid magic by chance is the only way through.
	for i := 0; i < 200; i++ {
		data, _ := malformed(0, r)
		if len(data) >= 4 && bytes.Equal(data[:4], []byte{0x10, 0xa7, 0xc0, 0x5e}) {
			t.Fatalf("random request %d starts with the Parsec magic", i)
		}
	}
}

func framingRejects(d []byte) string {
	if _, err := wire.ParseHeader(d); err != nil {
		return err.Error()
	}
	return ""
}

func validateRejects(d []byte) string {
	h, err := wire.ParseHeader(d)
	if err != nil {
		return err.Error()
	}
	if err := h.Validate(); err != nil {
		return err.Error()
	}
	return ""
}

func bodyLongerThanSent(d []byte) string {
	h, err := wire.ParseHeader(d)
	if err != nil {
		return err.Error()
	}
	if int(h.BodyLen) > len(d)-wire.HeaderSize {
		return "body shorter than announced"
	}
	return ""
}

func authLongerThanSent(d []byte) string {
	h, err := wire.ParseHeader(d)
	if err != nil {
		return err.Error()
	}
	if int(h.BodyLen)+int(h.AuthLen) > len(d)-wire.HeaderSize {
		return "auth shorter than announced"
	}
	return ""
}

// garbageBody: a complete frame whose 3-byte peer-credential auth field
// cannot be a uid (the authenticator wants 4 bytes).
func garbageBody(d []byte) string {
	h, err := wire.ParseHeader(d)
	if err != nil {
		return err.Error()
	}
	if h.AuthType == wire.AuthUnixPeerCredentials && h.AuthLen != 4 {
		return "peer-credential auth is not 4 bytes"
	}
	return ""
}
