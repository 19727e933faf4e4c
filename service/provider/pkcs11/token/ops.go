//go:build cgo

package token

import (
	"context"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"math/big"
	"strconv"

	"github.com/miekg/pkcs11"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/provider/pkcs11/link"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

var _ link.Backend = (*Token)(nil)

// Execute implements link.Backend: one of provider 2's operations on a key
// named by link.KeyName. The daemon has applied the key's PSA policy; the
// token applies the attributes the key was created with.
func (t *Token) Execute(ctx context.Context, op wire.Opcode, req protomsg.Message) (protomsg.Message, error) {
	switch r := req.(type) {
	case *pb.GenerateKeyRequest:
		return &pb.GenerateKeyResult{}, t.generate(ctx, r)
	case *pb.ImportKeyRequest:
		return &pb.ImportKeyResult{}, t.importKey(ctx, r)
	case *pb.DestroyKeyRequest:
		return &pb.DestroyKeyResult{}, t.destroy(ctx, r)
	case *pb.ExportPublicKeyRequest:
		b, err := t.exportPublic(ctx, r)
		return &pb.ExportPublicKeyResult{Data: b}, err
	case *pb.SignHashRequest:
		b, err := t.signHash(ctx, r)
		return &pb.SignHashResult{Signature: b}, err
	case *pb.VerifyHashRequest:
		return &pb.VerifyHashResult{}, t.verifyHash(ctx, r)
	case *pb.AsymmetricEncryptRequest:
		b, err := t.encrypt(ctx, r)
		return &pb.AsymmetricEncryptResult{Ciphertext: b}, err
	case *pb.AsymmetricDecryptRequest:
		b, err := t.decrypt(ctx, r)
		return &pb.AsymmetricDecryptResult{Plaintext: b}, err
	case *pb.GenerateRandomRequest:
		b, err := t.random(ctx, r.GetSize())
		return &pb.GenerateRandomResult{RandomBytes: b}, err
	case *pb.CanDoCryptoRequest:
		return &pb.CanDoCryptoResult{}, t.canDoCrypto(r)
	}
	return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "the co-server does not serve %v", op)
}

func ckaID(id uint32) []byte { return binary.BigEndian.AppendUint32(nil, id) }

// find returns the handles of the objects with CKA_ID id (and class, if
// not ^0).
func (t *Token) find(s pkcs11.SessionHandle, id uint32, class uint) ([]pkcs11.ObjectHandle, error) {
	tmpl := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, ckaID(id))}
	if class != ^uint(0) {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_CLASS, class))
	}
	if err := t.ctx.FindObjectsInit(s, tmpl); err != nil {
		return nil, t.fail("C_FindObjectsInit", err)
	}
	hs, _, err := t.ctx.FindObjects(s, 4)
	if ferr := t.ctx.FindObjectsFinal(s); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		return nil, t.fail("C_FindObjects", err)
	}
	return hs, nil
}

// withKey runs f on a session with the handle of key id's object of the
// class. Handles are cached; a stale one is looked up again once.
func (t *Token) withKey(ctx context.Context, id uint32, class uint, f func(s pkcs11.SessionHandle, h pkcs11.ObjectHandle) error) error {
	k := handleKey{id, class}
	return t.with(ctx, func(s pkcs11.SessionHandle) error {
		for try := 0; ; try++ {
			t.handleMu.Lock()
			h, ok := t.handles[k]
			t.handleMu.Unlock()
			if !ok {
				hs, err := t.find(s, id, class)
				if err != nil {
					return err
				}
				if len(hs) == 0 {
					return wire.Errorf(wire.StatusPsaErrorDoesNotExist, "no object with CKA_ID %x on slot %d (token %q)", ckaID(id), t.slot, t.label)
				}
				h = hs[0]
				t.handleMu.Lock()
				t.handles[k] = h
				t.handleMu.Unlock()
			}
			err := f(s, h)
			if try == 0 && (isRV(err, pkcs11.CKR_OBJECT_HANDLE_INVALID) || isRV(err, pkcs11.CKR_KEY_HANDLE_INVALID)) {
				t.forget(id)
				continue
			}
			return err
		}
	})
}

