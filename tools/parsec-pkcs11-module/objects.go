//go:build cgo

package main

// #include "shim.h"
import "C"

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"unsafe"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
)

// idSuffix marks a CKA_ID given at generation inside the Parsec key name:
// "<label>#id=<lowercase hex>". Parsec keeps nothing but the name for a key,
// so the name is where the id survives restarts and is seen by every client.
const idSuffix = "#id="

// idLen is the length of a CKA_ID derived from a key name.
const idLen = 16

// splitName returns a key's CKA_LABEL and CKA_ID from its Parsec name.
func splitName(name string) (label string, id []byte) {
	if i := strings.LastIndex(name, idSuffix); i >= 0 {
		h := name[i+len(idSuffix):]
		if b, err := hex.DecodeString(h); err == nil && len(b) > 0 && h == strings.ToLower(h) {
			return name[:i], b
		}
	}
	sum := sha256.Sum256([]byte("parsec-pkcs11 key id:" + name))
	return name, sum[:idLen]
}

// joinName is the Parsec name for a key generated with this label and id
// (id nil: none given). An id equal to the one derived from the label needs
// no suffix.
func joinName(label string, id []byte) string {
	if id == nil {
		return label
	}
	if _, derived := splitName(label); bytes.Equal(derived, id) {
		return label
	}
	return label + idSuffix + hex.EncodeToString(id)
}

// objKey names an object: one class of one key of one provider.
type objKey struct {
	prov  wire.ProviderID
	name  string
	class C.CK_OBJECT_CLASS
}

// object is a key object. The public key is fetched from the service on
// first use and kept while the key stays listed.
type object struct {
	key   objKey
	attrs psa.Attributes
	pub   []byte
}

// objectTable hands out stable handles: the same key and class keep their
// handle for as long as the module is initialised.
type objectTable struct {
	byHandle map[C.CK_OBJECT_HANDLE]*object
	byKey    map[objKey]C.CK_OBJECT_HANDLE
	next     C.CK_OBJECT_HANDLE
}

func newObjectTable() objectTable {
	return objectTable{byHandle: map[C.CK_OBJECT_HANDLE]*object{}, byKey: map[objKey]C.CK_OBJECT_HANDLE{}}
}

// put adds or updates an object and returns its handle.
func (t *objectTable) put(k objKey, attrs psa.Attributes) C.CK_OBJECT_HANDLE {
	if h, ok := t.byKey[k]; ok {
		o := t.byHandle[h]
		if o.attrs != attrs {
			o.attrs, o.pub = attrs, nil
		}
		return h
	}
	t.next++
	t.byHandle[t.next] = &object{key: k, attrs: attrs}
	t.byKey[k] = t.next
	return t.next
}

// removeKey drops both objects of a key.
func (t *objectTable) removeKey(prov wire.ProviderID, name string) {
	for _, class := range []C.CK_OBJECT_CLASS{C.CKO_PRIVATE_KEY, C.CKO_PUBLIC_KEY} {
		k := objKey{prov, name, class}
		if h, ok := t.byKey[k]; ok {
			delete(t.byKey, k)
			delete(t.byHandle, h)
		}
	}
}

// classes lists the objects a key shows as: a key pair is a private and a
// public key object, a public key a public key object. Other keys
// (symmetric, DH) are not shown: no mechanism of this module uses them.
func classes(a psa.Attributes) []C.CK_OBJECT_CLASS {
	if !a.Type.IsRSA() && !a.Type.IsECC() {
		return nil
	}
	if a.Type.IsKeyPair() {
		return []C.CK_OBJECT_CLASS{C.CKO_PRIVATE_KEY, C.CKO_PUBLIC_KEY}
	}
	return []C.CK_OBJECT_CLASS{C.CKO_PUBLIC_KEY}
}

// sync replaces a provider's objects with the keys listed by the service
// and returns the handles of the provider's objects, in listing order.
func (t *objectTable) sync(prov wire.ProviderID, keys []client.KeyInfo) []C.CK_OBJECT_HANDLE {
	seen := map[objKey]bool{}
	var hs []C.CK_OBJECT_HANDLE
	for _, k := range keys {
		if k.Provider != prov {
			continue
		}
		for _, class := range classes(k.Attributes) {
			ok := objKey{prov, k.Name, class}
			seen[ok] = true
			hs = append(hs, t.put(ok, k.Attributes))
		}
	}
	for k, h := range t.byKey {
		if k.prov == prov && !seen[k] {
			delete(t.byKey, k)
			delete(t.byHandle, h)
		}
	}
	return hs
}

