package tpm

import (
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"

	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/service/provider/tpm/tcti"
	"github.com/parsec-go/parsec/wire"
)

// ErrSkipped is returned (wrapped) by New when skip_if_no_tpm is set and
// the TPM cannot be reached: the service should start without this
// provider. It wraps provider.ErrSkip, which the service recognises.
var ErrSkipped = fmt.Errorf("%w: no TPM reachable and skip_if_no_tpm = true", provider.ErrSkip)

// tpmRC extracts the TPM response code from err, if the TPM answered.
func tpmRC(err error) (tpm2.TPMRC, bool) {
	var rc tpm2.TPMRC
	if errors.As(err, &rc) {
		return rc, true
	}
	return 0, false
}

// rcIs reports whether err is the TPM response code want (format-1 codes
// compare without their handle/parameter/session number).
func rcIs(err error, want tpm2.TPMRC) bool {
	rc, ok := tpmRC(err)
	return ok && rc.Is(want)
}

func isTransport(err error) bool { return errors.Is(err, tcti.ErrTransport) }

// isWarningRetry reports a TPM warning that asks the caller to try again.
func isWarningRetry(err error) bool {
	return rcIs(err, tpm2.TPMRCRetry) || rcIs(err, tpm2.TPMRCYielded) ||
		rcIs(err, tpm2.TPMRCTesting) || rcIs(err, tpm2.TPMRCNVRate)
}

func isObjectMemory(err error) bool {
	return rcIs(err, tpm2.TPMRCObjectMemory) || rcIs(err, tpm2.TPMRCMemory) ||
		rcIs(err, tpm2.TPMRCObjectHandles)
}

func isSessionMemory(err error) bool {
	return rcIs(err, tpm2.TPMRCSessionMemory) || rcIs(err, tpm2.TPMRCSessionHandles)
}

// suspectStale reports errors a handle that no longer holds our object
// would cause: a handle or session (authorization) fault, a reference to
// nothing, or a load whose parent is not the key's (TPM_RC_INTEGRITY).
func suspectStale(err error) bool {
	rc, ok := tpmRC(err)
	if !ok {
		return false
	}
	var f1 tpm2.TPMFmt1Error
	if errors.As(rc, &f1) {
		if h, _ := f1.Handle(); h {
			return true
		}
		if s, _ := f1.Session(); s {
			return true
		}
	}
	if rc >= tpm2.TPMRCReferenceH0 && rc <= tpm2.TPMRCReferenceS6 {
		return true
	}
	return rc.Is(tpm2.TPMRCIntegrity) || rc.Is(tpm2.TPMRCHandle) || isAuthFailure(err)
}

func isAuthFailure(err error) bool {
	return rcIs(err, tpm2.TPMRCBadAuth) || rcIs(err, tpm2.TPMRCAuthFail)
}

// statusFor maps a failure from a TPM command to a Parsec status and a
// cause for the log. Errors that already carry a status keep it.
func statusFor(err error) (wire.Status, string) {
	var we *wire.Error
	if errors.As(err, &we) {
		return we.Status, we.Msg
	}
	var ha *hierarchyAuthError
	if errors.As(err, &ha) {
		return wire.StatusPsaErrorNotPermitted, ha.Error()
	}
	var rc *rootChangedError
	if errors.As(err, &rc) {
		return wire.StatusPsaErrorDataCorrupt, rc.Error()
	}
	if errors.Is(err, errBadBlob) {
		return wire.StatusPsaErrorDataCorrupt, err.Error()
	}
	if isTransport(err) {
		return wire.StatusPsaErrorCommunicationFailure, "TPM unreachable: " + err.Error()
	}
	code, ok := tpmRC(err)
	if !ok {
		return wire.StatusPsaErrorCommunicationFailure, "TPM exchange failed: " + err.Error()
	}
	return statusForRC(code, err)
}

func statusForRC(rc tpm2.TPMRC, err error) (wire.Status, string) {
	switch {
	case rc.Is(tpm2.TPMRCSignature):
		return wire.StatusPsaErrorInvalidSignature, "TPM: signature does not verify"
	case isObjectMemory(err), isSessionMemory(err):
		return wire.StatusPsaErrorInsufficientMemory, "TPM out of memory for loaded objects or sessions: " + err.Error()
	case rc.Is(tpm2.TPMRCLockout):
		return wire.StatusPsaErrorNotPermitted, "TPM is in dictionary-attack lockout: " + err.Error()
	case isAuthFailure(err):
		return wire.StatusPsaErrorNotPermitted, "TPM rejected an authorization value: " + err.Error()
	case rc.Is(tpm2.TPMRCAsymmetric), rc.Is(tpm2.TPMRCHash), rc.Is(tpm2.TPMRCKeySize),
		rc.Is(tpm2.TPMRCMGF), rc.Is(tpm2.TPMRCMode), rc.Is(tpm2.TPMRCKDF),
		rc.Is(tpm2.TPMRCScheme), rc.Is(tpm2.TPMRCSymmetric), rc.Is(tpm2.TPMRCCurve):
		return wire.StatusPsaErrorNotSupported, "TPM does not support this algorithm or size: " + err.Error()
	case rc.Is(tpm2.TPMRCRetry), rc.Is(tpm2.TPMRCYielded), rc.Is(tpm2.TPMRCTesting), rc.Is(tpm2.TPMRCNVRate):
		return wire.StatusPsaErrorHardwareFailure, "TPM stayed busy: " + err.Error()
	case rc.Is(tpm2.TPMRCFailure):
		return wire.StatusPsaErrorHardwareFailure, "TPM is in failure mode: " + err.Error()
	}
	return wire.StatusPsaErrorCommunicationFailure, "TPM command failed: " + err.Error()
}

// statusErr turns err into a *wire.Error with the mapped status, keeping
// the cause in the message.
func statusErr(what string, err error) error {
	s, cause := statusFor(err)
	return &wire.Error{Status: s, Msg: fmt.Sprintf("%s: %s", what, cause)}
}
