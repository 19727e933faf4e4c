package auth

import (
	"errors"
	"testing"

	"github.com/parsec-go/parsec/wire"
)

func TestUnixPeer(t *testing.T) {
	a, err := New(Spec{AuthType: "UnixPeerCredentials", Admins: map[string]bool{"0": true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		b     []byte
		peer  uint32
		want  string
		admin bool
		fail  bool
	}{
		{"match", []byte{0xe8, 3, 0, 0}, 1000, "1000", false, false},
		{"root admin", []byte{0, 0, 0, 0}, 0, "0", true, false},
		{"mismatch", []byte{0xe8, 3, 0, 0}, 1001, "", false, true},
		{"short", []byte{0xe8, 3}, 1000, "", false, true},
		{"empty", nil, 1000, "", false, true},
	}
	for _, tt := range tests {
		app, err := a.Authenticate(tt.b, Peer{UID: tt.peer})
		if tt.fail {
			if !errors.Is(err, wire.StatusAuthenticationError) {
				t.Errorf("%s: got %v, want AuthenticationError", tt.name, err)
			}
			continue
		}
		if err != nil || app.Name != tt.want || app.Admin != tt.admin || app.AuthType != wire.AuthUnixPeerCredentials {
			t.Errorf("%s: got %+v, %v", tt.name, app, err)
		}
	}
}

func TestDirect(t *testing.T) {
	a, _ := New(Spec{AuthType: "Direct", Admins: map[string]bool{"boss": true}}, nil)
	if app, err := a.Authenticate([]byte("boss"), Peer{}); err != nil || !app.Admin || app.Name != "boss" {
		t.Errorf("boss: %+v %v", app, err)
	}
	if app, err := a.Authenticate([]byte("app"), Peer{}); err != nil || app.Admin {
		t.Errorf("app: %+v %v", app, err)
	}
	for _, bad := range [][]byte{nil, {0xff, 0xfe}} {
		if _, err := a.Authenticate(bad, Peer{}); !errors.Is(err, wire.StatusAuthenticationError) {
			t.Errorf("%x: got %v", bad, err)
		}
	}
}
