package ts

import (
	"context"
	"fmt"
	"sync"

	pc "github.com/parsec-go/parsec/internal/ts/packedc"
	"github.com/parsec-go/parsec/psa"
)

// Request builders and response parsers of the packed-c crypto protocol.
// They are pure functions so the byte layouts are tested on their own.

func attrFields(a KeyAttributes) []uint32 {
	return []uint32{uint32(a.Type), a.Bits, a.Lifetime, a.ID, uint32(a.Usage), uint32(a.Alg)}
}

// AttributesFromFields is the inverse of the attribute encoding; the
// packed type is 32 bits wide but PSA key types are 16, so a value that
// does not fit is malformed.
func AttributesFromFields(f []uint32) (KeyAttributes, error) {
	if len(f) != pc.KeyAttributeFields {
		return KeyAttributes{}, fmt.Errorf("%w: %d attribute fields", ErrMalformed, len(f))
	}
	if f[0] > 0xffff {
		return KeyAttributes{}, fmt.Errorf("%w: key type %#x does not fit psa_key_type_t", ErrMalformed, f[0])
	}
	return KeyAttributes{Type: psa.KeyType(f[0]), Bits: f[1], Lifetime: f[2], ID: f[3], Usage: psa.Usage(f[4]), Alg: psa.Algorithm(f[5])}, nil
}

// EncodeKeyAttributes is the 24-byte packed form.
func EncodeKeyAttributes(a KeyAttributes) []byte {
	b, _ := pc.Encode(attrFields(a))
	return b
}

func pcGenerateKey(a KeyAttributes) ([]byte, error) { return pc.Encode(attrFields(a)) }

func pcImportKey(a KeyAttributes, data []byte) ([]byte, error) {
	return pc.Encode(attrFields(a), pc.Record{Tag: pc.TagData, Value: data})
}

func pcKeyID(id uint32) ([]byte, error) { return pc.Encode([]uint32{id}) }

func pcCopyKey(src uint32, a KeyAttributes) ([]byte, error) {
	return pc.Encode(append([]uint32{src}, attrFields(a)...))
}

func pcSign(id uint32, alg psa.Algorithm, hash []byte) ([]byte, error) {
	return pc.Encode([]uint32{id, uint32(alg)}, pc.Record{Tag: pc.TagData, Value: hash})
}

func pcVerify(id uint32, alg psa.Algorithm, hash, sig []byte) ([]byte, error) {
	return pc.Encode([]uint32{id, uint32(alg)}, pc.Record{Tag: pc.TagData, Value: hash}, pc.Record{Tag: pc.TagSignature, Value: sig})
}

// pcAsym builds asymmetric encrypt/decrypt requests; an empty salt is
// left out, as the TS client does.
func pcAsym(id uint32, alg psa.Algorithm, input, salt []byte) ([]byte, error) {
	recs := []pc.Record{{Tag: pc.TagData, Value: input}}
	if len(salt) > 0 {
		recs = append(recs, pc.Record{Tag: pc.TagSalt, Value: salt})
	}
	return pc.Encode([]uint32{id, uint32(alg)}, recs...)
}

func pcU32(v ...uint32) ([]byte, error) { return pc.Encode(v) }

func pcHandleData(h uint32, data []byte) ([]byte, error) {
	return pc.Encode([]uint32{h}, pc.Record{Tag: pc.TagData, Value: data})
}

func pcRawKeyAgreement(alg psa.Algorithm, priv uint32, peer []byte) ([]byte, error) {
	return pc.Encode([]uint32{uint32(alg), priv}, pc.Record{Tag: pc.TagData, Value: peer})
}

// parseU32 reads a response that is exactly one 32-bit field (a key id or
// an operation handle); anything else is malformed.
func parseU32(resp []byte) (uint32, error) {
	if len(resp) != 4 {
		return 0, fmt.Errorf("%w: expected a 4-byte response, got %d bytes", ErrMalformed, len(resp))
	}
	m, err := pc.Decode(resp, 1)
	if err != nil {
		return 0, err
	}
	return m.Fixed[0], nil
}

