package pb

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/parsec-go/parsec/internal/protodiff"
	"github.com/parsec-go/parsec/wire/pb/internal/refpb"
)

// The generated code is checked against protoc-gen-go output for the same
// files (internal/refpb, which only tests import).
func suite(tb testing.TB) *protodiff.Suite {
	tb.Helper()
	s, err := protodiff.New([]protoreflect.FileDescriptor{
		refpb.File_attestation_proto, refpb.File_core_proto, refpb.File_crypto_proto,
		refpb.File_psa_algorithm_proto, refpb.File_psa_key_attributes_proto,
	}, generatedMessages, generatedOneofWrappers)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Random values of every message (every field, oneof member, list, nested
// message, boundary numbers, unnamed enum numbers, bad UTF-8) encode to the
// bytes proto.Marshal gives, and each side decodes the other's bytes back.
func TestDifferentialRandom(t *testing.T) {
	suite(t).RunRandom(t, 1, 300)
}

func sha256Policy(alg *refpb.Algorithm) *refpb.KeyPolicy {
	return &refpb.KeyPolicy{
		KeyUsageFlags: &refpb.UsageFlags{SignHash: true, VerifyHash: true, SignMessage: true, VerifyMessage: true},
		KeyAlgorithm:  alg,
	}
}

func ecdsaSHA256() *refpb.Algorithm_AsymmetricSignature {
	return &refpb.Algorithm_AsymmetricSignature{Variant: &refpb.Algorithm_AsymmetricSignature_Ecdsa_{
		Ecdsa: &refpb.Algorithm_AsymmetricSignature_Ecdsa{HashAlg: &refpb.Algorithm_AsymmetricSignature_SignHash{
			Variant: &refpb.Algorithm_AsymmetricSignature_SignHash_Specific{Specific: refpb.Algorithm_SHA_256}}}}}
}

// requestSeeds are bodies as Parsec clients send them.
func requestSeeds() []proto.Message {
	ecc := &refpb.KeyAttributes{
		KeyType: &refpb.KeyType{Variant: &refpb.KeyType_EccKeyPair_{EccKeyPair: &refpb.KeyType_EccKeyPair{CurveFamily: refpb.KeyType_SECP_R1}}},
		KeyBits: 256,
		KeyPolicy: sha256Policy(&refpb.Algorithm{Variant: &refpb.Algorithm_AsymmetricSignature_{
			AsymmetricSignature: ecdsaSHA256()}}),
	}
	rsa := &refpb.KeyAttributes{
		KeyType: &refpb.KeyType{Variant: &refpb.KeyType_RsaKeyPair_{RsaKeyPair: &refpb.KeyType_RsaKeyPair{}}},
		KeyBits: 2048,
		KeyPolicy: &refpb.KeyPolicy{
			KeyUsageFlags: &refpb.UsageFlags{Encrypt: true, Decrypt: true},
			KeyAlgorithm: &refpb.Algorithm{Variant: &refpb.Algorithm_AsymmetricEncryption_{AsymmetricEncryption: &refpb.Algorithm_AsymmetricEncryption{
				Variant: &refpb.Algorithm_AsymmetricEncryption_RsaOaep_{RsaOaep: &refpb.Algorithm_AsymmetricEncryption_RsaOaep{HashAlg: refpb.Algorithm_SHA_256}}}}},
		},
	}
	hash := make([]byte, 32)
	return []proto.Message{
		&refpb.PingRequest{},
		&refpb.ListOpcodesRequest{ProviderId: 1},
		&refpb.GenerateKeyRequest{KeyName: "parsec-tool-ecc", Attributes: ecc},
		&refpb.GenerateKeyRequest{KeyName: "rsa-oaep", Attributes: rsa},
		&refpb.SignHashRequest{KeyName: "parsec-tool-ecc", Alg: ecdsaSHA256(), Hash: hash},
		&refpb.VerifyHashRequest{KeyName: "k", Alg: ecdsaSHA256(), Hash: hash, Signature: make([]byte, 64)},
		&refpb.AsymmetricEncryptRequest{KeyName: "rsa-oaep", Alg: rsa.KeyPolicy.KeyAlgorithm.GetAsymmetricEncryption(), Plaintext: []byte("secret")},
		&refpb.AeadEncryptRequest{KeyName: "aes", Alg: &refpb.Algorithm_Aead{Variant: &refpb.Algorithm_Aead_AeadWithDefaultLengthTag_{
			AeadWithDefaultLengthTag: refpb.Algorithm_Aead_GCM}}, Nonce: make([]byte, 12), AdditionalData: []byte("ad"), Plaintext: []byte("pt")},
		&refpb.HashComputeRequest{Alg: refpb.Algorithm_SHA_256, Input: []byte("abc")},
		&refpb.GenerateRandomRequest{Size: 32},
		&refpb.CanDoCryptoRequest{CheckType: refpb.CheckType_GENERATE, Attributes: ecc},
		&refpb.ListKeysResult{Keys: []*refpb.KeyInfo{{ProviderId: 1, Name: "a", Attributes: ecc}, {ProviderId: 3, Name: "b", Attributes: rsa}}},
		&refpb.ListProvidersResult{Providers: []*refpb.ProviderInfo{{Uuid: "1c1139dc-ad7c-47dc-ad6b-db6fdb466552", Description: "Software", Vendor: "parsec-go", VersionMaj: 1, Id: 1}}},
		&refpb.ListOpcodesResult{Opcodes: []uint32{1, 2, 3, 0x1a, 0x20}},
		&refpb.AttestKeyRequest{AttestedKeyName: "k", Parameters: &refpb.AttestationMechanismParams{Mechanism: &refpb.AttestationMechanismParams_ActivateCredential_{
			ActivateCredential: &refpb.AttestationMechanismParams_ActivateCredential{CredentialBlob: []byte{1}, Secret: []byte{2}}}}},
	}
}

// Hand-picked bodies with their expected outcome (the reference must agree).
func TestDifferentialDecodeRules(t *testing.T) {
	s := suite(t)
	tests := []struct {
		name string
		msg  proto.Message
		b    []byte
		ok   bool
	}{
		{"unpacked opcodes", &refpb.ListOpcodesResult{}, []byte{0x08, 0x01, 0x08, 0x02}, true},
		{"packed and unpacked opcodes", &refpb.ListOpcodesResult{}, []byte{0x0a, 0x02, 0x01, 0x02, 0x08, 0x03}, true},
		{"alg as bytes is skipped", &refpb.HashComputeRequest{}, []byte{0x0a, 0x01, 0x07, 0x12, 0x01, 'x'}, true},
		{"unknown field", &refpb.HashComputeRequest{}, []byte{0x08, 0x07, 0xf8, 0x01, 0x05}, true},
		{"key name not UTF-8", &refpb.DestroyKeyRequest{}, []byte{0x0a, 0x02, 0xc3, 0x28}, false},
		{"truncated key name", &refpb.DestroyKeyRequest{}, []byte{0x0a, 0x05, 'k'}, false},
		{"field 0", &refpb.PingRequest{}, []byte{0x00}, false},
		{"last oneof member wins", &refpb.Algorithm{}, []byte{0x10, 0x07, 0x20, 0x02}, true},
		{"oneof message merged", &refpb.Algorithm_Mac{}, []byte{0x12, 0x02, 0x10, 0x10, 0x12, 0x02, 0x0a, 0x00}, true},
		{"attributes merged", &refpb.GenerateKeyRequest{}, []byte{0x12, 0x02, 0x10, 0x08, 0x12, 0x02, 0x0a, 0x00}, true},
		{"bad nested sub-message", &refpb.GenerateKeyRequest{}, []byte{0x12, 0x02, 0x0a, 0x05}, false},
	}
	for _, tt := range tests {
		ok, err := s.CheckBytes(s.TypeOf(tt.msg), tt.b)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if ok != tt.ok {
			t.Errorf("%s: decoded %v, want %v", tt.name, ok, tt.ok)
		}
	}
}

// FuzzDifferential: any bytes, decoded as any wire/pb message, give the same
// outcome as proto.Unmarshal into the protoc-gen-go type, and on success
// the same value and the same re-encoding.
func FuzzDifferential(f *testing.F) {
	suite(f).Fuzz(f, requestSeeds()...)
}
