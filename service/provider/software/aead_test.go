package software

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// aeadKey imports key material under a name derived from the policy.
func (e *env) aeadKey(kt psa.KeyType, key []byte, alg psa.Algorithm) string {
	e.t.Helper()
	name := fmt.Sprintf("%v/%x/%x", kt, key[:4], uint32(alg))
	if _, err := e.kim.Get(kimOwner(alice), name); err != nil {
		e.importKey(alice, name, psa.Attributes{Type: kt, Usage: uCrypt, Alg: alg}, key)
	}
	return name
}

func (e *env) aeadSeal(name string, alg psa.Algorithm, nonce, aad, pt []byte) []byte {
	e.t.Helper()
	return e.must(alice, &pb.AeadEncryptRequest{KeyName: name, Alg: aeadAlg(e.t, alg), Nonce: nonce, AdditionalData: aad, Plaintext: pt}).(*pb.AeadEncryptResult).GetCiphertext()
}

func (e *env) aeadOpen(name string, alg psa.Algorithm, nonce, aad, ct []byte) ([]byte, wire.Status) {
	e.t.Helper()
	res, err := e.exec(alice, &pb.AeadDecryptRequest{KeyName: name, Alg: aeadAlg(e.t, alg), Nonce: nonce, AdditionalData: aad, Ciphertext: ct})
	if err != nil {
		return nil, wire.StatusOf(err, wire.StatusPsaErrorGenericError)
	}
	return res.(*pb.AeadDecryptResult).GetPlaintext(), wire.StatusSuccess
}

// checkAEAD seals with the provider, compares with the expected output
// and checks opening and tampering.
func (e *env) checkAEAD(label string, kt psa.KeyType, key []byte, alg psa.Algorithm, nonce, aad, pt, want []byte) {
	e.t.Helper()
	name := e.aeadKey(kt, key, alg)
	got := e.aeadSeal(name, alg, nonce, aad, pt)
	if !bytes.Equal(got, want) {
		e.t.Errorf("%s: sealed %x, want %x", label, got, want)
		return
	}
	back, st := e.aeadOpen(name, alg, nonce, aad, want)
	if st != wire.StatusSuccess || !bytes.Equal(back, pt) {
		e.t.Errorf("%s: open: %v", label, st)
	}
	for _, pos := range []int{0, len(want) - 1} {
		bad := bytes.Clone(want)
		bad[pos] ^= 0x02
		if _, st := e.aeadOpen(name, alg, nonce, aad, bad); st != wire.StatusPsaErrorInvalidSignature {
			e.t.Errorf("%s: tampered byte %d: %v", label, pos, st)
		}
	}
	badNonce := bytes.Clone(nonce)
	badNonce[0] ^= 1
	if _, st := e.aeadOpen(name, alg, badNonce, aad, want); st != wire.StatusPsaErrorInvalidSignature {
		e.t.Errorf("%s: wrong nonce: %v", label, st)
	}
	if _, st := e.aeadOpen(name, alg, nonce, append(bytes.Clone(aad), 0), want); st != wire.StatusPsaErrorInvalidSignature {
		e.t.Errorf("%s: other additional data: %v", label, st)
	}
}

