package takeover

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
)

const fixtures = "testdata/rust-1.4.1"

// fixtureKey is one line of keys.tsv.
type fixtureKey struct {
	uid      string
	provider wire.ProviderID
	kind     string
	name     string
}

func readKeysTSV(t *testing.T, dir string) []fixtureKey {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "keys.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []fixtureKey
	s := bufio.NewScanner(f)
	for s.Scan() {
		p := strings.Split(s.Text(), "\t")
		if len(p) != 4 {
			t.Fatalf("keys.tsv line %q", s.Text())
		}
		id, _ := strconv.Atoi(p[1])
		keys = append(keys, fixtureKey{p[0], wire.ProviderID(id), p[2], p[3]})
	}
	return keys
}

// PemFile (for the external tests) and pemFile are where make-rust-fixtures.sh put a key's PEM: bytes other
// than A-Za-z0-9.- become '_' (tr works on bytes).
var PemFile = pemFile

func pemFile(dir, name string) string {
	out := []byte(name)
	for i, c := range out {
		if !(c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			out[i] = '_'
		}
	}
	return filepath.Join(dir, "pem", string(out)+".pem")
}

// wantAttributes is what parsec-tool 0.7.0 asks for, per kind.
func wantAttributes(kind string) psa.Attributes {
	switch kind {
	case "ecc":
		return psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256,
			Usage: psa.UsageSignHash | psa.UsageVerifyHash | psa.UsageSignMessage | psa.UsageVerifyMessage,
			Alg:   psa.ECDSA(psa.AlgSHA256)}
	case "rsa-sign":
		return psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048,
			Usage: psa.UsageSignHash | psa.UsageVerifyHash | psa.UsageSignMessage | psa.UsageVerifyMessage,
			Alg:   psa.RSAPKCS1v15Sign(psa.AlgSHA256)}
	default:
		return psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048,
			Usage: psa.UsageEncrypt | psa.UsageDecrypt, Alg: psa.AlgRSAPKCS1v15Crypt}
	}
}

