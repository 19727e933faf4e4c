//go:build cgo

package token

import (
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"

	"github.com/parsec-go/parsec/wire"
)

func isRV(err error, rv uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == rv
}

// rvName is the CKR_ name of a return value.
func rvName(err error) string {
	var e pkcs11.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	// pkcs11.Error prints "pkcs11: 0xNN: CKR_NAME".
	s := e.Error()
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ' ' {
			if s[i+1:] == "" {
				break
			}
			return s[i+1:]
		}
	}
	return fmt.Sprintf("CKR_%#x", uint(e))
}

// hints are the likely fixes of the return values deployments meet most.
var hints = map[uint]string{
	pkcs11.CKR_PIN_INCORRECT:                "wrong PIN: check user_pin in the [[provider]] table (prefix it with \"hex:\" for a binary PIN)",
	pkcs11.CKR_PIN_LOCKED:                   "the user PIN is locked after too many wrong attempts: unlock it with the SO PIN",
	pkcs11.CKR_PIN_EXPIRED:                  "the user PIN has expired: set a new one",
	pkcs11.CKR_PIN_LEN_RANGE:                "the PIN's length is outside what the token accepts: check user_pin",
	pkcs11.CKR_USER_NOT_LOGGED_IN:           "the token needs a login for this: set user_pin",
	pkcs11.CKR_USER_PIN_NOT_INITIALIZED:     "the token's user PIN is not initialised: initialise it (softhsm2-util --init-token sets one)",
	pkcs11.CKR_TOKEN_NOT_PRESENT:            "the token was removed, or its storage cannot be read by the service user (SoftHSM: check directories.tokendir and that the service user is in its group)",
	pkcs11.CKR_TOKEN_NOT_RECOGNIZED:         "the token is not recognised by the module",
	pkcs11.CKR_DEVICE_REMOVED:               "the token was removed",
	pkcs11.CKR_SLOT_ID_INVALID:              "no such slot: check slot_number, or use serial_number",
	pkcs11.CKR_TOKEN_WRITE_PROTECTED:        "the token is read-only, or its storage is not writable by the service user (SoftHSM: check the permissions of directories.tokendir)",
	pkcs11.CKR_GENERAL_ERROR:                "the module failed internally; SoftHSM does this when its configuration (SOFTHSM2_CONF) or token directory cannot be read by the service user",
	pkcs11.CKR_DEVICE_MEMORY:                "the token is full: destroy unused keys",
	pkcs11.CKR_MECHANISM_INVALID:            "the token does not offer the algorithm's mechanism",
	pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED:     "the module is not initialised (co-server bug)",
	pkcs11.CKR_SESSION_COUNT:                "the token has no session left: lower the number of sessions or close other applications using it",
	pkcs11.CKR_TEMPLATE_INCONSISTENT:        "the token refused the key's attributes",
	pkcs11.CKR_ATTRIBUTE_VALUE_INVALID:      "the token refused one of the key's attributes",
	pkcs11.CKR_KEY_SIZE_RANGE:               "the token does not support this key size",
	pkcs11.CKR_CURVE_NOT_SUPPORTED:          "the token does not support this curve",
	pkcs11.CKR_FUNCTION_NOT_SUPPORTED:       "the module does not implement this function",
	pkcs11.CKR_ARGUMENTS_BAD:                "the module refused the call's arguments or the mechanism's parameters (SoftHSM's RSA-OAEP takes SHA-1 only)",
	pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED: "another user of the module in this process initialised it",
}

// describe names err's CKR_ code and, if known, the likely fix; where is
// the slot/token part of the message.
func describe(err error, where string) string {
	var e pkcs11.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	s := rvName(err)
	if where != "" {
		s += " on " + where
	}
	if h, ok := hints[uint(e)]; ok {
		s += ": " + h
	}
	return s
}

// status maps a return value to the Parsec status, as Parsec's PKCS#11
// provider does, with the argument errors a client causes made
// InvalidArgument instead of CommunicationFailure.
func status(err error) wire.Status {
	var e pkcs11.Error
	if !errors.As(err, &e) {
		return wire.StatusOf(err, wire.StatusPsaErrorCommunicationFailure)
	}
	switch uint(e) {
	case pkcs11.CKR_HOST_MEMORY:
		return wire.StatusPsaErrorInsufficientMemory
	case pkcs11.CKR_DEVICE_ERROR, pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_PRESENT,
		pkcs11.CKR_TOKEN_NOT_RECOGNIZED, pkcs11.CKR_STATE_UNSAVEABLE:
		return wire.StatusPsaErrorHardwareFailure
	case pkcs11.CKR_DEVICE_MEMORY:
		return wire.StatusPsaErrorInsufficientStorage
	case pkcs11.CKR_SIGNATURE_INVALID, pkcs11.CKR_SIGNATURE_LEN_RANGE:
		return wire.StatusPsaErrorInvalidSignature
	case pkcs11.CKR_RANDOM_NO_RNG:
		return wire.StatusPsaErrorInsufficientEntropy
	case pkcs11.CKR_CURVE_NOT_SUPPORTED, pkcs11.CKR_DOMAIN_PARAMS_INVALID, pkcs11.CKR_FUNCTION_NOT_SUPPORTED,
		pkcs11.CKR_MECHANISM_INVALID, pkcs11.CKR_KEY_SIZE_RANGE:
		return wire.StatusPsaErrorNotSupported
	case pkcs11.CKR_DATA_LEN_RANGE, pkcs11.CKR_DATA_INVALID, pkcs11.CKR_ENCRYPTED_DATA_INVALID,
		pkcs11.CKR_ENCRYPTED_DATA_LEN_RANGE, pkcs11.CKR_ARGUMENTS_BAD:
		return wire.StatusPsaErrorInvalidArgument
	case pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED, pkcs11.CKR_MECHANISM_PARAM_INVALID:
		return wire.StatusPsaErrorNotPermitted
	}
	return wire.StatusPsaErrorCommunicationFailure
}

// fail logs a failed call with its CKR_ code, slot, token and likely fix,
// and returns the Parsec status to answer, wrapping the PKCS#11 error.
func (t *Token) fail(call string, err error) error {
	st := status(err)
	msg := describe(err, fmt.Sprintf("slot %d (token %q)", t.slot, t.label))
	lvl := t.log.Warn
	if st == wire.StatusPsaErrorCommunicationFailure || st == wire.StatusPsaErrorHardwareFailure {
		lvl = t.log.Error
	}
	if st != wire.StatusPsaErrorInvalidSignature {
		lvl("PKCS#11 call failed", "call", call, "error", msg, "status", st)
	}
	return &callError{status: st, msg: call + ": " + msg, err: err}
}

// callError carries a status for the client and the PKCS#11 error for
// the session pool (errors.Unwrap).
type callError struct {
	status wire.Status
	msg    string
	err    error
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.err }

// As lets wire.StatusOf find the status.
func (e *callError) As(target any) bool {
	p, ok := target.(*wire.Status)
	if ok {
		*p = e.status
	}
	return ok
}
