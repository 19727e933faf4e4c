package emu

import (
	"github.com/parsec-go/parsec/internal/ts"
	pc "github.com/parsec-go/parsec/internal/ts/packedc"
	"github.com/parsec-go/parsec/internal/ts/pb"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// cryptoProtobuf is the crypto service's protobuf interface (interface id
// 1). It has only the operations the TS protobuf serialiser implements;
// copy, purge and get-attributes are rejected as undecodable and the
// multi-part families have no handler for this encoding.
type cryptoProtobuf struct {
	e *engine
}

func (s *cryptoProtobuf) Handle(req *Request) Response {
	c, e := req.Client, s.e
	var in, out protomsg.Message
	switch req.Opcode {
	case pc.OpGenerateKey:
		in = &pb.GenerateKeyIn{}
	case pc.OpImportKey:
		in = &pb.ImportKeyIn{}
	case pc.OpDestroyKey:
		in = &pb.DestroyKeyIn{}
	case pc.OpExportKey:
		in = &pb.ExportKeyIn{}
	case pc.OpExportPublicKey:
		in = &pb.ExportPublicKeyIn{}
	case pc.OpSignHash, pc.OpSignMessage:
		in = &pb.SignHashIn{}
	case pc.OpVerifyHash, pc.OpVerifyMessage:
		in = &pb.VerifyHashIn{}
	case pc.OpAsymEncrypt:
		in = &pb.AsymmetricEncryptIn{}
	case pc.OpAsymDecrypt:
		in = &pb.AsymmetricDecryptIn{}
	case pc.OpGenerateRandom:
		in = &pb.GenerateRandomIn{}
	case pc.OpCopyKey, pc.OpPurgeKey, pc.OpGetKeyAttrs:
		return rpcError(ts.RPCInvalidRequestBody)
	default:
		if pc.IsCryptoOp(req.Opcode) {
			return rpcError(ts.RPCInternal)
		}
		return rpcError(ts.RPCInvalidValue)
	}
	if err := protomsg.Unmarshal(req.Body, in); err != nil {
		return rpcError(ts.RPCInvalidRequestBody)
	}
	var err error
	switch m := in.(type) {
	case *pb.GenerateKeyIn:
		a, aerr := ts.AttributesFromPB(m.GetAttributes())
		if aerr != nil {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		var id uint32
		id, err = e.generateKey(c, a)
		out = &pb.GenerateKeyOut{Id: id}
	case *pb.ImportKeyIn:
		a, aerr := ts.AttributesFromPB(m.GetAttributes())
		if aerr != nil {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		var id uint32
		id, err = e.importKey(c, a, m.GetData())
		out = &pb.ImportKeyOut{Id: id}
	case *pb.DestroyKeyIn:
		err = e.keys.destroy(c, m.GetId())
		out = &pb.DestroyKeyOut{}
	case *pb.ExportKeyIn:
		var d []byte
		d, err = e.exportKey(c, m.GetId())
		out = &pb.ExportKeyOut{Data: d}
	case *pb.ExportPublicKeyIn:
		var d []byte
		d, err = e.exportPublicKey(c, m.GetId())
		out = &pb.ExportPublicKeyOut{Data: d}
	case *pb.SignHashIn:
		var sig []byte
		sig, err = e.sign(c, m.GetId(), psa.Algorithm(m.GetAlg()), m.GetHash(), req.Opcode == pc.OpSignMessage)
		out = &pb.SignHashOut{Signature: sig}
	case *pb.VerifyHashIn:
		err = e.verify(c, m.GetId(), psa.Algorithm(m.GetAlg()), m.GetHash(), m.GetSignature(), req.Opcode == pc.OpVerifyMessage)
		out = &pb.VerifyHashOut{}
	case *pb.AsymmetricEncryptIn:
		var ct []byte
		ct, err = e.asymEncrypt(c, m.GetId(), psa.Algorithm(m.GetAlg()), m.GetPlaintext(), m.GetSalt())
		out = &pb.AsymmetricEncryptOut{Ciphertext: ct}
	case *pb.AsymmetricDecryptIn:
		var pt []byte
		pt, err = e.asymDecrypt(c, m.GetId(), psa.Algorithm(m.GetAlg()), m.GetCiphertext(), m.GetSalt())
		out = &pb.AsymmetricDecryptOut{Plaintext: pt}
	case *pb.GenerateRandomIn:
		var b []byte
		b, err = e.random(m.GetSize(), req.Max-16)
		out = &pb.GenerateRandomOut{RandomBytes: b}
	}
	if err != nil {
		return psaResult(nil, err)
	}
	b, merr := protomsg.Marshal(out)
	if merr != nil {
		return rpcError(ts.RPCInternal)
	}
	return Response{Body: b}
}
