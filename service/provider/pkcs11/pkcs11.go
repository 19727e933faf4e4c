// Package pkcs11 is Parsec's PKCS#11 provider (provider id 2,
// provider_type "Pkcs11") on the daemon's side. The token is driven by the
// parsec-pkcs11 co-server (service/cmd/parsec-pkcs11), a separate cgo
// program, so that the daemon stays static and a misbehaving PKCS#11
// module cannot take the service down. This package starts and supervises
// the co-server, keeps the key mappings in the key info manager and
// applies the PSA key policy, and forwards each operation over the wire
// protocol (service/provider/pkcs11/link) naming the key by its token id.
//
// # Configuration
//
// The keys of Parsec's PKCS#11 provider, unchanged: library_path,
// slot_number, serial_number, user_pin ("hex:"/"str:" prefixes as in
// Parsec), software_public_operations (verify and encrypt with the public
// key in the service instead of on the token), allow_export (default
// true). Ours, all
// optional:
//
//	coserver_path        the co-server to run when there is none named
//	                     parsec-pkcs11 next to the daemon's executable
//	coserver_socket      the co-server's socket (default: a fresh 0700
//	                     directory in $RUNTIME_DIRECTORY or the temp dir)
//	sessions             PKCS#11 sessions the co-server pools (default 8)
//	request_timeout_secs bound on one forwarded request (default 30)
//	start_timeout_secs   bound on the co-server's start (default 30)
//
// # Keys
//
// As in Parsec: a key's id is a random u32, recorded little-endian in the
// key info manager; on the token both objects of the pair carry CKA_ID =
// the same u32 big-endian, so mappings carried over from a Rust deployment
// find their objects. Keys on the token that a mapping names but the token
// no longer has are reported at start-up (not removed: a wrong token
// selected by mistake must not erase the mappings).
package pkcs11

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/parsec-go/parsec/internal/companion"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/service/provider/pkcs11/link"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// CoserverName is the co-server's executable name.
const CoserverName = "parsec-pkcs11"

// Config is the provider's own part of its [[provider]] table.
type Config struct {
	LibraryPath              string  `toml:"library_path"`
	SlotNumber               *uint64 `toml:"slot_number"`
	SerialNumber             string  `toml:"serial_number"`
	UserPIN                  string  `toml:"user_pin"`
	SoftwarePublicOperations bool    `toml:"software_public_operations"`
	AllowExport              *bool   `toml:"allow_export"`

	CoserverPath       string `toml:"coserver_path"`
	CoserverSocket     string `toml:"coserver_socket"`
	Sessions           int64  `toml:"sessions"`
	RequestTimeoutSecs int64  `toml:"request_timeout_secs"`
	StartTimeoutSecs   int64  `toml:"start_timeout_secs"`
}

// coserverOptions is what the co-server reads on its standard input.
type coserverOptions struct {
	LibraryPath      string  `json:"library_path"`
	SlotNumber       *uint64 `json:"slot_number,omitempty"`
	SerialNumber     string  `json:"serial_number,omitempty"`
	UserPIN          string  `json:"user_pin,omitempty"`
	Sessions         int     `json:"sessions,omitempty"`
	RequestTimeoutMS int64   `json:"request_timeout_ms,omitempty"`
	LogLevel         string  `json:"log_level,omitempty"`
}

// Provider is the PKCS#11 provider.
type Provider struct {
	*provider.Table
	info        provider.Info
	keys        provider.Keys
	log         *slog.Logger
	settings    provider.Settings
	allowExport bool
	softwarePub bool
	pub         publicKeys
	co          *coserver
	sockDir     string // removed on Close when we made it
}

var _ provider.Provider = (*Provider)(nil)

// New builds the provider (a provider.Factory): it starts the co-server
// and returns once the token is open.
func New(d provider.Deps) (provider.Provider, error) {
	var cfg Config
	if err := d.DecodeConfig(&cfg); err != nil {
		return nil, err
	}
	if d.KIM == nil {
		return nil, errors.New("the PKCS#11 provider needs a key info manager")
	}
	if cfg.LibraryPath == "" {
		return nil, errors.New(`config key "provider.library_path" is missing: set it to the token's PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so`)
	}
	for _, b := range []struct {
		key string
		v   int64
		max int64
	}{{"sessions", cfg.Sessions, 1024}, {"request_timeout_secs", cfg.RequestTimeoutSecs, 3600}, {"start_timeout_secs", cfg.StartTimeoutSecs, 3600}} {
		if b.v < 0 || b.v > b.max {
			return nil, fmt.Errorf("config key \"provider.%s\": %d is outside 1..%d", b.key, b.v, b.max)
		}
	}
	d = d.Defaults()
	log := d.Log
	exe, err := findCoserver(cfg.CoserverPath)
	if err != nil {
		return nil, err
	}
	p := &Provider{info: provider.NewInfo(wire.ProviderPkcs11, d.Name, [3]uint32{0, 1, 0}), keys: d.Keys(wire.ProviderPkcs11),
		log: log, settings: d.Settings, allowExport: cfg.AllowExport == nil || *cfg.AllowExport}
	p.Table = p.table()
	p.softwarePub = cfg.SoftwarePublicOperations
	p.pub.m = map[uint32]crypto.PublicKey{}
	socket := cfg.CoserverSocket
	if socket == "" {
		base := os.Getenv("RUNTIME_DIRECTORY")
		if base == "" {
			base = os.TempDir()
		}
		if p.sockDir, err = os.MkdirTemp(base, "parsec-pkcs11-"); err != nil {
			return nil, fmt.Errorf("creating the co-server's socket directory: %w", err)
		}
		socket = filepath.Join(p.sockDir, "pkcs11.sock")
	}
	reqTimeout := time.Duration(cfg.RequestTimeoutSecs) * time.Second
	if reqTimeout == 0 {
		reqTimeout = 30 * time.Second
	}
	startTimeout := time.Duration(cfg.StartTimeoutSecs) * time.Second
	if startTimeout == 0 {
		startTimeout = 30 * time.Second
	}
	lvl := "INFO"
	if log.Enabled(context.Background(), slog.LevelDebug) {
		lvl = "DEBUG"
	}
	opts, err := json.Marshal(coserverOptions{
		LibraryPath: cfg.LibraryPath, SlotNumber: cfg.SlotNumber, SerialNumber: cfg.SerialNumber, UserPIN: cfg.UserPIN,
		Sessions: int(cfg.Sessions), RequestTimeoutMS: reqTimeout.Milliseconds(), LogLevel: lvl,
	})
	if err != nil {
		return nil, err
	}
	p.co = &coserver{exe: exe, socket: socket, opts: opts, log: log, startTimeout: startTimeout, reqTimeout: reqTimeout}
	if err := p.co.launch(); err != nil {
		p.removeSockDir()
		return nil, err
	}
	log.Info("PKCS#11 co-server ready", "exe", exe, "pid", p.co.pid(), "socket", socket)
	p.checkMappings()
	return p, nil
}

