package tpm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"math/big"

	"github.com/google/go-tpm/tpm2"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
)

// Mapping between the PSA model and TPM structures.

var hashToTPM = map[psa.Algorithm]tpm2.TPMAlgID{
	psa.AlgSHA1: tpm2.TPMAlgSHA1, psa.AlgSHA256: tpm2.TPMAlgSHA256,
	psa.AlgSHA384: tpm2.TPMAlgSHA384, psa.AlgSHA512: tpm2.TPMAlgSHA512,
	psa.AlgSHA3_256: tpm2.TPMAlgSHA3256, psa.AlgSHA3_384: tpm2.TPMAlgSHA3384,
	psa.AlgSHA3_512: tpm2.TPMAlgSHA3512,
}

// cryptoHash is the Go hash for software verification; SHA-3 is absent on
// purpose (crypto/sha3 needs Go 1.24): those go to the TPM.
var cryptoHash = map[psa.Algorithm]crypto.Hash{
	psa.AlgSHA1: crypto.SHA1, psa.AlgSHA256: crypto.SHA256,
	psa.AlgSHA384: crypto.SHA384, psa.AlgSHA512: crypto.SHA512,
}

// hashAlg converts a PSA hash the TPM must support.
func (c *capabilities) hashAlg(h psa.Algorithm) (tpm2.TPMAlgID, error) {
	id, ok := hashToTPM[h]
	if !ok || !c.algs[id] {
		return 0, wire.Errorf(wire.StatusPsaErrorNotSupported, "this TPM does not support hash %v", h)
	}
	return id, nil
}

// curve describes a TPM curve in PSA terms.
type curve struct {
	id     tpm2.TPMECCCurve
	family psa.EccFamily
	bits   uint32
	go_    elliptic.Curve // nil when Go's standard library lacks it
}

func (c curve) size() int { return int(c.bits+7) / 8 }

var curves = []curve{
	{tpm2.TPMECCNistP192, psa.EccSecpR1, 192, nil},
	{tpm2.TPMECCNistP224, psa.EccSecpR1, 224, elliptic.P224()},
	{tpm2.TPMECCNistP256, psa.EccSecpR1, 256, elliptic.P256()},
	{tpm2.TPMECCNistP384, psa.EccSecpR1, 384, elliptic.P384()},
	{tpm2.TPMECCNistP521, psa.EccSecpR1, 521, elliptic.P521()},
	{tpm2.TPMECCBrainpoolP256R1, psa.EccBrainpoolPR1, 256, nil},
	{tpm2.TPMECCBrainpoolP384R1, psa.EccBrainpoolPR1, 384, nil},
	{tpm2.TPMECCBrainpoolP512R1, psa.EccBrainpoolPR1, 512, nil},
}

func curveFor(t psa.KeyType, bits uint32) (curve, bool) {
	for _, c := range curves {
		if c.family == t.EccFamily() && c.bits == bits {
			return c, true
		}
	}
	return curve{}, false
}

func curveByID(id tpm2.TPMECCCurve) (curve, bool) {
	for _, c := range curves {
		if c.id == id {
			return c, true
		}
	}
	return curve{}, false
}

// checkKey verifies the TPM can hold a key of these type and size.
func (c *capabilities) checkKey(a psa.Attributes) error {
	switch {
	case a.Type.IsRSA():
		if !c.algs[tpm2.TPMAlgRSA] {
			return wire.Errorf(wire.StatusPsaErrorNotSupported, "this TPM has no RSA")
		}
		if !c.rsaBits[int(a.Bits)] {
			return wire.Errorf(wire.StatusPsaErrorNotSupported, "this TPM supports RSA keys of %v bits, not %d", c.rsaSizes(), a.Bits)
		}
		return nil
	case a.Type.IsECC():
		cv, ok := curveFor(a.Type, a.Bits)
		if !ok || !c.algs[tpm2.TPMAlgECC] || !c.curves[cv.id] {
			return wire.Errorf(wire.StatusPsaErrorNotSupported, "this TPM supports the curves %v, not %v with %d bits", c.curveNames(), a.Type, a.Bits)
		}
		return nil
	}
	return wire.Errorf(wire.StatusPsaErrorNotSupported, "the TPM provider supports RSA and ECC keys, not %v", a.Type)
}

