package psa

import (
	"errors"
	"testing"

	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

func TestNumericEncodings(t *testing.T) {
	// Values from the PSA Certified Crypto API specification.
	tests := []struct {
		got  uint32
		want uint32
	}{
		{uint32(ECDSA(AlgSHA256)), 0x06000609},
		{uint32(RSAPKCS1v15Sign(AlgSHA256)), 0x06000209},
		{uint32(RSAPSS(AlgSHA384)), 0x0600030a},
		{uint32(RSAOAEP(AlgSHA256)), 0x07000309},
		{uint32(HMAC(AlgSHA256)), 0x03800009},
		{uint32(ECCKeyPair(EccSecpR1)), 0x7112},
		{uint32(ECCPublicKey(EccSecpR1)), 0x4112},
		{uint32(ECCKeyPair(EccSecpR1).PublicKeyType()), 0x4112},
		{uint32(KeyTypeRSAKeyPair.PublicKeyType()), 0x4001},
		{uint32(AEADWithTag(AlgGCM, 8)), 0x05480200},
		{uint32(KeyAgreementWithKDF(AlgECDH, HKDF(AlgSHA256))), 0x09020109},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("case %d: got %#x, want %#x", i, tt.got, tt.want)
		}
	}
}

func TestAlgorithmProtoRoundTrip(t *testing.T) {
	algs := []Algorithm{
		AlgNone, AlgSHA256, AlgSHA3_512, HMAC(AlgSHA384), TruncatedMAC(HMAC(AlgSHA256), 16),
		AlgCMAC, AlgCBCMAC, AlgCTR, AlgCBCPKCS7, AlgGCM, AlgCCM, AEADWithTag(AlgCCM, 8),
		AlgChaCha20Poly1305, ECDSA(AlgSHA256), ECDSA(AlgAnyHash), AlgECDSAAny,
		DeterministicECDSA(AlgSHA512), RSAPKCS1v15Sign(AlgSHA256), AlgRSAPKCS1v15SignRaw,
		RSAPSS(AlgSHA256), AlgRSAPKCS1v15Crypt, RSAOAEP(AlgSHA1), AlgECDH, AlgFFDH,
		KeyAgreementWithKDF(AlgECDH, HKDF(AlgSHA256)), HKDF(AlgSHA256), TLS12PRF(AlgSHA384),
		TLS12PSKToMS(AlgSHA256),
	}
	for _, a := range algs {
		p, err := AlgorithmToProto(a)
		if err != nil {
			t.Fatalf("%v: to proto: %v", a, err)
		}
		// Through the wire bytes, as a request would carry it.
		b, err := protomsg.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var q pb.Algorithm
		if err := protomsg.Unmarshal(b, &q); err != nil {
			t.Fatal(err)
		}
		back, err := AlgorithmFromProto(&q)
		if err != nil {
			t.Fatalf("%v: from proto: %v", a, err)
		}
		if back != a {
			t.Errorf("round trip of %v gave %v", a, back)
		}
	}
}

func TestKeyTypeProtoRoundTrip(t *testing.T) {
	types := []KeyType{KeyTypeRawData, KeyTypeHMAC, KeyTypeDerive, KeyTypeAES, KeyTypeDES,
		KeyTypeCamellia, KeyTypeARC4, KeyTypeChaCha20, KeyTypeRSAPublicKey, KeyTypeRSAKeyPair,
		ECCKeyPair(EccSecpR1), ECCPublicKey(EccSecpK1), ECCKeyPair(EccMontgomery),
		ECCKeyPair(EccBrainpoolPR1), DHKeyPair(DhRFC7919), DHPublicKey(DhRFC7919)}
	for _, kt := range types {
		p, err := KeyTypeToProto(kt)
		if err != nil {
			t.Fatalf("%v: %v", kt, err)
		}
		back, err := KeyTypeFromProto(p)
		if err != nil || back != kt {
			t.Errorf("%v: round trip gave %v, %v", kt, back, err)
		}
	}
}

