//go:build cgo && parsec_jwtsvid

package main

import (
	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/client/spiffe"
)

// jwtSVIDOptions: JWT-SVID authentication from the SPIFFE Workload API, as
// the environment asks (client/spiffe.FromEnv, the same variables as
// parsec-tool). The returned function releases the Workload API source.
func jwtSVIDOptions(getenv func(string) string) ([]client.Option, func(), error) {
	opts, src, err := spiffe.FromEnv(getenv)
	if err != nil || src == nil {
		return opts, func() {}, err
	}
	return opts, func() { src.Close() }, nil
}
