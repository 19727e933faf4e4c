// Package software is parsec-go's software provider. It takes the role of
// Parsec's Mbed Crypto provider (provider id 1, provider_type
// "MbedCrypto"), so existing configurations and clients work unchanged,
// and implements the PSA Crypto operations with the Go standard library
// plus the few primitives it lacks (SHA-3, ChaCha20-Poly1305, CCM, CMAC,
// deterministic ECDSA; see internal/).
//
// Key material lives in its own store (store_path), one file per key;
// the key info manager maps (application, key name) to the key id. Key
// policy and error statuses follow what Parsec's Mbed Crypto provider
// returns: parsec-interface's checks first, then Mbed TLS's.
//
// Not supported (PsaErrorNotSupported), where Mbed TLS has them: finite
// field Diffie-Hellman (the standard library has no constant-time modular
// exponentiation to build it on), Camellia, DES and ARC4 operations, the
// curves P-192, P-224, secp256k1, Brainpool and X448, MD2, MD4 and
// RIPEMD-160, CBC-MAC, XTS, and RSA-PSS with hashes the running Go does
// not register (SHA-3 on Go 1.22).
package software

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"sync"

	"github.com/parsec-go/parsec/internal/statedir"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// DefaultStorePath is where key material lives unless store_path says
// otherwise.
const DefaultStorePath = "/var/lib/parsec/mbed-crypto"

// Config is the provider's own part of its [[provider]] table.
type Config struct {
	// StorePath is parsec-go's extension: the directory of key material.
	// (Rust Parsec keeps Mbed Crypto keys in its working directory.)
	StorePath string `toml:"store_path"`
}

// advertised is exactly the Rust Mbed Crypto provider's set: clients
// reject opcodes they do not know, and list-opcodes must match.
var advertised = []wire.Opcode{
	wire.OpPsaGenerateKey, wire.OpPsaDestroyKey, wire.OpPsaSignHash, wire.OpPsaVerifyHash,
	wire.OpPsaImportKey, wire.OpPsaExportPublicKey, wire.OpPsaAsymmetricEncrypt,
	wire.OpPsaAsymmetricDecrypt, wire.OpPsaExportKey, wire.OpPsaGenerateRandom,
	wire.OpPsaHashCompute, wire.OpPsaHashCompare, wire.OpPsaAeadEncrypt, wire.OpPsaAeadDecrypt,
	wire.OpPsaRawKeyAgreement, wire.OpCanDoCrypto,
}

// answered are handled without being advertised.
var answered = []wire.Opcode{
	wire.OpPsaCipherEncrypt, wire.OpPsaCipherDecrypt, wire.OpPsaMacCompute, wire.OpPsaMacVerify,
	wire.OpPsaSignMessage, wire.OpPsaVerifyMessage,
}

const defaultBufferSizeLimit = 1 << 20

// cacheSize bounds the parsed keys kept in memory; a miss costs one file
// read and parse.
const cacheSize = 256

// Provider is the software provider.
type Provider struct {
	info     provider.Info
	kim      kim.Manager
	store    *store
	log      *slog.Logger
	settings provider.Settings

	mu    sync.RWMutex
	cache map[uint32]*key
}

var _ provider.Provider = (*Provider)(nil)

// New builds the provider from its configuration (a provider.Factory).
func New(d provider.Deps) (provider.Provider, error) {
	return open(d)
}

