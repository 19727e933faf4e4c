package software

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"math/big"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
)

// PSA limits the Mbed Crypto provider applies.
const (
	maxKeyBits     = 0xfff8 // PSA_MAX_KEY_BITS
	rsaMaxBits     = 4096   // PSA_VENDOR_RSA_MAX_KEY_BITS
	rsaGenMinBits  = 1024   // PSA_VENDOR_RSA_GENERATE_MIN_KEY_BITS
	x25519Bits     = 255
	x25519KeyBytes = 32
)

// key is a stored key, parsed once and cached. It is immutable.
type key struct {
	id    uint32
	attrs psa.Attributes
	// material is the key in PSA export format: raw bytes for symmetric
	// keys, PKCS#1 DER for RSA, the private scalar or the uncompressed
	// public point for ECC.
	material []byte

	rsaPriv *rsa.PrivateKey
	rsaPub  *rsa.PublicKey
	// ECC keys: ecdhPriv/ecdhPub always; ecdsaPriv/ecdsaPub for the
	// Weierstrass curves only.
	ecdhPriv  *ecdh.PrivateKey
	ecdhPub   *ecdh.PublicKey
	ecdsaPriv *ecdsa.PrivateKey
	ecdsaPub  *ecdsa.PublicKey
}

// eccCurve describes a supported curve.
type eccCurve struct {
	ecdh    ecdh.Curve
	ecdsa   elliptic.Curve // nil for Montgomery curves
	bits    uint32
	scalarN int // private key bytes
}

// curveFor returns the curve for an ECC family and size. It follows Mbed
// TLS: a size a family never has is an invalid argument, a real curve
// the standard library lacks (P-192, P-224, secp256k1, Brainpool, X448)
// is not supported.
func curveFor(f psa.EccFamily, bits uint32) (eccCurve, error) {
	switch f {
	case psa.EccSecpR1:
		switch bits {
		case 256:
			return eccCurve{ecdh.P256(), elliptic.P256(), 256, 32}, nil
		case 384:
			return eccCurve{ecdh.P384(), elliptic.P384(), 384, 48}, nil
		case 521:
			return eccCurve{ecdh.P521(), elliptic.P521(), 521, 66}, nil
		case 192, 224:
			return eccCurve{}, wire.Errorf(wire.StatusPsaErrorNotSupported, "secp%dr1 is not supported", bits)
		}
	case psa.EccMontgomery:
		switch bits {
		case x25519Bits:
			return eccCurve{ecdh.X25519(), nil, x25519Bits, x25519KeyBytes}, nil
		case 448:
			return eccCurve{}, wire.Errorf(wire.StatusPsaErrorNotSupported, "X448 is not supported")
		}
	case psa.EccSecpK1:
		if bits == 192 || bits == 256 {
			return eccCurve{}, wire.Errorf(wire.StatusPsaErrorNotSupported, "secp%dk1 is not supported", bits)
		}
	case psa.EccBrainpoolPR1:
		if bits == 256 || bits == 384 || bits == 512 {
			return eccCurve{}, wire.Errorf(wire.StatusPsaErrorNotSupported, "brainpoolP%dr1 is not supported", bits)
		}
	}
	return eccCurve{}, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "no curve of %d bits in family %#x", bits, uint8(f))
}

// inferCurveBits maps a private scalar or coordinate length to the curve
// size, for imports that leave the size to the data.
func inferCurveBits(f psa.EccFamily, n int) uint32 {
	bits := uint32(n * 8)
	switch {
	case f == psa.EccSecpR1 && n == 66:
		return 521
	case f == psa.EccMontgomery && n == 32:
		return x25519Bits
	}
	return bits
}

