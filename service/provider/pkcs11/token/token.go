//go:build cgo

// Package token drives one PKCS#11 token for the parsec-pkcs11 co-server:
// it loads the module with github.com/miekg/pkcs11 (cgo), picks the slot as
// Parsec's PKCS#11 provider does, keeps a pool of logged-in sessions and a
// cache of object handles, and executes provider 2's operations on keys
// named by their CKA_ID (see service/provider/pkcs11/link).
//
// This is the only package of the service that uses cgo; the daemon never
// imports it.
package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"

	"github.com/parsec-go/parsec/wire"
)

// Options select and unlock the token; the names follow the [[provider]]
// keys of Parsec's PKCS#11 provider.
type Options struct {
	LibraryPath  string  `json:"library_path"`
	SlotNumber   *uint64 `json:"slot_number,omitempty"`
	SerialNumber string  `json:"serial_number,omitempty"`
	UserPIN      string  `json:"user_pin,omitempty"`
	// Sessions bounds the session pool (default 8). A module that cannot
	// lock for itself gets one session, so calls are serialised.
	Sessions int `json:"sessions,omitempty"`
}

// Token is an opened token. It is safe for concurrent use.
type Token struct {
	ctx   *pkcs11.Ctx
	slot  uint
	label string
	log   *slog.Logger
	pin   string

	pool    chan pkcs11.SessionHandle
	slots   chan struct{} // one per session that may still be opened
	loginMu sync.Mutex

	mechMu sync.Mutex
	mechs  map[uint]pkcs11.MechanismInfo // nil until first asked

	handleMu sync.Mutex
	handles  map[handleKey]pkcs11.ObjectHandle
}

type handleKey struct {
	id    uint32
	class uint
}

// Open loads the module, initialises it and selects the slot. Errors name
// the cause and the likely fix.
func Open(o Options, log *slog.Logger) (*Token, error) {
	if o.LibraryPath == "" {
		return nil, errors.New(`config key "provider.library_path" is missing: set it to the token's PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so`)
	}
	c := pkcs11.New(o.LibraryPath)
	if c == nil {
		return nil, fmt.Errorf("cannot load the PKCS#11 library %q: check library_path (the file must exist, be readable by the service user and be a PKCS#11 module for this architecture)", o.LibraryPath)
	}
	n := o.Sessions
	if n <= 0 {
		n = 8
	}
	// The module is asked to use the OS's locking; one that cannot
	// (CKR_CANT_LOCK) is initialised without and given one session, so
	// that no two calls run in it at once.
	err := c.Initialize()
	if isRV(err, pkcs11.CKR_CANT_LOCK) {
		log.Warn("the PKCS#11 module cannot use OS locking; serialising all calls", "library", o.LibraryPath)
		n = 1
		err = c.Initialize(pkcs11.InitializeWithFlags(0))
	}
	if err != nil && !isRV(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		c.Destroy()
		return nil, fmt.Errorf("C_Initialize of %q: %s", o.LibraryPath, describe(err, ""))
	}
	t := &Token{ctx: c, log: log, pin: pinValue(o.UserPIN), pool: make(chan pkcs11.SessionHandle, n),
		slots: make(chan struct{}, n), handles: map[handleKey]pkcs11.ObjectHandle{}}
	for i := 0; i < n; i++ {
		t.slots <- struct{}{}
	}
	if err := t.selectSlot(o); err != nil {
		t.Close()
		return nil, err
	}
	// Open and log in one session now, so a wrong PIN stops start-up.
	s, err := t.get(context.Background())
	if err != nil {
		t.Close()
		return nil, err
	}
	t.put(s, nil)
	return t, nil
}

// pinValue applies Parsec's PIN prefixes: "hex:" followed by the PIN's
// bytes in hex, "str:" followed by the PIN as is.
func pinValue(p string) string {
	if h, ok := strings.CutPrefix(p, "hex:"); ok {
		var b []byte
		if _, err := fmt.Sscanf(h, "%x", &b); err == nil {
			return string(b)
		}
		return p
	}
	if s, ok := strings.CutPrefix(p, "str:"); ok {
		return s
	}
	return p
}

