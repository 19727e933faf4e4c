package emu

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/subtle"
	"encoding"
	"hash"
	"sync"

	"github.com/parsec-go/parsec/internal/ts"
	"github.com/parsec-go/parsec/psa"
)

// Multi-part operations live in context pools like the TS crypto
// providers': one pool of 10 per operation kind, shared by all clients,
// recycling the least recently allocated context when full. An unknown
// handle is BAD_STATE.
const opPoolSize = 10

type opKind int

const (
	kindHash opKind = iota
	kindCipher
	kindMAC
	kindAEAD
	kindKDF
	numKinds
)

type opCtx struct {
	handle uint32
	client uint16
	state  any
}

type opPool struct {
	active []*opCtx // most recently allocated first
}

type opPools struct {
	mu    sync.Mutex
	next  uint32
	pools [numKinds]opPool
}

func newOpPools() *opPools { return &opPools{next: 1} }

func (p *opPools) alloc(kind opKind, client uint16, state any) uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	pool := &p.pools[kind]
	if len(pool.active) >= opPoolSize {
		pool.active = pool.active[:opPoolSize-1]
	}
	c := &opCtx{handle: p.next, client: client, state: state}
	p.next++
	pool.active = append([]*opCtx{c}, pool.active...)
	return c.handle
}

func (p *opPools) find(kind opKind, client uint16, handle uint32) (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.pools[kind].active {
		if c.handle == handle && c.client == client {
			return c.state, nil
		}
	}
	return nil, ts.PSAErrorBadState
}

func (p *opPools) free(kind opKind, client uint16, handle uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pool := &p.pools[kind]
	for i, c := range pool.active {
		if c.handle == handle && c.client == client {
			pool.active = append(pool.active[:i], pool.active[i+1:]...)
			return
		}
	}
}

// --- hash ---

type hashOp struct {
	alg psa.Algorithm
	h   hash.Hash
}

func (e *engine) hashSetup(client uint16, alg psa.Algorithm) (uint32, error) {
	_, newHash, err := hashOf(alg)
	if err != nil {
		return 0, err
	}
	return e.ops.alloc(kindHash, client, &hashOp{alg: alg, h: newHash()}), nil
}

func (e *engine) hashOp(client uint16, h uint32) (*hashOp, error) {
	s, err := e.ops.find(kindHash, client, h)
	if err != nil {
		return nil, err
	}
	return s.(*hashOp), nil
}

func (e *engine) hashUpdate(client uint16, h uint32, data []byte) error {
	op, err := e.hashOp(client, h)
	if err != nil {
		return err
	}
	op.h.Write(data)
	return nil
}

func (e *engine) hashFinish(client uint16, h uint32) ([]byte, error) {
	op, err := e.hashOp(client, h)
	if err != nil {
		return nil, err
	}
	e.ops.free(kindHash, client, h)
	return op.h.Sum(nil), nil
}

func (e *engine) hashVerify(client uint16, h uint32, want []byte) error {
	op, err := e.hashOp(client, h)
	if err != nil {
		return err
	}
	e.ops.free(kindHash, client, h)
	if subtle.ConstantTimeCompare(op.h.Sum(nil), want) != 1 {
		return ts.PSAErrorInvalidSignature
	}
	return nil
}

func (e *engine) hashClone(client uint16, h uint32) (uint32, error) {
	op, err := e.hashOp(client, h)
	if err != nil {
		return 0, err
	}
	_, newHash, _ := hashOf(op.alg)
	n := newHash()
	st, err := op.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return 0, ts.PSAErrorGenericError
	}
	if err := n.(encoding.BinaryUnmarshaler).UnmarshalBinary(st); err != nil {
		return 0, ts.PSAErrorGenericError
	}
	return e.ops.alloc(kindHash, client, &hashOp{alg: op.alg, h: n}), nil
}

func (e *engine) abort(kind opKind, client uint16, h uint32) error {
	e.ops.free(kind, client, h)
	return nil
}

// --- cipher ---

type cipherOp struct {
	alg     psa.Algorithm
	encrypt bool
	block   cipher.Block
	ivSet   bool
	stream  cipher.Stream
	mode    cipher.BlockMode // CBC
	pending []byte
}