func ulongBytes(v C.CK_ULONG) []byte {
	b := make([]byte, unsafe.Sizeof(v))
	switch len(b) {
	case 8:
		binary.NativeEndian.PutUint64(b, uint64(v))
	default:
		binary.NativeEndian.PutUint32(b, uint32(v))
	}
	return b
}

func boolBytes(v bool) []byte {
	if v {
		return []byte{C.CK_TRUE}
	}
	return []byte{C.CK_FALSE}
}

// curveOIDs are the curves this module generates and describes.
var curveOIDs = map[uint32]asn1.ObjectIdentifier{
	256: {1, 2, 840, 10045, 3, 1, 7},
	384: {1, 3, 132, 0, 34},
	521: {1, 3, 132, 0, 35},
}

// errSensitive and errInvalid are the two ways an attribute can be absent.
var (
	errSensitive = rvError(C.CKR_ATTRIBUTE_SENSITIVE)
	errInvalid   = rvError(C.CKR_ATTRIBUTE_TYPE_INVALID)
)

// attrSource gives an object's attributes access to the service, for the
// public key and, when the policy allows export, the private key.
type attrSource struct {
	sl *slot
	o  *object
}

func (s attrSource) publicKey() ([]byte, error) {
	if s.o.pub != nil {
		return s.o.pub, nil
	}
	cx, cancel := ctx()
	defer cancel()
	pub, err := s.sl.c.ExportPublicKey(cx, s.o.key.name)
	if err != nil {
		return nil, err
	}
	s.o.pub = pub
	return pub, nil
}

func (s attrSource) exportable() bool {
	return s.o.key.class == C.CKO_PRIVATE_KEY && s.o.attrs.Usage&psa.UsageExport != 0
}

// exportKey returns the private key's export format, for the private-key
// attributes of a key whose policy allows export.
func (s attrSource) exportKey() ([]byte, error) {
	if s.o.key.class != C.CKO_PRIVATE_KEY {
		return nil, errInvalid
	}
	if !s.exportable() {
		return nil, errSensitive
	}
	cx, cancel := ctx()
	defer cancel()
	return s.sl.c.ExportKey(cx, s.o.key.name)
}

// value returns the encoding of one attribute.
func (s attrSource) value(t C.CK_ATTRIBUTE_TYPE) ([]byte, error) {
	o := s.o
	a := o.attrs
	priv := o.key.class == C.CKO_PRIVATE_KEY
	label, id := splitName(o.key.name)
	u := a.Usage
	switch t {
	case C.CKA_CLASS:
		return ulongBytes(C.CK_ULONG(o.key.class)), nil
	case C.CKA_TOKEN, C.CKA_DESTROYABLE:
		return boolBytes(true), nil
	case C.CKA_PRIVATE:
		return boolBytes(priv), nil
	case C.CKA_MODIFIABLE, C.CKA_COPYABLE, C.CKA_DERIVE, C.CKA_LOCAL, C.CKA_WRAP, C.CKA_UNWRAP,
		C.CKA_SIGN_RECOVER, C.CKA_VERIFY_RECOVER, C.CKA_TRUSTED, C.CKA_WRAP_WITH_TRUSTED,
		C.CKA_ALWAYS_AUTHENTICATE:
		return boolBytes(false), nil
	case C.CKA_LABEL:
		return []byte(label), nil
	case C.CKA_ID:
		return id, nil
	case C.CKA_SUBJECT, C.CKA_START_DATE, C.CKA_END_DATE:
		return []byte{}, nil
	case C.CKA_KEY_TYPE:
		if a.Type.IsRSA() {
			return ulongBytes(C.CKK_RSA), nil
		}
		return ulongBytes(C.CKK_EC), nil
	case C.CKA_KEY_GEN_MECHANISM:
		return ulongBytes(C.CK_UNAVAILABLE_INFORMATION), nil
	case C.CKA_ALLOWED_MECHANISMS:
		var b []byte
		for _, m := range allowedMechanisms(a) {
			b = append(b, ulongBytes(m)...)
		}
		return b, nil
	case C.CKA_SIGN:
		if !priv {
			return nil, errInvalid
		}
		return boolBytes(u&(psa.UsageSignHash|psa.UsageSignMessage) != 0), nil
	case C.CKA_DECRYPT:
		if !priv {
			return nil, errInvalid
		}
		return boolBytes(u&psa.UsageDecrypt != 0), nil
	case C.CKA_VERIFY:
		if priv {
			return nil, errInvalid
		}
		return boolBytes(u&(psa.UsageVerifyHash|psa.UsageVerifyMessage|psa.UsageSignHash) != 0), nil
	case C.CKA_ENCRYPT:
		if priv {
			return nil, errInvalid
		}
		return boolBytes(a.Alg.IsAsymEncrypt()), nil
	case C.CKA_SENSITIVE, C.CKA_ALWAYS_SENSITIVE:
		if !priv {
			return nil, errInvalid
		}
		return boolBytes(!s.exportable()), nil
	case C.CKA_EXTRACTABLE:
		if !priv {
			return nil, errInvalid
		}
		return boolBytes(s.exportable()), nil
	case C.CKA_NEVER_EXTRACTABLE:
		if !priv {
			return nil, errInvalid
		}
		return boolBytes(!s.exportable()), nil
	case C.CKA_PUBLIC_KEY_INFO:
		pub, err := s.publicKey()
		if err != nil {
			return nil, err
		}
		return client.SubjectPublicKeyInfo(pubAttrs(a), pub)
	}
	if a.Type.IsECC() {
		return s.ecValue(t)
	}
	return s.rsaValue(t)
}