func (t *Token) selectSlot(o Options) error {
	list, err := t.ctx.GetSlotList(true)
	if err != nil {
		return fmt.Errorf("C_GetSlotList: %s", describe(err, ""))
	}
	var inited []slotToken
	for _, s := range list {
		ti, err := t.ctx.GetTokenInfo(s)
		if err != nil {
			t.log.Warn("cannot read token info", "slot", s, "err", describe(err, ""))
			continue
		}
		if ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED != 0 {
			inited = append(inited, slotToken{s, ti})
		}
	}
	none := "no slot holds an initialised token. Initialise one (SoftHSM: softhsm2-util --init-token --free --label parsec --pin PIN --so-pin SOPIN), " +
		"and check that the service user can read and write the token's storage (SoftHSM: directories.tokendir of the file SOFTHSM2_CONF names, default /etc/softhsm/softhsm2.conf; the service user must be in its group, e.g. softhsm)"
	if len(inited) == 0 {
		return fmt.Errorf("PKCS#11 library %q: %s", o.LibraryPath, none)
	}
	var pick *slotToken
	switch {
	case o.SerialNumber != "":
		for i := range inited {
			if strings.TrimSpace(inited[i].info.SerialNumber) == strings.TrimSpace(o.SerialNumber) {
				pick = &inited[i]
			}
		}
		if pick == nil {
			return fmt.Errorf("no initialised token has serial number %q (check serial_number; tokens present: %s)", o.SerialNumber, listTokens(inited))
		}
		if o.SlotNumber != nil && uint64(pick.slot) != *o.SlotNumber {
			t.log.Warn("slot_number does not match the token with serial_number; using the token's slot", "slot_number", *o.SlotNumber, "slot", pick.slot)
		}
	case o.SlotNumber != nil:
		for i := range inited {
			if uint64(inited[i].slot) == *o.SlotNumber {
				pick = &inited[i]
			}
		}
		if pick == nil {
			return fmt.Errorf("slot_number %d holds no initialised token (tokens present: %s)", *o.SlotNumber, listTokens(inited))
		}
		t.log.Warn("using slot_number; serial_number is preferred since slot numbers can change when tokens are added or the machine restarts", "slot", *o.SlotNumber)
	default:
		if len(inited) > 1 {
			return fmt.Errorf("several initialised tokens and neither slot_number nor serial_number set: set one (tokens present: %s)", listTokens(inited))
		}
		pick = &inited[0]
	}
	t.slot, t.label = pick.slot, strings.TrimSpace(pick.info.Label)
	t.log.Info("PKCS#11 token selected", "slot", t.slot, "label", t.label, "serial", strings.TrimSpace(pick.info.SerialNumber), "library", o.LibraryPath)
	return nil
}

// slotToken is a slot and the token in it.
type slotToken struct {
	slot uint
	info pkcs11.TokenInfo
}

func listTokens(c []slotToken) string {
	var b strings.Builder
	for i, x := range c {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "slot %d label %q serial %q", x.slot, strings.TrimSpace(x.info.Label), strings.TrimSpace(x.info.SerialNumber))
	}
	return b.String()
}

// Close closes the sessions and finalises the module.
func (t *Token) Close() {
	for {
		select {
		case s := <-t.pool:
			t.ctx.CloseSession(s)
			continue
		default:
		}
		break
	}
	t.ctx.Finalize()
	t.ctx.Destroy()
}

// get takes a session from the pool, opening (and logging in) a new one
// while the pool is below its size, or waits for one until ctx ends.
func (t *Token) get(ctx context.Context) (pkcs11.SessionHandle, error) {
	select {
	case s := <-t.pool:
		return s, nil
	default:
	}
	select {
	case s := <-t.pool:
		return s, nil
	case <-t.slots:
		s, err := t.open()
		if err != nil {
			t.slots <- struct{}{}
			return 0, err
		}
		return s, nil
	case <-ctx.Done():
		return 0, wire.Errorf(wire.StatusPsaErrorCommunicationFailure, "no PKCS#11 session free before the request's deadline: %v", ctx.Err())
	}
}

func (t *Token) open() (pkcs11.SessionHandle, error) {
	s, err := t.ctx.OpenSession(t.slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return 0, t.fail("C_OpenSession", err)
	}
	if t.pin != "" {
		// Login is per application, not per session: the first session
		// logs all in; later ones see CKR_USER_ALREADY_LOGGED_IN.
		t.loginMu.Lock()
		err = t.ctx.Login(s, pkcs11.CKU_USER, t.pin)
		t.loginMu.Unlock()
		if err != nil && !isRV(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
			t.ctx.CloseSession(s)
			return 0, t.fail("C_Login", err)
		}
	}
	return s, nil
}

// put returns a session to the pool unless err says it is gone.
func (t *Token) put(s pkcs11.SessionHandle, err error) {
	if isRV(err, pkcs11.CKR_SESSION_HANDLE_INVALID) || isRV(err, pkcs11.CKR_SESSION_CLOSED) ||
		isRV(err, pkcs11.CKR_DEVICE_REMOVED) || isRV(err, pkcs11.CKR_TOKEN_NOT_PRESENT) {
		t.ctx.CloseSession(s)
		t.slots <- struct{}{}
		return
	}
	t.pool <- s
}

// with runs f on a pooled session.
func (t *Token) with(ctx context.Context, f func(s pkcs11.SessionHandle) error) error {
	s, err := t.get(ctx)
	if err != nil {
		return err
	}
	err = f(s)
	t.put(s, err)
	return err
}
