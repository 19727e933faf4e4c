package emu

import (
	"github.com/parsec-go/parsec/internal/ts"
	pc "github.com/parsec-go/parsec/internal/ts/packedc"
	"github.com/parsec-go/parsec/psa"
)

// cryptoPackedC is the crypto service's packed-c interface (interface id
// 0 of the crypto partition). Requests are decoded the lenient way the TS
// deserialisers do: a short fixed part is INVALID_REQUEST_BODY, a missing
// record is an empty value.
type cryptoPackedC struct {
	e *engine
}

func data(m pc.Message) []byte {
	v, _ := m.Get(pc.TagData)
	return v
}

func tag2(m pc.Message) []byte {
	v, _ := m.Get(2)
	return v
}

func encodeU32(v uint32, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return pc.Encode([]uint32{v})
}

func encodeData(b []byte, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return pc.Encode(nil, pc.Record{Tag: pc.TagData, Value: b})
}

// encodeOptional encodes output that may be empty as no record at all.
func encodeOptional(b []byte, err error) ([]byte, error) {
	if err != nil || len(b) == 0 {
		return nil, err
	}
	return pc.Encode(nil, pc.Record{Tag: pc.TagData, Value: b})
}

// fixedFields is how many u32 fields each request's fixed part has.
var fixedFields = map[uint16]int{
	pc.OpGenerateKey: 6, pc.OpImportKey: 6, pc.OpDestroyKey: 1, pc.OpExportKey: 1, pc.OpExportPublicKey: 1,
	pc.OpSignHash: 2, pc.OpVerifyHash: 2, pc.OpSignMessage: 2, pc.OpVerifyMessage: 2,
	pc.OpAsymDecrypt: 2, pc.OpAsymEncrypt: 2, pc.OpGenerateRandom: 1, pc.OpCopyKey: 7, pc.OpPurgeKey: 1,
	pc.OpGetKeyAttrs: 1,
	pc.OpHashSetup:   1, pc.OpHashUpdate: 1, pc.OpHashFinish: 1, pc.OpHashAbort: 1, pc.OpHashVerify: 1, pc.OpHashClone: 1,
	pc.OpCipherEncryptSetup: 2, pc.OpCipherDecryptSetup: 2, pc.OpCipherGenerateIV: 1, pc.OpCipherSetIV: 1,
	pc.OpCipherUpdate: 1, pc.OpCipherFinish: 1, pc.OpCipherAbort: 1,
	pc.OpKDFSetup: 1, pc.OpKDFGetCapacity: 1, pc.OpKDFSetCapacity: 2, pc.OpKDFInputBytes: 2, pc.OpKDFInputKey: 3,
	pc.OpKDFOutputBytes: 2, pc.OpKDFOutputKey: 7, pc.OpKDFAbort: 1, pc.OpKDFKeyAgreement: 3, pc.OpRawKeyAgreement: 2,
	pc.OpMACSignSetup: 2, pc.OpMACVerifySetup: 2, pc.OpMACUpdate: 1, pc.OpMACSignFinish: 1, pc.OpMACVerifyFinish: 1,
	pc.OpMACAbort:         1,
	pc.OpAEADEncryptSetup: 2, pc.OpAEADDecryptSetup: 2, pc.OpAEADGenerateNonce: 1, pc.OpAEADSetNonce: 1,
	pc.OpAEADSetLengths: 3, pc.OpAEADUpdateAD: 1, pc.OpAEADUpdate: 1, pc.OpAEADFinish: 1, pc.OpAEADVerify: 1,
	pc.OpAEADAbort: 1,
}

func attrsOf(f []uint32) (ts.KeyAttributes, bool) {
	a, err := ts.AttributesFromFields(f)
	return a, err == nil
}

