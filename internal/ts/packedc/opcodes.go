package packedc

// Crypto service opcodes (both encodings use the same numbers).
const (
	OpGenerateKey     uint16 = 0x0101
	OpDestroyKey      uint16 = 0x0102
	OpExportKey       uint16 = 0x0105
	OpExportPublicKey uint16 = 0x0106
	OpImportKey       uint16 = 0x0107
	OpSignHash        uint16 = 0x0108
	OpVerifyHash      uint16 = 0x0109
	OpAsymDecrypt     uint16 = 0x010a
	OpAsymEncrypt     uint16 = 0x010b
	OpGenerateRandom  uint16 = 0x010c
	OpCopyKey         uint16 = 0x010d
	OpPurgeKey        uint16 = 0x010e
	OpGetKeyAttrs     uint16 = 0x010f
	OpSignMessage     uint16 = 0x0110
	OpVerifyMessage   uint16 = 0x0111

	OpHashSetup  uint16 = 0x0201
	OpHashUpdate uint16 = 0x0202
	OpHashFinish uint16 = 0x0203
	OpHashAbort  uint16 = 0x0204
	OpHashVerify uint16 = 0x0205
	OpHashClone  uint16 = 0x0206

	OpCipherEncryptSetup uint16 = 0x0301
	OpCipherDecryptSetup uint16 = 0x0302
	OpCipherGenerateIV   uint16 = 0x0303
	OpCipherSetIV        uint16 = 0x0304
	OpCipherUpdate       uint16 = 0x0305
	OpCipherFinish       uint16 = 0x0306
	OpCipherAbort        uint16 = 0x0307

	OpKDFSetup          uint16 = 0x0401
	OpKDFGetCapacity    uint16 = 0x0402
	OpKDFSetCapacity    uint16 = 0x0403
	OpKDFInputBytes     uint16 = 0x0404
	OpKDFInputKey       uint16 = 0x0405
	OpKDFOutputBytes    uint16 = 0x0406
	OpKDFOutputKey      uint16 = 0x0407
	OpKDFAbort          uint16 = 0x0408
	OpKDFKeyAgreement   uint16 = 0x0409
	OpRawKeyAgreement   uint16 = 0x040a
	OpMACSignSetup      uint16 = 0x0501
	OpMACVerifySetup    uint16 = 0x0502
	OpMACUpdate         uint16 = 0x0503
	OpMACSignFinish     uint16 = 0x0504
	OpMACVerifyFinish   uint16 = 0x0505
	OpMACAbort          uint16 = 0x0506
	OpAEADEncryptSetup  uint16 = 0x0601
	OpAEADDecryptSetup  uint16 = 0x0602
	OpAEADGenerateNonce uint16 = 0x0603
	OpAEADSetNonce      uint16 = 0x0604
	OpAEADSetLengths    uint16 = 0x0605
	OpAEADUpdateAD      uint16 = 0x0606
	OpAEADUpdate        uint16 = 0x0607
	OpAEADFinish        uint16 = 0x0608
	OpAEADVerify        uint16 = 0x0609
	OpAEADAbort         uint16 = 0x060a
)

// Record tags of the crypto messages. Every variable-length field but one
// has tag 1; the second field of a message has tag 2.
const (
	TagData      uint16 = 1 // import data, export data, random bytes, update data, IV, nonce, MAC, hash, output
	TagSignature uint16 = 2 // verify_hash/verify_message signature
	TagSalt      uint16 = 2 // asymmetric encrypt/decrypt salt (label)
	TagAEADTag   uint16 = 2 // aead_finish out: tag (record 1 is the last ciphertext)
)

// Secure storage (ITS and PS) opcodes.
const (
	OpStorageSet         uint16 = 0x0100
	OpStorageGet         uint16 = 0x0101
	OpStorageGetInfo     uint16 = 0x0102
	OpStorageRemove      uint16 = 0x0103
	OpStorageCreate      uint16 = 0x0104
	OpStorageSetExtended uint16 = 0x0105
	OpStorageGetSupport  uint16 = 0x0106
)

// Secure storage flags.
const (
	StorageFlagWriteOnce          uint32 = 1 << 0
	StorageFlagNoConfidentiality  uint32 = 1 << 1
	StorageFlagNoReplayProtection uint32 = 1 << 2

	StorageSupportSetExtended uint32 = 1 << 0
)