// checkSymmetricSize validates the size of an unstructured key as Mbed
// TLS's psa_validate_unstructured_key_bit_size does.
func checkSymmetricSize(t psa.KeyType, bits uint32) error {
	switch t {
	case psa.KeyTypeRawData, psa.KeyTypeHMAC, psa.KeyTypeDerive:
	case psa.KeyTypeAES, psa.KeyTypeCamellia:
		if bits != 128 && bits != 192 && bits != 256 {
			return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v keys are 128, 192 or 256 bits, not %d", t, bits)
		}
	case psa.KeyTypeDES:
		// Mbed TLS has DES; the standard library's DES is not wired to
		// any operation here, so its keys would be unusable.
		return wire.Errorf(wire.StatusPsaErrorNotSupported, "DES keys are not supported")
	case psa.KeyTypeChaCha20:
		if bits != 256 {
			return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "ChaCha20 keys are 256 bits, not %d", bits)
		}
	default:
		return wire.Errorf(wire.StatusPsaErrorNotSupported, "key type %v is not supported", t)
	}
	if bits%8 != 0 {
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key size %d is not a whole number of bytes", bits)
	}
	return nil
}

func isSymmetric(t psa.KeyType) bool {
	switch t {
	case psa.KeyTypeRawData, psa.KeyTypeHMAC, psa.KeyTypeDerive, psa.KeyTypeAES,
		psa.KeyTypeCamellia, psa.KeyTypeDES, psa.KeyTypeChaCha20, psa.KeyTypeARC4:
		return true
	}
	return false
}

// parseKey builds a key from attributes and PSA-format material, checking
// the material as an import does. a.Bits may be 0 (take the size from the
// data); the returned key's attributes always carry the real size.
func parseKey(a psa.Attributes, data []byte) (*key, error) {
	if len(data) == 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key data is empty")
	}
	if a.Bits > maxKeyBits {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "key size %d exceeds %d bits", a.Bits, maxKeyBits)
	}
	k := &key{attrs: a}
	var bits uint32
	switch t := a.Type; {
	case isSymmetric(t):
		if len(data) > maxKeyBits/8 {
			return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "key of %d bytes is too large", len(data))
		}
		bits = uint32(len(data) * 8)
		if err := checkSymmetricSize(t, bits); err != nil {
			return nil, err
		}
		k.material = append([]byte(nil), data...)
	case t == psa.KeyTypeRSAKeyPair:
		if err := precheckRSAPrivateKey(data); err != nil {
			return nil, err
		}
		priv, err := x509.ParsePKCS1PrivateKey(data)
		if err != nil {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "RSA key pair is not a valid PKCS#1 RSAPrivateKey: %v", err)
		}
		if bits, err = rsaBits(&priv.PublicKey); err != nil {
			return nil, err
		}
		priv.Precompute()
		k.rsaPriv, k.rsaPub = priv, &priv.PublicKey
		// Stored re-encoded, as Mbed TLS does, so exports are canonical.
		k.material = x509.MarshalPKCS1PrivateKey(priv)
	case t == psa.KeyTypeRSAPublicKey:
		pub, err := x509.ParsePKCS1PublicKey(data)
		if err != nil {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "RSA public key is not a valid PKCS#1 RSAPublicKey: %v", err)
		}
		if bits, err = rsaBits(pub); err != nil {
			return nil, err
		}
		k.rsaPub = pub
		k.material = x509.MarshalPKCS1PublicKey(pub)
	case t.IsECC():
		var err error
		if bits, err = k.parseECC(data); err != nil {
			return nil, err
		}
	case t.IsDH():
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "finite-field Diffie-Hellman keys are not supported")
	default:
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "key type %v is not supported", t)
	}
	if a.Bits != 0 && a.Bits != bits {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the key data is a %d-bit key, the attributes say %d", bits, a.Bits)
	}
	k.attrs.Bits = bits
	return k, nil
}

func rsaBits(pub *rsa.PublicKey) (uint32, error) {
	n := pub.N.BitLen()
	if n%8 != 0 {
		return 0, wire.Errorf(wire.StatusPsaErrorNotSupported, "RSA modulus of %d bits is not a whole number of bytes", n)
	}
	if n > rsaMaxBits {
		return 0, wire.Errorf(wire.StatusPsaErrorNotSupported, "RSA keys above %d bits are not supported", rsaMaxBits)
	}
	return uint32(n), nil
}

