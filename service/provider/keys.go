package provider

import (
	"encoding/binary"
	"log/slog"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
)

// Keys is one provider instance's view of its key info manager, as Rust
// Parsec's KeyInfoManagerClient is: every read is filtered by owner and by
// the provider's configured name (a manager may be shared by several
// providers), and names are checked for uniqueness here. This is a
// security boundary: providers reach the manager only through it.
type Keys struct {
	m    kim.Manager
	id   wire.ProviderID
	name string
	log  *slog.Logger
}

// NewKeys binds m to the provider with the given id and configured name.
// log receives the failures of undo actions, which have no caller to
// return them to.
func NewKeys(m kim.Manager, id wire.ProviderID, name string, log *slog.Logger) Keys {
	return Keys{m: m, id: id, name: name, log: log}
}

// Manager is the underlying key info manager, for the core provider and
// for repairs (Replace) that the view does not cover.
func (k Keys) Manager() kim.Manager { return k.m }

// Get returns app's key name if this provider holds it; a key of another
// provider is, for this one, a key that does not exist.
func (k Keys) Get(app auth.Application, name string) (kim.Entry, error) {
	return k.GetOwner(kim.OwnerOf(app), name)
}

// GetOwner is Get for an owner that is not a client (kim.InternalOwner).
func (k Keys) GetOwner(o kim.Owner, name string) (kim.Entry, error) {
	return kim.GetFor(k.m, o, name, k.name)
}

// Free fails with PsaErrorAlreadyExists when app already has a key called
// name, with any provider (names are unique per application, as in
// Parsec). Providers call it before costly key creation; Insert still
// decides races.
func (k Keys) Free(app auth.Application, name string) error {
	if h, ok := k.m.(interface{ Has(kim.Owner, string) bool }); ok {
		// No error value built for a free name (every creation asks).
		if h.Has(kim.OwnerOf(app), name) {
			return wire.Errorf(wire.StatusPsaErrorAlreadyExists, "key %q already exists", name)
		}
		return nil
	}
	_, err := k.m.Get(kim.OwnerOf(app), name)
	if err == nil {
		return wire.Errorf(wire.StatusPsaErrorAlreadyExists, "key %q already exists", name)
	}
	if wire.StatusOf(err, 0) == wire.StatusPsaErrorDoesNotExist {
		return nil
	}
	return err
}

// Insert records app's new key name, with this provider's id and name. The
// provider has already created the key material; if the mapping cannot be
// recorded, undo (when not nil) removes that material again, so no key is
// left half made. Undo's own failure is logged: the caller gets Insert's
// error.
func (k Keys) Insert(app auth.Application, name string, keyID []byte, a psa.Attributes, undo func() error) error {
	return k.InsertOwner(kim.OwnerOf(app), name, keyID, a, undo)
}

// InsertOwner is Insert for an owner that is not a client.
func (k Keys) InsertOwner(o kim.Owner, name string, keyID []byte, a psa.Attributes, undo func() error) error {
	err := k.m.Insert(o, name, kim.Entry{Provider: k.id, ProviderName: k.name, KeyID: keyID, Attributes: a})
	if err != nil && undo != nil {
		if uerr := undo(); uerr != nil {
			k.log.Error("key created but not recorded, and it could not be removed again", "key", name, "err", uerr)
		}
	}
	return err
}

// Remove deletes app's mapping of name (after Get has shown it is this
// provider's).
func (k Keys) Remove(app auth.Application, name string) error {
	return k.m.Remove(kim.OwnerOf(app), name)
}

// RemoveOwner is Remove for any owner.
func (k Keys) RemoveOwner(o kim.Owner, name string) error { return k.m.Remove(o, name) }

// List returns o's keys held by this provider, sorted by name.
func (k Keys) List(o kim.Owner) ([]kim.Key, error) {
	keys, err := k.m.List(o)
	if err != nil {
		return nil, err
	}
	return k.own(keys), nil
}

// All returns this provider's keys of every owner, internal ones included.
func (k Keys) All() ([]kim.Key, error) {
	keys, err := k.m.All()
	if err != nil {
		return nil, err
	}
	return k.own(keys), nil
}

func (k Keys) own(keys []kim.Key) []kim.Key {
	own := keys[:0]
	for _, key := range keys {
		if key.Entry.ProviderName == k.name {
			own = append(own, key)
		}
	}
	return own
}

// KeyID32 is the key id format of Rust Parsec's Mbed Crypto, Trusted
// Service and PKCS#11 providers (and ours in their place): a u32,
// little-endian, stored verbatim in kim.Entry.KeyID so that mappings
// carry over both ways.
type KeyID32 struct {
	// Min and Max bound the ids the provider hands out; an id outside
	// them is not the provider's.
	Min, Max uint32
}

// Encode returns the stored form of id.
func (KeyID32) Encode(id uint32) []byte { return binary.LittleEndian.AppendUint32(nil, id) }

// Decode reads a stored id; ok is false for anything else.
func (f KeyID32) Decode(b []byte) (id uint32, ok bool) {
	if len(b) != 4 {
		return 0, false
	}
	id = binary.LittleEndian.Uint32(b)
	return id, id >= f.Min && id <= f.Max
}
