package tpm

import (
	"context"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// Request helpers: each builds the protobuf request the front end would
// hand the provider and runs it through Execute.

func call(p *Provider, app auth.Application, op wire.Opcode, req protomsg.Message) (protomsg.Message, error) {
	return provider.Run(context.Background(), p, app, op, req)
}

func attrsProto(t testing.TB, a psa.Attributes) *pb.KeyAttributes {
	t.Helper()
	pa, err := psa.AttributesToProto(a)
	if err != nil {
		t.Fatal(err)
	}
	return pa
}

func generate(t testing.TB, p *Provider, app auth.Application, name string, a psa.Attributes) error {
	t.Helper()
	_, err := call(p, app, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: name, Attributes: attrsProto(t, a)})
	return err
}

func importKey(t testing.TB, p *Provider, app auth.Application, name string, a psa.Attributes, data []byte) error {
	t.Helper()
	_, err := call(p, app, wire.OpPsaImportKey, &pb.ImportKeyRequest{KeyName: name, Attributes: attrsProto(t, a), Data: data})
	return err
}

func destroy(p *Provider, app auth.Application, name string) error {
	_, err := call(p, app, wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: name})
	return err
}

func exportPub(p *Provider, app auth.Application, name string) ([]byte, error) {
	res, err := call(p, app, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: name})
	if err != nil {
		return nil, err
	}
	return res.(*pb.ExportPublicKeyResult).GetData(), nil
}

func signAlg(t testing.TB, alg psa.Algorithm) *pb.Algorithm_AsymmetricSignature {
	t.Helper()
	s, err := psa.SignToProto(alg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sign(t testing.TB, p *Provider, app auth.Application, name string, alg psa.Algorithm, hash []byte) ([]byte, error) {
	t.Helper()
	res, err := call(p, app, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: name, Alg: signAlg(t, alg), Hash: hash})
	if err != nil {
		return nil, err
	}
	return res.(*pb.SignHashResult).GetSignature(), nil
}

func verify(t testing.TB, p *Provider, app auth.Application, name string, alg psa.Algorithm, hash, sig []byte) error {
	t.Helper()
	_, err := call(p, app, wire.OpPsaVerifyHash, &pb.VerifyHashRequest{KeyName: name, Alg: signAlg(t, alg), Hash: hash, Signature: sig})
	return err
}

func encAlg(t testing.TB, alg psa.Algorithm) *pb.Algorithm_AsymmetricEncryption {
	t.Helper()
	e, err := psa.AsymEncryptToProto(alg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func encrypt(t testing.TB, p *Provider, app auth.Application, name string, alg psa.Algorithm, pt, salt []byte) ([]byte, error) {
	t.Helper()
	res, err := call(p, app, wire.OpPsaAsymmetricEncrypt, &pb.AsymmetricEncryptRequest{KeyName: name, Alg: encAlg(t, alg), Plaintext: pt, Salt: salt})
	if err != nil {
		return nil, err
	}
	return res.(*pb.AsymmetricEncryptResult).GetCiphertext(), nil
}

func decrypt(t testing.TB, p *Provider, app auth.Application, name string, alg psa.Algorithm, ct, salt []byte) ([]byte, error) {
	t.Helper()
	res, err := call(p, app, wire.OpPsaAsymmetricDecrypt, &pb.AsymmetricDecryptRequest{KeyName: name, Alg: encAlg(t, alg), Ciphertext: ct, Salt: salt})
	if err != nil {
		return nil, err
	}
	return res.(*pb.AsymmetricDecryptResult).GetPlaintext(), nil
}

func random(p *Provider, n uint64) ([]byte, error) {
	res, err := call(p, auth.Application{}, wire.OpPsaGenerateRandom, &pb.GenerateRandomRequest{Size: n})
	if err != nil {
		return nil, err
	}
	return res.(*pb.GenerateRandomResult).GetRandomBytes(), nil
}

func canDo(t testing.TB, p *Provider, ct pb.CheckType, a psa.Attributes) error {
	t.Helper()
	_, err := call(p, alice, wire.OpCanDoCrypto, &pb.CanDoCryptoRequest{CheckType: ct, Attributes: attrsProto(t, a)})
	return err
}

// Attribute sets used across the tests.
var (
	eccP256Sign = psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256,
		Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)}
	rsa2048Sign = psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048,
		Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: psa.RSAPKCS1v15Sign(psa.AlgSHA256)}
	rsa2048Crypt = psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048,
		Usage: psa.UsageEncrypt | psa.UsageDecrypt, Alg: psa.AlgRSAPKCS1v15Crypt}
)
