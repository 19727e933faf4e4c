// Package software is parsec-go's software provider. It takes the role of
// Parsec's Mbed Crypto provider (provider id 1, provider_type
// "MbedCrypto"), so existing configurations and clients work unchanged,
// and implements the PSA Crypto operations with the Go standard library,
// golang.org/x/crypto for SHA-3 and ChaCha20(-Poly1305), and our own code
// for what neither has (CCM, CMAC, deterministic ECDSA; see internal/).
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
	"errors"
	"log/slog"
	"sync"

	"github.com/parsec-go/parsec/internal/statedir"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
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

// cacheSize bounds the parsed keys kept in memory; a miss costs one file
// read and parse.
const cacheSize = 256

// Provider is the software provider.
type Provider struct {
	*provider.Table
	info     provider.Info
	keys     provider.Keys
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
	if err := d.DecodeConfig(&cfg); err != nil {
		return nil, err
	}
	if cfg.StorePath == "" {
		return nil, errors.New(`config key "provider.store_path" must not be empty`)
	}
	// The store holds private keys: refuse one that others could write.
	// Its files are checked as they are opened (store.read), not all at
	// every start.
	if err := statedir.CheckDirs(cfg.StorePath); err != nil {
		return nil, err
	}
	if d.KIM == nil {
		return nil, errors.New("the provider needs a key info manager")
	}
	d = d.Defaults()
	log := d.Log
	keys := d.Keys(wire.ProviderMbedCrypto)
	st, err := openStore(cfg.StorePath, d.KIM, log)
	if err != nil {
		return nil, err
	}
	p := &Provider{
		info:     provider.NewInfo(wire.ProviderMbedCrypto, d.Name, [3]uint32{0, 1, 0}),
		keys:     keys,
		store:    st,
		log:      log,
		settings: d.Settings,
		cache:    map[uint32]*key{},
	}
	// The advertised rows are exactly the Rust Mbed Crypto provider's set:
	// clients reject opcodes they do not know, and list-opcodes must
	// match. Cipher, MAC and sign/verify-message are answered unlisted.
	p.Table = provider.NewTable(
		provider.Handle(wire.OpPsaGenerateKey, p.generateKey),
		provider.Handle(wire.OpPsaDestroyKey, p.destroyKey),
		provider.Handle(wire.OpPsaSignHash, p.signHash),
		provider.Handle(wire.OpPsaVerifyHash, p.verifyHash),
		provider.Handle(wire.OpPsaImportKey, p.importKey),
		provider.Handle(wire.OpPsaExportPublicKey, p.exportPublicKey),
		provider.Handle(wire.OpPsaAsymmetricEncrypt, p.asymmetricEncrypt),
		provider.Handle(wire.OpPsaAsymmetricDecrypt, p.asymmetricDecrypt),
		provider.Handle(wire.OpPsaExportKey, p.exportKey),
		provider.Handle(wire.OpPsaGenerateRandom, p.generateRandom),
		provider.Handle(wire.OpPsaHashCompute, p.hashCompute),
		provider.Handle(wire.OpPsaHashCompare, p.hashCompare),
		provider.Handle(wire.OpPsaAeadEncrypt, p.aeadEncrypt),
		provider.Handle(wire.OpPsaAeadDecrypt, p.aeadDecrypt),
		provider.Handle(wire.OpPsaRawKeyAgreement, p.rawKeyAgreement),
		provider.Handle(wire.OpCanDoCrypto, p.canDoCrypto),
		provider.Handle(wire.OpPsaCipherEncrypt, p.cipherEncrypt).Unadvertised(),
		provider.Handle(wire.OpPsaCipherDecrypt, p.cipherDecrypt).Unadvertised(),
		provider.Handle(wire.OpPsaMacCompute, p.macCompute).Unadvertised(),
		provider.Handle(wire.OpPsaMacVerify, p.macVerify).Unadvertised(),
		provider.Handle(wire.OpPsaSignMessage, p.signMessage).Unadvertised(),
		provider.Handle(wire.OpPsaVerifyMessage, p.verifyMessage).Unadvertised(),
	)
	return p, nil
}

// Info implements provider.Provider.
func (p *Provider) Info() provider.Info { return p.info }

// Close implements provider.Provider.
func (p *Provider) Close() error {
	p.mu.Lock()
	p.cache = map[uint32]*key{}
	p.mu.Unlock()
	return p.store.close()
}

// keyIDs is the stored key id format, Rust's u32 little-endian.
var keyIDs = provider.KeyID32{Min: minKeyID, Max: maxKeyID}

func encodeKeyID(id uint32) []byte { return keyIDs.Encode(id) }

func decodeKeyID(b []byte) (uint32, bool) { return keyIDs.Decode(b) }

// lookup resolves an application's key name to this provider's key.
func (p *Provider) lookup(app auth.Application, name string) (*key, error) {
	e, err := p.keys.Get(app, name)
	if err != nil {
		return nil, err
	}
	id, ok := decodeKeyID(e.KeyID)
	if !ok {
		return nil, wire.Errorf(wire.StatusPsaErrorDataCorrupt, "key %q has an invalid key id", name)
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
		return nil, wire.Errorf(wire.StatusPsaErrorDataCorrupt, "stored key %08x is invalid: %v", id, err)
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

// restrictions: none; the software provider serves every pair PSA's rule
// allows (or answers NotSupported for primitives it lacks).
var restrictions = psa.Restrictions{}

// keyFor looks up an application's key and checks its policy for one
// operation.
func (p *Provider) keyFor(app auth.Application, name string, usage psa.Usage, alg psa.Algorithm) (*key, error) {
	k, err := p.lookup(app, name)
	if err != nil {
		return nil, err
	}
	if err := k.attrs.CheckUse(usage, alg, restrictions); err != nil {
		return nil, err
	}
	return k, nil
}
