package dispatch

import (
	"errors"
	"testing"

	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

func TestDecodeStatuses(t *testing.T) {
	good, _ := protomsg.Marshal(&pb.HashComputeRequest{Alg: pb.Algorithm_SHA_256, Input: []byte("x")})
	none, _ := protomsg.Marshal(&pb.HashComputeRequest{Input: []byte("x")})
	unknown, _ := protomsg.Marshal(&pb.HashComputeRequest{Alg: 99})
	noAlg, _ := protomsg.Marshal(&pb.SignHashRequest{KeyName: "k"})
	tests := []struct {
		name string
		op   wire.Opcode
		body []byte
		want wire.Status
	}{
		{"good", wire.OpPsaHashCompute, good, wire.StatusSuccess},
		{"hash NONE", wire.OpPsaHashCompute, none, wire.StatusInvalidEncoding},
		{"hash 99", wire.OpPsaHashCompute, unknown, wire.StatusInvalidEncoding},
		{"sign without alg", wire.OpPsaSignHash, noAlg, wire.StatusInvalidEncoding},
		{"garbage", wire.OpPsaHashCompute, []byte{0x0a, 0xff}, wire.StatusDeserializingBodyFailed},
		{"empty ping", wire.OpPing, nil, wire.StatusSuccess},
		{"no such opcode", 0x1D, nil, wire.StatusOpcodeDoesNotExist},
	}
	for _, tt := range tests {
		_, err := Decode(tt.op, tt.body)
		if got := wire.StatusOf(err, 9999); got != tt.want {
			t.Errorf("%s: got %v (%v), want %v", tt.name, got, err, tt.want)
		}
	}
}

// FuzzDecode: any body for any opcode decodes or fails with one of the two
// body statuses; never a panic, never another status.
func FuzzDecode(f *testing.F) {
	seed, _ := protomsg.Marshal(&pb.GenerateKeyRequest{KeyName: "k", Attributes: &pb.KeyAttributes{KeyBits: 256}})
	f.Add(uint8(wire.OpPsaGenerateKey), seed)
	f.Add(uint8(wire.OpPsaAeadEncrypt), []byte{0x12, 0x02, 0x08, 0x02})
	f.Add(uint8(wire.OpCanDoCrypto), []byte{0x08, 0x01})
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		o := wire.Opcode(op)
		if !o.Valid() {
			return
		}
		_, err := Decode(o, body)
		if err == nil {
			return
		}
		var e *wire.Error
		if !errors.As(err, &e) || (e.Status != wire.StatusDeserializingBodyFailed && e.Status != wire.StatusInvalidEncoding) {
			t.Fatalf("%v: unexpected error %v", o, err)
		}
	})
}
