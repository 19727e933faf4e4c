package tpm

import (
	"bytes"
	"testing"

	"github.com/parsec-go/parsec/service/config"
)

// TestConfigDecode reads a Parsec config with the service's own loader:
// the provider's keys decode into Config, and none is reported unknown.
func TestConfigDecode(t *testing.T) {
	doc := `
[core_settings]
allow_root = true
[listener]
listener_type = "DomainSocket"
timeout = 200
[authenticator]
auth_type = "UnixPeerCredentials"
[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "/tmp/m"
[[provider]]
name = "tpm-provider"
provider_type = "Tpm"
key_info_manager = "on-disk-manager"
tcti = "swtpm:host=127.0.0.1,port=2321"
owner_hierarchy_auth = "hex:74706d5f70617373"
endorsement_hierarchy_auth = "str:endorsement_pass"
skip_if_no_tpm = true
max_loaded_objects = 5
`
	c, warns, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Fatalf("warnings: %v", warns)
	}
	var cfg Config
	w, err := c.Providers[0].Decode(&cfg)
	if err != nil || len(w) != 0 {
		t.Fatalf("decode: %v %v", w, err)
	}
	if cfg.Tcti != "swtpm:host=127.0.0.1,port=2321" || !cfg.SkipIfNoTpm || cfg.MaxLoadedObjects != 5 ||
		cfg.OwnerHierarchyAuth == nil || cfg.EndorsementHierarchyAuth == nil {
		t.Fatalf("decoded %+v", cfg)
	}
	owner, err := parseAuth("owner_hierarchy_auth", cfg.OwnerHierarchyAuth)
	if err != nil || !bytes.Equal(owner, []byte("tpm_pass")) {
		t.Fatalf("owner auth %q, %v", owner, err)
	}
	endorsement, err := parseAuth("endorsement_hierarchy_auth", cfg.EndorsementHierarchyAuth)
	if err != nil || string(endorsement) != "endorsement_pass" {
		t.Fatalf("endorsement auth %q, %v", endorsement, err)
	}
}

func TestParseAuth(t *testing.T) {
	s := func(v string) *string { return &v }
	cases := []struct {
		in   *string
		want string
		err  bool
	}{
		{nil, "", false},
		{s(""), "", false},
		{s("password"), "password", false},
		{s("str:password"), "password", false},
		{s("str:"), "", false},
		{s("str:hex:00"), "hex:00", false},
		{s("hex:70617373"), "pass", false},
		{s("hex:"), "", false},
		{s("hex:7"), "", true},
		{s("hex:zz"), "", true},
	}
	for _, c := range cases {
		got, err := parseAuth("k", c.in)
		if (err != nil) != c.err || string(got) != c.want {
			t.Fatalf("%v: got %q, %v", c.in, got, err)
		}
	}
}

func TestKeyBlobRoundTrip(t *testing.T) {
	pub := []byte{0, 0x23, 0, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0x10, 0, 3, 0, 0x10, 0, 0, 0, 0}
	b := &keyBlob{kind: kindPair, auth: []byte("auth"), public: pub, private: []byte("priv"), parent: []byte("parent")}
	got, err := decodeBlob(b.encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.kind != b.kind || !bytes.Equal(got.auth, b.auth) || !bytes.Equal(got.public, b.public) ||
		!bytes.Equal(got.private, b.private) || !bytes.Equal(got.parent, b.parent) || got.pub == nil {
		t.Fatalf("round trip: %+v", got)
	}
	if got.cacheID() != b.cacheID() {
		t.Fatal("cache id changed in the round trip")
	}
	other := *b
	other.auth = []byte("other")
	if other.cacheID() == b.cacheID() {
		t.Fatal("different blobs share a cache id")
	}
	enc := b.encode()
	for _, bad := range [][]byte{nil, []byte("PGTK"), enc[:len(enc)-1], append(append([]byte(nil), enc...), 0),
		append([]byte("PGTK\x02"), enc[5:]...), append([]byte("PGTK\x01\x09"), enc[6:]...)} {
		if _, err := decodeBlob(bad); err == nil {
			t.Fatalf("%x decoded", bad)
		}
	}
}

func FuzzDecodeBlob(f *testing.F) {
	pub := []byte{0, 0x23, 0, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0x10, 0, 3, 0, 0x10, 0, 0, 0, 0}
	f.Add((&keyBlob{kind: kindPair, auth: []byte("a"), public: pub, private: []byte("p")}).encode())
	f.Add((&keyBlob{kind: kindPublic, public: pub}).encode())
	f.Add([]byte("PGTK\x01\x01\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBlob(data)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes and can be
		// exported or rejected without panicking.
		if !bytes.Equal(b.encode(), data) {
			t.Fatalf("%x re-encodes to %x", data, b.encode())
		}
		_, _ = exportPublic(b.pub)
	})
}
