//go:build cgo

package main

// #include "shim.h"
import "C"

import (
	"unsafe"

	"github.com/parsec-go/parsec/wire"
)

// The goC_* functions are the Go halves of the C_* entry points of shim.c.
// They check their arguments, hold the module lock only around the module's
// tables, and never across a call to the service, so that threads (and
// sessions) sign in parallel (CKF_OS_LOCKING_OK: no locking callbacks are
// needed, the module uses its own).

const (
	libraryVersionMajor = 0
	libraryVersionMinor = 1
)

// padded copies s into a fixed, blank-padded PKCS#11 text field.
func padded(dst unsafe.Pointer, n int, s string) {
	b := unsafe.Slice((*byte)(dst), n)
	for i := range b {
		b[i] = ' '
	}
	copy(b, s)
}

func goBytes(p C.CK_BYTE_PTR, n C.CK_ULONG) []byte {
	if p == nil || n == 0 {
		return []byte{}
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n))
}

// template copies a C template into Go memory.
func template(t C.CK_ATTRIBUTE_PTR, n C.CK_ULONG) ([]tmplAttr, C.CK_RV) {
	if n == 0 {
		return nil, C.CKR_OK
	}
	if t == nil {
		return nil, C.CKR_ARGUMENTS_BAD
	}
	var out []tmplAttr
	for _, a := range unsafe.Slice(t, n) {
		if a.pValue == nil && a.ulValueLen != 0 {
			return nil, C.CKR_ATTRIBUTE_VALUE_INVALID
		}
		out = append(out, tmplAttr{a._type, goBytes(C.CK_BYTE_PTR(a.pValue), a.ulValueLen)})
	}
	return out, C.CKR_OK
}

// output implements PKCS#11's output convention (§5.2): a NULL buffer asks
// for the length, a short one gets CKR_BUFFER_TOO_SMALL.
func output(out C.CK_BYTE_PTR, outLen C.CK_ULONG_PTR, data []byte) C.CK_RV {
	if out == nil {
		*outLen = C.CK_ULONG(len(data))
		return C.CKR_OK
	}
	if *outLen < C.CK_ULONG(len(data)) {
		*outLen = C.CK_ULONG(len(data))
		return C.CKR_BUFFER_TOO_SMALL
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(out)), len(data)), data)
	*outLen = C.CK_ULONG(len(data))
	return C.CKR_OK
}

// outputList is output for arrays of CK_ULONG-sized items.
func outputList[T any](list *T, n C.CK_ULONG_PTR, items []T) C.CK_RV {
	count := C.CK_ULONG(len(items))
	if list == nil {
		*n = count
		return C.CKR_OK
	}
	if *n < count {
		*n = count
		return C.CKR_BUFFER_TOO_SMALL
	}
	copy(unsafe.Slice(list, count), items)
	*n = count
	return C.CKR_OK
}

//export goC_Initialize
func goC_Initialize(args C.CK_VOID_PTR) C.CK_RV {
	if args != nil {
		a := (*C.CK_C_INITIALIZE_ARGS)(args)
		if a.pReserved != nil {
			return C.CKR_ARGUMENTS_BAD
		}
		// Application-supplied mutexes are not used: the module locks
		// with the OS's primitives, which CKF_OS_LOCKING_OK permits, and
		// it is wrong only when the application forbids OS locking.
		custom := a.CreateMutex != nil
		if custom != (a.DestroyMutex != nil) || custom != (a.LockMutex != nil) || custom != (a.UnlockMutex != nil) {
			return C.CKR_ARGUMENTS_BAD
		}
		if custom && a.flags&C.CKF_OS_LOCKING_OK == 0 {
			return C.CKR_CANT_LOCK
		}
		// CKF_LIBRARY_CANT_CREATE_OS_THREADS is not refused although the Go
		// runtime has threads of its own: p11-kit (so GnuTLS) always sets
		// it, and those threads never call back into the application.
	}
	return mod.initialize()
}

//export goC_Finalize
func goC_Finalize(reserved C.CK_VOID_PTR) C.CK_RV {
	if reserved != nil {
		return C.CKR_ARGUMENTS_BAD
	}
	return mod.finalize()
}

