package tpm

// Keys made by Rust Parsec's TPM provider (1.x), whose mappings the
// takeover copies verbatim into our key info manager. Their KeyID is
// Rust's bincode PasswordContext, not our "PGTK" blob; this file decodes it
// and rebuilds the key's TPM public area, which Rust does not store. The
// format was read in Rust Parsec 1.4.1 (src/providers/tpm/utils.rs) and
// tss-esapi 7.5.0 (abstraction/transient), and checked on keys the Rust
// service made (service/takeover/testdata/rust-1.4.1, rustfixture_test.go).
// README.md, "TPM keys made by Rust Parsec", says what is carried over.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
)

// rustKeyID is a decoded PasswordContext (bincode 1.x, little-endian):
//
//	context: TpmsContext {sequence u64, saved_handle u32, hierarchy u32,
//	         context_blob Vec<u8>}   (legacy, written as 24 zero bytes)
//	auth_value: Vec<u8>
//	key_material: KeyMaterial {public: PublicKey, private: Vec<u8>}
//	PublicKey: u32 variant; 0 = Rsa(modulus Vec<u8>), 1 = Ecc{x, y Vec<u8>}
//
// Vec<u8> is a u64 length then the bytes. private is the content of the
// TPM2B_PRIVATE that TPM2_Create returned; empty for an imported public key.
type rustKeyID struct {
	auth    []byte
	ecc     bool
	modulus []byte // RSA
	x, y    []byte // ECC
	private []byte
}

// Bounds on the decoded fields: TPM2B sizes (the TPM rejects anything
// larger anyway) and a little headroom, so that a damaged length never
// makes us slice past the record or allocate.
const (
	rustMaxAuth    = 64  // sizeof(TPMU_HA): the largest auth value a TPM takes
	rustMaxModulus = 512 // RSA 4096
	rustMaxCoord   = 128 // MAX_ECC_KEY_BYTES of any TPM is far below
	rustMaxBlob    = 0xffff
)

// errRustLegacy marks the LegacyPasswordContext form (see decodeRustKeyID).
var errRustLegacy = errors.New("legacy Rust Parsec TPM key")

// bincodeReader reads the fields of a bincode 1.x record.
type bincodeReader struct {
	b   []byte
	off int
	err error
}

func (r *bincodeReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("at byte %d: "+format, append([]any{r.off}, args...)...)
	}
}

func (r *bincodeReader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.off < n {
		r.fail("%s: %d bytes needed, %d left", what, n, len(r.b)-r.off)
		return nil
	}
	v := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return v
}

func (r *bincodeReader) u32(what string) uint32 {
	v := r.take(4, what)
	if v == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(v)
}

func (r *bincodeReader) u64(what string) uint64 {
	v := r.take(8, what)
	if v == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(v)
}

// bytes reads a Vec<u8> of at most max bytes.
func (r *bincodeReader) bytes(what string, max int) []byte {
	n := r.u64(what + " length")
	if r.err != nil {
		return nil
	}
	if n > uint64(max) {
		r.fail("%s: length %d exceeds %d", what, n, max)
		return nil
	}
	return r.take(int(n), what)
}

func (r *bincodeReader) left() int { return len(r.b) - r.off }

// isRustKeyID tells a Rust key id from ours: ours start with "PGTK",
// Rust's with a bincode TpmsContext (24 zero bytes in every release since
// 0.8). Anything not ours is handed to the Rust decoder, which names what
// is wrong with it.
func isRustKeyID(id []byte) bool { return !bytes.HasPrefix(id, blobMagic) }

// decodeRustKeyID parses a PasswordContext. A record that ends right after
// the auth value is a LegacyPasswordContext (Parsec before 0.8.0 stored a
// TPM2_ContextSave blob instead of the key material); it is refused with
// errRustLegacy. Rust migrates such a record when the key is next used
// (TPM2_ContextLoad, then TPM2_ObjectChangeAuth under its primary for a
// new private blob); we do not: the saved context is only good on the TPM
// and primary of that time, no 1.x release writes the form, and no real
// record was at hand to test a migration on.
func decodeRustKeyID(id []byte) (*rustKeyID, error) {
	r := &bincodeReader{b: id}
	seq := r.u64("context.sequence")
	handle := r.u32("context.saved_handle")
	hier := r.u32("context.hierarchy")
	ctxBlob := r.bytes("context.context_blob", rustMaxBlob)
	k := &rustKeyID{auth: r.bytes("auth_value", rustMaxAuth)}
	if r.err != nil {
		return nil, fmt.Errorf("%w: Rust TPM key id: %v", errBadBlob, r.err)
	}
	if r.left() == 0 && (seq != 0 || handle != 0 || hier != 0 || len(ctxBlob) != 0) {
		return nil, errRustLegacy
	}
	// Rust ignores the legacy context once key material is present; every
	// release writes it as zeros, so anything else is damage.
	if seq != 0 || handle != 0 || hier != 0 || len(ctxBlob) != 0 {
		return nil, fmt.Errorf("%w: Rust TPM key id: the legacy context field is not empty", errBadBlob)
	}
	switch v := r.u32("key_material.public variant"); {
	case r.err != nil:
	case v == 0:
		k.modulus = r.bytes("RSA modulus", rustMaxModulus)
	case v == 1:
		k.ecc = true
		k.x = r.bytes("ECC x", rustMaxCoord)
		k.y = r.bytes("ECC y", rustMaxCoord)
	default:
		r.fail("unknown public key variant %d", v)
	}
	k.private = r.bytes("key_material.private", rustMaxBlob)
	if r.err == nil && r.left() != 0 {
		r.fail("%d trailing bytes", r.left())
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: Rust TPM key id: %v", errBadBlob, r.err)
	}
	if !k.ecc && len(k.modulus) == 0 || k.ecc && (len(k.x) == 0 || len(k.y) == 0) {
		return nil, fmt.Errorf("%w: Rust TPM key id: empty public key", errBadBlob)
	}
	return k, nil
}