func open(d provider.Deps) (*Provider, error) {
	cfg := Config{StorePath: DefaultStorePath}
	if d.Decode != nil {
		if err := d.Decode(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.StorePath == "" {
		return nil, errors.New(`config key "provider.store_path" must not be empty`)
	}
	// The store holds private keys: refuse one that others could write.
	if err := statedir.Check(cfg.StorePath); err != nil {
		return nil, err
	}
	if d.KIM == nil {
		return nil, errors.New("the provider needs a key info manager")
	}
	log := d.Log
	if log == nil {
		log = slog.New(discardHandler{})
	}
	st, err := openStore(cfg.StorePath, d.KIM, log)
	if err != nil {
		return nil, err
	}
	settings := d.Settings
	if settings.BufferSizeLimit == 0 {
		settings.BufferSizeLimit = defaultBufferSizeLimit
	}
	desc := wire.ProviderMbedCrypto.Desc()
	return &Provider{
		info: provider.Info{
			ID: wire.ProviderMbedCrypto, Name: d.Name, UUID: desc.UUID,
			Description: desc.Description, Vendor: desc.Vendor, Version: [3]uint32{0, 1, 0},
		},
		kim:      d.KIM,
		store:    st,
		log:      log,
		settings: settings,
		cache:    map[uint32]*key{},
	}, nil
}

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (h discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discardHandler) WithGroup(string) slog.Handler           { return h }

// Info implements provider.Provider.
func (p *Provider) Info() provider.Info { return p.info }

// Opcodes implements provider.Provider.
func (p *Provider) Opcodes() []wire.Opcode { return append([]wire.Opcode(nil), advertised...) }

// Accepts implements provider.Provider.
func (p *Provider) Accepts(op wire.Opcode) bool {
	for _, o := range advertised {
		if o == op {
			return true
		}
	}
	for _, o := range answered {
		if o == op {
			return true
		}
	}
	return false
}

// Close implements provider.Provider.
func (p *Provider) Close() error {
	p.mu.Lock()
	p.cache = map[uint32]*key{}
	p.mu.Unlock()
	return p.store.close()
}

// Execute implements provider.Provider.
func (p *Provider) Execute(_ context.Context, app auth.Application, op wire.Opcode, req protomsg.Message) (protomsg.Message, error) {
	switch r := req.(type) {
	case *pb.GenerateKeyRequest:
		return p.generateKey(app, r)
	case *pb.ImportKeyRequest:
		return p.importKey(app, r)
	case *pb.DestroyKeyRequest:
		return p.destroyKey(app, r)
	case *pb.ExportPublicKeyRequest:
		return p.exportPublicKey(app, r)
	case *pb.ExportKeyRequest:
		return p.exportKey(app, r)
	case *pb.SignHashRequest:
		return p.signHash(app, r)
	case *pb.VerifyHashRequest:
		return p.verifyHash(app, r)
	case *pb.SignMessageRequest:
		return p.signMessage(app, r)
	case *pb.VerifyMessageRequest:
		return p.verifyMessage(app, r)
	case *pb.AsymmetricEncryptRequest:
		return p.asymmetricEncrypt(app, r)
	case *pb.AsymmetricDecryptRequest:
		return p.asymmetricDecrypt(app, r)
	case *pb.AeadEncryptRequest:
		return p.aeadEncrypt(app, r)
	case *pb.AeadDecryptRequest:
		return p.aeadDecrypt(app, r)
	case *pb.CipherEncryptRequest:
		return p.cipherEncrypt(app, r)
	case *pb.CipherDecryptRequest:
		return p.cipherDecrypt(app, r)
	case *pb.MacComputeRequest:
		return p.macCompute(app, r)
	case *pb.MacVerifyRequest:
		return p.macVerify(app, r)
	case *pb.RawKeyAgreementRequest:
		return p.rawKeyAgreement(app, r)
	case *pb.GenerateRandomRequest:
		return p.generateRandom(r)
	case *pb.HashComputeRequest:
		return p.hashCompute(r)
	case *pb.HashCompareRequest:
		return p.hashCompare(r)
	case *pb.CanDoCryptoRequest:
		return p.canDoCrypto(r)
	}
	return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v is not supported by the software provider (request %T)", op, req)
}

func encodeKeyID(id uint32) []byte { return binary.LittleEndian.AppendUint32(nil, id) }

func decodeKeyID(b []byte) (uint32, bool) {
	if len(b) != 4 {
		return 0, false
	}
	id := binary.LittleEndian.Uint32(b)
	return id, id >= minKeyID && id <= maxKeyID
}

// lookup resolves an application's key name to this provider's key.
func (p *Provider) lookup(app auth.Application, name string) (*key, error) {
	e, err := kim.GetFor(p.kim, kim.OwnerOf(app), name, p.info.Name)
	if err != nil {
		return nil, err
	}
	id, ok := decodeKeyID(e.KeyID)
	if !ok {
		return nil, errCorrupt("key %q has an invalid key id", name)
	}
	return p.load(id)
}

// load returns the parsed key, from the cache or the store.
func (p *Provider) load(id uint32) (*key, error) {
	p.mu.RLock()
	k, ok := p.cache[id]
	p.mu.RUnlock()
	if ok {
		return k, nil
	}
	rec, err := p.store.read(id)
	if err != nil {
		if wire.StatusOf(err, 0) == wire.StatusPsaErrorDoesNotExist {
			p.log.Error("key mapping points at missing key material", "key_id", id)
		}
		return nil, err
	}
	a, material, err := decodeRecord(rec)
	if err != nil {
		p.log.Error("key material is damaged", "key_id", id, "err", err)
		return nil, err
	}
	k, err = parseKey(a, material)
	if err != nil {
		p.log.Error("stored key does not parse", "key_id", id, "err", err)
		return nil, errCorrupt("stored key %08x is invalid: %v", id, err)
	}
	k.id = id
	p.mu.Lock()
	if len(p.cache) >= cacheSize {
		for victim := range p.cache {
			delete(p.cache, victim)
			break
		}
	}
	p.cache[id] = k
	p.mu.Unlock()
	return k, nil
}

func (p *Provider) forget(id uint32) {
	p.mu.Lock()
	delete(p.cache, id)
	p.mu.Unlock()
}