// parseData reads a response that is a single record with tag.
func parseData(resp []byte, tag uint16) ([]byte, error) {
	m, err := pc.Decode(resp, 0)
	if err != nil {
		return nil, err
	}
	return m.Need(tag)
}

// parseOptionalData reads a response that may be empty (an update that
// produced no output) or a single record.
func parseOptionalData(resp []byte, tag uint16) ([]byte, error) {
	if len(resp) == 0 {
		return nil, nil
	}
	return parseData(resp, tag)
}

// PackedCrypto is the crypto service over packed-c: every operation,
// including the multi-part ones and key derivation.
type PackedCrypto struct {
	c *Caller
	// op serialises whole operations, so that concurrent multi-part
	// operations cannot make the partition recycle one of our contexts
	// (it keeps 10 per client and recycles the least recently used).
	op sync.Mutex
}

// NewPackedCrypto wraps a caller opened for ServiceCrypto.
func NewPackedCrypto(c *Caller) *PackedCrypto { return &PackedCrypto{c: c} }

// Encoding implements Crypto.
func (p *PackedCrypto) Encoding() Encoding { return PackedC }

// Supports implements Crypto: packed-c has every crypto opcode.
func (p *PackedCrypto) Supports(op uint16) bool { return pc.IsCryptoOp(op) }

// Close closes the session.
func (p *PackedCrypto) Close() error { return p.c.Close() }

func (p *PackedCrypto) call(ctx context.Context, op uint16, req []byte, err error) ([]byte, error) {
	if err != nil {
		return nil, fmt.Errorf("ts: crypto %s: %w: %v", pc.CryptoOpName(op), ErrTooLarge, err)
	}
	return p.c.Call(ctx, op, pc.CryptoOpName(op), req)
}

func wrapMalformed(op uint16, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("ts: crypto %s response: %w", pc.CryptoOpName(op), err)
}

func (p *PackedCrypto) callU32(ctx context.Context, op uint16, req []byte, err error) (uint32, error) {
	resp, err := p.call(ctx, op, req, err)
	if err != nil {
		return 0, err
	}
	v, err := parseU32(resp)
	return v, wrapMalformed(op, err)
}

func (p *PackedCrypto) callData(ctx context.Context, op uint16, req []byte, err error) ([]byte, error) {
	resp, err := p.call(ctx, op, req, err)
	if err != nil {
		return nil, err
	}
	v, err := parseData(resp, pc.TagData)
	return v, wrapMalformed(op, err)
}

func (p *PackedCrypto) callEmpty(ctx context.Context, op uint16, req []byte, err error) error {
	_, err = p.call(ctx, op, req, err)
	return err
}

// GenerateKey implements Crypto.
func (p *PackedCrypto) GenerateKey(ctx context.Context, a KeyAttributes) (uint32, error) {
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcGenerateKey(a)
	return p.callU32(ctx, pc.OpGenerateKey, req, err)
}

// ImportKey implements Crypto.
func (p *PackedCrypto) ImportKey(ctx context.Context, a KeyAttributes, data []byte) (uint32, error) {
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcImportKey(a, data)
	return p.callU32(ctx, pc.OpImportKey, req, err)
}

// DestroyKey implements Crypto.
func (p *PackedCrypto) DestroyKey(ctx context.Context, id uint32) error {
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcKeyID(id)
	return p.callEmpty(ctx, pc.OpDestroyKey, req, err)
}

// PurgeKey implements Crypto.
func (p *PackedCrypto) PurgeKey(ctx context.Context, id uint32) error {
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcKeyID(id)
	return p.callEmpty(ctx, pc.OpPurgeKey, req, err)
}

// ExportKey implements Crypto.
func (p *PackedCrypto) ExportKey(ctx context.Context, id uint32) ([]byte, error) {
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcKeyID(id)
	return p.callData(ctx, pc.OpExportKey, req, err)
}

// ExportPublicKey implements Crypto.
func (p *PackedCrypto) ExportPublicKey(ctx context.Context, id uint32) ([]byte, error) {
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcKeyID(id)
	return p.callData(ctx, pc.OpExportPublicKey, req, err)
}