func (e *engine) cipherSetup(client uint16, id uint32, alg psa.Algorithm, encrypt bool) (uint32, error) {
	k, err := e.keys.get(client, id)
	if err != nil {
		return 0, err
	}
	usage := psa.UsageDecrypt
	if encrypt {
		usage = psa.UsageEncrypt
	}
	if err := k.permits(usage, alg); err != nil {
		return 0, err
	}
	if !alg.IsCipher() {
		return 0, ts.PSAErrorInvalidArgument
	}
	if k.attrs.Type != psa.KeyTypeAES {
		if k.attrs.Type == psa.KeyTypeChaCha20 || k.attrs.Type == psa.KeyTypeDES || k.attrs.Type == psa.KeyTypeCamellia {
			return 0, ts.PSAErrorNotSupported
		}
		return 0, ts.PSAErrorInvalidArgument
	}
	switch alg {
	case psa.AlgCTR, psa.AlgCFB, psa.AlgOFB, psa.AlgCBCNoPadding, psa.AlgCBCPKCS7, psa.AlgECBNoPadding:
	default:
		return 0, ts.PSAErrorNotSupported
	}
	b, err := aes.NewCipher(k.material)
	if err != nil {
		return 0, ts.PSAErrorInvalidArgument
	}
	op := &cipherOp{alg: alg, encrypt: encrypt, block: b, ivSet: alg == psa.AlgECBNoPadding}
	return e.ops.alloc(kindCipher, client, op), nil
}

func (e *engine) cipherOp(client uint16, h uint32) (*cipherOp, error) {
	s, err := e.ops.find(kindCipher, client, h)
	if err != nil {
		return nil, err
	}
	return s.(*cipherOp), nil
}

func (op *cipherOp) setIV(iv []byte) error {
	if op.ivSet {
		return ts.PSAErrorBadState
	}
	if len(iv) != op.block.BlockSize() {
		return ts.PSAErrorInvalidArgument
	}
	switch op.alg {
	case psa.AlgCTR:
		op.stream = cipher.NewCTR(op.block, iv)
	case psa.AlgOFB:
		op.stream = cipher.NewOFB(op.block, iv)
	case psa.AlgCFB:
		if op.encrypt {
			op.stream = cipher.NewCFBEncrypter(op.block, iv)
		} else {
			op.stream = cipher.NewCFBDecrypter(op.block, iv)
		}
	case psa.AlgCBCNoPadding, psa.AlgCBCPKCS7:
		if op.encrypt {
			op.mode = cipher.NewCBCEncrypter(op.block, iv)
		} else {
			op.mode = cipher.NewCBCDecrypter(op.block, iv)
		}
	}
	op.ivSet = true
	return nil
}

func (e *engine) cipherGenerateIV(client uint16, h uint32) ([]byte, error) {
	op, err := e.cipherOp(client, h)
	if err != nil {
		return nil, err
	}
	if !op.encrypt || op.ivSet {
		return nil, ts.PSAErrorBadState
	}
	iv := make([]byte, op.block.BlockSize())
	rand.Read(iv)
	return iv, op.setIV(iv)
}

func (e *engine) cipherSetIV(client uint16, h uint32, iv []byte) error {
	op, err := e.cipherOp(client, h)
	if err != nil {
		return err
	}
	return op.setIV(iv)
}

// crypt processes whole blocks of data, keeping a remainder (and for
// PKCS#7 decryption the last block, which holds the padding) for later.
func (op *cipherOp) crypt(data []byte, final bool) ([]byte, error) {
	if op.stream != nil {
		out := make([]byte, len(data))
		op.stream.XORKeyStream(out, data)
		return out, nil
	}
	bs := op.block.BlockSize()
	buf := append(op.pending, data...)
	n := len(buf) / bs * bs
	if !final && op.alg == psa.AlgCBCPKCS7 && !op.encrypt && n == len(buf) && n > 0 {
		n -= bs
	}
	out := make([]byte, n)
	if op.mode != nil {
		op.mode.CryptBlocks(out, buf[:n])
	} else {
		for i := 0; i < n; i += bs {
			if op.encrypt {
				op.block.Encrypt(out[i:], buf[i:])
			} else {
				op.block.Decrypt(out[i:], buf[i:])
			}
		}
	}
	op.pending = append([]byte(nil), buf[n:]...)
	return out, nil
}

func (e *engine) cipherUpdate(client uint16, h uint32, data []byte) ([]byte, error) {
	op, err := e.cipherOp(client, h)
	if err != nil {
		return nil, err
	}
	if !op.ivSet {
		return nil, ts.PSAErrorBadState
	}
	return op.crypt(data, false)
}

