// Package protomsg is the run-time half of the protobuf code that
// tools/protoc-gen-go-parsec generates for wire/pb and ts/pb: the Message
// interface, Marshal and Unmarshal, and the few decode helpers the generated
// code shares.
//
// The generated code encodes and decodes with
// google.golang.org/protobuf/encoding/protowire only, so a program using it
// does not link protobuf-go's reflection runtime (descriptors, registries,
// start-up initialisation). Its output is byte-identical to proto.Marshal
// and its decoding follows proto.Unmarshal; the differential tests in
// wire/pb and ts/pb hold it to that.
package protomsg

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
)

// Message is a generated protobuf message.
type Message interface {
	// Reset clears the message to its zero value.
	Reset()
	// ProtoSize returns the length of the message's wire encoding.
	ProtoSize() int
	// MarshalAppend appends the wire encoding to b: fields in the order
	// proto.Marshal uses, proto3 zero values left out. It fails only for a
	// string field that is not valid UTF-8, as proto.Marshal does.
	MarshalAppend(b []byte) ([]byte, error)
	// Unmarshal resets the message and decodes b into it, as proto.Unmarshal
	// does: unknown fields are skipped, repeated scalars may be packed or
	// not, a message field seen twice is merged.
	Unmarshal(b []byte) error
}

// Errors returned by the generated code. The messages follow protobuf-go's.
var (
	// ErrDecode: bytes that are not a valid wire encoding (truncated,
	// overlong varint, bad field number or wire type).
	ErrDecode = errors.New("proto: cannot parse invalid wire-format data")
	// ErrInvalidUTF8: a string field that is not UTF-8, refused in proto3
	// both when encoding and when decoding.
	ErrInvalidUTF8 = errors.New("proto: string field contains invalid UTF-8")
	// ErrRecursionDepth: messages nested deeper than
	// protowire.DefaultRecursionLimit.
	ErrRecursionDepth = errors.New("proto: exceeded maximum recursion depth")
	// ErrNilMessage: Unmarshal into a nil message.
	ErrNilMessage = errors.New("proto: unmarshal into a nil message")
)

// RecursionLimit is the nesting depth Unmarshal accepts, protobuf-go's.
const RecursionLimit = protowire.DefaultRecursionLimit

// Marshal returns the wire encoding of m.
func Marshal(m Message) ([]byte, error) {
	n := m.ProtoSize()
	if n == 0 {
		// Non-nil, as from proto.Marshal.
		return []byte{}, nil
	}
	return m.MarshalAppend(make([]byte, 0, n))
}

// Unmarshal decodes b into m, replacing what m held.
func Unmarshal(b []byte, m Message) error {
	return m.Unmarshal(b)
}

// ConsumeTag parses a field tag. It returns n < 0 for a malformed varint, a
// field number outside 1..protowire.MaxValidNumber or an end-group tag
// (groups are only skipped as unknown fields, so an end-group tag here has
// no matching start), exactly the tags proto.Unmarshal refuses.
func ConsumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return 0, 0, n
	}
	num := v >> 3
	if num < uint64(protowire.MinValidNumber) || num > uint64(protowire.MaxValidNumber) {
		return 0, 0, -1
	}
	typ := protowire.Type(v & 7)
	if typ == protowire.EndGroupType {
		return 0, 0, -1
	}
	return protowire.Number(num), typ, n
}

// SkipField returns the length of the value of an unknown field, or
// ErrDecode if it is malformed.
func SkipField(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
	n := protowire.ConsumeFieldValue(num, typ, b)
	if n < 0 {
		return 0, ErrDecode
	}
	return n, nil
}
