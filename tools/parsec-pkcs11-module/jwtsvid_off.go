//go:build cgo && !parsec_jwtsvid

package main

import (
	"fmt"

	"github.com/parsec-go/parsec/client"
)

// jwtSVIDOptions in a build without JWT-SVID support: asking for it is an
// error, not a silent fall back to the process's uid.
func jwtSVIDOptions(getenv func(string) string) ([]client.Option, func(), error) {
	if getenv(client.JWTSVIDEndpointEnv) != "" {
		return nil, nil, fmt.Errorf("%s is set but this module was built without JWT-SVID support (build with GOFLAGS=-tags=parsec_jwtsvid; Yocto: PACKAGECONFIG jwt-svid)", client.JWTSVIDEndpointEnv)
	}
	return nil, func() {}, nil
}
