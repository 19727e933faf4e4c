// Package dispatch routes an authenticated request to its provider: it
// applies Parsec's checks in Parsec's order (provider, opcode kind, admin
// rights, body decoding, identity) so that every client sees the same
// status codes from this service as from the Rust one.
package dispatch

import (
	"context"
	"fmt"

	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/service/provider/core"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// Dispatcher is immutable once built; a config reload builds a new one.
type Dispatcher struct {
	core *core.Provider
}

// New builds a dispatcher over the core provider, which knows the
// configured providers by id.
func New(c *core.Provider) *Dispatcher {
	return &Dispatcher{core: c}
}

// Dispatch decodes body and executes the operation. The returned error
// carries the response status.
func (d *Dispatcher) Dispatch(ctx context.Context, h wire.Header, app auth.Application, body []byte) (protomsg.Message, error) {
	p, ok := d.core.Lookup(h.Provider)
	if !ok {
		return nil, wire.Errorf(wire.StatusProviderNotRegistered, "%v is not configured", h.Provider)
	}
	if h.Opcode.IsCore() != (h.Provider == wire.ProviderCore) {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v is not served by %v", h.Opcode, h.Provider)
	}
	if h.Opcode.IsAdmin() {
		if app.Anonymous() {
			return nil, wire.Errorf(wire.StatusNotAuthenticated, "%v needs an authenticated admin", h.Opcode)
		}
		if !app.Admin {
			return nil, wire.Errorf(wire.StatusAdminOperation, "%v is for admins; %q is not one", h.Opcode, app.Name)
		}
	}
	req, err := Decode(h.Opcode, body)
	if err != nil {
		return nil, err
	}
	if h.Opcode.NeedsIdentity() && app.Anonymous() {
		return nil, wire.Errorf(wire.StatusNotAuthenticated, "%v needs an authenticated application", h.Opcode)
	}
	if !p.Accepts(h.Opcode) {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v does not support %v", h.Provider, h.Opcode)
	}
	res, err := p.Execute(ctx, app, req)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return nil, fmt.Errorf("%v returned no result for %v", h.Provider, h.Opcode)
	}
	return res, nil
}

// Decode decodes and converts the body of an op request:
// DeserializingBodyFailed for bytes that are not the message, and
// InvalidEncoding for a message Parsec's conversion would refuse. The
// conversion runs here once, before the identity check as in Parsec (a
// malformed body from an anonymous client gets InvalidEncoding), and the
// provider receives its result.
func Decode(op wire.Opcode, body []byte) (provider.Request, error) {
	msg := pb.NewRequest(op)
	if msg == nil {
		return provider.Request{}, wire.Errorf(wire.StatusOpcodeDoesNotExist, "opcode %#x does not exist", uint32(op))
	}
	if err := protomsg.Unmarshal(body, msg); err != nil {
		return provider.Request{}, wire.Errorf(wire.StatusDeserializingBodyFailed, "decoding %v body: %v", op, err)
	}
	return provider.Convert(op, msg)
}
