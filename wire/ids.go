package wire

import "fmt"

// ProviderID identifies a provider in the request header.
type ProviderID uint8

// Provider identifiers defined by Parsec.
const (
	ProviderCore           ProviderID = 0
	ProviderMbedCrypto     ProviderID = 1
	ProviderPkcs11         ProviderID = 2
	ProviderTpm            ProviderID = 3
	ProviderTrustedService ProviderID = 4
	ProviderCryptoAuthLib  ProviderID = 5
)

// ProviderDesc is the fixed identity of a provider kind.
type ProviderDesc struct {
	// Description is what ListProviders reports and parsec-tool prints.
	Description string
	// DefaultName is the configured name when the config sets none.
	DefaultName string
	UUID        string
	Vendor      string
}

var providerDescs = map[ProviderID]ProviderDesc{
	ProviderCore:           {"Software provider that implements only administrative (i.e. no cryptographic) operations", "core-provider", "47049873-2a43-4845-9d72-831eab668784", ""},
	ProviderMbedCrypto:     {"User space software provider, based on Mbed Crypto - the reference implementation of the PSA crypto API", "mbed-crypto-provider", "1c1139dc-ad7c-47dc-ad6b-db6fdb466552", "Arm"},
	ProviderPkcs11:         {"PKCS #11 provider, interfacing with a PKCS #11 library.", "pkcs11-provider", "30e39502-eba6-4d60-a4af-c518b7f5e38f", "OASIS Standard."},
	ProviderTpm:            {"TPM provider, interfacing with a library implementing the TCG TSS 2.0 Enhanced System API specification.", "tpm-provider", "1e4954a4-ff21-46d3-ab0c-661eeb667e1d", "Trusted Computing Group (TCG)"},
	ProviderTrustedService: {"Provider exposing functionality provided by the Crypto Trusted Service running in a Trusted Execution Environment", "trusted-service-provider", "71129441-508a-4da6-b6e8-7b98a777e4c0", "Arm"},
	ProviderCryptoAuthLib:  {"User space hardware provider, utilizing MicrochipTech CryptoAuthentication Library for ATECCx08 chips", "cryptoauthlib-provider", "b8ba81e2-e9f7-4bdd-b096-a29d0019960c", "Arm"},
}

// Valid reports whether Parsec defines this provider ID.
func (p ProviderID) Valid() bool { _, ok := providerDescs[p]; return ok }

// Desc returns the provider kind's fixed identity.
func (p ProviderID) Desc() ProviderDesc { return providerDescs[p] }

// String is the display name Parsec clients print, e.g. "Mbed Crypto provider".
func (p ProviderID) String() string {
	switch p {
	case ProviderCore:
		return "Core provider"
	case ProviderMbedCrypto:
		return "Mbed Crypto provider"
	case ProviderPkcs11:
		return "PKCS #11 provider"
	case ProviderTpm:
		return "TPM provider"
	case ProviderTrustedService:
		return "Trusted Service provider"
	case ProviderCryptoAuthLib:
		return "CryptoAuthentication Library provider"
	}
	return fmt.Sprintf("Provider(%d)", uint8(p))
}

// AuthType identifies the authentication method of a request.
type AuthType uint8

// Authentication types defined by Parsec. Jwt is defined but no Parsec
// implementation has ever accepted it.
const (
	AuthNone                AuthType = 0
	AuthDirect              AuthType = 1
	AuthJwt                 AuthType = 2
	AuthUnixPeerCredentials AuthType = 3
	AuthJwtSvid             AuthType = 4
)

// Valid reports whether Parsec defines this auth type.
func (a AuthType) Valid() bool { return a <= AuthJwtSvid }

func (a AuthType) String() string {
	switch a {
	case AuthNone:
		return "No authentication"
	case AuthDirect:
		return "Direct authentication"
	case AuthJwt:
		return "JSON Web Tokens authentication"
	case AuthUnixPeerCredentials:
		return "Unix Peer Credentials authentication"
	case AuthJwtSvid:
		return "JWT SPIFFE Verifiable Identity Document authentication"
	}
	return fmt.Sprintf("AuthType(%d)", uint8(a))
}