// checkAlg verifies the policy algorithm fits the key type and the TPM.
func (c *capabilities) checkAlg(a psa.Attributes) error {
	alg := a.Alg
	switch {
	case alg == psa.AlgNone:
		return nil
	case a.Type.IsRSA() && (alg.IsRSAPKCS1v15Sign() || alg.IsRSAPSS()):
		if alg == psa.AlgRSAPKCS1v15SignRaw {
			return wire.Errorf(wire.StatusPsaErrorNotSupported, "the TPM cannot sign without a hash algorithm (RSA_PKCS1V15_SIGN_RAW)")
		}
		if !c.algs[sigAlgID(alg)] {
			return wire.Errorf(wire.StatusPsaErrorNotSupported, "this TPM does not support %v", alg)
		}
	case a.Type.IsRSA() && alg == psa.AlgRSAPKCS1v15Crypt:
		if !c.algs[tpm2.TPMAlgRSAES] {
			return wire.Errorf(wire.StatusPsaErrorNotSupported, "this TPM does not support RSA PKCS#1 v1.5 encryption")
		}
		return nil
	case a.Type.IsRSA() && alg.IsRSAOAEP():
		if !c.algs[tpm2.TPMAlgOAEP] {
			return wire.Errorf(wire.StatusPsaErrorNotSupported, "this TPM does not support RSA OAEP")
		}
	case a.Type.IsECC() && alg.IsDeterministicECDSA():
		return wire.Errorf(wire.StatusPsaErrorNotSupported, "the TPM cannot produce deterministic ECDSA signatures")
	case a.Type.IsECC() && alg.IsECDSA():
		if !c.algs[tpm2.TPMAlgECDSA] {
			return wire.Errorf(wire.StatusPsaErrorNotSupported, "this TPM does not support ECDSA")
		}
		if alg == psa.AlgECDSAAny {
			return nil
		}
	case a.Type.IsECC() && alg.IsKeyAgreement():
		return wire.Errorf(wire.StatusPsaErrorNotSupported, "the TPM provider does not offer key agreement")
	default:
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "algorithm %v cannot be used with a %v key", alg, a.Type)
	}
	if h := alg.HashAlg(); h != psa.AlgAnyHash {
		if _, err := c.hashAlg(h); err != nil {
			return err
		}
	}
	return nil
}

func sigAlgID(alg psa.Algorithm) tpm2.TPMAlgID {
	switch {
	case alg.IsRSAPKCS1v15Sign():
		return tpm2.TPMAlgRSASSA
	case alg.IsRSAPSS():
		return tpm2.TPMAlgRSAPSS
	case alg.IsECDSA():
		return tpm2.TPMAlgECDSA
	}
	return tpm2.TPMAlgNull
}

// specificHash returns the TPM hash of a policy naming one, or false for a
// wildcard or hash-less algorithm.
func specificHash(alg psa.Algorithm) (tpm2.TPMAlgID, bool) {
	h := alg.HashAlg()
	id, ok := hashToTPM[h]
	return id, ok
}

// template builds the public area of a new key pair. The TPM scheme is
// fixed when the policy names one algorithm and hash, so the TPM itself
// enforces it; wildcard policies get a NULL scheme, chosen per call.
func template(a psa.Attributes) (tpm2.TPMTPublic, error) {
	alg := a.Alg
	attrs := tpm2.TPMAObject{
		FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true, UserWithAuth: true,
		// The auth value is 256 random bits: dictionary-attack counting
		// would only let a damaged key entry lock the whole TPM out.
		NoDA: true,
	}
	switch {
	case a.Type == psa.KeyTypeRSAKeyPair:
		scheme := tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull}
		switch {
		case alg.IsSign():
			attrs.SignEncrypt = true
			if h, ok := specificHash(alg); ok {
				scheme = rsaSigScheme(alg, h)
			}
		case alg == psa.AlgRSAPKCS1v15Crypt:
			attrs.Decrypt = true
			scheme = tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgRSAES, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSAES, &tpm2.TPMSEncSchemeRSAES{})}
		case alg.IsRSAOAEP():
			attrs.Decrypt = true
			h, _ := specificHash(alg)
			scheme = tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgOAEP, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgOAEP, &tpm2.TPMSEncSchemeOAEP{HashAlg: h})}
		default: // no algorithm: a key only good for exporting its public half
			attrs.SignEncrypt, attrs.Decrypt = true, true
		}
		return tpm2.TPMTPublic{
			Type: tpm2.TPMAlgRSA, NameAlg: tpm2.TPMAlgSHA256, ObjectAttributes: attrs,
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
				Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
				Scheme:    scheme,
				KeyBits:   tpm2.TPMIRSAKeyBits(a.Bits),
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{}),
		}, nil
	case a.Type.IsECC() && a.Type.IsKeyPair():
		cv, ok := curveFor(a.Type, a.Bits)
		if !ok {
			return tpm2.TPMTPublic{}, wire.Errorf(wire.StatusPsaErrorNotSupported, "no TPM curve for %v with %d bits", a.Type, a.Bits)
		}
		attrs.SignEncrypt = true
		scheme := tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgNull}
		if h, ok := specificHash(alg); ok && alg.IsECDSA() {
			scheme = tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECDSA, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: h})}
		}
		return tpm2.TPMTPublic{
			Type: tpm2.TPMAlgECC, NameAlg: tpm2.TPMAlgSHA256, ObjectAttributes: attrs,
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
				Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
				Scheme:    scheme,
				CurveID:   cv.id,
				KDF:       tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{}),
		}, nil
	}
	return tpm2.TPMTPublic{}, wire.Errorf(wire.StatusPsaErrorNotSupported, "cannot generate %v in the TPM", a.Type)
}

