package protomsg

import (
	"bytes"
	"math"
	"math/rand"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// The wire helpers agree with protobuf-go's protowire (a test-only import)
// on boundary values and on random bytes.
func TestVarintsMatchProtowire(t *testing.T) {
	vals := []uint64{0, 1, 127, 128, 255, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<28 - 1, math.MaxUint32, 1<<35 + 3, 1<<56 - 1, 1 << 56, 1<<63 - 1, 1 << 63, math.MaxUint64}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 1000; i++ {
		vals = append(vals, rng.Uint64()>>uint(rng.Intn(64)))
	}
	for _, v := range vals {
		got, want := AppendVarint([]byte{9}, v), protowire.AppendVarint([]byte{9}, v)
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendVarint(%d) = %x, want %x", v, got, want)
		}
		if SizeVarint(v) != protowire.SizeVarint(v) {
			t.Fatalf("SizeVarint(%d) = %d, want %d", v, SizeVarint(v), protowire.SizeVarint(v))
		}
		if EncodeZigZag(int64(v)) != protowire.EncodeZigZag(int64(v)) || DecodeZigZag(v) != protowire.DecodeZigZag(v) {
			t.Fatalf("zigzag %d", v)
		}
	}
	inputs := [][]byte{nil, {0x80}, {0x80, 0x00}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}}
	for i := 0; i < 5000; i++ {
		b := make([]byte, rng.Intn(12))
		for j := range b {
			b[j] = byte(rng.Intn(256)) | byte(rng.Intn(2))<<7
		}
		inputs = append(inputs, b)
	}
	for _, b := range inputs {
		v, n := ConsumeVarint(b)
		wv, wn := protowire.ConsumeVarint(b)
		if (n < 0) != (wn < 0) || (n >= 0 && (v != wv || n != wn)) {
			t.Fatalf("ConsumeVarint(%x) = %d, %d; protowire %d, %d", b, v, n, wv, wn)
		}
		_, n = ConsumeBytes(b)
		_, wn = protowire.ConsumeBytes(b)
		if n != wn && (n >= 0 || wn >= 0) {
			t.Fatalf("ConsumeBytes(%x) = %d; protowire %d", b, n, wn)
		}
	}
}

// SkipField agrees with protowire.ConsumeFieldValue, groups included.
func FuzzSkipField(f *testing.F) {
	f.Add(uint32(1), uint8(StartGroupType), []byte{0x08, 0x01, 0x13, 0x14, 0x0c})
	f.Add(uint32(5), uint8(BytesType), []byte{0x02, 0x01})
	f.Add(uint32(2), uint8(Fixed64Type), []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, num uint32, typ uint8, b []byte) {
		num = num%MaxValidNumber + 1
		typ %= 8
		n, err := SkipField(int32(num), Type(typ), b)
		wn := protowire.ConsumeFieldValue(protowire.Number(num), protowire.Type(typ), b)
		if (err != nil) != (wn < 0) || (err == nil && n != wn) {
			t.Fatalf("SkipField(%d, %d, %x) = %d, %v; protowire %d", num, typ, b, n, err, wn)
		}
	})
}
