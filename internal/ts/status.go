package ts

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/parsec-go/parsec/internal/ts/packedc"
	"github.com/parsec-go/parsec/wire"
)

// RPCStatus is a TS RPC status (rpc_status_t) as defined by TS v1.0 and
// later. The arm_tstee driver turns every non-zero value into EINVAL, so a
// client normally never sees one; the emulator reports it as a diagnostic
// and the emulated partitions use these values. (Rust Parsec decodes with
// the pre-v1.0 table, whose numbers mean different things.)
type RPCStatus int32

// TS v1.0 RPC statuses.
const (
	RPCSuccess             RPCStatus = 0
	RPCInternal            RPCStatus = -1
	RPCInvalidValue        RPCStatus = -2 // unknown opcode or interface
	RPCNotFound            RPCStatus = -3 // unknown memory handle or service
	RPCInvalidState        RPCStatus = -4
	RPCTransportLayer      RPCStatus = -5
	RPCInvalidRequestBody  RPCStatus = -6
	RPCInvalidResponseBody RPCStatus = -7
	RPCResourceFailure     RPCStatus = -8
)

var rpcNames = map[RPCStatus]string{
	RPCSuccess: "SUCCESS", RPCInternal: "INTERNAL", RPCInvalidValue: "INVALID_VALUE",
	RPCNotFound: "NOT_FOUND", RPCInvalidState: "INVALID_STATE", RPCTransportLayer: "TRANSPORT_LAYER",
	RPCInvalidRequestBody: "INVALID_REQUEST_BODY", RPCInvalidResponseBody: "INVALID_RESPONSE_BODY",
	RPCResourceFailure: "RESOURCE_FAILURE",
}

func (s RPCStatus) String() string {
	if n, ok := rpcNames[s]; ok {
		return "RPC_" + n
	}
	return fmt.Sprintf("RPC status %d", int32(s))
}

// ParsecStatus maps an RPC status to the Parsec status a client should
// see: a request the partition could not decode is the caller's bad
// argument, a partition out of contexts or slots is out of memory, an
// unknown opcode is an unsupported operation, the rest is a failure of the
// communication with the secure world.
func (s RPCStatus) ParsecStatus() wire.Status {
	switch s {
	case RPCSuccess:
		return wire.StatusSuccess
	case RPCInvalidRequestBody:
		return wire.StatusPsaErrorInvalidArgument
	case RPCResourceFailure:
		return wire.StatusPsaErrorInsufficientMemory
	case RPCInvalidValue:
		return wire.StatusPsaErrorNotSupported
	case RPCInvalidState:
		return wire.StatusPsaErrorBadState
	}
	return wire.StatusPsaErrorCommunicationFailure
}

// PSAStatus is a psa_status_t, the service status of the crypto, storage
// and attestation services.
type PSAStatus int32

// PSA statuses (PSA Certified Crypto API and Status Code API).
const (
	PSASuccess                   PSAStatus = 0
	PSAErrorProgrammerError      PSAStatus = -129
	PSAErrorConnectionRefused    PSAStatus = -130
	PSAErrorConnectionBusy       PSAStatus = -131
	PSAErrorGenericError         PSAStatus = -132
	PSAErrorNotPermitted         PSAStatus = -133
	PSAErrorNotSupported         PSAStatus = -134
	PSAErrorInvalidArgument      PSAStatus = -135
	PSAErrorInvalidHandle        PSAStatus = -136
	PSAErrorBadState             PSAStatus = -137
	PSAErrorBufferTooSmall       PSAStatus = -138
	PSAErrorAlreadyExists        PSAStatus = -139
	PSAErrorDoesNotExist         PSAStatus = -140
	PSAErrorInsufficientMemory   PSAStatus = -141
	PSAErrorInsufficientStorage  PSAStatus = -142
	PSAErrorInsufficientData     PSAStatus = -143
	PSAErrorServiceFailure       PSAStatus = -144
	PSAErrorCommunicationFailure PSAStatus = -145
	PSAErrorStorageFailure       PSAStatus = -146
	PSAErrorHardwareFailure      PSAStatus = -147
	PSAErrorInsufficientEntropy  PSAStatus = -148
	PSAErrorInvalidSignature     PSAStatus = -149
	PSAErrorInvalidPadding       PSAStatus = -150
	PSAErrorCorruptionDetected   PSAStatus = -151
	PSAErrorDataCorrupt          PSAStatus = -152
	PSAErrorDataInvalid          PSAStatus = -153
)

