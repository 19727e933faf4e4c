package tee

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The emulator protocol carries the TEE ioctls of one or more opened
// devices over a byte stream: a Unix stream socket (where shared memory is
// a memfd passed with SCM_RIGHTS) or a plain character device such as a
// QEMU virtio-serial port (where buffer contents travel inline). Frames
// are self-delimiting and checksummed so a reader can resynchronise after
// garbage, e.g. a client that died mid-frame on a serial line.
//
// Frame (all integers little-endian):
//
//	0  magic   u32  "TSEM"
//	4  bodyLen u32
//	8  seq     u32  echoed in the response
//	12 type    u16  MsgXxx; responses have bit 15 set
//	14 flags   u16  0
//	16 crc     u32  CRC-32 (IEEE) of bytes 0..15 and the body
//	20 body:
//	   ctx u32, code u32, errno i32, diag i32, argLen u32, arg, data
//
// ctx names an opened device, code is the message's parameter (ioctl
// number, device index, shm id), errno is the result (0 = success, else a
// Linux errno), diag is a diagnostic the emulator adds for logs (the TS
// RPC status the real driver would hide), arg holds tee.h argument bytes
// and data holds buffer contents in inline mode.

// Message types.
const (
	MsgHello   uint16 = 1 // code = protocol version; arg = flags u32 (HelloMemfd); resets the stream's state
	MsgOpen    uint16 = 2 // code = device index; response ctx = the new context
	MsgClose   uint16 = 3 // ctx
	MsgIoctl   uint16 = 4 // ctx, code = ioctl number, arg = tee.h argument
	MsgShmFree uint16 = 5 // ctx, code = shm id: the unmap/close that releases it

	MsgResponse uint16 = 0x8000
)

// HelloMemfd asks for shared memory as memfds passed with SCM_RIGHTS (Unix
// sockets only); without it buffers travel inline.
const HelloMemfd uint32 = 1

// EmuProtocolVersion is the protocol version of this package.
const EmuProtocolVersion = 1

const (
	frameMagic      = 0x4d455354 // "TSEM" little-endian
	frameHeaderSize = 20
	bodyFixedSize   = 20
	// MaxEmuShm caps a shared memory on the emulator path so a frame
	// carrying a whole buffer stays bounded.
	MaxEmuShm    = 1 << 20
	maxFrameBody = MaxEmuShm + MaxArgSize + bodyFixedSize
)

// Frame is one decoded message.
type Frame struct {
	Seq   uint32
	Type  uint16
	Ctx   uint32
	Code  uint32
	Errno int32
	Diag  int32
	Arg   []byte
	Data  []byte
}

// Marshal encodes a frame.
func (f *Frame) Marshal() ([]byte, error) {
	n := bodyFixedSize + len(f.Arg) + len(f.Data)
	if n > maxFrameBody {
		return nil, fmt.Errorf("tee: frame body of %d bytes exceeds %d", n, maxFrameBody)
	}
	b := make([]byte, frameHeaderSize+n)
	le.PutUint32(b[0:], frameMagic)
	le.PutUint32(b[4:], uint32(n))
	le.PutUint32(b[8:], f.Seq)
	le.PutUint16(b[12:], f.Type)
	body := b[frameHeaderSize:]
	le.PutUint32(body[0:], f.Ctx)
	le.PutUint32(body[4:], f.Code)
	le.PutUint32(body[8:], uint32(f.Errno))
	le.PutUint32(body[12:], uint32(f.Diag))
	le.PutUint32(body[16:], uint32(len(f.Arg)))
	copy(body[bodyFixedSize:], f.Arg)
	copy(body[bodyFixedSize+len(f.Arg):], f.Data)
	le.PutUint32(b[16:], frameCRC(b[:16], body))
	return b, nil
}

func frameCRC(hdr, body []byte) uint32 {
	c := crc32.NewIEEE()
	c.Write(hdr)
	c.Write(body)
	return c.Sum32()
}

// FrameReader reads frames from a stream, skipping bytes that do not start
// a valid frame.
type FrameReader struct {
	r *bufio.Reader
	// Skipped counts bytes discarded while resynchronising.
	Skipped int64
}

// NewFrameReader wraps r.
func NewFrameReader(r io.Reader) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, frameHeaderSize+maxFrameBody)}
}

// ErrFrame reports a frame that decodes but is inconsistent.
var ErrFrame = errors.New("tee: malformed emulator frame")

// Read returns the next valid frame. Garbage before it is skipped and
// counted; I/O errors (io.EOF when the peer closed) are returned as is.
func (fr *FrameReader) Read() (*Frame, error) {
	for {
		hdr, err := fr.r.Peek(frameHeaderSize)
		if err != nil {
			return nil, err
		}
		if le.Uint32(hdr[0:]) != frameMagic {
			fr.skip()
			continue
		}
		n := int(le.Uint32(hdr[4:]))
		if n < bodyFixedSize || n > maxFrameBody {
			fr.skip()
			continue
		}
		all, err := fr.r.Peek(frameHeaderSize + n)
		if err != nil {
			return nil, err
		}
		body := all[frameHeaderSize:]
		if frameCRC(all[:16], body) != le.Uint32(all[16:]) {
			fr.skip()
			continue
		}
		f, err := parseBody(all[:frameHeaderSize], body)
		if err != nil {
			fr.skip()
			continue
		}
		fr.r.Discard(frameHeaderSize + n)
		return f, nil
	}
}

func (fr *FrameReader) skip() {
	fr.r.Discard(1)
	fr.Skipped++
}

func parseBody(hdr, body []byte) (*Frame, error) {
	argLen := le.Uint32(body[16:])
	if uint64(argLen) > uint64(len(body)-bodyFixedSize) {
		return nil, fmt.Errorf("%w: argument length %d exceeds body", ErrFrame, argLen)
	}
	f := &Frame{
		Seq:   le.Uint32(hdr[8:]),
		Type:  le.Uint16(hdr[12:]),
		Ctx:   le.Uint32(body[0:]),
		Code:  le.Uint32(body[4:]),
		Errno: int32(le.Uint32(body[8:])),
		Diag:  int32(le.Uint32(body[12:])),
	}
	rest := body[bodyFixedSize:]
	f.Arg = append([]byte(nil), rest[:argLen]...)
	f.Data = append([]byte(nil), rest[argLen:]...)
	return f, nil
}

// HelloArg encodes the HELLO argument.
func HelloArg(flags uint32) []byte { return binary.LittleEndian.AppendUint32(nil, flags) }