// CopyKey implements Crypto.
func (p *PackedCrypto) CopyKey(ctx context.Context, id uint32, a KeyAttributes) (uint32, error) {
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcCopyKey(id, a)
	return p.callU32(ctx, pc.OpCopyKey, req, err)
}

// GetKeyAttributes implements Crypto.
func (p *PackedCrypto) GetKeyAttributes(ctx context.Context, id uint32) (KeyAttributes, error) {
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcKeyID(id)
	resp, err := p.call(ctx, pc.OpGetKeyAttrs, req, err)
	if err != nil {
		return KeyAttributes{}, err
	}
	if len(resp) != pc.KeyAttributesSize {
		return KeyAttributes{}, wrapMalformed(pc.OpGetKeyAttrs, fmt.Errorf("%w: %d bytes of attributes", ErrMalformed, len(resp)))
	}
	m, err := pc.Decode(resp, pc.KeyAttributeFields)
	if err != nil {
		return KeyAttributes{}, wrapMalformed(pc.OpGetKeyAttrs, err)
	}
	a, err := AttributesFromFields(m.Fixed)
	return a, wrapMalformed(pc.OpGetKeyAttrs, err)
}

// SignHash implements Crypto.
func (p *PackedCrypto) SignHash(ctx context.Context, id uint32, alg psa.Algorithm, hash []byte) ([]byte, error) {
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcSign(id, alg, hash)
	return p.callData(ctx, pc.OpSignHash, req, err)
}

// VerifyHash implements Crypto.
func (p *PackedCrypto) VerifyHash(ctx context.Context, id uint32, alg psa.Algorithm, hash, sig []byte) error {
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcVerify(id, alg, hash, sig)
	return p.callEmpty(ctx, pc.OpVerifyHash, req, err)
}

// fitsOneCall reports whether a request of n variable bytes (plus the
// fixed part and records) fits one buffer and one TLV.
func (p *PackedCrypto) fitsOneCall(n int) bool {
	return n <= pc.MaxValue && n+64 <= p.c.BufferSize()
}

// SignMessage implements Crypto. A message too large for one call is
// hashed on the partition and its hash signed, which is the same
// signature for every hash-and-sign algorithm.
func (p *PackedCrypto) SignMessage(ctx context.Context, id uint32, alg psa.Algorithm, msg []byte) ([]byte, error) {
	if !p.fitsOneCall(len(msg)) && alg.IsHashAndSign() {
		h, err := p.HashCompute(ctx, alg.HashAlg(), msg)
		if err != nil {
			return nil, err
		}
		return p.SignHash(ctx, id, alg, h)
	}
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcSign(id, alg, msg)
	return p.callData(ctx, pc.OpSignMessage, req, err)
}

// VerifyMessage implements Crypto, hashing large messages like SignMessage.
func (p *PackedCrypto) VerifyMessage(ctx context.Context, id uint32, alg psa.Algorithm, msg, sig []byte) error {
	if !p.fitsOneCall(len(msg)+len(sig)) && alg.IsHashAndSign() {
		h, err := p.HashCompute(ctx, alg.HashAlg(), msg)
		if err != nil {
			return err
		}
		return p.VerifyHash(ctx, id, alg, h, sig)
	}
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcVerify(id, alg, msg, sig)
	return p.callEmpty(ctx, pc.OpVerifyMessage, req, err)
}

// AsymmetricEncrypt implements Crypto.
func (p *PackedCrypto) AsymmetricEncrypt(ctx context.Context, id uint32, alg psa.Algorithm, plaintext, salt []byte) ([]byte, error) {
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcAsym(id, alg, plaintext, salt)
	return p.callData(ctx, pc.OpAsymEncrypt, req, err)
}

// AsymmetricDecrypt implements Crypto.
func (p *PackedCrypto) AsymmetricDecrypt(ctx context.Context, id uint32, alg psa.Algorithm, ciphertext, salt []byte) ([]byte, error) {
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcAsym(id, alg, ciphertext, salt)
	return p.callData(ctx, pc.OpAsymDecrypt, req, err)
}

