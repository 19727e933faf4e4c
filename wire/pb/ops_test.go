package pb

import (
	"reflect"
	"strings"
	"testing"

	"github.com/parsec-go/parsec/wire"
)

// Every defined opcode has a request and a result contract, and the
// message names match the opcode names.
func TestEveryOpcodeHasContracts(t *testing.T) {
	for op := wire.Opcode(0); op <= 0x21; op++ {
		req, res := NewRequest(op), NewResult(op)
		if !op.Valid() {
			if req != nil || res != nil {
				t.Errorf("%v has contracts but is not a valid opcode", op)
			}
			continue
		}
		if req == nil || res == nil {
			t.Errorf("%v: missing contract", op)
			continue
		}
		base := strings.TrimPrefix(op.String(), "Psa")
		if n := reflect.TypeOf(req).Elem().Name(); n != base+"Request" {
			t.Errorf("%v: request message %s", op, n)
		}
		if n := reflect.TypeOf(res).Elem().Name(); n != base+"Result" {
			t.Errorf("%v: result message %s", op, n)
		}
	}
}