func (t *Token) forget(id uint32) {
	t.handleMu.Lock()
	defer t.handleMu.Unlock()
	for k := range t.handles {
		if k.id == id {
			delete(t.handles, k)
		}
	}
}

// mechanismType is the PKCS#11 mechanism serving alg (a policy may be a
// wildcard), or 0 if there is none.
func mechanismType(alg psa.Algorithm) uint {
	switch {
	case alg.IsRSAPKCS1v15Sign(), alg == psa.AlgRSAPKCS1v15Crypt:
		return pkcs11.CKM_RSA_PKCS
	case alg.IsRSAPSS():
		return pkcs11.CKM_RSA_PKCS_PSS
	case alg.IsECDSA() && !alg.IsDeterministicECDSA():
		return pkcs11.CKM_ECDSA
	case alg.IsRSAOAEP():
		return pkcs11.CKM_RSA_PKCS_OAEP
	}
	return 0
}

type hashInfo struct {
	mech, mgf uint
	size      int
	prefix    []byte // DigestInfo before the digest (PKCS#1 v1.5)
}

// hashes are the hashes the token mechanisms take as parameters. The
// DigestInfo prefixes are the DER of PKCS#1's DigestInfo up to the digest.
var hashes = map[psa.Algorithm]hashInfo{
	psa.AlgSHA1:   {pkcs11.CKM_SHA_1, pkcs11.CKG_MGF1_SHA1, 20, []byte{0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14}},
	psa.AlgSHA224: {pkcs11.CKM_SHA224, pkcs11.CKG_MGF1_SHA224, 28, []byte{0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c}},
	psa.AlgSHA256: {pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256, 32, []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}},
	psa.AlgSHA384: {pkcs11.CKM_SHA384, pkcs11.CKG_MGF1_SHA384, 48, []byte{0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30}},
	psa.AlgSHA512: {pkcs11.CKM_SHA512, pkcs11.CKG_MGF1_SHA512, 64, []byte{0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}},
}

func notSupported(format string, args ...any) error {
	return wire.Errorf(wire.StatusPsaErrorNotSupported, format, args...)
}

// signMechanism is the mechanism and the data to sign for a hash signed
// with alg.
func signMechanism(alg psa.Algorithm, hash []byte) ([]*pkcs11.Mechanism, []byte, error) {
	h := alg.HashAlg()
	hi, known := hashes[h]
	if known && len(hash) != hi.size {
		return nil, nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "a %v hash is %d bytes, not %d", h, hi.size, len(hash))
	}
	switch {
	case alg == psa.AlgRSAPKCS1v15SignRaw:
		return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}, hash, nil
	case alg.IsRSAPKCS1v15Sign() && known:
		data := append(append([]byte(nil), hi.prefix...), hash...)
		return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}, data, nil
	case alg.IsRSAPSS() && known:
		p := pkcs11.NewPSSParams(hi.mech, hi.mgf, uint(hi.size))
		return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, p)}, hash, nil
	case alg.IsECDSA() && !alg.IsDeterministicECDSA():
		return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}, hash, nil
	}
	return nil, nil, notSupported("%v is not supported by the PKCS#11 provider", alg)
}

func cryptMechanism(alg psa.Algorithm, salt []byte) ([]*pkcs11.Mechanism, error) {
	switch {
	case alg == psa.AlgRSAPKCS1v15Crypt:
		if len(salt) != 0 {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v takes no salt", alg)
		}
		return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}, nil
	case alg.IsRSAOAEP():
		hi, ok := hashes[alg.HashAlg()]
		if !ok {
			break
		}
		var p *pkcs11.OAEPParams
		if len(salt) == 0 {
			p = pkcs11.NewOAEPParams(hi.mech, hi.mgf, pkcs11.CKZ_DATA_SPECIFIED, nil)
		} else {
			p = pkcs11.NewOAEPParams(hi.mech, hi.mgf, pkcs11.CKZ_DATA_SPECIFIED, salt)
		}
		return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_OAEP, p)}, nil
	}
	return nil, notSupported("%v is not supported by the PKCS#11 provider", alg)
}

