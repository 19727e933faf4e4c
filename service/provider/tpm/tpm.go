// Package tpm is the TPM 2.0 provider (Parsec provider id 3), in pure Go
// on github.com/google/go-tpm.
//
// Keys are created under a storage primary derived from the owner seed and
// a fixed template, so the primary is never stored and comes back after any
// TPM restart. A key's KIM entry holds its wrapped blobs (see keyblob.go);
// the TPM keeps nothing persistent for us. Loaded keys are cached in a
// small LRU so that a signature is one TPM command. Public-key operations
// (verify, encrypt, export) run in software on the stored public area.
//
// What crosses the bus is protected as in Parsec's Rust provider: a salted
// HMAC session (see session.go) authorizes keys without sending their auth
// values and encrypts the secrets commands and responses carry.
//
// All TPM access is serialised (device.go), which also recovers from the
// faults a real deployment meets: a lost channel, a TPM restarted behind
// our back (stale handles are detected, never used for another key), a TPM
// full of objects or sessions left by others, and busy warnings.
package tpm

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/service/provider/tpm/tcti"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// Config is the provider's [[provider]] table (provider_type = "Tpm"),
// with Parsec's keys.
type Config struct {
	// Tcti is the TPM channel: device:/dev/tpmrm0 (default), device:PATH,
	// swtpm:host=H,port=P, mssim:host=H,port=P.
	Tcti string `toml:"tcti"`
	// OwnerHierarchyAuth authorises creating the storage primary;
	// "str:..." or "hex:..." or a plain string. Parsec requires the key;
	// absent means empty here.
	OwnerHierarchyAuth *string `toml:"owner_hierarchy_auth"`
	// EndorsementHierarchyAuth authorises the endorsement key used by key
	// attestation.
	EndorsementHierarchyAuth *string `toml:"endorsement_hierarchy_auth"`
	// SkipIfNoTpm leaves the provider out when the TPM cannot be reached
	// at start.
	SkipIfNoTpm bool `toml:"skip_if_no_tpm"`
	// MaxLoadedObjects caps the objects the provider keeps loaded in the
	// TPM (keys plus the storage primary). 0: what the TPM guarantees
	// (TPM_PT_HR_TRANSIENT_MIN, 3 on most TPMs). A parsec-go extension.
	MaxLoadedObjects int `toml:"max_loaded_objects"`
}

// DefaultTCTI is used when the config has no tcti.
const DefaultTCTI = "device:/dev/tpmrm0"

// Provider is the TPM provider.
type Provider struct {
	*provider.Table
	info     provider.Info
	keys     provider.Keys
	log      *slog.Logger
	settings provider.Settings
	dev      *device
}

// parseAuth reads a hierarchy auth value in Parsec's forms.
func parseAuth(key string, v *string) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	switch s := *v; {
	case strings.HasPrefix(s, "str:"):
		return []byte(s[4:]), nil
	case strings.HasPrefix(s, "hex:"):
		b, err := hex.DecodeString(s[4:])
		if err != nil {
			return nil, fmt.Errorf("config key %s: the value after \"hex:\" is not hexadecimal", key)
		}
		return b, nil
	default:
		return []byte(s), nil
	}
}

