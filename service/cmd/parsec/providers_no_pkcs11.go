//go:build parsec_no_pkcs11

package main

import (
	"github.com/parsec-go/parsec/service/server"
	"github.com/parsec-go/parsec/wire"
)

func pkcs11Provider() server.RegisteredProvider {
	return leftOut(wire.ProviderPkcs11, "parsec_no_pkcs11", "PKCS11")
}
