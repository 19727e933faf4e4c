package tpm

import (
	"bytes"
	"container/list"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/parsec-go/parsec/service/provider/tpm/tcti"
)

// device owns the command channel to the TPM and everything loaded in it.
// One mutex serialises all TPM access: commands, and the cache of loaded
// objects, must never interleave (a raw device or swtpm has no resource
// manager, and a handle read from the cache must still be ours when the
// command that uses it runs).
type device struct {
	mu              sync.Mutex
	cfg             tcti.Config
	log             *slog.Logger
	ownerAuth       []byte
	endorsementAuth []byte
	// maxLoaded caps the objects we keep loaded (storage root included);
	// 0 means what the TPM guarantees (TPM_PT_HR_TRANSIENT_MIN).
	maxLoaded int

	// resourceManaged: transient objects are per connection (kernel RM),
	// so objects we did not load are never ours to flush.
	resourceManaged bool

	t    tcti.Transport // nil while disconnected
	caps *capabilities
	// recheck is set when the channel was lost: the cached handles may or
	// may not have survived, so they are verified before being trusted.
	recheck bool

	lru      *list.List // of *loaded, most recently used first
	byID     map[string]*loaded
	byHandle map[tpm2.TPMHandle]*loaded

	root *rootKey
	ek   *tpm2.TPMTPublic // the endorsement key's public area, once known
	rust rustRoot         // the parent of keys made by Rust Parsec (rustprimary.go)

	// sess protects the bus (see busSession); nil until needed, or when
	// sessions are off (noSessions, or a TPM without AES-CFB).
	sess       *busSession
	noSessions bool

	closed bool

	// stats, for tests and logs
	loads, flushes int
}

// errClosed is returned once the provider is closed.
var errClosed = errors.New("the TPM provider is closed")

// loaded is an object we loaded and have not flushed.
type loaded struct {
	id     string // rootID or the hash of a key blob
	handle tpm2.TPMHandle
	name   tpm2.TPM2BName
	elem   *list.Element
	pins   int
}

// rootKey is the storage primary: re-derivable from the owner seed and a
// fixed template, so it is never stored; its context is saved to reload it
// cheaply while the TPM has not been reset.
type rootKey struct {
	name  tpm2.TPM2BName
	pub   *tpm2.TPMTPublic
	saved *tpm2.TPMSContext
}

const rootID = "\x00storage-root"

func newDevice(cfg tcti.Config, log *slog.Logger, ownerAuth, endorsementAuth []byte, maxLoaded int) *device {
	return &device{
		cfg: cfg, log: log, ownerAuth: ownerAuth, endorsementAuth: endorsementAuth, maxLoaded: maxLoaded,
		resourceManaged: cfg.ResourceManaged(),
		lru:             list.New(), byID: map[string]*loaded{}, byHandle: map[tpm2.TPMHandle]*loaded{},
	}
}

// op is the state of one operation run under the device lock.
type op struct {
	d      *device
	pinned []*loaded
	// usedCached is set when the operation used a handle loaded by an
	// earlier one: if the TPM was restarted behind our back that handle
	// may now be empty or someone else's.
	usedCached bool
	// verified: the cache was re-checked during this operation, so cached
	// handles are known to be ours.
	verified bool
}

func (o *op) tpm() transport.TPM { return o.d.t }

func (o *op) pin(l *loaded) {
	l.pins++
	o.pinned = append(o.pinned, l)
}

func (o *op) release() {
	for _, l := range o.pinned {
		l.pins--
	}
	o.pinned = nil
}

// maxBusyRetries bounds how often one operation is retried while the TPM
// answers "busy, try again" warnings.
const maxBusyRetries = 5

