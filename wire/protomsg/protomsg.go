// Package protomsg is the run-time half of the protobuf code that
// tools/protoc-gen-go-parsec generates for wire/pb and ts/pb: the Message
// interface, Marshal and Unmarshal, and the few decode helpers the generated
// code shares.
//
// The generated code needs nothing but this package (and the standard
// library) at run time, so a program using it links none of protobuf-go:
// no reflection runtime, no descriptors or registries, nothing run at
// start-up. Its output is byte-identical to proto.Marshal
// and its decoding follows proto.Unmarshal; the differential tests in
// wire/pb and ts/pb hold it to that.
package protomsg

import "errors"

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
	// ErrRecursionDepth: messages nested deeper than RecursionLimit.
	ErrRecursionDepth = errors.New("proto: exceeded maximum recursion depth")
	// ErrNilMessage: Unmarshal into a nil message.
	ErrNilMessage = errors.New("proto: unmarshal into a nil message")
)

// RecursionLimit is the nesting depth Unmarshal accepts, protobuf-go's
// default.
const RecursionLimit = 10000

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