// NIST CAVP GCM vectors (AES-128, 128-bit IV, 1024-bit plaintext and
// additional data) with tags of 128, 104, 96, 64 and 32 bits. Fields: key,
// plaintext, IV, additional data, ciphertext, tag bits, tag.
var gcmVectors = []struct {
	key, pt, iv, aad, ct string
	tagBits              int
	tag                  string
}{
	{"839664bb6c352e64714254e4d590fb28", "752c7e877663d10f90e5c96cce2686f4aa846a12272a0aba399e860f2838827c7c718365e704084fbe1e68adb27ad18e993c800da2e05bcaf44b651944bde766e7b3ac22f068b525dd0b80b490b3498d7b7199f60faf69fee338087f7a752fb52147034de8922a3ed73b512d9c741f7bac1206e9b0871a970271f50688038ab7", "5482db71d85039076a541aaba287e7f7", "4d75a10ff29414c74d945da046ed45dc02783da28c1ee58b59cbc6f953dd09788b6d513f7366be523e6c2d877c36795942690ce9543050f7ab6f6f647d262360994f7f892e9f59941a8d440619fda8aa20350be14c13d7924c0451c1489da9a0cafd759c3798776245170ad88dbceb3cacde6ba122b656601ccb726e99d54115", "c7ee1c32f8bc0181b53ce57f116e863481db6f21666ba3fa19bd99ce83eee2d573388a0459dfede92e701982a9cc93d697f313062dbea9866526f1d720a128ab97452a35f458637116f7d9294ffc76079539061dfeff9642a049db53d89f2480a6d74a05ff25d46d7048cc16d43f7888b5aff9957b5dc828973afccff63bd42a", 128, "63c8aa731a60076725cd5f9973eeadb5"},
	{"fe96eab10ff48c7942025422583d0377", "194c8bbbfae4a671386b8cd38f390f46f9df6b8661b470c310921a1c858a938045834bb10380037fbf5f5e00688554537be0fcafe8270b9b59068fa056ab1268fc166c2d729243a06650a171c929c7845c85330c04568d62977eedf3b1ba9dca13bdb8f9522817c8cb99e635e37465ec1c9f6f148d51437aa9f994a62e1bd013", "97ce3f848276783599c6875de324361e", "127628b6dcbce6fc8a8ef60798eb67b2088415635119697d20bb878c24d9c6f9c29e148521cb5e0feff892c7855d4f1c0bfb32ad33420976714dce87a0bbc18e4378bd1ef35197d0ca73051148f1199010f63caf122df5f71ad8d9c71df3eb2fbe3b2529d0ba657570358d3776f687bdb9c96d5e0e9e00c4b42d5d7a268d6a08", "12495120056ca3cac70d583603a476821bac6c57c9733b81cfb83538dc9e850f8bdf46065069591c23ebcbc6d1e2523375fb7efc80c09507fa25477ed07cee54fc4eb90168b3ef988f651fc40652474a644b1b311decf899660aef2347bb081af48950f06ebf799911e37120de94c55c20e5f0a77119be06e2b6e557f872fa0f", 104, "6bac793bdc2190a195122c9854"},
	{"aa705ee70297e9212f70585d92f42aa4", "5e4b47d986d55f49708cb3e4d27072a7e850936b27b24723856acec7b2e03caccd98c2a002a2dd1d3f4dad8827a5910b42986cb00be7bff47eb401be5f324cd2cd3ea2fa41f4ef61f9771a4c0184d85d6023f37f3f54bb9d7cd621fe36ce11a82678a0754a33049106be597c53f287692ac5a42e59f09a2a117fad6c034a91b9", "89822c9db69229d1e4880afd19965908", "fdd655584a92e29a14a368f28a73f9dc608e5c2ffd308d4aeff7326bbef5ea58f84620c9ad43c0b598c271527ae60dae6db4ffd3f590e503ae7057d8c48e9b1bd8f8a8832629bbfc1391b954a4fcee77d40096eb5dcec5e0439375ed455378d716ee8f8b04ccde3291e580068dd7dbef4ba3685b51940471f24859f8e93b659b", "0f34bb4e2a4016ba41eb23e7688edd455f2d46a5097236d9a124ae0bd47349876319976aa4c3aa41680a63cea85f433e3a1b4376f79d004710d486a3fb5afbb7db2c41aca400e04f75ba91660bb68354029defeaae1853447f8fa0d470b25371da73c9e8ee841ba95fc273f88c2e4604ff29a131a7d73e60a00340e886df5359", 96, "a247e88acbd4e354d7c8a80d"},
	{"4aec55c7e4bb36c32cb543b57cfba3fc", "4cf1443a5448fd09e09e91b7cc5f8e00f53f0b75a6b17db5ab9a721167de5f7bc5de1fb711accdafb7f3f1bf6b98393e5f09e9091e26d1340122edc91f7e60f62caa218f1927c8f0032be0752520aa650f6f1ddf40412c96d49dcc2287ee17834504f1dda3f4a723e2fce064f0b8dae0789ec455922a14488623e3ac10b6e312", "6669c3022e0820634a95efa2b5578e93", "f6ae9b1aaba18acb741c9fc64cfba3841f5127b1cda5cbcd48af5987428daa5782d2676bc3e2ef23936ec29a80d6b5310282b39b77181dc680799ac9c8125fc48afd185cba2ca8900bd9a0039787b4f3a6846f3edf5f7b921dec2608fd3df67600ae0aba9378da0015bd57d66d2999bf751806d1b89214332bac50f721ca9474", "720c32b0d454f086af36a32cc7274e2f2fe08db9cf1cefecc14b42b3e5c573aefa7e9e1ee0042eee21104dc3e4d19b012099280c5a53e40a0bf662d8295dde743143a28be7305729767a37cbdf08fb3c87667939a8ffe44c96ad272e30b75aafada2963bb9636f189c37d976ed1c458295fe85ed19662c463d7c8155e9f04115", 64, "4b3343b627095f60"},
	{"2f54229167862034ef6c5ff4a1246697", "af2c89d3600329779abfbcf5be8bb83c357d4d2435fc8f4c413b956b898d22a8a889db9e2ff5e7229d7495576989695a0b52d796f9a23e9570b7caec6b46059749c29a293d31a6224baaf73711bc0e4a587abe9d0379adec6de04ce444676dfd8672e6660cfc79d7ee2e7625ce57dd4681bad66aa29bea2baf936122c3db17e7", "8168ef8ef278c832fc0ec846bc9f62e9", "abb9ed24137915265bddbd4b63f1d02efa2a99c8c373f19077c7e1c389feae36a7af42c661b0adc5dc8e4b5520d334e8e0e112d42c2977fa23485c0a85aef83f1e52d6749bd29cbebe14aea6ee1c1098aa96c6360b0192894bb2001c7c0fed7f00bb84953c23bfdda00818d1568fb94c1bd971982d6c01c12a35ef7af34f947f", "cd6dede25433fd3da6137001219b57aa54bdf6039a5a8d66138171b006194fe3e13d484e5cf57a1acdaa8e76f001df7bf41cbed2c5561a37a32113fa116d0918167c29dd9e7d46f7c18d9db33d7f1bc33ac21d159ddec57a2e158f0c0993c16dbf50582371100a8d7c55cd47c03473c5770ad562240f754c99d95ec593dca284", 32, "4ab63349"},
}

