package packedc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Vectors written from the protocol description: fixed fields are u32
// little-endian, records are tag u16 big-endian, length u16 big-endian,
// value.
func TestEncodeVectors(t *testing.T) {
	cases := []struct {
		name  string
		fixed []uint32
		recs  []Record
		want  string
	}{
		{"fixed only", []uint32{1, 0x06000609}, nil, "01000000 09060006"},
		{"one record", []uint32{5}, []Record{{1, []byte{0xaa, 0xbb}}}, "05000000 0001 0002 aabb"},
		{"two records", nil, []Record{{1, []byte("abc")}, {2, nil}}, "0001 0003 616263 0002 0000"},
		{"empty", nil, nil, ""},
		{"big tag", []uint32{0xffffffff}, []Record{{0x1234, []byte{1}}}, "ffffffff 1234 0001 01"},
	}
	for _, c := range cases {
		got, err := Encode(c.fixed, c.recs...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if want := unhex(t, c.want); !bytes.Equal(got, want) {
			t.Errorf("%s: got %x want %x", c.name, got, want)
		}
		m, err := Decode(got, len(c.fixed))
		if err != nil {
			t.Fatalf("%s: decode: %v", c.name, err)
		}
		for i, f := range c.fixed {
			if m.Fixed[i] != f {
				t.Errorf("%s: fixed[%d] = %#x", c.name, i, m.Fixed[i])
			}
		}
		if len(m.Records) != len(c.recs) {
			t.Fatalf("%s: %d records", c.name, len(m.Records))
		}
		for i, r := range c.recs {
			if m.Records[i].Tag != r.Tag || !bytes.Equal(m.Records[i].Value, r.Value) {
				t.Errorf("%s: record %d = %+v", c.name, i, m.Records[i])
			}
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	if _, err := Encode(nil, Record{2, nil}, Record{1, nil}); err == nil {
		t.Error("descending tags accepted")
	}
	if _, err := Encode(nil, Record{1, make([]byte, MaxValue+1)}); err == nil {
		t.Error("65536-byte value accepted")
	}
	if _, err := Encode(nil, Record{1, make([]byte, MaxValue)}); err != nil {
		t.Errorf("65535-byte value rejected: %v", err)
	}
}

func TestDecodeStrictVsLenient(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		nFixed  int
		strict  bool // strict decode succeeds
		lenient bool // lenient decode succeeds
		recs    int  // records the lenient decode finds
	}{
		{"short fixed", "010000", 1, false, false, 0},
		{"truncated record", "01000000 0001 0005 aabb", 1, false, true, 0},
		{"trailing byte", "0001 0001 aa ff", 0, false, true, 1},
		{"descending", "0002 0000 0001 0000", 0, false, true, 2},
		{"header cut", "0001 00", 0, false, true, 0},
		{"ok", "0001 0000", 0, true, true, 1},
	}
	for _, c := range cases {
		b := unhex(t, c.in)
		_, err := Decode(b, c.nFixed)
		if (err == nil) != c.strict {
			t.Errorf("%s: strict err = %v", c.name, err)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v is not ErrMalformed", c.name, err)
		}
		m, err := DecodeLenient(b, c.nFixed)
		if (err == nil) != c.lenient {
			t.Errorf("%s: lenient err = %v", c.name, err)
		}
		if err == nil && len(m.Records) != c.recs {
			t.Errorf("%s: lenient found %d records", c.name, len(m.Records))
		}
	}
}

func TestGetNeed(t *testing.T) {
	m, err := Decode(unhex(t, "0001 0001 aa 0003 0001 bb"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := m.Get(3); !ok || v[0] != 0xbb {
		t.Errorf("Get(3) = %x %v", v, ok)
	}
	if _, err := m.Need(2); !errors.Is(err, ErrMalformed) {
		t.Errorf("Need(2) = %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0xaa, 0xbb}, 0)
	f.Add([]byte{1, 0, 0, 0, 0, 1, 0xff, 0xff}, 1)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		n = n & 7
		m, err := Decode(b, n)
		if err == nil {
			// A strict decode re-encodes to the same bytes.
			out, err := Encode(m.Fixed, m.Records...)
			if err != nil || !bytes.Equal(out, b) {
				t.Fatalf("re-encode %x -> %x, %v", b, out, err)
			}
		}
		DecodeLenient(b, n)
	})
}
