package tpm

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
)

// rustID builds a PasswordContext the way Rust's bincode writes it.
func rustID(auth []byte, ecc bool, pub [][]byte, private []byte) []byte {
	k := &rustKeyID{auth: auth, ecc: ecc, private: private}
	if ecc {
		k.x, k.y = pub[0], pub[1]
	} else {
		k.modulus = pub[0]
	}
	return k.encode()
}

func filled(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// legacyID is a LegacyPasswordContext: a real TpmsContext and the auth.
func legacyID() []byte {
	var out []byte
	out = binary.LittleEndian.AppendUint64(out, 7)          // sequence
	out = binary.LittleEndian.AppendUint32(out, 0x80000001) // saved handle
	out = binary.LittleEndian.AppendUint32(out, 0x40000001) // owner hierarchy
	out = binary.LittleEndian.AppendUint64(out, 3)
	out = append(out, 1, 2, 3)
	out = binary.LittleEndian.AppendUint64(out, 32)
	return append(out, filled(32, 0xaa)...)
}

func TestDecodeRustKeyID(t *testing.T) {
	good := rustID(filled(32, 1), true, [][]byte{filled(32, 2), filled(32, 3)}, filled(126, 4))
	if len(good) != 282 {
		t.Fatalf("an ECC P-256 key id is %d bytes, Rust writes 282", len(good))
	}
	rsaGood := rustID(filled(32, 1), false, [][]byte{filled(256, 0x80)}, filled(222, 4))
	if len(rsaGood) != 562 {
		t.Fatalf("an RSA-2048 key id is %d bytes, Rust writes 562", len(rsaGood))
	}
	cut := func(b []byte, n int) []byte { return append([]byte(nil), b[:len(b)-n]...) }
	set := func(b []byte, off int, v ...byte) []byte {
		c := append([]byte(nil), b...)
		copy(c[off:], v)
		return c
	}
	tests := []struct {
		name string
		id   []byte
		want string // "" = decodes; "legacy" = errRustLegacy; else part of the message
	}{
		{"ecc", good, ""},
		{"rsa", rsaGood, ""},
		{"public only", rustID(nil, false, [][]byte{filled(256, 0x80)}, nil), ""},
		{"empty", nil, "context.sequence"},
		{"zeros only", make([]byte, 24), "auth_value length"},
		{"truncated private", cut(good, 1), "key_material.private"},
		{"truncated public", good[:24+40+4+20], "ECC x"},
		{"trailing byte", append(append([]byte(nil), good...), 0), "1 trailing bytes"},
		{"unknown variant", set(good, 24+40, 2), "unknown public key variant 2"},
		{"huge auth length", set(good, 24, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), "auth_value: length"},
		{"auth too long", rustID(filled(65, 1), true, [][]byte{{1}, {2}}, []byte{1}), "exceeds 64"},
		{"modulus too long", rustID(nil, false, [][]byte{filled(513, 1)}, nil), "exceeds 512"},
		{"empty modulus", rustID(nil, false, [][]byte{nil}, nil), "empty public key"},
		{"empty y", rustID(nil, true, [][]byte{{1}, nil}, nil), "empty public key"},
		{"context set with material", set(good, 0, 1), "legacy context field is not empty"},
		{"legacy", legacyID(), "legacy"},
		{"our blob", []byte("PGTK\x01\x01"), "context.sequence"}, // not Rust: decodeKeyID never sends it here
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := decodeRustKeyID(tc.id)
			switch {
			case tc.want == "":
				if err != nil {
					t.Fatal(err)
				}
				if got := k.encode(); !bytes.Equal(got, tc.id) {
					t.Fatalf("re-encoding differs:\n got %x\nwant %x", got, tc.id)
				}
			case tc.want == "legacy":
				if !errors.Is(err, errRustLegacy) {
					t.Fatalf("err = %v, want the legacy form", err)
				}
			default:
				if err == nil || !errors.Is(err, errBadBlob) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want errBadBlob mentioning %q", err, tc.want)
				}
			}
		})
	}
}

