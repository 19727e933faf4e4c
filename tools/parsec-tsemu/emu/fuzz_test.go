package emu

import (
	"testing"

	"github.com/parsec-go/parsec/internal/ts"
	pc "github.com/parsec-go/parsec/internal/ts/packedc"
)

// Whatever a client sends, the partitions answer (an RPC error, a service
// status or a body that fits the buffer) and never panic.
func FuzzPartitions(f *testing.F) {
	w, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	attrs := ts.EncodeKeyAttributes(ts.KeyAttributes{Type: 0x2400, Bits: 128, Lifetime: 1, ID: 1, Usage: 0x300, Alg: 0x04404100})
	f.Add(uint8(0), uint8(0), pc.OpGenerateKey, attrs)
	f.Add(uint8(0), uint8(0), pc.OpCipherEncryptSetup, []byte{1, 0, 0, 0, 0, 0x41, 0x40, 0x04})
	f.Add(uint8(0), uint8(1), pc.OpGenerateRandom, []byte{8, 16})
	f.Add(uint8(1), uint8(0), pc.OpStorageSet, make([]byte, 24))
	f.Add(uint8(3), uint8(0), pc.OpAttestGetToken, []byte{0, 1, 0, 32})
	f.Fuzz(func(t *testing.T, dev, iface uint8, op uint16, body []byte) {
		devs := w.Devices()
		p := devs[int(dev)%len(devs)].Partition
		r := p.Call(iface%2, &Request{Opcode: op, Body: body, Max: 4096})
		if r.RPC == ts.RPCSuccess && r.Status == ts.PSASuccess && len(r.Body) > 4096 {
			t.Fatalf("a %d-byte answer for a 4096-byte buffer", len(r.Body))
		}
	})
}