//export goC_GetInfo
func goC_GetInfo(info C.CK_INFO_PTR) C.CK_RV {
	if rv := mod.lock(); rv != C.CKR_OK {
		return rv
	}
	mod.mu.Unlock()
	if info == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	info.cryptokiVersion = C.CK_VERSION{major: 2, minor: 40}
	padded(unsafe.Pointer(&info.manufacturerID[0]), len(info.manufacturerID), "Parsec")
	info.flags = 0
	padded(unsafe.Pointer(&info.libraryDescription[0]), len(info.libraryDescription), "Parsec service PKCS#11 module")
	info.libraryVersion = C.CK_VERSION{major: libraryVersionMajor, minor: libraryVersionMinor}
	return C.CKR_OK
}

//export goC_GetSlotList
func goC_GetSlotList(present C.CK_BBOOL, list C.CK_SLOT_ID_PTR, n C.CK_ULONG_PTR) C.CK_RV {
	if n == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	if rv := mod.lock(); rv != C.CKR_OK {
		return rv
	}
	defer mod.mu.Unlock()
	if list == nil {
		// A service that was down at C_Initialize is looked for again.
		_ = mod.discoverLocked()
	}
	ids := make([]C.CK_SLOT_ID, len(mod.slots))
	for i, s := range mod.slots {
		ids[i] = C.CK_SLOT_ID(s.id)
	}
	return outputList(list, n, ids)
}

//export goC_GetSlotInfo
func goC_GetSlotInfo(id C.CK_SLOT_ID, info C.CK_SLOT_INFO_PTR) C.CK_RV {
	if info == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	return mod.withSlot(id, func(s *slot) C.CK_RV {
		padded(unsafe.Pointer(&info.slotDescription[0]), len(info.slotDescription), s.info.Description)
		padded(unsafe.Pointer(&info.manufacturerID[0]), len(info.manufacturerID), s.info.Vendor)
		info.flags = C.CKF_TOKEN_PRESENT
		info.hardwareVersion = C.CK_VERSION{major: C.uchar(s.info.Version.Major), minor: C.uchar(s.info.Version.Minor)}
		info.firmwareVersion = info.hardwareVersion
		return C.CKR_OK
	})
}

// tokenLabel is a provider's token label: its default name.
func tokenLabel(id wire.ProviderID) string {
	if d := id.Desc(); d.DefaultName != "" {
		return d.DefaultName
	}
	return id.String()
}

//export goC_GetTokenInfo
func goC_GetTokenInfo(id C.CK_SLOT_ID, info C.CK_TOKEN_INFO_PTR) C.CK_RV {
	if info == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	return mod.withSlot(id, func(s *slot) C.CK_RV {
		padded(unsafe.Pointer(&info.label[0]), len(info.label), tokenLabel(s.id))
		padded(unsafe.Pointer(&info.manufacturerID[0]), len(info.manufacturerID), s.info.Vendor)
		padded(unsafe.Pointer(&info.model[0]), len(info.model), "Parsec")
		serial := make([]byte, 0, 16)
		for _, c := range s.info.UUID {
			if c != '-' && len(serial) < 16 {
				serial = append(serial, byte(c))
			}
		}
		padded(unsafe.Pointer(&info.serialNumber[0]), len(info.serialNumber), string(serial))
		info.flags = C.CKF_RNG | C.CKF_TOKEN_INITIALIZED | C.CKF_USER_PIN_INITIALIZED
		info.ulMaxSessionCount = C.CK_EFFECTIVELY_INFINITE
		info.ulSessionCount = C.CK_UNAVAILABLE_INFORMATION
		info.ulMaxRwSessionCount = C.CK_EFFECTIVELY_INFINITE
		info.ulRwSessionCount = C.CK_UNAVAILABLE_INFORMATION
		info.ulMaxPinLen = 0
		info.ulMinPinLen = 0
		info.ulTotalPublicMemory = C.CK_UNAVAILABLE_INFORMATION
		info.ulFreePublicMemory = C.CK_UNAVAILABLE_INFORMATION
		info.ulTotalPrivateMemory = C.CK_UNAVAILABLE_INFORMATION
		info.ulFreePrivateMemory = C.CK_UNAVAILABLE_INFORMATION
		info.hardwareVersion = C.CK_VERSION{major: C.uchar(s.info.Version.Major), minor: C.uchar(s.info.Version.Minor)}
		info.firmwareVersion = info.hardwareVersion
		padded(unsafe.Pointer(&info.utcTime[0]), len(info.utcTime), "")
		return C.CKR_OK
	})
}

