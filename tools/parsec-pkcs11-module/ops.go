//go:build cgo

package main

// #include "shim.h"
import "C"

import (
	"errors"
	"unsafe"

	"github.com/parsec-go/parsec/wire"
)

// objectLocked resolves an object handle within a session's token.
func (m *module) objectLocked(sl *slot, h C.CK_OBJECT_HANDLE) (*object, C.CK_RV) {
	o, ok := m.objs.byHandle[h]
	if !ok || o.key.prov != sl.id {
		return nil, C.CKR_OBJECT_HANDLE_INVALID
	}
	return o, C.CKR_OK
}

//export goC_FindObjectsInit
func goC_FindObjectsInit(h C.CK_SESSION_HANDLE, t C.CK_ATTRIBUTE_PTR, n C.CK_ULONG) C.CK_RV {
	tmpl, rv := template(t, n)
	if rv != C.CKR_OK {
		return rv
	}
	var sl *slot
	rv = mod.withSession(h, func(s *session, ss *slot) C.CK_RV {
		if s.finding {
			return C.CKR_OPERATION_ACTIVE
		}
		sl = ss
		return C.CKR_OK
	})
	if rv != C.CKR_OK {
		return rv
	}
	cx, cancel := ctx()
	keys, err := sl.c.ListKeys(cx)
	cancel()
	if err != nil {
		return toRV(err)
	}
	return mod.withSession(h, func(s *session, sl *slot) C.CK_RV {
		if s.finding {
			return C.CKR_OPERATION_ACTIVE
		}
		s.find = s.find[:0]
		for _, oh := range mod.objs.sync(sl.id, keys) {
			if (attrSource{sl, mod.objs.byHandle[oh]}).matches(tmpl) {
				s.find = append(s.find, oh)
			}
		}
		s.finding = true
		return C.CKR_OK
	})
}

//export goC_FindObjects
func goC_FindObjects(h C.CK_SESSION_HANDLE, out C.CK_OBJECT_HANDLE_PTR, max C.CK_ULONG, n C.CK_ULONG_PTR) C.CK_RV {
	if n == nil || (out == nil && max != 0) {
		return C.CKR_ARGUMENTS_BAD
	}
	return mod.withSession(h, func(s *session, _ *slot) C.CK_RV {
		if !s.finding {
			return C.CKR_OPERATION_NOT_INITIALIZED
		}
		k := copy(unsafe.Slice(out, max), s.find)
		s.find = s.find[k:]
		*n = C.CK_ULONG(k)
		return C.CKR_OK
	})
}

//export goC_FindObjectsFinal
func goC_FindObjectsFinal(h C.CK_SESSION_HANDLE) C.CK_RV {
	return mod.withSession(h, func(s *session, _ *slot) C.CK_RV {
		if !s.finding {
			return C.CKR_OPERATION_NOT_INITIALIZED
		}
		s.find, s.finding = nil, false
		return C.CKR_OK
	})
}

//export goC_GetAttributeValue
func goC_GetAttributeValue(h C.CK_SESSION_HANDLE, oh C.CK_OBJECT_HANDLE, t C.CK_ATTRIBUTE_PTR, n C.CK_ULONG) C.CK_RV {
	if t == nil && n != 0 {
		return C.CKR_ARGUMENTS_BAD
	}
	return mod.withSession(h, func(_ *session, sl *slot) C.CK_RV {
		o, rv := mod.objectLocked(sl, oh)
		if rv != C.CKR_OK {
			return rv
		}
		src := attrSource{sl, o}
		result := C.CK_RV(C.CKR_OK)
		for i := range unsafe.Slice(t, n) {
			a := &unsafe.Slice(t, n)[i]
			v, err := src.value(a._type)
			var re rvError
			switch {
			case errors.As(err, &re) && (re == errSensitive || re == errInvalid):
				a.ulValueLen = C.CK_UNAVAILABLE_INFORMATION
				result = C.CK_RV(re)
			case err != nil:
				return toRV(err)
			case a.pValue == nil:
				a.ulValueLen = C.CK_ULONG(len(v))
			case a.ulValueLen < C.CK_ULONG(len(v)):
				a.ulValueLen = C.CK_UNAVAILABLE_INFORMATION
				result = C.CKR_BUFFER_TOO_SMALL
			default:
				copy(unsafe.Slice((*byte)(a.pValue), len(v)), v)
				a.ulValueLen = C.CK_ULONG(len(v))
			}
		}
		return result
	})
}