// The GCM specification's test cases 4-6 (McGrew and Viega): the same
// message under 96-bit, 64-bit and 480-bit IVs.
const (
	gcmSpecKey = "feffe9928665731c6d6a8f9467308308"
	gcmSpecPT  = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
	gcmSpecAAD = "feedfacedeadbeeffeedfacedeadbeefabaddad2"
)

var gcmSpecCases = []struct{ iv, ct, tag string }{
	{"cafebabefacedbaddecaf888",
		"42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
		"5bc94fbc3221a5db94fae95ae7121a47"},
	{"cafebabefacedbad",
		"61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c742373806900e49f24b22b097544d4896b424989b5e1ebac0f07c23f4598",
		"3612d2e79e3b0785561be14aaca2fccb"},
	{"9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b",
		"8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca701e4a9a4fba43c90ccdcb281d48c7c6fd62875d2aca417034c34aee5",
		"619cc5aefffe0bfa462af43c1699d050"},
}

func TestAEADGCM(t *testing.T) {
	e := newEnv(t)
	for i, v := range gcmVectors {
		alg := psa.AEADWithTag(psa.AlgGCM, v.tagBits/8)
		want := append(mustHex(t, v.ct), mustHex(t, v.tag)...)
		e.checkAEAD(fmt.Sprintf("CAVP %d", i), psa.KeyTypeAES, mustHex(t, v.key), alg,
			mustHex(t, v.iv), mustHex(t, v.aad), mustHex(t, v.pt), want)
	}
	for i, c := range gcmSpecCases {
		full := append(mustHex(t, c.ct), mustHex(t, c.tag)...)
		for _, tag := range []int{16, 15, 12, 8, 4} {
			alg := psa.AEADWithTag(psa.AlgGCM, tag)
			want := full[:len(full)-16+tag]
			e.checkAEAD(fmt.Sprintf("spec case %d tag %d", i+4, tag), psa.KeyTypeAES, mustHex(t, gcmSpecKey), alg,
				mustHex(t, c.iv), mustHex(t, gcmSpecAAD), mustHex(t, gcmSpecPT), want)
		}
	}
	// A one-byte nonce is legal PSA GCM; check it against crypto/cipher.
	key := bytes.Repeat([]byte{0x42}, 32)
	b, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCMWithNonceSize(b, 1)
	pt := []byte("tiny nonce")
	e.checkAEAD("1-byte nonce", psa.KeyTypeAES, key, psa.AlgGCM, []byte{9}, nil, pt, g.Seal(nil, []byte{9}, pt, nil))
}

