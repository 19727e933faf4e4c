package psa

import (
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// Conversion between Parsec's protobuf model and the numeric PSA model.
// Decoding failures (missing mandatory message, enum value 0 or unknown)
// are reported as InvalidEncoding, as the Rust service does.

func invalid(format string, args ...any) error {
	return wire.Errorf(wire.StatusInvalidEncoding, format, args...)
}

var hashFromProto = map[pb.Algorithm_Hash]Algorithm{
	pb.Algorithm_MD2: AlgMD2, pb.Algorithm_MD4: AlgMD4, pb.Algorithm_MD5: AlgMD5,
	pb.Algorithm_RIPEMD160: AlgRIPEMD160, pb.Algorithm_SHA_1: AlgSHA1,
	pb.Algorithm_SHA_224: AlgSHA224, pb.Algorithm_SHA_256: AlgSHA256,
	pb.Algorithm_SHA_384: AlgSHA384, pb.Algorithm_SHA_512: AlgSHA512,
	pb.Algorithm_SHA_512_224: AlgSHA512_224, pb.Algorithm_SHA_512_256: AlgSHA512_256,
	pb.Algorithm_SHA3_224: AlgSHA3_224, pb.Algorithm_SHA3_256: AlgSHA3_256,
	pb.Algorithm_SHA3_384: AlgSHA3_384, pb.Algorithm_SHA3_512: AlgSHA3_512,
}

var hashToProto = invert(hashFromProto)

var cipherFromProto = map[pb.Algorithm_Cipher]Algorithm{
	pb.Algorithm_STREAM_CIPHER: AlgStreamCipher, pb.Algorithm_CTR: AlgCTR,
	pb.Algorithm_CFB: AlgCFB, pb.Algorithm_OFB: AlgOFB, pb.Algorithm_XTS: AlgXTS,
	pb.Algorithm_ECB_NO_PADDING: AlgECBNoPadding, pb.Algorithm_CBC_NO_PADDING: AlgCBCNoPadding,
	pb.Algorithm_CBC_PKCS7: AlgCBCPKCS7,
}

var cipherToProto = invert(cipherFromProto)

var aeadFromProto = map[pb.Algorithm_Aead_AeadWithDefaultLengthTag]Algorithm{
	pb.Algorithm_Aead_CCM: AlgCCM, pb.Algorithm_Aead_GCM: AlgGCM,
	pb.Algorithm_Aead_CHACHA20_POLY1305: AlgChaCha20Poly1305,
}

var aeadToProto = invert(aeadFromProto)

var eccFromProto = map[pb.KeyType_EccFamily]EccFamily{
	pb.KeyType_SECP_K1: EccSecpK1, pb.KeyType_SECP_R1: EccSecpR1, pb.KeyType_SECP_R2: EccSecpR2,
	pb.KeyType_SECT_K1: EccSectK1, pb.KeyType_SECT_R1: EccSectR1, pb.KeyType_SECT_R2: EccSectR2,
	pb.KeyType_BRAINPOOL_P_R1: EccBrainpoolPR1, pb.KeyType_FRP: EccFRP,
	pb.KeyType_MONTGOMERY: EccMontgomery,
}

var eccToProto = invert(eccFromProto)

func invert[K, V comparable](m map[K]V) map[V]K {
	r := make(map[V]K, len(m))
	for k, v := range m {
		r[v] = k
	}
	return r
}

// HashFromProto converts a Hash enum.
func HashFromProto(h pb.Algorithm_Hash) (Algorithm, error) {
	if a, ok := hashFromProto[h]; ok {
		return a, nil
	}
	return 0, invalid("invalid hash algorithm %d", h)
}

// HashToProto converts a hash algorithm.
func HashToProto(a Algorithm) (pb.Algorithm_Hash, error) {
	if h, ok := hashToProto[a]; ok {
		return h, nil
	}
	return 0, invalid("%v has no protobuf hash encoding", a)
}

func signHashFromProto(s *pb.Algorithm_AsymmetricSignature_SignHash) (Algorithm, error) {
	switch v := s.GetVariant().(type) {
	case *pb.Algorithm_AsymmetricSignature_SignHash_Any_:
		return AlgAnyHash, nil
	case *pb.Algorithm_AsymmetricSignature_SignHash_Specific:
		return HashFromProto(v.Specific)
	}
	return 0, invalid("signature hash is missing")
}

func signHashToProto(h Algorithm) (*pb.Algorithm_AsymmetricSignature_SignHash, error) {
	if h == AlgAnyHash {
		return &pb.Algorithm_AsymmetricSignature_SignHash{Variant: &pb.Algorithm_AsymmetricSignature_SignHash_Any_{Any: &pb.Algorithm_AsymmetricSignature_SignHash_Any{}}}, nil
	}
	ph, err := HashToProto(h)
	if err != nil {
		return nil, err
	}
	return &pb.Algorithm_AsymmetricSignature_SignHash{Variant: &pb.Algorithm_AsymmetricSignature_SignHash_Specific{Specific: ph}}, nil
}

// SignFromProto converts an AsymmetricSignature algorithm.
func SignFromProto(s *pb.Algorithm_AsymmetricSignature) (Algorithm, error) {
	type hashed interface {
		GetHashAlg() *pb.Algorithm_AsymmetricSignature_SignHash
	}
	var base Algorithm
	var hv hashed
	switch v := s.GetVariant().(type) {
	case *pb.Algorithm_AsymmetricSignature_RsaPkcs1V15Sign_:
		base, hv = algRSAPKCS1v15SignBase, v.RsaPkcs1V15Sign
	case *pb.Algorithm_AsymmetricSignature_RsaPkcs1V15SignRaw_:
		return AlgRSAPKCS1v15SignRaw, nil
	case *pb.Algorithm_AsymmetricSignature_RsaPss_:
		base, hv = algRSAPSSBase, v.RsaPss
	case *pb.Algorithm_AsymmetricSignature_Ecdsa_:
		base, hv = algECDSABase, v.Ecdsa
	case *pb.Algorithm_AsymmetricSignature_EcdsaAny_:
		return AlgECDSAAny, nil
	case *pb.Algorithm_AsymmetricSignature_DeterministicEcdsa_:
		base, hv = algDetECDSABase, v.DeterministicEcdsa
	default:
		return 0, invalid("asymmetric signature algorithm is missing")
	}
	h, err := signHashFromProto(hv.GetHashAlg())
	if err != nil {
		return 0, err
	}
	return base | h&hashMask, nil
}

// SignToProto converts a signature algorithm.
func SignToProto(a Algorithm) (*pb.Algorithm_AsymmetricSignature, error) {
	if !a.IsSign() {
		return nil, invalid("%v is not a signature algorithm", a)
	}
	switch a {
	case AlgRSAPKCS1v15SignRaw:
		return &pb.Algorithm_AsymmetricSignature{Variant: &pb.Algorithm_AsymmetricSignature_RsaPkcs1V15SignRaw_{RsaPkcs1V15SignRaw: &pb.Algorithm_AsymmetricSignature_RsaPkcs1V15SignRaw{}}}, nil
	case AlgECDSAAny:
		return &pb.Algorithm_AsymmetricSignature{Variant: &pb.Algorithm_AsymmetricSignature_EcdsaAny_{EcdsaAny: &pb.Algorithm_AsymmetricSignature_EcdsaAny{}}}, nil
	}
	h, err := signHashToProto(a.HashAlg())
	if err != nil {
		return nil, err
	}
	switch a.SignBase() {
	case algRSAPKCS1v15SignBase:
		return &pb.Algorithm_AsymmetricSignature{Variant: &pb.Algorithm_AsymmetricSignature_RsaPkcs1V15Sign_{RsaPkcs1V15Sign: &pb.Algorithm_AsymmetricSignature_RsaPkcs1V15Sign{HashAlg: h}}}, nil
	case algRSAPSSBase:
		return &pb.Algorithm_AsymmetricSignature{Variant: &pb.Algorithm_AsymmetricSignature_RsaPss_{RsaPss: &pb.Algorithm_AsymmetricSignature_RsaPss{HashAlg: h}}}, nil
	case algECDSABase:
		return &pb.Algorithm_AsymmetricSignature{Variant: &pb.Algorithm_AsymmetricSignature_Ecdsa_{Ecdsa: &pb.Algorithm_AsymmetricSignature_Ecdsa{HashAlg: h}}}, nil
	case algDetECDSABase:
		return &pb.Algorithm_AsymmetricSignature{Variant: &pb.Algorithm_AsymmetricSignature_DeterministicEcdsa_{DeterministicEcdsa: &pb.Algorithm_AsymmetricSignature_DeterministicEcdsa{HashAlg: h}}}, nil
	}
	return nil, invalid("%v has no protobuf encoding", a)
}

// AsymEncryptFromProto converts an AsymmetricEncryption algorithm.
func AsymEncryptFromProto(e *pb.Algorithm_AsymmetricEncryption) (Algorithm, error) {
	switch v := e.GetVariant().(type) {
	case *pb.Algorithm_AsymmetricEncryption_RsaPkcs1V15Crypt_:
		return AlgRSAPKCS1v15Crypt, nil
	case *pb.Algorithm_AsymmetricEncryption_RsaOaep_:
		h, err := HashFromProto(v.RsaOaep.GetHashAlg())
		if err != nil {
			return 0, err
		}
		return RSAOAEP(h), nil
	}
	return 0, invalid("asymmetric encryption algorithm is missing")
}

// AsymEncryptToProto converts an asymmetric encryption algorithm.
func AsymEncryptToProto(a Algorithm) (*pb.Algorithm_AsymmetricEncryption, error) {
	switch {
	case a == AlgRSAPKCS1v15Crypt:
		return &pb.Algorithm_AsymmetricEncryption{Variant: &pb.Algorithm_AsymmetricEncryption_RsaPkcs1V15Crypt_{RsaPkcs1V15Crypt: &pb.Algorithm_AsymmetricEncryption_RsaPkcs1V15Crypt{}}}, nil
	case a.IsRSAOAEP():
		h, err := HashToProto(a.HashAlg())
		if err != nil {
			return nil, err
		}
		return &pb.Algorithm_AsymmetricEncryption{Variant: &pb.Algorithm_AsymmetricEncryption_RsaOaep_{RsaOaep: &pb.Algorithm_AsymmetricEncryption_RsaOaep{HashAlg: h}}}, nil
	}
	return nil, invalid("%v is not an asymmetric encryption algorithm", a)
}

// CipherFromProto converts a Cipher enum.
func CipherFromProto(c pb.Algorithm_Cipher) (Algorithm, error) {
	if a, ok := cipherFromProto[c]; ok {
		return a, nil
	}
	return 0, invalid("invalid cipher algorithm %d", c)
}

// CipherToProto converts a cipher algorithm.
func CipherToProto(a Algorithm) (pb.Algorithm_Cipher, error) {
	if c, ok := cipherToProto[a]; ok {
		return c, nil
	}
	return 0, invalid("%v is not a cipher algorithm", a)
}

// AEADFromProto converts an Aead algorithm.
func AEADFromProto(a *pb.Algorithm_Aead) (Algorithm, error) {
	switch v := a.GetVariant().(type) {
	case *pb.Algorithm_Aead_AeadWithDefaultLengthTag_:
		if alg, ok := aeadFromProto[v.AeadWithDefaultLengthTag]; ok {
			return alg, nil
		}
		return 0, invalid("invalid AEAD algorithm %d", v.AeadWithDefaultLengthTag)
	case *pb.Algorithm_Aead_AeadWithShortenedTag_:
		alg, ok := aeadFromProto[v.AeadWithShortenedTag.GetAeadAlg()]
		if !ok {
			return 0, invalid("invalid AEAD algorithm %d", v.AeadWithShortenedTag.GetAeadAlg())
		}
		l := v.AeadWithShortenedTag.GetTagLength()
		if l > 0x3f {
			return 0, invalid("AEAD tag length %d out of range", l)
		}
		return AEADWithTag(alg, int(l)), nil
	}
	return 0, invalid("AEAD algorithm is missing")
}

// AEADToProto converts an AEAD algorithm.
func AEADToProto(a Algorithm) (*pb.Algorithm_Aead, error) {
	base := a.AEADBase()
	p, ok := aeadToProto[base]
	if !ok || a&AlgAEADAtLeastThisLength != 0 {
		return nil, invalid("%v has no protobuf AEAD encoding", a)
	}
	if a == base {
		return &pb.Algorithm_Aead{Variant: &pb.Algorithm_Aead_AeadWithDefaultLengthTag_{AeadWithDefaultLengthTag: p}}, nil
	}
	return &pb.Algorithm_Aead{Variant: &pb.Algorithm_Aead_AeadWithShortenedTag_{AeadWithShortenedTag: &pb.Algorithm_Aead_AeadWithShortenedTag{AeadAlg: p, TagLength: uint32(a.AEADTagLength())}}}, nil
}

func fullMACFromProto(m *pb.Algorithm_Mac_FullLength) (Algorithm, error) {
	switch v := m.GetVariant().(type) {
	case *pb.Algorithm_Mac_FullLength_Hmac_:
		h, err := HashFromProto(v.Hmac.GetHashAlg())
		if err != nil {
			return 0, err
		}
		return HMAC(h), nil
	case *pb.Algorithm_Mac_FullLength_CbcMac_:
		return AlgCBCMAC, nil
	case *pb.Algorithm_Mac_FullLength_Cmac_:
		return AlgCMAC, nil
	}
	return 0, invalid("MAC algorithm is missing")
}

// MACFromProto converts a Mac algorithm.
func MACFromProto(m *pb.Algorithm_Mac) (Algorithm, error) {
	switch v := m.GetVariant().(type) {
	case *pb.Algorithm_Mac_FullLength_:
		return fullMACFromProto(v.FullLength)
	case *pb.Algorithm_Mac_Truncated_:
		base, err := fullMACFromProto(v.Truncated.GetMacAlg())
		if err != nil {
			return 0, err
		}
		l := v.Truncated.GetMacLength()
		if l == 0 || l > 0x3f {
			return 0, invalid("MAC length %d out of range", l)
		}
		return TruncatedMAC(base, int(l)), nil
	}
	return 0, invalid("MAC algorithm is missing")
}

func fullMACToProto(a Algorithm) (*pb.Algorithm_Mac_FullLength, error) {
	switch {
	case a == AlgCBCMAC:
		return &pb.Algorithm_Mac_FullLength{Variant: &pb.Algorithm_Mac_FullLength_CbcMac_{CbcMac: &pb.Algorithm_Mac_FullLength_CbcMac{}}}, nil
	case a == AlgCMAC:
		return &pb.Algorithm_Mac_FullLength{Variant: &pb.Algorithm_Mac_FullLength_Cmac_{Cmac: &pb.Algorithm_Mac_FullLength_Cmac{}}}, nil
	case a&^hashMask == algHMACBase:
		h, err := HashToProto(a.HashAlg())
		if err != nil {
			return nil, err
		}
		return &pb.Algorithm_Mac_FullLength{Variant: &pb.Algorithm_Mac_FullLength_Hmac_{Hmac: &pb.Algorithm_Mac_FullLength_Hmac{HashAlg: h}}}, nil
	}
	return nil, invalid("%v has no protobuf MAC encoding", a)
}

// MACToProto converts a MAC algorithm.
func MACToProto(a Algorithm) (*pb.Algorithm_Mac, error) {
	if !a.IsMAC() || a&AlgMACAtLeastThisLength != 0 {
		return nil, invalid("%v has no protobuf MAC encoding", a)
	}
	full, err := fullMACToProto(a.MACBase())
	if err != nil {
		return nil, err
	}
	if a.MACLength() == 0 {
		return &pb.Algorithm_Mac{Variant: &pb.Algorithm_Mac_FullLength_{FullLength: full}}, nil
	}
	return &pb.Algorithm_Mac{Variant: &pb.Algorithm_Mac_Truncated_{Truncated: &pb.Algorithm_Mac_Truncated{MacAlg: full, MacLength: uint32(a.MACLength())}}}, nil
}

// RawKeyAgreementFromProto converts a raw key agreement enum.
func RawKeyAgreementFromProto(r pb.Algorithm_KeyAgreement_Raw) (Algorithm, error) {
	switch r {
	case pb.Algorithm_KeyAgreement_FFDH:
		return AlgFFDH, nil
	case pb.Algorithm_KeyAgreement_ECDH:
		return AlgECDH, nil
	}
	return 0, invalid("invalid raw key agreement %d", r)
}

// RawKeyAgreementToProto converts a raw key agreement algorithm.
func RawKeyAgreementToProto(a Algorithm) (pb.Algorithm_KeyAgreement_Raw, error) {
	switch a {
	case AlgFFDH:
		return pb.Algorithm_KeyAgreement_FFDH, nil
	case AlgECDH:
		return pb.Algorithm_KeyAgreement_ECDH, nil
	}
	return 0, invalid("%v is not a raw key agreement", a)
}

// KDFFromProto converts a KeyDerivation algorithm.
func KDFFromProto(k *pb.Algorithm_KeyDerivation) (Algorithm, error) {
	var build func(Algorithm) Algorithm
	var h pb.Algorithm_Hash
	switch v := k.GetVariant().(type) {
	case *pb.Algorithm_KeyDerivation_Hkdf_:
		build, h = HKDF, v.Hkdf.GetHashAlg()
	case *pb.Algorithm_KeyDerivation_Tls12Prf_:
		build, h = TLS12PRF, v.Tls12Prf.GetHashAlg()
	case *pb.Algorithm_KeyDerivation_Tls12PskToMs_:
		build, h = TLS12PSKToMS, v.Tls12PskToMs.GetHashAlg()
	default:
		return 0, invalid("key derivation algorithm is missing")
	}
	ha, err := HashFromProto(h)
	if err != nil {
		return 0, err
	}
	return build(ha), nil
}

// KDFToProto converts a key derivation algorithm.
func KDFToProto(a Algorithm) (*pb.Algorithm_KeyDerivation, error) {
	h, err := HashToProto(a.HashAlg())
	if err != nil {
		return nil, err
	}
	switch a &^ hashMask {
	case algHKDFBase:
		return &pb.Algorithm_KeyDerivation{Variant: &pb.Algorithm_KeyDerivation_Hkdf_{Hkdf: &pb.Algorithm_KeyDerivation_Hkdf{HashAlg: h}}}, nil
	case algTLS12PRFBase:
		return &pb.Algorithm_KeyDerivation{Variant: &pb.Algorithm_KeyDerivation_Tls12Prf_{Tls12Prf: &pb.Algorithm_KeyDerivation_Tls12Prf{HashAlg: h}}}, nil
	case algTLS12PSKToMSBase:
		return &pb.Algorithm_KeyDerivation{Variant: &pb.Algorithm_KeyDerivation_Tls12PskToMs_{Tls12PskToMs: &pb.Algorithm_KeyDerivation_Tls12PskToMs{HashAlg: h}}}, nil
	}
	return nil, invalid("%v has no protobuf key derivation encoding", a)
}

// AlgorithmFromProto converts a policy Algorithm.
func AlgorithmFromProto(a *pb.Algorithm) (Algorithm, error) {
	switch v := a.GetVariant().(type) {
	case *pb.Algorithm_None_:
		return AlgNone, nil
	case *pb.Algorithm_Hash_:
		return HashFromProto(v.Hash)
	case *pb.Algorithm_Mac_:
		return MACFromProto(v.Mac)
	case *pb.Algorithm_Cipher_:
		return CipherFromProto(v.Cipher)
	case *pb.Algorithm_Aead_:
		return AEADFromProto(v.Aead)
	case *pb.Algorithm_AsymmetricSignature_:
		return SignFromProto(v.AsymmetricSignature)
	case *pb.Algorithm_AsymmetricEncryption_:
		return AsymEncryptFromProto(v.AsymmetricEncryption)
	case *pb.Algorithm_KeyAgreement_:
		switch k := v.KeyAgreement.GetVariant().(type) {
		case *pb.Algorithm_KeyAgreement_Raw_:
			return RawKeyAgreementFromProto(k.Raw)
		case *pb.Algorithm_KeyAgreement_WithKeyDerivation_:
			ka, err := RawKeyAgreementFromProto(k.WithKeyDerivation.GetKaAlg())
			if err != nil {
				return 0, err
			}
			kdf, err := KDFFromProto(k.WithKeyDerivation.GetKdfAlg())
			if err != nil {
				return 0, err
			}
			return KeyAgreementWithKDF(ka, kdf), nil
		}
		return 0, invalid("key agreement algorithm is missing")
	case *pb.Algorithm_KeyDerivation_:
		return KDFFromProto(v.KeyDerivation)
	}
	return 0, invalid("algorithm is missing")
}

// AlgorithmToProto converts a policy algorithm.
func AlgorithmToProto(a Algorithm) (*pb.Algorithm, error) {
	switch {
	case a == AlgNone:
		return &pb.Algorithm{Variant: &pb.Algorithm_None_{None: &pb.Algorithm_None{}}}, nil
	case a.IsHash():
		h, err := HashToProto(a)
		return &pb.Algorithm{Variant: &pb.Algorithm_Hash_{Hash: h}}, err
	case a.IsMAC():
		m, err := MACToProto(a)
		return &pb.Algorithm{Variant: &pb.Algorithm_Mac_{Mac: m}}, err
	case a.IsCipher():
		c, err := CipherToProto(a)
		return &pb.Algorithm{Variant: &pb.Algorithm_Cipher_{Cipher: c}}, err
	case a.IsAEAD():
		x, err := AEADToProto(a)
		return &pb.Algorithm{Variant: &pb.Algorithm_Aead_{Aead: x}}, err
	case a.IsSign():
		s, err := SignToProto(a)
		return &pb.Algorithm{Variant: &pb.Algorithm_AsymmetricSignature_{AsymmetricSignature: s}}, err
	case a.IsAsymEncrypt():
		e, err := AsymEncryptToProto(a)
		return &pb.Algorithm{Variant: &pb.Algorithm_AsymmetricEncryption_{AsymmetricEncryption: e}}, err
	case a.IsKeyDerivation():
		k, err := KDFToProto(a)
		return &pb.Algorithm{Variant: &pb.Algorithm_KeyDerivation_{KeyDerivation: k}}, err
	case a.IsRawKeyAgreement():
		r, err := RawKeyAgreementToProto(a)
		return &pb.Algorithm{Variant: &pb.Algorithm_KeyAgreement_{KeyAgreement: &pb.Algorithm_KeyAgreement{Variant: &pb.Algorithm_KeyAgreement_Raw_{Raw: r}}}}, err
	case a.IsKeyAgreement():
		r, err := RawKeyAgreementToProto(a.KeyAgreementBase())
		if err != nil {
			return nil, err
		}
		k, err := KDFToProto(a.KeyAgreementKDF())
		if err != nil {
			return nil, err
		}
		return &pb.Algorithm{Variant: &pb.Algorithm_KeyAgreement_{KeyAgreement: &pb.Algorithm_KeyAgreement{Variant: &pb.Algorithm_KeyAgreement_WithKeyDerivation_{WithKeyDerivation: &pb.Algorithm_KeyAgreement_WithKeyDerivation{KaAlg: r, KdfAlg: k}}}}}, nil
	}
	return nil, invalid("%v has no protobuf encoding", a)
}

// KeyTypeFromProto converts a KeyType.
func KeyTypeFromProto(t *pb.KeyType) (KeyType, error) {
	switch v := t.GetVariant().(type) {
	case *pb.KeyType_RawData_:
		return KeyTypeRawData, nil
	case *pb.KeyType_Hmac_:
		return KeyTypeHMAC, nil
	case *pb.KeyType_Derive_:
		return KeyTypeDerive, nil
	case *pb.KeyType_Aes_:
		return KeyTypeAES, nil
	case *pb.KeyType_Des_:
		return KeyTypeDES, nil
	case *pb.KeyType_Camellia_:
		return KeyTypeCamellia, nil
	case *pb.KeyType_Arc4_:
		return KeyTypeARC4, nil
	case *pb.KeyType_Chacha20_:
		return KeyTypeChaCha20, nil
	case *pb.KeyType_RsaPublicKey_:
		return KeyTypeRSAPublicKey, nil
	case *pb.KeyType_RsaKeyPair_:
		return KeyTypeRSAKeyPair, nil
	case *pb.KeyType_EccKeyPair_:
		f, ok := eccFromProto[v.EccKeyPair.GetCurveFamily()]
		if !ok {
			return 0, invalid("invalid ECC curve family %d", v.EccKeyPair.GetCurveFamily())
		}
		return ECCKeyPair(f), nil
	case *pb.KeyType_EccPublicKey_:
		f, ok := eccFromProto[v.EccPublicKey.GetCurveFamily()]
		if !ok {
			return 0, invalid("invalid ECC curve family %d", v.EccPublicKey.GetCurveFamily())
		}
		return ECCPublicKey(f), nil
	case *pb.KeyType_DhKeyPair_:
		if v.DhKeyPair.GetGroupFamily() != pb.KeyType_RFC7919 {
			return 0, invalid("invalid DH group family %d", v.DhKeyPair.GetGroupFamily())
		}
		return DHKeyPair(DhRFC7919), nil
	case *pb.KeyType_DhPublicKey_:
		if v.DhPublicKey.GetGroupFamily() != pb.KeyType_RFC7919 {
			return 0, invalid("invalid DH group family %d", v.DhPublicKey.GetGroupFamily())
		}
		return DHPublicKey(DhRFC7919), nil
	}
	return 0, invalid("key type is missing")
}

// KeyTypeToProto converts a key type.
func KeyTypeToProto(t KeyType) (*pb.KeyType, error) {
	switch t {
	case KeyTypeRawData:
		return &pb.KeyType{Variant: &pb.KeyType_RawData_{RawData: &pb.KeyType_RawData{}}}, nil
	case KeyTypeHMAC:
		return &pb.KeyType{Variant: &pb.KeyType_Hmac_{Hmac: &pb.KeyType_Hmac{}}}, nil
	case KeyTypeDerive:
		return &pb.KeyType{Variant: &pb.KeyType_Derive_{Derive: &pb.KeyType_Derive{}}}, nil
	case KeyTypeAES:
		return &pb.KeyType{Variant: &pb.KeyType_Aes_{Aes: &pb.KeyType_Aes{}}}, nil
	case KeyTypeDES:
		return &pb.KeyType{Variant: &pb.KeyType_Des_{Des: &pb.KeyType_Des{}}}, nil
	case KeyTypeCamellia:
		return &pb.KeyType{Variant: &pb.KeyType_Camellia_{Camellia: &pb.KeyType_Camellia{}}}, nil
	case KeyTypeARC4:
		return &pb.KeyType{Variant: &pb.KeyType_Arc4_{Arc4: &pb.KeyType_Arc4{}}}, nil
	case KeyTypeChaCha20:
		return &pb.KeyType{Variant: &pb.KeyType_Chacha20_{Chacha20: &pb.KeyType_Chacha20{}}}, nil
	case KeyTypeRSAPublicKey:
		return &pb.KeyType{Variant: &pb.KeyType_RsaPublicKey_{RsaPublicKey: &pb.KeyType_RsaPublicKey{}}}, nil
	case KeyTypeRSAKeyPair:
		return &pb.KeyType{Variant: &pb.KeyType_RsaKeyPair_{RsaKeyPair: &pb.KeyType_RsaKeyPair{}}}, nil
	}
	switch {
	case t.IsECC():
		f, ok := eccToProto[t.EccFamily()]
		if !ok {
			break
		}
		if t.IsKeyPair() {
			return &pb.KeyType{Variant: &pb.KeyType_EccKeyPair_{EccKeyPair: &pb.KeyType_EccKeyPair{CurveFamily: f}}}, nil
		}
		return &pb.KeyType{Variant: &pb.KeyType_EccPublicKey_{EccPublicKey: &pb.KeyType_EccPublicKey{CurveFamily: f}}}, nil
	case t.IsDH() && t.DhFamily() == DhRFC7919:
		if t.IsKeyPair() {
			return &pb.KeyType{Variant: &pb.KeyType_DhKeyPair_{DhKeyPair: &pb.KeyType_DhKeyPair{GroupFamily: pb.KeyType_RFC7919}}}, nil
		}
		return &pb.KeyType{Variant: &pb.KeyType_DhPublicKey_{DhPublicKey: &pb.KeyType_DhPublicKey{GroupFamily: pb.KeyType_RFC7919}}}, nil
	}
	return nil, invalid("%v has no protobuf encoding", t)
}

// UsageFromProto converts UsageFlags.
func UsageFromProto(u *pb.UsageFlags) Usage {
	var r Usage
	set := func(b bool, f Usage) {
		if b {
			r |= f
		}
	}
	set(u.GetExport(), UsageExport)
	set(u.GetCopy(), UsageCopy)
	set(u.GetCache(), UsageCache)
	set(u.GetEncrypt(), UsageEncrypt)
	set(u.GetDecrypt(), UsageDecrypt)
	set(u.GetSignMessage(), UsageSignMessage)
	set(u.GetVerifyMessage(), UsageVerifyMessage)
	set(u.GetSignHash(), UsageSignHash)
	set(u.GetVerifyHash(), UsageVerifyHash)
	set(u.GetDerive(), UsageDerive)
	return r
}

// UsageToProto converts usage flags.
func UsageToProto(u Usage) *pb.UsageFlags {
	return &pb.UsageFlags{
		Export: u&UsageExport != 0, Copy: u&UsageCopy != 0, Cache: u&UsageCache != 0,
		Encrypt: u&UsageEncrypt != 0, Decrypt: u&UsageDecrypt != 0,
		SignMessage: u&UsageSignMessage != 0, VerifyMessage: u&UsageVerifyMessage != 0,
		SignHash: u&UsageSignHash != 0, VerifyHash: u&UsageVerifyHash != 0,
		Derive: u&UsageDerive != 0,
	}
}

// AttributesFromProto converts KeyAttributes. The key type and policy are
// mandatory; usage flags absent mean none.
func AttributesFromProto(a *pb.KeyAttributes) (Attributes, error) {
	if a == nil {
		return Attributes{}, invalid("key attributes are missing")
	}
	if a.GetKeyType() == nil {
		return Attributes{}, invalid("key type is missing")
	}
	t, err := KeyTypeFromProto(a.GetKeyType())
	if err != nil {
		return Attributes{}, err
	}
	if a.GetKeyPolicy() == nil {
		return Attributes{}, invalid("key policy is missing")
	}
	alg, err := AlgorithmFromProto(a.GetKeyPolicy().GetKeyAlgorithm())
	if err != nil {
		return Attributes{}, err
	}
	return Attributes{
		Type:  t,
		Bits:  a.GetKeyBits(),
		Usage: UsageFromProto(a.GetKeyPolicy().GetKeyUsageFlags()),
		Alg:   alg,
	}, nil
}

// AttributesToProto converts attributes.
func AttributesToProto(a Attributes) (*pb.KeyAttributes, error) {
	t, err := KeyTypeToProto(a.Type)
	if err != nil {
		return nil, err
	}
	alg, err := AlgorithmToProto(a.Alg)
	if err != nil {
		return nil, err
	}
	return &pb.KeyAttributes{
		KeyType: t,
		KeyBits: a.Bits,
		KeyPolicy: &pb.KeyPolicy{
			KeyUsageFlags: UsageToProto(a.Usage),
			KeyAlgorithm:  alg,
		},
	}, nil
}
