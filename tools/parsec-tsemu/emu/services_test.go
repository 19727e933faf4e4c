package emu_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parsec-go/parsec/internal/tee"
	"github.com/parsec-go/parsec/internal/ts"
	pc "github.com/parsec-go/parsec/internal/ts/packedc"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/tools/parsec-tsemu/emu"
)

func TestSecureStorage(t *testing.T) {
	_, path := startWorld(t, emu.Options{StateDir: t.TempDir(), Limits: emu.StorageLimits{MaxObjectSize: 1024, MaxObjects: 3}})
	ctx := ctxT(t)
	c := dial(t, path)
	for _, svc := range []ts.Service{ts.ServiceITS, ts.ServicePS} {
		s := ts.NewStorage(caller(t, c, svc))
		if err := s.Set(ctx, 1, []byte("hello world"), 0); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, 1, 6, 100)
		if err != nil || string(got) != "world" {
			t.Errorf("%s get: %q %v", svc.Name, got, err)
		}
		info, err := s.GetInfo(ctx, 1)
		if err != nil || info.Size != 11 || info.Capacity != 11 {
			t.Errorf("%s info %+v %v", svc.Name, info, err)
		}
		_, err = s.Get(ctx, 1, 12, 1)
		mustPSA(t, err, ts.PSAErrorInvalidArgument)
		_, err = s.Get(ctx, 2, 0, 1)
		mustPSA(t, err, ts.PSAErrorDoesNotExist)
		mustPSA(t, s.Set(ctx, 0, nil, 0), ts.PSAErrorInvalidArgument)
		mustPSA(t, s.Set(ctx, 3, make([]byte, 1025), 0), ts.PSAErrorInsufficientStorage)
		mustPSA(t, s.Set(ctx, 3, nil, 1<<7), ts.PSAErrorNotSupported)

		if err := s.Set(ctx, 5, []byte("once"), pc.StorageFlagWriteOnce); err != nil {
			t.Fatal(err)
		}
		mustPSA(t, s.Set(ctx, 5, []byte("twice"), 0), ts.PSAErrorNotPermitted)
		mustPSA(t, s.Remove(ctx, 5), ts.PSAErrorNotPermitted)

		if err := s.Create(ctx, 7, 8, 0); err != nil {
			t.Fatal(err)
		}
		mustPSA(t, s.Create(ctx, 7, 8, 0), ts.PSAErrorAlreadyExists)
		if err := s.SetExtended(ctx, 7, 0, []byte("abcd")); err != nil {
			t.Fatal(err)
		}
		if err := s.SetExtended(ctx, 7, 4, []byte("efgh")); err != nil {
			t.Fatal(err)
		}
		mustPSA(t, s.SetExtended(ctx, 7, 6, []byte("xyz")), ts.PSAErrorInvalidArgument)
		if got, _ := s.Get(ctx, 7, 0, 8); string(got) != "abcdefgh" {
			t.Errorf("%s extended object %q", svc.Name, got)
		}
		// Three objects of this owner exist: the limit is reached.
		mustPSA(t, s.Set(ctx, 9, []byte("x"), 0), ts.PSAErrorInsufficientStorage)
		if sup, err := s.Support(ctx); err != nil || sup&pc.StorageSupportSetExtended == 0 {
			t.Errorf("support %#x %v", sup, err)
		}
		if err := s.Remove(ctx, 1); err != nil {
			t.Fatal(err)
		}
		mustPSA(t, s.Remove(ctx, 1), ts.PSAErrorDoesNotExist)
		s.Remove(ctx, 7)
		// The write-once object stays; the next service is a separate store.
		if err := s.Set(ctx, 9, []byte("fits now"), 0); err != nil {
			t.Errorf("%s after removals: %v", svc.Name, err)
		}
	}
}

// A small CBOR reader for the token's subset.
type cborReader struct {
	b   []byte
	err error
}