func FuzzDecodeRustKeyID(f *testing.F) {
	f.Add(rustID(filled(32, 1), true, [][]byte{filled(32, 2), filled(32, 3)}, filled(126, 4)))
	f.Add(rustID(filled(32, 1), false, [][]byte{filled(256, 0x80)}, filled(222, 4)))
	f.Add(legacyID())
	f.Add(make([]byte, 40))
	f.Fuzz(func(t *testing.T, id []byte) {
		k, err := decodeRustKeyID(id)
		if err != nil {
			if !errors.Is(err, errBadBlob) && !errors.Is(err, errRustLegacy) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if got := k.encode(); !bytes.Equal(got, id) {
			t.Fatalf("decode/encode is not the identity:\n got %x\nwant %x", got, id)
		}
		// The rebuild must not panic on whatever decoded, for any key kind.
		for _, a := range []psa.Attributes{eccP256Sign, rsa2048Sign, rsa2048Crypt} {
			_, _ = rustBlob(kim.Entry{KeyID: id, Attributes: a})
		}
	})
}

// TestRustPublic checks the rebuilt public areas byte by byte against the
// rules of tss-esapi 7.5.0's get_public_from_params (rust-state.md §5).
func TestRustPublic(t *testing.T) {
	x, y, n := filled(32, 0x11), filled(32, 0x22), filled(256, 0x99)
	ecc := &rustKeyID{ecc: true, x: x, y: y}
	rsaK := &rustKeyID{modulus: n}
	h := hex.EncodeToString
	tests := []struct {
		name string
		a    psa.Attributes
		k    *rustKeyID
		// want: the marshalled TPMT_PUBLIC in hex, up to the unique field
		want string
		err  wire.Status
	}{
		{"ecdsa p256 sha256", eccP256Sign, ecc,
			"0023" + "000b" + "00040072" + "0000" + "0010" + "0018000b" + "0003" + "0010" + "0020" + h(x) + "0020" + h(y), 0},
		{"ecdsa p384 sha384", psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 384, Usage: psa.UsageSignHash, Alg: psa.ECDSA(psa.AlgSHA384)},
			&rustKeyID{ecc: true, x: filled(48, 1), y: filled(48, 2)},
			"0023000b000400720000" + "0010" + "0018000c" + "0004" + "0010" + "0030" + h(filled(48, 1)) + "0030" + h(filled(48, 2)), 0},
		{"rsa pkcs1 sha256", rsa2048Sign, rsaK,
			"0001" + "000b" + "00040072" + "0000" + "0010" + "0014000b" + "0800" + "00000000" + "0100" + h(n), 0},
		{"rsa pss sha512", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: psa.UsageSignHash, Alg: psa.RSAPSS(psa.AlgSHA512)}, rsaK,
			"0001000b000400720000" + "0010" + "0016000d" + "0800" + "00000000" + "0100" + h(n), 0},
		{"rsa pkcs1 crypt", rsa2048Crypt, rsaK,
			"0001000b" + "00060072" + "0000" + "0010" + "0010" + "0800" + "00000000" + "0100" + h(n), 0},
		{"rsa oaep sha256", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: psa.UsageDecrypt, Alg: psa.RSAOAEP(psa.AlgSHA256)}, rsaK,
			"0001000b" + "00060072" + "0000" + "0010" + "0010" + "0800" + "00000000" + "0100" + h(n), 0},
		{"rsa public key", psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Bits: 2048, Usage: psa.UsageVerifyHash, Alg: psa.RSAPKCS1v15Sign(psa.AlgSHA256)}, rsaK,
			"0001000b000400720000" + "0010" + "0014000b" + "0800" + "00000000" + "0100" + h(n), 0},
		{"ecdsa any hash", psa.Attributes{Type: eccP256Sign.Type, Bits: 256, Alg: psa.ECDSA(psa.AlgAnyHash)}, ecc, "", wire.StatusPsaErrorNotSupported},
		{"ecdsa any", psa.Attributes{Type: eccP256Sign.Type, Bits: 256, Alg: psa.AlgECDSAAny}, ecc, "", wire.StatusPsaErrorNotSupported},
		{"deterministic ecdsa", psa.Attributes{Type: eccP256Sign.Type, Bits: 256, Alg: psa.DeterministicECDSA(psa.AlgSHA256)}, ecc, "", wire.StatusPsaErrorNotSupported},
		{"ecc without alg", psa.Attributes{Type: eccP256Sign.Type, Bits: 256}, ecc, "", wire.StatusPsaErrorInvalidArgument},
		{"brainpool", psa.Attributes{Type: psa.ECCKeyPair(psa.EccBrainpoolPR1), Bits: 256, Alg: psa.ECDSA(psa.AlgSHA256)}, ecc, "", wire.StatusPsaErrorNotSupported},
		{"ecdsa md5", psa.Attributes{Type: eccP256Sign.Type, Bits: 256, Alg: psa.ECDSA(psa.AlgMD5)}, ecc, "", wire.StatusPsaErrorNotSupported},
		{"rsa raw", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Alg: psa.AlgRSAPKCS1v15SignRaw}, rsaK, "", wire.StatusPsaErrorNotSupported},
		{"rsa any hash", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Alg: psa.RSAPKCS1v15Sign(psa.AlgAnyHash)}, rsaK, "", wire.StatusPsaErrorNotSupported},
		{"rsa ecdsa", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Alg: psa.ECDSA(psa.AlgSHA256)}, rsaK, "", wire.StatusPsaErrorInvalidArgument},
		{"rsa odd size", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2040, Alg: rsa2048Sign.Alg}, &rustKeyID{modulus: filled(255, 0x99)}, "", wire.StatusPsaErrorInvalidArgument},
		{"rsa size mismatch", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 3072, Alg: rsa2048Sign.Alg}, rsaK, "", wire.StatusPsaErrorDataCorrupt},
		{"rsa key, ecc point", rsa2048Sign, ecc, "", wire.StatusPsaErrorDataCorrupt},
		{"ecc key, rsa modulus", eccP256Sign, rsaK, "", wire.StatusPsaErrorDataCorrupt},
		{"point too large", eccP256Sign, &rustKeyID{ecc: true, x: filled(33, 1), y: y}, "", wire.StatusPsaErrorDataCorrupt},
		{"aes key", psa.Attributes{Type: psa.KeyTypeAES, Bits: 128}, rsaK, "", wire.StatusPsaErrorNotSupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub, err := rustPublic(tc.a, tc.k)
			if tc.err != 0 {
				if got, _ := statusFor(err); got != tc.err || !errors.Is(err, errBadBlob) {
					t.Fatalf("status %v (err %v), want %v wrapping errBadBlob", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(tpm2.Marshal(pub)); got != tc.want {
				t.Fatalf("public area\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestRustBlob(t *testing.T) {
	pair := rustID(filled(32, 1), true, [][]byte{filled(32, 2), filled(32, 3)}, filled(126, 4))
	pubOnly := rustID(nil, true, [][]byte{filled(32, 2), filled(32, 3)}, nil)
	eccPub := psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Bits: 256, Usage: psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)}
	tests := []struct {
		name string
		e    kim.Entry
		kind keyKind
		err  wire.Status
	}{
		{"pair", kim.Entry{KeyID: pair, Attributes: eccP256Sign}, kindPair, 0},
		{"public", kim.Entry{KeyID: pubOnly, Attributes: eccPub}, kindPublic, 0},
		{"pair without private", kim.Entry{KeyID: pubOnly, Attributes: eccP256Sign}, 0, wire.StatusPsaErrorDataCorrupt},
		{"public with private", kim.Entry{KeyID: pair, Attributes: eccPub}, 0, wire.StatusPsaErrorDataCorrupt},
		{"legacy", kim.Entry{KeyID: legacyID(), Attributes: eccP256Sign}, 0, wire.StatusPsaErrorNotSupported},
		{"damaged", kim.Entry{KeyID: pair[:100], Attributes: eccP256Sign}, 0, wire.StatusPsaErrorDataCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := decodeKeyID(tc.e)
			if tc.err != 0 {
				s, _ := statusFor(err)
				if s != tc.err || !errors.Is(err, errBadBlob) {
					t.Fatalf("status %v (err %v), want %v wrapping errBadBlob", s, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.kind != tc.kind || !b.rust {
				t.Fatalf("kind %d rust %v, want kind %d rust", b.kind, b.rust, tc.kind)
			}
			ours := &keyBlob{kind: b.kind, auth: b.auth, public: b.public, private: b.private}
			if ours.cacheID() == b.cacheID() {
				t.Fatal("a Rust key and one of ours with the same parts share a cache id")
			}
		})
	}
}
