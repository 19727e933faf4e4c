package software

import (
	"bytes"
	"crypto/ecdh"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

func TestOpcodesAndInfo(t *testing.T) {
	e := newEnv(t)
	want := map[wire.Opcode]bool{0x02: true, 0x03: true, 0x04: true, 0x05: true, 0x06: true, 0x07: true,
		0x0a: true, 0x0b: true, 0x0c: true, 0x0d: true, 0x0f: true, 0x10: true, 0x11: true,
		0x12: true, 0x13: true, 0x20: true}
	got := e.p.Opcodes()
	if len(got) != len(want) {
		t.Errorf("advertises %d opcodes, want %d", len(got), len(want))
	}
	for _, op := range got {
		if !want[op] {
			t.Errorf("advertises %v", op)
		}
		if !op.Advertisable() {
			t.Errorf("%v must never be advertised", op)
		}
	}
	for _, op := range []wire.Opcode{wire.OpPsaCipherEncrypt, wire.OpPsaCipherDecrypt, wire.OpPsaMacCompute,
		wire.OpPsaMacVerify, wire.OpPsaSignMessage, wire.OpPsaVerifyMessage} {
		if !e.p.Accepts(op) {
			t.Errorf("does not answer %v", op)
		}
	}
	for _, op := range []wire.Opcode{wire.OpPing, wire.OpListKeys, wire.OpAttestKey, wire.OpPrepareKeyAttestation} {
		if e.p.Accepts(op) {
			t.Errorf("accepts %v", op)
		}
	}
	info := e.p.Info()
	if info.ID != wire.ProviderMbedCrypto || info.UUID != "1c1139dc-ad7c-47dc-ad6b-db6fdb466552" || info.Name != testProviderName {
		t.Errorf("info %+v", info)
	}
}

func ecc(bits uint32, usage psa.Usage, alg psa.Algorithm) psa.Attributes {
	return psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: bits, Usage: usage, Alg: alg}
}

