package main

import (
	"fmt"

	"github.com/parsec-go/parsec/service/provider/software"
	"github.com/parsec-go/parsec/service/server"
	"github.com/parsec-go/parsec/wire"
)

// providers maps each config provider_type to its implementation. Adding a
// provider is one line here plus its own package. A factory that returns
// provider.ErrSkip (the TPM's skip_if_no_tpm) leaves its provider out.
//
// The hardware providers are optional at build time so that a board links
// only what it uses: each comes from a pair of files, one built by default
// and one under an opt-out tag that keeps the provider's packages (and
// their dependencies) out of the binary:
//
//	parsec_no_tpm            Tpm (service/provider/tpm, go-tpm)
//	parsec_no_trustedservice TrustedService (service/provider/trustedservice, internal/tee, internal/ts)
//	parsec_no_pkcs11         Pkcs11 (service/provider/pkcs11; the token itself is
//	                         driven by the separate cgo co-server parsec-pkcs11)
//
// The software provider is always built.
func providers() server.Registry {
	return server.Registry{
		"MbedCrypto":     {ID: wire.ProviderMbedCrypto, Factory: software.New},
		"Tpm":            tpmProvider(),
		"TrustedService": trustedServiceProvider(),
		"Pkcs11":         pkcs11Provider(),
	}
}

// leftOut is the entry of a provider that the build tag tag left out:
// starting with a config that names it fails and says how to get it back.
// packageconfig is the parsec-service recipe's PACKAGECONFIG option.
func leftOut(id wire.ProviderID, tag, packageconfig string) server.RegisteredProvider {
	return server.RegisteredProvider{
		ID:      id,
		LeftOut: fmt.Sprintf("built with Go build tag %s; rebuild without that tag, or in Yocto add %s to PACKAGECONFIG of parsec-service", tag, packageconfig),
	}
}
