package core

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/service/provider/software"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

var (
	alice = auth.Application{Name: "alice", AuthType: wire.AuthDirect}
	bob   = auth.Application{Name: "bob", AuthType: wire.AuthDirect}
	admin = auth.Application{Name: "root", AuthType: wire.AuthDirect, Admin: true}
)

// fixture is a core provider over two real software providers that share
// one on-disk key info manager, so the per-provider filtering matters.
type fixture struct {
	core *Provider
	a, b provider.Provider
	kim  kim.Manager
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := kim.OpenOnDisk(filepath.Join(dir, "kim"), log)
	if err != nil {
		t.Fatal(err)
	}
	open := func(name string) provider.Provider {
		p, err := software.New(provider.Deps{Name: name, KIM: m, Log: log, Decode: func(v any) error {
			v.(*software.Config).StorePath = filepath.Join(dir, name)
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	a, b := open("first"), open("second")
	au, err := auth.NewSet([]auth.Spec{{AuthType: "Direct", Admins: map[string]bool{"root": true}}}, log)
	if err != nil {
		t.Fatal(err)
	}
	c := New([3]uint32{1, 2, 3}, []Backend{{Provider: a, KIM: m}, {Provider: b, KIM: m}}, au, log)
	return fixture{core: c, a: a, b: b, kim: m}
}

func run[T protomsg.Message](t *testing.T, p provider.Provider, app auth.Application, op wire.Opcode, req protomsg.Message) T {
	t.Helper()
	res, err := provider.Run(context.Background(), p, app, op, req)
	if err != nil {
		t.Fatalf("%v: %v", op, err)
	}
	return res.(T)
}

func generate(t *testing.T, p provider.Provider, app auth.Application, name string) {
	t.Helper()
	a, err := psa.AttributesToProto(psa.Attributes{Type: psa.KeyTypeAES, Bits: 128, Usage: psa.UsageEncrypt, Alg: psa.AlgCTR})
	if err != nil {
		t.Fatal(err)
	}
	run[*pb.GenerateKeyResult](t, p, app, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: name, Attributes: a})
}

func TestTableAndLookup(t *testing.T) {
	f := newFixture(t)
	want := []wire.Opcode{wire.OpPing, wire.OpListProviders, wire.OpListOpcodes, wire.OpListAuthenticators, wire.OpListKeys}
	if got := f.core.Opcodes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("core advertises %v, want %v", got, want)
	}
	for op := wire.Opcode(0); op < 0x100; op++ {
		if f.core.Accepts(op) != op.IsCore() {
			t.Errorf("core accepts %v: %v", op, f.core.Accepts(op))
		}
	}
	if p, ok := f.core.Lookup(wire.ProviderCore); !ok || p != provider.Provider(f.core) {
		t.Errorf("Lookup(core) = %v, %v", p, ok)
	}
	// As in Parsec, the later provider of a kind takes the id.
	if p, ok := f.core.Lookup(wire.ProviderMbedCrypto); !ok || p != f.b {
		t.Errorf("Lookup(1) = %v, %v; want the second provider", p, ok)
	}
	if _, ok := f.core.Lookup(wire.ProviderTpm); ok {
		t.Error("Lookup(TPM) found a provider that is not configured")
	}
}

func TestListProvidersAndOpcodes(t *testing.T) {
	f := newFixture(t)
	lp := run[*pb.ListProvidersResult](t, f.core, alice, wire.OpListProviders, &pb.ListProvidersRequest{})
	if len(lp.Providers) != 3 || lp.Providers[2].Id != 0 || lp.Providers[2].VersionMaj != 1 || lp.Providers[2].VersionRev != 3 {
		t.Fatalf("providers %+v: want the two in config order, core last with the service version", lp.Providers)
	}
	cases := []struct {
		id     uint32
		status wire.Status
		n      int
	}{
		{0, wire.StatusSuccess, 5},
		{1, wire.StatusSuccess, 16},
		{3, wire.StatusProviderNotRegistered, 0},
		{9, wire.StatusProviderDoesNotExist, 0},
		{256, wire.StatusProviderDoesNotExist, 0},
	}
	for _, c := range cases {
		res, err := provider.Run(context.Background(), f.core, alice, wire.OpListOpcodes, &pb.ListOpcodesRequest{ProviderId: c.id})
		if got := wire.StatusOf(err, wire.StatusSuccess); got != c.status {
			t.Errorf("ListOpcodes(%d): status %v, want %v", c.id, got, c.status)
			continue
		}
		if err == nil && len(res.(*pb.ListOpcodesResult).Opcodes) != c.n {
			t.Errorf("ListOpcodes(%d): %d opcodes, want %d", c.id, len(res.(*pb.ListOpcodesResult).Opcodes), c.n)
		}
	}
	la := run[*pb.ListAuthenticatorsResult](t, f.core, alice, wire.OpListAuthenticators, &pb.ListAuthenticatorsRequest{})
	if len(la.Authenticators) != 1 || la.Authenticators[0].Id != uint32(wire.AuthDirect) {
		t.Errorf("authenticators %+v", la.Authenticators)
	}
	ping := run[*pb.PingResult](t, f.core, auth.Application{}, wire.OpPing, &pb.PingRequest{})
	if ping.WireProtocolVersionMaj != uint32(wire.VersionMajor) {
		t.Errorf("ping %+v", ping)
	}
}

func names(keys []*pb.KeyInfo) string {
	var s []string
	for _, k := range keys {
		s = append(s, fmt.Sprintf("%s@%d", k.Name, k.ProviderId))
	}
	return fmt.Sprint(s)
}

func TestKeysAndClients(t *testing.T) {
	f := newFixture(t)
	generate(t, f.a, alice, "a1")
	generate(t, f.b, alice, "b1")
	generate(t, f.b, bob, "b2")
	// A mapping of a provider that is not configured any more is not
	// listed: entries are matched to providers by configured name.
	if err := f.kim.Insert(kim.OwnerOf(alice), "gone", kim.Entry{Provider: wire.ProviderTpm, ProviderName: "old-tpm", KeyID: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	lk := run[*pb.ListKeysResult](t, f.core, alice, wire.OpListKeys, &pb.ListKeysRequest{})
	if got := names(lk.Keys); got != "[a1@1 b1@1]" {
		t.Errorf("alice's keys: %s", got)
	}
	lc := run[*pb.ListClientsResult](t, f.core, admin, wire.OpListClients, &pb.ListClientsRequest{})
	if fmt.Sprint(lc.Clients) != "[alice bob]" {
		t.Errorf("clients %v", lc.Clients)
	}
	// DeleteClient destroys through each provider; the foreign mapping
	// stays, since no configured provider owns it.
	run[*pb.DeleteClientResult](t, f.core, admin, wire.OpDeleteClient, &pb.DeleteClientRequest{Client: "alice"})
	lk = run[*pb.ListKeysResult](t, f.core, alice, wire.OpListKeys, &pb.ListKeysRequest{})
	if len(lk.Keys) != 0 {
		t.Errorf("alice still has %s", names(lk.Keys))
	}
	if _, err := f.kim.Get(kim.OwnerOf(alice), "gone"); err != nil {
		t.Errorf("the other provider's mapping went: %v", err)
	}
	lk = run[*pb.ListKeysResult](t, f.core, bob, wire.OpListKeys, &pb.ListKeysRequest{})
	if got := names(lk.Keys); got != "[b2@1]" {
		t.Errorf("bob's keys after deleting alice: %s", got)
	}
}