// encode writes the PasswordContext back (for tests and fuzzing: decoding
// then encoding must give the same bytes).
func (k *rustKeyID) encode() []byte {
	out := make([]byte, 24, 24+8+len(k.auth)+4+16+len(k.modulus)+len(k.x)+len(k.y)+8+len(k.private))
	vec := func(b []byte) {
		out = binary.LittleEndian.AppendUint64(out, uint64(len(b)))
		out = append(out, b...)
	}
	vec(k.auth)
	if k.ecc {
		out = binary.LittleEndian.AppendUint32(out, 1)
		vec(k.x)
		vec(k.y)
	} else {
		out = binary.LittleEndian.AppendUint32(out, 0)
		vec(k.modulus)
	}
	vec(k.private)
	return out
}

// rustAttrError reports attributes the Rust provider itself could not have
// used with a TPM key, with the status Rust gives for them. It also
// matches errBadBlob so that such an entry can still be destroyed.
func rustAttrError(s wire.Status, format string, args ...any) error {
	return fmt.Errorf("%w: %w", errBadBlob, wire.Errorf(s, "Rust TPM key: "+format, args...))
}

// rustObjectAttributes are what the Rust provider gives every key
// (tss-esapi's get_public_from_params): no noDA, never restricted, sign
// set even on decryption keys.
func rustObjectAttributes(decrypt bool) tpm2.TPMAObject {
	return tpm2.TPMAObject{
		FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true, UserWithAuth: true,
		SignEncrypt: true, Decrypt: decrypt,
	}
}

// rustHash converts a policy hash the way Rust's convert_hash_to_tpm does
// (the same set our hashToTPM holds).
func rustHash(alg psa.Algorithm) (tpm2.TPMAlgID, error) {
	h := alg.HashAlg()
	id, ok := hashToTPM[h]
	if !ok {
		return 0, rustAttrError(wire.StatusPsaErrorNotSupported, "hash %v of %v has no TPM equivalent", h, alg)
	}
	return id, nil
}