//export goC_GetMechanismList
func goC_GetMechanismList(id C.CK_SLOT_ID, list C.CK_MECHANISM_TYPE_PTR, n C.CK_ULONG_PTR) C.CK_RV {
	if n == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	return mod.withSlot(id, func(*slot) C.CK_RV {
		return outputList(list, n, mechOrder)
	})
}

//export goC_GetMechanismInfo
func goC_GetMechanismInfo(id C.CK_SLOT_ID, t C.CK_MECHANISM_TYPE, info C.CK_MECHANISM_INFO_PTR) C.CK_RV {
	if info == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	return mod.withSlot(id, func(*slot) C.CK_RV {
		spec, ok := mechs[t]
		if !ok {
			return C.CKR_MECHANISM_INVALID
		}
		if spec.rsa {
			info.ulMinKeySize, info.ulMaxKeySize = 2048, 4096
		} else {
			info.ulMinKeySize, info.ulMaxKeySize = 256, 521
		}
		// CKF_HW: the service performs the operation, not this library
		// (pkcs11-tool --test looks for it).
		info.flags = spec.flags | C.CKF_HW
		return C.CKR_OK
	})
}

//export goC_OpenSession
func goC_OpenSession(id C.CK_SLOT_ID, flags C.CK_FLAGS, h C.CK_SESSION_HANDLE_PTR) C.CK_RV {
	if h == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	s, rv := mod.openSession(id, flags)
	if rv == C.CKR_OK {
		*h = s
	}
	return rv
}

//export goC_CloseSession
func goC_CloseSession(h C.CK_SESSION_HANDLE) C.CK_RV { return mod.closeSession(h) }

//export goC_CloseAllSessions
func goC_CloseAllSessions(id C.CK_SLOT_ID) C.CK_RV { return mod.closeAllSessions(id) }

//export goC_GetSessionInfo
func goC_GetSessionInfo(h C.CK_SESSION_HANDLE, info C.CK_SESSION_INFO_PTR) C.CK_RV {
	if info == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	return mod.withSession(h, func(s *session, _ *slot) C.CK_RV {
		info.slotID = C.CK_SLOT_ID(s.slot)
		info.flags = C.CKF_SERIAL_SESSION
		info.state = C.CKS_RO_USER_FUNCTIONS
		if s.rw {
			info.flags |= C.CKF_RW_SESSION
			info.state = C.CKS_RW_USER_FUNCTIONS
		}
		info.ulDeviceError = 0
		return C.CKR_OK
	})
}

// goC_Login accepts any PIN: the service authenticates the process itself
// (its uid, or its JWT-SVID), so tokens need no login and every session is
// in the user state from the start.
//
//export goC_Login
func goC_Login(h C.CK_SESSION_HANDLE, user C.CK_USER_TYPE) C.CK_RV {
	return mod.withSession(h, func(*session, *slot) C.CK_RV {
		if user != C.CKU_USER && user != C.CKU_CONTEXT_SPECIFIC {
			return C.CKR_USER_TYPE_INVALID
		}
		return C.CKR_OK
	})
}

//export goC_Logout
func goC_Logout(h C.CK_SESSION_HANDLE) C.CK_RV {
	return mod.withSession(h, func(*session, *slot) C.CK_RV { return C.CKR_OK })
}

//export goC_GenerateRandom
func goC_GenerateRandom(h C.CK_SESSION_HANDLE, out C.CK_BYTE_PTR, n C.CK_ULONG) C.CK_RV {
	if out == nil && n != 0 {
		return C.CKR_ARGUMENTS_BAD
	}
	var sl *slot
	if rv := mod.withSession(h, func(_ *session, s *slot) C.CK_RV { sl = s; return C.CKR_OK }); rv != C.CKR_OK {
		return rv
	}
	if n == 0 {
		return C.CKR_OK
	}
	cx, cancel := ctx()
	defer cancel()
	r, err := sl.c.GenerateRandom(cx, int(n))
	if err != nil {
		return toRV(err)
	}
	if len(r) != int(n) {
		return C.CKR_DEVICE_ERROR
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(out)), n), r)
	return C.CKR_OK
}