func TestAEADCCM(t *testing.T) {
	e := newEnv(t)
	// RFC 3610 packet vector #1: 13-byte nonce, 8-byte tag.
	e.checkAEAD("RFC 3610 #1", psa.KeyTypeAES, mustHex(t, "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF"), psa.AEADWithTag(psa.AlgCCM, 8),
		mustHex(t, "00000003020100A0A1A2A3A4A5"), mustHex(t, "0001020304050607"),
		mustHex(t, "08090A0B0C0D0E0F101112131415161718191A1B1C1D1E"),
		mustHex(t, "588C979A61C663D2F066D0C2C0F989806D5F6B61DAC38417E8D12CFDF926E0"))
	// Every nonce and tag length round-trips.
	key := bytes.Repeat([]byte{1}, 16)
	for n := 7; n <= 13; n++ {
		for tag := 4; tag <= 16; tag += 2 {
			alg := psa.AEADWithTag(psa.AlgCCM, tag)
			name := e.aeadKey(psa.KeyTypeAES, key, alg)
			nonce := bytes.Repeat([]byte{byte(n)}, n)
			ct := e.aeadSeal(name, alg, nonce, []byte("ad"), []byte("payload"))
			if len(ct) != len("payload")+tag {
				t.Errorf("nonce %d tag %d: %d bytes out", n, tag, len(ct))
			}
			if pt, st := e.aeadOpen(name, alg, nonce, []byte("ad"), ct); st != wire.StatusSuccess || string(pt) != "payload" {
				t.Errorf("nonce %d tag %d: open %v", n, tag, st)
			}
		}
	}
}