func TestGenerateEveryType(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name    string
		a       psa.Attributes
		pubSize int // exported public key length, 0 for symmetric keys
	}{
		{"p256", ecc(256, uSign|uExport, psa.ECDSA(psa.AlgSHA256)), 65},
		{"p384", ecc(384, uSign|uExport, psa.ECDSA(psa.AlgSHA384)), 97},
		{"p521", ecc(521, uSign|uExport, psa.ECDSA(psa.AlgSHA512)), 133},
		{"x25519", psa.Attributes{Type: psa.ECCKeyPair(psa.EccMontgomery), Bits: 255, Usage: psa.UsageDerive | uExport, Alg: psa.AlgECDH}, 32},
		{"rsa1024", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 1024, Usage: uSign | uExport, Alg: psa.RSAPKCS1v15Sign(psa.AlgSHA256)}, 140},
		{"rsa2048", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: uCrypt | uExport, Alg: psa.RSAOAEP(psa.AlgSHA256)}, 270},
		{"aes128", psa.Attributes{Type: psa.KeyTypeAES, Bits: 128, Usage: uCrypt | uExport, Alg: psa.AlgGCM}, 0},
		{"aes192", psa.Attributes{Type: psa.KeyTypeAES, Bits: 192, Usage: uCrypt | uExport, Alg: psa.AlgCCM}, 0},
		{"aes256", psa.Attributes{Type: psa.KeyTypeAES, Bits: 256, Usage: uCrypt | uExport, Alg: psa.AlgCTR}, 0},
		{"chacha", psa.Attributes{Type: psa.KeyTypeChaCha20, Bits: 256, Usage: uCrypt | uExport, Alg: psa.AlgChaCha20Poly1305}, 0},
		{"hmac", psa.Attributes{Type: psa.KeyTypeHMAC, Bits: 192, Usage: psa.UsageSignMessage | uExport, Alg: psa.HMAC(psa.AlgSHA256)}, 0},
		{"raw", psa.Attributes{Type: psa.KeyTypeRawData, Bits: 8, Usage: uExport, Alg: psa.AlgNone}, 0},
		{"derive", psa.Attributes{Type: psa.KeyTypeDerive, Bits: 256, Usage: psa.UsageDerive | uExport, Alg: psa.HKDF(psa.AlgSHA256)}, 0},
		{"camellia", psa.Attributes{Type: psa.KeyTypeCamellia, Bits: 128, Usage: uExport, Alg: psa.AlgCTR}, 0},
	}
	for _, c := range cases {
		e.generate(alice, c.name, c.a)
		data := e.export(alice, c.name)
		switch {
		case c.a.Type == psa.KeyTypeRSAKeyPair:
			k, err := x509.ParsePKCS1PrivateKey(data)
			if err != nil || k.N.BitLen() != int(c.a.Bits) {
				t.Errorf("%s: export is not a %d-bit PKCS#1 key: %v", c.name, c.a.Bits, err)
			}
		case c.a.Type.IsECC():
			if want := (int(c.a.Bits) + 7) / 8; len(data) != want {
				t.Errorf("%s: private key is %d bytes, want %d", c.name, len(data), want)
			}
		default:
			if len(data) != int(c.a.Bits/8) {
				t.Errorf("%s: key is %d bytes, want %d", c.name, len(data), c.a.Bits/8)
			}
		}
		if c.pubSize == 0 {
			e.expect(wire.StatusPsaErrorInvalidArgument, alice, &pb.ExportPublicKeyRequest{KeyName: c.name})
			continue
		}
		pub := e.exportPublic(alice, c.name)
		if c.a.Type == psa.KeyTypeRSAKeyPair {
			if _, err := x509.ParsePKCS1PublicKey(pub); err != nil {
				t.Errorf("%s: public key is not PKCS#1: %v", c.name, err)
			}
			continue
		}
		if len(pub) != c.pubSize {
			t.Errorf("%s: public key is %d bytes, want %d", c.name, len(pub), c.pubSize)
		}
		if c.a.Type.EccFamily() == psa.EccSecpR1 && pub[0] != 0x04 {
			t.Errorf("%s: public key is not an uncompressed point", c.name)
		}
	}
	// Two generated keys are never the same.
	e.generate(alice, "aes128b", psa.Attributes{Type: psa.KeyTypeAES, Bits: 128, Usage: uExport, Alg: psa.AlgGCM})
	if bytes.Equal(e.export(alice, "aes128"), e.export(alice, "aes128b")) {
		t.Error("two AES keys are identical")
	}
}

