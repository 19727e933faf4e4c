package emu

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parsec-go/parsec/internal/ts"
)

// Fault is an injected misbehaviour of the secure world for one opcode
// (0: every opcode) of one partition (empty: every partition):
//
//	hang      never answer (until the client goes away)
//	garbage   answer success with a few random bytes
//	badlen    answer with a response length larger than the buffer
//	rpc=N     fail the call with TS RPC status N (the driver: EINVAL)
//	psa=N     answer service status N
//	exit      terminate the emulator mid-call
//	delay=MS  answer normally, MS milliseconds late
//
// Count > 0 limits how many calls it hits.
type Fault struct {
	Partition string
	Opcode    uint16
	Kind      string
	Arg       int32
	Count     int
}

// ParseFault parses "[PARTITION/]OPCODE:KIND[=N][*COUNT]", e.g.
// "0x0108:hang", "crypto/any:rpc=-6", "0x010c:psa=-140*1".
func ParseFault(s string) (Fault, error) {
	var f Fault
	spec := s
	if p, rest, ok := strings.Cut(spec, "/"); ok {
		f.Partition, spec = p, rest
	}
	op, kind, ok := strings.Cut(spec, ":")
	if !ok {
		return f, fmt.Errorf("fault %q: want [PARTITION/]OPCODE:KIND[=N][*COUNT]", s)
	}
	if op != "any" {
		n, err := strconv.ParseUint(op, 0, 16)
		if err != nil {
			return f, fmt.Errorf("fault %q: opcode: %v", s, err)
		}
		f.Opcode = uint16(n)
	}
	if k, c, ok := strings.Cut(kind, "*"); ok {
		n, err := strconv.Atoi(c)
		if err != nil || n <= 0 {
			return f, fmt.Errorf("fault %q: bad count", s)
		}
		kind, f.Count = k, n
	}
	if k, a, ok := strings.Cut(kind, "="); ok {
		n, err := strconv.ParseInt(a, 0, 32)
		if err != nil {
			return f, fmt.Errorf("fault %q: %v", s, err)
		}
		kind, f.Arg = k, int32(n)
	}
	switch kind {
	case "hang", "garbage", "badlen", "exit":
	case "rpc", "psa", "delay":
		if f.Arg == 0 {
			return f, fmt.Errorf("fault %q: %s needs a non-zero status", s, kind)
		}
	default:
		return f, fmt.Errorf("fault %q: unknown kind %q", s, kind)
	}
	f.Kind = kind
	return f, nil
}

type faults struct {
	mu   sync.Mutex
	list []*Fault
	exit func()
}

// apply runs the first fault matching the call; handled reports that the
// partition must not see the call.
func (fs *faults) apply(s *connState, p *Partition, req *Request) (Response, bool) {
	fs.mu.Lock()
	var hit *Fault
	for _, f := range fs.list {
		if (f.Opcode == 0 || f.Opcode == req.Opcode) && (f.Partition == "" || f.Partition == p.Name) && f.Count >= 0 {
			if f.Count > 0 {
				f.Count--
				if f.Count == 0 {
					f.Count = -1
				}
			}
			hit = f
			break
		}
	}
	fs.mu.Unlock()
	if hit == nil {
		return Response{}, false
	}
	s.log.Warn("injecting fault", "partition", p.Name, "opcode", fmt.Sprintf("%#04x", req.Opcode), "fault", hit.Kind)
	switch hit.Kind {
	case "hang":
		<-s.closed
		return rpcError(ts.RPCTransportLayer), true
	case "garbage":
		b := make([]byte, 7)
		rand.Read(b)
		return Response{Body: b}, true
	case "badlen":
		r := p.Call(0, req)
		r.overlong = true
		return r, true
	case "rpc":
		return rpcError(ts.RPCStatus(hit.Arg)), true
	case "psa":
		return Response{Status: ts.PSAStatus(hit.Arg)}, true
	case "exit":
		fs.exit()
		<-s.closed
	case "delay":
		select {
		case <-time.After(time.Duration(hit.Arg) * time.Millisecond):
		case <-s.closed:
		}
		return Response{}, false
	}
	return rpcError(ts.RPCInternal), true
}
