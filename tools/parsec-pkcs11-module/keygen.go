//go:build cgo

package main

// #include "shim.h"
import "C"

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"

	"github.com/parsec-go/parsec/psa"
)

// genRequest is what C_GenerateKeyPair's templates ask for.
type genRequest struct {
	label   string
	id      []byte
	rsa     bool
	bits    uint32
	sign    bool // CKA_SIGN
	signSet bool // CKA_SIGN was given
	decrypt bool // CKA_DECRYPT (default false)
	export  bool // CKA_EXTRACTABLE true and CKA_SENSITIVE false
	allowed []C.CK_MECHANISM_TYPE
}

func tmplBool(v []byte) (bool, C.CK_RV) {
	if len(v) != 1 {
		return false, C.CKR_ATTRIBUTE_VALUE_INVALID
	}
	return v[0] != C.CK_FALSE, C.CKR_OK
}

func tmplUlong(v []byte) (C.CK_ULONG, C.CK_RV) {
	switch len(v) {
	case len(ulongBytes(0)):
		if len(v) == 8 {
			return C.CK_ULONG(binary.NativeEndian.Uint64(v)), C.CKR_OK
		}
		return C.CK_ULONG(binary.NativeEndian.Uint32(v)), C.CKR_OK
	}
	return 0, C.CKR_ATTRIBUTE_VALUE_INVALID
}

// parseGen reads both templates of C_GenerateKeyPair.
func parseGen(mech C.CK_MECHANISM_TYPE, pub, priv []tmplAttr) (genRequest, C.CK_RV) {
	r := genRequest{rsa: mech == C.CKM_RSA_PKCS_KEY_PAIR_GEN}
	extractable, sensitive := false, true
	haveCurve := false
	for _, part := range [][]tmplAttr{pub, priv} {
		for _, a := range part {
			var rv C.CK_RV = C.CKR_OK
			switch a.typ {
			case C.CKA_LABEL:
				r.label = string(a.val)
			case C.CKA_ID:
				r.id = append([]byte{}, a.val...)
			case C.CKA_EC_PARAMS:
				if r.rsa {
					return r, C.CKR_TEMPLATE_INCONSISTENT
				}
				bits, ok := curveBits(a.val)
				if !ok {
					return r, C.CKR_CURVE_NOT_SUPPORTED
				}
				r.bits, haveCurve = bits, true
			case C.CKA_MODULUS_BITS:
				var n C.CK_ULONG
				n, rv = tmplUlong(a.val)
				if rv == C.CKR_OK && (n < 2048 || n > 4096 || n%8 != 0) {
					return r, C.CKR_KEY_SIZE_RANGE
				}
				r.bits = uint32(n)
			case C.CKA_PUBLIC_EXPONENT:
				e := bytes.TrimLeft(a.val, "\x00")
				if !bytes.Equal(e, []byte{1, 0, 1}) {
					return r, C.CKR_ATTRIBUTE_VALUE_INVALID
				}
			case C.CKA_SIGN:
				r.sign, rv = tmplBool(a.val)
				r.signSet = true
			case C.CKA_DECRYPT:
				r.decrypt, rv = tmplBool(a.val)
			case C.CKA_EXTRACTABLE:
				extractable, rv = tmplBool(a.val)
			case C.CKA_SENSITIVE:
				sensitive, rv = tmplBool(a.val)
			case C.CKA_ALLOWED_MECHANISMS:
				n := len(ulongBytes(0))
				if len(a.val)%n != 0 {
					return r, C.CKR_ATTRIBUTE_VALUE_INVALID
				}
				for i := 0; i < len(a.val); i += n {
					m, _ := tmplUlong(a.val[i : i+n])
					r.allowed = append(r.allowed, C.CK_MECHANISM_TYPE(m))
				}
			case C.CKA_CLASS, C.CKA_KEY_TYPE, C.CKA_TOKEN, C.CKA_PRIVATE, C.CKA_VERIFY, C.CKA_ENCRYPT,
				C.CKA_WRAP, C.CKA_UNWRAP, C.CKA_DERIVE, C.CKA_MODIFIABLE, C.CKA_SUBJECT, C.CKA_COPYABLE,
				C.CKA_DESTROYABLE, C.CKA_START_DATE, C.CKA_END_DATE, C.CKA_SIGN_RECOVER, C.CKA_VERIFY_RECOVER:
				// Accepted and implied: every key is a token object.
			default:
				return r, C.CKR_ATTRIBUTE_TYPE_INVALID
			}
			if rv != C.CKR_OK {
				return r, rv
			}
		}
	}
	if r.rsa && r.bits == 0 {
		return r, C.CKR_TEMPLATE_INCOMPLETE
	}
	if !r.rsa && !haveCurve {
		return r, C.CKR_TEMPLATE_INCOMPLETE
	}
	r.export = extractable && !sensitive
	return r, C.CKR_OK
}