// Attestation opcodes.
const (
	OpAttestGetToken     uint16 = 0x0101
	OpAttestGetTokenSize uint16 = 0x0102
	OpAttestExportIAKPub uint16 = 0x0103
	OpAttestImportIAK    uint16 = 0x0104
	OpAttestIAKExists    uint16 = 0x0105
)

// IsCryptoOp reports whether op is a crypto service opcode.
func IsCryptoOp(op uint16) bool { _, ok := cryptoOpNames[op]; return ok }

// CryptoOpName names a crypto opcode for logs.
func CryptoOpName(op uint16) string {
	if n, ok := cryptoOpNames[op]; ok {
		return n
	}
	return "crypto op " + hex4(op)
}

func hex4(v uint16) string {
	const d = "0123456789abcdef"
	return "0x" + string([]byte{d[v>>12], d[v>>8&15], d[v>>4&15], d[v&15]})
}

var cryptoOpNames = map[uint16]string{
	OpGenerateKey: "GENERATE_KEY", OpDestroyKey: "DESTROY_KEY", OpExportKey: "EXPORT_KEY",
	OpExportPublicKey: "EXPORT_PUBLIC_KEY", OpImportKey: "IMPORT_KEY", OpSignHash: "SIGN_HASH",
	OpVerifyHash: "VERIFY_HASH", OpAsymDecrypt: "ASYMMETRIC_DECRYPT", OpAsymEncrypt: "ASYMMETRIC_ENCRYPT",
	OpGenerateRandom: "GENERATE_RANDOM", OpCopyKey: "COPY_KEY", OpPurgeKey: "PURGE_KEY",
	OpGetKeyAttrs: "GET_KEY_ATTRIBUTES", OpSignMessage: "SIGN_MESSAGE", OpVerifyMessage: "VERIFY_MESSAGE",
	OpHashSetup: "HASH_SETUP", OpHashUpdate: "HASH_UPDATE", OpHashFinish: "HASH_FINISH",
	OpHashAbort: "HASH_ABORT", OpHashVerify: "HASH_VERIFY", OpHashClone: "HASH_CLONE",
	OpCipherEncryptSetup: "CIPHER_ENCRYPT_SETUP", OpCipherDecryptSetup: "CIPHER_DECRYPT_SETUP",
	OpCipherGenerateIV: "CIPHER_GENERATE_IV", OpCipherSetIV: "CIPHER_SET_IV", OpCipherUpdate: "CIPHER_UPDATE",
	OpCipherFinish: "CIPHER_FINISH", OpCipherAbort: "CIPHER_ABORT",
	OpKDFSetup: "KEY_DERIVATION_SETUP", OpKDFGetCapacity: "KEY_DERIVATION_GET_CAPACITY",
	OpKDFSetCapacity: "KEY_DERIVATION_SET_CAPACITY", OpKDFInputBytes: "KEY_DERIVATION_INPUT_BYTES",
	OpKDFInputKey: "KEY_DERIVATION_INPUT_KEY", OpKDFOutputBytes: "KEY_DERIVATION_OUTPUT_BYTES",
	OpKDFOutputKey: "KEY_DERIVATION_OUTPUT_KEY", OpKDFAbort: "KEY_DERIVATION_ABORT",
	OpKDFKeyAgreement: "KEY_DERIVATION_KEY_AGREEMENT", OpRawKeyAgreement: "RAW_KEY_AGREEMENT",
	OpMACSignSetup: "MAC_SIGN_SETUP", OpMACVerifySetup: "MAC_VERIFY_SETUP", OpMACUpdate: "MAC_UPDATE",
	OpMACSignFinish: "MAC_SIGN_FINISH", OpMACVerifyFinish: "MAC_VERIFY_FINISH", OpMACAbort: "MAC_ABORT",
	OpAEADEncryptSetup: "AEAD_ENCRYPT_SETUP", OpAEADDecryptSetup: "AEAD_DECRYPT_SETUP",
	OpAEADGenerateNonce: "AEAD_GENERATE_NONCE", OpAEADSetNonce: "AEAD_SET_NONCE",
	OpAEADSetLengths: "AEAD_SET_LENGTHS", OpAEADUpdateAD: "AEAD_UPDATE_AD", OpAEADUpdate: "AEAD_UPDATE",
	OpAEADFinish: "AEAD_FINISH", OpAEADVerify: "AEAD_VERIFY", OpAEADAbort: "AEAD_ABORT",
}