// findCoserver looks for parsec-pkcs11 next to the daemon's executable
// first, then at the configured path.
func findCoserver(configured string) (string, error) {
	var tried []string
	if c, ok := companion.Beside(CoserverName); ok {
		return c, nil
	} else if c != "" {
		tried = append(tried, c)
	}
	if configured != "" {
		if companion.IsExecutable(configured) {
			return configured, nil
		}
		tried = append(tried, configured)
	}
	return "", fmt.Errorf("the PKCS#11 co-server %s was not found (tried %v): install it next to the daemon, or set \"provider.coserver_path\" (Yocto: add PKCS11 to PACKAGECONFIG of parsec-service)", CoserverName, tried)
}

func (p *Provider) removeSockDir() {
	if p.sockDir != "" {
		os.RemoveAll(p.sockDir)
	}
}

// checkMappings reports mappings of this provider whose objects the token
// does not have (the wrong token selected, or a token reset).
func (p *Provider) checkMappings() {
	all, err := p.keys.All()
	if err != nil {
		p.log.Error("cannot list keys to check them against the token", "err", err)
		return
	}
	missing := 0
	for _, k := range all {
		id, ok := keyIDs.Decode(k.Entry.KeyID)
		if !ok {
			p.log.Error("mapping with an invalid PKCS#11 key id", "key", k.Name, "app", k.Owner.App)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := p.co.call(ctx, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: link.KeyName(id)})
		cancel()
		if errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
			missing++
			p.log.Warn("key not found on the token; its mapping is kept", "key", k.Name, "app", k.Owner.App, "key_id", fmt.Sprintf("%08x", id))
		}
	}
	if missing > 0 {
		p.log.Warn("keys recorded for this provider are missing on the token: is it the right token (slot_number/serial_number)?", "count", missing)
	}
}

// keyIDs is Parsec's PKCS#11 key id format: any u32 (Rust may have drawn
// 0; we never do).
var keyIDs = provider.KeyID32{Min: 0, Max: ^uint32(0)}

// randomID draws a key id as Parsec does: a random u32 (never 0 here).
func randomID() (uint32, error) {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, wire.Errorf(wire.StatusPsaErrorInsufficientEntropy, "drawing a key id: %v", err)
		}
		if id := binary.LittleEndian.Uint32(b[:]); id != 0 {
			return id, nil
		}
	}
}

// Info implements provider.Provider.
func (p *Provider) Info() provider.Info { return p.info }

// Close implements provider.Provider: stops the co-server.
func (p *Provider) Close() error {
	p.co.close()
	p.removeSockDir()
	return nil
}

// table is Parsec's PKCS#11 provider's set of operations. Random numbers
// and CanDoCrypto (which asks the token for its mechanisms) go to the
// co-server as they are; the key operations resolve the client's key name
// here first.
func (p *Provider) table() *provider.Table {
	return provider.NewTable(
		provider.Handle(wire.OpPsaGenerateKey, p.generateKey),
		provider.Handle(wire.OpPsaDestroyKey, p.destroyKey),
		provider.Handle(wire.OpPsaSignHash, p.signHash),
		provider.Handle(wire.OpPsaVerifyHash, p.verifyHash),
		provider.Handle(wire.OpPsaImportKey, p.importKey),
		provider.Handle(wire.OpPsaExportPublicKey, p.exportPublicKey),
		provider.Handle(wire.OpPsaAsymmetricDecrypt, p.asymmetricDecrypt),
		provider.Handle(wire.OpPsaAsymmetricEncrypt, p.asymmetricEncrypt),
		provider.Handle(wire.OpCanDoCrypto, p.canDoCrypto),
		provider.Handle(wire.OpPsaGenerateRandom, p.generateRandom),
	)
}