// chunk is how many input bytes one update call carries: the request and
// its output (at most one block more) both fit the buffer and a TLV.
func (p *PackedCrypto) chunk() int {
	n := p.c.BufferSize() - 64
	if n > 0x8000 {
		n = 0x8000
	}
	return n &^ 63
}

// GenerateRandom implements Crypto, in buffer-sized pieces.
func (p *PackedCrypto) GenerateRandom(ctx context.Context, n int) ([]byte, error) {
	p.op.Lock()
	defer p.op.Unlock()
	out := make([]byte, 0, n)
	for len(out) < n {
		k := n - len(out)
		if c := p.chunk(); k > c {
			k = c
		}
		req, err := pcU32(uint32(k))
		b, err := p.callData(ctx, pc.OpGenerateRandom, req, err)
		if err != nil {
			return nil, err
		}
		if len(b) != k {
			return nil, wrapMalformed(pc.OpGenerateRandom, fmt.Errorf("%w: asked %d random bytes, got %d", ErrMalformed, k, len(b)))
		}
		out = append(out, b...)
	}
	return out, nil
}

// multipart drives setup, updates, then a final call; on failure after
// setup it sends the abort opcode (best effort).
type multipart struct {
	p      *PackedCrypto
	handle uint32
	abort  uint16
	done   bool
}

func (p *PackedCrypto) setup(ctx context.Context, op, abort uint16, fields ...uint32) (*multipart, error) {
	req, err := pcU32(fields...)
	h, err := p.callU32(ctx, op, req, err)
	if err != nil {
		return nil, err
	}
	return &multipart{p: p, handle: h, abort: abort}, nil
}

// finishWith marks the operation complete when the final call succeeded.
func (m *multipart) finishWith(err error) error {
	if err == nil {
		m.done = true
	}
	return err
}

func (m *multipart) cleanup(ctx context.Context) {
	if m.done {
		return
	}
	req, _ := pcU32(m.handle)
	m.p.c.Call(ctx, m.abort, pc.CryptoOpName(m.abort), req)
}

// feed sends data in chunks to an update opcode; collect receives each
// call's output record (nil if the opcode returns none).
func (m *multipart) feed(ctx context.Context, op uint16, data []byte, collect func([]byte)) error {
	c := m.p.chunk()
	for {
		k := len(data)
		if k > c {
			k = c
		}
		req, err := pcHandleData(m.handle, data[:k])
		resp, err := m.p.call(ctx, op, req, err)
		if err != nil {
			return err
		}
		if collect != nil {
			out, err := parseOptionalData(resp, pc.TagData)
			if err != nil {
				return wrapMalformed(op, err)
			}
			collect(out)
		}
		data = data[k:]
		if len(data) == 0 {
			return nil
		}
	}
}

// HashCompute implements Crypto.
func (p *PackedCrypto) HashCompute(ctx context.Context, alg psa.Algorithm, input []byte) ([]byte, error) {
	p.op.Lock()
	defer p.op.Unlock()
	m, err := p.setup(ctx, pc.OpHashSetup, pc.OpHashAbort, uint32(alg))
	if err != nil {
		return nil, err
	}
	defer m.cleanup(ctx)
	if err := m.feed(ctx, pc.OpHashUpdate, input, nil); err != nil {
		return nil, err
	}
	req, err := pcU32(m.handle)
	h, err := p.callData(ctx, pc.OpHashFinish, req, err)
	return h, m.finishWith(err)
}

// HashCompare implements Crypto; a mismatch is PSA_ERROR_INVALID_SIGNATURE.
func (p *PackedCrypto) HashCompare(ctx context.Context, alg psa.Algorithm, input, hash []byte) error {
	p.op.Lock()
	defer p.op.Unlock()
	m, err := p.setup(ctx, pc.OpHashSetup, pc.OpHashAbort, uint32(alg))
	if err != nil {
		return err
	}
	defer m.cleanup(ctx)
	if err := m.feed(ctx, pc.OpHashUpdate, input, nil); err != nil {
		return err
	}
	req, err := pcHandleData(m.handle, hash)
	return m.finishWith(p.callEmpty(ctx, pc.OpHashVerify, req, err))
}

