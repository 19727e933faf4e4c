package main

import (
	"errors"
	"fmt"

	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/service/provider/software"
	"github.com/parsec-go/parsec/service/provider/tpm"
	"github.com/parsec-go/parsec/service/server"
	"github.com/parsec-go/parsec/wire"
)

// providers maps each config provider_type to its implementation. Adding a
// provider is one line here plus its own package.
func providers() server.Registry {
	return server.Registry{
		"MbedCrypto": {ID: wire.ProviderMbedCrypto, Factory: software.New},
		"Tpm":        {ID: wire.ProviderTpm, Factory: skipOn(tpm.New, tpm.ErrSkipped)},
	}
}

// skipOn marks a factory's own "not here, skip me" error as provider.ErrSkip.
func skipOn(f provider.Factory, skip error) provider.Factory {
	return func(d provider.Deps) (provider.Provider, error) {
		p, err := f(d)
		if errors.Is(err, skip) {
			return nil, fmt.Errorf("%w: %v", provider.ErrSkip, err)
		}
		return p, err
	}
}