// run executes fn with exclusive access to the TPM, connecting first if
// needed. It recovers from what a shared, restarted or full TPM does:
// a lost channel is reopened once, TPM_RC_INITIALIZE triggers Startup,
// busy warnings are retried with back-off, TPM_RC_OBJECT_MEMORY flushes
// our cache (and then, without a resource manager, objects left by
// others), and a failure involving a cached handle re-checks the cache
// before one more try. The error returned is fn's (or the channel's),
// unmapped.
func (d *device) run(fn func(*op) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var reconnected, rechecked, flushedOwn, flushedForeign, flushedSessions bool
	busy := 0
	for {
		if d.closed {
			return errClosed
		}
		if err := d.connect(); err != nil {
			return err
		}
		if d.recheck {
			// The channel was lost, or the TPM reused a handle we held:
			// verify the cache before trusting any of it.
			d.recheck = false
			d.dropSession()
			if err := d.checkCache(); err != nil {
				if isTransport(err) {
					d.disconnect()
				}
				d.recheck = true
				return err
			}
		}
		o := &op{d: d, verified: rechecked}
		err := fn(o)
		o.release()
		if err == nil {
			return nil
		}
		var retry bool
		switch {
		case isTransport(err):
			d.log.Warn("TPM channel lost; reconnecting", "tcti", d.cfg.String(), "err", err)
			d.disconnect()
			retry = !reconnected
			reconnected = true
		case rcIs(err, tpm2.TPMRCInitialize):
			// The TPM was reset and not started: connect() sends Startup.
			d.log.Warn("TPM needs TPM2_Startup (it was reset); starting it", "tcti", d.cfg.String())
			d.disconnect()
			retry = !reconnected
			reconnected = true
		case isWarningRetry(err) && busy < maxBusyRetries:
			busy++
			time.Sleep(time.Duration(busy*busy) * 10 * time.Millisecond)
			retry = true
		case isObjectMemory(err) && !flushedOwn:
			d.log.Warn("TPM out of object memory; flushing our loaded keys and retrying", "loaded", d.lru.Len())
			flushedOwn = true
			if ferr := d.flushAll(false); ferr != nil {
				return ferr
			}
			retry = true
		case isObjectMemory(err) && !flushedForeign && !d.resourceManaged:
			flushedForeign = true
			n, ferr := d.flushForeign()
			if ferr != nil {
				return ferr
			}
			d.log.Warn("TPM still out of object memory; flushed transient objects we did not load (left by a crashed client?)", "flushed", n)
			retry = n > 0
		case isSessionMemory(err) && !flushedSessions && !d.resourceManaged:
			// We keep no session between operations: every loaded one
			// belongs to someone else (or to a crashed earlier us).
			flushedSessions = true
			d.sess = nil // flushed with the others
			n, ferr := d.flushSessions()
			if ferr != nil {
				return ferr
			}
			d.log.Warn("TPM out of session memory; flushed sessions left loaded by other clients", "flushed", n)
			retry = n > 0
		case errors.Is(err, errResponseHMAC):
			// Our nonces no longer match the TPM's: start over.
			d.log.Error("TPM response failed its session HMAC (altered on the bus, or the TPM restarted); starting a new session")
			d.sess = nil
			retry = !rechecked
			rechecked = true
		case o.usedCached && !rechecked && suspectStale(err):
			rechecked = true
			d.log.Debug("failure with a cached TPM handle or session; re-checking", "err", err)
			d.dropSession()
			if cerr := d.checkCache(); cerr != nil {
				return cerr
			}
			retry = true
		}
		if !retry {
			return err
		}
	}
}

// connect opens the channel if it is closed, starts the TPM if it needs
// it, rediscovers its capabilities and re-checks surviving handles.
func (d *device) connect() error {
	if d.t != nil {
		return nil
	}
	t, err := d.cfg.Open()
	if err != nil {
		return err
	}
	d.t = t
	caps, err := discover(t)
	if rcIs(err, tpm2.TPMRCInitialize) {
		if _, serr := (tpm2.Startup{StartupType: tpm2.TPMSUClear}).Execute(t); serr != nil && !rcIs(serr, tpm2.TPMRCInitialize) {
			d.disconnect()
			return fmt.Errorf("TPM2_Startup: %w", serr)
		}
		caps, err = discover(t)
	}
	if err != nil {
		d.disconnect()
		return err
	}
	if d.caps == nil {
		d.log.Info("TPM connected", "tcti", d.cfg.String(), "manufacturer", caps.manufacturer,
			"curves", caps.curveNames(), "rsa_bits", caps.rsaSizes(), "transient_objects", caps.transientMin)
	} else {
		d.log.Info("TPM reconnected", "tcti", d.cfg.String())
	}
	d.caps = caps
	return nil
}

// disconnect drops the channel. Cached handles are kept but must be
// re-checked: behind a resource manager closing the channel flushed them,
// on a simulator or raw device they may still be loaded.
func (d *device) disconnect() {
	if d.t != nil {
		_ = d.t.Close()
		d.t = nil
	}
	if d.lru.Len() > 0 {
		d.recheck = true
	}
}

