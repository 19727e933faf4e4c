// Package trustedservice is Parsec's Trusted Service provider (provider id
// 4, provider_type "TrustedService"): PSA Crypto operations carried out by
// the crypto service of Arm Trusted Services in the TrustZone secure world,
// reached through the Linux arm_tstee driver (/dev/teeN) or, for tests and
// machines without one, through the emulated secure world of
// tools/parsec-tsemu.
//
// # Configuration
//
// Beside Parsec's common keys (provider_type, name, key_info_manager),
// whose meaning is unchanged, the [[provider]] table takes:
//
//	tee_device         "auto" (default): every /dev/teeN whose driver is
//	                   arm_tstee is tried, in number order, until one hosts
//	                   the crypto service; or one device path, e.g. "/dev/tee1".
//	emulator_socket    use the emulated secure world instead of a device:
//	                   "/run/parsec-tsemu.sock" or "unix:PATH" (Unix socket,
//	                   shared memory passed as a memfd), "unix-inline:PATH"
//	                   (Unix socket, buffers carried in the messages), or
//	                   "serial:/dev/vport0p1" (a byte stream such as a QEMU
//	                   virtio-serial port or /dev/hvcN, buffers inline).
//	                   Setting it together with a tee_device other than
//	                   "auto" is an error.
//	encoding           "packed-c" (default): the crypto service UUID with
//	                   every operation (hash, cipher, MAC, AEAD and key
//	                   agreement included); or "protobuf": the UUID Rust
//	                   Parsec uses, with only its key, signature,
//	                   asymmetric encryption and random operations.
//	call_timeout_secs  bound on every call into the secure world (default 30).
//	buffer_size        shared buffer of the session in bytes (default 65536;
//	                   it takes one of the partition's 16 slots).
//	skip_if_no_tee     leave the provider out when the secure world cannot
//	                   be reached at start-up; without it that is a start-up
//	                   error, as a missing TPM is (skip_if_no_tpm).
//
// # Keys
//
// Key ids are chosen here and recorded in the key info manager (Entry.KeyID
// is the partition's persistent key id, 4 bytes little-endian): the next id
// is one more than the largest this provider has recorded, starting at 1,
// as in Parsec. Keys are created with lifetime persistent. The reference
// secure-storage partitions keep their data in RAM, so a key the key info
// manager knows may be gone after a reboot: that is answered with
// PsaErrorDoesNotExist, logged, and the mapping is removed. Mappings are
// also checked against the partition (GET_KEY_ATTRIBUTES, packed-c) after
// every (re)connection.
//
// # Faults
//
// A missing device, a lost emulator, a timeout, a malformed response or a
// call the driver rejects all end as PsaErrorCommunicationFailure with a
// log line naming the cause; the next call reconnects.
package trustedservice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/parsec-go/parsec/internal/tee"
	"github.com/parsec-go/parsec/internal/ts"
	pc "github.com/parsec-go/parsec/internal/ts/packedc"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
)

// Config is the provider's own part of its [[provider]] table.
type Config struct {
	TEEDevice       string `toml:"tee_device"`
	EmulatorSocket  string `toml:"emulator_socket"`
	Encoding        string `toml:"encoding"`
	CallTimeoutSecs int64  `toml:"call_timeout_secs"`
	BufferSize      int64  `toml:"buffer_size"`
	SkipIfNoTEE     bool   `toml:"skip_if_no_tee"`
}

const (
	minKeyID = 1
	maxKeyID = 0x3fffffff
	// startupTimeout bounds the first connection attempt in New.
	startupTimeout = 5 * time.Second
)

// Provider is the Trusted Service provider.
type Provider struct {
	*provider.Table
	info     provider.Info
	keys     provider.Keys
	log      *slog.Logger
	settings provider.Settings
	enc      ts.Encoding
	opener   func(ctx context.Context) (tee.Opener, io.Closer, error)
	where    string
	timeout  time.Duration
	bufSize  int

	mu      sync.Mutex // guards the connection
	crypto  ts.Crypto
	caller  *ts.Caller
	closer  io.Closer
	lastErr error
	lastTry time.Time
	closed  bool

	idMu   sync.Mutex
	nextID uint32
}

var _ provider.Provider = (*Provider)(nil)

