package emu_test

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"math/big"
	"syscall"
	"testing"

	"github.com/parsec-go/parsec/internal/tee"
	"github.com/parsec-go/parsec/internal/ts"
	pc "github.com/parsec-go/parsec/internal/ts/packedc"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/tools/parsec-tsemu/emu"
)

func eccAttrs(id uint32, usage psa.Usage, alg psa.Algorithm) ts.KeyAttributes {
	return ts.KeyAttributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Lifetime: ts.LifetimePersistent, ID: id, Usage: usage, Alg: alg}
}

func mustPSA(t *testing.T, err error, want ts.PSAStatus) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
}

func cryptoClients(t *testing.T, path string) map[ts.Encoding]ts.Crypto {
	c := dial(t, path)
	return map[ts.Encoding]ts.Crypto{
		ts.PackedC:  ts.NewCrypto(caller(t, c, ts.ServiceCrypto)),
		ts.Protobuf: ts.NewCrypto(caller(t, c, ts.ServiceCryptoProtobuf)),
	}
}

// The operations both encodings have, checked against the Go standard
// library on the other side.
func TestCoreOperationsBothEncodings(t *testing.T) {
	_, path := startWorld(t, emu.Options{})
	ctx := ctxT(t)
	base := uint32(100)
	for enc, cr := range cryptoClients(t, path) {
		base += 100
		t.Run(string(enc), func(t *testing.T) {
			// ECDSA P-256: sign on the partition, verify with Go.
			alg := psa.ECDSA(psa.AlgSHA256)
			id, err := cr.GenerateKey(ctx, eccAttrs(base+1, psa.UsageSignHash|psa.UsageVerifyHash, alg))
			if err != nil || id != base+1 {
				t.Fatalf("generate: %d %v", id, err)
			}
			pub, err := cr.ExportPublicKey(ctx, id)
			if err != nil || len(pub) != 65 || pub[0] != 4 {
				t.Fatalf("export public: %x %v", pub, err)
			}
			x, y := elliptic.Unmarshal(elliptic.P256(), pub)
			digest := sha256.Sum256([]byte("message"))
			sig, err := cr.SignHash(ctx, id, alg, digest[:])
			if err != nil || len(sig) != 64 {
				t.Fatalf("sign: %x %v", sig, err)
			}
			if !ecdsa.Verify(&ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
				t.Error("Go does not accept the partition's signature")
			}
			if err := cr.VerifyHash(ctx, id, alg, digest[:], sig); err != nil {
				t.Errorf("verify: %v", err)
			}
			sig[5] ^= 1
			mustPSA(t, cr.VerifyHash(ctx, id, alg, digest[:], sig), ts.PSAErrorInvalidSignature)
			msig, err := cr.SignMessage(ctx, id, alg, []byte("message"))
			if err != nil {
				t.Fatal(err)
			}
			if err := cr.VerifyHash(ctx, id, alg, digest[:], msig); err != nil {
				t.Errorf("sign-message is not sign-hash of the digest: %v", err)
			}
			if err := cr.VerifyMessage(ctx, id, alg, []byte("message"), msig); err != nil {
				t.Errorf("verify message: %v", err)
			}
			_, err = cr.ExportKey(ctx, id)
			mustPSA(t, err, ts.PSAErrorNotPermitted)
			_, err = cr.SignHash(ctx, id, psa.ECDSA(psa.AlgSHA384), make([]byte, 48))
			mustPSA(t, err, ts.PSAErrorNotPermitted)

			// RSA: the partition decrypts what Go encrypts and the other way.
			rsaID, err := cr.GenerateKey(ctx, ts.KeyAttributes{Type: psa.KeyTypeRSAKeyPair, Bits: 1024, Lifetime: 1, ID: base + 2,
				Usage: psa.UsageEncrypt | psa.UsageDecrypt | psa.UsageExport, Alg: psa.RSAOAEP(psa.AlgSHA256)})
			if err != nil {
				t.Fatal(err)
			}
			der, err := cr.ExportKey(ctx, rsaID)
			if err != nil {
				t.Fatal(err)
			}
			priv, err := x509.ParsePKCS1PrivateKey(der)
			if err != nil || priv.N.BitLen() != 1024 {
				t.Fatalf("exported key: %v", err)
			}
			pubDer, _ := cr.ExportPublicKey(ctx, rsaID)
			if !bytes.Equal(pubDer, x509.MarshalPKCS1PublicKey(&priv.PublicKey)) {
				t.Error("public key export is not the PKCS#1 RSAPublicKey of the key pair")
			}
			ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &priv.PublicKey, []byte("secret"), []byte("label"))
			if err != nil {
				t.Fatal(err)
			}
			pt, err := cr.AsymmetricDecrypt(ctx, rsaID, psa.RSAOAEP(psa.AlgSHA256), ct, []byte("label"))
			if err != nil || string(pt) != "secret" {
				t.Errorf("decrypt: %q %v", pt, err)
			}
			_, err = cr.AsymmetricDecrypt(ctx, rsaID, psa.RSAOAEP(psa.AlgSHA256), ct, []byte("other"))
			mustPSA(t, err, ts.PSAErrorInvalidPadding)
			ct2, err := cr.AsymmetricEncrypt(ctx, rsaID, psa.RSAOAEP(psa.AlgSHA256), []byte("back"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := rsa.DecryptOAEP(sha256.New(), rand.Reader, priv, ct2, nil); err != nil || string(pt) != "back" {
				t.Errorf("Go decrypt: %q %v", pt, err)
			}

			// Import an RSA key Go made and sign PKCS#1 v1.5 / check with Go.
			goKey, _ := rsa.GenerateKey(rand.Reader, 1024)
			impID, err := cr.ImportKey(ctx, ts.KeyAttributes{Type: psa.KeyTypeRSAKeyPair, Lifetime: 1, ID: base + 3,
				Usage: psa.UsageSignHash, Alg: psa.RSAPKCS1v15Sign(psa.AlgSHA256)}, x509.MarshalPKCS1PrivateKey(goKey))
			if err != nil {
				t.Fatal(err)
			}
			s2, err := cr.SignHash(ctx, impID, psa.RSAPKCS1v15Sign(psa.AlgSHA256), digest[:])
			if err != nil {
				t.Fatal(err)
			}
			if rsa.VerifyPKCS1v15(&goKey.PublicKey, crypto.SHA256, digest[:], s2) != nil {
				t.Error("Go rejects the PKCS#1 v1.5 signature")
			}

			r, err := cr.GenerateRandom(ctx, 33)
			if err != nil || len(r) != 33 {
				t.Errorf("random: %d %v", len(r), err)
			}
			for _, k := range []uint32{id, rsaID, impID} {
				if err := cr.DestroyKey(ctx, k); err != nil {
					t.Errorf("destroy %d: %v", k, err)
				}
			}
			_, err = cr.SignHash(ctx, id, alg, digest[:])
			mustPSA(t, err, ts.PSAErrorDoesNotExist)
		})
	}
}

// Key ids and lifetimes behave like Mbed TLS's PSA core, and keys are
// shared by both encodings.
func TestKeyIDs(t *testing.T) {
	_, path := startWorld(t, emu.Options{})
	ctx := ctxT(t)
	cs := cryptoClients(t, path)
	cr, pbc := cs[ts.PackedC], cs[ts.Protobuf]
	a := eccAttrs(5, psa.UsageSignHash, psa.ECDSA(psa.AlgSHA256))
	if _, err := cr.GenerateKey(ctx, a); err != nil {
		t.Fatal(err)
	}
	_, err := pbc.GenerateKey(ctx, a)
	mustPSA(t, err, ts.PSAErrorAlreadyExists)
	bad := a
	bad.ID = 0
	_, err = cr.GenerateKey(ctx, bad)
	mustPSA(t, err, ts.PSAErrorInvalidArgument)
	bad.ID = 0x40000000
	_, err = cr.GenerateKey(ctx, bad)
	mustPSA(t, err, ts.PSAErrorInvalidArgument)
	_, err = cr.ExportPublicKey(ctx, 0)
	mustPSA(t, err, ts.PSAErrorInvalidHandle)
	_, err = cr.ExportPublicKey(ctx, 0x40000000)
	mustPSA(t, err, ts.PSAErrorInvalidHandle)
	_, err = cr.ExportPublicKey(ctx, 6)
	mustPSA(t, err, ts.PSAErrorDoesNotExist)
	if _, err := pbc.ExportPublicKey(ctx, 5); err != nil {
		t.Errorf("a packed-c key seen from protobuf: %v", err)
	}
	vol := a
	vol.Lifetime, vol.ID = ts.LifetimeVolatile, 77
	vid, err := cr.GenerateKey(ctx, vol)
	if err != nil || vid < 0x7fffffe0 {
		t.Errorf("volatile key id %#x %v, want one the partition chose", vid, err)
	}
	got, err := cr.GetKeyAttributes(ctx, 5)
	if err != nil || got != a {
		t.Errorf("attributes %+v %v, want %+v", got, err, a)
	}
	cp := a
	cp.ID, cp.Usage = 9, psa.UsageSignHash
	_, err = cr.CopyKey(ctx, 5, cp)
	mustPSA(t, err, ts.PSAErrorNotPermitted) // no COPY usage
	if err := cr.PurgeKey(ctx, 5); err != nil {
		t.Errorf("purge: %v", err)
	}
	if _, err := cr.ExportPublicKey(ctx, 5); err != nil {
		t.Errorf("a purged persistent key is still stored: %v", err)
	}
	// The protobuf interface has no copy/purge/get-attributes: the raw
	// opcode is rejected at the RPC level, which the driver makes EINVAL.
	_, err = pbc.GetKeyAttributes(ctx, 5)
	if !errors.Is(err, ts.ErrUnsupported) {
		t.Errorf("protobuf get attributes: %v", err)
	}
	c := dial(t, path)
	pcl := caller(t, c, ts.ServiceCryptoProtobuf)
	_, err = pcl.Call(ctx, pc.OpGetKeyAttrs, "GET_KEY_ATTRIBUTES", []byte{8, 5})
	if !errors.Is(err, syscall.EINVAL) {
		t.Errorf("protobuf GET_KEY_ATTRIBUTES: %v, want EINVAL", err)
	}
}

// Persistent keys survive a restart with a state directory and are lost
// with RAM storage, as on the reference deployments.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	for _, persist := range []bool{true, false} {
		o := emu.Options{}
		if persist {
			o.StateDir = dir
		}
		_, path := startWorld(t, o)
		c := dial(t, path)
		cr := ts.NewCrypto(caller(t, c, ts.ServiceCrypto))
		if _, err := cr.GenerateKey(ctxT(t), eccAttrs(42, psa.UsageSignHash, psa.ECDSA(psa.AlgSHA256))); err != nil {
			t.Fatal(err)
		}
		pub1, _ := cr.ExportPublicKey(ctxT(t), 42)
		c.Close()
		_, path2 := startWorld(t, o)
		cr2 := ts.NewCrypto(caller(t, dial(t, path2), ts.ServiceCrypto))
		pub2, err := cr2.ExportPublicKey(ctxT(t), 42)
		if persist {
			if err != nil || !bytes.Equal(pub1, pub2) {
				t.Errorf("state dir: key after restart: %v", err)
			}
		} else {
			mustPSA(t, err, ts.PSAErrorDoesNotExist)
		}
	}
}

