package wire

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Header framing constants.
const (
	Magic uint32 = 0x5EC0A710
	// HeaderSize is the whole fixed header on the wire, magic and size included.
	HeaderSize = 36
	// hdrSizeValue is what the hdr_size field holds: the bytes after it.
	hdrSizeValue = 30

	VersionMajor uint8 = 1
	VersionMinor uint8 = 0

	// ContentProtobuf is the only body encoding Parsec defines.
	ContentProtobuf uint8 = 0
)

// Header is the fixed request/response header. Requests and responses share
// the layout; fields a direction does not use are zero.
type Header struct {
	Flags       uint16
	Provider    ProviderID
	Session     uint64
	ContentType uint8
	AcceptType  uint8
	AuthType    AuthType
	BodyLen     uint32
	AuthLen     uint16
	Opcode      Opcode
	Status      Status
}

// Marshal appends the 36 header bytes to b.
func (h *Header) Marshal(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, Magic)
	b = binary.LittleEndian.AppendUint16(b, hdrSizeValue)
	b = append(b, VersionMajor, VersionMinor)
	b = binary.LittleEndian.AppendUint16(b, h.Flags)
	b = append(b, byte(h.Provider))
	b = binary.LittleEndian.AppendUint64(b, h.Session)
	b = append(b, h.ContentType, h.AcceptType, byte(h.AuthType))
	b = binary.LittleEndian.AppendUint32(b, h.BodyLen)
	b = binary.LittleEndian.AppendUint16(b, h.AuthLen)
	b = binary.LittleEndian.AppendUint32(b, uint32(h.Opcode))
	b = binary.LittleEndian.AppendUint16(b, uint16(h.Status))
	return append(b, 0, 0)
}

// ParseHeader decodes a complete 36-byte header. It checks framing only
// (magic, size, version, reserved bytes), in the order the Rust service does,
// and returns the matching status: enumerated fields are checked by
// Header.Validate so that a caller can reproduce Parsec's error precedence.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderSize {
		return h, Errorf(StatusInvalidHeader, "header is %d bytes, want %d", len(b), HeaderSize)
	}
	if m := binary.LittleEndian.Uint32(b[0:]); m != Magic {
		return h, Errorf(StatusInvalidHeader, "bad magic %#08x", m)
	}
	if s := binary.LittleEndian.Uint16(b[4:]); s != hdrSizeValue {
		return h, Errorf(StatusInvalidHeader, "header size field is %d, want %d", s, hdrSizeValue)
	}
	if b[6] != VersionMajor || b[7] != VersionMinor {
		return h, Errorf(StatusWireProtocolVersionNotSupported, "wire protocol %d.%d not supported", b[6], b[7])
	}
	if b[34] != 0 || b[35] != 0 {
		return h, Errorf(StatusInvalidHeader, "reserved header bytes are not zero")
	}
	h.Flags = binary.LittleEndian.Uint16(b[8:])
	h.Provider = ProviderID(b[10])
	h.Session = binary.LittleEndian.Uint64(b[11:])
	h.ContentType = b[19]
	h.AcceptType = b[20]
	h.AuthType = AuthType(b[21])
	h.BodyLen = binary.LittleEndian.Uint32(b[22:])
	h.AuthLen = binary.LittleEndian.Uint16(b[26:])
	h.Opcode = Opcode(binary.LittleEndian.Uint32(b[28:]))
	h.Status = Status(binary.LittleEndian.Uint16(b[32:]))
	return h, nil
}

// Validate checks the enumerated request fields in the Rust service's order:
// content type, accept type, auth type, opcode, provider.
func (h *Header) Validate() error {
	switch {
	case h.ContentType != ContentProtobuf:
		return Errorf(StatusContentTypeNotSupported, "content type %d not supported", h.ContentType)
	case h.AcceptType != ContentProtobuf:
		return Errorf(StatusAcceptTypeNotSupported, "accept type %d not supported", h.AcceptType)
	case !h.AuthType.Valid():
		return Errorf(StatusAuthenticatorDoesNotExist, "auth type %d does not exist", h.AuthType)
	case !h.Opcode.Valid():
		return Errorf(StatusOpcodeDoesNotExist, "opcode %#x does not exist", uint32(h.Opcode))
	case !h.Provider.Valid():
		return Errorf(StatusProviderDoesNotExist, "provider %d does not exist", h.Provider)
	}
	return nil
}

// ReadHeader reads and parses one header from r the way the Rust service
// does: it rejects a bad magic after four bytes and reads exactly hdr_size
// further bytes (up to 64 KiB) before rejecting a wrong size, so that a
// misbehaving client sees the same status codes from both services.
func ReadHeader(r io.Reader) (Header, error) {
	var buf [HeaderSize]byte
	if _, err := io.ReadFull(r, buf[:4]); err != nil {
		return Header{}, connErr(err)
	}
	if m := binary.LittleEndian.Uint32(buf[0:]); m != Magic {
		return Header{}, Errorf(StatusInvalidHeader, "bad magic %#08x", m)
	}
	if _, err := io.ReadFull(r, buf[4:6]); err != nil {
		return Header{}, connErr(err)
	}
	size := binary.LittleEndian.Uint16(buf[4:])
	if size != hdrSizeValue {
		if _, err := io.CopyN(io.Discard, r, int64(size)); err != nil {
			return Header{}, connErr(err)
		}
		return Header{}, Errorf(StatusInvalidHeader, "header size field is %d, want %d", size, hdrSizeValue)
	}
	if _, err := io.ReadFull(r, buf[6:]); err != nil {
		return Header{}, connErr(err)
	}
	return ParseHeader(buf[:])
}

func connErr(err error) error {
	return &Error{Status: StatusConnectionError, Msg: fmt.Sprintf("reading header: %v", err)}
}
