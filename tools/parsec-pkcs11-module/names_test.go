//go:build cgo

package main

import (
	"bytes"
	"testing"

	"github.com/parsec-go/parsec/psa"
)

func TestKeyNames(t *testing.T) {
	derived := func(name string) []byte { _, id := splitName(name); return id }
	for _, tc := range []struct {
		label string
		id    []byte
		name  string
	}{
		{"k", []byte{1}, "k#id=01"},
		{"k", nil, "k"},
		{"k", derived("k"), "k"},
		{"a#id=zz", []byte{0xab, 0xcd}, "a#id=zz#id=abcd"},
	} {
		name := joinName(tc.label, tc.id)
		if name != tc.name {
			t.Errorf("joinName(%q, %x) = %q, want %q", tc.label, tc.id, name, tc.name)
		}
		label, id := splitName(name)
		want := tc.id
		if want == nil {
			want = derived(tc.label)
		}
		if label != tc.label || !bytes.Equal(id, want) {
			t.Errorf("splitName(%q) = %q, %x; want %q, %x", name, label, id, tc.label, want)
		}
	}
	// Names that only look like the convention keep the derived id.
	for _, name := range []string{"x#id=", "x#id=0", "x#id=AB", "x#id=zz"} {
		if label, id := splitName(name); label != name || len(id) != idLen {
			t.Errorf("splitName(%q) = %q, %x; want the name and a derived id", name, label, id)
		}
	}
}

func TestGenPolicy(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  genRequest
		alg  psa.Algorithm
	}{
		{"P-256", genRequest{bits: 256}, psa.ECDSA(psa.AlgSHA256)},
		{"P-384", genRequest{bits: 384}, psa.ECDSA(psa.AlgAnyHash)},
		{"P-521", genRequest{bits: 521}, psa.ECDSA(psa.AlgAnyHash)},
		{"P-256 any hash", genRequest{bits: 256, allowed: []ckMech{ckmECDSASHA384}}, psa.ECDSA(psa.AlgAnyHash)},
		{"RSA default", genRequest{rsa: true, bits: 2048}, psa.RSAPKCS1v15Sign(psa.AlgAnyHash)},
		{"RSA PSS", genRequest{rsa: true, bits: 2048, allowed: []ckMech{ckmRSAPSS}}, psa.RSAPSS(psa.AlgAnyHash)},
		{"RSA decrypt", genRequest{rsa: true, bits: 2048, decrypt: true}, psa.AlgRSAPKCS1v15Crypt},
		{"RSA OAEP", genRequest{rsa: true, bits: 2048, decrypt: true, allowed: []ckMech{ckmRSAOAEP}}, psa.RSAOAEP(psa.AlgSHA256)},
		{"RSA sign and decrypt", genRequest{rsa: true, bits: 2048, decrypt: true, sign: true, signSet: true}, psa.RSAPKCS1v15Sign(psa.AlgAnyHash)},
	} {
		if got := tc.req.attributes().Alg; got != tc.alg {
			t.Errorf("%s: policy %v, want %v", tc.name, got, tc.alg)
		}
		if a := tc.req.attributes(); a.Usage&psa.UsageExport != 0 {
			t.Errorf("%s: exportable without CKA_EXTRACTABLE", tc.name)
		}
	}
}

func TestCurveBits(t *testing.T) {
	for der, want := range map[string]uint32{
		"\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07": 256,
		"\x06\x05\x2b\x81\x04\x00\x22":             384,
		"\x06\x05\x2b\x81\x04\x00\x23":             521,
	} {
		if got, ok := curveBits([]byte(der)); !ok || got != want {
			t.Errorf("curveBits(%x) = %d, %v; want %d", der, got, ok, want)
		}
	}
	for _, bad := range []string{"", "\x06", "\x13\x0aprime256v1", "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x00"} {
		if _, ok := curveBits([]byte(bad)); ok {
			t.Errorf("curveBits(%x) accepted", bad)
		}
	}
}