// CipherEncrypt implements Crypto.
func (p *PackedCrypto) CipherEncrypt(ctx context.Context, id uint32, alg psa.Algorithm, plaintext []byte) ([]byte, error) {
	p.op.Lock()
	defer p.op.Unlock()
	m, err := p.setup(ctx, pc.OpCipherEncryptSetup, pc.OpCipherAbort, id, uint32(alg))
	if err != nil {
		return nil, err
	}
	defer m.cleanup(ctx)
	var out []byte
	if alg != psa.AlgECBNoPadding {
		req, err := pcU32(m.handle)
		iv, err := p.callData(ctx, pc.OpCipherGenerateIV, req, err)
		if err != nil {
			return nil, err
		}
		out = append(out, iv...)
	}
	return p.cipherRun(ctx, m, out, plaintext)
}

// cipherRun feeds input to a set-up cipher operation and finishes it,
// appending what each step returns to out.
func (p *PackedCrypto) cipherRun(ctx context.Context, m *multipart, out, input []byte) ([]byte, error) {
	if err := m.feed(ctx, pc.OpCipherUpdate, input, func(b []byte) { out = append(out, b...) }); err != nil {
		return nil, err
	}
	req, err := pcU32(m.handle)
	resp, err := p.call(ctx, pc.OpCipherFinish, req, err)
	if err := m.finishWith(err); err != nil {
		return nil, err
	}
	last, err := parseOptionalData(resp, pc.TagData)
	if err != nil {
		return nil, wrapMalformed(pc.OpCipherFinish, err)
	}
	return append(out, last...), nil
}

// CipherDecrypt implements Crypto.
func (p *PackedCrypto) CipherDecrypt(ctx context.Context, id uint32, alg psa.Algorithm, ivLen int, input []byte) ([]byte, error) {
	if ivLen < 0 || len(input) < ivLen {
		return nil, fmt.Errorf("ts: cipher decrypt: %w: input of %d bytes is shorter than the %d-byte IV", ErrTooLarge, len(input), ivLen)
	}
	p.op.Lock()
	defer p.op.Unlock()
	m, err := p.setup(ctx, pc.OpCipherDecryptSetup, pc.OpCipherAbort, id, uint32(alg))
	if err != nil {
		return nil, err
	}
	defer m.cleanup(ctx)
	if ivLen > 0 {
		req, err := pcHandleData(m.handle, input[:ivLen])
		if err := p.callEmpty(ctx, pc.OpCipherSetIV, req, err); err != nil {
			return nil, err
		}
	}
	return p.cipherRun(ctx, m, nil, input[ivLen:])
}

// MACCompute implements Crypto.
func (p *PackedCrypto) MACCompute(ctx context.Context, id uint32, alg psa.Algorithm, input []byte) ([]byte, error) {
	p.op.Lock()
	defer p.op.Unlock()
	m, err := p.setup(ctx, pc.OpMACSignSetup, pc.OpMACAbort, id, uint32(alg))
	if err != nil {
		return nil, err
	}
	defer m.cleanup(ctx)
	if err := m.feed(ctx, pc.OpMACUpdate, input, nil); err != nil {
		return nil, err
	}
	req, err := pcU32(m.handle)
	mac, err := p.callData(ctx, pc.OpMACSignFinish, req, err)
	return mac, m.finishWith(err)
}

// MACVerify implements Crypto; a mismatch is PSA_ERROR_INVALID_SIGNATURE.
func (p *PackedCrypto) MACVerify(ctx context.Context, id uint32, alg psa.Algorithm, input, mac []byte) error {
	p.op.Lock()
	defer p.op.Unlock()
	m, err := p.setup(ctx, pc.OpMACVerifySetup, pc.OpMACAbort, id, uint32(alg))
	if err != nil {
		return err
	}
	defer m.cleanup(ctx)
	if err := m.feed(ctx, pc.OpMACUpdate, input, nil); err != nil {
		return err
	}
	req, err := pcHandleData(m.handle, mac)
	return m.finishWith(p.callEmpty(ctx, pc.OpMACVerifyFinish, req, err))
}