func rsaSigScheme(alg psa.Algorithm, h tpm2.TPMAlgID) tpm2.TPMTRSAScheme {
	if alg.IsRSAPSS() {
		return tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgRSAPSS, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSAPSS, &tpm2.TPMSSigSchemeRSAPSS{HashAlg: h})}
	}
	return tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgRSASSA, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSASSA, &tpm2.TPMSSigSchemeRSASSA{HashAlg: h})}
}

// externalPublic is the public area used to load a public key with
// TPM2_LoadExternal (for verification the Go library cannot do): no
// fixedTPM/fixedParent, which a public-only object may not claim.
func externalPublic(p tpm2.TPMTPublic) tpm2.TPMTPublic {
	p.ObjectAttributes = tpm2.TPMAObject{
		UserWithAuth: true, NoDA: true,
		SignEncrypt: p.ObjectAttributes.SignEncrypt, Decrypt: p.ObjectAttributes.Decrypt,
	}
	p.AuthPolicy = tpm2.TPM2BDigest{}
	return p
}

// rsaPublic extracts the RSA public key of a public area.
func rsaPublic(p *tpm2.TPMTPublic) (*rsa.PublicKey, error) {
	parms, err := p.Parameters.RSADetail()
	if err != nil {
		return nil, err
	}
	n, err := p.Unique.RSA()
	if err != nil {
		return nil, err
	}
	e := int(parms.Exponent)
	if e == 0 {
		e = 65537
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n.Buffer), E: e}, nil
}

// eccPublic extracts the curve and point of a public area.
func eccPublic(p *tpm2.TPMTPublic) (curve, []byte, []byte, error) {
	parms, err := p.Parameters.ECCDetail()
	if err != nil {
		return curve{}, nil, nil, err
	}
	cv, ok := curveByID(parms.CurveID)
	if !ok {
		return curve{}, nil, nil, fmt.Errorf("unknown TPM curve %#x", uint16(parms.CurveID))
	}
	pt, err := p.Unique.ECC()
	if err != nil {
		return curve{}, nil, nil, err
	}
	return cv, pt.X.Buffer, pt.Y.Buffer, nil
}

// leftPad returns b as exactly n bytes (big-endian), or nil if too long.
func leftPad(b []byte, n int) []byte {
	for len(b) > n && b[0] == 0 {
		b = b[1:]
	}
	if len(b) > n {
		return nil
	}
	out := make([]byte, n)
	copy(out[n-len(b):], b)
	return out
}

// exportPublic renders a public area in PSA's export format: an RSA
// public key as a PKCS#1 RSAPublicKey (DER), an ECC one as the
// uncompressed point 0x04 || X || Y.
func exportPublic(p *tpm2.TPMTPublic) ([]byte, error) {
	switch p.Type {
	case tpm2.TPMAlgRSA:
		k, err := rsaPublic(p)
		if err != nil {
			return nil, err
		}
		return x509.MarshalPKCS1PublicKey(k), nil
	case tpm2.TPMAlgECC:
		cv, x, y, err := eccPublic(p)
		if err != nil {
			return nil, err
		}
		x, y = leftPad(x, cv.size()), leftPad(y, cv.size())
		if x == nil || y == nil {
			return nil, fmt.Errorf("TPM returned an ECC point larger than its curve")
		}
		out := make([]byte, 0, 1+2*cv.size())
		out = append(out, 0x04)
		out = append(out, x...)
		return append(out, y...), nil
	}
	return nil, fmt.Errorf("unexpected TPM key type %v", p.Type)
}

