//go:build cgo

package main

// #include "shim.h"
import "C"

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	_ "crypto/sha1" // CKM_*SHA1* mechanisms hash in the module
	_ "crypto/sha256"
	_ "crypto/sha512"
	"hash"
	"math/big"
	"unsafe"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/psa"
)

// mechKind is what a mechanism does with its input.
type mechKind int

const (
	mechKeyGen mechKind = iota
	mechECDSA           // ECDSA, input = a digest, or hashed here
	mechPKCS1           // RSA PKCS#1 v1.5 signature (and decryption for CKM_RSA_PKCS)
	mechPSS             // RSA PSS signature
	mechOAEP            // RSA OAEP decryption
)

// mechSpec describes a mechanism: its kind, the hash applied in the module
// (0: the input is a digest or raw data) and the key type it needs.
type mechSpec struct {
	kind  mechKind
	hash  crypto.Hash
	rsa   bool
	flags C.CK_FLAGS
}

const (
	ecFlags   = C.CKF_EC_F_P | C.CKF_EC_NAMEDCURVE | C.CKF_EC_UNCOMPRESS
	signFlags = C.CKF_SIGN | C.CKF_VERIFY
)

// mechs are the mechanisms of every token, in the order C_GetMechanismList
// reports them.
var mechOrder = []C.CK_MECHANISM_TYPE{
	C.CKM_EC_KEY_PAIR_GEN, C.CKM_ECDSA, C.CKM_ECDSA_SHA1, C.CKM_ECDSA_SHA224, C.CKM_ECDSA_SHA256,
	C.CKM_ECDSA_SHA384, C.CKM_ECDSA_SHA512,
	C.CKM_RSA_PKCS_KEY_PAIR_GEN, C.CKM_RSA_PKCS, C.CKM_SHA1_RSA_PKCS, C.CKM_SHA224_RSA_PKCS,
	C.CKM_SHA256_RSA_PKCS, C.CKM_SHA384_RSA_PKCS, C.CKM_SHA512_RSA_PKCS,
	C.CKM_RSA_PKCS_PSS, C.CKM_SHA1_RSA_PKCS_PSS, C.CKM_SHA224_RSA_PKCS_PSS, C.CKM_SHA256_RSA_PKCS_PSS,
	C.CKM_SHA384_RSA_PKCS_PSS, C.CKM_SHA512_RSA_PKCS_PSS, C.CKM_RSA_PKCS_OAEP,
}

var mechs = map[C.CK_MECHANISM_TYPE]mechSpec{
	C.CKM_EC_KEY_PAIR_GEN:       {mechKeyGen, 0, false, C.CKF_GENERATE_KEY_PAIR | ecFlags},
	C.CKM_ECDSA:                 {mechECDSA, 0, false, signFlags | ecFlags},
	C.CKM_ECDSA_SHA1:            {mechECDSA, crypto.SHA1, false, signFlags | ecFlags},
	C.CKM_ECDSA_SHA224:          {mechECDSA, crypto.SHA224, false, signFlags | ecFlags},
	C.CKM_ECDSA_SHA256:          {mechECDSA, crypto.SHA256, false, signFlags | ecFlags},
	C.CKM_ECDSA_SHA384:          {mechECDSA, crypto.SHA384, false, signFlags | ecFlags},
	C.CKM_ECDSA_SHA512:          {mechECDSA, crypto.SHA512, false, signFlags | ecFlags},
	C.CKM_RSA_PKCS_KEY_PAIR_GEN: {mechKeyGen, 0, true, C.CKF_GENERATE_KEY_PAIR},
	C.CKM_RSA_PKCS:              {mechPKCS1, 0, true, signFlags | C.CKF_DECRYPT},
	C.CKM_SHA1_RSA_PKCS:         {mechPKCS1, crypto.SHA1, true, signFlags},
	C.CKM_SHA224_RSA_PKCS:       {mechPKCS1, crypto.SHA224, true, signFlags},
	C.CKM_SHA256_RSA_PKCS:       {mechPKCS1, crypto.SHA256, true, signFlags},
	C.CKM_SHA384_RSA_PKCS:       {mechPKCS1, crypto.SHA384, true, signFlags},
	C.CKM_SHA512_RSA_PKCS:       {mechPKCS1, crypto.SHA512, true, signFlags},
	C.CKM_RSA_PKCS_PSS:          {mechPSS, 0, true, signFlags},
	C.CKM_SHA1_RSA_PKCS_PSS:     {mechPSS, crypto.SHA1, true, signFlags},
	C.CKM_SHA224_RSA_PKCS_PSS:   {mechPSS, crypto.SHA224, true, signFlags},
	C.CKM_SHA256_RSA_PKCS_PSS:   {mechPSS, crypto.SHA256, true, signFlags},
	C.CKM_SHA384_RSA_PKCS_PSS:   {mechPSS, crypto.SHA384, true, signFlags},
	C.CKM_SHA512_RSA_PKCS_PSS:   {mechPSS, crypto.SHA512, true, signFlags},
	C.CKM_RSA_PKCS_OAEP:         {mechOAEP, 0, true, C.CKF_DECRYPT},
}

