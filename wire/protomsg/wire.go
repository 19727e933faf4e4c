package protomsg

import "math/bits"

// The protobuf wire format, the part the generated code uses: varints,
// little-endian fixed-width values, length-delimited values and tags
// (https://protobuf.dev/programming-guides/encoding/). It is written here
// rather than taken from protobuf-go's protowire package because that
// package's error values pull in internal/detrand, which hashes the
// program's executable at start-up.

// Type is a wire type.
type Type int8

// The wire types.
const (
	VarintType     Type = 0
	Fixed64Type    Type = 1
	BytesType      Type = 2
	StartGroupType Type = 3
	EndGroupType   Type = 4
	Fixed32Type    Type = 5
)

// Field numbers valid in a message.
const (
	MinValidNumber = 1
	MaxValidNumber = 1<<29 - 1
)

// AppendVarint appends v as a base-128 varint.
func AppendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// SizeVarint returns the length of v as a varint.
func SizeVarint(v uint64) int {
	// 7 bits per byte; 0 still takes one.
	return (bits.Len64(v|1) + 6) / 7
}

// ConsumeVarint parses a varint, returning its value and length, or n < 0
// if b ends first or the value needs more than 64 bits. Non-minimal
// encodings are accepted, as everywhere in protobuf.
func ConsumeVarint(b []byte) (v uint64, n int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	for i := 0; i < 10 && i < len(b); i++ {
		c := b[i]
		if i == 9 && c > 1 {
			return 0, -1 // bits beyond the 64th
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1
		}
	}
	return 0, -1
}

// AppendFixed32 appends v in 4 little-endian bytes.
func AppendFixed32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

// AppendFixed64 appends v in 8 little-endian bytes.
func AppendFixed64(b []byte, v uint64) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24),
		byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

// ConsumeFixed32 parses 4 little-endian bytes (n < 0 if b is shorter).
func ConsumeFixed32(b []byte) (uint32, int) {
	if len(b) < 4 {
		return 0, -1
	}
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24, 4
}

// ConsumeFixed64 parses 8 little-endian bytes (n < 0 if b is shorter).
func ConsumeFixed64(b []byte) (uint64, int) {
	if len(b) < 8 {
		return 0, -1
	}
	lo, _ := ConsumeFixed32(b)
	hi, _ := ConsumeFixed32(b[4:])
	return uint64(lo) | uint64(hi)<<32, 8
}

// AppendBytes appends v with its length in front.
func AppendBytes(b []byte, v []byte) []byte {
	return append(AppendVarint(b, uint64(len(v))), v...)
}

// AppendString appends v with its length in front.
func AppendString(b []byte, v string) []byte {
	return append(AppendVarint(b, uint64(len(v))), v...)
}

// SizeBytes returns the length of a length-delimited value of n bytes.
func SizeBytes(n int) int { return SizeVarint(uint64(n)) + n }

// ConsumeBytes parses a length-delimited value, returning it (aliasing b)
// and the total length, or n < 0 if the length is bad or runs past b.
func ConsumeBytes(b []byte) (v []byte, n int) {
	l, m := ConsumeVarint(b)
	if m < 0 || l > uint64(len(b)-m) {
		return nil, -1
	}
	return b[m : m+int(l)], m + int(l)
}

// EncodeZigZag maps a signed value to an unsigned one with small
// magnitudes small (sint32, sint64).
func EncodeZigZag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

// DecodeZigZag reverses EncodeZigZag.
func DecodeZigZag(v uint64) int64 { return int64(v>>1) ^ -int64(v&1) }

// EncodeBool returns a bool's varint value.
func EncodeBool(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

// DecodeBool: any non-zero varint is true.
func DecodeBool(v uint64) bool { return v != 0 }

// ConsumeTag parses a field tag. It returns n < 0 for a malformed varint, a
// field number outside MinValidNumber..MaxValidNumber or an end-group tag
// (groups are only skipped as unknown fields, so an end-group tag here has
// no matching start): exactly the tags proto.Unmarshal refuses.
func ConsumeTag(b []byte) (num int32, typ Type, n int) {
	v, n := ConsumeVarint(b)
	if n < 0 {
		return 0, 0, n
	}
	if f := v >> 3; f < MinValidNumber || f > MaxValidNumber {
		return 0, 0, -1
	}
	typ = Type(v & 7)
	if typ == EndGroupType {
		return 0, 0, -1
	}
	return int32(v >> 3), typ, n
}

// SkipField returns the length of the value of a field the message does not
// know (or knows with another wire type), or ErrDecode if it is malformed.
// A group is skipped whole, its end checked against its start.
func SkipField(num int32, typ Type, b []byte) (int, error) {
	n := skip(int64(num), typ, b, RecursionLimit)
	if n < 0 {
		return 0, ErrDecode
	}
	return n, nil
}

func skip(num int64, typ Type, b []byte, depth int) int {
	switch typ {
	case VarintType:
		_, n := ConsumeVarint(b)
		return n
	case Fixed32Type:
		_, n := ConsumeFixed32(b)
		return n
	case Fixed64Type:
		_, n := ConsumeFixed64(b)
		return n
	case BytesType:
		_, n := ConsumeBytes(b)
		return n
	case StartGroupType:
		if depth < 0 {
			return -1
		}
		total := 0
		for {
			// Inside a group protobuf-go accepts any positive field
			// number that fits an int32, not just valid ones.
			v, n := ConsumeVarint(b)
			if n < 0 || v>>3 < 1 || v>>3 > 1<<31-1 {
				return -1
			}
			b, total = b[n:], total+n
			if Type(v&7) == EndGroupType {
				if int64(v>>3) != num {
					return -1
				}
				return total
			}
			m := skip(int64(v>>3), Type(v&7), b, depth-1)
			if m < 0 {
				return -1
			}
			b, total = b[m:], total+m
		}
	}
	return -1 // an end group with no start, or wire type 6 or 7
}