// curveBits reads CKA_EC_PARAMS: a named curve's DER object identifier.
func curveBits(der []byte) (uint32, bool) {
	var oid asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(der, &oid); err != nil || len(rest) != 0 {
		return 0, false
	}
	for bits, o := range curveOIDs {
		if o.Equal(oid) {
			return bits, true
		}
	}
	return 0, false
}

// name is the Parsec key name for the request (see doc.go).
func (r genRequest) name() (string, error) {
	label := r.label
	if label == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		label = "pkcs11-" + hex.EncodeToString(b[:])
	}
	return joinName(label, r.id), nil
}

func wants(allowed []C.CK_MECHANISM_TYPE, kind mechKind) bool {
	for _, m := range allowed {
		if spec, ok := mechs[m]; ok && spec.kind == kind {
			return true
		}
	}
	return false
}

// ecHash is the hash of a new EC key's ECDSA policy. P-256 keys sign with
// SHA-256, as parsec-tool's create-ecc-key makes them (so parsec-tool can
// sign with them, and TLS 1.3 pairs that hash with that curve); P-384 and
// P-521 keys with any hash, as applications often keep SHA-256 digests with
// them (openssl req does). CKA_ALLOWED_MECHANISMS naming an ECDSA mechanism
// with another hash than SHA-256 makes a P-256 key any-hash too.
func ecHash(bits uint32, allowed []C.CK_MECHANISM_TYPE) psa.Algorithm {
	if bits != 256 {
		return psa.AlgAnyHash
	}
	for _, m := range allowed {
		if spec, ok := mechs[m]; ok && spec.kind == mechECDSA && spec.hash != 0 && spec.hash != crypto.SHA256 {
			return psa.AlgAnyHash
		}
	}
	return psa.AlgSHA256
}

// attributes is the PSA key for the request. PSA keys have one algorithm:
// EC keys sign with ECDSA (see ecHash); RSA keys sign with PKCS#1 v1.5 over
// any hash, or PSS when CKA_ALLOWED_MECHANISMS names only PSS mechanisms,
// or decrypt when CKA_DECRYPT is true and CKA_SIGN is not (PKCS#1 v1.5, or
// OAEP with SHA-256 when CKA_ALLOWED_MECHANISMS names CKM_RSA_PKCS_OAEP: the
// mechanism's hash parameter is not known at generation).
func (r genRequest) attributes() psa.Attributes {
	var a psa.Attributes
	a.Bits = r.bits
	if !r.rsa {
		a.Type = psa.ECCKeyPair(psa.EccSecpR1)
		a.Usage = psa.UsageSignHash | psa.UsageVerifyHash | psa.UsageSignMessage | psa.UsageVerifyMessage
		a.Alg = psa.ECDSA(ecHash(r.bits, r.allowed))
	} else {
		a.Type = psa.KeyTypeRSAKeyPair
		switch {
		case r.decrypt && !(r.signSet && r.sign):
			a.Usage = psa.UsageDecrypt | psa.UsageEncrypt
			a.Alg = psa.AlgRSAPKCS1v15Crypt
			if wants(r.allowed, mechOAEP) {
				a.Alg = psa.RSAOAEP(psa.AlgSHA256)
			}
		case wants(r.allowed, mechPSS) && !wants(r.allowed, mechPKCS1):
			a.Usage = psa.UsageSignHash | psa.UsageVerifyHash | psa.UsageSignMessage | psa.UsageVerifyMessage
			a.Alg = psa.RSAPSS(psa.AlgAnyHash)
		default:
			a.Usage = psa.UsageSignHash | psa.UsageVerifyHash | psa.UsageSignMessage | psa.UsageVerifyMessage
			a.Alg = psa.RSAPKCS1v15Sign(psa.AlgAnyHash)
		}
	}
	if r.export {
		a.Usage |= psa.UsageExport
	}
	return a
}
