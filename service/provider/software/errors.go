package software

import "github.com/parsec-go/parsec/wire"

// Shorthands the key store (store.go, adopt.go) uses; the rest of the
// provider writes wire.Errorf(status, ...) like every other provider.

func errDoesNotExist(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorDoesNotExist, format, args...)
}

func errStorage(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorStorageFailure, format, args...)
}

func errCorrupt(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorDataCorrupt, format, args...)
}

func errInsufficientMemory(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorInsufficientMemory, format, args...)
}
