package wire

import (
	"errors"
	"fmt"
)

// Status is a Parsec response status code: 0-22 are service codes,
// 1132-1153 are PSA codes (1000 + |psa_status_t|).
type Status uint16

// Service status codes.
const (
	StatusSuccess                         Status = 0
	StatusWrongProviderID                 Status = 1
	StatusContentTypeNotSupported         Status = 2
	StatusAcceptTypeNotSupported          Status = 3
	StatusWireProtocolVersionNotSupported Status = 4
	StatusProviderNotRegistered           Status = 5
	StatusProviderDoesNotExist            Status = 6
	StatusDeserializingBodyFailed         Status = 7
	StatusSerializingBodyFailed           Status = 8
	StatusOpcodeDoesNotExist              Status = 9
	StatusResponseTooLarge                Status = 10
	StatusAuthenticationError             Status = 11
	StatusAuthenticatorDoesNotExist       Status = 12
	StatusAuthenticatorNotRegistered      Status = 13
	StatusKeyInfoManagerError             Status = 14
	StatusConnectionError                 Status = 15
	StatusInvalidEncoding                 Status = 16
	StatusInvalidHeader                   Status = 17
	StatusWrongProviderUUID               Status = 18
	StatusNotAuthenticated                Status = 19
	StatusBodySizeExceedsLimit            Status = 20
	StatusAdminOperation                  Status = 21
	StatusDeprecatedPrimitive             Status = 22
)

// PSA status codes.
const (
	StatusPsaErrorGenericError         Status = 1132
	StatusPsaErrorNotPermitted         Status = 1133
	StatusPsaErrorNotSupported         Status = 1134
	StatusPsaErrorInvalidArgument      Status = 1135
	StatusPsaErrorInvalidHandle        Status = 1136
	StatusPsaErrorBadState             Status = 1137
	StatusPsaErrorBufferTooSmall       Status = 1138
	StatusPsaErrorAlreadyExists        Status = 1139
	StatusPsaErrorDoesNotExist         Status = 1140
	StatusPsaErrorInsufficientMemory   Status = 1141
	StatusPsaErrorInsufficientStorage  Status = 1142
	StatusPsaErrorInsufficientData     Status = 1143
	StatusPsaErrorCommunicationFailure Status = 1145
	StatusPsaErrorStorageFailure       Status = 1146
	StatusPsaErrorHardwareFailure      Status = 1147
	StatusPsaErrorInsufficientEntropy  Status = 1148
	StatusPsaErrorInvalidSignature     Status = 1149
	StatusPsaErrorInvalidPadding       Status = 1150
	StatusPsaErrorCorruptionDetected   Status = 1151
	StatusPsaErrorDataCorrupt          Status = 1152
	StatusPsaErrorDataInvalid          Status = 1153
)

var statusNames = map[Status]string{
	StatusSuccess:                         "Success",
	StatusWrongProviderID:                 "WrongProviderId",
	StatusContentTypeNotSupported:         "ContentTypeNotSupported",
	StatusAcceptTypeNotSupported:          "AcceptTypeNotSupported",
	StatusWireProtocolVersionNotSupported: "WireProtocolVersionNotSupported",
	StatusProviderNotRegistered:           "ProviderNotRegistered",
	StatusProviderDoesNotExist:            "ProviderDoesNotExist",
	StatusDeserializingBodyFailed:         "DeserializingBodyFailed",
	StatusSerializingBodyFailed:           "SerializingBodyFailed",
	StatusOpcodeDoesNotExist:              "OpcodeDoesNotExist",
	StatusResponseTooLarge:                "ResponseTooLarge",
	StatusAuthenticationError:             "AuthenticationError",
	StatusAuthenticatorDoesNotExist:       "AuthenticatorDoesNotExist",
	StatusAuthenticatorNotRegistered:      "AuthenticatorNotRegistered",
	StatusKeyInfoManagerError:             "KeyInfoManagerError",
	StatusConnectionError:                 "ConnectionError",
	StatusInvalidEncoding:                 "InvalidEncoding",
	StatusInvalidHeader:                   "InvalidHeader",
	StatusWrongProviderUUID:               "WrongProviderUuid",
	StatusNotAuthenticated:                "NotAuthenticated",
	StatusBodySizeExceedsLimit:            "BodySizeExceedsLimit",
	StatusAdminOperation:                  "AdminOperation",
	StatusDeprecatedPrimitive:             "DeprecatedPrimitive",
	StatusPsaErrorGenericError:            "PsaErrorGenericError",
	StatusPsaErrorNotPermitted:            "PsaErrorNotPermitted",
	StatusPsaErrorNotSupported:            "PsaErrorNotSupported",
	StatusPsaErrorInvalidArgument:         "PsaErrorInvalidArgument",
	StatusPsaErrorInvalidHandle:           "PsaErrorInvalidHandle",
	StatusPsaErrorBadState:                "PsaErrorBadState",
	StatusPsaErrorBufferTooSmall:          "PsaErrorBufferTooSmall",
	StatusPsaErrorAlreadyExists:           "PsaErrorAlreadyExists",
	StatusPsaErrorDoesNotExist:            "PsaErrorDoesNotExist",
	StatusPsaErrorInsufficientMemory:      "PsaErrorInsufficientMemory",
	StatusPsaErrorInsufficientStorage:     "PsaErrorInsufficientStorage",
	StatusPsaErrorInsufficientData:        "PsaErrorInsufficientData",
	StatusPsaErrorCommunicationFailure:    "PsaErrorCommunicationFailure",
	StatusPsaErrorStorageFailure:          "PsaErrorStorageFailure",
	StatusPsaErrorHardwareFailure:         "PsaErrorHardwareFailure",
	StatusPsaErrorInsufficientEntropy:     "PsaErrorInsufficientEntropy",
	StatusPsaErrorInvalidSignature:        "PsaErrorInvalidSignature",
	StatusPsaErrorInvalidPadding:          "PsaErrorInvalidPadding",
	StatusPsaErrorCorruptionDetected:      "PsaErrorCorruptionDetected",
	StatusPsaErrorDataCorrupt:             "PsaErrorDataCorrupt",
	StatusPsaErrorDataInvalid:             "PsaErrorDataInvalid",
}