// hashes pairs Go's hashes with PSA's and PKCS#11's names for them.
var hashes = []struct {
	h   crypto.Hash
	alg psa.Algorithm
	ckm C.CK_MECHANISM_TYPE
	mgf C.CK_RSA_PKCS_MGF_TYPE
}{
	{crypto.SHA1, psa.AlgSHA1, C.CKM_SHA_1, C.CKG_MGF1_SHA1},
	{crypto.SHA224, psa.AlgSHA224, C.CKM_SHA224, C.CKG_MGF1_SHA224},
	{crypto.SHA256, psa.AlgSHA256, C.CKM_SHA256, C.CKG_MGF1_SHA256},
	{crypto.SHA384, psa.AlgSHA384, C.CKM_SHA384, C.CKG_MGF1_SHA384},
	{crypto.SHA512, psa.AlgSHA512, C.CKM_SHA512, C.CKG_MGF1_SHA512},
}

func psaHash(h crypto.Hash) psa.Algorithm {
	for _, e := range hashes {
		if e.h == h {
			return e.alg
		}
	}
	return psa.AlgNone
}

// hashBySize is the hash a bare digest of this length was made with.
func hashBySize(n int) crypto.Hash {
	for _, e := range hashes {
		if e.h.Size() == n {
			return e.h
		}
	}
	return 0
}

func hashByCKM(m C.CK_MECHANISM_TYPE) (crypto.Hash, C.CK_RSA_PKCS_MGF_TYPE, bool) {
	for _, e := range hashes {
		if e.ckm == m {
			return e.h, e.mgf, true
		}
	}
	return 0, 0, false
}

// allowedMechanisms lists the sign, verify and decrypt mechanisms a key's
// policy permits (CKA_ALLOWED_MECHANISMS).
func allowedMechanisms(a psa.Attributes) []C.CK_MECHANISM_TYPE {
	var out []C.CK_MECHANISM_TYPE
	for _, m := range mechOrder {
		spec := mechs[m]
		if spec.kind == mechKeyGen || spec.rsa != a.Type.IsRSA() {
			continue
		}
		if mechPermitted(spec, m, a.Alg) {
			out = append(out, m)
		}
	}
	return out
}

// mechPermitted reports whether a policy algorithm allows a mechanism for
// some input (a bare-digest mechanism for at least one hash).
func mechPermitted(spec mechSpec, m C.CK_MECHANISM_TYPE, policy psa.Algorithm) bool {
	hashOK := func(h crypto.Hash) bool {
		ph := policy.HashAlg()
		if h == 0 {
			return ph != psa.AlgNone
		}
		return ph == psa.AlgAnyHash || ph == psaHash(h)
	}
	switch spec.kind {
	case mechECDSA:
		return (policy.IsECDSA() && hashOK(spec.hash)) || (policy == psa.AlgECDSAAny && spec.hash == 0)
	case mechPKCS1:
		if m == C.CKM_RSA_PKCS && policy == psa.AlgRSAPKCS1v15Crypt {
			return true
		}
		return (policy.IsRSAPKCS1v15Sign() && policy != psa.AlgRSAPKCS1v15SignRaw && hashOK(spec.hash)) ||
			(policy == psa.AlgRSAPKCS1v15SignRaw && spec.hash == 0)
	case mechPSS:
		return policy.IsRSAPSS() && hashOK(spec.hash)
	case mechOAEP:
		return policy.IsRSAOAEP()
	}
	return false
}

// signOp is a signature or verification in progress.
type signOp struct {
	sl     *slot
	name   string
	attrs  psa.Attributes
	mech   C.CK_MECHANISM_TYPE
	spec   mechSpec
	pssLen int         // PSS salt length
	pssH   crypto.Hash // PSS hash given in the parameters
	h      hash.Hash   // running hash of a hash-and-sign mechanism
	buf    []byte      // accumulated input of a bare mechanism
	multi  bool        // C_*Update was called
	pub    crypto.PublicKey
}