// aeadStart sets up an AEAD operation with nonce and lengths (CCM needs
// the lengths before any data) and feeds the additional data.
func (p *PackedCrypto) aeadStart(ctx context.Context, setupOp uint16, id uint32, alg psa.Algorithm, nonce, ad []byte, textLen int) (*multipart, error) {
	m, err := p.setup(ctx, setupOp, pc.OpAEADAbort, id, uint32(alg))
	if err != nil {
		return nil, err
	}
	req, err := pcHandleData(m.handle, nonce)
	if err := p.callEmpty(ctx, pc.OpAEADSetNonce, req, err); err != nil {
		m.cleanup(ctx)
		return nil, err
	}
	req, err = pcU32(m.handle, uint32(len(ad)), uint32(textLen))
	if err := p.callEmpty(ctx, pc.OpAEADSetLengths, req, err); err != nil {
		m.cleanup(ctx)
		return nil, err
	}
	if len(ad) > 0 {
		if err := m.feed(ctx, pc.OpAEADUpdateAD, ad, nil); err != nil {
			m.cleanup(ctx)
			return nil, err
		}
	}
	return m, nil
}

// AEADEncrypt implements Crypto.
func (p *PackedCrypto) AEADEncrypt(ctx context.Context, id uint32, alg psa.Algorithm, nonce, ad, plaintext []byte) ([]byte, error) {
	p.op.Lock()
	defer p.op.Unlock()
	m, err := p.aeadStart(ctx, pc.OpAEADEncryptSetup, id, alg, nonce, ad, len(plaintext))
	if err != nil {
		return nil, err
	}
	defer m.cleanup(ctx)
	var out []byte
	if len(plaintext) > 0 {
		if err := m.feed(ctx, pc.OpAEADUpdate, plaintext, func(b []byte) { out = append(out, b...) }); err != nil {
			return nil, err
		}
	}
	req, err := pcU32(m.handle)
	resp, err := p.call(ctx, pc.OpAEADFinish, req, err)
	if err := m.finishWith(err); err != nil {
		return nil, err
	}
	fm, err := pc.Decode(resp, 0)
	if err != nil {
		return nil, wrapMalformed(pc.OpAEADFinish, err)
	}
	tag, err := fm.Need(pc.TagAEADTag)
	if err != nil {
		return nil, wrapMalformed(pc.OpAEADFinish, err)
	}
	last, _ := fm.Get(pc.TagData)
	out = append(out, last...)
	return append(out, tag...), nil
}

// AEADDecrypt implements Crypto; a wrong tag is PSA_ERROR_INVALID_SIGNATURE.
func (p *PackedCrypto) AEADDecrypt(ctx context.Context, id uint32, alg psa.Algorithm, nonce, ad, input []byte) ([]byte, error) {
	tagLen := alg.AEADTagLength()
	if tagLen == 0 || len(input) < tagLen {
		return nil, &Error{Service: p.c.Service().Name, Op: "AEAD_DECRYPT", Status: PSAErrorInvalidArgument}
	}
	ct, tag := input[:len(input)-tagLen], input[len(input)-tagLen:]
	p.op.Lock()
	defer p.op.Unlock()
	m, err := p.aeadStart(ctx, pc.OpAEADDecryptSetup, id, alg, nonce, ad, len(ct))
	if err != nil {
		return nil, err
	}
	defer m.cleanup(ctx)
	var out []byte
	if len(ct) > 0 {
		if err := m.feed(ctx, pc.OpAEADUpdate, ct, func(b []byte) { out = append(out, b...) }); err != nil {
			return nil, err
		}
	}
	req, err := pcHandleData(m.handle, tag)
	resp, err := p.call(ctx, pc.OpAEADVerify, req, err)
	if err := m.finishWith(err); err != nil {
		return nil, err
	}
	last, err := parseOptionalData(resp, pc.TagData)
	if err != nil {
		return nil, wrapMalformed(pc.OpAEADVerify, err)
	}
	return append(out, last...), nil
}

