package software

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"golang.org/x/crypto/sha3"
)

func TestCipher(t *testing.T) {
	e := newEnv(t)
	ossl := needOpenSSLMaybe(t)
	key := mustHex(t, "2b7e151628aed2a6abf7158809cf4f3c")
	b, _ := aes.NewCipher(key)
	msg := []byte("thirty-two bytes of plain text!!")
	odd := []byte("an odd length")
	for _, c := range []struct {
		alg psa.Algorithm
		pt  []byte
		// ref decrypts IV||ciphertext independently.
		ref func(iv, ct []byte) []byte
		// openssl cipher name, if the CLI can check it
		ossl string
	}{
		{psa.AlgCTR, odd, func(iv, ct []byte) []byte {
			p := make([]byte, len(ct))
			cipher.NewCTR(b, iv).XORKeyStream(p, ct)
			return p
		}, "aes-128-ctr"},
		{psa.AlgCFB, odd, func(iv, ct []byte) []byte {
			p := make([]byte, len(ct))
			cipher.NewCFBDecrypter(b, iv).XORKeyStream(p, ct)
			return p
		}, "aes-128-cfb"},
		{psa.AlgOFB, odd, func(iv, ct []byte) []byte {
			p := make([]byte, len(ct))
			cipher.NewOFB(b, iv).XORKeyStream(p, ct)
			return p
		}, "aes-128-ofb"},
		{psa.AlgCBCNoPadding, msg, func(iv, ct []byte) []byte {
			p := make([]byte, len(ct))
			cipher.NewCBCDecrypter(b, iv).CryptBlocks(p, ct)
			return p
		}, ""},
		{psa.AlgCBCPKCS7, odd, nil, "aes-128-cbc"},
		{psa.AlgCBCPKCS7, msg, nil, "aes-128-cbc"},
		{psa.AlgECBNoPadding, msg, func(_, ct []byte) []byte {
			p := make([]byte, len(ct))
			for i := 0; i < len(ct); i += 16 {
				b.Decrypt(p[i:], ct[i:])
			}
			return p
		}, ""},
	} {
		name := e.aeadKey(psa.KeyTypeAES, key, c.alg)
		out := e.must(alice, &pb.CipherEncryptRequest{KeyName: name, Alg: cipherAlg(t, c.alg), Plaintext: c.pt}).(*pb.CipherEncryptResult).GetCiphertext()
		ivLen := 16
		if c.alg == psa.AlgECBNoPadding {
			ivLen = 0
		}
		iv, ct := out[:ivLen], out[ivLen:]
		if c.ref != nil {
			if got := c.ref(iv, ct); !bytes.Equal(got, c.pt) {
				t.Errorf("%v: reference decryption gives %q", c.alg, got)
			}
		}
		if ossl != nil && c.ossl != "" {
			got := ossl.run(ct, "enc", "-d", "-"+c.ossl, "-K", hex.EncodeToString(key), "-iv", hex.EncodeToString(iv))
			if !bytes.Equal(got, c.pt) {
				t.Errorf("%v: openssl decryption gives %q", c.alg, got)
			}
		}
		back := e.must(alice, &pb.CipherDecryptRequest{KeyName: name, Alg: cipherAlg(t, c.alg), Ciphertext: out}).(*pb.CipherDecryptResult).GetPlaintext()
		if !bytes.Equal(back, c.pt) {
			t.Errorf("%v: round trip gives %q", c.alg, back)
		}
		again := e.must(alice, &pb.CipherEncryptRequest{KeyName: name, Alg: cipherAlg(t, c.alg), Plaintext: c.pt}).(*pb.CipherEncryptResult).GetCiphertext()
		if ivLen > 0 && bytes.Equal(again[:ivLen], iv) {
			t.Errorf("%v: the IV repeats", c.alg)
		}
	}

	// ChaCha20 as a stream cipher: 12-byte IV, block counter 0.
	ckey := bytes.Repeat([]byte{0x11}, 32)
	cname := e.aeadKey(psa.KeyTypeChaCha20, ckey, psa.AlgStreamCipher)
	out := e.must(alice, &pb.CipherEncryptRequest{KeyName: cname, Alg: cipherAlg(t, psa.AlgStreamCipher), Plaintext: odd}).(*pb.CipherEncryptResult).GetCiphertext()
	if len(out) != 12+len(odd) {
		t.Fatalf("ChaCha20 output is %d bytes", len(out))
	}
	if ossl != nil {
		iv := append([]byte{0, 0, 0, 0}, out[:12]...)
		got := ossl.run(out[12:], "enc", "-d", "-chacha20", "-K", hex.EncodeToString(ckey), "-iv", hex.EncodeToString(iv))
		if !bytes.Equal(got, odd) {
			t.Errorf("ChaCha20: openssl decryption gives %q", got)
		}
	}
	back := e.must(alice, &pb.CipherDecryptRequest{KeyName: cname, Alg: cipherAlg(t, psa.AlgStreamCipher), Ciphertext: out}).(*pb.CipherDecryptResult).GetPlaintext()
	if !bytes.Equal(back, odd) {
		t.Error("ChaCha20 round trip")
	}

	// Refusals.
	cbc := e.aeadKey(psa.KeyTypeAES, key, psa.AlgCBCNoPadding)
	pkcs7 := e.aeadKey(psa.KeyTypeAES, key, psa.AlgCBCPKCS7)
	xts := e.aeadKey(psa.KeyTypeAES, key, psa.AlgXTS)
	good := e.must(alice, &pb.CipherEncryptRequest{KeyName: pkcs7, Alg: cipherAlg(t, psa.AlgCBCPKCS7), Plaintext: odd}).(*pb.CipherEncryptResult).GetCiphertext()
	badPad := bytes.Clone(good)
	badPad[len(badPad)-1] ^= 0x01 // scrambles the last plaintext block
	for _, c := range []struct {
		name string
		req  protoMsg
		want wire.Status
	}{
		{"CBC without padding, partial block", &pb.CipherEncryptRequest{KeyName: cbc, Alg: cipherAlg(t, psa.AlgCBCNoPadding), Plaintext: odd}, wire.StatusPsaErrorInvalidArgument},
		{"empty plaintext", &pb.CipherEncryptRequest{KeyName: cbc, Alg: cipherAlg(t, psa.AlgCBCNoPadding)}, wire.StatusPsaErrorInvalidArgument},
		{"input shorter than the IV", &pb.CipherDecryptRequest{KeyName: cbc, Alg: cipherAlg(t, psa.AlgCBCNoPadding), Ciphertext: good[:10]}, wire.StatusPsaErrorInvalidArgument},
		{"partial block", &pb.CipherDecryptRequest{KeyName: pkcs7, Alg: cipherAlg(t, psa.AlgCBCPKCS7), Ciphertext: good[:len(good)-1]}, wire.StatusPsaErrorInvalidArgument},
		{"IV only", &pb.CipherDecryptRequest{KeyName: pkcs7, Alg: cipherAlg(t, psa.AlgCBCPKCS7), Ciphertext: good[:16]}, wire.StatusPsaErrorInvalidArgument},
		{"bad padding", &pb.CipherDecryptRequest{KeyName: pkcs7, Alg: cipherAlg(t, psa.AlgCBCPKCS7), Ciphertext: badPad}, wire.StatusPsaErrorInvalidPadding},
		{"other mode than the policy", &pb.CipherEncryptRequest{KeyName: cbc, Alg: cipherAlg(t, psa.AlgCTR), Plaintext: msg}, wire.StatusPsaErrorNotPermitted},
		{"XTS", &pb.CipherEncryptRequest{KeyName: xts, Alg: cipherAlg(t, psa.AlgXTS), Plaintext: msg}, wire.StatusPsaErrorNotSupported},
		{"stream cipher on AES", &pb.CipherEncryptRequest{KeyName: e.aeadKey(psa.KeyTypeAES, key, psa.AlgStreamCipher), Alg: cipherAlg(t, psa.AlgStreamCipher), Plaintext: msg}, wire.StatusPsaErrorNotPermitted},
		{"missing algorithm", &pb.CipherEncryptRequest{KeyName: cbc, Plaintext: msg}, wire.StatusInvalidEncoding},
	} {
		if got := e.status(alice, c.req); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPKCS7Unpad(t *testing.T) {
	block := func(last ...byte) []byte {
		b := bytes.Repeat([]byte{0xaa}, 16)
		copy(b[16-len(last):], last)
		return b
	}
	for _, c := range []struct {
		b    []byte
		n    int
		good bool
	}{
		{block(1), 15, true},
		{block(2, 2), 14, true},
		{bytes.Repeat([]byte{16}, 16), 0, true},
		{block(0), 0, false},
		{block(17), 0, false},
		{block(1, 2), 0, false},
		{block(3, 2, 3), 0, false},
		{block(0xff), 0, false},
	} {
		n, ok := pkcs7Unpad(c.b)
		if ok != c.good || ok && n != c.n {
			t.Errorf("%x: (%d, %v), want (%d, %v)", c.b, n, ok, c.n, c.good)
		}
	}
}

func TestMAC(t *testing.T) {
	e := newEnv(t)
	// RFC 4231 test case 2.
	jefe := []byte("Jefe")
	data := []byte("what do ya want for nothing?")
	hmac256 := psa.HMAC(psa.AlgSHA256)
	e.importKey(alice, "hmac", psa.Attributes{Type: psa.KeyTypeHMAC, Usage: psa.UsageSignMessage | psa.UsageVerifyMessage, Alg: hmac256}, jefe)
	mac := e.must(alice, &pb.MacComputeRequest{KeyName: "hmac", Alg: macAlg(t, hmac256), Input: data}).(*pb.MacComputeResult).GetMac()
	if got := hex.EncodeToString(mac); got != "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Errorf("HMAC-SHA-256 RFC 4231 #2: %s", got)
	}
	e.must(alice, &pb.MacVerifyRequest{KeyName: "hmac", Alg: macAlg(t, hmac256), Input: data, Mac: mac})
	e.expect(wire.StatusPsaErrorInvalidSignature, alice, &pb.MacVerifyRequest{KeyName: "hmac", Alg: macAlg(t, hmac256), Input: data, Mac: mac[:31]})
	e.expect(wire.StatusPsaErrorInvalidSignature, alice, &pb.MacVerifyRequest{KeyName: "hmac", Alg: macAlg(t, hmac256), Input: data[1:], Mac: mac})
	// A truncation to the full length is the full-length algorithm.
	e.must(alice, &pb.MacComputeRequest{KeyName: "hmac", Alg: macAlg(t, psa.TruncatedMAC(hmac256, 32)), Input: data})

	// Truncated policy.
	trunc := psa.TruncatedMAC(psa.HMAC(psa.AlgSHA512), 16)
	e.importKey(alice, "trunc", psa.Attributes{Type: psa.KeyTypeHMAC, Usage: psa.UsageSignMessage, Alg: trunc}, jefe)
	tm := e.must(alice, &pb.MacComputeRequest{KeyName: "trunc", Alg: macAlg(t, trunc), Input: data}).(*pb.MacComputeResult).GetMac()
	ref := hmac.New(sha512.New, jefe)
	ref.Write(data)
	if !bytes.Equal(tm, ref.Sum(nil)[:16]) {
		t.Errorf("truncated HMAC-SHA-512: %x", tm)
	}

	// CMAC, RFC 4493 example 2.
	cm := psa.AlgCMAC
	e.importKey(alice, "cmac", psa.Attributes{Type: psa.KeyTypeAES, Usage: psa.UsageSignMessage, Alg: cm}, mustHex(t, "2b7e151628aed2a6abf7158809cf4f3c"))
	got := e.must(alice, &pb.MacComputeRequest{KeyName: "cmac", Alg: macAlg(t, cm), Input: mustHex(t, "6bc1bee22e409f96e93d7e117393172a")}).(*pb.MacComputeResult).GetMac()
	if hex.EncodeToString(got) != "070a16b46b4d4144f79bdd9dd04a287c" {
		t.Errorf("CMAC: %x", got)
	}

	e.importKey(alice, "cbcmac", psa.Attributes{Type: psa.KeyTypeAES, Usage: psa.UsageSignMessage, Alg: psa.AlgCBCMAC}, bytes.Repeat([]byte{1}, 16))
	e.importKey(alice, "hmac-on-aes", psa.Attributes{Type: psa.KeyTypeAES, Usage: psa.UsageSignMessage, Alg: hmac256}, bytes.Repeat([]byte{1}, 16))
	e.importKey(alice, "no-flag", psa.Attributes{Type: psa.KeyTypeHMAC, Usage: psa.UsageVerifyMessage, Alg: hmac256}, jefe)
	e.importKey(alice, "tiny", psa.Attributes{Type: psa.KeyTypeHMAC, Usage: psa.UsageSignMessage, Alg: psa.TruncatedMAC(hmac256, 2)}, jefe)
	for _, c := range []struct {
		name string
		req  protoMsg
		want wire.Status
	}{
		{"other hash than the policy", &pb.MacComputeRequest{KeyName: "hmac", Alg: macAlg(t, psa.HMAC(psa.AlgSHA384)), Input: data}, wire.StatusPsaErrorNotPermitted},
		{"truncation the policy does not name", &pb.MacComputeRequest{KeyName: "hmac", Alg: macAlg(t, psa.TruncatedMAC(hmac256, 16)), Input: data}, wire.StatusPsaErrorNotPermitted},
		{"compute without the flag", &pb.MacComputeRequest{KeyName: "no-flag", Alg: macAlg(t, hmac256), Input: data}, wire.StatusPsaErrorNotPermitted},
		{"HMAC with an AES key", &pb.MacComputeRequest{KeyName: "hmac-on-aes", Alg: macAlg(t, hmac256), Input: data}, wire.StatusPsaErrorNotPermitted},
		{"CBC-MAC", &pb.MacComputeRequest{KeyName: "cbcmac", Alg: macAlg(t, psa.AlgCBCMAC), Input: data}, wire.StatusPsaErrorNotSupported},
		{"2-byte MAC", &pb.MacComputeRequest{KeyName: "tiny", Alg: macAlg(t, psa.TruncatedMAC(hmac256, 2)), Input: data}, wire.StatusPsaErrorNotSupported},
		{"missing algorithm", &pb.MacComputeRequest{KeyName: "hmac", Input: data}, wire.StatusInvalidEncoding},
	} {
		if got := e.status(alice, c.req); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	e.expect(wire.StatusPsaErrorDoesNotExist, bob, &pb.MacComputeRequest{KeyName: "hmac", Alg: macAlg(t, hmac256), Input: data})
}

func TestRawKeyAgreement(t *testing.T) {
	e := newEnv(t)
	a := psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: psa.UsageDerive, Alg: psa.AlgECDH}
	e.generate(alice, "mine", a)
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	secret := e.must(alice, &pb.RawKeyAgreementRequest{Alg: pb.Algorithm_KeyAgreement_ECDH, PrivateKeyName: "mine", PeerKey: peer.PublicKey().Bytes()}).(*pb.RawKeyAgreementResult).GetSharedSecret()
	minePub, err := ecdh.P256().NewPublicKey(e.exportPublic(alice, "mine"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := peer.ECDH(minePub)
	if !bytes.Equal(secret, want) {
		t.Error("P-256 shared secret differs from crypto/ecdh")
	}

	// RFC 7748 section 6.1.
	xa := psa.Attributes{Type: psa.ECCKeyPair(psa.EccMontgomery), Usage: psa.UsageDerive, Alg: psa.AlgECDH}
	e.importKey(alice, "x25519", xa, mustHex(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
	if got := hex.EncodeToString(e.exportPublic(alice, "x25519")); got != "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a" {
		t.Errorf("X25519 public key %s", got)
	}
	xs := e.must(alice, &pb.RawKeyAgreementRequest{Alg: pb.Algorithm_KeyAgreement_ECDH, PrivateKeyName: "x25519",
		PeerKey: mustHex(t, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")}).(*pb.RawKeyAgreementResult).GetSharedSecret()
	if got := hex.EncodeToString(xs); got != "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742" {
		t.Errorf("X25519 shared secret %s", got)
	}

	e.generate(alice, "no-derive", psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Usage: uSign, Alg: psa.AlgECDH})
	e.importKey(alice, "public", psa.Attributes{Type: psa.ECCPublicKey(psa.EccSecpR1), Usage: psa.UsageDerive, Alg: psa.AlgECDH}, peer.PublicKey().Bytes())
	p384, _ := ecdh.P384().GenerateKey(rand.Reader)
	for _, c := range []struct {
		name string
		req  *pb.RawKeyAgreementRequest
		want wire.Status
	}{
		{"peer on another curve", &pb.RawKeyAgreementRequest{Alg: pb.Algorithm_KeyAgreement_ECDH, PrivateKeyName: "mine", PeerKey: p384.PublicKey().Bytes()}, wire.StatusPsaErrorInvalidArgument},
		{"garbage peer", &pb.RawKeyAgreementRequest{Alg: pb.Algorithm_KeyAgreement_ECDH, PrivateKeyName: "mine", PeerKey: []byte{4, 1, 2}}, wire.StatusPsaErrorInvalidArgument},
		{"empty peer", &pb.RawKeyAgreementRequest{Alg: pb.Algorithm_KeyAgreement_ECDH, PrivateKeyName: "mine"}, wire.StatusPsaErrorInvalidArgument},
		{"X25519 low-order peer", &pb.RawKeyAgreementRequest{Alg: pb.Algorithm_KeyAgreement_ECDH, PrivateKeyName: "x25519", PeerKey: make([]byte, 32)}, wire.StatusPsaErrorInvalidArgument},
		{"no derive flag", &pb.RawKeyAgreementRequest{Alg: pb.Algorithm_KeyAgreement_ECDH, PrivateKeyName: "no-derive", PeerKey: peer.PublicKey().Bytes()}, wire.StatusPsaErrorNotPermitted},
		{"FFDH", &pb.RawKeyAgreementRequest{Alg: pb.Algorithm_KeyAgreement_FFDH, PrivateKeyName: "mine", PeerKey: peer.PublicKey().Bytes()}, wire.StatusPsaErrorNotPermitted},
		{"public key", &pb.RawKeyAgreementRequest{Alg: pb.Algorithm_KeyAgreement_ECDH, PrivateKeyName: "public", PeerKey: peer.PublicKey().Bytes()}, wire.StatusPsaErrorInvalidArgument},
		{"no algorithm", &pb.RawKeyAgreementRequest{PrivateKeyName: "mine", PeerKey: peer.PublicKey().Bytes()}, wire.StatusInvalidEncoding},
		{"unknown key", &pb.RawKeyAgreementRequest{Alg: pb.Algorithm_KeyAgreement_ECDH, PrivateKeyName: "nope", PeerKey: peer.PublicKey().Bytes()}, wire.StatusPsaErrorDoesNotExist},
	} {
		if got := e.status(alice, c.req); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	e.expect(wire.StatusPsaErrorDoesNotExist, bob, &pb.RawKeyAgreementRequest{Alg: pb.Algorithm_KeyAgreement_ECDH, PrivateKeyName: "mine", PeerKey: peer.PublicKey().Bytes()})
}

func TestHash(t *testing.T) {
	e := newEnv(t)
	in := []byte("abc")
	for _, c := range []struct {
		alg pb.Algorithm_Hash
		ref func() hash.Hash
	}{
		{pb.Algorithm_MD5, md5.New}, {pb.Algorithm_SHA_1, sha1.New}, {pb.Algorithm_SHA_224, sha256.New224},
		{pb.Algorithm_SHA_256, sha256.New}, {pb.Algorithm_SHA_384, sha512.New384}, {pb.Algorithm_SHA_512, sha512.New},
		{pb.Algorithm_SHA_512_224, sha512.New512_224}, {pb.Algorithm_SHA_512_256, sha512.New512_256},
		{pb.Algorithm_SHA3_224, sha3.New224}, {pb.Algorithm_SHA3_256, sha3.New256},
		{pb.Algorithm_SHA3_384, sha3.New384}, {pb.Algorithm_SHA3_512, sha3.New512},
	} {
		h := c.ref()
		h.Write(in)
		want := h.Sum(nil)
		got := e.must(alice, &pb.HashComputeRequest{Alg: c.alg, Input: in}).(*pb.HashComputeResult).GetHash()
		if !bytes.Equal(got, want) {
			t.Errorf("%v: %x", c.alg, got)
		}
		e.must(alice, &pb.HashCompareRequest{Alg: c.alg, Input: in, Hash: want})
		e.expect(wire.StatusPsaErrorInvalidSignature, alice, &pb.HashCompareRequest{Alg: c.alg, Input: in, Hash: want[1:]})
		bad := bytes.Clone(want)
		bad[0] ^= 1
		e.expect(wire.StatusPsaErrorInvalidSignature, alice, &pb.HashCompareRequest{Alg: c.alg, Input: in, Hash: bad})
	}
	// FIPS 202 SHA3-256("abc"), end to end.
	got := e.must(alice, &pb.HashComputeRequest{Alg: pb.Algorithm_SHA3_256, Input: in}).(*pb.HashComputeResult).GetHash()
	if hex.EncodeToString(got) != "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532" {
		t.Errorf("SHA3-256(abc) = %x", got)
	}
	for _, alg := range []pb.Algorithm_Hash{pb.Algorithm_MD2, pb.Algorithm_MD4, pb.Algorithm_RIPEMD160} {
		e.expect(wire.StatusPsaErrorNotSupported, alice, &pb.HashComputeRequest{Alg: alg, Input: in})
	}
	e.expect(wire.StatusInvalidEncoding, alice, &pb.HashComputeRequest{Alg: pb.Algorithm_HASH_NONE, Input: in})
	e.expect(wire.StatusInvalidEncoding, alice, &pb.HashCompareRequest{Alg: 99, Input: in})
}

func TestGenerateRandom(t *testing.T) {
	e := newEnv(t)
	a := e.must(alice, &pb.GenerateRandomRequest{Size: 64}).(*pb.GenerateRandomResult).GetRandomBytes()
	b := e.must(alice, &pb.GenerateRandomRequest{Size: 64}).(*pb.GenerateRandomResult).GetRandomBytes()
	if len(a) != 64 || bytes.Equal(a, b) {
		t.Errorf("random: %x, %x", a, b)
	}
	if r := e.must(alice, &pb.GenerateRandomRequest{Size: 0}).(*pb.GenerateRandomResult).GetRandomBytes(); len(r) != 0 {
		t.Error("zero bytes requested, some returned")
	}
	if r := e.must(alice, &pb.GenerateRandomRequest{Size: 1 << 20}).(*pb.GenerateRandomResult).GetRandomBytes(); len(r) != 1<<20 {
		t.Error("the default limit is 1 MiB")
	}
	e.expect(wire.StatusResponseTooLarge, alice, &pb.GenerateRandomRequest{Size: 1<<20 + 1})
	e.settings.BufferSizeLimit = 100
	e.reopen()
	e.must(alice, &pb.GenerateRandomRequest{Size: 100})
	e.expect(wire.StatusResponseTooLarge, alice, &pb.GenerateRandomRequest{Size: 101})
	e.expect(wire.StatusResponseTooLarge, alice, &pb.GenerateRandomRequest{Size: 1 << 62})
}
