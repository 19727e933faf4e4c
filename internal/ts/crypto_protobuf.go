package ts

import (
	"context"
	"fmt"

	pc "github.com/parsec-go/parsec/internal/ts/packedc"
	"github.com/parsec-go/parsec/internal/ts/pb"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// protobufCrypto is the crypto service over its protobuf encoding (the
// "crypto-protobuf" service Rust Parsec uses). It has only the key,
// signature, asymmetric encryption and random operations.
type protobufCrypto struct {
	c *Caller
}

var protobufOps = map[uint16]bool{
	pc.OpGenerateKey: true, pc.OpDestroyKey: true, pc.OpExportKey: true, pc.OpExportPublicKey: true,
	pc.OpImportKey: true, pc.OpSignHash: true, pc.OpVerifyHash: true, pc.OpAsymDecrypt: true,
	pc.OpAsymEncrypt: true, pc.OpGenerateRandom: true, pc.OpSignMessage: true, pc.OpVerifyMessage: true,
}

// ProtobufSupports reports whether the protobuf encoding has op.
func ProtobufSupports(op uint16) bool { return protobufOps[op] }

func (p *protobufCrypto) Encoding() Encoding      { return Protobuf }
func (p *protobufCrypto) Supports(op uint16) bool { return protobufOps[op] }
func (p *protobufCrypto) Close() error            { return p.c.Close() }

// PBAttributes converts attributes to their protobuf message.
func PBAttributes(a KeyAttributes) *pb.KeyAttributes {
	return &pb.KeyAttributes{
		Type: uint32(a.Type), KeyBits: a.Bits, Lifetime: a.Lifetime, Id: a.ID,
		Policy: &pb.KeyPolicy{Usage: uint32(a.Usage), Alg: uint32(a.Alg)},
	}
}

// AttributesFromPB converts the protobuf message; absent attributes or
// policy are zero, as a proto3 decoder sees them.
func AttributesFromPB(m *pb.KeyAttributes) (KeyAttributes, error) {
	if m.GetType() > 0xffff {
		return KeyAttributes{}, fmt.Errorf("%w: key type %#x does not fit psa_key_type_t", ErrMalformed, m.GetType())
	}
	return KeyAttributes{
		Type: psa.KeyType(m.GetType()), Bits: m.GetKeyBits(), Lifetime: m.GetLifetime(), ID: m.GetId(),
		Usage: psa.Usage(m.GetPolicy().GetUsage()), Alg: psa.Algorithm(m.GetPolicy().GetAlg()),
	}, nil
}

func (p *protobufCrypto) call(ctx context.Context, op uint16, in, out protomsg.Message) error {
	req, err := protomsg.Marshal(in)
	if err != nil {
		return fmt.Errorf("ts: crypto-protobuf %s: %w", pc.CryptoOpName(op), err)
	}
	resp, err := p.c.Call(ctx, op, pc.CryptoOpName(op), req)
	if err != nil {
		return err
	}
	if err := protomsg.Unmarshal(resp, out); err != nil {
		return fmt.Errorf("ts: crypto-protobuf %s response: %w: %v", pc.CryptoOpName(op), ErrMalformed, err)
	}
	return nil
}

func unsupported(op string) error {
	return fmt.Errorf("ts: crypto-protobuf %s: %w", op, ErrUnsupported)
}

func (p *protobufCrypto) GenerateKey(ctx context.Context, a KeyAttributes) (uint32, error) {
	var out pb.GenerateKeyOut
	err := p.call(ctx, pc.OpGenerateKey, &pb.GenerateKeyIn{Attributes: PBAttributes(a)}, &out)
	return out.GetId(), err
}

func (p *protobufCrypto) ImportKey(ctx context.Context, a KeyAttributes, data []byte) (uint32, error) {
	var out pb.ImportKeyOut
	err := p.call(ctx, pc.OpImportKey, &pb.ImportKeyIn{Attributes: PBAttributes(a), Data: data}, &out)
	return out.GetId(), err
}

func (p *protobufCrypto) DestroyKey(ctx context.Context, id uint32) error {
	return p.call(ctx, pc.OpDestroyKey, &pb.DestroyKeyIn{Id: id}, &pb.DestroyKeyOut{})
}

func (p *protobufCrypto) ExportKey(ctx context.Context, id uint32) ([]byte, error) {
	var out pb.ExportKeyOut
	err := p.call(ctx, pc.OpExportKey, &pb.ExportKeyIn{Id: id}, &out)
	return out.GetData(), err
}

func (p *protobufCrypto) ExportPublicKey(ctx context.Context, id uint32) ([]byte, error) {
	var out pb.ExportPublicKeyOut
	err := p.call(ctx, pc.OpExportPublicKey, &pb.ExportPublicKeyIn{Id: id}, &out)
	return out.GetData(), err
}

func (p *protobufCrypto) CopyKey(context.Context, uint32, KeyAttributes) (uint32, error) {
	return 0, unsupported("COPY_KEY")
}
func (p *protobufCrypto) PurgeKey(context.Context, uint32) error { return unsupported("PURGE_KEY") }
func (p *protobufCrypto) GetKeyAttributes(context.Context, uint32) (KeyAttributes, error) {
	return KeyAttributes{}, unsupported("GET_KEY_ATTRIBUTES")
}

func (p *protobufCrypto) SignHash(ctx context.Context, id uint32, alg psa.Algorithm, hash []byte) ([]byte, error) {
	var out pb.SignHashOut
	err := p.call(ctx, pc.OpSignHash, &pb.SignHashIn{Id: id, Alg: uint32(alg), Hash: hash}, &out)
	return out.GetSignature(), err
}

func (p *protobufCrypto) VerifyHash(ctx context.Context, id uint32, alg psa.Algorithm, hash, sig []byte) error {
	return p.call(ctx, pc.OpVerifyHash, &pb.VerifyHashIn{Id: id, Alg: uint32(alg), Hash: hash, Signature: sig}, &pb.VerifyHashOut{})
}

func (p *protobufCrypto) SignMessage(ctx context.Context, id uint32, alg psa.Algorithm, msg []byte) ([]byte, error) {
	var out pb.SignHashOut
	err := p.call(ctx, pc.OpSignMessage, &pb.SignHashIn{Id: id, Alg: uint32(alg), Hash: msg}, &out)
	return out.GetSignature(), err
}

func (p *protobufCrypto) VerifyMessage(ctx context.Context, id uint32, alg psa.Algorithm, msg, sig []byte) error {
	return p.call(ctx, pc.OpVerifyMessage, &pb.VerifyHashIn{Id: id, Alg: uint32(alg), Hash: msg, Signature: sig}, &pb.VerifyHashOut{})
}

func (p *protobufCrypto) AsymmetricEncrypt(ctx context.Context, id uint32, alg psa.Algorithm, plaintext, salt []byte) ([]byte, error) {
	var out pb.AsymmetricEncryptOut
	err := p.call(ctx, pc.OpAsymEncrypt, &pb.AsymmetricEncryptIn{Id: id, Alg: uint32(alg), Plaintext: plaintext, Salt: salt}, &out)
	return out.GetCiphertext(), err
}

func (p *protobufCrypto) AsymmetricDecrypt(ctx context.Context, id uint32, alg psa.Algorithm, ciphertext, salt []byte) ([]byte, error) {
	var out pb.AsymmetricDecryptOut
	err := p.call(ctx, pc.OpAsymDecrypt, &pb.AsymmetricDecryptIn{Id: id, Alg: uint32(alg), Ciphertext: ciphertext, Salt: salt}, &out)
	return out.GetPlaintext(), err
}

func (p *protobufCrypto) GenerateRandom(ctx context.Context, n int) ([]byte, error) {
	chunk := p.c.BufferSize() - 16
	res := make([]byte, 0, n)
	for len(res) < n {
		k := n - len(res)
		if k > chunk {
			k = chunk
		}
		var out pb.GenerateRandomOut
		if err := p.call(ctx, pc.OpGenerateRandom, &pb.GenerateRandomIn{Size: uint64(k)}, &out); err != nil {
			return nil, err
		}
		if len(out.GetRandomBytes()) != k {
			return nil, fmt.Errorf("ts: crypto-protobuf GENERATE_RANDOM response: %w: asked %d bytes, got %d", ErrMalformed, k, len(out.GetRandomBytes()))
		}
		res = append(res, out.GetRandomBytes()...)
	}
	return res, nil
}

func (p *protobufCrypto) HashCompute(context.Context, psa.Algorithm, []byte) ([]byte, error) {
	return nil, unsupported("HASH")
}
func (p *protobufCrypto) HashCompare(context.Context, psa.Algorithm, []byte, []byte) error {
	return unsupported("HASH")
}
func (p *protobufCrypto) CipherEncrypt(context.Context, uint32, psa.Algorithm, []byte) ([]byte, error) {
	return nil, unsupported("CIPHER")
}
func (p *protobufCrypto) CipherDecrypt(context.Context, uint32, psa.Algorithm, int, []byte) ([]byte, error) {
	return nil, unsupported("CIPHER")
}
func (p *protobufCrypto) MACCompute(context.Context, uint32, psa.Algorithm, []byte) ([]byte, error) {
	return nil, unsupported("MAC")
}
func (p *protobufCrypto) MACVerify(context.Context, uint32, psa.Algorithm, []byte, []byte) error {
	return unsupported("MAC")
}
func (p *protobufCrypto) AEADEncrypt(context.Context, uint32, psa.Algorithm, []byte, []byte, []byte) ([]byte, error) {
	return nil, unsupported("AEAD")
}
func (p *protobufCrypto) AEADDecrypt(context.Context, uint32, psa.Algorithm, []byte, []byte, []byte) ([]byte, error) {
	return nil, unsupported("AEAD")
}
func (p *protobufCrypto) RawKeyAgreement(context.Context, psa.Algorithm, uint32, []byte) ([]byte, error) {
	return nil, unsupported("RAW_KEY_AGREEMENT")
}

var _ Crypto = (*protobufCrypto)(nil)
