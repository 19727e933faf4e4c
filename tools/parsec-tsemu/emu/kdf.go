package emu

import (
	"crypto/hmac"
	"hash"

	"github.com/parsec-go/parsec/internal/ts"
	"github.com/parsec-go/parsec/psa"
)

// HKDF (RFC 5869) key derivation, alone or fed by an ECDH agreement. The
// steps must come in HKDF's order: salt (optional), secret, info; output
// needs all of them, as in Mbed TLS.
type kdfOp struct {
	newHash  func() hash.Hash
	agree    bool // a key agreement algorithm: the secret comes from KEY_AGREEMENT
	salt     []byte
	prk      []byte
	info     []byte
	infoSet  bool
	capacity uint32
	t        []byte // last output block
	block    byte   // counter of the last block
	avail    []byte // unread bytes of the last block
}

const (
	stepSecret = 0x0101
	stepSalt   = 0x0202
	stepInfo   = 0x0203
)

func (e *engine) kdfSetup(client uint16, alg psa.Algorithm) (uint32, error) {
	op := &kdfOp{}
	kdf := alg
	if alg.IsKeyAgreement() {
		if alg.KeyAgreementBase() != psa.AlgECDH || alg.IsRawKeyAgreement() {
			return 0, ts.PSAErrorNotSupported
		}
		kdf = alg.KeyAgreementKDF()
		op.agree = true
	}
	if !kdf.IsKeyDerivation() {
		return 0, ts.PSAErrorInvalidArgument
	}
	if kdf != psa.HKDF(kdf.HashAlg()) {
		return 0, ts.PSAErrorNotSupported
	}
	_, newHash, err := hashOf(kdf.HashAlg())
	if err != nil {
		return 0, err
	}
	op.newHash = newHash
	op.capacity = uint32(255 * newHash().Size())
	return e.ops.alloc(kindKDF, client, op), nil
}

func (e *engine) kdfOp(client uint16, h uint32) (*kdfOp, error) {
	s, err := e.ops.find(kindKDF, client, h)
	if err != nil {
		return nil, err
	}
	return s.(*kdfOp), nil
}

func (op *kdfOp) input(step uint32, data []byte) error {
	switch step {
	case stepSalt:
		if op.prk != nil || op.salt != nil {
			return ts.PSAErrorBadState
		}
		op.salt = append([]byte{}, data...)
	case stepSecret:
		if op.prk != nil {
			return ts.PSAErrorBadState
		}
		m := hmac.New(op.newHash, op.salt)
		m.Write(data)
		op.prk = m.Sum(nil)
	case stepInfo:
		if op.prk == nil || op.infoSet {
			return ts.PSAErrorBadState
		}
		op.info, op.infoSet = append([]byte{}, data...), true
	default:
		return ts.PSAErrorInvalidArgument
	}
	return nil
}

func (e *engine) kdfInputBytes(client uint16, h, step uint32, data []byte) error {
	op, err := e.kdfOp(client, h)
	if err != nil {
		return err
	}
	if step == stepSecret && op.agree {
		return ts.PSAErrorInvalidArgument
	}
	return op.input(step, data)
}

func (e *engine) kdfInputKey(client uint16, h, step, id uint32) error {
	op, err := e.kdfOp(client, h)
	if err != nil {
		return err
	}
	k, err := e.keys.get(client, id)
	if err != nil {
		return err
	}
	if k.attrs.Usage&psa.UsageDerive == 0 {
		return ts.PSAErrorNotPermitted
	}
	if k.attrs.Type != psa.KeyTypeDerive && k.attrs.Type != psa.KeyTypeRawData {
		return ts.PSAErrorInvalidArgument
	}
	if step == stepSecret && k.attrs.Type != psa.KeyTypeDerive {
		return ts.PSAErrorInvalidArgument
	}
	return op.input(step, k.material)
}

func (e *engine) kdfKeyAgreement(client uint16, h, step, id uint32, peer []byte) error {
	op, err := e.kdfOp(client, h)
	if err != nil {
		return err
	}
	if !op.agree || step != stepSecret {
		return ts.PSAErrorInvalidArgument
	}
	k, err := e.keys.get(client, id)
	if err != nil {
		return err
	}
	if k.attrs.Usage&psa.UsageDerive == 0 {
		return ts.PSAErrorNotPermitted
	}
	s, err := ecdhShared(k, peer)
	if err != nil {
		return err
	}
	return op.input(stepSecret, s)
}

func (e *engine) kdfCapacity(client uint16, h uint32) (uint32, error) {
	op, err := e.kdfOp(client, h)
	if err != nil {
		return 0, err
	}
	return op.capacity, nil
}

func (e *engine) kdfSetCapacity(client uint16, h, n uint32) error {
	op, err := e.kdfOp(client, h)
	if err != nil {
		return err
	}
	if n > op.capacity {
		return ts.PSAErrorInvalidArgument
	}
	op.capacity = n
	return nil
}

func (op *kdfOp) read(n uint32) ([]byte, error) {
	if op.prk == nil || !op.infoSet {
		return nil, ts.PSAErrorBadState
	}
	if n > op.capacity {
		op.capacity = 0
		return nil, ts.PSAErrorInsufficientData
	}
	op.capacity -= n
	out := make([]byte, 0, n)
	for uint32(len(out)) < n {
		if len(op.avail) == 0 {
			op.block++
			m := hmac.New(op.newHash, op.prk)
			m.Write(op.t)
			m.Write(op.info)
			m.Write([]byte{op.block})
			op.t = m.Sum(nil)
			op.avail = op.t
		}
		k := int(n) - len(out)
		if k > len(op.avail) {
			k = len(op.avail)
		}
		out = append(out, op.avail[:k]...)
		op.avail = op.avail[k:]
	}
	return out, nil
}

func (e *engine) kdfOutputBytes(client uint16, h, n uint32, max int) ([]byte, error) {
	op, err := e.kdfOp(client, h)
	if err != nil {
		return nil, err
	}
	if int64(n) > int64(max) {
		return nil, ts.PSAErrorInsufficientMemory
	}
	return op.read(n)
}

func (e *engine) kdfOutputKey(client uint16, h uint32, a ts.KeyAttributes) (uint32, error) {
	op, err := e.kdfOp(client, h)
	if err != nil {
		return 0, err
	}
	switch a.Type {
	case psa.KeyTypeAES, psa.KeyTypeHMAC, psa.KeyTypeDerive, psa.KeyTypeRawData, psa.KeyTypeChaCha20:
	default:
		return 0, ts.PSAErrorNotSupported
	}
	if err := symmetricOK(a.Type, a.Bits); err != nil {
		return 0, err
	}
	material, err := op.read(a.Bits / 8)
	if err != nil {
		return 0, err
	}
	return e.keys.add(client, &key{attrs: a, material: material})
}
