package wire

import "fmt"

// Opcode identifies an operation in the request header.
type Opcode uint32

// Opcodes. 0x16/0x17 (MAC) exist in the contracts but not in the Rust
// service or client: they are answered but must never be advertised.
const (
	OpPing                  Opcode = 0x01
	OpPsaGenerateKey        Opcode = 0x02
	OpPsaDestroyKey         Opcode = 0x03
	OpPsaSignHash           Opcode = 0x04
	OpPsaVerifyHash         Opcode = 0x05
	OpPsaImportKey          Opcode = 0x06
	OpPsaExportPublicKey    Opcode = 0x07
	OpListProviders         Opcode = 0x08
	OpListOpcodes           Opcode = 0x09
	OpPsaAsymmetricEncrypt  Opcode = 0x0A
	OpPsaAsymmetricDecrypt  Opcode = 0x0B
	OpPsaExportKey          Opcode = 0x0C
	OpPsaGenerateRandom     Opcode = 0x0D
	OpListAuthenticators    Opcode = 0x0E
	OpPsaHashCompute        Opcode = 0x0F
	OpPsaHashCompare        Opcode = 0x10
	OpPsaAeadEncrypt        Opcode = 0x11
	OpPsaAeadDecrypt        Opcode = 0x12
	OpPsaRawKeyAgreement    Opcode = 0x13
	OpPsaCipherEncrypt      Opcode = 0x14
	OpPsaCipherDecrypt      Opcode = 0x15
	OpPsaMacCompute         Opcode = 0x16
	OpPsaMacVerify          Opcode = 0x17
	OpPsaSignMessage        Opcode = 0x18
	OpPsaVerifyMessage      Opcode = 0x19
	OpListKeys              Opcode = 0x1A
	OpListClients           Opcode = 0x1B
	OpDeleteClient          Opcode = 0x1C
	OpAttestKey             Opcode = 0x1E
	OpPrepareKeyAttestation Opcode = 0x1F
	OpCanDoCrypto           Opcode = 0x20
)

var opcodeNames = map[Opcode]string{
	OpPing:                  "Ping",
	OpPsaGenerateKey:        "PsaGenerateKey",
	OpPsaDestroyKey:         "PsaDestroyKey",
	OpPsaSignHash:           "PsaSignHash",
	OpPsaVerifyHash:         "PsaVerifyHash",
	OpPsaImportKey:          "PsaImportKey",
	OpPsaExportPublicKey:    "PsaExportPublicKey",
	OpListProviders:         "ListProviders",
	OpListOpcodes:           "ListOpcodes",
	OpPsaAsymmetricEncrypt:  "PsaAsymmetricEncrypt",
	OpPsaAsymmetricDecrypt:  "PsaAsymmetricDecrypt",
	OpPsaExportKey:          "PsaExportKey",
	OpPsaGenerateRandom:     "PsaGenerateRandom",
	OpListAuthenticators:    "ListAuthenticators",
	OpPsaHashCompute:        "PsaHashCompute",
	OpPsaHashCompare:        "PsaHashCompare",
	OpPsaAeadEncrypt:        "PsaAeadEncrypt",
	OpPsaAeadDecrypt:        "PsaAeadDecrypt",
	OpPsaRawKeyAgreement:    "PsaRawKeyAgreement",
	OpPsaCipherEncrypt:      "PsaCipherEncrypt",
	OpPsaCipherDecrypt:      "PsaCipherDecrypt",
	OpPsaMacCompute:         "PsaMacCompute",
	OpPsaMacVerify:          "PsaMacVerify",
	OpPsaSignMessage:        "PsaSignMessage",
	OpPsaVerifyMessage:      "PsaVerifyMessage",
	OpListKeys:              "ListKeys",
	OpListClients:           "ListClients",
	OpDeleteClient:          "DeleteClient",
	OpAttestKey:             "AttestKey",
	OpPrepareKeyAttestation: "PrepareKeyAttestation",
	OpCanDoCrypto:           "CanDoCrypto",
}

// Valid reports whether the opcode is defined by Parsec's contracts.
func (o Opcode) Valid() bool { _, ok := opcodeNames[o]; return ok }

// Advertisable reports whether the opcode may appear in a ListOpcodes
// result: the Rust client rejects the whole list if it holds an opcode it
// does not know, and it does not know the MAC opcodes.
func (o Opcode) Advertisable() bool {
	return o.Valid() && o != OpPsaMacCompute && o != OpPsaMacVerify
}

// IsCore reports whether the opcode is served by the core provider (0).
func (o Opcode) IsCore() bool {
	switch o {
	case OpPing, OpListProviders, OpListOpcodes, OpListAuthenticators,
		OpListKeys, OpListClients, OpDeleteClient:
		return true
	}
	return false
}

// IsAdmin reports whether the opcode needs an admin identity.
func (o Opcode) IsAdmin() bool { return o == OpListClients || o == OpDeleteClient }

// NeedsIdentity reports whether the opcode needs an authenticated caller;
// the rest may be sent with auth type NoAuth.
func (o Opcode) NeedsIdentity() bool {
	switch o {
	case OpPing, OpListProviders, OpListOpcodes, OpListAuthenticators,
		OpPsaHashCompute, OpPsaHashCompare, OpPsaGenerateRandom:
		return false
	}
	return true
}

func (o Opcode) String() string {
	if n, ok := opcodeNames[o]; ok {
		return n
	}
	return fmt.Sprintf("Opcode(%#x)", uint32(o))
}