//export goC_DestroyObject
func goC_DestroyObject(h C.CK_SESSION_HANDLE, oh C.CK_OBJECT_HANDLE) C.CK_RV {
	var sl *slot
	var name string
	rv := mod.withSession(h, func(s *session, ss *slot) C.CK_RV {
		if !s.rw {
			return C.CKR_SESSION_READ_ONLY
		}
		o, rv := mod.objectLocked(ss, oh)
		if rv != C.CKR_OK {
			return rv
		}
		sl, name = ss, o.key.name
		return C.CKR_OK
	})
	if rv != C.CKR_OK {
		return rv
	}
	// Both objects of a key pair are the one Parsec key: destroying
	// either destroys the key.
	cx, cancel := ctx()
	err := sl.c.DestroyKey(cx, name)
	cancel()
	if err != nil && !errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
		return toRV(err)
	}
	if rv := mod.lock(); rv != C.CKR_OK {
		return rv
	}
	mod.objs.removeKey(sl.id, name)
	mod.mu.Unlock()
	return toRV(err)
}

//export goC_GenerateKeyPair
func goC_GenerateKeyPair(h C.CK_SESSION_HANDLE, mech C.CK_MECHANISM_PTR, pt C.CK_ATTRIBUTE_PTR, pn C.CK_ULONG,
	kt C.CK_ATTRIBUTE_PTR, kn C.CK_ULONG, pubH, privH C.CK_OBJECT_HANDLE_PTR) C.CK_RV {
	if mech == nil || pubH == nil || privH == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	if mech.mechanism != C.CKM_EC_KEY_PAIR_GEN && mech.mechanism != C.CKM_RSA_PKCS_KEY_PAIR_GEN {
		return C.CKR_MECHANISM_INVALID
	}
	pub, rv := template(pt, pn)
	if rv != C.CKR_OK {
		return rv
	}
	priv, rv := template(kt, kn)
	if rv != C.CKR_OK {
		return rv
	}
	req, rv := parseGen(mech.mechanism, pub, priv)
	if rv != C.CKR_OK {
		return rv
	}
	var sl *slot
	rv = mod.withSession(h, func(s *session, ss *slot) C.CK_RV {
		if !s.rw {
			return C.CKR_SESSION_READ_ONLY
		}
		sl = ss
		return C.CKR_OK
	})
	if rv != C.CKR_OK {
		return rv
	}
	name, err := req.name()
	if err != nil {
		return C.CKR_FUNCTION_FAILED
	}
	attrs := req.attributes()
	cx, cancel := ctx()
	err = sl.c.GenerateKey(cx, name, attrs)
	cancel()
	if err != nil {
		if errors.Is(err, wire.StatusPsaErrorAlreadyExists) {
			// The label (and id) name an existing key of this application.
			return C.CKR_ATTRIBUTE_VALUE_INVALID
		}
		return toRV(err)
	}
	if rv := mod.lock(); rv != C.CKR_OK {
		return rv
	}
	defer mod.mu.Unlock()
	*privH = mod.objs.put(objKey{sl.id, name, C.CKO_PRIVATE_KEY}, attrs)
	*pubH = mod.objs.put(objKey{sl.id, name, C.CKO_PUBLIC_KEY}, attrs)
	return C.CKR_OK
}

