package client

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/parsec-go/parsec/psa"
)

// ErrUnsupportedKey is returned when a key's type or size has no
// representation in the requested format.
var ErrUnsupportedKey = errors.New("unsupported key")

var (
	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
)

// CurveOID returns the named-curve object identifier of an ECC key type's
// family at the given size, for the SEC 2 curves that have one.
func CurveOID(family psa.EccFamily, bits uint32) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	switch family {
	case psa.EccSecpR1:
		switch bits {
		case 192:
			oid = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 1}
		case 224:
			oid = asn1.ObjectIdentifier{1, 3, 132, 0, 33}
		case 256:
			oid = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
		case 384:
			oid = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
		case 521:
			oid = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
		}
	case psa.EccSecpK1:
		switch bits {
		case 192:
			oid = asn1.ObjectIdentifier{1, 3, 132, 0, 31}
		case 224:
			oid = asn1.ObjectIdentifier{1, 3, 132, 0, 32}
		case 256:
			oid = asn1.ObjectIdentifier{1, 3, 132, 0, 10}
		}
	case psa.EccSectK1:
		switch bits {
		case 233:
			oid = asn1.ObjectIdentifier{1, 3, 132, 0, 26}
		case 283:
			oid = asn1.ObjectIdentifier{1, 3, 132, 0, 16}
		case 409:
			oid = asn1.ObjectIdentifier{1, 3, 132, 0, 36}
		case 571:
			oid = asn1.ObjectIdentifier{1, 3, 132, 0, 38}
		}
	case psa.EccSectR1:
		switch bits {
		case 233:
			oid = asn1.ObjectIdentifier{1, 3, 132, 0, 27}
		case 283:
			oid = asn1.ObjectIdentifier{1, 3, 132, 0, 17}
		case 409:
			oid = asn1.ObjectIdentifier{1, 3, 132, 0, 37}
		case 571:
			oid = asn1.ObjectIdentifier{1, 3, 132, 0, 39}
		}
	default:
		return nil, fmt.Errorf("%w: no named curve for ECC family %#x", ErrUnsupportedKey, uint8(family))
	}
	if oid == nil {
		return nil, fmt.Errorf("%w: no named curve of %d bits in ECC family %#x", ErrUnsupportedKey, bits, uint8(family))
	}
	return oid, nil
}

type spki struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// SubjectPublicKeyInfo wraps a public key in PSA export format (what
// ExportPublicKey returns) into a DER X.509 SubjectPublicKeyInfo, the body
// of a "PUBLIC KEY" PEM block.
func SubjectPublicKeyInfo(attrs psa.Attributes, data []byte) ([]byte, error) {
	var alg pkix.AlgorithmIdentifier
	switch {
	case attrs.Type.IsRSA():
		alg = pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue}
	case attrs.Type.IsECC():
		oid, err := CurveOID(attrs.Type.EccFamily(), attrs.Bits)
		if err != nil {
			return nil, err
		}
		param, err := asn1.Marshal(oid)
		if err != nil {
			return nil, err
		}
		alg = pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: param}}
	default:
		return nil, fmt.Errorf("%w: %v has no SubjectPublicKeyInfo form", ErrUnsupportedKey, attrs.Type)
	}
	return asn1.Marshal(spki{Algorithm: alg, PublicKey: asn1.BitString{Bytes: data, BitLength: 8 * len(data)}})
}

// PublicKey returns the public part of key name as a Go public key:
// *rsa.PublicKey or *ecdsa.PublicKey (curves P-224 to P-521).
func (c *Client) PublicKey(ctx context.Context, name string) (crypto.PublicKey, error) {
	attrs, err := c.KeyAttributes(ctx, name)
	if err != nil {
		return nil, err
	}
	data, err := c.ExportPublicKey(ctx, name)
	if err != nil {
		return nil, err
	}
	return ParsePublicKey(attrs, data)
}

// ParsePublicKey converts a public key in PSA export format into a Go
// public key (*rsa.PublicKey or *ecdsa.PublicKey).
func ParsePublicKey(attrs psa.Attributes, data []byte) (crypto.PublicKey, error) {
	der, err := SubjectPublicKeyInfo(attrs, data)
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return pub, nil
}

// ECDSASignatureToASN1 converts a PSA ECDSA signature (r and s as two
// big-endian integers of equal size) into the DER ECDSA-Sig-Value that
// X.509, TLS and OpenSSL use.
func ECDSASignatureToASN1(sig []byte) ([]byte, error) {
	if len(sig) == 0 || len(sig)%2 != 0 {
		return nil, fmt.Errorf("ECDSA signature of %d bytes is not r||s", len(sig))
	}
	n := len(sig) / 2
	return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])})
}

// ECDSASignatureFromASN1 converts a DER ECDSA-Sig-Value into PSA's r||s form
// for a curve of bits bits.
func ECDSASignatureFromASN1(der []byte, bits uint32) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil {
		return nil, fmt.Errorf("parsing ECDSA signature: %w", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("parsing ECDSA signature: trailing data")
	}
	n := int(bits+7) / 8
	if sig.R.Sign() <= 0 || sig.S.Sign() <= 0 || sig.R.BitLen() > 8*n || sig.S.BitLen() > 8*n {
		return nil, errors.New("ECDSA signature values out of range for the curve")
	}
	out := make([]byte, 2*n)
	sig.R.FillBytes(out[:n])
	sig.S.FillBytes(out[n:])
	return out, nil
}
