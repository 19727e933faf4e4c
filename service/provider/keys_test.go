package provider

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
)

var (
	alice = auth.Application{Name: "alice", AuthType: wire.AuthDirect}
	bob   = auth.Application{Name: "bob", AuthType: wire.AuthDirect}
)

func TestKeys(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := kim.OpenOnDisk(t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	mine := NewKeys(m, wire.ProviderMbedCrypto, "mine", log)
	other := NewKeys(m, wire.ProviderTrustedService, "other", log)
	a := psa.Attributes{Type: psa.KeyTypeAES, Bits: 128}
	if err := mine.Insert(alice, "k", []byte{1}, a, nil); err != nil {
		t.Fatal(err)
	}
	e, err := mine.Get(alice, "k")
	if err != nil || e.Provider != wire.ProviderMbedCrypto || e.ProviderName != "mine" {
		t.Fatalf("Get: %+v, %v", e, err)
	}
	// Another provider sees no such key, and cannot take the name.
	if _, err := other.Get(alice, "k"); wire.StatusOf(err, 0) != wire.StatusPsaErrorDoesNotExist {
		t.Errorf("other.Get: %v", err)
	}
	if err := other.Free(alice, "k"); wire.StatusOf(err, 0) != wire.StatusPsaErrorAlreadyExists {
		t.Errorf("other.Free: %v", err)
	}
	if err := other.Free(bob, "k"); err != nil {
		t.Errorf("bob's namespace: %v", err)
	}
	// A failed insert runs undo; a successful one does not.
	undone := 0
	undo := func() error { undone++; return errors.New("undo fails too") }
	if err := other.Insert(alice, "k", []byte{2}, a, undo); wire.StatusOf(err, 0) != wire.StatusPsaErrorAlreadyExists || undone != 1 {
		t.Errorf("insert on a taken name: %v, undo ran %d times", err, undone)
	}
	if err := other.Insert(bob, "k", []byte{2}, a, undo); err != nil || undone != 1 {
		t.Errorf("insert: %v, undo ran %d times", err, undone)
	}
	for _, c := range []struct {
		k    Keys
		o    kim.Owner
		want int
	}{{mine, kim.OwnerOf(alice), 1}, {mine, kim.OwnerOf(bob), 0}, {other, kim.OwnerOf(bob), 1}, {other, kim.OwnerOf(alice), 0}} {
		l, err := c.k.List(c.o)
		if err != nil || len(l) != c.want {
			t.Errorf("%s lists %d keys of %v (%v), want %d", c.k.name, len(l), c.o, err, c.want)
		}
	}
	all, err := mine.All()
	if err != nil || len(all) != 1 {
		t.Errorf("All: %d, %v", len(all), err)
	}
	if err := mine.Remove(alice, "k"); err != nil {
		t.Fatal(err)
	}
	if err := other.Free(alice, "k"); err != nil {
		t.Errorf("name not free after Remove: %v", err)
	}
}

func TestKeyID32(t *testing.T) {
	f := KeyID32{Min: 1, Max: 0x3fffffff}
	if got := f.Encode(0x01020304); string(got) != "\x04\x03\x02\x01" {
		t.Errorf("Encode: % x, want Rust's little-endian u32", got)
	}
	for _, c := range []struct {
		b  []byte
		id uint32
		ok bool
	}{
		{[]byte{4, 3, 2, 1}, 0x01020304, true},
		{[]byte{0, 0, 0, 0}, 0, false},             // below Min
		{[]byte{0, 0, 0, 0x40}, 0x40000000, false}, // above Max
		{[]byte{1, 0, 0}, 0, false},
		{[]byte("PGTK1234"), 0, false},
	} {
		id, ok := f.Decode(c.b)
		if ok != c.ok || (ok && id != c.id) {
			t.Errorf("Decode(% x) = %#x, %v", c.b, id, ok)
		}
	}
}