var statusText = map[Status]string{
	StatusSuccess:                         "successful operation",
	StatusWrongProviderID:                 "requested provider ID does not match that of the backend",
	StatusContentTypeNotSupported:         "requested content type is not supported by the backend",
	StatusAcceptTypeNotSupported:          "requested accept type is not supported by the backend",
	StatusWireProtocolVersionNotSupported: "requested version is not supported by the backend",
	StatusProviderNotRegistered:           "no provider registered for the requested provider ID",
	StatusProviderDoesNotExist:            "no provider defined for requested provider ID",
	StatusDeserializingBodyFailed:         "failed to deserialize the body of the message",
	StatusSerializingBodyFailed:           "failed to serialize the body of the message",
	StatusOpcodeDoesNotExist:              "requested operation is not defined",
	StatusResponseTooLarge:                "response size exceeds allowed limits",
	StatusAuthenticationError:             "authentication failed",
	StatusAuthenticatorDoesNotExist:       "authenticator not supported",
	StatusAuthenticatorNotRegistered:      "authenticator not supported",
	StatusKeyInfoManagerError:             "internal error in the Key Info Manager",
	StatusConnectionError:                 "generic input/output error",
	StatusInvalidEncoding:                 "invalid value for this data type",
	StatusInvalidHeader:                   "constant fields in header are invalid",
	StatusWrongProviderUUID:               "the UUID vector needs to only contain 16 bytes",
	StatusNotAuthenticated:                "request did not provide a required authentication",
	StatusBodySizeExceedsLimit:            "request length specified in the header is above defined limit",
	StatusAdminOperation:                  "the operation requires admin privilege",
	StatusDeprecatedPrimitive:             "the key template contains a deprecated type or algorithm",
	StatusPsaErrorGenericError:            "an error occurred that does not correspond to any defined failure cause",
	StatusPsaErrorNotPermitted:            "the requested action is denied by a policy",
	StatusPsaErrorNotSupported:            "the requested operation or a parameter is not supported by this implementation",
	StatusPsaErrorInvalidArgument:         "the parameters passed to the function are invalid",
	StatusPsaErrorInvalidHandle:           "the key handle is not valid",
	StatusPsaErrorBadState:                "the requested action cannot be performed in the current state",
	StatusPsaErrorBufferTooSmall:          "an output buffer is too small",
	StatusPsaErrorAlreadyExists:           "asking for an item that already exists",
	StatusPsaErrorDoesNotExist:            "asking for an item that doesn't exist",
	StatusPsaErrorInsufficientMemory:      "there is not enough runtime memory",
	StatusPsaErrorInsufficientStorage:     "there is not enough persistent storage",
	StatusPsaErrorInsufficientData:        "insufficient data when attempting to read from a resource",
	StatusPsaErrorCommunicationFailure:    "there was a communication failure inside the implementation",
	StatusPsaErrorStorageFailure:          "there was a storage failure that may have led to data loss",
	StatusPsaErrorHardwareFailure:         "a hardware failure was detected",
	StatusPsaErrorInsufficientEntropy:     "there is not enough entropy to generate random data needed for the requested action",
	StatusPsaErrorInvalidSignature:        "the signature, MAC or hash is incorrect",
	StatusPsaErrorInvalidPadding:          "the decrypted padding is incorrect",
	StatusPsaErrorCorruptionDetected:      "a tampering attempt was detected",
	StatusPsaErrorDataCorrupt:             "stored data has been corrupted",
	StatusPsaErrorDataInvalid:             "data read from storage is not valid for the implementation",
}

// Valid reports whether s is a status code Parsec defines.
func (s Status) Valid() bool { _, ok := statusNames[s]; return ok }

// String returns the Parsec name of the status, e.g. "PsaErrorDoesNotExist".
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("Status(%d)", uint16(s))
}

// Description is a short human explanation of the status.
func (s Status) Description() string {
	if t, ok := statusText[s]; ok {
		return t
	}
	return "unknown status code"
}

// Error carries a Parsec status with context. The service turns it into the
// response status; the client returns it to callers, who can test for a
// status with errors.Is(err, wire.StatusPsaErrorDoesNotExist).
type Error struct {
	Status Status
	Msg    string
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return e.Status.String()
	}
	return e.Status.String() + ": " + e.Msg
}

// Is lets errors.Is match an *Error against a bare Status.
func (e *Error) Is(target error) bool {
	if s, ok := target.(Status); ok {
		return e.Status == s
	}
	return false
}

// Error makes a bare Status usable as an error and as an errors.Is target.
func (s Status) Error() string { return s.String() }

// Errorf returns an *Error with the given status and message.
func Errorf(s Status, format string, args ...any) error {
	return &Error{Status: s, Msg: fmt.Sprintf(format, args...)}
}

// StatusOf extracts the Parsec status from err: Success for nil, the carried
// status for an *Error or Status anywhere in the chain, else fallback.
func StatusOf(err error, fallback Status) Status {
	if err == nil {
		return StatusSuccess
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	var s Status
	if errors.As(err, &s) {
		return s
	}
	return fallback
}