func TestInvalidProtoIsInvalidEncoding(t *testing.T) {
	cases := map[string]*pb.KeyAttributes{
		"nil type":   {KeyPolicy: &pb.KeyPolicy{KeyAlgorithm: &pb.Algorithm{Variant: &pb.Algorithm_None_{None: &pb.Algorithm_None{}}}}},
		"nil policy": {KeyType: &pb.KeyType{Variant: &pb.KeyType_Aes_{Aes: &pb.KeyType_Aes{}}}},
		"curve none": {
			KeyType:   &pb.KeyType{Variant: &pb.KeyType_EccKeyPair_{EccKeyPair: &pb.KeyType_EccKeyPair{}}},
			KeyPolicy: &pb.KeyPolicy{KeyAlgorithm: &pb.Algorithm{Variant: &pb.Algorithm_None_{None: &pb.Algorithm_None{}}}},
		},
		"hash none": {
			KeyType:   &pb.KeyType{Variant: &pb.KeyType_Aes_{Aes: &pb.KeyType_Aes{}}},
			KeyPolicy: &pb.KeyPolicy{KeyAlgorithm: &pb.Algorithm{Variant: &pb.Algorithm_Hash_{Hash: pb.Algorithm_HASH_NONE}}},
		},
		"unknown hash": {
			KeyType:   &pb.KeyType{Variant: &pb.KeyType_Aes_{Aes: &pb.KeyType_Aes{}}},
			KeyPolicy: &pb.KeyPolicy{KeyAlgorithm: &pb.Algorithm{Variant: &pb.Algorithm_Hash_{Hash: 99}}},
		},
		"algorithm missing": {
			KeyType:   &pb.KeyType{Variant: &pb.KeyType_Aes_{Aes: &pb.KeyType_Aes{}}},
			KeyPolicy: &pb.KeyPolicy{},
		},
	}
	for name, c := range cases {
		_, err := AttributesFromProto(c)
		if !errors.Is(err, wire.StatusInvalidEncoding) {
			t.Errorf("%s: got %v, want InvalidEncoding", name, err)
		}
	}
}

