// Package provider defines what a provider is to the rest of the service:
// something that advertises a set of opcodes and executes decoded requests
// for an authenticated application.
package provider

import (
	"context"
	"errors"
	"log/slog"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// Info is a provider's identity in ListProviders.
type Info struct {
	ID wire.ProviderID
	// Name is the configured name (unique across providers); the key info
	// manager records it with each key.
	Name        string
	UUID        string
	Description string
	Vendor      string
	Version     [3]uint32
}

// NewInfo is the identity of a provider of kind id with the given
// configured name and version; the rest comes from wire's table.
func NewInfo(id wire.ProviderID, name string, version [3]uint32) Info {
	d := id.Desc()
	return Info{ID: id, Name: name, UUID: d.UUID, Description: d.Description, Vendor: d.Vendor, Version: version}
}

// Provider executes crypto operations. The front end has already decoded
// and converted the request body (r.Msg is the *pb.XxxRequest message for
// r.Op, see Convert), authenticated the caller and checked Accepts(r.Op).
// Execute returns the matching *pb.XxxResult. Errors carry a Parsec status
// (wire.Error); anything else is reported as PsaErrorGenericError. The
// front end logs every failed request once: a provider logs only what it
// does not return (a failed clean-up, a lost key found on the way).
// Providers must be safe for concurrent use.
//
// A provider embeds a *Table (its handler table), which implements
// Opcodes, Accepts and Execute.
type Provider interface {
	Info() Info
	// Opcodes are the operations advertised by ListOpcodes.
	Opcodes() []wire.Opcode
	// Accepts reports whether Execute handles op: the advertised opcodes
	// plus any the provider answers without advertising (MAC).
	Accepts(op wire.Opcode) bool
	Execute(ctx context.Context, app auth.Application, r Request) (protomsg.Message, error)
	// Close releases the provider's resources (device handles, sessions).
	Close() error
}

// Settings are the service-wide options a provider honours.
type Settings struct {
	// AllowDeprecated lets PsaGenerateKey create deprecated primitives
	// (otherwise DeprecatedPrimitive, status 22).
	AllowDeprecated bool
	// BufferSizeLimit caps generated random data and other response
	// buffers (otherwise ResponseTooLarge, status 10).
	BufferSizeLimit uint64
}

// CheckRandom refuses a GenerateRandom larger than the buffer size
// limit (ResponseTooLarge), before any work, as Parsec does.
func (s Settings) CheckRandom(size uint64) error {
	if size > s.BufferSizeLimit {
		return wire.Errorf(wire.StatusResponseTooLarge, "%d random bytes exceed the %d-byte buffer limit", size, s.BufferSizeLimit)
	}
	return nil
}

// DefaultBufferSizeLimit is Parsec's default buffer_size_limit.
const DefaultBufferSizeLimit = 1 << 20

// CheckGenerate refuses to generate a key of a deprecated primitive
// unless the config allows them, as Parsec does for PsaGenerateKey.
func (s Settings) CheckGenerate(a psa.Attributes) error {
	if a.Deprecated() && !s.AllowDeprecated {
		return wire.Errorf(wire.StatusDeprecatedPrimitive, "%v with %v is deprecated (allow_deprecated is off)", a.Type, a.Alg)
	}
	return nil
}

// Deps is what the service hands a provider factory.
type Deps struct {
	// Name is the provider's configured (or default) name.
	Name string
	// KIM is the key info manager the provider's config names. It may be
	// shared with other providers: filter entries by Name.
	KIM      kim.Manager
	Log      *slog.Logger
	Settings Settings
	// Decode fills v (a pointer to the provider's config struct, with toml
	// tags) from the provider's [[provider]] table. Keys v does not have
	// are logged as warnings; a value of the wrong type is an error naming
	// the key.
	Decode func(v any) error
}

// Defaults fills what the caller left out: a logger that discards, and
// Parsec's buffer size limit. The service builds Deps with Defaults; the
// providers apply it too, for callers (tests) that build Deps by hand.
func (d Deps) Defaults() Deps {
	if d.Log == nil {
		d.Log = slog.New(discard{})
	}
	if d.Settings.BufferSizeLimit == 0 {
		d.Settings.BufferSizeLimit = DefaultBufferSizeLimit
	}
	return d
}

// DecodeConfig fills v from the provider's table with Decode; without
// Decode (Deps built by hand, in tests) v keeps the defaults it holds.
func (d Deps) DecodeConfig(v any) error {
	if d.Decode == nil {
		return nil
	}
	return d.Decode(v)
}

// Keys is the provider's view of its key info manager (see Keys).
func (d Deps) Keys(id wire.ProviderID) Keys { return NewKeys(d.KIM, id, d.Name, d.Log) }

type discard struct{}

func (discard) Enabled(context.Context, slog.Level) bool  { return false }
func (discard) Handle(context.Context, slog.Record) error { return nil }
func (h discard) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discard) WithGroup(string) slog.Handler           { return h }

// ErrSkip, returned (wrapped) by a factory, leaves the provider out
// instead of failing start-up, e.g. a TPM provider with skip_if_no_tpm.
var ErrSkip = errors.New("provider skipped")

// Factory builds a provider from its config. Each provider package exports
// one; service/cmd/parsec maps provider_type names to factories.
type Factory func(d Deps) (Provider, error)
