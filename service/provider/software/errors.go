package software

import (
	"github.com/parsec-go/parsec/wire"
)

// Shorthands for the statuses Parsec's Mbed Crypto provider returns.

func errNotPermitted(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorNotPermitted, format, args...)
}

func errNotSupported(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorNotSupported, format, args...)
}

func errInvalidArgument(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorInvalidArgument, format, args...)
}

func errDoesNotExist(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorDoesNotExist, format, args...)
}

func errInvalidSignature(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorInvalidSignature, format, args...)
}

func errStorage(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorStorageFailure, format, args...)
}

func errCorrupt(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorDataCorrupt, format, args...)
}

func errGeneric(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorGenericError, format, args...)
}

func errInsufficientMemory(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorInsufficientMemory, format, args...)
}

func errEntropy(err error) error {
	return wire.Errorf(wire.StatusPsaErrorInsufficientEntropy, "reading random data: %v", err)
}

func errInvalidPadding(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorInvalidPadding, format, args...)
}
