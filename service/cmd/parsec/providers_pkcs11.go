//go:build !parsec_no_pkcs11

package main

import (
	"github.com/parsec-go/parsec/service/provider/pkcs11"
	"github.com/parsec-go/parsec/service/server"
	"github.com/parsec-go/parsec/wire"
)

func pkcs11Provider() server.RegisteredProvider {
	return server.RegisteredProvider{ID: wire.ProviderPkcs11, Factory: pkcs11.New}
}
