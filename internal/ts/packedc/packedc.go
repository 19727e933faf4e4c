// Package packedc is the "packed-c" serialisation of Trusted Services
// messages: a little-endian packed C struct (for the crypto service, only
// 32-bit fields) followed by TLV records whose tag and length are 16-bit
// big-endian, in ascending tag order. Both the client (package ts) and the
// emulated secure world use it.
package packedc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Record is one TLV record.
type Record struct {
	Tag   uint16
	Value []byte
}

// MaxValue is the largest TLV value: the length field is 16 bits.
const MaxValue = 0xffff

// TLVHeader is the size of a record's tag and length.
const TLVHeader = 4

// ErrMalformed is the class of decoding errors.
var ErrMalformed = errors.New("malformed packed-c message")

// Encode builds a message from its fixed 32-bit fields and records. Records
// must be in ascending tag order (the TS encoder refuses otherwise) and no
// value may exceed MaxValue bytes.
func Encode(fixed []uint32, recs ...Record) ([]byte, error) {
	n := 4 * len(fixed)
	var prev uint16
	for i, r := range recs {
		if len(r.Value) > MaxValue {
			return nil, fmt.Errorf("packed-c: value of tag %d is %d bytes, the limit is %d", r.Tag, len(r.Value), MaxValue)
		}
		if i > 0 && r.Tag < prev {
			return nil, fmt.Errorf("packed-c: tag %d after tag %d", r.Tag, prev)
		}
		prev = r.Tag
		n += TLVHeader + len(r.Value)
	}
	b := make([]byte, 0, n)
	for _, f := range fixed {
		b = binary.LittleEndian.AppendUint32(b, f)
	}
	for _, r := range recs {
		b = binary.BigEndian.AppendUint16(b, r.Tag)
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.Value)))
		b = append(b, r.Value...)
	}
	return b, nil
}

// Message is a decoded message.
type Message struct {
	Fixed   []uint32
	Records []Record
}

// Decode splits b into nFixed 32-bit fields and records, strictly: every
// byte after the fixed part must belong to a complete record, and tags
// must ascend. This is how a client checks a response.
func Decode(b []byte, nFixed int) (Message, error) {
	if len(b) < 4*nFixed {
		return Message{}, fmt.Errorf("%w: %d bytes, the fixed part needs %d", ErrMalformed, len(b), 4*nFixed)
	}
	m := Message{Fixed: make([]uint32, nFixed)}
	for i := range m.Fixed {
		m.Fixed[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	rest := b[4*nFixed:]
	var prev uint16
	for len(rest) > 0 {
		if len(rest) < TLVHeader {
			return Message{}, fmt.Errorf("%w: %d trailing bytes are not a record", ErrMalformed, len(rest))
		}
		tag := binary.BigEndian.Uint16(rest)
		n := int(binary.BigEndian.Uint16(rest[2:]))
		if len(rest) < TLVHeader+n {
			return Message{}, fmt.Errorf("%w: record %d claims %d bytes, %d remain", ErrMalformed, tag, n, len(rest)-TLVHeader)
		}
		if len(m.Records) > 0 && tag < prev {
			return Message{}, fmt.Errorf("%w: tag %d after tag %d", ErrMalformed, tag, prev)
		}
		prev = tag
		m.Records = append(m.Records, Record{Tag: tag, Value: rest[TLVHeader : TLVHeader+n]})
		rest = rest[TLVHeader+n:]
	}
	return m, nil
}

// DecodeLenient decodes the way the TS service-side deserialisers do: the
// fixed part must be present; records are read until one is incomplete,
// and whatever follows is ignored.
func DecodeLenient(b []byte, nFixed int) (Message, error) {
	if len(b) < 4*nFixed {
		return Message{}, fmt.Errorf("%w: %d bytes, the fixed part needs %d", ErrMalformed, len(b), 4*nFixed)
	}
	m := Message{Fixed: make([]uint32, nFixed)}
	for i := range m.Fixed {
		m.Fixed[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	rest := b[4*nFixed:]
	for len(rest) >= TLVHeader {
		tag := binary.BigEndian.Uint16(rest)
		n := int(binary.BigEndian.Uint16(rest[2:]))
		if len(rest) < TLVHeader+n {
			break
		}
		m.Records = append(m.Records, Record{Tag: tag, Value: rest[TLVHeader : TLVHeader+n]})
		rest = rest[TLVHeader+n:]
	}
	return m, nil
}

// Get returns the value of the first record with tag, the way the TS
// tlv_find_decode looks records up.
func (m Message) Get(tag uint16) ([]byte, bool) {
	for _, r := range m.Records {
		if r.Tag == tag {
			return r.Value, true
		}
	}
	return nil, false
}

// Need returns the value of a record that must be present.
func (m Message) Need(tag uint16) ([]byte, error) {
	v, ok := m.Get(tag)
	if !ok {
		return nil, fmt.Errorf("%w: record %d missing", ErrMalformed, tag)
	}
	return v, nil
}

// KeyAttributesSize is the packed size of struct ts_crypto_key_attributes:
// type, key_bits, lifetime, id, policy.usage, policy.alg, all u32.
const KeyAttributesSize = 24

// KeyAttributeFields is how many fixed fields the attributes take.
const KeyAttributeFields = 6
