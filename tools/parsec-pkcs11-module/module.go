//go:build cgo

package main

// #include "shim.h"
import "C"

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/wire"
)

// mod is the module's one instance. A PKCS#11 module is a process-wide
// singleton by definition (the C ABI has no handle for it), so this is the
// one piece of package state; everything else hangs off it.
var mod module

// opTimeout bounds each call to the service so that a stuck service turns
// into CKR_DEVICE_ERROR rather than a hung application.
const opTimeout = 30 * time.Second

// module is the state between C_Initialize and C_Finalize.
type module struct {
	mu          sync.Mutex
	initialized bool
	c           *client.Client // nil until the service answered discovery
	// release frees what the identity holds (a Workload API connection).
	release func()
	slots   []slot
	// sessions and objects are indexed by handle; handles are never reused
	// within one initialisation.
	sessions    map[C.CK_SESSION_HANDLE]*session
	nextSession C.CK_SESSION_HANDLE
	objs        objectTable
}

// slot is one provider of the service.
type slot struct {
	id   wire.ProviderID
	info client.ProviderInfo
	c    *client.Client // bound to this provider
}

// session is an open session: the slot, the search in progress and the
// one operation of each kind PKCS#11 allows at a time.
type session struct {
	slot    wire.ProviderID
	rw      bool
	find    []C.CK_OBJECT_HANDLE
	finding bool
	sign    *signOp
	verify  *signOp
	dec     *decryptOp
}

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

func (m *module) initialize() C.CK_RV {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.initialized {
		return C.CKR_CRYPTOKI_ALREADY_INITIALIZED
	}
	m.initialized = true
	m.sessions = map[C.CK_SESSION_HANDLE]*session{}
	m.objs = newObjectTable()
	// Discovery failing is not fatal: p11-kit loads every module at once,
	// and a service that starts later is picked up by C_GetSlotList.
	if err := m.discoverLocked(); err != nil {
		fmt.Fprintf(os.Stderr, "libparsec-pkcs11: %v\n", err)
	}
	return C.CKR_OK
}

// discoverLocked connects to the service and lists its providers.
func (m *module) discoverLocked() error {
	if m.c != nil {
		return nil
	}
	cx, cancel := ctx()
	defer cancel()
	// Calls arrive on the application's threads, which the Go scheduler
	// does not own: blocking socket I/O keeps each request on its thread
	// instead of handing it between threads while it waits.
	// The identity: the process's uid, or a JWT-SVID when the SPIFFE
	// variables ask for one (in a build with parsec_jwtsvid).
	opts, release, err := jwtSVIDOptions(os.Getenv)
	if err != nil {
		return fmt.Errorf("JWT-SVID: %w", err)
	}
	c, err := client.New(cx, append(opts, client.WithBlockingIO())...)
	if err != nil {
		release()
		return fmt.Errorf("connecting to the Parsec service at %s: %w", client.EndpointFromEnv(), err)
	}
	provs, err := c.ListProviders(cx)
	if err != nil {
		release()
		return fmt.Errorf("listing the providers: %w", err)
	}
	var slots []slot
	for _, p := range provs {
		if p.ID == wire.ProviderCore {
			continue
		}
		slots = append(slots, slot{id: p.ID, info: p, c: c.WithProvider(p.ID)})
	}
	m.c, m.slots, m.release = c, slots, release
	return nil
}

func (m *module) finalize() C.CK_RV {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.initialized {
		return C.CKR_CRYPTOKI_NOT_INITIALIZED
	}
	m.resetLocked()
	return C.CKR_OK
}

// resetLocked returns the module to its uninitialised state (the lock
// itself stays held by the caller).
func (m *module) resetLocked() {
	if m.release != nil {
		m.release()
	}
	m.release = nil
	m.initialized, m.c, m.slots = false, nil, nil
	m.sessions, m.nextSession, m.objs = nil, 0, objectTable{}
}

// lock takes the module lock for a call that needs an initialised module.
func (m *module) lock() C.CK_RV {
	m.mu.Lock()
	if !m.initialized {
		m.mu.Unlock()
		return C.CKR_CRYPTOKI_NOT_INITIALIZED
	}
	return C.CKR_OK
}

func (m *module) slotLocked(id C.CK_SLOT_ID) (*slot, C.CK_RV) {
	for i := range m.slots {
		if C.CK_SLOT_ID(m.slots[i].id) == id {
			return &m.slots[i], C.CKR_OK
		}
	}
	return nil, C.CKR_SLOT_ID_INVALID
}

// sessionLocked returns the session and its slot.
func (m *module) sessionLocked(h C.CK_SESSION_HANDLE) (*session, *slot, C.CK_RV) {
	s, ok := m.sessions[h]
	if !ok {
		return nil, nil, C.CKR_SESSION_HANDLE_INVALID
	}
	sl, rv := m.slotLocked(C.CK_SLOT_ID(s.slot))
	if rv != C.CKR_OK {
		return nil, nil, C.CKR_SESSION_HANDLE_INVALID
	}
	return s, sl, C.CKR_OK
}

func (m *module) openSession(slotID C.CK_SLOT_ID, flags C.CK_FLAGS) (C.CK_SESSION_HANDLE, C.CK_RV) {
	if rv := m.lock(); rv != C.CKR_OK {
		return 0, rv
	}
	defer m.mu.Unlock()
	if flags&C.CKF_SERIAL_SESSION == 0 {
		return 0, C.CKR_SESSION_PARALLEL_NOT_SUPPORTED
	}
	if _, rv := m.slotLocked(slotID); rv != C.CKR_OK {
		return 0, rv
	}
	m.nextSession++
	m.sessions[m.nextSession] = &session{slot: wire.ProviderID(slotID), rw: flags&C.CKF_RW_SESSION != 0}
	return m.nextSession, C.CKR_OK
}

func (m *module) closeSession(h C.CK_SESSION_HANDLE) C.CK_RV {
	if rv := m.lock(); rv != C.CKR_OK {
		return rv
	}
	defer m.mu.Unlock()
	if _, ok := m.sessions[h]; !ok {
		return C.CKR_SESSION_HANDLE_INVALID
	}
	delete(m.sessions, h)
	return C.CKR_OK
}

func (m *module) closeAllSessions(slotID C.CK_SLOT_ID) C.CK_RV {
	if rv := m.lock(); rv != C.CKR_OK {
		return rv
	}
	defer m.mu.Unlock()
	if _, rv := m.slotLocked(slotID); rv != C.CKR_OK {
		return rv
	}
	for h, s := range m.sessions {
		if C.CK_SLOT_ID(s.slot) == slotID {
			delete(m.sessions, h)
		}
	}
	return C.CKR_OK
}

// withSlot runs f with the module locked and the slot resolved.
func (m *module) withSlot(id C.CK_SLOT_ID, f func(sl *slot) C.CK_RV) C.CK_RV {
	if rv := m.lock(); rv != C.CKR_OK {
		return rv
	}
	defer m.mu.Unlock()
	sl, rv := m.slotLocked(id)
	if rv != C.CKR_OK {
		return rv
	}
	return f(sl)
}

// withSession runs f with the module locked and the session resolved.
func (m *module) withSession(h C.CK_SESSION_HANDLE, f func(s *session, sl *slot) C.CK_RV) C.CK_RV {
	if rv := m.lock(); rv != C.CKR_OK {
		return rv
	}
	defer m.mu.Unlock()
	s, sl, rv := m.sessionLocked(h)
	if rv != C.CKR_OK {
		return rv
	}
	return f(s, sl)
}