func TestAEADChaCha20Poly1305(t *testing.T) {
	e := newEnv(t)
	// RFC 8439 section 2.8.2.
	pt := []byte("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
	want := mustHex(t, "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116"+
		"1ae10b594f09e26a7e902ecbd0600691")
	e.checkAEAD("RFC 8439", psa.KeyTypeChaCha20, mustHex(t, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
		psa.AlgChaCha20Poly1305, mustHex(t, "070000004041424344454647"), mustHex(t, "50515253c0c1c2c3c4c5c6c7"), pt, want)
}

func TestAEADRefusals(t *testing.T) {
	e := newEnv(t)
	aesKey := bytes.Repeat([]byte{3}, 16)
	gcm := e.aeadKey(psa.KeyTypeAES, aesKey, psa.AlgGCM)
	gcm6 := e.aeadKey(psa.KeyTypeAES, aesKey, psa.AEADWithTag(psa.AlgGCM, 6))
	ccm := e.aeadKey(psa.KeyTypeAES, aesKey, psa.AlgCCM)
	ccm5 := e.aeadKey(psa.KeyTypeAES, aesKey, psa.AEADWithTag(psa.AlgCCM, 5))
	chacha := e.aeadKey(psa.KeyTypeChaCha20, bytes.Repeat([]byte{4}, 32), psa.AlgChaCha20Poly1305)
	chacha8 := e.aeadKey(psa.KeyTypeChaCha20, bytes.Repeat([]byte{4}, 32), psa.AEADWithTag(psa.AlgChaCha20Poly1305, 8))
	chachaOnAES := e.aeadKey(psa.KeyTypeAES, aesKey, psa.AlgChaCha20Poly1305)
	e.generate(alice, "camellia", psa.Attributes{Type: psa.KeyTypeCamellia, Bits: 128, Usage: uCrypt, Alg: psa.AlgGCM})
	e.generate(alice, "decrypt-only", psa.Attributes{Type: psa.KeyTypeAES, Bits: 128, Usage: psa.UsageDecrypt, Alg: psa.AlgGCM})
	nonce12 := make([]byte, 12)
	ct := e.aeadSeal(gcm, psa.AlgGCM, nonce12, nil, []byte("x"))
	enc := func(key string, alg psa.Algorithm, nonce, pt []byte) protoMsg {
		return &pb.AeadEncryptRequest{KeyName: key, Alg: aeadAlg(t, alg), Nonce: nonce, Plaintext: pt}
	}
	dec := func(key string, alg psa.Algorithm, nonce, ct []byte) protoMsg {
		return &pb.AeadDecryptRequest{KeyName: key, Alg: aeadAlg(t, alg), Nonce: nonce, Ciphertext: ct}
	}
	cases := []struct {
		name string
		req  protoMsg
		want wire.Status
	}{
		{"empty plaintext", enc(gcm, psa.AlgGCM, nonce12, nil), wire.StatusPsaErrorInvalidArgument},
		{"empty nonce", enc(gcm, psa.AlgGCM, nil, []byte("x")), wire.StatusPsaErrorInvalidArgument},
		{"CCM nonce of 6", enc(ccm, psa.AlgCCM, make([]byte, 6), []byte("x")), wire.StatusPsaErrorInvalidArgument},
		{"CCM nonce of 14", enc(ccm, psa.AlgCCM, make([]byte, 14), []byte("x")), wire.StatusPsaErrorInvalidArgument},
		{"CCM odd tag", enc(ccm5, psa.AEADWithTag(psa.AlgCCM, 5), make([]byte, 12), []byte("x")), wire.StatusPsaErrorInvalidArgument},
		{"CCM payload over the length field", enc(ccm, psa.AlgCCM, make([]byte, 13), make([]byte, 0x10000)), wire.StatusPsaErrorInvalidArgument},
		{"GCM 6-byte tag", enc(gcm6, psa.AEADWithTag(psa.AlgGCM, 6), nonce12, []byte("x")), wire.StatusPsaErrorInvalidArgument},
		{"ChaCha20 8-byte tag", enc(chacha8, psa.AEADWithTag(psa.AlgChaCha20Poly1305, 8), nonce12, []byte("x")), wire.StatusPsaErrorNotSupported},
		{"ChaCha20 64-bit nonce", enc(chacha, psa.AlgChaCha20Poly1305, make([]byte, 8), []byte("x")), wire.StatusPsaErrorNotSupported},
		{"ChaCha20 16-byte nonce", enc(chacha, psa.AlgChaCha20Poly1305, make([]byte, 16), []byte("x")), wire.StatusPsaErrorInvalidArgument},
		{"ChaCha20-Poly1305 with an AES key", enc(chachaOnAES, psa.AlgChaCha20Poly1305, nonce12, []byte("x")), wire.StatusPsaErrorNotPermitted},
		{"other algorithm than the policy", enc(gcm, psa.AlgCCM, make([]byte, 12), []byte("x")), wire.StatusPsaErrorNotPermitted},
		{"shorter tag than the policy", enc(gcm, psa.AEADWithTag(psa.AlgGCM, 12), nonce12, []byte("x")), wire.StatusPsaErrorNotPermitted},
		{"encrypt without the flag", enc("decrypt-only", psa.AlgGCM, nonce12, []byte("x")), wire.StatusPsaErrorNotPermitted},
		{"Camellia", enc("camellia", psa.AlgGCM, nonce12, []byte("x")), wire.StatusPsaErrorNotSupported},
		{"ciphertext shorter than the tag", dec(gcm, psa.AlgGCM, nonce12, ct[:15]), wire.StatusPsaErrorInvalidArgument},
		{"empty ciphertext", dec(gcm, psa.AlgGCM, nonce12, nil), wire.StatusPsaErrorInvalidArgument},
		{"missing algorithm", &pb.AeadEncryptRequest{KeyName: gcm, Nonce: nonce12, Plaintext: []byte("x")}, wire.StatusInvalidEncoding},
		{"unknown key", enc("nope", psa.AlgGCM, nonce12, []byte("x")), wire.StatusPsaErrorDoesNotExist},
	}
	for _, c := range cases {
		if got := e.status(alice, c.req); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	e.expect(wire.StatusPsaErrorDoesNotExist, bob, dec(gcm, psa.AlgGCM, nonce12, ct))
}
