//go:build cgo

package main

// #include "shim.h"
import "C"

import (
	"context"
	"errors"
	"fmt"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/wire"
)

// rvError is a PKCS#11 return value carried as a Go error, so that helpers
// can return either a service failure or a precise CKR_ code.
type rvError C.CK_RV

func (e rvError) Error() string { return fmt.Sprintf("PKCS#11 error 0x%x", uint64(e)) }

// statusRVs maps the service's statuses to the closest PKCS#11 codes.
var statusRVs = map[wire.Status]C.CK_RV{
	wire.StatusPsaErrorNotPermitted:         C.CKR_KEY_FUNCTION_NOT_PERMITTED,
	wire.StatusPsaErrorNotSupported:         C.CKR_MECHANISM_INVALID,
	wire.StatusPsaErrorInvalidArgument:      C.CKR_ARGUMENTS_BAD,
	wire.StatusPsaErrorInvalidHandle:        C.CKR_OBJECT_HANDLE_INVALID,
	wire.StatusPsaErrorDoesNotExist:         C.CKR_OBJECT_HANDLE_INVALID,
	wire.StatusPsaErrorAlreadyExists:        C.CKR_ATTRIBUTE_VALUE_INVALID,
	wire.StatusPsaErrorBufferTooSmall:       C.CKR_BUFFER_TOO_SMALL,
	wire.StatusPsaErrorInsufficientMemory:   C.CKR_DEVICE_MEMORY,
	wire.StatusPsaErrorInsufficientStorage:  C.CKR_DEVICE_MEMORY,
	wire.StatusPsaErrorInvalidSignature:     C.CKR_SIGNATURE_INVALID,
	wire.StatusPsaErrorInvalidPadding:       C.CKR_ENCRYPTED_DATA_INVALID,
	wire.StatusPsaErrorDataInvalid:          C.CKR_DATA_INVALID,
	wire.StatusPsaErrorCommunicationFailure: C.CKR_DEVICE_ERROR,
	wire.StatusPsaErrorHardwareFailure:      C.CKR_DEVICE_ERROR,
	wire.StatusPsaErrorStorageFailure:       C.CKR_DEVICE_ERROR,
	wire.StatusPsaErrorCorruptionDetected:   C.CKR_DEVICE_ERROR,
	wire.StatusPsaErrorDataCorrupt:          C.CKR_DEVICE_ERROR,
	wire.StatusPsaErrorInsufficientEntropy:  C.CKR_DEVICE_ERROR,
	wire.StatusPsaErrorGenericError:         C.CKR_FUNCTION_FAILED,
	wire.StatusPsaErrorBadState:             C.CKR_FUNCTION_FAILED,
	wire.StatusPsaErrorInsufficientData:     C.CKR_FUNCTION_FAILED,
	wire.StatusNotAuthenticated:             C.CKR_USER_NOT_LOGGED_IN,
	wire.StatusAuthenticationError:          C.CKR_USER_NOT_LOGGED_IN,
	wire.StatusKeyInfoManagerError:          C.CKR_DEVICE_ERROR,
	wire.StatusOpcodeDoesNotExist:           C.CKR_FUNCTION_NOT_SUPPORTED,
	wire.StatusProviderNotRegistered:        C.CKR_TOKEN_NOT_PRESENT,
	wire.StatusProviderDoesNotExist:         C.CKR_TOKEN_NOT_PRESENT,
	wire.StatusWrongProviderID:              C.CKR_TOKEN_NOT_PRESENT,
	wire.StatusDeprecatedPrimitive:          C.CKR_MECHANISM_INVALID,
	wire.StatusBodySizeExceedsLimit:         C.CKR_DATA_LEN_RANGE,
	wire.StatusResponseTooLarge:             C.CKR_DATA_LEN_RANGE,
}

// toRV turns an error into a PKCS#11 return value.
func toRV(err error) C.CK_RV {
	if err == nil {
		return C.CKR_OK
	}
	var rv rvError
	if errors.As(err, &rv) {
		return C.CK_RV(rv)
	}
	var we *wire.Error
	if errors.As(err, &we) {
		if r, ok := statusRVs[we.Status]; ok {
			return r
		}
		return C.CKR_FUNCTION_FAILED
	}
	for s, r := range statusRVs {
		if errors.Is(err, s) {
			return r
		}
	}
	if errors.Is(err, client.ErrServiceUnreachable) || errors.Is(err, context.DeadlineExceeded) {
		return C.CKR_DEVICE_ERROR
	}
	if errors.Is(err, client.ErrKeyNotFound) {
		return C.CKR_OBJECT_HANDLE_INVALID
	}
	return C.CKR_GENERAL_ERROR
}