func TestPermits(t *testing.T) {
	ecc := Attributes{Type: ECCKeyPair(EccSecpR1), Bits: 256, Usage: UsageSignHash | UsageVerifyHash, Alg: ECDSA(AlgSHA256)}
	anyHash := ecc
	anyHash.Alg = ECDSA(AlgAnyHash)
	tests := []struct {
		name  string
		attrs Attributes
		usage Usage
		alg   Algorithm
		ok    bool
	}{
		{"exact", ecc, UsageSignHash, ECDSA(AlgSHA256), true},
		{"sign message implied", ecc, UsageSignMessage, ECDSA(AlgSHA256), true},
		{"other hash", ecc, UsageSignHash, ECDSA(AlgSHA384), false},
		{"no decrypt", ecc, UsageDecrypt, ECDSA(AlgSHA256), false},
		{"wildcard policy", anyHash, UsageSignHash, ECDSA(AlgSHA384), true},
		{"wildcard request", anyHash, UsageSignHash, ECDSA(AlgAnyHash), false},
		{"wildcard other base", anyHash, UsageSignHash, DeterministicECDSA(AlgSHA256), false},
		{"mac at least", Attributes{Usage: UsageSignHash, Alg: TruncatedMAC(HMAC(AlgSHA256), 16) | AlgMACAtLeastThisLength}, UsageSignHash, HMAC(AlgSHA256), true},
		{"mac too short", Attributes{Usage: UsageSignHash, Alg: TruncatedMAC(HMAC(AlgSHA256), 16) | AlgMACAtLeastThisLength}, UsageSignHash, TruncatedMAC(HMAC(AlgSHA256), 8), false},
	}
	for _, tt := range tests {
		err := tt.attrs.Permits(tt.usage, tt.alg)
		if (err == nil) != tt.ok {
			t.Errorf("%s: Permits = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, wire.StatusPsaErrorNotPermitted) {
			t.Errorf("%s: error %v is not NotPermitted", tt.name, err)
		}
	}
}

func TestDeprecated(t *testing.T) {
	if !(Attributes{Type: ECCKeyPair(EccSecpR1), Bits: 256, Alg: ECDSA(AlgSHA1)}).Deprecated() {
		t.Error("ECDSA(SHA-1) should be deprecated")
	}
	if (Attributes{Type: ECCKeyPair(EccSecpR1), Bits: 256, Alg: ECDSA(AlgSHA256)}).Deprecated() {
		t.Error("ECDSA(SHA-256) is not deprecated")
	}
	if !(Attributes{Type: KeyTypeDES, Bits: 64}).Deprecated() {
		t.Error("DES should be deprecated")
	}
}

func TestAlgorithmNames(t *testing.T) {
	tests := map[Algorithm]string{
		ECDSA(AlgSHA256):         "ECDSA(SHA_256)",
		AlgGCM:                   "GCM",
		AEADWithTag(AlgCCM, 8):   "AEAD_WITH_SHORTENED_TAG(CCM, 8)",
		AlgCBCPKCS7:              "CBC_PKCS7",
		HMAC(AlgSHA384):          "HMAC(SHA_384)",
		TruncatedMAC(AlgCMAC, 8): "TRUNCATED_MAC(CMAC, 8)",
		HKDF(AlgSHA256):          "HKDF(SHA_256)",
		KeyAgreementWithKDF(AlgECDH, HKDF(AlgSHA256)): "KEY_AGREEMENT(ECDH, HKDF(SHA_256))",
		Algorithm(0x7f000001):                         "Algorithm(0x7f000001)",
		// An unknown raw key agreement is its own base (found by the
		// emulated secure world's fuzzer: String recursed until the
		// stack overflowed).
		Algorithm(0x09400000): "Algorithm(0x09400000)",
		KeyAgreementWithKDF(Algorithm(0x09400000), HKDF(AlgSHA256)): "KEY_AGREEMENT(Algorithm(0x09400000), HKDF(SHA_256))",
	}
	for a, want := range tests {
		if got := a.String(); got != want {
			t.Errorf("%#x: got %q, want %q", uint32(a), got, want)
		}
	}
}

func TestCheckRSASize(t *testing.T) {
	rsa := func(bits uint32) Attributes { return Attributes{Type: KeyTypeRSAKeyPair, Bits: bits} }
	for _, tt := range []struct {
		a       Attributes
		import_ bool
		ok      bool
	}{
		{rsa(2048), false, true}, {rsa(1024), false, true}, {rsa(4096), false, true},
		{rsa(3072), false, false}, {rsa(0), false, false}, {rsa(0), true, true}, {rsa(3072), true, false},
		{Attributes{Type: ECCKeyPair(EccSecpR1), Bits: 256}, false, true},
	} {
		err := tt.a.CheckRSASize(tt.import_)
		if (err == nil) != tt.ok || err != nil && !errors.Is(err, wire.StatusPsaErrorInvalidArgument) {
			t.Errorf("%+v import=%v: %v", tt.a, tt.import_, err)
		}
	}
}

// FuzzAlgorithmString: every 32-bit value names itself without a panic
// and without recursing (a known or a hexadecimal name, never empty).
func FuzzAlgorithmString(f *testing.F) {
	for _, a := range []uint32{0, 0x09400000, 0x09020000, 0x06000609, 0x05500200, 0x7f000001, 0xffffffff} {
		f.Add(a)
	}
	f.Fuzz(func(t *testing.T, a uint32) {
		if Algorithm(a).String() == "" {
			t.Fatalf("%#x has an empty name", a)
		}
	})
}

// Every category's values with the low bits set in common patterns name
// themselves (a quick sweep beside the fuzzer).
func TestAlgorithmStringTerminates(t *testing.T) {
	for c := uint32(0); c < 256; c++ {
		for _, low := range []uint32{0, 1, 0x09, 0xff, 0x100, 0x400000, 0x800000, 0xffffff, 0x020000, 0x020009} {
			if Algorithm(c<<24|low).String() == "" {
				t.Fatalf("%#x has an empty name", c<<24|low)
			}
		}
	}
}
