package sha3

import (
	"bytes"
	"encoding/hex"
	"hash"
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

// FIPS 202 example values for the empty string and "abc" (NIST "Examples
// with intermediate values", SHA3-*_Msg0 and SHA3-*_Msg24... for "abc").
var fipsExamples = []struct {
	newHash func() hash.Hash
	msg     string
	want    string
}{
	{New224, "", "6b4e03423667dbb73b6e15454f0eb1abd4597f9a1b078e3f5b5a6bc7"},
	{New256, "", "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"},
	{New384, "", "0c63a75b845e4f7d01107d852e4c2485c51a50aaaa94fc61995e71bbee983a2ac3713831264adb47fb6bd1e058d5f004"},
	{New512, "", "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a615b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e301758586281dcd26"},
	{New224, "abc", "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf"},
	{New256, "abc", "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"},
	{New384, "abc", "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b298d88cea927ac7f539f1edf228376d25"},
	{New512, "abc", "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0"},
}

// NIST CAVP byte-oriented SHA3 ShortMsg vectors: one-byte messages and
// messages of rate-1 and rate bytes, which exercise the padding edge cases.
var cavpShortMsg = []struct {
	newHash func() hash.Hash
	msg     string
	want    string
}{
	{New224, "01", "488286d9d32716e5881ea1ee51f36d3660d70f0db03b3f612ce9eda4"},
	{New224, "0eef947f1e4f01cdb5481ca6eaa25f2caca4c401612888fecef52e283748c8dfc7b47259322c1f4f985f98f6ad44c13117f51e0517c0974d6c7b78af7419bcce957b8bc1db8801c5e280312ef78d6aa47a9cb98b866aaec3d5e26392dda6bbde3fece8a0628b30955b55f03711a8e1eb9e409a7cf84f56c8d0d0f8b9ba184c778fae90dc0f5c3329cb86dcf743bbae", "98ec52c21cb988b1434b1653dd4ac806d118de6af1bb471c16577c34"},
	{New224, "e65de91fdcb7606f14dbcfc94c9c94a57240a6b2c31ed410346c4dc011526559e44296fc988cc589de2dc713d0e82492d4991bd8c4c5e6c74c753fc09345225e1db8d565f0ce26f5f5d9f404a28cf00bd655a5fe04edb682942d675b86235f235965ad422ba5081a21865b8209ae81763e1c4c0cccbccdaad539cf773413a50f5ff1267b9238f5602adc06764f775d3c", "26ec9df54d9afe11710772bfbeccc83d9d0439d3530777c81b8ae6a3"},
	{New256, "e9", "f0d04dd1e6cfc29a4460d521796852f25d9ef8d28b44ee91ff5b759d72c1e6d6"},
	{New256, "b1f6076509938432145bb15dbe1a7b2e007934be5f753908b50fd24333455970a7429f2ffbd28bd6fe1804c4688311f318fe3fcd9f6744410243e115bcb00d7e039a4fee4c326c2d119c42abd2e8f4155a44472643704cc0bc72403b8a8ab0fd4d68e04a059d6e5ed45033b906326abb4eb4147052779bad6a03b55ca5bd8b140e131bed2dfada", "f82d9602b231d332d902cb6436b15aef89acc591cb8626233ced20c0a6e80d7a"},
	{New256, "56ea14d7fcb0db748ff649aaa5d0afdc2357528a9aad6076d73b2805b53d89e73681abfad26bee6c0f3d20215295f354f538ae80990d2281be6de0f6919aa9eb048c26b524f4d91ca87b54c0c54aa9b54ad02171e8bf31e8d158a9f586e92ffce994ecce9a5185cc80364d50a6f7b94849a914242fcb73f33a86ecc83c3403630d20650ddb8cd9c4", "4beae3515ba35ec8cbd1d94567e22b0d7809c466abfbafe9610349597ba15b45"},
	{New384, "80", "7541384852e10ff10d5fb6a7213a4a6c15ccc86d8bc1068ac04f69277142944f4ee50d91fdc56553db06b2f5039c8ab7"},
	{New384, "6c36147652e71b560becbca1e7656c81b4f70bece26321d5e55e67a3db9d89e26f2f2a38fd0f289bf7fa22c2877e38d9755412794cef24d7b855303c332e0cb5e01aa50bb74844f5e345108d6811d5010978038b699ffaa370de8473f0cda38b89a28ed6cabaf6", "b1319192df11faa00d3c4b068becc8f1ba3b00e0d1ff1f93c11a3663522fdb92ab3cca389634687c632e0a4b5a26ce92"},
	{New384, "92c41d34bd249c182ad4e18e3b856770766f1757209675020d4c1cf7b6f7686c8c1472678c7c412514e63eb9f5aee9f5c9d5cb8d8748ab7a5465059d9cbbb8a56211ff32d4aaa23a23c86ead916fe254cc6b2bff7a9553df1551b531f95bb41cbbc4acddbd372921", "71307eec1355f73e5b726ed9efa1129086af81364e30a291f684dfade693cc4bc3d6ffcb7f3b4012a21976ff9edcab61"},
	{New512, "e5", "150240baf95fb36f8ccb87a19a41767e7aed95125075a2b2dbba6e565e1ce8575f2b042b62e29a04e9440314a821c6224182964d8b557b16a492b3806f4c39c1"},
	{New512, "b0de0430c200d74bf41ea0c92f8f28e11b68006a884e0d4b0d884533ee58b38a438cc1a75750b6434f467e2d0cd9aa4052ceb793291b93ef83fd5d8620456ce1aff2941b3605a4", "9e9e469ca9226cd012f5c9cc39c96adc22f420030fcee305a0ed27974e3c802701603dac873ae4476e9c3d57e55524483fc01adaef87daa9e304078c59802757"},
	{New512, "0ce9f8c3a990c268f34efd9befdb0f7c4ef8466cfdb01171f8de70dc5fefa92acbe93d29e2ac1a5c2979129f1ab08c0e77de7924ddf68a209cdfa0adc62f85c18637d9c6b33f4ff8", "b018a20fcf831dde290e4fb18c56342efe138472cbe142da6b77eea4fce52588c04c808eb32912faa345245a850346faec46c3a16d39bd2e1ddb1816bc57d2da"},
}

func TestFIPS202Examples(t *testing.T) {
	for i, tt := range fipsExamples {
		h := tt.newHash()
		h.Write([]byte(tt.msg))
		if got := hex.EncodeToString(h.Sum(nil)); got != tt.want {
			t.Errorf("example %d (%q, size %d): got %s, want %s", i, tt.msg, h.Size(), got, tt.want)
		}
	}
}

func TestCAVPShortMsg(t *testing.T) {
	for i, tt := range cavpShortMsg {
		msg := unhex(t, tt.msg)
		h := tt.newHash()
		h.Write(msg)
		if got := hex.EncodeToString(h.Sum(nil)); got != tt.want {
			t.Errorf("vector %d (len %d, size %d): got %s, want %s", i, len(msg), h.Size(), got, tt.want)
		}
	}
}

// Writing in pieces, summing midway and resetting must not change results.
func TestIncremental(t *testing.T) {
	msg := make([]byte, 1000)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	for _, nh := range []func() hash.Hash{New224, New256, New384, New512} {
		one := nh()
		one.Write(msg)
		want := one.Sum(nil)
		for _, step := range []int{1, 3, 17, 71, 72, 135, 136, 137, 500} {
			h := nh()
			for off := 0; off < len(msg); off += step {
				end := min(off+step, len(msg))
				h.Write(msg[off:end])
				if off == 300 {
					h.Sum(nil) // must not disturb the state
				}
			}
			if got := h.Sum([]byte{0xee}); !bytes.Equal(got[1:], want) || got[0] != 0xee {
				t.Errorf("size %d step %d: incremental sum differs", h.Size(), step)
			}
			h.Reset()
			h.Write(msg)
			if !bytes.Equal(h.Sum(nil), want) {
				t.Errorf("size %d: sum after Reset differs", h.Size())
			}
		}
	}
}

// Cross-check against OpenSSL, an independent implementation, over lengths
// around every rate boundary, when openssl is installed.
func TestAgainstOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	algs := []struct {
		name string
		nh   func() hash.Hash
	}{{"sha3-224", New224}, {"sha3-256", New256}, {"sha3-384", New384}, {"sha3-512", New512}}
	for _, a := range algs {
		rate := a.nh().BlockSize()
		for _, n := range []int{0, 5, rate - 1, rate, rate + 1, 2*rate + 3, 1000} {
			msg := make([]byte, n)
			for i := range msg {
				msg[i] = byte(i*31 + n)
			}
			cmd := exec.Command("openssl", "dgst", "-"+a.name, "-binary")
			cmd.Stdin = bytes.NewReader(msg)
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("openssl %s: %v", a.name, err)
			}
			h := a.nh()
			h.Write(msg)
			if got := h.Sum(nil); !bytes.Equal(got, want) {
				t.Errorf("%s len %d: got %x, openssl %x", a.name, n, got, want)
			}
		}
	}
}

func BenchmarkSHA3_256(b *testing.B) {
	msg := make([]byte, 1024)
	b.SetBytes(int64(len(msg)))
	h := New256()
	for i := 0; i < b.N; i++ {
		h.Reset()
		h.Write(msg)
		h.Sum(nil)
	}
}
