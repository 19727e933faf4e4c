package pb

import (
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// NewRequest returns an empty request message for op, or nil if op has no
// contract.
func NewRequest(op wire.Opcode) protomsg.Message {
	switch op {
	case wire.OpPing:
		return &PingRequest{}
	case wire.OpPsaGenerateKey:
		return &GenerateKeyRequest{}
	case wire.OpPsaDestroyKey:
		return &DestroyKeyRequest{}
	case wire.OpPsaSignHash:
		return &SignHashRequest{}
	case wire.OpPsaVerifyHash:
		return &VerifyHashRequest{}
	case wire.OpPsaImportKey:
		return &ImportKeyRequest{}
	case wire.OpPsaExportPublicKey:
		return &ExportPublicKeyRequest{}
	case wire.OpListProviders:
		return &ListProvidersRequest{}
	case wire.OpListOpcodes:
		return &ListOpcodesRequest{}
	case wire.OpPsaAsymmetricEncrypt:
		return &AsymmetricEncryptRequest{}
	case wire.OpPsaAsymmetricDecrypt:
		return &AsymmetricDecryptRequest{}
	case wire.OpPsaExportKey:
		return &ExportKeyRequest{}
	case wire.OpPsaGenerateRandom:
		return &GenerateRandomRequest{}
	case wire.OpListAuthenticators:
		return &ListAuthenticatorsRequest{}
	case wire.OpPsaHashCompute:
		return &HashComputeRequest{}
	case wire.OpPsaHashCompare:
		return &HashCompareRequest{}
	case wire.OpPsaAeadEncrypt:
		return &AeadEncryptRequest{}
	case wire.OpPsaAeadDecrypt:
		return &AeadDecryptRequest{}
	case wire.OpPsaRawKeyAgreement:
		return &RawKeyAgreementRequest{}
	case wire.OpPsaCipherEncrypt:
		return &CipherEncryptRequest{}
	case wire.OpPsaCipherDecrypt:
		return &CipherDecryptRequest{}
	case wire.OpPsaMacCompute:
		return &MacComputeRequest{}
	case wire.OpPsaMacVerify:
		return &MacVerifyRequest{}
	case wire.OpPsaSignMessage:
		return &SignMessageRequest{}
	case wire.OpPsaVerifyMessage:
		return &VerifyMessageRequest{}
	case wire.OpListKeys:
		return &ListKeysRequest{}
	case wire.OpListClients:
		return &ListClientsRequest{}
	case wire.OpDeleteClient:
		return &DeleteClientRequest{}
	case wire.OpAttestKey:
		return &AttestKeyRequest{}
	case wire.OpPrepareKeyAttestation:
		return &PrepareKeyAttestationRequest{}
	case wire.OpCanDoCrypto:
		return &CanDoCryptoRequest{}
	}
	return nil
}

// NewResult returns an empty result message for op, or nil if op has no
// contract.
func NewResult(op wire.Opcode) protomsg.Message {
	switch op {
	case wire.OpPing:
		return &PingResult{}
	case wire.OpPsaGenerateKey:
		return &GenerateKeyResult{}
	case wire.OpPsaDestroyKey:
		return &DestroyKeyResult{}
	case wire.OpPsaSignHash:
		return &SignHashResult{}
	case wire.OpPsaVerifyHash:
		return &VerifyHashResult{}
	case wire.OpPsaImportKey:
		return &ImportKeyResult{}
	case wire.OpPsaExportPublicKey:
		return &ExportPublicKeyResult{}
	case wire.OpListProviders:
		return &ListProvidersResult{}
	case wire.OpListOpcodes:
		return &ListOpcodesResult{}
	case wire.OpPsaAsymmetricEncrypt:
		return &AsymmetricEncryptResult{}
	case wire.OpPsaAsymmetricDecrypt:
		return &AsymmetricDecryptResult{}
	case wire.OpPsaExportKey:
		return &ExportKeyResult{}
	case wire.OpPsaGenerateRandom:
		return &GenerateRandomResult{}
	case wire.OpListAuthenticators:
		return &ListAuthenticatorsResult{}
	case wire.OpPsaHashCompute:
		return &HashComputeResult{}
	case wire.OpPsaHashCompare:
		return &HashCompareResult{}
	case wire.OpPsaAeadEncrypt:
		return &AeadEncryptResult{}
	case wire.OpPsaAeadDecrypt:
		return &AeadDecryptResult{}
	case wire.OpPsaRawKeyAgreement:
		return &RawKeyAgreementResult{}
	case wire.OpPsaCipherEncrypt:
		return &CipherEncryptResult{}
	case wire.OpPsaCipherDecrypt:
		return &CipherDecryptResult{}
	case wire.OpPsaMacCompute:
		return &MacComputeResult{}
	case wire.OpPsaMacVerify:
		return &MacVerifyResult{}
	case wire.OpPsaSignMessage:
		return &SignMessageResult{}
	case wire.OpPsaVerifyMessage:
		return &VerifyMessageResult{}
	case wire.OpListKeys:
		return &ListKeysResult{}
	case wire.OpListClients:
		return &ListClientsResult{}
	case wire.OpDeleteClient:
		return &DeleteClientResult{}
	case wire.OpAttestKey:
		return &AttestKeyResult{}
	case wire.OpPrepareKeyAttestation:
		return &PrepareKeyAttestationResult{}
	case wire.OpCanDoCrypto:
		return &CanDoCryptoResult{}
	}
	return nil
}