func TestGenerateRefusals(t *testing.T) {
	e := newEnv(t)
	rsa := func(bits uint32) psa.Attributes {
		return psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: bits, Usage: uSign, Alg: psa.RSAPSS(psa.AlgSHA256)}
	}
	cases := []struct {
		name string
		a    psa.Attributes
		want wire.Status
	}{
		{"rsa 3072 (Parsec allows 1024/2048/4096)", rsa(3072), wire.StatusPsaErrorInvalidArgument},
		{"rsa 512", rsa(512), wire.StatusPsaErrorInvalidArgument},
		{"size 0", psa.Attributes{Type: psa.KeyTypeAES, Usage: uCrypt, Alg: psa.AlgGCM}, wire.StatusPsaErrorInvalidArgument},
		{"aes 100", psa.Attributes{Type: psa.KeyTypeAES, Bits: 100, Usage: uCrypt, Alg: psa.AlgGCM}, wire.StatusPsaErrorInvalidArgument},
		{"aes 512", psa.Attributes{Type: psa.KeyTypeAES, Bits: 512, Usage: uCrypt, Alg: psa.AlgGCM}, wire.StatusPsaErrorInvalidArgument},
		{"chacha 128", psa.Attributes{Type: psa.KeyTypeChaCha20, Bits: 128, Usage: uCrypt, Alg: psa.AlgChaCha20Poly1305}, wire.StatusPsaErrorInvalidArgument},
		{"raw 12 bits", psa.Attributes{Type: psa.KeyTypeRawData, Bits: 12}, wire.StatusPsaErrorInvalidArgument},
		{"raw over PSA_MAX_KEY_BITS", psa.Attributes{Type: psa.KeyTypeRawData, Bits: 0x10000}, wire.StatusPsaErrorNotSupported},
		{"public key", psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Bits: 256, Usage: uSign, Alg: psa.ECDSA(psa.AlgSHA256)}, wire.StatusPsaErrorInvalidArgument},
		{"rsa public key", psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Bits: 2048, Usage: uSign, Alg: psa.RSAPSS(psa.AlgSHA256)}, wire.StatusPsaErrorInvalidArgument},
		{"secp_r1 255", ecc(255, uSign, psa.ECDSA(psa.AlgSHA256)), wire.StatusPsaErrorNotSupported},
		{"secp224r1", ecc(224, uSign, psa.ECDSA(psa.AlgSHA256)), wire.StatusPsaErrorNotSupported},
		{"brainpool", psa.Attributes{Type: psa.ECCKeyPair(psa.EccBrainpoolPR1), Bits: 256, Usage: uSign, Alg: psa.ECDSA(psa.AlgSHA256)}, wire.StatusPsaErrorNotSupported},
		{"x448", psa.Attributes{Type: psa.ECCKeyPair(psa.EccMontgomery), Bits: 448, Usage: psa.UsageDerive, Alg: psa.AlgECDH}, wire.StatusPsaErrorNotSupported},
		{"dh", psa.Attributes{Type: psa.DHKeyPair(psa.DhRFC7919), Bits: 2048, Usage: psa.UsageDerive, Alg: psa.AlgFFDH}, wire.StatusPsaErrorNotSupported},
		{"deprecated ECDSA-SHA1", ecc(256, uSign, psa.ECDSA(psa.AlgSHA1)), wire.StatusDeprecatedPrimitive},
		{"deprecated DES", psa.Attributes{Type: psa.KeyTypeDES, Bits: 64, Usage: uCrypt, Alg: psa.AlgCBCNoPadding}, wire.StatusDeprecatedPrimitive},
		{"deprecated HMAC-MD5", psa.Attributes{Type: psa.KeyTypeHMAC, Bits: 128, Usage: psa.UsageSignMessage, Alg: psa.HMAC(psa.AlgMD5)}, wire.StatusDeprecatedPrimitive},
	}
	for _, c := range cases {
		got := e.status(alice, &pb.GenerateKeyRequest{KeyName: "k", Attributes: attrs(t, c.a)})
		if got != c.want {
			t.Errorf("%s: status %v, want %v", c.name, got, c.want)
		}
	}
	if files := e.material(); len(files) != 0 {
		t.Errorf("refused generations left files: %v", files)
	}
	// Malformed attributes are an encoding error, as in Parsec.
	e.expect(wire.StatusInvalidEncoding, alice, &pb.GenerateKeyRequest{KeyName: "k"})
	e.expect(wire.StatusInvalidEncoding, alice, &pb.GenerateKeyRequest{KeyName: "k", Attributes: &pb.KeyAttributes{KeyType: &pb.KeyType{}}})

	// Deprecated primitives are created when the service allows them.
	e.settings.AllowDeprecated = true
	e.reopen()
	e.generate(alice, "sha1", ecc(256, uSign, psa.ECDSA(psa.AlgSHA1)))
	e.expect(wire.StatusPsaErrorNotSupported, alice, &pb.GenerateKeyRequest{KeyName: "des",
		Attributes: attrs(t, psa.Attributes{Type: psa.KeyTypeDES, Bits: 64, Usage: uCrypt, Alg: psa.AlgCBCNoPadding})})
}

