//go:build !parsec_jwtsvid

package auth

import (
	"log/slog"

	"github.com/parsec-go/parsec/wire"
)

// JwtSvidBuilt reports whether this build includes the JwtSvid
// authenticator.
const JwtSvidBuilt = false

func newJwtSvid(Spec, *slog.Logger) (Authenticator, error) {
	return nil, wire.Errorf(wire.StatusAuthenticatorNotRegistered,
		`authenticator "JwtSvid" was left out of this build; build the daemon with -tags parsec_jwtsvid (Yocto: PACKAGECONFIG jwt-svid)`)
}
