package cmac

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"os/exec"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const nistMsg = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" +
	"30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"

// RFC 4493 section 4 (AES-128) and NIST SP 800-38B appendix D (AES-256),
// message = the first mlen bytes of nistMsg.
var vectors = []struct {
	key  string
	mlen int
	tag  string
}{
	{"2b7e151628aed2a6abf7158809cf4f3c", 0, "bb1d6929e95937287fa37d129b756746"},
	{"2b7e151628aed2a6abf7158809cf4f3c", 16, "070a16b46b4d4144f79bdd9dd04a287c"},
	{"2b7e151628aed2a6abf7158809cf4f3c", 40, "dfa66747de9ae63030ca32611497c827"},
	{"2b7e151628aed2a6abf7158809cf4f3c", 64, "51f0bebf7e3b9d92fc49741779363cfe"},
	{"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", 0, "028962f61b7bf89efc6b551f4667d983"},
	{"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", 16, "28a7023f452e8f82bd4bf28d8c37c35c"},
	{"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", 40, "aaf3d8f1de5640c232f5b169b9c911e6"},
	{"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", 64, "e1992190549f6ed5696a2c056c315410"},
}

func TestVectors(t *testing.T) {
	msg := unhex(t, nistMsg)
	for i, v := range vectors {
		b, err := aes.NewCipher(unhex(t, v.key))
		if err != nil {
			t.Fatal(err)
		}
		tag, err := Sum(b, msg[:v.mlen])
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(tag[:]); got != v.tag {
			t.Errorf("vector %d: got %s, want %s", i, got, v.tag)
		}
	}
}

func TestAgainstOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	key := unhex(t, "000102030405060708090a0b0c0d0e0f1011121314151617")
	b, _ := aes.NewCipher(key)
	for _, n := range []int{1, 15, 16, 17, 31, 32, 33, 100} {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		cmd := exec.Command("openssl", "mac", "-binary", "-cipher", "AES-192-CBC", "-macopt", "hexkey:"+hex.EncodeToString(key), "CMAC")
		cmd.Stdin = bytes.NewReader(msg)
		want, err := cmd.Output()
		if err != nil {
			t.Fatalf("openssl mac CMAC: %v", err)
		}
		got, _ := Sum(b, msg)
		if !bytes.Equal(got[:], want) {
			t.Errorf("len %d: got %x, openssl %x", n, got, want)
		}
	}
}