// curveOID is the named curve of a SECP R1 key of bits.
func curveOID(f psa.EccFamily, bits uint32) (asn1.ObjectIdentifier, bool) {
	if f != psa.EccSecpR1 {
		return nil, false
	}
	switch bits {
	case 192:
		return asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 1}, true
	case 224:
		return asn1.ObjectIdentifier{1, 3, 132, 0, 33}, true
	case 256:
		return asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}, true
	case 384:
		return asn1.ObjectIdentifier{1, 3, 132, 0, 34}, true
	case 521:
		return asn1.ObjectIdentifier{1, 3, 132, 0, 35}, true
	}
	return nil, false
}

func ecParams(f psa.EccFamily, bits uint32) ([]byte, error) {
	oid, ok := curveOID(f, bits)
	if !ok {
		return nil, notSupported("ECC family %#x with %d bits is not supported by the PKCS#11 provider", uint8(f), bits)
	}
	return asn1.Marshal(oid)
}

// allowedMechanisms is CKA_ALLOWED_MECHANISMS for a key whose policy is
// alg: a CK_MECHANISM_TYPE array in the machine's CK_ULONG.
func allowedMechanisms(alg psa.Algorithm) *pkcs11.Attribute {
	m := mechanismType(alg)
	if m == 0 {
		return nil
	}
	var b []byte
	if strconv.IntSize == 64 {
		b = binary.NativeEndian.AppendUint64(nil, uint64(m))
	} else {
		b = binary.NativeEndian.AppendUint32(nil, uint32(m))
	}
	return pkcs11.NewAttribute(pkcs11.CKA_ALLOWED_MECHANISMS, b)
}

func attrs(a *pb.KeyAttributes) (psa.Attributes, error) { return psa.AttributesFromProto(a) }

// generate creates a key pair as Parsec's PKCS#11 provider does: both
// objects on the token with CKA_ID = the id big-endian, no label, usage
// attributes from the PSA usage flags.
func (t *Token) generate(ctx context.Context, r *pb.GenerateKeyRequest) error {
	id, err := link.ParseKeyName(r.GetKeyName())
	if err != nil {
		return err
	}
	a, err := attrs(r.GetAttributes())
	if err != nil {
		return err
	}
	u := a.Usage
	common := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, ckaID(id)), pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true)}
	if am := allowedMechanisms(a.Alg); am != nil {
		common = append(common, am)
	}
	pub := append(append([]*pkcs11.Attribute(nil), common...),
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, u&(psa.UsageVerifyHash|psa.UsageVerifyMessage) != 0),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, u&psa.UsageEncrypt != 0))
	priv := append(append([]*pkcs11.Attribute(nil), common...),
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, u&(psa.UsageSignHash|psa.UsageSignMessage) != 0),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, u&psa.UsageDecrypt != 0),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, u&psa.UsageDerive != 0),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, u&psa.UsageExport != 0),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, u&psa.UsageExport == 0))
	var mech uint
	switch {
	case a.Type == psa.KeyTypeRSAKeyPair:
		pub = append(pub, pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, uint(a.Bits)))
		mech = pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN
	case a.Type.IsECC() && a.Type.IsKeyPair():
		p, err := ecParams(a.Type.EccFamily(), a.Bits)
		if err != nil {
			return err
		}
		pub = append(pub, pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, p))
		mech = pkcs11.CKM_EC_KEY_PAIR_GEN
	default:
		return notSupported("%v keys cannot be generated by the PKCS#11 provider", a.Type)
	}
	return t.with(ctx, func(s pkcs11.SessionHandle) error {
		if err := t.idFree(s, id); err != nil {
			return err
		}
		_, _, err := t.ctx.GenerateKeyPair(s, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, pub, priv)
		if err != nil {
			return t.fail("C_GenerateKeyPair", err)
		}
		return nil
	})
}

// idFree refuses an id already on the token (a key left by a crash between
// creating it and recording its mapping): the daemon draws another.
func (t *Token) idFree(s pkcs11.SessionHandle, id uint32) error {
	hs, err := t.find(s, id, ^uint(0))
	if err != nil {
		return err
	}
	if len(hs) > 0 {
		return wire.Errorf(wire.StatusPsaErrorAlreadyExists, "the token already has objects with CKA_ID %x", ckaID(id))
	}
	t.forget(id)
	return nil
}