// newSignOp checks a mechanism against a key and prepares the operation.
func newSignOp(sl *slot, o *object, mech *C.CK_MECHANISM, sign bool) (*signOp, C.CK_RV) {
	if mech == nil {
		return nil, C.CKR_ARGUMENTS_BAD
	}
	spec, ok := mechs[mech.mechanism]
	if !ok || spec.kind == mechKeyGen || spec.kind == mechOAEP {
		return nil, C.CKR_MECHANISM_INVALID
	}
	if spec.rsa != o.attrs.Type.IsRSA() {
		return nil, C.CKR_KEY_TYPE_INCONSISTENT
	}
	if sign && o.key.class != C.CKO_PRIVATE_KEY {
		return nil, C.CKR_KEY_TYPE_INCONSISTENT
	}
	op := &signOp{sl: sl, name: o.key.name, attrs: o.attrs, mech: mech.mechanism, spec: spec}
	if spec.hash != 0 {
		op.h = spec.hash.New()
	}
	if spec.kind == mechPSS {
		if mech.pParameter == nil || mech.ulParameterLen != C.CK_ULONG(unsafe.Sizeof(C.CK_RSA_PKCS_PSS_PARAMS{})) {
			return nil, C.CKR_MECHANISM_PARAM_INVALID
		}
		p := (*C.CK_RSA_PKCS_PSS_PARAMS)(mech.pParameter)
		h, mgf, ok := hashByCKM(p.hashAlg)
		if !ok || mgf != p.mgf || (spec.hash != 0 && h != spec.hash) {
			return nil, C.CKR_MECHANISM_PARAM_INVALID
		}
		// PSA signs with a salt as long as the hash; verification here
		// takes any salt length.
		if sign && int(p.sLen) != h.Size() {
			return nil, C.CKR_MECHANISM_PARAM_INVALID
		}
		op.pssH, op.pssLen = h, int(p.sLen)
	}
	if !mechPermitted(spec, mech.mechanism, o.attrs.Alg) {
		return nil, C.CKR_KEY_FUNCTION_NOT_PERMITTED
	}
	return op, C.CKR_OK
}

// sigLen is the length of the signatures of the key.
func (op *signOp) sigLen() int {
	if op.attrs.Type.IsRSA() {
		return int(op.attrs.Bits+7) / 8
	}
	return 2 * int((op.attrs.Bits+7)/8)
}

func (op *signOp) update(data []byte) {
	op.multi = true
	if op.h != nil {
		op.h.Write(data)
		return
	}
	op.buf = append(op.buf, data...)
}

// input returns the digest (or raw data) and the hash it was made with.
func (op *signOp) input() ([]byte, crypto.Hash) {
	if op.h != nil {
		return op.h.Sum(nil), op.spec.hash
	}
	return op.buf, 0
}

