package takeover

import (
	"encoding/binary"
	"fmt"
)

// bincoder reads values in bincode 1.x's legacy encoding, the one Rust
// Parsec writes: little-endian fixed-width integers, lengths and usize as
// u64, enum variants as u32, no header. The first error sticks, so a
// decoder can read a whole struct and check once.
type bincoder struct {
	b   []byte
	off int
	err error
}

// maxBlob bounds one length-prefixed field: every blob Rust Parsec writes
// is a key id or a TPM key's material, far below this.
const maxBlob = 64 << 10

func (d *bincoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("at byte %d: %s", d.off, fmt.Sprintf(format, args...))
	}
}

func (d *bincoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b)-d.off < n {
		d.fail("%d bytes needed, %d left", n, len(d.b)-d.off)
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

func (d *bincoder) u8() uint8 {
	p := d.take(1)
	if p == nil {
		return 0
	}
	return p[0]
}

func (d *bincoder) u32() uint32 {
	p := d.take(4)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(p)
}

func (d *bincoder) u64() uint64 {
	p := d.take(8)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(p)
}

func (d *bincoder) boolean() bool {
	switch v := d.u8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("bool byte is %d", v)
		return false
	}
}

// variant reads an enum's u32 variant index and checks it is below n.
func (d *bincoder) variant(what string, n uint32) uint32 {
	v := d.u32()
	if d.err == nil && v >= n {
		d.fail("%s variant %d unknown (known: 0..%d)", what, v, n-1)
	}
	return v
}

// blob reads a Vec<u8>: a u64 length, then the bytes.
func (d *bincoder) blob() []byte {
	n := d.u64()
	if d.err == nil && n > maxBlob {
		d.fail("length %d exceeds %d", n, maxBlob)
		return nil
	}
	return d.take(int(n))
}

// end reports trailing bytes, which bincode never writes.
func (d *bincoder) end() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d trailing bytes", len(d.b)-d.off)
	}
	return d.err
}