func pubAttrs(a psa.Attributes) psa.Attributes {
	a.Type = a.Type.PublicKeyType()
	return a
}

func (s attrSource) ecValue(t C.CK_ATTRIBUTE_TYPE) ([]byte, error) {
	a := s.o.attrs
	switch t {
	case C.CKA_EC_PARAMS:
		oid, err := client.CurveOID(a.Type.EccFamily(), a.Bits)
		if err != nil {
			return nil, errInvalid
		}
		return asn1.Marshal(oid)
	case C.CKA_EC_POINT:
		pub, err := s.publicKey()
		if err != nil {
			return nil, err
		}
		return asn1.Marshal(pub)
	case C.CKA_VALUE:
		return s.exportKey()
	}
	return nil, errInvalid
}

func (s attrSource) rsaValue(t C.CK_ATTRIBUTE_TYPE) ([]byte, error) {
	switch t {
	case C.CKA_MODULUS, C.CKA_PUBLIC_EXPONENT:
		pub, err := s.publicKey()
		if err != nil {
			return nil, err
		}
		k, err := x509.ParsePKCS1PublicKey(pub)
		if err != nil {
			return nil, rvError(C.CKR_DEVICE_ERROR)
		}
		if t == C.CKA_MODULUS {
			return k.N.Bytes(), nil
		}
		return bigEndian(uint64(k.E)), nil
	case C.CKA_MODULUS_BITS:
		return ulongBytes(C.CK_ULONG(s.o.attrs.Bits)), nil
	case C.CKA_PRIVATE_EXPONENT, C.CKA_PRIME_1, C.CKA_PRIME_2, C.CKA_EXPONENT_1, C.CKA_EXPONENT_2, C.CKA_COEFFICIENT:
		der, err := s.exportKey()
		if err != nil {
			return nil, err
		}
		k, err := x509.ParsePKCS1PrivateKey(der)
		if err != nil || len(k.Primes) != 2 {
			return nil, rvError(C.CKR_DEVICE_ERROR)
		}
		k.Precompute()
		switch t {
		case C.CKA_PRIVATE_EXPONENT:
			return k.D.Bytes(), nil
		case C.CKA_PRIME_1:
			return k.Primes[0].Bytes(), nil
		case C.CKA_PRIME_2:
			return k.Primes[1].Bytes(), nil
		case C.CKA_EXPONENT_1:
			return k.Precomputed.Dp.Bytes(), nil
		case C.CKA_EXPONENT_2:
			return k.Precomputed.Dq.Bytes(), nil
		default:
			return k.Precomputed.Qinv.Bytes(), nil
		}
	}
	return nil, errInvalid
}

func bigEndian(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	i := 0
	for i < 7 && b[i] == 0 {
		i++
	}
	return b[i:]
}

// matches reports whether an object has every attribute of a template.
func (s attrSource) matches(tmpl []tmplAttr) bool {
	for _, ta := range tmpl {
		v, err := s.value(ta.typ)
		if err != nil || !bytes.Equal(v, ta.val) {
			return false
		}
	}
	return true
}

// tmplAttr is one attribute of a template, copied out of C memory.
type tmplAttr struct {
	typ C.CK_ATTRIBUTE_TYPE
	val []byte
}
