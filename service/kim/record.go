package kim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
)

// Log format, version 2 (little-endian):
//
//	header:  magic "PGOKIMLG" | version u32 | 4 zero bytes
//	record:  payload length u32 | CRC-32C of payload u32 | payload
//	payload: kind u8 (1 put, 2 remove) | auth type u8 | app | name
//	         and, for put: provider id u8 | provider name | key id |
//	         key type u16 | bits u32 | usage u32 | algorithm u32
//
// where app, name, provider name and key id are a uvarint length and the
// bytes. A put sets a mapping (insert or replace), a remove deletes it;
// replay applies them in order.
var logMagic = []byte("PGOKIMLG")

const (
	logVersion    = 2
	logHeaderSize = 16
	recHeaderSize = 8
	// maxRecord is far above any valid record (names are bounded); a
	// larger length field is damage.
	maxRecord = 1 << 20

	recPut    = 1
	recRemove = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func appendHeader(b []byte) []byte {
	b = append(b, logMagic...)
	b = binary.LittleEndian.AppendUint32(b, logVersion)
	return append(b, 0, 0, 0, 0)
}

func appendBytes(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendRecord frames the payload that fill appends after b's record
// header.
func appendRecord(b []byte, fill func([]byte) []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, recHeaderSize)...)
	b = fill(b)
	payload := b[start+recHeaderSize:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(payload, castagnoli))
	return b
}

func appendPut(b []byte, o Owner, name string, e Entry) []byte {
	return appendRecord(b, func(b []byte) []byte {
		b = append(b, recPut, byte(o.AuthType))
		b = appendBytes(b, o.App)
		b = appendBytes(b, name)
		b = append(b, byte(e.Provider))
		b = appendBytes(b, e.ProviderName)
		b = appendBytes(b, string(e.KeyID))
		b = binary.LittleEndian.AppendUint16(b, uint16(e.Attributes.Type))
		b = binary.LittleEndian.AppendUint32(b, e.Attributes.Bits)
		b = binary.LittleEndian.AppendUint32(b, uint32(e.Attributes.Usage))
		return binary.LittleEndian.AppendUint32(b, uint32(e.Attributes.Alg))
	})
}

func appendRemove(b []byte, o Owner, name string) []byte {
	return appendRecord(b, func(b []byte) []byte {
		b = append(b, recRemove, byte(o.AuthType))
		b = appendBytes(b, o.App)
		return appendBytes(b, name)
	})
}

var errShort = errors.New("record shorter than its fields")

// dec reads a payload front to back; the first error sticks.
type dec struct {
	b   []byte
	err error
}

func (d *dec) take(n uint64) []byte {
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) bytes() []byte {
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.err = errShort
		return nil
	}
	d.b = d.b[k:]
	return d.take(n)
}

func (d *dec) u8() byte {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *dec) u16() uint16 {
	if v := d.take(2); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}

func (d *dec) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

// replay checks the header and calls apply for every whole record in b,
// returning the offset after the last one and the number of records. A
// record whose length runs past the end, whose checksum fails or whose
// payload does not decode ends the replay there: appends are the only
// writes, so that is a torn tail (or damage, which the caller reports).
func replay(b []byte, apply func(kind opKind, o Owner, name string, e Entry)) (int64, int, error) {
	if len(b) < logHeaderSize || !bytes.Equal(b[:len(logMagic)], logMagic) {
		return 0, 0, errors.New("not a parsec-go key info log")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != logVersion {
		return 0, 0, fmt.Errorf("log version %d is not supported (this build reads version %d)", v, logVersion)
	}
	off := logHeaderSize
	records := 0
	for len(b)-off >= recHeaderSize {
		n := int(binary.LittleEndian.Uint32(b[off:]))
		sum := binary.LittleEndian.Uint32(b[off+4:])
		if n == 0 || n > maxRecord || n > len(b)-off-recHeaderSize {
			break
		}
		payload := b[off+recHeaderSize : off+recHeaderSize+n]
		if crc32.Checksum(payload, castagnoli) != sum {
			break
		}
		d := dec{b: payload}
		kind := d.u8()
		o := Owner{AuthType: wire.AuthType(d.u8())}
		o.App = string(d.bytes())
		name := string(d.bytes())
		var e Entry
		switch kind {
		case recPut:
			e.Provider = wire.ProviderID(d.u8())
			e.ProviderName = string(d.bytes())
			e.KeyID = bytes.Clone(d.bytes())
			e.Attributes = psa.Attributes{
				Type: psa.KeyType(d.u16()), Bits: d.u32(),
				Usage: psa.Usage(d.u32()), Alg: psa.Algorithm(d.u32()),
			}
		case recRemove:
		default:
			d.err = fmt.Errorf("unknown record kind %d", kind)
		}
		if d.err != nil {
			break
		}
		if kind == recPut {
			apply(opInsert, o, name, e)
		} else {
			apply(opRemove, o, name, e)
		}
		off += recHeaderSize + n
		records++
	}
	return int64(off), records, nil
}