func (e *engine) cipherFinish(client uint16, h uint32) ([]byte, error) {
	op, err := e.cipherOp(client, h)
	if err != nil {
		return nil, err
	}
	defer e.ops.free(kindCipher, client, h)
	if !op.ivSet {
		return nil, ts.PSAErrorBadState
	}
	if op.stream != nil {
		return nil, nil
	}
	bs := op.block.BlockSize()
	if op.alg == psa.AlgCBCPKCS7 {
		if op.encrypt {
			pad := bs - len(op.pending)%bs
			for i := 0; i < pad; i++ {
				op.pending = append(op.pending, byte(pad))
			}
			return op.crypt(nil, true)
		}
		if len(op.pending) != bs {
			return nil, ts.PSAErrorInvalidArgument
		}
		out, _ := op.crypt(nil, true)
		pad := int(out[len(out)-1])
		if pad == 0 || pad > bs {
			return nil, ts.PSAErrorInvalidPadding
		}
		for _, b := range out[len(out)-pad:] {
			if int(b) != pad {
				return nil, ts.PSAErrorInvalidPadding
			}
		}
		return out[:len(out)-pad], nil
	}
	if len(op.pending) != 0 {
		return nil, ts.PSAErrorInvalidArgument
	}
	return nil, nil
}

// --- MAC ---

type macOp struct {
	mac    hash.Hash
	length int
	sign   bool
}

func (e *engine) macSetup(client uint16, id uint32, alg psa.Algorithm, sign bool) (uint32, error) {
	k, err := e.keys.get(client, id)
	if err != nil {
		return 0, err
	}
	usage := psa.UsageVerifyMessage
	if sign {
		usage = psa.UsageSignMessage
	}
	if err := k.permits(usage, alg); err != nil {
		return 0, err
	}
	if !alg.IsMAC() {
		return 0, ts.PSAErrorInvalidArgument
	}
	var m hash.Hash
	full := 0
	switch base := alg.MACBase(); {
	case base == psa.AlgCMAC:
		if k.attrs.Type != psa.KeyTypeAES {
			return 0, ts.PSAErrorInvalidArgument
		}
		b, err := aes.NewCipher(k.material)
		if err != nil {
			return 0, ts.PSAErrorInvalidArgument
		}
		m, full = newCMAC(b), aes.BlockSize
	case base == psa.HMAC(base.HashAlg()) && base.HashAlg() != psa.AlgNone:
		if k.attrs.Type != psa.KeyTypeHMAC {
			return 0, ts.PSAErrorInvalidArgument
		}
		_, newHash, err := hashOf(base.HashAlg())
		if err != nil {
			return 0, err
		}
		m = hmac.New(newHash, k.material)
		full = m.Size()
	default:
		return 0, ts.PSAErrorNotSupported
	}
	length := alg.MACLength()
	if length == 0 {
		length = full
	}
	if length > full {
		return 0, ts.PSAErrorInvalidArgument
	}
	if length < 4 {
		return 0, ts.PSAErrorNotSupported
	}
	return e.ops.alloc(kindMAC, client, &macOp{mac: m, length: length, sign: sign}), nil
}

func (e *engine) macOp(client uint16, h uint32) (*macOp, error) {
	s, err := e.ops.find(kindMAC, client, h)
	if err != nil {
		return nil, err
	}
	return s.(*macOp), nil
}

func (e *engine) macUpdate(client uint16, h uint32, data []byte) error {
	op, err := e.macOp(client, h)
	if err != nil {
		return err
	}
	op.mac.Write(data)
	return nil
}

func (e *engine) macSignFinish(client uint16, h uint32) ([]byte, error) {
	op, err := e.macOp(client, h)
	if err != nil {
		return nil, err
	}
	if !op.sign {
		return nil, ts.PSAErrorBadState
	}
	e.ops.free(kindMAC, client, h)
	return op.mac.Sum(nil)[:op.length], nil
}

func (e *engine) macVerifyFinish(client uint16, h uint32, mac []byte) error {
	op, err := e.macOp(client, h)
	if err != nil {
		return err
	}
	if op.sign {
		return ts.PSAErrorBadState
	}
	e.ops.free(kindMAC, client, h)
	if subtle.ConstantTimeCompare(op.mac.Sum(nil)[:op.length], mac) != 1 {
		return ts.PSAErrorInvalidSignature
	}
	return nil
}

// --- AEAD (GCM; the Go standard library has no CCM or ChaCha20-Poly1305) ---