// budget is how many objects we may keep loaded at once.
func (d *device) budget() int {
	if d.maxLoaded > 0 {
		return d.maxLoaded
	}
	if d.caps != nil && d.caps.transientMin >= 2 {
		return d.caps.transientMin
	}
	return 3 // the minimum the TPM 2.0 specification guarantees
}

func (d *device) insert(id string, h tpm2.TPMHandle, name tpm2.TPM2BName) *loaded {
	if old, ok := d.byHandle[h]; ok {
		// The TPM handed out a handle we thought held one of our objects:
		// it must have lost its state (restart), so that entry is stale.
		// It is not flushed: the handle is now the new object.
		d.log.Warn("TPM reused a cached handle: it lost its loaded objects (restarted?); dropping stale cache entries", "handle", fmt.Sprintf("%#x", uint32(h)))
		d.forget(old)
		d.recheck = true
	}
	if old, ok := d.byID[id]; ok {
		d.forget(old)
	}
	l := &loaded{id: id, handle: h, name: name}
	l.elem = d.lru.PushFront(l)
	d.byID[id] = l
	d.byHandle[h] = l
	d.loads++
	return l
}

// forget drops an entry without flushing it.
func (d *device) forget(l *loaded) {
	d.lru.Remove(l.elem)
	delete(d.byID, l.id)
	if d.byHandle[l.handle] == l {
		delete(d.byHandle, l.handle)
	}
}

func (d *device) touch(l *loaded) { d.lru.MoveToFront(l.elem) }

func (d *device) flush(l *loaded) error {
	d.forget(l)
	_, err := tpm2.FlushContext{FlushHandle: l.handle}.Execute(d.t)
	d.flushes++
	if err != nil && isTransport(err) {
		return err
	}
	// Any other failure means the handle was not loaded any more: nothing
	// to flush.
	return nil
}

// makeRoom evicts least recently used unpinned objects until n more fit.
func (d *device) makeRoom(n int) error {
	for d.lru.Len()+n > d.budget() {
		var victim *loaded
		for e := d.lru.Back(); e != nil; e = e.Prev() {
			if l := e.Value.(*loaded); l.pins == 0 {
				victim = l
				break
			}
		}
		if victim == nil {
			return nil // all pinned: let the TPM decide
		}
		if err := d.flush(victim); err != nil {
			return err
		}
	}
	return nil
}

// flushAll flushes every cached object (pinned ones too when all is set).
func (d *device) flushAll(all bool) error {
	for e := d.lru.Back(); e != nil; {
		prev := e.Prev()
		if l := e.Value.(*loaded); all || l.pins == 0 {
			if err := d.flush(l); err != nil {
				return err
			}
		}
		e = prev
	}
	return nil
}

// flushSessions flushes every loaded session (HMAC and policy).
func (d *device) flushSessions() (int, error) {
	n := 0
	for _, ht := range []tpm2.TPMHT{tpm2.TPMHTHMACSession, tpm2.TPMHTPolicySession} {
		rsp, err := tpm2.GetCapability{Capability: tpm2.TPMCapHandles, Property: uint32(ht) << 24, PropertyCount: 64}.Execute(d.t)
		if err != nil {
			return n, err
		}
		l, err := rsp.CapabilityData.Data.Handles()
		if err != nil {
			return n, err
		}
		for _, h := range l.Handle {
			if uint32(h)>>24 != uint32(ht) {
				continue
			}
			if _, err := (tpm2.FlushContext{FlushHandle: h}).Execute(d.t); err == nil {
				n++
			} else if isTransport(err) {
				return n, err
			}
		}
	}
	return n, nil
}

// transientHandles lists the transient objects loaded in the TPM (only
// ours behind a resource manager; everyone's otherwise).
func transientHandles(t transport.TPM) ([]tpm2.TPMHandle, error) {
	var hs []tpm2.TPMHandle
	next := uint32(tpm2.TPMHTTransient) << 24
	for {
		rsp, err := tpm2.GetCapability{Capability: tpm2.TPMCapHandles, Property: next, PropertyCount: 64}.Execute(t)
		if err != nil {
			return nil, err
		}
		l, err := rsp.CapabilityData.Data.Handles()
		if err != nil {
			return nil, err
		}
		for _, h := range l.Handle {
			if uint32(h)>>24 == uint32(tpm2.TPMHTTransient) {
				hs = append(hs, h)
			}
		}
		if !rsp.MoreData || len(l.Handle) == 0 {
			return hs, nil
		}
		next = uint32(l.Handle[len(l.Handle)-1]) + 1
	}
}