func TestDecodeAttributesSeenBytes(t *testing.T) {
	// The row rust-state.md decoded by hand.
	good, _ := hex.DecodeString(strings.ReplaceAll("01000000 0a000000 01000000 0001000000000000 00 00 00 00 00 01 01 01 01 00 05000000 03000000 00000000 06000000", " ", ""))
	a, err := DecodeAttributes(good)
	if err != nil {
		t.Fatal(err)
	}
	if a != wantAttributes("ecc") {
		t.Fatalf("got %+v", a)
	}
	bad := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "bytes needed"},
		{"volatile", append([]byte{0, 0, 0, 0}, good[4:]...), "Volatile"},
		{"custom lifetime", append([]byte{2, 0, 0, 0, 5, 0, 0, 0}, good[4:]...), "Custom"},
		{"unknown type", append(append(append([]byte{}, good[:4]...), 14, 0, 0, 0), good[8:]...), "key type variant 14"},
		{"bad bool", func() []byte { c := append([]byte{}, good...); c[24] = 2; return c }(), "bool byte"},
		{"trailing", append(append([]byte{}, good...), 0), "trailing"},
		{"truncated", good[:len(good)-1], "bytes needed"},
		{"unknown algorithm", append(append([]byte{}, good[:30]...), 9, 0, 0, 0), "algorithm variant 9"},
	}
	for _, c := range bad {
		if _, err := DecodeAttributes(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

func TestReadOnDiskFixture(t *testing.T) {
	dir := filepath.Join(fixtures, "ondisk")
	recs, err := ReadOnDisk(filepath.Join(dir, "mappings"), wire.AuthUnixPeerCredentials)
	if err != nil {
		t.Fatal(err)
	}
	keys := readKeysTSV(t, dir)
	byName := map[string]Record{}
	internal := 0
	for _, r := range recs {
		if r.Err != nil {
			t.Errorf("%v: %v", r, r.Err)
			continue
		}
		if r.Owner == kim.InternalOwner {
			internal++
			if r.Name != "RootKeyTPM" || r.Provider != wire.ProviderTpm || len(r.KeyID) != 8+34 {
				t.Errorf("internal record %+v", r)
			}
			continue
		}
		byName[r.Owner.App+"/"+r.Name] = r
	}
	if internal != 1 || len(byName) != len(keys) {
		t.Fatalf("%d internal, %d client records; want 1 and %d", internal, len(byName), len(keys))
	}
	for _, k := range keys {
		r, ok := byName[k.uid+"/"+k.name]
		if !ok {
			t.Errorf("missing %s/%s", k.uid, k.name)
			continue
		}
		if r.Owner.AuthType != wire.AuthUnixPeerCredentials || r.Provider != k.provider {
			t.Errorf("%s: owner %+v provider %v", k.name, r.Owner, r.Provider)
		}
		if r.Attributes != wantAttributes(k.kind) {
			t.Errorf("%s: attributes %+v", k.name, r.Attributes)
		}
		switch k.provider {
		case wire.ProviderMbedCrypto:
			if len(r.KeyID) != 4 {
				t.Errorf("%s: key id %x", k.name, r.KeyID)
			}
		case wire.ProviderTpm:
			if len(r.KeyID) < 24 || strings.Trim(string(r.KeyID[:24]), "\x00") != "" {
				t.Errorf("%s: TPM key id does not start with 24 zero bytes", k.name)
			}
		}
	}
}

func TestReadOnDiskDamaged(t *testing.T) {
	root := t.TempDir()
	mk := func(rel string, data []byte) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	good, err := os.ReadFile(filepath.Join(fixtures, "ondisk/mappings/MA==/1/bWJlZC1lY2MtMA=="))
	if err != nil {
		t.Fatal(err)
	}
	mk("MA==/1/bWJlZC1lY2MtMA==", good)
	mk("MA==/1/dHJ1bmM=", good[:20])             // "trunc": cut short
	mk("MA==/1/bm90IGI2NA", good)                // not padded base64
	mk("MA==/9/a2V5", good)                      // provider 9 does not exist
	mk("parsec/eHl6Zm9v", good)                  // "xyzfoo": unknown provider prefix
	mk("3/MA==/a2V5", []byte("parsec-go's own")) // parsec-go's layout: skipped
	recs, err := ReadOnDisk(root, wire.AuthUnixPeerCredentials)
	if err != nil {
		t.Fatal(err)
	}
	var ok, failed int
	for _, r := range recs {
		if r.Err == nil {
			ok++
		} else {
			failed++
		}
	}
	if ok != 1 || failed != 4 {
		for _, r := range recs {
			t.Logf("%v: %v", r, r.Err)
		}
		t.Fatalf("%d good, %d failed; want 1 and 4", ok, failed)
	}
	if _, err := ReadOnDisk(filepath.Join(root, "missing"), wire.AuthUnixPeerCredentials); err == nil {
		t.Fatal("a missing root is not an error")
	}
}

func TestReadITSFixture(t *testing.T) {
	for _, m := range []string{"sqlite", "ondisk"} {
		dir := filepath.Join(fixtures, m)
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range ents {
			id, ok := ParseITSName(e.Name())
			if !ok {
				continue
			}
			n++
			k, err := ReadITSKey(dir, id)
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			if k.ID != id || k.Alg2 != 0 || k.Lifetime != 1 {
				t.Errorf("%s: %+v", e.Name(), k)
			}
			switch {
			case k.Attributes.Type == psa.ECCKeyPair(psa.EccSecpR1):
				if len(k.Material) != 32 {
					t.Errorf("%s: scalar of %d bytes", e.Name(), len(k.Material))
				}
			case k.Attributes.Type == psa.KeyTypeRSAKeyPair:
				if _, err := x509.ParsePKCS1PrivateKey(k.Material); err != nil {
					t.Errorf("%s: %v", e.Name(), err)
				}
			default:
				t.Errorf("%s: type %v", e.Name(), k.Attributes.Type)
			}
		}
		if n != 7 {
			t.Errorf("%s: %d key files, want 7", m, n)
		}
	}
}

// TestITSMatchesExportedPEM ties the three sources together: the key id in
// the OnDisk record names the ITS file whose private scalar gives the
// public key Rust exported.
func TestITSMatchesExportedPEM(t *testing.T) {
	dir := filepath.Join(fixtures, "ondisk")
	recs, err := ReadOnDisk(filepath.Join(dir, "mappings"), wire.AuthUnixPeerCredentials)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range recs {
		if r.Provider != wire.ProviderMbedCrypto || r.Attributes.Type != psa.ECCKeyPair(psa.EccSecpR1) {
			continue
		}
		id := uint32(r.KeyID[0]) | uint32(r.KeyID[1])<<8 | uint32(r.KeyID[2])<<16 | uint32(r.KeyID[3])<<24
		k, err := ReadITSKey(dir, id)
		if err != nil {
			t.Fatal(err)
		}
		if k.Attributes != r.Attributes {
			t.Errorf("%v: ITS attributes %+v, mapping %+v", r, k.Attributes, r.Attributes)
		}
		pb, err := os.ReadFile(pemFile(dir, r.Name))
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(pb)
		pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		x, y := elliptic.P256().ScalarBaseMult(k.Material)
		want := pub.(*ecdsa.PublicKey)
		if x.Cmp(want.X) != 0 || y.Cmp(want.Y) != 0 || new(big.Int).SetBytes(k.Material).Sign() == 0 {
			t.Errorf("%v: scalar does not give the exported public key", r)
		}
		checked++
	}
	if checked != 3 {
		t.Fatalf("checked %d ECC keys, want 3", checked)
	}
}

func TestParseITSDamaged(t *testing.T) {
	good, err := os.ReadFile(ITSPath(filepath.Join(fixtures, "sqlite"), 2))
	if err != nil {
		t.Fatal(err)
	}
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "no PSA ITS header"},
		{"bad magic", mut(func(b []byte) []byte { b[0] = 'X'; return b }), "no PSA ITS header"},
		{"truncated", good[:len(good)-1], "header says"},
		{"extra byte", append(append([]byte{}, good...), 0), "header says"},
		{"bad key magic", mut(func(b []byte) []byte { b[16] = 'X'; return b }), "not a PSA persistent key"},
		{"version 1", mut(func(b []byte) []byte { b[24] = 1; return b }), "version 1"},
		{"volatile", mut(func(b []byte) []byte { b[28] = 0; return b }), "lifetime"},
		{"bad length", mut(func(b []byte) []byte { b[48]++; return b }), "key data length"},
	}
	for _, c := range cases {
		if _, err := ParseITSKey(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	for _, n := range []string{"0000000000000002.psa_its", "00000000ffffffff.psa_its"} {
		if _, ok := ParseITSName(n); !ok {
			t.Errorf("%s not recognised", n)
		}
	}
	for _, n := range []string{"0000000100000002.psa_its", "tempfile.psa_its", "0000000000000000.psa_its", "2.psa_its"} {
		if _, ok := ParseITSName(n); ok {
			t.Errorf("%s recognised", n)
		}
	}
}