// digestInfoPrefixes are the DER prefixes of PKCS#1 v1.5 DigestInfo
// structures, so that CKM_RSA_PKCS over a DigestInfo can use a key whose
// policy is RSA_PKCS1V15_SIGN(hash) rather than the raw variant.
var digestInfoPrefixes = map[crypto.Hash][]byte{
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA224: {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// signAlg chooses the PSA algorithm and the bytes to sign for an input.
func (op *signOp) signAlg(in []byte, h crypto.Hash) (psa.Algorithm, []byte, error) {
	policy := op.attrs.Alg
	switch op.spec.kind {
	case mechECDSA:
		if h == 0 && policy == psa.AlgECDSAAny {
			return psa.AlgECDSAAny, in, nil
		}
		if h == 0 {
			h = hashBySize(len(in))
			if h == 0 {
				return 0, nil, rvError(C.CKR_DATA_LEN_RANGE)
			}
		}
		if policy.IsDeterministicECDSA() {
			return psa.DeterministicECDSA(psaHash(h)), in, nil
		}
		return psa.ECDSA(psaHash(h)), in, nil
	case mechPKCS1:
		if h != 0 {
			return psa.RSAPKCS1v15Sign(psaHash(h)), in, nil
		}
		if policy != psa.AlgRSAPKCS1v15SignRaw {
			for dh, prefix := range digestInfoPrefixes {
				if len(in) == len(prefix)+dh.Size() && bytes.HasPrefix(in, prefix) {
					return psa.RSAPKCS1v15Sign(psaHash(dh)), in[len(prefix):], nil
				}
			}
		}
		return psa.AlgRSAPKCS1v15SignRaw, in, nil
	case mechPSS:
		if h == 0 && len(in) != op.pssH.Size() {
			return 0, nil, rvError(C.CKR_DATA_LEN_RANGE)
		}
		return psa.RSAPSS(psaHash(op.pssH)), in, nil
	}
	return 0, nil, rvError(C.CKR_MECHANISM_INVALID)
}

// sign asks the service for the signature of the operation's input.
func (op *signOp) sign() ([]byte, error) {
	in, h := op.input()
	alg, in, err := op.signAlg(in, h)
	if err != nil {
		return nil, err
	}
	cx, cancel := ctx()
	defer cancel()
	return op.sl.c.SignHash(cx, op.name, alg, in)
}

// verify checks a signature in the module with the key's public part: the
// public key is public, and this works whatever the key's usage flags.
func (op *signOp) verify(sig []byte) error {
	if len(sig) != op.sigLen() {
		return rvError(C.CKR_SIGNATURE_LEN_RANGE)
	}
	in, h := op.input()
	switch pub := op.pub.(type) {
	case *ecdsa.PublicKey:
		if h == 0 && len(in) == 0 {
			return rvError(C.CKR_DATA_LEN_RANGE)
		}
		n := len(sig) / 2
		r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
		if !ecdsa.Verify(pub, in, r, s) {
			return rvError(C.CKR_SIGNATURE_INVALID)
		}
		return nil
	case *rsa.PublicKey:
		var err error
		switch op.spec.kind {
		case mechPKCS1:
			err = rsa.VerifyPKCS1v15(pub, h, in, sig)
		case mechPSS:
			if h == 0 && len(in) != op.pssH.Size() {
				return rvError(C.CKR_DATA_LEN_RANGE)
			}
			err = rsa.VerifyPSS(pub, op.pssH, in, sig, &rsa.PSSOptions{SaltLength: op.pssLen, Hash: op.pssH})
		}
		if err != nil {
			return rvError(C.CKR_SIGNATURE_INVALID)
		}
		return nil
	}
	return rvError(C.CKR_KEY_TYPE_INCONSISTENT)
}

// loadPublic fetches and parses the public key for a verification.
func (op *signOp) loadPublic(src attrSource) error {
	raw, err := src.publicKey()
	if err != nil {
		return err
	}
	pub, err := client.ParsePublicKey(pubAttrs(op.attrs), raw)
	if err != nil {
		return rvError(C.CKR_DEVICE_ERROR)
	}
	op.pub = pub
	return nil
}

// decryptOp is a decryption in progress. The plaintext of a length query is
// kept for the call that fetches it: the service decrypts only once.
type decryptOp struct {
	sl    *slot
	name  string
	alg   psa.Algorithm
	label []byte
	bits  uint32
	out   []byte
}

func newDecryptOp(sl *slot, o *object, mech *C.CK_MECHANISM) (*decryptOp, C.CK_RV) {
	if mech == nil {
		return nil, C.CKR_ARGUMENTS_BAD
	}
	if !o.attrs.Type.IsRSA() || o.key.class != C.CKO_PRIVATE_KEY {
		return nil, C.CKR_KEY_TYPE_INCONSISTENT
	}
	op := &decryptOp{sl: sl, name: o.key.name, bits: o.attrs.Bits}
	switch mech.mechanism {
	case C.CKM_RSA_PKCS:
		op.alg = psa.AlgRSAPKCS1v15Crypt
	case C.CKM_RSA_PKCS_OAEP:
		if mech.pParameter == nil || mech.ulParameterLen != C.CK_ULONG(unsafe.Sizeof(C.CK_RSA_PKCS_OAEP_PARAMS{})) {
			return nil, C.CKR_MECHANISM_PARAM_INVALID
		}
		p := (*C.CK_RSA_PKCS_OAEP_PARAMS)(mech.pParameter)
		h, mgf, ok := hashByCKM(p.hashAlg)
		if !ok || mgf != p.mgf {
			return nil, C.CKR_MECHANISM_PARAM_INVALID
		}
		if p.source == C.CKZ_DATA_SPECIFIED && p.pSourceData != nil && p.ulSourceDataLen > 0 {
			op.label = C.GoBytes(p.pSourceData, C.int(p.ulSourceDataLen))
		}
		op.alg = psa.RSAOAEP(psaHash(h))
	default:
		return nil, C.CKR_MECHANISM_INVALID
	}
	if o.attrs.Alg != op.alg {
		return nil, C.CKR_KEY_FUNCTION_NOT_PERMITTED
	}
	return op, C.CKR_OK
}

func (op *decryptOp) decrypt(ct []byte) ([]byte, error) {
	if op.out != nil {
		return op.out, nil
	}
	cx, cancel := ctx()
	defer cancel()
	out, err := op.sl.c.AsymmetricDecrypt(cx, op.name, op.alg, ct, op.label)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []byte{}
	}
	op.out = out
	return out, nil
}

// Go names for a few mechanisms, for tests (test files cannot use cgo).
type ckMech = C.CK_MECHANISM_TYPE

const (
	ckmECDSASHA384 ckMech = C.CKM_ECDSA_SHA384
	ckmRSAPSS      ckMech = C.CKM_RSA_PKCS_PSS
	ckmRSAOAEP     ckMech = C.CKM_RSA_PKCS_OAEP
)