// parseECC reads a private scalar (key pair) or an uncompressed point /
// Montgomery u-coordinate (public key).
func (k *key) parseECC(data []byte) (uint32, error) {
	f := k.attrs.Type.EccFamily()
	n := len(data)
	pair := k.attrs.Type.IsKeyPair()
	if !pair && f != psa.EccMontgomery {
		// 0x04 || X || Y
		if n%2 == 0 {
			return 0, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "an uncompressed point has an odd length")
		}
		n /= 2
	}
	bits := k.attrs.Bits
	if bits == 0 {
		bits = inferCurveBits(f, n)
	}
	c, err := curveFor(f, bits)
	if err != nil {
		return 0, err
	}
	if n != c.scalarN {
		return 0, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%d bytes do not make a %d-bit curve key", len(data), bits)
	}
	if pair {
		priv, err := c.ecdh.NewPrivateKey(data)
		if err != nil {
			return 0, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "invalid private key: %v", err)
		}
		k.ecdhPriv, k.ecdhPub = priv, priv.PublicKey()
	} else {
		pub, err := c.ecdh.NewPublicKey(data)
		if err != nil {
			return 0, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "invalid public key: %v", err)
		}
		k.ecdhPub = pub
	}
	if c.ecdsa != nil {
		pt := k.ecdhPub.Bytes()
		size := (len(pt) - 1) / 2
		pub := &ecdsa.PublicKey{Curve: c.ecdsa,
			X: new(big.Int).SetBytes(pt[1 : 1+size]), Y: new(big.Int).SetBytes(pt[1+size:])}
		k.ecdsaPub = pub
		if pair {
			k.ecdsaPriv = &ecdsa.PrivateKey{PublicKey: *pub, D: new(big.Int).SetBytes(data)}
		}
	}
	k.material = append([]byte(nil), data...)
	return c.bits, nil
}

// generateMaterial creates new key material for validated attributes.
func generateMaterial(a psa.Attributes) ([]byte, error) {
	if a.Bits == 0 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "a key size is required")
	}
	if a.Bits > maxKeyBits {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "key size %d exceeds %d bits", a.Bits, maxKeyBits)
	}
	t := a.Type
	switch {
	case t.IsPublicKey():
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "public keys cannot be generated")
	case isSymmetric(t):
		if err := checkSymmetricSize(t, a.Bits); err != nil {
			return nil, err
		}
		b := make([]byte, a.Bits/8)
		if _, err := rand.Read(b); err != nil {
			return nil, wire.Errorf(wire.StatusPsaErrorInsufficientEntropy, "reading random data: %v", err)
		}
		return b, nil
	case t == psa.KeyTypeRSAKeyPair:
		if a.Bits > rsaMaxBits || a.Bits < rsaGenMinBits || a.Bits%8 != 0 {
			return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "RSA key generation of %d bits is not supported", a.Bits)
		}
		priv, err := rsa.GenerateKey(rand.Reader, int(a.Bits))
		if err != nil {
			return nil, wire.Errorf(wire.StatusPsaErrorGenericError, "generating RSA key: %v", err)
		}
		return x509.MarshalPKCS1PrivateKey(priv), nil
	case t.IsECC():
		c, err := curveFor(t.EccFamily(), a.Bits)
		if err != nil {
			// Mbed TLS generation knows only the curves it can make.
			return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "ECC key generation: %v", err)
		}
		priv, err := c.ecdh.GenerateKey(rand.Reader)
		if err != nil {
			return nil, wire.Errorf(wire.StatusPsaErrorInsufficientEntropy, "reading random data: %v", err)
		}
		return priv.Bytes(), nil
	case t.IsDH():
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "finite-field Diffie-Hellman keys are not supported")
	}
	return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "key type %v cannot be generated", t)
}

// publicKey returns the public half in PSA export format.
func (k *key) publicKey() ([]byte, error) {
	switch {
	case k.rsaPub != nil:
		return x509.MarshalPKCS1PublicKey(k.rsaPub), nil
	case k.ecdhPub != nil:
		return k.ecdhPub.Bytes(), nil
	}
	return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v keys have no public part", k.attrs.Type)
}
