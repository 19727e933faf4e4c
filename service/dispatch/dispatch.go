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
	byID map[wire.ProviderID]provider.Provider
}

// New builds a dispatcher over the crypto backends (in config order) and
// the core provider.
func New(c *core.Provider, backends []core.Backend) *Dispatcher {
	d := &Dispatcher{core: c, byID: map[wire.ProviderID]provider.Provider{}}
	for _, b := range backends {
		// As in Parsec, a later provider of the same kind takes the id.
		d.byID[b.Provider.Info().ID] = b.Provider
	}
	return d
}

// Dispatch decodes body and executes the operation. The returned error
// carries the response status.
func (d *Dispatcher) Dispatch(ctx context.Context, h wire.Header, app auth.Application, body []byte) (protomsg.Message, error) {
	var p provider.Provider
	if h.Provider == wire.ProviderCore {
		p = d.core
	} else {
		var ok bool
		if p, ok = d.byID[h.Provider]; !ok {
			return nil, wire.Errorf(wire.StatusProviderNotRegistered, "%v is not configured", h.Provider)
		}
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
	res, err := p.Execute(ctx, app, h.Opcode, req)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return nil, fmt.Errorf("%v returned no result for %v", h.Provider, h.Opcode)
	}
	return res, nil
}

// Decode decodes and validates the body of an op request:
// DeserializingBodyFailed for bytes that are not the message, and
// InvalidEncoding for a message Parsec's conversion would refuse.
func Decode(op wire.Opcode, body []byte) (protomsg.Message, error) {
	req := pb.NewRequest(op)
	if req == nil {
		return nil, wire.Errorf(wire.StatusOpcodeDoesNotExist, "opcode %#x does not exist", uint32(op))
	}
	if err := protomsg.Unmarshal(body, req); err != nil {
		return nil, wire.Errorf(wire.StatusDeserializingBodyFailed, "decoding %v body: %v", op, err)
	}
	if err := Validate(req); err != nil {
		return nil, err
	}
	return req, nil
}