func TestMultipartPackedC(t *testing.T) {
	_, path := startWorld(t, emu.Options{})
	ctx := ctxT(t)
	c := dial(t, path)
	cl := caller(t, c, ts.ServiceCrypto)
	cr := ts.NewPackedCrypto(cl)

	big := make([]byte, 200000)
	rand.Read(big)
	for _, h := range []struct {
		alg  psa.Algorithm
		want func([]byte) []byte
	}{
		{psa.AlgSHA256, func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
		{psa.AlgSHA512, func(b []byte) []byte { s := sha512.Sum512(b); return s[:] }},
	} {
		got, err := cr.HashCompute(ctx, h.alg, big)
		if err != nil || !bytes.Equal(got, h.want(big)) {
			t.Errorf("%v over 200000 bytes: %x %v", h.alg, got, err)
		}
		bad := h.want(big)
		bad[0] ^= 1
		mustPSA(t, cr.HashCompare(ctx, h.alg, big, bad), ts.PSAErrorInvalidSignature)
	}
	_, err := cr.HashCompute(ctx, psa.AlgSHA3_256, nil)
	mustPSA(t, err, ts.PSAErrorNotSupported)

	// AES ciphers: the partition's output decrypts with Go.
	key := make([]byte, 16)
	rand.Read(key)
	aesAttrs := ts.KeyAttributes{Type: psa.KeyTypeAES, Lifetime: 1, Usage: psa.UsageEncrypt | psa.UsageDecrypt}
	for i, alg := range []psa.Algorithm{psa.AlgCBCPKCS7, psa.AlgCBCNoPadding, psa.AlgCTR, psa.AlgCFB, psa.AlgOFB, psa.AlgECBNoPadding} {
		a := aesAttrs
		a.ID, a.Alg = uint32(300+i), alg
		id, err := cr.ImportKey(ctx, a, key)
		if err != nil {
			t.Fatal(err)
		}
		pt := big[:70000+16*i]
		if alg == psa.AlgCBCNoPadding || alg == psa.AlgECBNoPadding {
			pt = big[:65536]
		}
		ct, err := cr.CipherEncrypt(ctx, id, alg, pt)
		if err != nil {
			t.Fatalf("%v encrypt: %v", alg, err)
		}
		ivLen := 16
		if alg == psa.AlgECBNoPadding {
			ivLen = 0
		}
		if ref := goDecrypt(t, alg, key, ct, ivLen); !bytes.Equal(ref, pt) {
			t.Errorf("%v: Go does not decrypt the partition's ciphertext", alg)
		}
		back, err := cr.CipherDecrypt(ctx, id, alg, ivLen, ct)
		if err != nil || !bytes.Equal(back, pt) {
			t.Errorf("%v decrypt: %v", alg, err)
		}
	}
	a := aesAttrs
	a.ID, a.Alg = 320, psa.AlgCBCPKCS7
	cid, _ := cr.ImportKey(ctx, a, key)
	ct, _ := cr.CipherEncrypt(ctx, cid, psa.AlgCBCPKCS7, []byte("short"))
	ct[len(ct)-1] ^= 0x55
	_, err = cr.CipherDecrypt(ctx, cid, psa.AlgCBCPKCS7, 16, ct)
	mustPSA(t, err, ts.PSAErrorInvalidPadding)

	// HMAC against Go; CMAC against RFC 4493 example 2.
	hk := []byte("hmac key material")
	hid, err := cr.ImportKey(ctx, ts.KeyAttributes{Type: psa.KeyTypeHMAC, Lifetime: 1, ID: 330, Usage: psa.UsageSignMessage | psa.UsageVerifyMessage, Alg: psa.HMAC(psa.AlgSHA256)}, hk)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, hk)
	m.Write(big)
	mac, err := cr.MACCompute(ctx, hid, psa.HMAC(psa.AlgSHA256), big)
	if err != nil || !bytes.Equal(mac, m.Sum(nil)) {
		t.Errorf("HMAC: %x %v", mac, err)
	}
	if err := cr.MACVerify(ctx, hid, psa.HMAC(psa.AlgSHA256), big, mac); err != nil {
		t.Errorf("HMAC verify: %v", err)
	}
	mac[0] ^= 1
	mustPSA(t, cr.MACVerify(ctx, hid, psa.HMAC(psa.AlgSHA256), big, mac), ts.PSAErrorInvalidSignature)
	ck, _ := hex.DecodeString("2b7e151628aed2a6abf7158809cf4f3c")
	msg, _ := hex.DecodeString("6bc1bee22e409f96e93d7e117393172a")
	cmID, err := cr.ImportKey(ctx, ts.KeyAttributes{Type: psa.KeyTypeAES, Lifetime: 1, ID: 331, Usage: psa.UsageSignMessage, Alg: psa.AlgCMAC}, ck)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := cr.MACCompute(ctx, cmID, psa.AlgCMAC, msg)
	if err != nil || hex.EncodeToString(cm) != "070a16b46b4d4144f79bdd9dd04a287c" {
		t.Errorf("CMAC (RFC 4493 example 2): %x %v", cm, err)
	}

	// AES-GCM: same output as Go's GCM for the same nonce.
	gid, err := cr.ImportKey(ctx, ts.KeyAttributes{Type: psa.KeyTypeAES, Lifetime: 1, ID: 340, Usage: psa.UsageEncrypt | psa.UsageDecrypt, Alg: psa.AlgGCM}, key)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 12)
	ad := []byte("header")
	out, err := cr.AEADEncrypt(ctx, gid, psa.AlgGCM, nonce, ad, big[:100000])
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(blk)
	if !bytes.Equal(out, g.Seal(nil, nonce, big[:100000], ad)) {
		t.Error("GCM output differs from Go's")
	}
	back, err := cr.AEADDecrypt(ctx, gid, psa.AlgGCM, nonce, ad, out)
	if err != nil || !bytes.Equal(back, big[:100000]) {
		t.Errorf("GCM decrypt: %v", err)
	}
	out[3] ^= 1
	_, err = cr.AEADDecrypt(ctx, gid, psa.AlgGCM, nonce, ad, out)
	mustPSA(t, err, ts.PSAErrorInvalidSignature)
	_, err = cr.AEADEncrypt(ctx, gid, psa.AlgCCM, nonce, nil, nil)
	mustPSA(t, err, ts.PSAErrorNotPermitted)

	// ECDH against Go's.
	eid, err := cr.GenerateKey(ctx, eccAttrs(350, psa.UsageDerive, psa.AlgECDH))
	if err != nil {
		t.Fatal(err)
	}
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	mine, _ := cr.ExportPublicKey(ctx, eid)
	shared, err := cr.RawKeyAgreement(ctx, psa.AlgECDH, eid, peer.PublicKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	minePub, _ := ecdh.P256().NewPublicKey(mine)
	want, _ := peer.ECDH(minePub)
	if !bytes.Equal(shared, want) {
		t.Error("ECDH secret differs from Go's")
	}
	_, err = cr.RawKeyAgreement(ctx, psa.AlgECDH, eid, []byte{4, 1, 2})
	mustPSA(t, err, ts.PSAErrorInvalidArgument)
}

