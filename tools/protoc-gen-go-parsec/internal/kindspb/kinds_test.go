package kindspb

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/parsec-go/parsec/internal/protodiff"
	"github.com/parsec-go/parsec/tools/protoc-gen-go-parsec/internal/kindspb/internal/refpb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

func suite(tb testing.TB) *protodiff.Suite {
	tb.Helper()
	s, err := protodiff.New([]protoreflect.FileDescriptor{refpb.File_kinds_proto}, generatedMessages, generatedOneofWrappers)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Random values of every type encode to the reference's bytes and decode
// back on both sides.
func TestRandomValues(t *testing.T) {
	suite(t).RunRandom(t, 1, 2000)
}

// A message nested deeper than the recursion limit is refused by both; one
// level less is accepted by both.
func TestRecursionLimit(t *testing.T) {
	s := suite(t)
	nest := func(depth int) []byte {
		// Holder.nested (field 4) inside Holder.nested ...
		var b []byte
		for i := 1; i < depth; i++ {
			b = append(protowire.AppendVarint([]byte{0x22}, uint64(len(b))), b...)
		}
		return b
	}
	ty := s.TypeOf(&refpb.Holder{})
	for _, tt := range []struct {
		depth int
		ok    bool
	}{{protomsg.RecursionLimit, true}, {protomsg.RecursionLimit + 1, false}} {
		ok, err := s.CheckBytes(ty, nest(tt.depth))
		if err != nil {
			t.Fatal(err)
		}
		if ok != tt.ok {
			t.Errorf("depth %d: decoded %v, want %v", tt.depth, ok, tt.ok)
		}
	}
	var h Holder
	if err := h.Unmarshal(nest(protomsg.RecursionLimit + 1)); !errors.Is(err, protomsg.ErrRecursionDepth) {
		t.Errorf("got %v, want ErrRecursionDepth", err)
	}
}

// Hand-picked encodings of the decoding rules, each with its expected
// outcome, checked against the reference too.
func TestDecodeRules(t *testing.T) {
	s := suite(t)
	tests := []struct {
		name string
		msg  proto.Message
		b    []byte
		ok   bool
	}{
		{"packed and unpacked int32 mixed", &refpb.Repeated{}, []byte{0x18, 0x01, 0x1a, 0x02, 0x02, 0x03, 0x88, 0x01, 0x04}, true},
		{"packed form of an unpacked field", &refpb.Repeated{}, []byte{0x8a, 0x01, 0x02, 0x05, 0x06}, true},
		{"packed fixed32 of bad length", &refpb.Repeated{}, []byte{0x4a, 0x03, 1, 2, 3}, false},
		{"wrong wire type is an unknown field", &refpb.Scalars{}, []byte{0x1d, 1, 2, 3, 4, 0x70, 0x01}, true},
		{"string with a varint wire type", &refpb.Scalars{}, []byte{0x70, 0x01}, true},
		{"invalid UTF-8", &refpb.Scalars{}, []byte{0x72, 0x01, 0xff}, false},
		{"field number 0", &refpb.Scalars{}, []byte{0x00, 0x01}, false},
		{"field number above the maximum", &refpb.Scalars{}, []byte{0xf8, 0xff, 0xff, 0xff, 0x1f, 0x00}, false},
		{"largest field number", &refpb.Scalars{}, []byte{0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00}, true},
		{"wire type 6", &refpb.Scalars{}, []byte{0x0e}, false},
		{"end group without start", &refpb.Scalars{}, []byte{0x0c}, false},
		{"unknown group skipped", &refpb.Scalars{}, []byte{0xa3, 0x01, 0x08, 0x01, 0xa4, 0x01, 0x18, 0x05}, true},
		{"group on a known field skipped", &refpb.Scalars{}, []byte{0x1b, 0x08, 0x01, 0x1c}, true},
		{"unterminated group", &refpb.Scalars{}, []byte{0xa3, 0x01, 0x08, 0x01}, false},
		{"truncated varint", &refpb.Scalars{}, []byte{0x18, 0x80}, false},
		{"overlong varint", &refpb.Scalars{}, []byte{0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, false},
		{"ten-byte varint", &refpb.Scalars{}, []byte{0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, true},
		{"truncated length", &refpb.Scalars{}, []byte{0x7a, 0x05, 0x01}, false},
		{"truncated fixed64", &refpb.Scalars{}, []byte{0x09, 1, 2, 3}, false},
		{"int32 truncated from 64 bits", &refpb.Scalars{}, []byte{0x18, 0x80, 0x80, 0x80, 0x80, 0x10}, true},
		{"bool from a large varint", &refpb.Scalars{}, []byte{0x68, 0x80, 0x02}, true},
		{"sint32 from 64 bits", &refpb.Scalars{}, []byte{0x38, 0xff, 0xff, 0xff, 0xff, 0x1f}, true},
		{"enum number with no name", &refpb.Scalars{}, []byte{0x80, 0x01, 0x63}, true},
		{"last oneof member wins", &refpb.Holder{}, []byte{0x18, 0x07, 0x0a, 0x01, 'x'}, true},
		{"oneof message merged", &refpb.Holder{}, []byte{0x4a, 0x02, 0x18, 0x01, 0x4a, 0x02, 0x20, 0x02}, true},
		{"oneof message replaced by scalar", &refpb.Holder{}, []byte{0x4a, 0x02, 0x18, 0x01, 0x18, 0x03}, true},
		{"message field merged", &refpb.Holder{}, []byte{0x2a, 0x02, 0x18, 0x01, 0x2a, 0x02, 0x20, 0x02, 0x2a, 0x00}, true},
		{"repeated message appended", &refpb.Holder{}, []byte{0x82, 0xa4, 0x30, 0x00, 0x82, 0xa4, 0x30, 0x02, 0x10, 0x01}, true},
		{"error inside a nested message", &refpb.Holder{}, []byte{0x2a, 0x02, 0x72, 0x05}, false},
		{"empty oneof bytes", &refpb.Holder{}, []byte{0x3a, 0x00}, true},
		{"empty", &refpb.Holder{}, nil, true},
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

// Values built by hand, where a generated Go value can be what the
// reflection-driven random values never are.
func TestEncodeEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		msg  protomsg.Message
		want []byte
	}{
		{"oneof zero int32 is sent", &Holder{First: &Holder_OInt32{}}, []byte{0x18, 0x00}},
		{"oneof nil message is sent empty", &Holder{First: &Holder_OMsg{}}, []byte{0x4a, 0x00}},
		{"typed nil oneof wrapper is not sent", &Holder{First: (*Holder_OMsg)(nil)}, nil},
		{"empty message field is sent", &Holder{Single: &Scalars{}}, []byte{0x2a, 0x00}},
		{"nil element of a repeated message", &Repeated{RMsg: []*Scalars{nil}}, []byte{0x92, 0x01, 0x00}},
		{"empty non-nil bytes are not sent", &Scalars{FBytes: []byte{}}, nil},
		{"negative zero is sent", &Scalars{FDouble: math.Copysign(0, -1)}, []byte{0x09, 0, 0, 0, 0, 0, 0, 0, 0x80}},
		{"oneof fields after plain ones", &Holder{After: 1, First: &Holder_OString{OString: "a"}, Second: &Holder_OBool{}}, []byte{0x10, 0x01, 0x0a, 0x01, 'a', 0x30, 0x00}},
	}
	for _, tt := range tests {
		got, err := protomsg.Marshal(tt.msg)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s: got %x, want %x", tt.name, got, tt.want)
		}
	}
}

// An invalid UTF-8 string is refused when encoding too.
func TestMarshalInvalidUTF8(t *testing.T) {
	for _, m := range []protomsg.Message{
		&Scalars{FString: "\xff"},
		&Repeated{RString: []string{"ok", "\xc3"}},
		&Holder{First: &Holder_OString{OString: "\xff"}},
		&Holder{Children: []*Holder{{Single: &Scalars{FString: "\x80"}}}},
	} {
		if _, err := protomsg.Marshal(m); !errors.Is(err, protomsg.ErrInvalidUTF8) {
			t.Errorf("%#v: got %v, want ErrInvalidUTF8", m, err)
		}
	}
}

// Enum String and the name maps behave as protoc-gen-go's.
func TestEnumNames(t *testing.T) {
	for _, v := range []int32{0, 1, 2, -3, 7, -100} {
		if got, want := Color(v).String(), refpb.Color(v).String(); got != want {
			t.Errorf("Color(%d): %q, want %q", v, got, want)
		}
	}
	if got, want := Aliased_A_UNO.String(), refpb.Aliased_A_UNO.String(); got != want {
		t.Errorf("alias: %q, want %q", got, want)
	}
	if Aliased_name[1] != refpb.Aliased_name[1] || len(Aliased_value) != len(refpb.Aliased_value) {
		t.Errorf("alias maps differ")
	}
	if *Color_BLUE.Enum() != Color_BLUE {
		t.Errorf("Enum()")
	}
}

func FuzzKinds(f *testing.F) {
	suite(f).Fuzz(f,
		&refpb.Holder{After: 7, First: &refpb.Holder_OMsg{OMsg: &refpb.Scalars{FString: "x", FColor: refpb.Color_BLUE}}, Children: []*refpb.Holder{{}}},
		&refpb.Repeated{RInt32: []int32{-1, 2}, RUnpacked: []int32{3, 4}, RString: []string{"a", ""}},
	)
}
