package auth

import (
	"encoding/binary"
	"log/slog"
	"strconv"
	"unicode/utf8"

	"github.com/parsec-go/parsec/wire"
)

// Peer is what the kernel says about the connected process (SO_PEERCRED).
type Peer struct {
	UID, GID uint32
	PID      int32
}

// Authenticator turns a request's auth bytes into an application.
type Authenticator interface {
	// Type is the auth type requests must carry to use it.
	Type() wire.AuthType
	// Description is reported by ListAuthenticators.
	Description() string
	Authenticate(authBytes []byte, peer Peer) (Application, error)
}

// Spec is one configured authenticator: the config's auth_type name, its
// admins and the keys of its kind.
type Spec struct {
	AuthType string
	Admins   map[string]bool
	// WorkloadEndpoint is the SPIFFE Workload API address (JwtSvid).
	WorkloadEndpoint string
}

// New returns the authenticator spec describes. One that holds resources
// (JwtSvid's Workload API watch) also implements io.Closer.
func New(spec Spec, log *slog.Logger) (Authenticator, error) {
	switch spec.AuthType {
	case "Direct":
		return direct{admins: spec.Admins}, nil
	case "UnixPeerCredentials":
		return unixPeer{admins: spec.Admins}, nil
	case "JwtSvid":
		return newJwtSvid(spec, log)
	}
	return nil, wire.Errorf(wire.StatusAuthenticatorNotRegistered, "authenticator %q is not available", spec.AuthType)
}

// direct trusts the application name the client sends. For development
// and for deployments where the socket itself is the access control.
type direct struct{ admins map[string]bool }

func (direct) Type() wire.AuthType { return wire.AuthDirect }
func (direct) Description() string {
	return "Direct authentication, trusting the application name the client states"
}

func (d direct) Authenticate(b []byte, _ Peer) (Application, error) {
	if len(b) == 0 {
		return Application{}, wire.Errorf(wire.StatusAuthenticationError, "direct authentication needs an application name")
	}
	if !utf8.Valid(b) {
		return Application{}, wire.Errorf(wire.StatusAuthenticationError, "application name is not UTF-8")
	}
	name := string(b)
	return Application{Name: name, AuthType: wire.AuthDirect, Admin: d.admins[name]}, nil
}

// unixPeer checks the uid the client states against the kernel's view of
// the connection; the application is the decimal uid.
type unixPeer struct{ admins map[string]bool }

func (unixPeer) Type() wire.AuthType { return wire.AuthUnixPeerCredentials }
func (unixPeer) Description() string {
	return "Uses Unix peer credentials to authenticate the client. Verifies that the self-declared Unix user identifier (UID) in the request's authentication header matches that which is found from the peer credentials."
}

func (u unixPeer) Authenticate(b []byte, peer Peer) (Application, error) {
	if len(b) != 4 {
		return Application{}, wire.Errorf(wire.StatusAuthenticationError, "unix peer credentials carry a 4-byte uid, got %d bytes", len(b))
	}
	uid := binary.LittleEndian.Uint32(b)
	if uid != peer.UID {
		return Application{}, wire.Errorf(wire.StatusAuthenticationError, "declared uid %d does not match peer uid %d", uid, peer.UID)
	}
	name := strconv.FormatUint(uint64(uid), 10)
	return Application{Name: name, AuthType: wire.AuthUnixPeerCredentials, Admin: u.admins[name]}, nil
}