// New builds the provider (a provider.Factory).
func New(d provider.Deps) (provider.Provider, error) {
	cfg := Config{TEEDevice: "auto"}
	if err := d.DecodeConfig(&cfg); err != nil {
		return nil, err
	}
	if d.KIM == nil {
		return nil, errors.New("the Trusted Service provider needs a key info manager")
	}
	enc, err := ts.ParseEncoding(cfg.Encoding)
	if err != nil {
		return nil, fmt.Errorf(`config key "provider.encoding": %w`, err)
	}
	if cfg.EmulatorSocket != "" && cfg.TEEDevice != "" && cfg.TEEDevice != "auto" {
		return nil, errors.New(`config keys "provider.tee_device" and "provider.emulator_socket" are exclusive: set one`)
	}
	if cfg.CallTimeoutSecs < 0 || cfg.CallTimeoutSecs > 3600 {
		return nil, fmt.Errorf(`config key "provider.call_timeout_secs": %d is outside 1..3600`, cfg.CallTimeoutSecs)
	}
	if cfg.BufferSize != 0 && (cfg.BufferSize < 4096 || cfg.BufferSize > tee.MaxEmuShm) {
		return nil, fmt.Errorf(`config key "provider.buffer_size": %d is outside 4096..%d`, cfg.BufferSize, tee.MaxEmuShm)
	}
	d = d.Defaults()
	p := &Provider{
		info: provider.NewInfo(wire.ProviderTrustedService, d.Name, [3]uint32{0, 1, 0}),
		keys: d.Keys(wire.ProviderTrustedService), log: d.Log, settings: d.Settings, enc: enc,
		timeout: time.Duration(cfg.CallTimeoutSecs) * time.Second, bufSize: int(cfg.BufferSize),
	}
	if p.timeout == 0 {
		p.timeout = ts.DefaultTimeout
	}
	p.Table = p.table()
	if cfg.EmulatorSocket != "" {
		addr := cfg.EmulatorSocket
		p.where = "emulator " + addr
		p.opener = func(ctx context.Context) (tee.Opener, io.Closer, error) {
			c, err := tee.DialEmulator(ctx, addr)
			if err != nil {
				return nil, nil, err
			}
			return tee.EmuOpener{Conn: c}, c, nil
		}
	} else {
		dev := cfg.TEEDevice
		p.where = "TEE device " + dev
		p.opener = func(context.Context) (tee.Opener, io.Closer, error) {
			return tee.KernelOpener{Path: dev}, nil, nil
		}
	}
	if err := p.initIDs(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(startupTimeout, p.timeout))
	defer cancel()
	if _, err := p.connect(ctx); err != nil {
		// As a missing TPM: fatal at start unless the config says to
		// start without it (skip_if_no_tee, like skip_if_no_tpm). A
		// secure world lost later only fails operations until it is back.
		if cfg.SkipIfNoTEE {
			return nil, fmt.Errorf("%w: Trusted Services not reachable through %s: %v (skip_if_no_tee = true)", provider.ErrSkip, p.where, err)
		}
		return nil, fmt.Errorf("Trusted Services not reachable through %s: %v; start the secure world (or its emulator) first, or set skip_if_no_tee = true in this [[provider]] to start without it", p.where, err)
	}
	return p, nil
}

// initIDs starts the id counter after the largest id this provider has
// recorded, so ids are not reused while their mapping exists.
func (p *Provider) initIDs() error {
	all, err := p.keys.All()
	if err != nil {
		return fmt.Errorf("listing keys: %w", err)
	}
	var max uint32
	for _, k := range all {
		if id, ok := decodeKeyID(k.Entry.KeyID); ok && id > max {
			max = id
		}
	}
	p.nextID = max + 1
	return nil
}

func (p *Provider) allocID() (uint32, error) {
	p.idMu.Lock()
	defer p.idMu.Unlock()
	if p.nextID > maxKeyID {
		return 0, wire.Errorf(wire.StatusPsaErrorInsufficientMemory, "all persistent key ids up to %#x are used", maxKeyID)
	}
	id := p.nextID
	p.nextID++
	return id, nil
}

// keyIDs is the stored key id format, Rust's u32 little-endian.
var keyIDs = provider.KeyID32{Min: minKeyID, Max: maxKeyID}

func encodeKeyID(id uint32) []byte { return keyIDs.Encode(id) }

func decodeKeyID(b []byte) (uint32, bool) { return keyIDs.Decode(b) }

// connect returns the crypto client, (re)opening the session when there is
// none or the last one broke. A failed attempt is remembered for a second
// so a burst of requests does not hammer a missing device.
func (p *Provider) connect(ctx context.Context) (ts.Crypto, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, wire.Errorf(wire.StatusPsaErrorCommunicationFailure, "provider closed")
	}
	if p.caller != nil {
		if err := p.caller.Broken(); err == nil {
			return p.crypto, nil
		} else {
			p.log.Warn("Trusted Services session lost; reconnecting", "via", p.where, "cause", err)
			p.dropLocked()
		}
	}
	if p.lastErr != nil && time.Since(p.lastTry) < time.Second {
		return nil, p.lastErr
	}
	p.lastTry = time.Now()
	o, closer, err := p.opener(ctx)
	if err == nil {
		var c *ts.Caller
		c, err = ts.Dial(ctx, o, p.enc.Service(), p.bufSize, p.timeout)
		if err == nil {
			p.caller, p.crypto, p.closer, p.lastErr = c, ts.NewCrypto(c), closer, nil
			p.log.Info("Trusted Services crypto session open", "via", p.where, "device", c.Device(),
				"endpoint", fmt.Sprintf("%#04x", c.Endpoint()), "encoding", p.enc, "buffer", c.BufferSize())
			p.reconcileLocked(ctx)
			return p.crypto, nil
		}
		if closer != nil {
			closer.Close()
		}
	}
	p.lastErr = wire.Errorf(wire.StatusPsaErrorCommunicationFailure, "Trusted Services not reachable through %s: %v", p.where, err)
	return nil, p.lastErr
}