// flushForeign flushes transient objects that are not in our cache. Only
// used without a resource manager, where a crashed client (or an earlier
// instance of this service) can leave objects that fill the TPM forever.
func (d *device) flushForeign() (int, error) {
	hs, err := transientHandles(d.t)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, h := range hs {
		if _, ours := d.byHandle[h]; ours {
			continue
		}
		if _, err := (tpm2.FlushContext{FlushHandle: h}).Execute(d.t); err != nil {
			if isTransport(err) {
				return n, err
			}
			continue
		}
		n++
	}
	return n, nil
}

// checkCache verifies each cached handle still holds the object we loaded
// (same name) and drops, without flushing, those that do not.
func (d *device) checkCache() error {
	for e := d.lru.Front(); e != nil; {
		next := e.Next()
		l := e.Value.(*loaded)
		rsp, err := tpm2.ReadPublic{ObjectHandle: l.handle}.Execute(d.t)
		switch {
		case err != nil && isTransport(err):
			return err
		case err != nil || !bytes.Equal(rsp.Name.Buffer, l.name.Buffer):
			d.log.Info("cached TPM handle no longer holds our object; dropped", "handle", fmt.Sprintf("%#x", uint32(l.handle)))
			d.forget(l)
		}
		e = next
	}
	return nil
}

// reusePrimary returns the primary key cached as id, or loads its saved
// context (if any); nil, nil when it must be created again.
func (o *op) reusePrimary(id string, saved *tpm2.TPMSContext, name tpm2.TPM2BName) (*loaded, error) {
	d := o.d
	if l, ok := d.byID[id]; ok {
		d.touch(l)
		o.pin(l)
		o.usedCached = true
		return l, nil
	}
	if err := d.makeRoom(1); err != nil {
		return nil, err
	}
	if saved == nil {
		return nil, nil
	}
	rsp, err := tpm2.ContextLoad{Context: *saved}.Execute(d.t)
	if err == nil {
		l := d.insert(id, rsp.LoadedHandle, name)
		o.pin(l)
		return l, nil
	}
	if isTransport(err) || isObjectMemory(err) {
		return nil, err
	}
	// Saved contexts die with a TPM reset; derive the key again.
	d.log.Debug("saved primary key context no longer loads; re-creating it", "err", err)
	return nil, nil
}

// storageRoot returns the storage primary, loading its saved context or
// re-creating it from the template.
func (o *op) storageRoot() (*loaded, error) {
	d := o.d
	var saved *tpm2.TPMSContext
	var name tpm2.TPM2BName
	if d.root != nil {
		saved, name = d.root.saved, d.root.name
	}
	if l, err := o.reusePrimary(rootID, saved, name); l != nil || err != nil {
		return l, err
	}
	if d.root != nil {
		d.root.saved = nil
	}
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(d.ownerAuth)},
		InPublic:      tpm2.New2B(d.caps.srkTemplate()),
	}.Execute(d.t)
	if err != nil {
		if isAuthFailure(err) {
			return nil, &hierarchyAuthError{hierarchy: "owner", key: "owner_hierarchy_auth", err: err}
		}
		return nil, fmt.Errorf("creating the storage root key: %w", err)
	}
	if d.root != nil && !bytes.Equal(d.root.name.Buffer, rsp.Name.Buffer) {
		d.log.Error("the TPM's storage root key changed: the owner hierarchy was cleared or this is another TPM; keys created before cannot be loaded")
	}
	l := d.insert(rootID, rsp.ObjectHandle, rsp.Name)
	o.pin(l)
	pub, err := rsp.OutPublic.Contents()
	if err != nil {
		return nil, fmt.Errorf("storage root public area: %w", err)
	}
	d.root = &rootKey{name: rsp.Name, pub: pub}
	if s, err := (tpm2.ContextSave{SaveHandle: rsp.ObjectHandle}).Execute(d.t); err == nil {
		d.root.saved = &s.Context
	} else if isTransport(err) {
		return nil, err
	}
	return l, nil
}

// session returns the bus session, starting it if needed; nil when
// sessions are off (then auth values go as passwords).
func (o *op) session() (*busSession, error) {
	d := o.d
	if d.noSessions || d.caps == nil || !d.caps.algs[tpm2.TPMAlgAES] || !d.caps.algs[tpm2.TPMAlgCFB] {
		return nil, nil
	}
	if d.sess != nil {
		o.usedCached = true
		return d.sess, nil
	}
	root, err := o.storageRoot()
	if err != nil {
		return nil, err
	}
	s, err := startBusSession(d.t, root, d.root.pub)
	if err != nil {
		return nil, err
	}
	d.sess = s
	return s, nil
}

