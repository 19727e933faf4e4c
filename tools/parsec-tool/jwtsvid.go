//go:build parsec_jwtsvid

package main

import (
	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/client/spiffe"
)

// jwtSVIDOptions: JWT-SVID authentication from the SPIFFE Workload API,
// as the environment asks (see client/spiffe.FromEnv).
func jwtSVIDOptions(getenv func(string) string) ([]client.Option, func(), error) {
	opts, src, err := spiffe.FromEnv(getenv)
	if err != nil || src == nil {
		return opts, func() {}, err
	}
	return opts, func() { src.Close() }, nil
}