type aeadOp struct {
	encrypt  bool
	block    cipher.Block
	tagLen   int
	aead     cipher.AEAD
	nonce    []byte
	lengths  bool
	adLen    uint32
	textLen  uint32
	ad, text []byte
	started  bool // update called: no more additional data
	// ctr streams the output during update for 96-bit nonces, where the
	// GCM ciphertext is AES-CTR from counter 2; the tag comes at the end
	// from a one-shot computation over the buffered text.
	ctr cipher.Stream
}

func (e *engine) aeadSetup(client uint16, id uint32, alg psa.Algorithm, encrypt bool) (uint32, error) {
	k, err := e.keys.get(client, id)
	if err != nil {
		return 0, err
	}
	usage := psa.UsageDecrypt
	if encrypt {
		usage = psa.UsageEncrypt
	}
	if err := k.permits(usage, alg); err != nil {
		return 0, err
	}
	if !alg.IsAEAD() {
		return 0, ts.PSAErrorInvalidArgument
	}
	if alg.AEADBase() != psa.AlgGCM {
		return 0, ts.PSAErrorNotSupported
	}
	if k.attrs.Type != psa.KeyTypeAES {
		return 0, ts.PSAErrorInvalidArgument
	}
	tag := alg.AEADTagLength()
	if tag < 12 || tag > 16 {
		// Go's GCM takes tags of 12 to 16 bytes; Mbed TLS also 4 and 8.
		return 0, ts.PSAErrorNotSupported
	}
	b, err := aes.NewCipher(k.material)
	if err != nil {
		return 0, ts.PSAErrorInvalidArgument
	}
	return e.ops.alloc(kindAEAD, client, &aeadOp{encrypt: encrypt, block: b, tagLen: tag}), nil
}

func (e *engine) aeadOp(client uint16, h uint32) (*aeadOp, error) {
	s, err := e.ops.find(kindAEAD, client, h)
	if err != nil {
		return nil, err
	}
	return s.(*aeadOp), nil
}

func (op *aeadOp) setNonce(n []byte) error {
	if op.aead != nil {
		return ts.PSAErrorBadState
	}
	var err error
	switch {
	case len(n) == 12:
		op.aead, err = cipher.NewGCMWithTagSize(op.block, op.tagLen)
	case len(n) >= 1 && op.tagLen == 16:
		op.aead, err = cipher.NewGCMWithNonceSize(op.block, len(n))
	case len(n) == 0:
		return ts.PSAErrorInvalidArgument
	default:
		return ts.PSAErrorNotSupported
	}
	if err != nil {
		return ts.PSAErrorInvalidArgument
	}
	op.nonce = append([]byte(nil), n...)
	if len(n) == 12 {
		op.ctr = cipher.NewCTR(op.block, append(append([]byte(nil), n...), 0, 0, 0, 2))
	}
	return nil
}

func (e *engine) aeadGenerateNonce(client uint16, h uint32) ([]byte, error) {
	op, err := e.aeadOp(client, h)
	if err != nil {
		return nil, err
	}
	if !op.encrypt {
		return nil, ts.PSAErrorBadState
	}
	n := make([]byte, 12)
	rand.Read(n)
	return n, op.setNonce(n)
}

func (e *engine) aeadSetNonce(client uint16, h uint32, n []byte) error {
	op, err := e.aeadOp(client, h)
	if err != nil {
		return err
	}
	return op.setNonce(n)
}

func (e *engine) aeadSetLengths(client uint16, h uint32, ad, text uint32) error {
	op, err := e.aeadOp(client, h)
	if err != nil {
		return err
	}
	if op.lengths || op.started || len(op.ad) > 0 {
		return ts.PSAErrorBadState
	}
	op.lengths, op.adLen, op.textLen = true, ad, text
	return nil
}

func (e *engine) aeadUpdateAD(client uint16, h uint32, data []byte) error {
	op, err := e.aeadOp(client, h)
	if err != nil {
		return err
	}
	if op.aead == nil || op.started {
		return ts.PSAErrorBadState
	}
	if op.lengths && uint64(len(op.ad))+uint64(len(data)) > uint64(op.adLen) {
		return ts.PSAErrorInvalidArgument
	}
	op.ad = append(op.ad, data...)
	return nil
}

