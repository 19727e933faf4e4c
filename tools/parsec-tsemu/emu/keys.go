package emu

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"math/big"
	"sync"

	"github.com/parsec-go/parsec/internal/ts"
	pc "github.com/parsec-go/parsec/internal/ts/packedc"
	"github.com/parsec-go/parsec/psa"
)

// Key id ranges of Mbed TLS's PSA core, which the crypto partition runs.
const (
	keyIDUserMin     = 1
	keyIDUserMax     = 0x3fffffff
	keyIDVolatileMin = 0x7fffffe0
	keyIDVolatileMax = 0x7fffffff
)

// key is a key with its material in PSA export format (RSA: PKCS#1 DER;
// ECC: the private scalar or the uncompressed point; Montgomery: the raw
// 32 bytes; symmetric: the raw bytes) and the parsed forms.
type key struct {
	attrs    ts.KeyAttributes
	material []byte

	rsaPriv *rsa.PrivateKey
	rsaPub  *rsa.PublicKey
	ecPriv  *ecdsa.PrivateKey
	ecPub   *ecdsa.PublicKey
	xPriv   *ecdh.PrivateKey
	xPub    *ecdh.PublicKey
}

func (k *key) psa() psa.Attributes { return k.attrs.PSA() }

// permits checks the key's policy: NOT_PERMITTED as Mbed TLS answers.
func (k *key) permits(usage psa.Usage, alg psa.Algorithm) error {
	if k.psa().Permits(usage, alg) != nil {
		return ts.PSAErrorNotPermitted
	}
	return nil
}

// keyStore holds volatile keys in memory and persistent keys as objects
// of the storage backend owned by the crypto partition's endpoint, with
// uid = client << 32 | key id as TS's owner encoding does.
type keyStore struct {
	mu       sync.Mutex
	store    ObjectStore
	owner    uint16
	volatile map[vkey]*key
	cache    map[vkey]*key
	nextVol  uint32
}

type vkey struct {
	client uint16
	id     uint32
}

func newKeyStore(store ObjectStore, owner uint16) *keyStore {
	return &keyStore{store: store, owner: owner, volatile: map[vkey]*key{}, cache: map[vkey]*key{}, nextVol: keyIDVolatileMin}
}

func (s *keyStore) objKey(client uint16, id uint32) ObjKey {
	return ObjKey{Owner: s.owner, UID: uint64(client)<<32 | uint64(id)}
}

func isVolatileID(id uint32) bool { return id >= keyIDVolatileMin && id <= keyIDVolatileMax }
func isUserID(id uint32) bool     { return id >= keyIDUserMin && id <= keyIDUserMax }

// get finds a key: INVALID_HANDLE for ids that can never name a key (0,
// outside the user range, an unused volatile id), DOES_NOT_EXIST for a
// valid persistent id with nothing stored.
func (s *keyStore) get(client uint16, id uint32) (*key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vk := vkey{client, id}
	if isVolatileID(id) {
		if k, ok := s.volatile[vk]; ok {
			return k, nil
		}
		return nil, ts.PSAErrorInvalidHandle
	}
	if !isUserID(id) {
		return nil, ts.PSAErrorInvalidHandle
	}
	if k, ok := s.cache[vk]; ok {
		return k, nil
	}
	o, ok, err := s.store.Get(s.objKey(client, id))
	if err != nil {
		return nil, &storeError{err}
	}
	if !ok {
		return nil, ts.PSAErrorDoesNotExist
	}
	if len(o.Data) < pc.KeyAttributesSize {
		return nil, ts.PSAErrorDataCorrupt
	}
	m, err := pc.Decode(o.Data[:pc.KeyAttributesSize], pc.KeyAttributeFields)
	if err != nil {
		return nil, ts.PSAErrorDataCorrupt
	}
	a, err := ts.AttributesFromFields(m.Fixed)
	if err != nil {
		return nil, ts.PSAErrorDataCorrupt
	}
	k := &key{attrs: a, material: o.Data[pc.KeyAttributesSize:]}
	if err := k.parse(); err != nil {
		return nil, ts.PSAErrorDataInvalid
	}
	s.cache[vk] = k
	return k, nil
}