func TestDuplicateNamesAndTenants(t *testing.T) {
	e := newEnv(t)
	a := ecc(256, uSign|uExport, psa.ECDSA(psa.AlgSHA256))
	e.generate(alice, "k", a)
	first := e.export(alice, "k")
	e.expect(wire.StatusPsaErrorAlreadyExists, alice, &pb.GenerateKeyRequest{KeyName: "k", Attributes: attrs(t, a)})
	e.expect(wire.StatusPsaErrorAlreadyExists, alice, &pb.ImportKeyRequest{KeyName: "k", Attributes: attrs(t, a), Data: first})
	if !bytes.Equal(e.export(alice, "k"), first) {
		t.Fatal("a refused duplicate changed the stored key")
	}
	// Bob sees none of Alice's keys and can use the same name.
	hash := make([]byte, 32)
	for _, req := range []protomsg.Message{
		&pb.ExportKeyRequest{KeyName: "k"},
		&pb.ExportPublicKeyRequest{KeyName: "k"},
		&pb.DestroyKeyRequest{KeyName: "k"},
		&pb.SignHashRequest{KeyName: "k", Alg: signAlg(t, psa.ECDSA(psa.AlgSHA256)), Hash: hash},
	} {
		e.expect(wire.StatusPsaErrorDoesNotExist, bob, req)
	}
	e.generate(bob, "k", a)
	if bytes.Equal(e.export(bob, "k"), first) {
		t.Error("bob's key is alice's")
	}
	e.must(bob, &pb.DestroyKeyRequest{KeyName: "k"})
	if !bytes.Equal(e.export(alice, "k"), first) {
		t.Error("bob's destroy touched alice's key")
	}
	// The same application under another authenticator is another owner.
	direct := alice
	direct.AuthType = wire.AuthDirect
	e.expect(wire.StatusPsaErrorDoesNotExist, direct, &pb.ExportKeyRequest{KeyName: "k"})
}

func TestImportRoundTrips(t *testing.T) {
	e := newEnv(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	odd, _ := rsa.GenerateKey(rand.Reader, 1536) // a size Parsec only accepts with bits = 0
	p384, _ := ecdh.P384().GenerateKey(rand.Reader)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	aes := bytes.Repeat([]byte{7}, 24)
	cases := []struct {
		name     string
		a        psa.Attributes
		data     []byte
		wantBits uint32
	}{
		{"rsa pair", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 2048, Usage: uSign | uExport, Alg: psa.RSAPSS(psa.AlgSHA256)}, x509.MarshalPKCS1PrivateKey(rsaKey), 2048},
		{"rsa pair bits 0", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Usage: uSign | uExport, Alg: psa.RSAPSS(psa.AlgSHA256)}, x509.MarshalPKCS1PrivateKey(odd), 1536},
		{"rsa public", psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Bits: 2048, Usage: psa.UsageVerifyHash, Alg: psa.RSAPSS(psa.AlgSHA256)}, x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey), 2048},
		{"p384 pair", psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 384, Usage: uSign | uExport, Alg: psa.ECDSA(psa.AlgSHA384)}, p384.Bytes(), 384},
		{"p384 pair bits 0", psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Usage: uSign | uExport, Alg: psa.ECDSA(psa.AlgSHA384)}, p384.Bytes(), 384},
		{"p384 public", psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Usage: psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA384)}, p384.PublicKey().Bytes(), 384},
		{"x25519 pair", psa.Attributes{Type: psa.ECCKeyPair(psa.EccMontgomery), Usage: psa.UsageDerive | uExport, Alg: psa.AlgECDH}, x.Bytes(), 255},
		{"x25519 public", psa.Attributes{Type: psa.ECCPublicKey(psa.EccMontgomery), Bits: 255, Alg: psa.AlgECDH}, x.PublicKey().Bytes(), 255},
		{"aes", psa.Attributes{Type: psa.KeyTypeAES, Usage: uCrypt | uExport, Alg: psa.AlgGCM}, aes, 192},
		{"hmac", psa.Attributes{Type: psa.KeyTypeHMAC, Bits: 80, Usage: psa.UsageSignMessage | uExport, Alg: psa.HMAC(psa.AlgSHA256)}, []byte("0123456789"), 80},
	}
	for _, c := range cases {
		e.importKey(alice, c.name, c.a, c.data)
		// Public keys export without the export flag.
		if got := e.export(alice, c.name); !bytes.Equal(got, c.data) {
			t.Errorf("%s: export differs from the import", c.name)
		}
		keys, err := e.kim.List(kimOwner(alice))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k.Name == c.name && k.Entry.Attributes.Bits != c.wantBits {
				t.Errorf("%s: recorded %d bits, want %d", c.name, k.Entry.Attributes.Bits, c.wantBits)
			}
		}
	}
	if pub := e.exportPublic(alice, "p384 pair"); !bytes.Equal(pub, p384.PublicKey().Bytes()) {
		t.Error("public key of an imported pair differs")
	}
	if pub := e.exportPublic(alice, "rsa pair"); !bytes.Equal(pub, x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)) {
		t.Error("RSA public key of an imported pair differs")
	}
}