// New builds the provider from its config. It returns an error wrapping
// ErrSkipped when skip_if_no_tpm is set and no TPM answers.
func New(d provider.Deps) (provider.Provider, error) {
	var cfg Config
	if err := d.DecodeConfig(&cfg); err != nil {
		return nil, err
	}
	if d.KIM == nil {
		return nil, errors.New("the TPM provider needs a key_info_manager")
	}
	d = d.Defaults()
	log := d.Log
	if cfg.Tcti == "" {
		cfg.Tcti = DefaultTCTI
	}
	tc, err := tcti.Parse(cfg.Tcti)
	if err != nil {
		return nil, fmt.Errorf("config key tcti: %w", err)
	}
	ownerAuth, err := parseAuth("owner_hierarchy_auth", cfg.OwnerHierarchyAuth)
	if err != nil {
		return nil, err
	}
	endorsementAuth, err := parseAuth("endorsement_hierarchy_auth", cfg.EndorsementHierarchyAuth)
	if err != nil {
		return nil, err
	}
	if cfg.MaxLoadedObjects < 0 || cfg.MaxLoadedObjects == 1 {
		return nil, fmt.Errorf("config key max_loaded_objects: %d is too small; use 0 (the TPM's guarantee) or at least 2", cfg.MaxLoadedObjects)
	}
	name := d.Name
	if name == "" {
		name = wire.ProviderTpm.Desc().DefaultName
	}
	p := &Provider{
		info:     provider.NewInfo(wire.ProviderTpm, name, [3]uint32{0, 1, 0}),
		keys:     provider.NewKeys(d.KIM, wire.ProviderTpm, name, log),
		log:      log,
		settings: d.Settings,
		dev:      newDevice(tc, log, ownerAuth, endorsementAuth, cfg.MaxLoadedObjects),
	}
	// Parsec's TPM provider's set, in its order.
	p.Table = provider.NewTable(
		provider.Handle(wire.OpPsaGenerateKey, p.generateKey),
		provider.Handle(wire.OpPsaDestroyKey, p.destroyKey),
		provider.Handle(wire.OpPsaSignHash, p.signHash),
		provider.Handle(wire.OpPsaVerifyHash, p.verifyHash),
		provider.Handle(wire.OpPsaImportKey, p.importKey),
		provider.Handle(wire.OpPsaExportPublicKey, p.exportPublicKey),
		provider.Handle(wire.OpPsaAsymmetricEncrypt, p.asymmetricEncrypt),
		provider.Handle(wire.OpPsaAsymmetricDecrypt, p.asymmetricDecrypt),
		provider.Handle(wire.OpPsaGenerateRandom, p.generateRandom),
		provider.Handle(wire.OpCanDoCrypto, p.canDoCrypto),
		provider.Handle(wire.OpAttestKey, p.attestKey),
		provider.Handle(wire.OpPrepareKeyAttestation, p.prepareKeyAttestation),
	)
	// Reach the TPM now: a missing TPM is a start-up error (or a skip),
	// as in Parsec. The storage primary is derived at once so a wrong
	// owner_hierarchy_auth shows in the log at start.
	err = p.dev.run(func(o *op) error { return nil })
	if err != nil {
		if isTransport(err) {
			if cfg.SkipIfNoTpm {
				return nil, fmt.Errorf("%w (tcti %s: %v)", ErrSkipped, tc, err)
			}
			return nil, fmt.Errorf("TPM at tcti %q: %w; check the TPM (and its resource manager) or the tcti, or set skip_if_no_tpm = true in this [[provider]] to start without it", tc.String(), err)
		}
		return nil, fmt.Errorf("TPM at tcti %q: %w", tc.String(), err)
	}
	if err := p.dev.run(func(o *op) error { _, err := o.storageRoot(); return err }); err != nil {
		log.Error("cannot derive the TPM storage root key; key operations will fail until this is fixed", "err", err)
	}
	p.checkEntries()
	return p, nil
}

// checkEntries logs how many keys the KIM holds for this provider and any
// it cannot read (they are left alone: nothing stored is deleted).
func (p *Provider) checkEntries() {
	keys, err := p.keys.All()
	if err != nil {
		p.log.Warn("cannot list the key info manager's entries", "err", err)
		p.checkRustKeys(nil) // still read RootKeyTPM
		return
	}
	n, bad := 0, 0
	var rust []kim.Key
	for _, k := range keys {
		if k.Owner == kim.InternalOwner {
			continue
		}
		n++
		if isRustKeyID(k.Entry.KeyID) {
			rust = append(rust, k)
			continue
		}
		if _, err := decodeBlob(k.Entry.KeyID); err != nil {
			bad++
			p.log.Warn("unreadable TPM key entry (left in place)", "app", k.Owner.App, "err", err)
		}
	}
	bad += p.checkRustKeys(rust)
	p.log.Info("TPM provider ready", "keys", n, "rust_keys", len(rust), "unreadable", bad)
}

// Info implements provider.Provider.
func (p *Provider) Info() provider.Info { return p.info }

// Close flushes the loaded keys and closes the TPM channel.
func (p *Provider) Close() error { return p.dev.close() }

// Execute implements provider.Provider: the table's handler, with TPM
// errors turned into Parsec statuses and their cause logged here (the
// front end logs failed requests without details).
func (p *Provider) Execute(ctx context.Context, app auth.Application, r provider.Request) (protomsg.Message, error) {
	op := r.Op
	res, err := p.Table.Execute(ctx, app, r)
	if err != nil {
		s, cause := statusFor(err)
		lvl := slog.LevelError
		switch s {
		case wire.StatusPsaErrorDoesNotExist, wire.StatusPsaErrorAlreadyExists,
			wire.StatusPsaErrorInvalidArgument, wire.StatusPsaErrorInvalidSignature,
			wire.StatusPsaErrorInvalidPadding, wire.StatusInvalidEncoding,
			wire.StatusDeprecatedPrimitive, wire.StatusResponseTooLarge:
			lvl = slog.LevelInfo
		case wire.StatusPsaErrorNotSupported, wire.StatusPsaErrorNotPermitted:
			lvl = slog.LevelWarn
		}
		p.log.Log(ctx, lvl, "TPM provider: "+op.String()+" failed", "status", s.String(), "cause", cause)
		return nil, &wire.Error{Status: s, Msg: cause}
	}
	return res, nil
}
