package takeover

import (
	"fmt"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
)

// Record is one key mapping as the Rust service stored it.
type Record struct {
	// Source names where it was read (a file, or a database and row).
	Source string
	Owner  kim.Owner
	Name   string
	// Provider is the provider id; from the provider UUID in SQLite, from
	// the directory name in OnDisk.
	Provider wire.ProviderID
	// ProviderName is the configured provider name Rust stored (SQLite);
	// empty for OnDisk, which does not store it.
	ProviderName string
	// KeyID is the provider's key id blob, verbatim.
	KeyID      []byte
	Attributes psa.Attributes
	// Err is why the record cannot be carried over (then the fields
	// above may be partial); Records with Err are reported, never dropped
	// silently.
	Err error
}

// String names the record for reports.
func (r Record) String() string {
	if r.Owner == kim.InternalOwner {
		return fmt.Sprintf("internal key %q (%s)", r.Name, r.Source)
	}
	return fmt.Sprintf("key %q of %s %q (%s)", r.Name, authName(r.Owner.AuthType), r.Owner.App, r.Source)
}

func authName(a wire.AuthType) string {
	switch a {
	case wire.AuthDirect:
		return "Direct app"
	case wire.AuthUnixPeerCredentials:
		return "uid"
	case wire.AuthJwtSvid:
		return "SPIFFE id"
	}
	return fmt.Sprintf("auth type %d app", uint8(a))
}

// ProviderByUUID maps the fixed provider UUIDs Rust Parsec writes in the
// SQLite provider_uuid column.
func ProviderByUUID(uuid string) (wire.ProviderID, bool) {
	for _, id := range []wire.ProviderID{wire.ProviderCore, wire.ProviderMbedCrypto, wire.ProviderPkcs11,
		wire.ProviderTpm, wire.ProviderTrustedService, wire.ProviderCryptoAuthLib} {
		if id.Desc().UUID == uuid {
			return id, true
		}
	}
	return 0, false
}

// internalPrefixes are the provider short names Rust's OnDisk manager puts
// in front of an internal key's name before base64 ("tpm" + "RootKeyTPM").
var internalPrefixes = []struct {
	prefix string
	id     wire.ProviderID
}{
	{"trusted-service", wire.ProviderTrustedService},
	{"cryptoauthlib", wire.ProviderCryptoAuthLib},
	{"mbedcrypto", wire.ProviderMbedCrypto},
	{"pkcs11", wire.ProviderPkcs11},
	{"core", wire.ProviderCore},
	{"tpm", wire.ProviderTpm},
}