func TestImportRefusals(t *testing.T) {
	e := newEnv(t)
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	pub := p256.PublicKey().Bytes()
	offCurve := bytes.Clone(pub)
	offCurve[len(offCurve)-1] ^= 1
	order := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	// A 4104-bit modulus (above PSA_VENDOR_RSA_MAX_KEY_BITS) and a 1023-bit
	// one (not byte aligned) as public keys.
	big4104 := new(big.Int).Lsh(big.NewInt(1), 4103)
	big4104.Add(big4104, big.NewInt(1))
	big1023 := new(big.Int).Lsh(big.NewInt(1), 1022)
	big1023.Add(big1023, big.NewInt(1))
	eccPair := psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Usage: uSign, Alg: psa.ECDSA(psa.AlgSHA256)}
	eccPub := psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Usage: psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256)}
	rsaPub := psa.Attributes{Type: psa.KeyTypeRSAPublicKey, Usage: psa.UsageVerifyHash, Alg: psa.RSAPSS(psa.AlgSHA256)}
	with := func(a psa.Attributes, bits uint32) psa.Attributes { a.Bits = bits; return a }
	cases := []struct {
		name string
		a    psa.Attributes
		data []byte
		want wire.Status
	}{
		{"empty", psa.Attributes{Type: psa.KeyTypeAES, Usage: uCrypt, Alg: psa.AlgGCM}, nil, wire.StatusPsaErrorInvalidArgument},
		{"aes 15 bytes", psa.Attributes{Type: psa.KeyTypeAES, Usage: uCrypt, Alg: psa.AlgGCM}, make([]byte, 15), wire.StatusPsaErrorInvalidArgument},
		{"aes bits mismatch", psa.Attributes{Type: psa.KeyTypeAES, Bits: 256, Usage: uCrypt, Alg: psa.AlgGCM}, make([]byte, 16), wire.StatusPsaErrorInvalidArgument},
		{"ecc private zero", eccPair, make([]byte, 32), wire.StatusPsaErrorInvalidArgument},
		{"ecc private = order", eccPair, order, wire.StatusPsaErrorInvalidArgument},
		{"ecc private 31 bytes", eccPair, make([]byte, 31), wire.StatusPsaErrorInvalidArgument},
		{"ecc private bits mismatch", with(eccPair, 384), p256.Bytes(), wire.StatusPsaErrorInvalidArgument},
		{"ecc private P-224 size", eccPair, bytes.Repeat([]byte{1}, 28), wire.StatusPsaErrorNotSupported},
		{"ecc public off curve", eccPub, offCurve, wire.StatusPsaErrorInvalidArgument},
		{"ecc public compressed", eccPub, append([]byte{0x02}, pub[1:33]...), wire.StatusPsaErrorInvalidArgument},
		{"ecc public even length", eccPub, pub[:64], wire.StatusPsaErrorInvalidArgument},
		{"ecc public garbage", eccPub, bytes.Repeat([]byte{0xff}, 65), wire.StatusPsaErrorInvalidArgument},
		{"rsa pair garbage", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Usage: uSign, Alg: psa.RSAPSS(psa.AlgSHA256)}, []byte{0x30, 0x03, 0x02, 0x01, 0x00}, wire.StatusPsaErrorInvalidArgument},
		{"rsa public as pair", psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Usage: uSign, Alg: psa.RSAPSS(psa.AlgSHA256)}, x509.MarshalPKCS1PublicKey(&small.PublicKey), wire.StatusPsaErrorInvalidArgument},
		{"rsa public trailing data", rsaPub, append(x509.MarshalPKCS1PublicKey(&small.PublicKey), 0), wire.StatusPsaErrorInvalidArgument},
		{"rsa bits not 1024/2048/4096", with(rsaPub, 1536), x509.MarshalPKCS1PublicKey(&small.PublicKey), wire.StatusPsaErrorInvalidArgument},
		{"rsa bits mismatch", with(rsaPub, 2048), x509.MarshalPKCS1PublicKey(&small.PublicKey), wire.StatusPsaErrorInvalidArgument},
		{"rsa over 4096 bits", rsaPub, x509.MarshalPKCS1PublicKey(&rsa.PublicKey{N: big4104, E: 65537}), wire.StatusPsaErrorNotSupported},
		{"rsa not byte aligned", rsaPub, x509.MarshalPKCS1PublicKey(&rsa.PublicKey{N: big1023, E: 65537}), wire.StatusPsaErrorNotSupported},
		{"dh", psa.Attributes{Type: psa.DHKeyPair(psa.DhRFC7919), Usage: psa.UsageDerive, Alg: psa.AlgFFDH}, make([]byte, 256), wire.StatusPsaErrorNotSupported},
		{"arc4", psa.Attributes{Type: psa.KeyTypeARC4, Usage: uCrypt, Alg: psa.AlgStreamCipher}, make([]byte, 16), wire.StatusPsaErrorNotSupported},
	}
	for _, c := range cases {
		got := e.status(alice, &pb.ImportKeyRequest{KeyName: "k", Attributes: attrs(t, c.a), Data: c.data})
		if got != c.want {
			t.Errorf("%s: status %v, want %v", c.name, got, c.want)
		}
	}
	if files := e.material(); len(files) != 0 {
		t.Errorf("refused imports left files: %v", files)
	}
	if keys, _ := e.kim.All(); len(keys) != 0 {
		t.Errorf("refused imports left mappings: %v", keys)
	}
}