type rsaPublicKey struct {
	N *big.Int
	E *big.Int
}

// importKey creates a public key object, the only kind Parsec's PKCS#11
// provider imports.
func (t *Token) importKey(ctx context.Context, r *pb.ImportKeyRequest) error {
	id, err := link.ParseKeyName(r.GetKeyName())
	if err != nil {
		return err
	}
	a, err := attrs(r.GetAttributes())
	if err != nil {
		return err
	}
	data := r.GetData()
	if len(data) == 0 {
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key data is empty")
	}
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_ID, ckaID(id)),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
	}
	if am := allowedMechanisms(a.Alg); am != nil {
		tmpl = append(tmpl, am)
	}
	switch {
	case a.Type == psa.KeyTypeRSAPublicKey:
		var k rsaPublicKey
		rest, err := asn1.Unmarshal(data, &k)
		if err != nil || len(rest) != 0 || k.N == nil || k.E == nil || k.N.Sign() <= 0 || k.E.Sign() <= 0 {
			return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key data is not a DER RSAPublicKey")
		}
		if a.Bits != 0 && uint32(k.N.BitLen()) != a.Bits {
			return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the key has %d bits, the attributes say %d", k.N.BitLen(), a.Bits)
		}
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS, k.N.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, k.E.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true))
	case a.Type.IsECC() && a.Type.IsPublicKey():
		bits := a.Bits
		if bits == 0 {
			bits = uint32(len(data)-1) / 2 * 8
			if bits == 528 {
				bits = 521
			}
		}
		if len(data) != 1+2*int((bits+7)/8) || data[0] != 4 {
			return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key data is not an uncompressed point of a %d-bit curve", bits)
		}
		p, err := ecParams(a.Type.EccFamily(), bits)
		if err != nil {
			return err
		}
		point, _ := asn1.Marshal(data)
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, p),
			pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, point))
	default:
		return notSupported("%v keys cannot be imported by the PKCS#11 provider (public keys only)", a.Type)
	}
	return t.with(ctx, func(s pkcs11.SessionHandle) error {
		if err := t.idFree(s, id); err != nil {
			return err
		}
		if _, err := t.ctx.CreateObject(s, tmpl); err != nil {
			return t.fail("C_CreateObject", err)
		}
		return nil
	})
}

func (t *Token) destroy(ctx context.Context, r *pb.DestroyKeyRequest) error {
	id, err := link.ParseKeyName(r.GetKeyName())
	if err != nil {
		return err
	}
	defer t.forget(id)
	return t.with(ctx, func(s pkcs11.SessionHandle) error {
		hs, err := t.find(s, id, ^uint(0))
		if err != nil {
			return err
		}
		if len(hs) == 0 {
			return wire.Errorf(wire.StatusPsaErrorDoesNotExist, "no object with CKA_ID %x on the token", ckaID(id))
		}
		for _, h := range hs {
			if err := t.ctx.DestroyObject(s, h); err != nil {
				return t.fail("C_DestroyObject", err)
			}
		}
		return nil
	})
}

func (t *Token) exportPublic(ctx context.Context, r *pb.ExportPublicKeyRequest) ([]byte, error) {
	id, err := link.ParseKeyName(r.GetKeyName())
	if err != nil {
		return nil, err
	}
	var out []byte
	err = t.withKey(ctx, id, pkcs11.CKO_PUBLIC_KEY, func(s pkcs11.SessionHandle, h pkcs11.ObjectHandle) error {
		kt, err := t.ctx.GetAttributeValue(s, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil)})
		if err != nil {
			return t.fail("C_GetAttributeValue", err)
		}
		switch ulong(kt[0].Value) {
		case pkcs11.CKK_RSA:
			v, err := t.ctx.GetAttributeValue(s, h, []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_MODULUS, nil), pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, nil)})
			if err != nil {
				return t.fail("C_GetAttributeValue", err)
			}
			out, err = asn1.Marshal(rsaPublicKey{N: new(big.Int).SetBytes(v[0].Value), E: new(big.Int).SetBytes(v[1].Value)})
			return err
		case pkcs11.CKK_EC:
			v, err := t.ctx.GetAttributeValue(s, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil)})
			if err != nil {
				return t.fail("C_GetAttributeValue", err)
			}
			// CKA_EC_POINT is a DER OCTET STRING holding the point; some
			// modules return the bare point.
			var pt []byte
			if rest, err := asn1.Unmarshal(v[0].Value, &pt); err == nil && len(rest) == 0 {
				out = pt
			} else {
				out = v[0].Value
			}
			return nil
		}
		return notSupported("the key's type on the token is not RSA or EC")
	})
	return out, err
}

