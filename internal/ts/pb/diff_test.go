package pb

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/parsec-go/parsec/internal/protodiff"
	"github.com/parsec-go/parsec/internal/ts/pb/internal/refpb"
)

// The generated code is checked against protoc-gen-go output for the same
// file (internal/refpb, which only tests import).
func suite(tb testing.TB) *protodiff.Suite {
	tb.Helper()
	s, err := protodiff.New([]protoreflect.FileDescriptor{refpb.File_ts_crypto_proto}, generatedMessages, generatedOneofWrappers)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Random values of every message encode to the bytes proto.Marshal gives,
// and each side decodes the other's bytes back.
func TestDifferentialRandom(t *testing.T) {
	suite(t).RunRandom(t, 1, 1000)
}

// FuzzDifferential: any bytes, decoded as any ts/pb message, give the same
// outcome as proto.Unmarshal into the protoc-gen-go type.
func FuzzDifferential(f *testing.F) {
	attrs := &refpb.KeyAttributes{Type: 0x7112, KeyBits: 256, Lifetime: 1, Id: 5,
		Policy: &refpb.KeyPolicy{Usage: 0x3000, Alg: 0x06000609}}
	suite(f).Fuzz(f,
		&refpb.GenerateKeyIn{Attributes: attrs},
		&refpb.ImportKeyIn{Attributes: attrs, Data: []byte{1, 2, 3}},
		&refpb.SignHashIn{Id: 5, Alg: 0x06000609, Hash: make([]byte, 32)},
		&refpb.VerifyHashIn{Id: 5, Alg: 0x06000609, Hash: make([]byte, 32), Signature: make([]byte, 64)},
		&refpb.AsymmetricEncryptIn{Id: 2, Alg: 0x07000309, Plaintext: []byte("hi"), Salt: []byte{0xdd}},
		&refpb.GenerateRandomIn{Size: 1 << 40},
		&refpb.ExportPublicKeyOut{Data: make([]byte, 65)},
	)
}

// A real TS response body decodes the same both ways.
func TestDifferentialKnownBody(t *testing.T) {
	s := suite(t)
	b, err := proto.Marshal(&refpb.GenerateKeyOut{Id: 0x3fffffff})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.CheckBytes(s.TypeOf(&refpb.GenerateKeyOut{}), b); err != nil || !ok {
		t.Fatalf("ok %v, err %v", ok, err)
	}
	var out GenerateKeyOut
	if err := out.Unmarshal(b); err != nil || out.GetId() != 0x3fffffff {
		t.Fatalf("got %d, %v", out.GetId(), err)
	}
}