// importPublic parses a PSA-format public key and builds its public area.
// bits 0 means "from the data"; it returns the attributes with bits set.
func importPublic(a psa.Attributes, data []byte) (tpm2.TPMTPublic, psa.Attributes, error) {
	attrs := tpm2.TPMAObject{UserWithAuth: true, NoDA: true}
	switch {
	case a.Alg.IsSign() || a.Alg == psa.AlgNone:
		attrs.SignEncrypt = true
	}
	if a.Alg.IsAsymEncrypt() || (a.Type == psa.KeyTypeRSAPublicKey && a.Alg == psa.AlgNone) {
		attrs.Decrypt = true
	}
	switch {
	case a.Type == psa.KeyTypeRSAPublicKey:
		k, err := x509.ParsePKCS1PublicKey(data)
		if err != nil {
			return tpm2.TPMTPublic{}, a, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "RSA public key is not a DER RSAPublicKey: %v", err)
		}
		if k.E != 65537 {
			return tpm2.TPMTPublic{}, a, wire.Errorf(wire.StatusPsaErrorNotSupported, "the TPM provider supports the RSA public exponent 65537 only, not %d", k.E)
		}
		bits := uint32(k.N.BitLen())
		if bits%8 != 0 {
			// PSA sizes an RSA key by its modulus length in bytes.
			bits = (bits + 7) / 8 * 8
		}
		if a.Bits != 0 && a.Bits != bits {
			return tpm2.TPMTPublic{}, a, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "attributes say %d bits, the key has %d", a.Bits, bits)
		}
		a.Bits = bits
		return tpm2.TPMTPublic{
			Type: tpm2.TPMAlgRSA, NameAlg: tpm2.TPMAlgSHA256, ObjectAttributes: attrs,
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
				Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
				Scheme:    tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull},
				KeyBits:   tpm2.TPMIRSAKeyBits(bits),
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: k.N.Bytes()}),
		}, a, nil
	case a.Type.IsECC() && a.Type.IsPublicKey():
		if len(data) < 3 || data[0] != 0x04 || len(data)%2 != 1 {
			return tpm2.TPMTPublic{}, a, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "ECC public key must be an uncompressed point 0x04||X||Y")
		}
		size := (len(data) - 1) / 2
		bits := a.Bits
		if bits == 0 {
			bits = uint32(size) * 8
			if a.Type.EccFamily() == psa.EccSecpR1 && size == 66 {
				bits = 521
			}
		}
		cv, ok := curveFor(a.Type, bits)
		if !ok {
			return tpm2.TPMTPublic{}, a, wire.Errorf(wire.StatusPsaErrorNotSupported, "no TPM curve for %v with %d bits", a.Type, bits)
		}
		if cv.size() != size {
			return tpm2.TPMTPublic{}, a, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "a %d-bit point needs %d-byte coordinates, got %d", bits, cv.size(), size)
		}
		x, y := data[1:1+size], data[1+size:]
		if cv.go_ != nil && !cv.go_.IsOnCurve(new(big.Int).SetBytes(x), new(big.Int).SetBytes(y)) {
			return tpm2.TPMTPublic{}, a, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the point is not on the curve")
		}
		a.Bits = bits
		return tpm2.TPMTPublic{
			Type: tpm2.TPMAlgECC, NameAlg: tpm2.TPMAlgSHA256, ObjectAttributes: attrs,
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
				Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
				Scheme:    tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgNull},
				CurveID:   cv.id,
				KDF:       tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
				X: tpm2.TPM2BECCParameter{Buffer: append([]byte(nil), x...)},
				Y: tpm2.TPM2BECCParameter{Buffer: append([]byte(nil), y...)},
			}),
		}, a, nil
	case a.Type.IsKeyPair():
		return tpm2.TPMTPublic{}, a, wire.Errorf(wire.StatusPsaErrorNotSupported, "the TPM provider imports public keys only; generate key pairs in the TPM")
	}
	return tpm2.TPMTPublic{}, a, wire.Errorf(wire.StatusPsaErrorNotSupported, "the TPM provider cannot import %v", a.Type)
}

// goECDSAPublic is the Go form of an ECC public area, or nil if Go lacks
// the curve.
func goECDSAPublic(p *tpm2.TPMTPublic) (*ecdsa.PublicKey, curve, error) {
	cv, x, y, err := eccPublic(p)
	if err != nil {
		return nil, cv, err
	}
	if cv.go_ == nil {
		return nil, cv, nil
	}
	return &ecdsa.PublicKey{Curve: cv.go_, X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}, cv, nil
}