// ulong decodes a CK_ULONG attribute value (native byte order and size).
func ulong(b []byte) uint {
	switch len(b) {
	case 8:
		return uint(binary.NativeEndian.Uint64(b))
	case 4:
		return uint(binary.NativeEndian.Uint32(b))
	}
	return ^uint(0)
}

func (t *Token) signHash(ctx context.Context, r *pb.SignHashRequest) ([]byte, error) {
	id, err := link.ParseKeyName(r.GetKeyName())
	if err != nil {
		return nil, err
	}
	alg, err := psa.SignFromProto(r.GetAlg())
	if err != nil {
		return nil, err
	}
	mech, data, err := signMechanism(alg, r.GetHash())
	if err != nil {
		return nil, err
	}
	var sig []byte
	err = t.withKey(ctx, id, pkcs11.CKO_PRIVATE_KEY, func(s pkcs11.SessionHandle, h pkcs11.ObjectHandle) error {
		if err := t.ctx.SignInit(s, mech, h); err != nil {
			return t.fail("C_SignInit", err)
		}
		var err error
		if sig, err = t.ctx.Sign(s, data); err != nil {
			return t.fail("C_Sign", err)
		}
		return nil
	})
	return sig, err
}

func (t *Token) verifyHash(ctx context.Context, r *pb.VerifyHashRequest) error {
	id, err := link.ParseKeyName(r.GetKeyName())
	if err != nil {
		return err
	}
	alg, err := psa.SignFromProto(r.GetAlg())
	if err != nil {
		return err
	}
	mech, data, err := signMechanism(alg, r.GetHash())
	if err != nil {
		return err
	}
	return t.withKey(ctx, id, pkcs11.CKO_PUBLIC_KEY, func(s pkcs11.SessionHandle, h pkcs11.ObjectHandle) error {
		if err := t.ctx.VerifyInit(s, mech, h); err != nil {
			return t.fail("C_VerifyInit", err)
		}
		if err := t.ctx.Verify(s, data, r.GetSignature()); err != nil {
			return t.fail("C_Verify", err)
		}
		return nil
	})
}

func (t *Token) encrypt(ctx context.Context, r *pb.AsymmetricEncryptRequest) ([]byte, error) {
	return t.crypt(ctx, r.GetKeyName(), r.GetAlg(), r.GetSalt(), r.GetPlaintext(),
		pkcs11.CKO_PUBLIC_KEY, "C_Encrypt", t.ctx.EncryptInit, t.ctx.Encrypt)
}

func (t *Token) decrypt(ctx context.Context, r *pb.AsymmetricDecryptRequest) ([]byte, error) {
	return t.crypt(ctx, r.GetKeyName(), r.GetAlg(), r.GetSalt(), r.GetCiphertext(),
		pkcs11.CKO_PRIVATE_KEY, "C_Decrypt", t.ctx.DecryptInit, t.ctx.Decrypt)
}

// crypt is one asymmetric encryption or decryption (fn = "C_Encrypt" or
// "C_Decrypt", with its Init and single-part calls) with the key's object
// of class.
func (t *Token) crypt(ctx context.Context, keyName string, palg *pb.Algorithm_AsymmetricEncryption, salt, in []byte, class uint, fn string,
	initFn func(pkcs11.SessionHandle, []*pkcs11.Mechanism, pkcs11.ObjectHandle) error,
	runFn func(pkcs11.SessionHandle, []byte) ([]byte, error)) ([]byte, error) {
	id, err := link.ParseKeyName(keyName)
	if err != nil {
		return nil, err
	}
	alg, err := psa.AsymEncryptFromProto(palg)
	if err != nil {
		return nil, err
	}
	mech, err := cryptMechanism(alg, salt)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = t.withKey(ctx, id, class, func(s pkcs11.SessionHandle, h pkcs11.ObjectHandle) error {
		if err := initFn(s, mech, h); err != nil {
			return t.fail(fn+"Init", err)
		}
		var err error
		if out, err = runFn(s, in); err != nil {
			return t.fail(fn, err)
		}
		return nil
	})
	return out, err
}

