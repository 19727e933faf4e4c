package psa

import (
	"testing"

	"github.com/parsec-go/parsec/wire"
)

func TestCompatible(t *testing.T) {
	ecc := ECCKeyPair(EccSecpR1)
	cases := []struct {
		t    KeyType
		alg  Algorithm
		want bool
	}{
		{KeyTypeRawData, AlgCTR, false},
		{KeyTypeHMAC, HMAC(AlgSHA256), true},
		{KeyTypeHMAC, TruncatedMAC(HMAC(AlgSHA256), 16), true},
		{KeyTypeHMAC, AlgCMAC, false},
		{KeyTypeDerive, HKDF(AlgSHA256), true},
		{KeyTypeAES, AlgCMAC, true},
		{KeyTypeAES, AlgGCM, true},
		{KeyTypeAES, AEADWithTag(AlgCCM, 8), true},
		{KeyTypeAES, AlgChaCha20Poly1305, false},
		{KeyTypeAES, AlgStreamCipher, false},
		{KeyTypeDES, AlgGCM, false},
		{KeyTypeDES, AlgCBCNoPadding, true},
		{KeyTypeARC4, AlgStreamCipher, true},
		{KeyTypeChaCha20, AlgStreamCipher, true},
		{KeyTypeChaCha20, AlgChaCha20Poly1305, true},
		{KeyTypeRSAKeyPair, RSAPKCS1v15Sign(AlgSHA256), true},
		{KeyTypeRSAKeyPair, RSAOAEP(AlgSHA256), true},
		{KeyTypeRSAPublicKey, ECDSA(AlgSHA256), false},
		{ecc, ECDSA(AlgSHA256), true},
		{ecc, AlgECDH, true},
		{ecc, AlgFFDH, false},
		{ecc, RSAOAEP(AlgSHA256), false},
	}
	for _, c := range cases {
		if got := Compatible(c.t, c.alg); got != c.want {
			t.Errorf("Compatible(%v, %v) = %v", c.t, c.alg, got)
		}
	}
	// A restriction removes a type that the rule allows, and only that.
	r := Restrictions{NoTypes: []KeyType{KeyTypeARC4}}
	if r.Compatible(KeyTypeARC4, AlgStreamCipher) || !r.Compatible(KeyTypeChaCha20, AlgStreamCipher) {
		t.Error("restriction not applied as declared")
	}
}

func TestCheckUse(t *testing.T) {
	a := Attributes{Type: KeyTypeAES, Bits: 128, Usage: UsageEncrypt, Alg: AlgCTR}
	r := Restrictions{}
	if err := a.CheckUse(UsageEncrypt, AlgCTR, r); err != nil {
		t.Errorf("permitted use refused: %v", err)
	}
	for name, err := range map[string]error{
		"usage":         a.CheckUse(UsageDecrypt, AlgCTR, r),
		"algorithm":     a.CheckUse(UsageEncrypt, AlgCBCNoPadding, r),
		"compatibility": Attributes{Type: KeyTypeHMAC, Usage: UsageEncrypt, Alg: AlgCTR}.CheckUse(UsageEncrypt, AlgCTR, r),
		"restriction":   a.CheckUse(UsageEncrypt, AlgCTR, Restrictions{NoTypes: []KeyType{KeyTypeAES}}),
	} {
		if wire.StatusOf(err, 0) != wire.StatusPsaErrorNotPermitted {
			t.Errorf("%s: %v, want NotPermitted", name, err)
		}
	}
}
