package main

import (
	"github.com/parsec-go/parsec/service/provider/software"
	"github.com/parsec-go/parsec/service/provider/tpm"
	"github.com/parsec-go/parsec/service/provider/trustedservice"
	"github.com/parsec-go/parsec/service/server"
	"github.com/parsec-go/parsec/wire"
)

// providers maps each config provider_type to its implementation. Adding a
// provider is one line here plus its own package. A factory that returns
// provider.ErrSkip (the TPM's skip_if_no_tpm) leaves its provider out.
func providers() server.Registry {
	return server.Registry{
		"MbedCrypto":     {ID: wire.ProviderMbedCrypto, Factory: software.New},
		"Tpm":            {ID: wire.ProviderTpm, Factory: tpm.New},
		"TrustedService": {ID: wire.ProviderTrustedService, Factory: trustedservice.New},
	}
}