// add stores a new key with the id its attributes ask for (persistent) or
// a fresh volatile id, and returns the id.
func (s *keyStore) add(client uint16, k *key) (uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lt := k.attrs.Lifetime
	if lt>>8 != 0 {
		// A location other than the default one needs a secure element driver.
		return 0, ts.PSAErrorInvalidArgument
	}
	if lt&0xff == 0 {
		for i := 0; i <= keyIDVolatileMax-keyIDVolatileMin; i++ {
			id := s.nextVol
			s.nextVol++
			if s.nextVol > keyIDVolatileMax {
				s.nextVol = keyIDVolatileMin
			}
			if _, used := s.volatile[vkey{client, id}]; !used {
				k.attrs.ID = id
				s.volatile[vkey{client, id}] = k
				return id, nil
			}
		}
		return 0, ts.PSAErrorInsufficientMemory
	}
	id := k.attrs.ID
	if !isUserID(id) {
		return 0, ts.PSAErrorInvalidArgument
	}
	ok := s.objKey(client, id)
	if _, exists, err := s.store.Get(ok); err != nil {
		return 0, &storeError{err}
	} else if exists {
		return 0, ts.PSAErrorAlreadyExists
	}
	data := append(EncodeAttrs(k.attrs), k.material...)
	if err := s.store.Put(ok, Object{Capacity: uint64(len(data)), Data: data}); err != nil {
		return 0, &storeError{err}
	}
	s.cache[vkey{client, id}] = k
	return id, nil
}

// EncodeAttrs is the packed attributes.
func EncodeAttrs(a ts.KeyAttributes) []byte { return ts.EncodeKeyAttributes(a) }

