//go:build parsec_no_trustedservice

package main

import (
	"github.com/parsec-go/parsec/service/server"
	"github.com/parsec-go/parsec/wire"
)

func trustedServiceProvider() server.RegisteredProvider {
	return leftOut(wire.ProviderTrustedService, "parsec_no_trustedservice", "TS")
}