func TestExportPolicy(t *testing.T) {
	e := newEnv(t)
	e.generate(alice, "secret", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	e.expect(wire.StatusPsaErrorNotPermitted, alice, &pb.ExportKeyRequest{KeyName: "secret"})
	if len(e.exportPublic(alice, "secret")) != 65 {
		t.Error("public part of a non-exportable key must be exportable")
	}
	e.expect(wire.StatusPsaErrorDoesNotExist, alice, &pb.ExportKeyRequest{KeyName: "missing"})
	e.expect(wire.StatusPsaErrorDoesNotExist, alice, &pb.ExportPublicKeyRequest{KeyName: "missing"})
}

func TestDestroy(t *testing.T) {
	e := newEnv(t)
	e.generate(alice, "k", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	if n := len(e.material()); n != 1 {
		t.Fatalf("%d key files after one generation", n)
	}
	hash := make([]byte, 32)
	e.sign(alice, "k", psa.ECDSA(psa.AlgSHA256), hash) // cached now
	e.must(alice, &pb.DestroyKeyRequest{KeyName: "k"})
	if files := e.material(); len(files) != 0 {
		t.Errorf("material left after destroy: %v", files)
	}
	e.expect(wire.StatusPsaErrorDoesNotExist, alice, &pb.SignHashRequest{KeyName: "k", Alg: signAlg(t, psa.ECDSA(psa.AlgSHA256)), Hash: hash})
	e.expect(wire.StatusPsaErrorDoesNotExist, alice, &pb.DestroyKeyRequest{KeyName: "k"})
	// The name is free again, and a new key gets a new id.
	e.generate(alice, "k", ecc(256, uSign, psa.ECDSA(psa.AlgSHA256)))
	if files := e.material(); len(files) != 1 || files[0] != "00000002" {
		t.Errorf("key files after re-creation: %v", files)
	}
}

func TestStorePermissions(t *testing.T) {
	e := newEnv(t)
	e.generate(alice, "k", psa.Attributes{Type: psa.KeyTypeAES, Bits: 128, Usage: uCrypt, Alg: psa.AlgGCM})
	st, err := os.Stat(e.storeDir())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("store directory mode %v", st.Mode().Perm())
	}
	for _, f := range []string{keyLogName, keyLockName} {
		st, err := os.Stat(filepath.Join(e.storeDir(), f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", f, st.Mode().Perm())
		}
	}
}