// initSign starts a signature (sign) or verification (!sign).
func initSign(h C.CK_SESSION_HANDLE, mech C.CK_MECHANISM_PTR, oh C.CK_OBJECT_HANDLE, sign bool) C.CK_RV {
	var op *signOp
	var src attrSource
	rv := mod.withSession(h, func(s *session, sl *slot) C.CK_RV {
		if (sign && s.sign != nil) || (!sign && s.verify != nil) {
			return C.CKR_OPERATION_ACTIVE
		}
		o, rv := mod.objectLocked(sl, oh)
		if rv != C.CKR_OK {
			return rv
		}
		op, rv = newSignOp(sl, o, mech, sign)
		if rv != C.CKR_OK {
			return rv
		}
		src = attrSource{sl, o}
		if sign {
			s.sign = op
			return C.CKR_OK
		}
		// The public key is usually cached; fetching it holds the lock
		// only the first time.
		if err := op.loadPublic(src); err != nil {
			return toRV(err)
		}
		s.verify = op
		return C.CKR_OK
	})
	return rv
}

// signState returns the session's sign or verify operation.
func signState(h C.CK_SESSION_HANDLE, sign bool) (*signOp, C.CK_RV) {
	var op *signOp
	rv := mod.withSession(h, func(s *session, _ *slot) C.CK_RV {
		op = s.verify
		if sign {
			op = s.sign
		}
		if op == nil {
			return C.CKR_OPERATION_NOT_INITIALIZED
		}
		return C.CKR_OK
	})
	return op, rv
}

// endSign ends the session's operation if it is still op.
func endSign(h C.CK_SESSION_HANDLE, op *signOp) {
	_ = mod.withSession(h, func(s *session, _ *slot) C.CK_RV {
		if s.sign == op {
			s.sign = nil
		}
		if s.verify == op {
			s.verify = nil
		}
		return C.CKR_OK
	})
}

//export goC_SignInit
func goC_SignInit(h C.CK_SESSION_HANDLE, mech C.CK_MECHANISM_PTR, k C.CK_OBJECT_HANDLE) C.CK_RV {
	return initSign(h, mech, k, true)
}

// finishSign produces the signature with PKCS#11's output convention.
func finishSign(h C.CK_SESSION_HANDLE, op *signOp, sig C.CK_BYTE_PTR, sigLen C.CK_ULONG_PTR) C.CK_RV {
	if sig == nil {
		*sigLen = C.CK_ULONG(op.sigLen())
		return C.CKR_OK
	}
	if *sigLen < C.CK_ULONG(op.sigLen()) {
		*sigLen = C.CK_ULONG(op.sigLen())
		return C.CKR_BUFFER_TOO_SMALL
	}
	res, err := op.sign()
	endSign(h, op)
	if err != nil {
		return toRV(err)
	}
	return output(sig, sigLen, res)
}

//export goC_Sign
func goC_Sign(h C.CK_SESSION_HANDLE, data C.CK_BYTE_PTR, n C.CK_ULONG, sig C.CK_BYTE_PTR, sigLen C.CK_ULONG_PTR) C.CK_RV {
	if sigLen == nil || (data == nil && n != 0) {
		return C.CKR_ARGUMENTS_BAD
	}
	op, rv := signState(h, true)
	if rv != C.CKR_OK {
		return rv
	}
	if op.multi {
		return C.CKR_OPERATION_ACTIVE
	}
	if sig != nil && *sigLen >= C.CK_ULONG(op.sigLen()) {
		// One-shot: the input is replaced, not appended, so that a
		// length query before this call does not count it twice.
		op.buf = nil
		if op.h != nil {
			op.h.Reset()
		}
		op.update(goBytes(data, n))
		op.multi = false
	}
	return finishSign(h, op, sig, sigLen)
}

// updateSign feeds C_SignUpdate's or C_VerifyUpdate's data.
func updateSign(h C.CK_SESSION_HANDLE, data C.CK_BYTE_PTR, n C.CK_ULONG, sign bool) C.CK_RV {
	if data == nil && n != 0 {
		return C.CKR_ARGUMENTS_BAD
	}
	op, rv := signState(h, sign)
	if rv != C.CKR_OK {
		return rv
	}
	op.update(goBytes(data, n))
	return C.CKR_OK
}

//export goC_SignUpdate
func goC_SignUpdate(h C.CK_SESSION_HANDLE, data C.CK_BYTE_PTR, n C.CK_ULONG) C.CK_RV {
	return updateSign(h, data, n, true)
}