func (s *keyStore) destroy(client uint16, id uint32) error {
	if _, err := s.get(client, id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vk := vkey{client, id}
	if isVolatileID(id) {
		delete(s.volatile, vk)
		return nil
	}
	delete(s.cache, vk)
	if err := s.store.Delete(s.objKey(client, id)); err != nil {
		return &storeError{err}
	}
	return nil
}

// purge drops a persistent key's cached copy; the stored key stays.
func (s *keyStore) purge(client uint16, id uint32) error {
	if _, err := s.get(client, id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cache, vkey{client, id})
	return nil
}

// eccCurve returns the curves of an ECC key type and size.
func eccCurve(t psa.KeyType, bits uint32) (elliptic.Curve, ecdh.Curve, error) {
	switch t.EccFamily() {
	case psa.EccSecpR1:
		switch bits {
		case 224:
			return elliptic.P224(), nil, nil
		case 256:
			return elliptic.P256(), ecdh.P256(), nil
		case 384:
			return elliptic.P384(), ecdh.P384(), nil
		case 521:
			return elliptic.P521(), ecdh.P521(), nil
		}
	case psa.EccMontgomery:
		if bits == 255 {
			return nil, ecdh.X25519(), nil
		}
	}
	return nil, nil, ts.PSAErrorNotSupported
}

func byteLen(bits uint32) int { return int(bits+7) / 8 }

// eccBitsFromLen infers a curve size from a key's length, as import does
// when the attributes leave the size 0.
func eccBitsFromLen(t psa.KeyType, n int) uint32 {
	switch t.EccFamily() {
	case psa.EccSecpR1:
		if !t.IsKeyPair() {
			n = (n - 1) / 2
		}
		switch n {
		case 28:
			return 224
		case 32:
			return 256
		case 48:
			return 384
		case 66:
			return 521
		}
	case psa.EccMontgomery:
		if n == 32 {
			return 255
		}
	}
	return 0
}

// symmetricOK checks a symmetric key's type and size.
func symmetricOK(t psa.KeyType, bits uint32) error {
	switch t {
	case psa.KeyTypeAES:
		if bits != 128 && bits != 192 && bits != 256 {
			return ts.PSAErrorInvalidArgument
		}
	case psa.KeyTypeChaCha20:
		if bits != 256 {
			return ts.PSAErrorInvalidArgument
		}
	case psa.KeyTypeHMAC, psa.KeyTypeRawData, psa.KeyTypeDerive:
		if bits%8 != 0 || bits == 0 {
			return ts.PSAErrorInvalidArgument
		}
	default:
		return ts.PSAErrorNotSupported
	}
	return nil
}

// generate makes fresh material for attributes a.
func generate(a ts.KeyAttributes) (*key, error) {
	t, bits := a.Type, a.Bits
	if bits == 0 {
		return nil, ts.PSAErrorInvalidArgument
	}
	k := &key{attrs: a}
	switch {
	case t == psa.KeyTypeRSAKeyPair:
		if bits < 1024 || bits > 4096 || bits%8 != 0 {
			return nil, ts.PSAErrorNotSupported
		}
		priv, err := rsa.GenerateKey(rand.Reader, int(bits))
		if err != nil {
			return nil, ts.PSAErrorGenericError
		}
		k.material = x509.MarshalPKCS1PrivateKey(priv)
	case t.IsECC() && t.IsKeyPair():
		c, xc, err := eccCurve(t, bits)
		if err != nil {
			return nil, err
		}
		if c != nil {
			priv, err := ecdsa.GenerateKey(c, rand.Reader)
			if err != nil {
				return nil, ts.PSAErrorGenericError
			}
			k.material = priv.D.FillBytes(make([]byte, byteLen(bits)))
		} else {
			priv, err := xc.GenerateKey(rand.Reader)
			if err != nil {
				return nil, ts.PSAErrorGenericError
			}
			k.material = priv.Bytes()
		}
	case t.IsPublicKey():
		return nil, ts.PSAErrorInvalidArgument
	case t.IsAsymmetric():
		return nil, ts.PSAErrorNotSupported
	default:
		if err := symmetricOK(t, bits); err != nil {
			return nil, err
		}
		k.material = make([]byte, bits/8)
		rand.Read(k.material)
	}
	if err := k.parse(); err != nil {
		return nil, ts.PSAErrorGenericError
	}
	return k, nil
}

// importKey validates data in PSA format for attributes a, fixing the
// size when a leaves it 0.
func importKey(a ts.KeyAttributes, data []byte) (*key, error) {
	t := a.Type
	k := &key{attrs: a, material: append([]byte(nil), data...)}
	var bits uint32
	switch {
	case t.IsRSA():
		if err := k.parse(); err != nil {
			return nil, ts.PSAErrorInvalidArgument
		}
		if k.rsaPub != nil {
			bits = uint32(k.rsaPub.N.BitLen())
		}
	case t.IsECC():
		bits = eccBitsFromLen(t, len(data))
		if bits == 0 {
			return nil, ts.PSAErrorInvalidArgument
		}
		if a.Bits != 0 && a.Bits != bits {
			return nil, ts.PSAErrorInvalidArgument
		}
		k.attrs.Bits = bits
		if _, _, err := eccCurve(t, bits); err != nil {
			return nil, err
		}
		if err := k.parse(); err != nil {
			return nil, ts.PSAErrorInvalidArgument
		}
	case t.IsAsymmetric():
		return nil, ts.PSAErrorNotSupported
	default:
		bits = uint32(8 * len(data))
		if err := symmetricOK(t, bits); err != nil {
			return nil, err
		}
	}
	if a.Bits != 0 && a.Bits != bits {
		return nil, ts.PSAErrorInvalidArgument
	}
	k.attrs.Bits = bits
	return k, nil
}

// parse fills the parsed forms from the material.
func (k *key) parse() error {
	t := k.attrs.Type
	switch {
	case t == psa.KeyTypeRSAKeyPair:
		priv, err := x509.ParsePKCS1PrivateKey(k.material)
		if err != nil {
			return err
		}
		k.rsaPriv, k.rsaPub = priv, &priv.PublicKey
	case t == psa.KeyTypeRSAPublicKey:
		pub, err := x509.ParsePKCS1PublicKey(k.material)
		if err != nil {
			return err
		}
		k.rsaPub = pub
	case t.IsECC():
		c, xc, err := eccCurve(t, k.attrs.Bits)
		if err != nil {
			return err
		}
		if t.IsKeyPair() {
			if len(k.material) != byteLen(k.attrs.Bits) && xc != ecdh.X25519() {
				return ts.PSAErrorInvalidArgument
			}
			if c != nil {
				d := new(big.Int).SetBytes(k.material)
				if d.Sign() == 0 || d.Cmp(c.Params().N) >= 0 {
					return ts.PSAErrorInvalidArgument
				}
				priv := &ecdsa.PrivateKey{D: d}
				priv.Curve = c
				priv.X, priv.Y = c.ScalarBaseMult(k.material)
				k.ecPriv, k.ecPub = priv, &priv.PublicKey
			}
			if xc != nil {
				xp, err := xc.NewPrivateKey(k.material)
				if err != nil {
					return err
				}
				k.xPriv, k.xPub = xp, xp.PublicKey()
			}
		} else {
			if xc != nil {
				xp, err := xc.NewPublicKey(k.material)
				if err != nil {
					return err
				}
				k.xPub = xp
			}
			if c != nil {
				x, y := elliptic.Unmarshal(c, k.material)
				if x == nil {
					return ts.PSAErrorInvalidArgument
				}
				k.ecPub = &ecdsa.PublicKey{Curve: c, X: x, Y: y}
			}
		}
	}
	return nil
}

// public is the public key in PSA export format.
func (k *key) public() ([]byte, error) {
	switch {
	case k.rsaPub != nil:
		return x509.MarshalPKCS1PublicKey(k.rsaPub), nil
	case k.xPub != nil:
		return k.xPub.Bytes(), nil
	case k.ecPub != nil:
		return elliptic.Marshal(k.ecPub.Curve, k.ecPub.X, k.ecPub.Y), nil
	}
	return nil, ts.PSAErrorInvalidArgument
}
