//go:build parsec_no_tpm

package main

import (
	"github.com/parsec-go/parsec/service/server"
	"github.com/parsec-go/parsec/wire"
)

func tpmProvider() server.RegisteredProvider {
	return leftOut(wire.ProviderTpm, "parsec_no_tpm", "TPM")
}
