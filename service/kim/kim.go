// Package kim is the key info manager: the persistent map from
// (application, key name) to a provider's key id and the key's attributes.
// Names are unique per (auth type, application) across all providers, as
// in Parsec.
package kim

import (
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/wire"
)

// Owner is who a key belongs to. Admin rights play no part in it.
type Owner struct {
	AuthType wire.AuthType
	App      string
}

// OwnerOf returns the key namespace of an authenticated application.
func OwnerOf(a auth.Application) Owner { return Owner{AuthType: a.AuthType, App: a.Name} }

// InternalOwner holds keys a provider creates for itself (e.g. a TPM
// storage root); they are never listed to clients.
var InternalOwner = Owner{AuthType: 255, App: "parsec"}

// Entry is what the manager stores for one key.
type Entry struct {
	Provider wire.ProviderID
	// ProviderName is the configured provider name; a key belongs to the
	// provider instance that created it.
	ProviderName string
	// KeyID is the provider's own reference to the key material, opaque here.
	KeyID      []byte
	Attributes psa.Attributes
}

// Key is a stored entry with its name.
type Key struct {
	Owner Owner
	Name  string
	Entry Entry
}

// Manager stores key mappings. Every mutating call is durable when it
// returns. Errors carry Parsec statuses: PsaErrorDoesNotExist for an
// unknown key, PsaErrorAlreadyExists for a taken name, KeyInfoManagerError
// for storage failures.
type Manager interface {
	Get(o Owner, name string) (Entry, error)
	// Insert adds a new mapping; the name must be free for o.
	Insert(o Owner, name string, e Entry) error
	// Replace overwrites an existing mapping (used to repair one).
	Replace(o Owner, name string, e Entry) error
	Remove(o Owner, name string) error
	// List returns o's keys, sorted by name.
	List(o Owner) ([]Key, error)
	// All returns every key of every owner, internal ones included.
	All() ([]Key, error)
}

// GetFor returns o's key name if it belongs to the provider instance
// named provider. Names are unique per application across providers, so a
// key held by another provider is, for this one, a key that does not exist.
func GetFor(m Manager, o Owner, name, provider string) (Entry, error) {
	e, err := m.Get(o, name)
	if err != nil {
		return e, err
	}
	if e.ProviderName != provider {
		return Entry{}, wire.Errorf(wire.StatusPsaErrorDoesNotExist, "key %q belongs to provider %q, not %q", name, e.ProviderName, provider)
	}
	return e, nil
}
