package provider

import (
	"context"
	"fmt"

	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// Op is one row of a provider's handler table: an opcode, whether
// ListOpcodes advertises it, and its handler. Build rows with Handle.
type Op struct {
	Code      wire.Opcode
	Advertise bool
	run       func(ctx context.Context, app auth.Application, r Request) (protomsg.Message, error)
}

// Handle binds a handler, typed by its request and result messages, to an
// opcode that ListOpcodes advertises. Req must be the message the wire
// decodes for op (pb.NewRequest(op)); a mismatch is a programming error
// and panics when the table is built, never while serving.
func Handle[Req, Res protomsg.Message](op wire.Opcode, h func(ctx context.Context, c Call[Req]) (Res, error)) Op {
	if _, ok := pb.NewRequest(op).(Req); !ok {
		panic(fmt.Sprintf("provider: the handler of %v takes %T, not %T", op, *new(Req), pb.NewRequest(op)))
	}
	return Op{Code: op, Advertise: true, run: func(ctx context.Context, app auth.Application, r Request) (protomsg.Message, error) {
		m, ok := r.Msg.(Req)
		if !ok {
			return nil, wire.Errorf(wire.StatusPsaErrorGenericError, "%v: request is %T, not %T", op, r.Msg, *new(Req))
		}
		res, err := h(ctx, Call[Req]{App: app, Req: m, Attrs: r.Attrs, Alg: r.Alg})
		if err != nil {
			return nil, err
		}
		return res, nil
	}}
}

// Unadvertised marks a row as answered but not listed: Parsec 1.x clients
// reject a whole opcode list that holds an opcode they do not know, so a
// provider serves some operations without advertising them.
func (o Op) Unadvertised() Op {
	o.Advertise = false
	return o
}

// If keeps the row only when cond holds (an operation that depends on
// the provider's configuration); otherwise the row is left out.
func (o Op) If(cond bool) Op {
	if !cond {
		o.run = nil
	}
	return o
}

// Table is a provider's operations: the advertised list, Accepts and
// Execute all come from it. Embed it to implement those three methods of
// Provider. It is immutable once built.
type Table struct {
	ops       map[wire.Opcode]Op
	advertise []wire.Opcode
}

// NewTable builds a table; a duplicate opcode is a programming error and
// panics.
func NewTable(rows ...Op) *Table {
	t := &Table{ops: map[wire.Opcode]Op{}}
	for _, o := range rows {
		if o.run == nil {
			continue
		}
		if _, dup := t.ops[o.Code]; dup {
			panic(fmt.Sprintf("provider: %v is in the table twice", o.Code))
		}
		t.ops[o.Code] = o
		if o.Advertise {
			t.advertise = append(t.advertise, o.Code)
		}
	}
	return t
}

// Opcodes are the advertised opcodes, in table order.
func (t *Table) Opcodes() []wire.Opcode { return append([]wire.Opcode(nil), t.advertise...) }

// Accepts reports whether the table has a row for op.
func (t *Table) Accepts(op wire.Opcode) bool {
	_, ok := t.ops[op]
	return ok
}

// Execute runs op's handler.
func (t *Table) Execute(ctx context.Context, app auth.Application, r Request) (protomsg.Message, error) {
	o, ok := t.ops[r.Op]
	if !ok {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v is not supported by this provider", r.Op)
	}
	return o.run(ctx, app, r)
}
