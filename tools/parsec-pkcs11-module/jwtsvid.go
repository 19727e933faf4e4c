//go:build cgo && parsec_jwtsvid

package main

import "github.com/parsec-go/parsec/client/spiffe"

// jwtSVIDOptions: JWT-SVID authentication from the SPIFFE Workload API,
// as the environment asks (client/spiffe.FromEnv, the same variables as
// parsec-tool). The returned function releases the Workload API source.
var jwtSVIDOptions = spiffe.Options
