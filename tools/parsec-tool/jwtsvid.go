//go:build parsec_jwtsvid

package main

import "github.com/parsec-go/parsec/client/spiffe"

// jwtSVIDOptions: JWT-SVID authentication from the SPIFFE Workload API,
// as the environment asks (client/spiffe.FromEnv). The returned function
// releases the Workload API source.
var jwtSVIDOptions = spiffe.Options