func (t *Token) random(ctx context.Context, n uint64) ([]byte, error) {
	if n == 0 {
		return []byte{}, nil
	}
	if n > link.MaxBody/2 {
		return nil, wire.Errorf(wire.StatusResponseTooLarge, "%d random bytes exceed what the co-server answers", n)
	}
	var out []byte
	err := t.with(ctx, func(s pkcs11.SessionHandle) error {
		var err error
		if out, err = t.ctx.GenerateRandom(s, int(n)); err != nil {
			return t.fail("C_GenerateRandom", err)
		}
		return nil
	})
	return out, err
}

// canDoCrypto answers as Parsec's PKCS#11 provider: RSA keys (with a
// PKCS#1 v1.5 signature hash the provider can encode) and SECP R1 keys of
// the five named sizes; the use check asks the token for the mechanism and
// its key sizes.
func (t *Token) canDoCrypto(r *pb.CanDoCryptoRequest) error {
	a, err := psa.AttributesFromProto(r.GetAttributes())
	if err != nil {
		return notSupported("unsupported key attributes: %v", err)
	}
	switch {
	case a.Type.IsRSA():
		if a.Alg.IsRSAPKCS1v15Sign() && a.Alg != psa.AlgRSAPKCS1v15SignRaw {
			if _, ok := hashes[a.Alg.HashAlg()]; !ok {
				return notSupported("hash of %v not supported", a.Alg)
			}
		}
	case a.Type.IsECC():
		if _, ok := curveOID(a.Type.EccFamily(), a.Bits); !ok {
			return notSupported("ECC family %#x with %d bits not supported", uint8(a.Type.EccFamily()), a.Bits)
		}
	default:
		return notSupported("%v keys are not supported", a.Type)
	}
	switch r.GetCheckType() {
	case pb.CheckType_USE:
		m := mechanismType(a.Alg)
		if m == 0 {
			return notSupported("%v is not supported", a.Alg)
		}
		info, err := t.mechanism(m)
		if err != nil {
			return err
		}
		if uint(a.Bits) < info.MinKeySize || uint(a.Bits) > info.MaxKeySize {
			return notSupported("the token's mechanism takes keys of %d to %d bits, not %d", info.MinKeySize, info.MaxKeySize, a.Bits)
		}
	case pb.CheckType_GENERATE:
		if !a.Type.IsKeyPair() {
			return notSupported("%v keys cannot be generated", a.Type)
		}
	case pb.CheckType_IMPORT:
		if !a.Type.IsPublicKey() {
			return notSupported("%v keys cannot be imported", a.Type)
		}
	case pb.CheckType_DERIVE:
		return notSupported("key derivation is not supported")
	default:
		return wire.Errorf(wire.StatusInvalidEncoding, "invalid CanDoCrypto check type %d", r.GetCheckType())
	}
	return nil
}

// mechanism returns the token's information on mechanism m, or
// NotSupported if the token does not list it. The list is read once.
func (t *Token) mechanism(m uint) (pkcs11.MechanismInfo, error) {
	t.mechMu.Lock()
	defer t.mechMu.Unlock()
	if t.mechs == nil {
		list, err := t.ctx.GetMechanismList(t.slot)
		if err != nil {
			return pkcs11.MechanismInfo{}, t.fail("C_GetMechanismList", err)
		}
		mechs := map[uint]pkcs11.MechanismInfo{}
		for _, x := range list {
			info, err := t.ctx.GetMechanismInfo(t.slot, []*pkcs11.Mechanism{x})
			if err != nil {
				return pkcs11.MechanismInfo{}, t.fail("C_GetMechanismInfo", err)
			}
			mechs[x.Mechanism] = info
		}
		t.mechs = mechs
	}
	info, ok := t.mechs[m]
	if !ok {
		return info, notSupported("the token does not offer mechanism %#x", m)
	}
	return info, nil
}

var errClosed = errors.New("token closed")
