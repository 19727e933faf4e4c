package psa

import "fmt"

// KeyType is a psa_key_type_t.
type KeyType uint16

// EccFamily is a psa_ecc_family_t.
type EccFamily uint8

// DhFamily is a psa_dh_family_t.
type DhFamily uint8

// Key types.
const (
	KeyTypeNone     KeyType = 0
	KeyTypeRawData  KeyType = 0x1001
	KeyTypeHMAC     KeyType = 0x1100
	KeyTypeDerive   KeyType = 0x1200
	KeyTypeAES      KeyType = 0x2400
	KeyTypeDES      KeyType = 0x2301
	KeyTypeCamellia KeyType = 0x2403
	KeyTypeARC4     KeyType = 0x2002
	KeyTypeChaCha20 KeyType = 0x2004

	KeyTypeRSAPublicKey KeyType = 0x4001
	KeyTypeRSAKeyPair   KeyType = 0x7001

	keyTypeECCPublicBase KeyType = 0x4100
	keyTypeECCPairBase   KeyType = 0x7100
	keyTypeDHPublicBase  KeyType = 0x4200
	keyTypeDHPairBase    KeyType = 0x7200
	keyTypeFamilyMask    KeyType = 0x00ff
	keyTypePairFlag      KeyType = 0x3000
)

// Curve and group families.
const (
	EccSecpK1       EccFamily = 0x17
	EccSecpR1       EccFamily = 0x12
	EccSecpR2       EccFamily = 0x1b
	EccSectK1       EccFamily = 0x27
	EccSectR1       EccFamily = 0x22
	EccSectR2       EccFamily = 0x2b
	EccBrainpoolPR1 EccFamily = 0x30
	EccFRP          EccFamily = 0x33
	EccMontgomery   EccFamily = 0x41
	DhRFC7919       DhFamily  = 0x03
)

// ECCKeyPair and ECCPublicKey build the key types of a curve family.
func ECCKeyPair(f EccFamily) KeyType   { return keyTypeECCPairBase | KeyType(f) }
func ECCPublicKey(f EccFamily) KeyType { return keyTypeECCPublicBase | KeyType(f) }
func DHKeyPair(f DhFamily) KeyType     { return keyTypeDHPairBase | KeyType(f) }
func DHPublicKey(f DhFamily) KeyType   { return keyTypeDHPublicBase | KeyType(f) }

func (t KeyType) IsECC() bool { return t&^keyTypeFamilyMask&^keyTypePairFlag == keyTypeECCPublicBase }
func (t KeyType) IsDH() bool  { return t&^keyTypeFamilyMask&^keyTypePairFlag == keyTypeDHPublicBase }
func (t KeyType) IsRSA() bool { return t == KeyTypeRSAPublicKey || t == KeyTypeRSAKeyPair }
func (t KeyType) IsKeyPair() bool {
	return (t.IsECC() || t.IsDH() || t.IsRSA()) && t&keyTypePairFlag == keyTypePairFlag
}
func (t KeyType) IsPublicKey() bool  { return (t.IsECC() || t.IsDH() || t.IsRSA()) && !t.IsKeyPair() }
func (t KeyType) IsAsymmetric() bool { return t.IsECC() || t.IsDH() || t.IsRSA() }

// EccFamily is the curve family of an ECC key type.
func (t KeyType) EccFamily() EccFamily { return EccFamily(t & keyTypeFamilyMask) }

// DhFamily is the group family of a DH key type.
func (t KeyType) DhFamily() DhFamily { return DhFamily(t & keyTypeFamilyMask) }

// PublicKeyType is the public half of a key pair type (itself otherwise).
func (t KeyType) PublicKeyType() KeyType {
	if t.IsKeyPair() {
		return t&^keyTypePairFlag | 0x4000
	}
	return t
}

func (t KeyType) String() string {
	switch {
	case t == KeyTypeRawData:
		return "RAW_DATA"
	case t == KeyTypeHMAC:
		return "HMAC"
	case t == KeyTypeDerive:
		return "DERIVE"
	case t == KeyTypeAES:
		return "AES"
	case t == KeyTypeDES:
		return "DES"
	case t == KeyTypeCamellia:
		return "CAMELLIA"
	case t == KeyTypeARC4:
		return "ARC4"
	case t == KeyTypeChaCha20:
		return "CHACHA20"
	case t == KeyTypeRSAPublicKey:
		return "RSA_PUBLIC_KEY"
	case t == KeyTypeRSAKeyPair:
		return "RSA_KEY_PAIR"
	case t.IsECC() && t.IsKeyPair():
		return fmt.Sprintf("ECC_KEY_PAIR(%#x)", uint8(t.EccFamily()))
	case t.IsECC():
		return fmt.Sprintf("ECC_PUBLIC_KEY(%#x)", uint8(t.EccFamily()))
	case t.IsDH() && t.IsKeyPair():
		return fmt.Sprintf("DH_KEY_PAIR(%#x)", uint8(t.DhFamily()))
	case t.IsDH():
		return fmt.Sprintf("DH_PUBLIC_KEY(%#x)", uint8(t.DhFamily()))
	}
	return fmt.Sprintf("KeyType(%#04x)", uint16(t))
}
