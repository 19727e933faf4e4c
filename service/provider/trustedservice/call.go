package trustedservice

import (
	"context"
	"errors"
	"log/slog"

	"github.com/parsec-go/parsec/internal/ts"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// call is one request: the provider, its crypto client, the caller and
// the request's converted attributes and algorithm.
type call struct {
	p     *Provider
	cr    ts.Crypto
	app   auth.Application
	op    wire.Opcode
	attrs psa.Attributes
	alg   psa.Algorithm
}

// session binds a handler that needs the secure world to op: it opens (or
// reuses) the session first, so no handler has to.
func session[Req, Res protomsg.Message](p *Provider, op wire.Opcode, h func(*call, context.Context, Req) (Res, error)) provider.Op {
	return provider.Handle(op, func(ctx context.Context, c provider.Call[Req]) (Res, error) {
		x, err := begin(ctx, p, op, c)
		if err != nil {
			var none Res
			return none, err
		}
		return h(x, ctx, c.Req)
	})
}

// begin opens (or reuses) the session for one request.
func begin[Req protomsg.Message](ctx context.Context, p *Provider, op wire.Opcode, c provider.Call[Req]) (*call, error) {
	cr, err := p.connect(ctx)
	if err != nil {
		p.log.Error("operation failed: no Trusted Services session", "op", op, "err", err)
		return nil, err
	}
	return &call{p: p, cr: cr, app: c.App, op: op, attrs: c.Attrs, alg: c.Alg}, nil
}

// keyRef is a resolved key name.
type keyRef struct {
	owner kim.Owner
	name  string
	entry kim.Entry
	id    uint32
}

// key resolves a key name of the caller to this provider's key.
func (x *call) key(name string) (keyRef, error) {
	e, err := x.p.keys.Get(x.app, name)
	if err != nil {
		return keyRef{}, err
	}
	id, ok := decodeKeyID(e.KeyID)
	if !ok {
		return keyRef{}, wire.Errorf(wire.StatusPsaErrorDataCorrupt, "key %q has an invalid key id", name)
	}
	return keyRef{owner: kim.OwnerOf(x.app), name: name, entry: e, id: id}, nil
}

// fail turns an error from the secure world into the Parsec error the
// client sees, logs it, and repairs the mapping of a key the secure world
// no longer has. The cause is logged here because the front end logs
// failed requests without details (they may name keys).
func (x *call) fail(err error, k *keyRef) error {
	status := ts.ParsecStatus(err)
	if k != nil && errors.Is(err, ts.PSAErrorDoesNotExist) {
		x.p.forgetLost(k.owner, k.name, k.entry, x.op.String())
		return wire.Errorf(wire.StatusPsaErrorDoesNotExist, "key %q no longer exists in the secure world (its storage may have been reset); the mapping was removed", k.name)
	}
	level := slog.LevelDebug
	if status == wire.StatusPsaErrorCommunicationFailure || status == wire.StatusPsaErrorGenericError {
		level = slog.LevelError
	}
	x.p.log.Log(context.Background(), level, "Trusted Services call failed", "op", x.op, "status", status, "err", err)
	return wire.Errorf(status, "%v", err)
}

// restrictions is what this provider refuses beyond PSA's compatibility
// rule: the partition has no ARC4.
var restrictions = psa.Restrictions{NoTypes: []psa.KeyType{psa.KeyTypeARC4}}

// checkUse applies the key policy before the call, as Parsec's operation
// validation does; the partition checks again.
func checkUse(a psa.Attributes, usage psa.Usage, alg psa.Algorithm) error {
	return a.CheckUse(usage, alg, restrictions)
}

// use resolves a key and checks its policy for usage with alg.
func (x *call) use(name string, usage psa.Usage, alg psa.Algorithm) (keyRef, error) {
	k, err := x.key(name)
	if err != nil {
		return k, err
	}
	return k, checkUse(k.entry.Attributes, usage, alg)
}