func (r *cborReader) head() (byte, uint64) {
	if r.err != nil || len(r.b) == 0 {
		r.err = errors.New("cbor: short")
		return 0, 0
	}
	ib := r.b[0]
	r.b = r.b[1:]
	major, ai := ib>>5, ib&31
	n := uint64(ai)
	size := map[byte]int{24: 1, 25: 2, 26: 4, 27: 8}[ai]
	if ai >= 24 {
		if size == 0 || len(r.b) < size {
			r.err = errors.New("cbor: bad head")
			return 0, 0
		}
		n = 0
		for _, c := range r.b[:size] {
			n = n<<8 | uint64(c)
		}
		r.b = r.b[size:]
	}
	return major, n
}

func (r *cborReader) value() any {
	major, n := r.head()
	if r.err != nil {
		return nil
	}
	switch major {
	case 0:
		return int64(n)
	case 1:
		return -1 - int64(n)
	case 2, 3:
		if uint64(len(r.b)) < n {
			r.err = errors.New("cbor: short string")
			return nil
		}
		v := r.b[:n]
		r.b = r.b[n:]
		if major == 3 {
			return string(v)
		}
		return append([]byte(nil), v...)
	case 4:
		a := make([]any, n)
		for i := range a {
			a[i] = r.value()
		}
		return a
	case 5:
		m := map[int64]any{}
		for i := uint64(0); i < n; i++ {
			k, _ := r.value().(int64)
			m[k] = r.value()
		}
		return m
	case 6:
		return [2]any{int64(n), r.value()}
	}
	r.err = fmt.Errorf("cbor: major type %d", major)
	return nil
}