var psaNames = map[PSAStatus]string{
	PSASuccess: "SUCCESS", PSAErrorProgrammerError: "PROGRAMMER_ERROR", PSAErrorConnectionRefused: "CONNECTION_REFUSED",
	PSAErrorConnectionBusy: "CONNECTION_BUSY", PSAErrorGenericError: "GENERIC_ERROR", PSAErrorNotPermitted: "NOT_PERMITTED",
	PSAErrorNotSupported: "NOT_SUPPORTED", PSAErrorInvalidArgument: "INVALID_ARGUMENT", PSAErrorInvalidHandle: "INVALID_HANDLE",
	PSAErrorBadState: "BAD_STATE", PSAErrorBufferTooSmall: "BUFFER_TOO_SMALL", PSAErrorAlreadyExists: "ALREADY_EXISTS",
	PSAErrorDoesNotExist: "DOES_NOT_EXIST", PSAErrorInsufficientMemory: "INSUFFICIENT_MEMORY",
	PSAErrorInsufficientStorage: "INSUFFICIENT_STORAGE", PSAErrorInsufficientData: "INSUFFICIENT_DATA",
	PSAErrorServiceFailure: "SERVICE_FAILURE", PSAErrorCommunicationFailure: "COMMUNICATION_FAILURE",
	PSAErrorStorageFailure: "STORAGE_FAILURE", PSAErrorHardwareFailure: "HARDWARE_FAILURE",
	PSAErrorInsufficientEntropy: "INSUFFICIENT_ENTROPY", PSAErrorInvalidSignature: "INVALID_SIGNATURE",
	PSAErrorInvalidPadding: "INVALID_PADDING", PSAErrorCorruptionDetected: "CORRUPTION_DETECTED",
	PSAErrorDataCorrupt: "DATA_CORRUPT", PSAErrorDataInvalid: "DATA_INVALID",
}

func (s PSAStatus) String() string {
	if n, ok := psaNames[s]; ok {
		return "PSA_" + n
	}
	return fmt.Sprintf("psa_status_t %d", int32(s))
}

// ParsecStatus maps a PSA status to Parsec's code, which is 1000 plus
// its magnitude for every status Parsec defines. The few PSA statuses
// Parsec lacks map to the nearest one it has.
func (s PSAStatus) ParsecStatus() wire.Status {
	switch {
	case s == PSASuccess:
		return wire.StatusSuccess
	case s == PSAErrorConnectionRefused, s == PSAErrorConnectionBusy:
		return wire.StatusPsaErrorCommunicationFailure
	case s < 0 && s >= -1153:
		if st := wire.Status(1000 - int32(s)); st.Valid() {
			return st
		}
	}
	return wire.StatusPsaErrorGenericError
}

// Error is a call the service answered with a non-success status.
type Error struct {
	Service string
	Op      string
	Status  PSAStatus
}

func (e *Error) Error() string {
	return fmt.Sprintf("ts: %s %s: %v", e.Service, e.Op, e.Status)
}

// Is matches the PSA status, and the Parsec status it maps to, so that
// errors.Is(err, wire.StatusPsaErrorDoesNotExist) works.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case PSAStatus:
		return e.Status == t
	case wire.Status:
		return e.Status.ParsecStatus() == t
	}
	return false
}

// Error makes a bare PSAStatus usable as an errors.Is target.
func (s PSAStatus) Error() string { return s.String() }

// ErrMalformed is the class of responses that do not decode: wrong
// lengths, missing or truncated records, a response longer than asked.
var ErrMalformed = packedc.ErrMalformed

// ErrUnsupported reports an operation the selected encoding or service
// does not have (e.g. hashing on the protobuf crypto interface).
var ErrUnsupported = errors.New("operation not supported by this Trusted Services interface")

// ErrTooLarge reports a request that does not fit the shared buffer or a
// 16-bit TLV length.
var ErrTooLarge = errors.New("request too large for the Trusted Services buffer")

// ParsecStatus is the Parsec status for any error from this package or the
// tee layer below it:
//   - a service status maps with PSAStatus.ParsecStatus;
//   - a request too large is an invalid argument, an unsupported
//     operation is NotSupported;
//   - everything about reaching the secure world (device missing, session
//     not found, driver EINVAL hiding an RPC error, timeouts, a lost
//     emulator, malformed responses) is a communication failure.
func ParsecStatus(err error) wire.Status {
	if err == nil {
		return wire.StatusSuccess
	}
	var te *Error
	if errors.As(err, &te) {
		return te.Status.ParsecStatus()
	}
	var we *wire.Error
	if errors.As(err, &we) {
		return we.Status
	}
	switch {
	case errors.Is(err, ErrTooLarge):
		return wire.StatusPsaErrorInvalidArgument
	case errors.Is(err, ErrUnsupported):
		return wire.StatusPsaErrorNotSupported
	case errors.Is(err, syscall.ENOMEM):
		return wire.StatusPsaErrorInsufficientMemory
	case errors.Is(err, context.Canceled):
		return wire.StatusPsaErrorCommunicationFailure
	}
	return wire.StatusPsaErrorCommunicationFailure
}