func (s *cryptoPackedC) Handle(req *Request) Response {
	n, ok := fixedFields[req.Opcode]
	if !ok {
		return rpcError(ts.RPCInvalidValue)
	}
	m, err := pc.DecodeLenient(req.Body, n)
	if err != nil {
		return rpcError(ts.RPCInvalidRequestBody)
	}
	f, c, e := m.Fixed, req.Client, s.e
	alg := func(i int) psa.Algorithm { return psa.Algorithm(f[i]) }
	switch req.Opcode {
	case pc.OpGenerateKey:
		a, ok := attrsOf(f)
		if !ok {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		return psaResult(encodeU32(e.generateKey(c, a)))
	case pc.OpImportKey:
		a, ok := attrsOf(f)
		if !ok {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		return psaResult(encodeU32(e.importKey(c, a, data(m))))
	case pc.OpCopyKey:
		a, ok := attrsOf(f[1:])
		if !ok {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		return psaResult(encodeU32(e.copyKey(c, f[0], a)))
	case pc.OpDestroyKey:
		return psaResult(nil, e.keys.destroy(c, f[0]))
	case pc.OpPurgeKey:
		return psaResult(nil, e.keys.purge(c, f[0]))
	case pc.OpGetKeyAttrs:
		a, err := e.attributes(c, f[0])
		if err != nil {
			return psaResult(nil, err)
		}
		return psaResult(EncodeAttrs(a), nil)
	case pc.OpExportKey:
		return psaResult(encodeData(e.exportKey(c, f[0])))
	case pc.OpExportPublicKey:
		return psaResult(encodeData(e.exportPublicKey(c, f[0])))
	case pc.OpSignHash, pc.OpSignMessage:
		return psaResult(encodeData(e.sign(c, f[0], alg(1), data(m), req.Opcode == pc.OpSignMessage)))
	case pc.OpVerifyHash, pc.OpVerifyMessage:
		return psaResult(nil, e.verify(c, f[0], alg(1), data(m), tag2(m), req.Opcode == pc.OpVerifyMessage))
	case pc.OpAsymEncrypt:
		return psaResult(encodeData(e.asymEncrypt(c, f[0], alg(1), data(m), tag2(m))))
	case pc.OpAsymDecrypt:
		return psaResult(encodeData(e.asymDecrypt(c, f[0], alg(1), data(m), tag2(m))))
	case pc.OpGenerateRandom:
		return psaResult(encodeData(e.random(uint64(f[0]), req.Max-pc.TLVHeader)))

	case pc.OpHashSetup:
		return psaResult(encodeU32(e.hashSetup(c, alg(0))))
	case pc.OpHashUpdate:
		return psaResult(nil, e.hashUpdate(c, f[0], data(m)))
	case pc.OpHashFinish:
		return psaResult(encodeData(e.hashFinish(c, f[0])))
	case pc.OpHashVerify:
		return psaResult(nil, e.hashVerify(c, f[0], data(m)))
	case pc.OpHashClone:
		return psaResult(encodeU32(e.hashClone(c, f[0])))
	case pc.OpHashAbort:
		return psaResult(nil, e.abort(kindHash, c, f[0]))

	case pc.OpCipherEncryptSetup, pc.OpCipherDecryptSetup:
		return psaResult(encodeU32(e.cipherSetup(c, f[0], alg(1), req.Opcode == pc.OpCipherEncryptSetup)))
	case pc.OpCipherGenerateIV:
		return psaResult(encodeData(e.cipherGenerateIV(c, f[0])))
	case pc.OpCipherSetIV:
		return psaResult(nil, e.cipherSetIV(c, f[0], data(m)))
	case pc.OpCipherUpdate:
		return psaResult(encodeOptional(e.cipherUpdate(c, f[0], data(m))))
	case pc.OpCipherFinish:
		return psaResult(encodeOptional(e.cipherFinish(c, f[0])))
	case pc.OpCipherAbort:
		return psaResult(nil, e.abort(kindCipher, c, f[0]))

	case pc.OpMACSignSetup, pc.OpMACVerifySetup:
		return psaResult(encodeU32(e.macSetup(c, f[0], alg(1), req.Opcode == pc.OpMACSignSetup)))
	case pc.OpMACUpdate:
		return psaResult(nil, e.macUpdate(c, f[0], data(m)))
	case pc.OpMACSignFinish:
		return psaResult(encodeData(e.macSignFinish(c, f[0])))
	case pc.OpMACVerifyFinish:
		return psaResult(nil, e.macVerifyFinish(c, f[0], data(m)))
	case pc.OpMACAbort:
		return psaResult(nil, e.abort(kindMAC, c, f[0]))

	case pc.OpAEADEncryptSetup, pc.OpAEADDecryptSetup:
		return psaResult(encodeU32(e.aeadSetup(c, f[0], alg(1), req.Opcode == pc.OpAEADEncryptSetup)))
	case pc.OpAEADGenerateNonce:
		return psaResult(encodeData(e.aeadGenerateNonce(c, f[0])))
	case pc.OpAEADSetNonce:
		return psaResult(nil, e.aeadSetNonce(c, f[0], data(m)))
	case pc.OpAEADSetLengths:
		return psaResult(nil, e.aeadSetLengths(c, f[0], f[1], f[2]))
	case pc.OpAEADUpdateAD:
		return psaResult(nil, e.aeadUpdateAD(c, f[0], data(m)))
	case pc.OpAEADUpdate:
		return psaResult(encodeOptional(e.aeadUpdate(c, f[0], data(m))))
	case pc.OpAEADFinish:
		ct, tag, err := e.aeadFinish(c, f[0])
		if err != nil {
			return psaResult(nil, err)
		}
		return psaResult(pc.Encode(nil, pc.Record{Tag: pc.TagData, Value: ct}, pc.Record{Tag: pc.TagAEADTag, Value: tag}))
	case pc.OpAEADVerify:
		return psaResult(encodeOptional(e.aeadVerify(c, f[0], data(m))))
	case pc.OpAEADAbort:
		return psaResult(nil, e.abort(kindAEAD, c, f[0]))

	case pc.OpKDFSetup:
		return psaResult(encodeU32(e.kdfSetup(c, alg(0))))
	case pc.OpKDFGetCapacity:
		return psaResult(encodeU32(e.kdfCapacity(c, f[0])))
	case pc.OpKDFSetCapacity:
		return psaResult(nil, e.kdfSetCapacity(c, f[0], f[1]))
	case pc.OpKDFInputBytes:
		return psaResult(nil, e.kdfInputBytes(c, f[0], f[1], data(m)))
	case pc.OpKDFInputKey:
		return psaResult(nil, e.kdfInputKey(c, f[0], f[1], f[2]))
	case pc.OpKDFKeyAgreement:
		return psaResult(nil, e.kdfKeyAgreement(c, f[0], f[1], f[2], data(m)))
	case pc.OpKDFOutputBytes:
		return psaResult(encodeData(e.kdfOutputBytes(c, f[0], f[1], req.Max-pc.TLVHeader)))
	case pc.OpKDFOutputKey:
		a, ok := attrsOf(f[1:])
		if !ok {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		return psaResult(encodeU32(e.kdfOutputKey(c, f[0], a)))
	case pc.OpKDFAbort:
		return psaResult(nil, e.abort(kindKDF, c, f[0]))
	case pc.OpRawKeyAgreement:
		return psaResult(encodeData(e.rawKeyAgreement(c, alg(0), f[1], data(m))))
	}
	return rpcError(ts.RPCInvalidValue)
}
