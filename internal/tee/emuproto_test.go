package tee

import (
	"bytes"
	"io"
	"testing"
)

func TestFrameRoundTripAndResync(t *testing.T) {
	f1 := &Frame{Seq: 7, Type: MsgIoctl, Ctx: 3, Code: IocInvoke, Errno: 22, Diag: -6, Arg: []byte{1, 2, 3}, Data: []byte("data")}
	f2 := &Frame{Seq: 8, Type: MsgHello | MsgResponse, Arg: HelloArg(HelloMemfd)}
	b1, err := f1.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := f2.Marshal()
	// Header layout: magic "TSEM", body length, seq, type, flags, crc.
	if !bytes.Equal(b1[:4], []byte("TSEM")) || le.Uint32(b1[4:]) != uint32(20+3+4) || le.Uint32(b1[8:]) != 7 || le.Uint16(b1[12:]) != MsgIoctl {
		t.Errorf("header % x", b1[:20])
	}
	// Garbage, a frame with a flipped bit (bad CRC), a truncated header,
	// then two good frames.
	bad := append([]byte(nil), b1...)
	bad[len(bad)-1] ^= 1
	stream := append([]byte("junk TSEM\x00\x00"), bad...)
	stream = append(stream, b1...)
	stream = append(stream, b2...)
	fr := NewFrameReader(bytes.NewReader(stream))
	got1, err := fr.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got1.Seq != 7 || got1.Errno != 22 || got1.Diag != -6 || !bytes.Equal(got1.Arg, f1.Arg) || !bytes.Equal(got1.Data, f1.Data) {
		t.Errorf("frame 1: %+v", got1)
	}
	got2, err := fr.Read()
	if err != nil || got2.Seq != 8 || got2.Type != MsgHello|MsgResponse {
		t.Errorf("frame 2: %+v %v", got2, err)
	}
	if fr.Skipped != int64(11+len(bad)) {
		t.Errorf("skipped %d bytes, want %d", fr.Skipped, 11+len(bad))
	}
	if _, err := fr.Read(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
	if _, err := (&Frame{Data: make([]byte, maxFrameBody)}).Marshal(); err == nil {
		t.Error("an oversized frame was encoded")
	}
}

func FuzzFrameReader(f *testing.F) {
	good, _ := (&Frame{Seq: 1, Type: MsgOpen, Arg: []byte{1}}).Marshal()
	f.Add(good)
	f.Add([]byte("TSEM\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr := NewFrameReader(bytes.NewReader(b))
		for i := 0; i < 100; i++ {
			fm, err := fr.Read()
			if err != nil {
				return
			}
			// Whatever decodes re-encodes to a frame that decodes the same.
			out, err := fm.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			again, err := NewFrameReader(bytes.NewReader(out)).Read()
			if err != nil || again.Seq != fm.Seq || !bytes.Equal(again.Arg, fm.Arg) || !bytes.Equal(again.Data, fm.Data) {
				t.Fatalf("re-decode: %v", err)
			}
		}
	})
}
