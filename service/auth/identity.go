// Package auth holds the authenticators: they turn a request's auth field
// and the connection's peer credentials into an application identity.
package auth

import "github.com/parsec-go/parsec/wire"

// Application is an authenticated caller. Keys are namespaced by the pair
// (AuthType, Name): changing the authenticator hides existing keys, as in
// Parsec.
type Application struct {
	Name     string
	AuthType wire.AuthType
	// Admin is set when Name is in the authenticator's admins list.
	Admin bool
}

// Anonymous reports a request sent with auth type NoAuth.
func (a Application) Anonymous() bool { return a.AuthType == wire.AuthNone }
