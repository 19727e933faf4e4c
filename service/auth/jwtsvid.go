package auth

import (
	"unicode/utf8"

	"github.com/parsec-go/parsec/wire"
)

// JWTSVIDAudience is the audience a JWT-SVID must name to be accepted, the
// one Parsec clients request.
const JWTSVIDAudience = "parsec"

// jwtSVID authenticates a request whose auth field is a JWT-SVID in JWS
// compact form; the application is the token's SPIFFE ID. verify holds the
// SPIFFE-library half (jwtsvid_spiffe.go), which only a build with the
// parsec_jwtsvid tag links, so that the default daemon stays small.
//
// A JWT-SVID is a bearer token: whoever holds it until it expires is that
// SPIFFE ID, whatever process sends it. The service does not bind it to
// the connection's peer credentials (Parsec does not either).
type jwtSVID struct {
	admins map[string]bool
	// verify checks the token's signature, expiry and audience against the
	// trust bundles and returns its SPIFFE ID.
	verify func(token string) (string, error)
	close  func() error
}

func (*jwtSVID) Type() wire.AuthType { return wire.AuthJwtSvid }
func (*jwtSVID) Description() string {
	return "Checks a SPIFFE JWT-SVID (audience \"parsec\") with the trust bundles of the SPIFFE Workload API; the application is its SPIFFE ID"
}

func (j *jwtSVID) Authenticate(b []byte, _ Peer) (Application, error) {
	if !utf8.Valid(b) {
		// Parsec's answer to an auth field that is not text.
		return Application{}, wire.Errorf(wire.StatusInvalidEncoding, "JWT-SVID is not UTF-8")
	}
	if len(b) == 0 {
		return Application{}, wire.Errorf(wire.StatusAuthenticationError, "JwtSvid authentication needs a JWT-SVID in the auth field")
	}
	id, err := j.verify(string(b))
	if err != nil {
		return Application{}, wire.Errorf(wire.StatusAuthenticationError, "JWT-SVID rejected: %v", err)
	}
	return Application{Name: id, AuthType: wire.AuthJwtSvid, Admin: j.admins[id]}, nil
}

func (j *jwtSVID) Close() error {
	if j.close == nil {
		return nil
	}
	return j.close()
}