// rustPublic rebuilds, bit for bit, the TPMT_PUBLIC the Rust provider
// created the key with, from its PSA attributes and stored public key
// (Rust's parsec_to_tpm_params + get_public_from_params). The TPM checks
// the result against the private blob's integrity (which covers the
// object's name), so a single differing bit makes TPM2_Load fail.
func rustPublic(a psa.Attributes, k *rustKeyID) (tpm2.TPMTPublic, error) {
	alg := a.Alg
	switch {
	case a.Type == psa.KeyTypeRSAKeyPair || a.Type == psa.KeyTypeRSAPublicKey:
		if k.ecc {
			return tpm2.TPMTPublic{}, fmt.Errorf("%w: Rust TPM key id holds an ECC point for an RSA key", errBadBlob)
		}
		switch a.Bits {
		case 1024, 2048, 3072, 4096:
		default:
			return tpm2.TPMTPublic{}, rustAttrError(wire.StatusPsaErrorInvalidArgument, "RSA size %d is not one a TPM key can have", a.Bits)
		}
		if n := len(bytes.TrimLeft(k.modulus, "\x00")); n*8 != int(a.Bits) {
			return tpm2.TPMTPublic{}, fmt.Errorf("%w: Rust TPM key id holds a %d-byte modulus for a %d-bit key", errBadBlob, n, a.Bits)
		}
		scheme := tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull}
		decrypt := false
		switch {
		case (alg.IsRSAPKCS1v15Sign() || alg.IsRSAPSS()) && alg != psa.AlgRSAPKCS1v15SignRaw && alg.HashAlg() != psa.AlgAnyHash:
			h, err := rustHash(alg)
			if err != nil {
				return tpm2.TPMTPublic{}, err
			}
			scheme = rsaSigScheme(alg, h)
		case alg.IsRSAPKCS1v15Sign() || alg.IsRSAPSS():
			return tpm2.TPMTPublic{}, rustAttrError(wire.StatusPsaErrorNotSupported, "%v is not a TPM signing scheme", alg)
		case alg == psa.AlgRSAPKCS1v15Crypt:
			decrypt = true
		case alg.IsRSAOAEP():
			if _, err := rustHash(alg); err != nil {
				return tpm2.TPMTPublic{}, err
			}
			// The OAEP hash is not in the public area: Rust passes the
			// scheme with each decryption.
			decrypt = true
		default:
			return tpm2.TPMTPublic{}, rustAttrError(wire.StatusPsaErrorInvalidArgument, "%v cannot be used with an RSA key", alg)
		}
		return tpm2.TPMTPublic{
			Type: tpm2.TPMAlgRSA, NameAlg: tpm2.TPMAlgSHA256, ObjectAttributes: rustObjectAttributes(decrypt),
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
				Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
				Scheme:    scheme,
				KeyBits:   tpm2.TPMIRSAKeyBits(a.Bits),
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: k.modulus}),
		}, nil
	case a.Type.IsECC():
		if !k.ecc {
			return tpm2.TPMTPublic{}, fmt.Errorf("%w: Rust TPM key id holds an RSA modulus for an ECC key", errBadBlob)
		}
		cv, ok := curveFor(a.Type, a.Bits)
		if !ok || a.Type.EccFamily() != psa.EccSecpR1 {
			return tpm2.TPMTPublic{}, rustAttrError(wire.StatusPsaErrorNotSupported, "no TPM curve for %v with %d bits", a.Type, a.Bits)
		}
		if len(k.x) > cv.size() || len(k.y) > cv.size() {
			return tpm2.TPMTPublic{}, fmt.Errorf("%w: Rust TPM key id holds a point larger than its curve", errBadBlob)
		}
		switch {
		case alg.IsECDSA() && !alg.IsDeterministicECDSA() && alg != psa.AlgECDSAAny && alg.HashAlg() != psa.AlgAnyHash:
		case alg.IsECDSA():
			return tpm2.TPMTPublic{}, rustAttrError(wire.StatusPsaErrorNotSupported, "%v is not a TPM signing scheme", alg)
		default:
			return tpm2.TPMTPublic{}, rustAttrError(wire.StatusPsaErrorInvalidArgument, "%v cannot be used with an ECC key", alg)
		}
		h, err := rustHash(alg)
		if err != nil {
			return tpm2.TPMTPublic{}, err
		}
		return tpm2.TPMTPublic{
			Type: tpm2.TPMAlgECC, NameAlg: tpm2.TPMAlgSHA256, ObjectAttributes: rustObjectAttributes(false),
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
				Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
				Scheme:    tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECDSA, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: h})},
				CurveID:   cv.id,
				KDF:       tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
			}),
			Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
				X: tpm2.TPM2BECCParameter{Buffer: k.x},
				Y: tpm2.TPM2BECCParameter{Buffer: k.y},
			}),
		}, nil
	}
	return tpm2.TPMTPublic{}, rustAttrError(wire.StatusPsaErrorNotSupported, "the TPM provider holds RSA and ECC keys, not %v", a.Type)
}

// rustBlob turns a Rust key's mapping into the keyBlob the operations use.
func rustBlob(e kim.Entry) (*keyBlob, error) {
	k, err := decodeRustKeyID(e.KeyID)
	if errors.Is(err, errRustLegacy) {
		return nil, fmt.Errorf("%w: %w", errBadBlob, wire.Errorf(wire.StatusPsaErrorNotSupported,
			"the key was stored by Rust Parsec before 0.8.0 as a TPM saved context, which parsec-go does not carry over; "+
				"use it once with the Rust service (which rewrites it) before switching, or create it again"))
	}
	if err != nil {
		return nil, err
	}
	pub, err := rustPublic(e.Attributes, k)
	if err != nil {
		return nil, err
	}
	b := &keyBlob{kind: kindPair, auth: k.auth, public: tpm2.Marshal(pub), private: k.private, pub: &pub, rust: true}
	switch {
	case e.Attributes.Type.IsPublicKey() && len(k.private) != 0:
		return nil, fmt.Errorf("%w: Rust TPM key id has a private part for a public key", errBadBlob)
	case e.Attributes.Type.IsPublicKey():
		b.kind = kindPublic
	case len(k.private) == 0:
		return nil, fmt.Errorf("%w: Rust TPM key id of a key pair has no private part", errBadBlob)
	}
	return b, nil
}

// decodeKeyID reads the KeyID of one of this provider's mappings, in our
// format or in Rust's.
func decodeKeyID(e kim.Entry) (*keyBlob, error) {
	if isRustKeyID(e.KeyID) {
		return rustBlob(e)
	}
	return decodeBlob(e.KeyID)
}