// RawKeyAgreement implements Crypto.
func (p *PackedCrypto) RawKeyAgreement(ctx context.Context, alg psa.Algorithm, privID uint32, peer []byte) ([]byte, error) {
	p.op.Lock()
	defer p.op.Unlock()
	req, err := pcRawKeyAgreement(alg, privID, peer)
	return p.callData(ctx, pc.OpRawKeyAgreement, req, err)
}

// Derivation is a key derivation operation on the partition.
type Derivation struct {
	p      *PackedCrypto
	handle uint32
}

// Key derivation steps (psa_key_derivation_step_t).
const (
	DeriveInputSecret      uint32 = 0x0101
	DeriveInputPassword    uint32 = 0x0102
	DeriveInputOtherSecret uint32 = 0x0103
	DeriveInputLabel       uint32 = 0x0201
	DeriveInputSalt        uint32 = 0x0202
	DeriveInputInfo        uint32 = 0x0203
	DeriveInputSeed        uint32 = 0x0204
	DeriveInputCost        uint32 = 0x0205
)

// DeriveSetup starts a key derivation with alg (e.g. HKDF(SHA-256)).
func (p *PackedCrypto) DeriveSetup(ctx context.Context, alg psa.Algorithm) (*Derivation, error) {
	req, err := pcU32(uint32(alg))
	h, err := p.callU32(ctx, pc.OpKDFSetup, req, err)
	if err != nil {
		return nil, err
	}
	return &Derivation{p: p, handle: h}, nil
}

// InputBytes feeds a step.
func (d *Derivation) InputBytes(ctx context.Context, step uint32, data []byte) error {
	req, err := pc.Encode([]uint32{d.handle, step}, pc.Record{Tag: pc.TagData, Value: data})
	return d.p.callEmpty(ctx, pc.OpKDFInputBytes, req, err)
}

// InputKey feeds a step from a key.
func (d *Derivation) InputKey(ctx context.Context, step, id uint32) error {
	req, err := pcU32(d.handle, step, id)
	return d.p.callEmpty(ctx, pc.OpKDFInputKey, req, err)
}

// KeyAgreement feeds a step with the result of an agreement.
func (d *Derivation) KeyAgreement(ctx context.Context, step, privID uint32, peer []byte) error {
	req, err := pc.Encode([]uint32{d.handle, step, privID}, pc.Record{Tag: pc.TagData, Value: peer})
	return d.p.callEmpty(ctx, pc.OpKDFKeyAgreement, req, err)
}

// SetCapacity limits the output.
func (d *Derivation) SetCapacity(ctx context.Context, n uint32) error {
	req, err := pcU32(d.handle, n)
	return d.p.callEmpty(ctx, pc.OpKDFSetCapacity, req, err)
}

// Capacity returns the remaining capacity.
func (d *Derivation) Capacity(ctx context.Context) (uint32, error) {
	req, err := pcU32(d.handle)
	return d.p.callU32(ctx, pc.OpKDFGetCapacity, req, err)
}

// OutputBytes reads n bytes.
func (d *Derivation) OutputBytes(ctx context.Context, n uint32) ([]byte, error) {
	req, err := pcU32(d.handle, n)
	b, err := d.p.callData(ctx, pc.OpKDFOutputBytes, req, err)
	if err == nil && uint32(len(b)) != n {
		err = wrapMalformed(pc.OpKDFOutputBytes, fmt.Errorf("%w: asked %d bytes, got %d", ErrMalformed, n, len(b)))
	}
	return b, err
}

// OutputKey derives a key with attributes a and returns its id.
func (d *Derivation) OutputKey(ctx context.Context, a KeyAttributes) (uint32, error) {
	req, err := pc.Encode(append([]uint32{d.handle}, attrFields(a)...))
	return d.p.callU32(ctx, pc.OpKDFOutputKey, req, err)
}

// Abort ends the operation.
func (d *Derivation) Abort(ctx context.Context) error {
	req, err := pcU32(d.handle)
	return d.p.callEmpty(ctx, pc.OpKDFAbort, req, err)
}

var _ Crypto = (*PackedCrypto)(nil)