//export goC_SignFinal
func goC_SignFinal(h C.CK_SESSION_HANDLE, sig C.CK_BYTE_PTR, sigLen C.CK_ULONG_PTR) C.CK_RV {
	if sigLen == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	op, rv := signState(h, true)
	if rv != C.CKR_OK {
		return rv
	}
	return finishSign(h, op, sig, sigLen)
}

//export goC_VerifyInit
func goC_VerifyInit(h C.CK_SESSION_HANDLE, mech C.CK_MECHANISM_PTR, k C.CK_OBJECT_HANDLE) C.CK_RV {
	return initSign(h, mech, k, false)
}

//export goC_Verify
func goC_Verify(h C.CK_SESSION_HANDLE, data C.CK_BYTE_PTR, n C.CK_ULONG, sig C.CK_BYTE_PTR, sigLen C.CK_ULONG) C.CK_RV {
	if (data == nil && n != 0) || (sig == nil && sigLen != 0) {
		return C.CKR_ARGUMENTS_BAD
	}
	op, rv := signState(h, false)
	if rv != C.CKR_OK {
		return rv
	}
	defer endSign(h, op)
	if op.multi {
		return C.CKR_OPERATION_ACTIVE
	}
	op.update(goBytes(data, n))
	return toRV(op.verify(goBytes(sig, sigLen)))
}

//export goC_VerifyUpdate
func goC_VerifyUpdate(h C.CK_SESSION_HANDLE, data C.CK_BYTE_PTR, n C.CK_ULONG) C.CK_RV {
	return updateSign(h, data, n, false)
}

//export goC_VerifyFinal
func goC_VerifyFinal(h C.CK_SESSION_HANDLE, sig C.CK_BYTE_PTR, sigLen C.CK_ULONG) C.CK_RV {
	if sig == nil && sigLen != 0 {
		return C.CKR_ARGUMENTS_BAD
	}
	op, rv := signState(h, false)
	if rv != C.CKR_OK {
		return rv
	}
	defer endSign(h, op)
	return toRV(op.verify(goBytes(sig, sigLen)))
}

//export goC_DecryptInit
func goC_DecryptInit(h C.CK_SESSION_HANDLE, mech C.CK_MECHANISM_PTR, oh C.CK_OBJECT_HANDLE) C.CK_RV {
	return mod.withSession(h, func(s *session, sl *slot) C.CK_RV {
		if s.dec != nil {
			return C.CKR_OPERATION_ACTIVE
		}
		o, rv := mod.objectLocked(sl, oh)
		if rv != C.CKR_OK {
			return rv
		}
		op, rv := newDecryptOp(sl, o, mech)
		if rv == C.CKR_OK {
			s.dec = op
		}
		return rv
	})
}

//export goC_Decrypt
func goC_Decrypt(h C.CK_SESSION_HANDLE, ct C.CK_BYTE_PTR, n C.CK_ULONG, out C.CK_BYTE_PTR, outLen C.CK_ULONG_PTR) C.CK_RV {
	if outLen == nil || (ct == nil && n != 0) {
		return C.CKR_ARGUMENTS_BAD
	}
	var op *decryptOp
	rv := mod.withSession(h, func(s *session, _ *slot) C.CK_RV {
		if op = s.dec; op == nil {
			return C.CKR_OPERATION_NOT_INITIALIZED
		}
		return C.CKR_OK
	})
	if rv != C.CKR_OK {
		return rv
	}
	res, err := op.decrypt(goBytes(ct, n))
	if err == nil {
		rv = output(out, outLen, res)
		if out == nil || rv == C.CKR_BUFFER_TOO_SMALL {
			return rv
		}
	} else {
		rv = toRV(err)
		if rv == C.CKR_ARGUMENTS_BAD || rv == C.CKR_DATA_INVALID {
			rv = C.CKR_ENCRYPTED_DATA_INVALID
		}
	}
	_ = mod.withSession(h, func(s *session, _ *slot) C.CK_RV {
		if s.dec == op {
			s.dec = nil
		}
		return C.CKR_OK
	})
	return rv
}