// dropSession flushes our bus session, if any. Best effort: after a TPM
// restart it is gone already.
func (d *device) dropSession() {
	if d.sess == nil {
		return
	}
	if d.t != nil {
		_, _ = tpm2.FlushContext{FlushHandle: d.sess.handle}.Execute(d.t)
	}
	d.sess = nil
}

// authorize returns the handle with its authorization: an HMAC on the bus
// session (encrypting the first command and/or response parameter as
// asked), or a password when sessions are off.
func (o *op) authorize(l *loaded, auth []byte, encIn, encOut bool) (tpm2.AuthHandle, error) {
	s, err := o.session()
	if err != nil {
		return tpm2.AuthHandle{}, err
	}
	if s == nil {
		return tpm2.AuthHandle{Handle: l.handle, Name: l.name, Auth: tpm2.PasswordAuth(auth)}, nil
	}
	return tpm2.AuthHandle{Handle: l.handle, Name: l.name, Auth: s.use(auth, encIn, encOut)}, nil
}

// hierarchyAuthError reports a hierarchy authorization the TPM refused.
type hierarchyAuthError struct {
	hierarchy, key string
	err            error
}

func (e *hierarchyAuthError) Error() string {
	return fmt.Sprintf("the TPM refused the %s hierarchy authorization (config key %s is wrong?): %v", e.hierarchy, e.key, e.err)
}

func (e *hierarchyAuthError) Unwrap() error { return e.err }

// loadKey returns a loaded handle for a key pair, from the cache or by
// loading its blob under the storage root.
func (o *op) loadKey(b *keyBlob) (*loaded, error) {
	d := o.d
	id := b.cacheID()
	if l, ok := d.byID[id]; ok {
		d.touch(l)
		o.pin(l)
		o.usedCached = true
		return l, nil
	}
	if b.kind != kindPair {
		return nil, errors.New("a public key has no TPM private part to load")
	}
	root, err := o.parentFor(b)
	if err != nil {
		return nil, err
	}
	if err := d.makeRoom(1); err != nil {
		return nil, err
	}
	rsp, err := tpm2.Load{
		ParentHandle: tpm2.AuthHandle{Handle: root.handle, Name: root.name, Auth: tpm2.PasswordAuth(nil)},
		InPrivate:    tpm2.TPM2BPrivate{Buffer: b.private},
		InPublic:     tpm2.BytesAs2B[tpm2.TPMTPublic](b.public),
	}.Execute(d.t)
	if err != nil {
		if rcIs(err, tpm2.TPMRCIntegrity) && (!o.usedCached || o.verified) {
			// The parent is certainly our storage root: the blob does not
			// belong to it.
			if b.rust {
				return nil, d.rustLoadRefused(err)
			}
			if len(b.parent) > 0 && !bytes.Equal(b.parent, root.name.Buffer) {
				return nil, &rootChangedError{err: err}
			}
			return nil, fmt.Errorf("%w: the TPM rejects the key's wrapped private part (damaged entry?): %v", errBadBlob, err)
		}
		return nil, fmt.Errorf("loading the key into the TPM: %w", err)
	}
	l := d.insert(id, rsp.ObjectHandle, rsp.Name)
	o.pin(l)
	return l, nil
}

// rootChangedError: the key was wrapped by a storage root this TPM no
// longer derives (owner hierarchy cleared, or another TPM).
type rootChangedError struct{ err error }

func (e *rootChangedError) Error() string {
	return "the key was created under a storage root key this TPM no longer has (TPM cleared, or a different TPM): " + e.err.Error()
}

func (e *rootChangedError) Unwrap() error { return e.err }

// loadedCount reports how many objects we hold, for tests.
func (d *device) loadedCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lru.Len()
}

// close flushes everything we loaded and closes the channel.
func (d *device) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var err error
	if d.t != nil {
		if !d.recheck {
			d.dropSession()
			err = d.flushAll(true)
		}
		d.disconnect()
	}
	d.closed = true
	d.lru.Init()
	d.byID = map[string]*loaded{}
	d.byHandle = map[tpm2.TPMHandle]*loaded{}
	return err
}
