package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func hash(_ context.Context, c Call[*pb.HashComputeRequest]) (*pb.HashComputeResult, error) {
	return &pb.HashComputeResult{Hash: []byte(c.Alg.String())}, nil
}

func random(context.Context, Call[*pb.GenerateRandomRequest]) (*pb.GenerateRandomResult, error) {
	return &pb.GenerateRandomResult{}, nil
}

func TestTable(t *testing.T) {
	tb := NewTable(
		Handle(wire.OpPsaHashCompute, hash),
		Handle(wire.OpPsaGenerateRandom, random).Unadvertised(),
		Handle(wire.OpPsaHashCompare, func(context.Context, Call[*pb.HashCompareRequest]) (*pb.HashCompareResult, error) {
			return nil, wire.Errorf(wire.StatusPsaErrorInvalidSignature, "no")
		}).If(false),
	)
	if got := fmt.Sprint(tb.Opcodes()); got != fmt.Sprint([]wire.Opcode{wire.OpPsaHashCompute}) {
		t.Errorf("advertised %s", got)
	}
	for op, want := range map[wire.Opcode]bool{wire.OpPsaHashCompute: true, wire.OpPsaGenerateRandom: true, wire.OpPsaHashCompare: false, wire.OpPsaSignHash: false} {
		if tb.Accepts(op) != want {
			t.Errorf("Accepts(%v) = %v", op, !want)
		}
	}
	r, err := Convert(wire.OpPsaHashCompute, &pb.HashComputeRequest{Alg: pb.Algorithm_SHA_256})
	if err != nil || r.Alg != psa.AlgSHA256 {
		t.Fatalf("Convert: %v, %v", r.Alg, err)
	}
	res, err := tb.Execute(context.Background(), alice, r)
	if err != nil || string(res.(*pb.HashComputeResult).Hash) != psa.AlgSHA256.String() {
		t.Errorf("Execute: %v, %v: the handler did not get the converted algorithm", res, err)
	}
	// A request message of the wrong type is an error, not a panic.
	if _, err := tb.Execute(context.Background(), alice, Request{Op: wire.OpPsaHashCompute, Msg: &pb.PingRequest{}}); wire.StatusOf(err, 0) != wire.StatusPsaErrorGenericError {
		t.Errorf("mismatched message: %v", err)
	}
	if _, err := tb.Execute(context.Background(), alice, Request{Op: wire.OpPsaSignHash}); wire.StatusOf(err, 0) != wire.StatusPsaErrorNotSupported {
		t.Errorf("unknown op: %v", err)
	}
}

func TestTableMistakesPanic(t *testing.T) {
	for name, build := range map[string]func(){
		"wrong request type": func() { Handle(wire.OpPsaSignHash, hash) },
		"duplicate opcode":   func() { NewTable(Handle(wire.OpPsaHashCompute, hash), Handle(wire.OpPsaHashCompute, hash)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			build()
		}()
	}
}
