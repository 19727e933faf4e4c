package emu

import (
	"sync"

	"github.com/parsec-go/parsec/internal/tee"
	"github.com/parsec-go/parsec/internal/ts"
)

// Request is a service call as a TS RPC endpoint receives it.
type Request struct {
	Opcode uint16
	// Client is the caller's FF-A source endpoint id (0 for Linux).
	Client uint16
	Body   []byte
	// Max is the size of the shared buffer: the response must fit.
	Max int
}

// Response is what a service answers: the RPC status (non-zero means the
// call itself failed and the driver reports EINVAL), the service status
// and the response bytes.
type Response struct {
	RPC    ts.RPCStatus
	Status ts.PSAStatus
	Body   []byte
	// overlong makes the partition report a response longer than the
	// buffer (fault injection).
	overlong bool
}

// Service handles the calls of one service interface.
type Service interface {
	Handle(req *Request) Response
}

// rpcError is a Response with an RPC failure.
func rpcError(s ts.RPCStatus) Response { return Response{RPC: s} }

// psaResult is a Response for a completed call: a service status, and the
// body only on success.
func psaResult(body []byte, err error) Response {
	if err != nil {
		return Response{Status: statusOf(err)}
	}
	return Response{Body: body}
}

// Partition is a secure partition's TS RPC endpoint (TS RPC ABI v1): its
// services, indexed by interface id, and the shared-memory table of
// tee.MaxShmPerSP slots for all its clients together. Calls run one at a
// time, as on the single execution context of a real partition.
type Partition struct {
	Name     string
	Endpoint uint16
	services []namedService

	mu    sync.Mutex // one call at a time
	slots int        // shared memories retrieved
}

type namedService struct {
	uuid tee.UUID
	svc  Service
}

// NewPartition makes an endpoint with FF-A id endpoint.
func NewPartition(name string, endpoint uint16) *Partition {
	return &Partition{Name: name, Endpoint: endpoint}
}

// Add registers a service; its interface id is its position.
func (p *Partition) Add(uuid tee.UUID, s Service) {
	p.services = append(p.services, namedService{uuid, s})
}

// ServiceInfo is SERVICE_INFO_GET: the interface id of a service UUID.
func (p *Partition) ServiceInfo(uuid tee.UUID) (uint8, ts.RPCStatus) {
	for i, s := range p.services {
		if s.uuid == uuid {
			return uint8(i), ts.RPCSuccess
		}
	}
	return 0, ts.RPCNotFound
}

// MemRetrieve takes a shared-memory slot; RESOURCE_FAILURE when all 16
// are in use.
func (p *Partition) MemRetrieve() ts.RPCStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.slots >= tee.MaxShmPerSP {
		return ts.RPCResourceFailure
	}
	p.slots++
	return ts.RPCSuccess
}

// MemRelinquish frees a slot.
func (p *Partition) MemRelinquish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.slots > 0 {
		p.slots--
	}
}

// Slots is how many shared memories the partition holds.
func (p *Partition) Slots() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.slots
}

// Call dispatches a service call to interface iface.
func (p *Partition) Call(iface uint8, req *Request) Response {
	p.mu.Lock()
	defer p.mu.Unlock()
	if int(iface) >= len(p.services) {
		return rpcError(ts.RPCInvalidValue)
	}
	r := p.services[iface].svc.Handle(req)
	if r.RPC == ts.RPCSuccess && r.Status == ts.PSASuccess && len(r.Body) > req.Max {
		// The TS serialisers fail when the response does not fit.
		return rpcError(ts.RPCInternal)
	}
	return r
}