func (p *Provider) dropLocked() {
	if p.caller != nil {
		p.caller.Close()
	}
	if p.closer != nil {
		p.closer.Close()
	}
	p.caller, p.crypto, p.closer = nil, nil, nil
}

// reconcileLocked removes mappings whose keys the partition no longer has
// (RAM-backed storage after a reboot). Only packed-c can ask.
func (p *Provider) reconcileLocked(ctx context.Context) {
	if !p.crypto.Supports(pc.OpGetKeyAttrs) {
		return
	}
	all, err := p.keys.All()
	if err != nil {
		p.log.Error("cannot list keys to check them against the secure world", "err", err)
		return
	}
	lost := 0
	for _, k := range all {
		id, ok := decodeKeyID(k.Entry.KeyID)
		if !ok {
			continue
		}
		_, err := p.crypto.GetKeyAttributes(ctx, id)
		if errors.Is(err, ts.PSAErrorDoesNotExist) {
			lost++
			p.forgetLost(k.Owner, k.Name, k.Entry, "found missing after connecting")
		} else if err != nil && !errors.As(err, new(*ts.Error)) {
			p.log.Warn("key check against the secure world interrupted", "err", err)
			return
		}
	}
	if lost > 0 {
		p.log.Warn("keys lost by the secure world (RAM-backed storage reset?)", "count", lost)
	}
}

// forgetLost removes a mapping whose key the secure world lost, if it
// still points at the same key.
func (p *Provider) forgetLost(o kim.Owner, name string, e kim.Entry, why string) {
	cur, err := p.keys.GetOwner(o, name)
	if err != nil || string(cur.KeyID) != string(e.KeyID) {
		return
	}
	id, _ := decodeKeyID(e.KeyID)
	if err := p.keys.RemoveOwner(o, name); err != nil {
		p.log.Error("cannot remove the mapping of a lost key", "key", name, "app", o.App, "key_id", id, "err", err)
		return
	}
	p.log.Warn("key no longer exists in the secure world; mapping removed", "key", name, "app", o.App, "key_id", id, "when", why)
}

// Info implements provider.Provider.
func (p *Provider) Info() provider.Info { return p.info }

// Close implements provider.Provider.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.dropLocked()
	return nil
}

// table is Rust Parsec's Trusted Service provider's set, plus sign and
// verify message, plus what only the packed-c interface offers (MAC
// answered but not advertised, as the other providers do).
func (p *Provider) table() *provider.Table {
	packed := p.enc == ts.PackedC
	return provider.NewTable(
		session(p, wire.OpPsaDestroyKey, (*call).destroyKey),
		session(p, wire.OpPsaGenerateKey, (*call).generateKey),
		session(p, wire.OpPsaSignHash, (*call).signHash),
		session(p, wire.OpPsaVerifyHash, (*call).verifyHash),
		session(p, wire.OpPsaImportKey, (*call).importKey),
		session(p, wire.OpPsaExportPublicKey, (*call).exportPublicKey),
		session(p, wire.OpPsaExportKey, (*call).exportKey),
		provider.Handle(wire.OpPsaGenerateRandom, p.generateRandom),
		provider.Handle(wire.OpCanDoCrypto, p.canDoCrypto),
		session(p, wire.OpPsaAsymmetricEncrypt, (*call).asymmetricEncrypt),
		session(p, wire.OpPsaAsymmetricDecrypt, (*call).asymmetricDecrypt),
		session(p, wire.OpPsaSignMessage, (*call).signMessage),
		session(p, wire.OpPsaVerifyMessage, (*call).verifyMessage),
		session(p, wire.OpPsaHashCompute, (*call).hashCompute).If(packed),
		session(p, wire.OpPsaHashCompare, (*call).hashCompare).If(packed),
		session(p, wire.OpPsaAeadEncrypt, (*call).aeadEncrypt).If(packed),
		session(p, wire.OpPsaAeadDecrypt, (*call).aeadDecrypt).If(packed),
		session(p, wire.OpPsaRawKeyAgreement, (*call).rawKeyAgreement).If(packed),
		session(p, wire.OpPsaCipherEncrypt, (*call).cipherEncrypt).If(packed),
		session(p, wire.OpPsaCipherDecrypt, (*call).cipherDecrypt).If(packed),
		session(p, wire.OpPsaMacCompute, (*call).macCompute).Unadvertised().If(packed),
		session(p, wire.OpPsaMacVerify, (*call).macVerify).Unadvertised().If(packed),
	)
}