func TestAttestationToken(t *testing.T) {
	_, path := startWorld(t, emu.Options{})
	ctx := ctxT(t)
	a := ts.NewAttestation(caller(t, dial(t, path), ts.ServiceAttestation))
	if ok, err := a.IAKExists(ctx); err != nil || ok {
		t.Errorf("IAK before first use: %v %v", ok, err)
	}
	pub, err := a.ExportIAKPublicKey(ctx)
	if err != nil || len(pub) != 65 {
		t.Fatalf("IAK public key %x %v", pub, err)
	}
	x, y := elliptic.Unmarshal(elliptic.P256(), pub)
	iak := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	for _, n := range []int{32, 48, 64} {
		ch := bytes.Repeat([]byte{byte(n)}, n)
		tok, err := a.GetToken(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		size, err := a.GetTokenSize(ctx, uint32(n))
		if err != nil || int(size) != len(tok) {
			t.Errorf("token size %d for a %d-byte token: %v", size, len(tok), err)
		}
		r := &cborReader{b: tok}
		v := r.value()
		if r.err != nil || len(r.b) != 0 {
			t.Fatalf("token does not decode: %v", r.err)
		}
		tagged, ok := v.([2]any)
		if !ok || tagged[0] != int64(18) {
			t.Fatalf("not a COSE_Sign1 (tag 18): %#v", v)
		}
		arr := tagged[1].([]any)
		protected, payload, sig := arr[0].([]byte), arr[2].([]byte), arr[3].([]byte)
		pr := &cborReader{b: protected}
		if hdr, _ := pr.value().(map[int64]any); hdr[1] != int64(-7) {
			t.Errorf("protected header %#v, want alg ES256", hdr)
		}
		// Sig_structure = ["Signature1", protected, h'', payload]
		sigStruct := []byte{0x84, 0x6a}
		sigStruct = append(sigStruct, "Signature1"...)
		sigStruct = append(sigStruct, cborBstr(protected)...)
		sigStruct = append(sigStruct, 0x40)
		sigStruct = append(sigStruct, cborBstr(payload)...)
		digest := sha256.Sum256(sigStruct)
		if len(sig) != 64 || !ecdsa.Verify(iak, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			t.Errorf("token signature does not verify with the IAK")
		}
		cr := &cborReader{b: payload}
		claims, _ := cr.value().(map[int64]any)
		if !bytes.Equal(claims[-75008].([]byte), ch) {
			t.Errorf("challenge claim %x", claims[-75008])
		}
		inst := sha256.Sum256(pub)
		if !bytes.Equal(claims[-75009].([]byte), append([]byte{1}, inst[:]...)) {
			t.Errorf("instance id claim %x", claims[-75009])
		}
		if claims[-75000] != "PSA_IOT_PROFILE_1" || claims[-75002] != int64(0x3000) {
			t.Errorf("profile/lifecycle claims %v %v", claims[-75000], claims[-75002])
		}
	}
	for _, n := range []int{0, 31, 65} {
		_, err := a.GetToken(ctx, make([]byte, n))
		mustPSA(t, err, ts.PSAErrorInvalidArgument)
	}
	if ok, _ := a.IAKExists(ctx); !ok {
		t.Error("IAK should exist after use")
	}
	mustPSA(t, a.ImportIAK(ctx, make([]byte, 32)), ts.PSAErrorNotPermitted)
}

func cborBstr(b []byte) []byte {
	var h []byte
	switch {
	case len(b) < 24:
		h = []byte{0x40 | byte(len(b))}
	case len(b) < 256:
		h = []byte{0x58, byte(len(b))}
	default:
		h = binary.BigEndian.AppendUint16([]byte{0x59}, uint16(len(b)))
	}
	return append(h, b...)
}

// Faults of the secure side reach the client as clear errors, never a
// hang or a crash.
func TestFaults(t *testing.T) {
	faults := []emu.Fault{}
	for _, s := range []string{"crypto/0x010c:garbage", "crypto/0x0106:badlen", "crypto/0x0105:rpc=-6", "crypto/0x0102:psa=-146*1", "crypto/0x0108:hang"} {
		f, err := emu.ParseFault(s)
		if err != nil {
			t.Fatal(err)
		}
		faults = append(faults, f)
	}
	_, path := startWorld(t, emu.Options{Faults: faults})
	ctx := context.Background()
	c := dial(t, path)
	cl, err := ts.Dial(ctx, tee.EmuOpener{Conn: c}, ts.ServiceCrypto, 0, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cr := ts.NewCrypto(cl)
	if _, err := cr.GenerateKey(ctx, eccAttrs(1, psa.UsageSignHash|psa.UsageExport, psa.ECDSA(psa.AlgSHA256))); err != nil {
		t.Fatal(err)
	}
	_, err = cr.GenerateRandom(ctx, 8)
	if !errors.Is(err, ts.ErrMalformed) {
		t.Errorf("garbage: %v", err)
	}
	_, err = cr.ExportPublicKey(ctx, 1)
	if !errors.Is(err, ts.ErrMalformed) {
		t.Errorf("response longer than the buffer: %v", err)
	}
	_, err = cr.ExportKey(ctx, 1)
	if !errors.Is(err, syscall.EINVAL) {
		t.Errorf("RPC error: %v", err)
	}
	mustPSA(t, cr.DestroyKey(ctx, 1), ts.PSAErrorStorageFailure)
	if err := cr.DestroyKey(ctx, 1); err != nil {
		t.Errorf("the fault was limited to one call: %v", err)
	}
	start := time.Now()
	_, err = cr.SignHash(ctx, 1, psa.ECDSA(psa.AlgSHA256), make([]byte, 32))
	if !errors.Is(err, tee.ErrTimeout) || time.Since(start) > 10*time.Second {
		t.Errorf("hang: %v after %v", err, time.Since(start))
	}
	if cl.Broken() == nil {
		t.Error("caller not marked broken after a timeout")
	}
	if _, err := cr.GenerateRandom(ctx, 4); !errors.Is(err, tee.ErrBroken) || !strings.Contains(err.Error(), "did not answer") {
		t.Errorf("call on a broken caller: %v", err)
	}
}