func goDecrypt(t *testing.T, alg psa.Algorithm, key, in []byte, ivLen int) []byte {
	b, _ := aes.NewCipher(key)
	iv, ct := in[:ivLen], in[ivLen:]
	out := make([]byte, len(ct))
	switch alg {
	case psa.AlgCBCPKCS7, psa.AlgCBCNoPadding:
		cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, ct)
		if alg == psa.AlgCBCPKCS7 {
			out = out[:len(out)-int(out[len(out)-1])]
		}
	case psa.AlgCTR:
		cipher.NewCTR(b, iv).XORKeyStream(out, ct)
	case psa.AlgCFB:
		cipher.NewCFBDecrypter(b, iv).XORKeyStream(out, ct)
	case psa.AlgOFB:
		cipher.NewOFB(b, iv).XORKeyStream(out, ct)
	case psa.AlgECBNoPadding:
		for i := 0; i < len(ct); i += 16 {
			b.Decrypt(out[i:], ct[i:])
		}
	}
	return out
}

// HKDF-SHA256 through the key derivation operations, RFC 5869 test case 1.
func TestKeyDerivationRFC5869(t *testing.T) {
	_, path := startWorld(t, emu.Options{})
	ctx := ctxT(t)
	cr := ts.NewPackedCrypto(caller(t, dial(t, path), ts.ServiceCrypto))
	ikm, _ := hex.DecodeString("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b")
	salt, _ := hex.DecodeString("000102030405060708090a0b0c")
	info, _ := hex.DecodeString("f0f1f2f3f4f5f6f7f8f9")
	okm := "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
	secret, err := cr.ImportKey(ctx, ts.KeyAttributes{Type: psa.KeyTypeDerive, Lifetime: 1, ID: 400, Usage: psa.UsageDerive, Alg: psa.HKDF(psa.AlgSHA256)}, ikm)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cr.DeriveSetup(ctx, psa.HKDF(psa.AlgSHA256))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.InputBytes(ctx, ts.DeriveInputSalt, salt); err != nil {
		t.Fatal(err)
	}
	if err := d.InputKey(ctx, ts.DeriveInputSecret, secret); err != nil {
		t.Fatal(err)
	}
	if err := d.InputBytes(ctx, ts.DeriveInputInfo, info); err != nil {
		t.Fatal(err)
	}
	if c, err := d.Capacity(ctx); err != nil || c != 255*32 {
		t.Errorf("capacity %d %v", c, err)
	}
	a, err := d.OutputBytes(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.OutputBytes(ctx, 32)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(append(a, b...)); got != okm {
		t.Errorf("OKM %s\nwant %s", got, okm)
	}
	// The rest of the stream becomes an AES key.
	if err := d.SetCapacity(ctx, 16); err != nil {
		t.Fatal(err)
	}
	kid, err := d.OutputKey(ctx, ts.KeyAttributes{Type: psa.KeyTypeAES, Bits: 128, Lifetime: 1, ID: 401, Usage: psa.UsageEncrypt, Alg: psa.AlgCTR})
	if err != nil || kid != 401 {
		t.Errorf("output key %d %v", kid, err)
	}
	_, err = d.OutputBytes(ctx, 1)
	mustPSA(t, err, ts.PSAErrorInsufficientData)
	d.Abort(ctx)
}

// The partition keeps 10 contexts per operation kind and recycles the
// oldest: its handle then answers BAD_STATE.
func TestContextPoolRecycles(t *testing.T) {
	_, path := startWorld(t, emu.Options{})
	ctx := ctxT(t)
	cl := caller(t, dial(t, path), ts.ServiceCrypto)
	var handles []uint32
	for i := 0; i < 11; i++ {
		resp, err := cl.Call(ctx, pc.OpHashSetup, "HASH_SETUP", []byte{9, 0, 0, 2})
		if err != nil || len(resp) != 4 {
			t.Fatal(err)
		}
		handles = append(handles, uint32(resp[0])|uint32(resp[1])<<8)
	}
	fin := func(h uint32) error {
		_, err := cl.Call(ctx, pc.OpHashFinish, "HASH_FINISH", []byte{byte(h), byte(h >> 8), 0, 0})
		return err
	}
	mustPSA(t, fin(handles[0]), ts.PSAErrorBadState)
	if err := fin(handles[10]); err != nil {
		t.Errorf("newest context: %v", err)
	}
}

var _ = tee.MaxShmPerSP
