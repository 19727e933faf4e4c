package client

import (
	"context"
	"encoding/binary"
	"errors"
	"os"

	"github.com/parsec-go/parsec/wire"
)

// Authenticator produces the authentication field of a request. The service
// runs exactly one authenticator; New picks the first one the service lists
// that the client can use.
type Authenticator interface {
	// Type is the auth type written into the request header.
	Type() wire.AuthType
	// Token returns the bytes sent after the request body.
	Token(ctx context.Context) ([]byte, error)
}

// NoAuth sends requests anonymously. The service accepts it only for
// operations that need no identity: Ping, ListProviders, ListOpcodes,
// ListAuthenticators, GenerateRandom, HashCompute and HashCompare.
func NoAuth() Authenticator { return noAuth{} }

type noAuth struct{}

func (noAuth) Type() wire.AuthType                   { return wire.AuthNone }
func (noAuth) Token(context.Context) ([]byte, error) { return nil, nil }

// Direct authenticates with an application name that the service trusts as
// given. It only makes sense where every local client is trusted.
func Direct(appName string) Authenticator { return direct(appName) }

type direct string

func (direct) Type() wire.AuthType                     { return wire.AuthDirect }
func (d direct) Token(context.Context) ([]byte, error) { return []byte(d), nil }

// UnixPeerCredentials authenticates as the process's user: the token is the
// real uid, which the service checks against the socket's peer credentials.
// Keys then belong to that uid.
func UnixPeerCredentials() Authenticator { return unixPeer{} }

type unixPeer struct{}

func (unixPeer) Type() wire.AuthType { return wire.AuthUnixPeerCredentials }

func (unixPeer) Token(context.Context) ([]byte, error) {
	return binary.LittleEndian.AppendUint32(nil, uint32(os.Getuid())), nil
}

// JWTSVIDAudience is the audience a JWT-SVID for Parsec must carry.
const JWTSVIDAudience = "parsec"

// JWTSVIDSource fetches JWT-SVIDs, typically from the SPIFFE Workload API
// (whose socket SPIFFE_ENDPOINT_SOCKET names). This package ships none, so as
// not to depend on a SPIFFE library: plug yours in with JWTSVID.
type JWTSVIDSource interface {
	// FetchJWTSVID returns a JWT-SVID in JWS compact form for audience.
	FetchJWTSVID(ctx context.Context, audience string) (string, error)
}

// JWTSVIDEndpointEnv ("PARSEC_JWT_SVID_ENDPOINT") names a Workload API
// socket and makes a client always authenticate with a JWT-SVID from it
// (client/spiffe.FromEnv). It is spelled here, in a package that does not
// link go-spiffe, so that builds without JWT-SVID support can refuse it.
const JWTSVIDEndpointEnv = "PARSEC_JWT_SVID_ENDPOINT"

// JWTSVID authenticates with a JWT-SVID from src, fetched for every request
// with audience "parsec" so that an expired token is never reused.
func JWTSVID(src JWTSVIDSource) Authenticator { return jwtSVID{src} }

type jwtSVID struct{ src JWTSVIDSource }

func (jwtSVID) Type() wire.AuthType { return wire.AuthJwtSvid }

func (j jwtSVID) Token(ctx context.Context) ([]byte, error) {
	if j.src == nil {
		return nil, &AuthError{Type: wire.AuthJwtSvid, Err: errors.New("no JWTSVIDSource configured")}
	}
	tok, err := j.src.FetchJWTSVID(ctx, JWTSVIDAudience)
	if err != nil {
		return nil, &AuthError{Type: wire.AuthJwtSvid, Err: err}
	}
	return []byte(tok), nil
}

// AuthError reports that the client could not produce its authentication
// data; the request was not sent.
type AuthError struct {
	Type wire.AuthType
	Err  error
}

func (e *AuthError) Error() string { return "preparing " + e.Type.String() + ": " + e.Err.Error() }
func (e *AuthError) Unwrap() error { return e.Err }