// aeadUpdate streams the output with a 96-bit nonce (like Mbed TLS, which
// releases decrypted text before the tag is checked); with other nonces
// the output comes at finish/verify, which PSA allows.
func (e *engine) aeadUpdate(client uint16, h uint32, data []byte) ([]byte, error) {
	op, err := e.aeadOp(client, h)
	if err != nil {
		return nil, err
	}
	if op.aead == nil {
		return nil, ts.PSAErrorBadState
	}
	if op.lengths && (uint32(len(op.ad)) != op.adLen || uint64(len(op.text))+uint64(len(data)) > uint64(op.textLen)) {
		return nil, ts.PSAErrorInvalidArgument
	}
	op.started = true
	op.text = append(op.text, data...)
	if op.ctr != nil {
		out := make([]byte, len(data))
		op.ctr.XORKeyStream(out, data)
		return out, nil
	}
	return nil, nil
}

func (op *aeadOp) checkLengths() error {
	if op.aead == nil {
		return ts.PSAErrorBadState
	}
	if op.lengths && (uint32(len(op.ad)) != op.adLen || uint32(len(op.text)) != op.textLen) {
		return ts.PSAErrorInvalidArgument
	}
	return nil
}

func (e *engine) aeadFinish(client uint16, h uint32) ([]byte, []byte, error) {
	op, err := e.aeadOp(client, h)
	if err != nil {
		return nil, nil, err
	}
	if !op.encrypt {
		return nil, nil, ts.PSAErrorBadState
	}
	defer e.ops.free(kindAEAD, client, h)
	if err := op.checkLengths(); err != nil {
		return nil, nil, err
	}
	out := op.aead.Seal(nil, op.nonce, op.text, op.ad)
	n := len(out) - op.tagLen
	if op.ctr != nil {
		return nil, out[n:], nil
	}
	return out[:n], out[n:], nil
}

func (e *engine) aeadVerify(client uint16, h uint32, tag []byte) ([]byte, error) {
	op, err := e.aeadOp(client, h)
	if err != nil {
		return nil, err
	}
	if op.encrypt {
		return nil, ts.PSAErrorBadState
	}
	defer e.ops.free(kindAEAD, client, h)
	if err := op.checkLengths(); err != nil {
		return nil, err
	}
	if len(tag) != op.tagLen {
		return nil, ts.PSAErrorInvalidSignature
	}
	pt, err := op.aead.Open(nil, op.nonce, append(append([]byte(nil), op.text...), tag...), op.ad)
	if err != nil {
		return nil, ts.PSAErrorInvalidSignature
	}
	if op.ctr != nil {
		return nil, nil
	}
	return pt, nil
}

// --- CMAC (NIST SP 800-38B) over AES ---

type cmac struct {
	b      cipher.Block
	k1, k2 []byte
	x      []byte // running state
	buf    []byte // unprocessed input, up to one block
}

func newCMAC(b cipher.Block) *cmac {
	bs := b.BlockSize()
	l := make([]byte, bs)
	b.Encrypt(l, l)
	k1 := dbl(l)
	return &cmac{b: b, k1: k1, k2: dbl(k1), x: make([]byte, bs)}
}

// dbl multiplies by x in GF(2^128).
func dbl(in []byte) []byte {
	out := make([]byte, len(in))
	var carry byte
	for i := len(in) - 1; i >= 0; i-- {
		out[i] = in[i]<<1 | carry
		carry = in[i] >> 7
	}
	if carry != 0 {
		out[len(out)-1] ^= 0x87
	}
	return out
}

func (c *cmac) Write(p []byte) (int, error) {
	bs := c.b.BlockSize()
	n := len(p)
	for len(p) > 0 {
		if len(c.buf) == bs {
			subtle.XORBytes(c.x, c.x, c.buf)
			c.b.Encrypt(c.x, c.x)
			c.buf = c.buf[:0]
		}
		k := bs - len(c.buf)
		if k > len(p) {
			k = len(p)
		}
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
	}
	return n, nil
}

func (c *cmac) Sum(in []byte) []byte {
	bs := c.b.BlockSize()
	last := make([]byte, bs)
	copy(last, c.buf)
	if len(c.buf) == bs {
		subtle.XORBytes(last, last, c.k1)
	} else {
		last[len(c.buf)] = 0x80
		subtle.XORBytes(last, last, c.k2)
	}
	x := make([]byte, bs)
	subtle.XORBytes(x, c.x, last)
	c.b.Encrypt(x, x)
	return append(in, x...)
}

func (c *cmac) Reset() {
	c.x = make([]byte, c.b.BlockSize())
	c.buf = nil
}
func (c *cmac) Size() int      { return c.b.BlockSize() }
func (c *cmac) BlockSize() int { return c.b.BlockSize() }
