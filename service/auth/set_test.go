package auth

import (
	"errors"
	"testing"

	"github.com/parsec-go/parsec/wire"
)

func TestSet(t *testing.T) {
	s, err := NewSet([]Spec{
		{AuthType: "Direct", Admins: map[string]bool{"boss": true}},
		{AuthType: "UnixPeerCredentials", Admins: map[string]bool{"0": true}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var order []wire.AuthType
	for _, a := range s.List() {
		order = append(order, a.Type())
	}
	if len(order) != 2 || order[0] != wire.AuthDirect || order[1] != wire.AuthUnixPeerCredentials {
		t.Errorf("order %v", order)
	}
	// Admins are per authenticator: "0" is an admin only as a uid.
	d, _ := s.Lookup(wire.AuthDirect)
	if app, err := d.Authenticate([]byte("0"), Peer{}); err != nil || app.Admin {
		t.Errorf("Direct 0: %+v %v", app, err)
	}
	u, _ := s.Lookup(wire.AuthUnixPeerCredentials)
	if app, err := u.Authenticate([]byte{0, 0, 0, 0}, Peer{UID: 0}); err != nil || !app.Admin {
		t.Errorf("uid 0: %+v %v", app, err)
	}
	if _, ok := s.Lookup(wire.AuthJwtSvid); ok {
		t.Error("JwtSvid found but not configured")
	}
	if _, err := NewSet([]Spec{{AuthType: "Direct"}, {AuthType: "Direct"}}, nil); err == nil {
		t.Error("the same auth type twice accepted")
	}
	if _, err := NewSet(nil, nil); err == nil {
		t.Error("no authenticator accepted")
	}
	_, err = NewSet([]Spec{{AuthType: "Direct"}, {AuthType: "Kerberos"}}, nil)
	if !errors.Is(err, wire.StatusAuthenticatorNotRegistered) {
		t.Errorf("unknown type: %v", err)
	}
	if !JwtSvidBuilt {
		_, err := New(Spec{AuthType: "JwtSvid", WorkloadEndpoint: "unix:///x"}, nil)
		if !errors.Is(err, wire.StatusAuthenticatorNotRegistered) {
			t.Errorf("JwtSvid without the build tag: %v", err)
		}
	}
}
