package takeover

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"github.com/parsec-go/parsec/internal/statedir"
	"github.com/parsec-go/parsec/service/config"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider/software"
	"github.com/parsec-go/parsec/wire"
)

// Statuses of one key in a report.
const (
	StatusCarried    = "carried"     // written by this run
	StatusPresent    = "present"     // carried by an earlier run
	StatusWouldCarry = "would carry" // dry run
	StatusFailed     = "not carried" // see Detail; logged at error level
	// StatusDeleted: carried by an earlier run, then deleted by its
	// client; never brought back.
	StatusDeleted = "deleted since"
)

// Outcome is what happened to one Rust mapping.
type Outcome struct {
	Owner        kim.Owner       `json:"-"`
	AuthType     wire.AuthType   `json:"auth_type"`
	App          string          `json:"app"`
	Name         string          `json:"name"`
	Provider     wire.ProviderID `json:"provider"`
	ProviderName string          `json:"provider_name,omitempty"`
	Source       string          `json:"source"`
	Status       string          `json:"status"`
	Detail       string          `json:"detail,omitempty"`
	// Retry marks a failure a later run may fix (key material missing
	// from the working directory): the marker is then not written.
	Retry bool `json:"retry,omitempty"`
}

// ManagerReport is the takeover of one [[key_manager]].
type ManagerReport struct {
	Name   string `json:"name"`
	Type   string `json:"manager_type"`
	Source string `json:"rust_state"`
	Dir    string `json:"parsec_go_store"`
	// Error is a failure of the whole manager (Rust's store unreadable or
	// refused, our store not writable); nothing was carried then.
	Error string    `json:"error,omitempty"`
	Keys  []Outcome `json:"keys"`
}

// Complete reports whether a later run has nothing more to carry over:
// the store was read and no key failed for a reason a rerun may fix.
func (r *ManagerReport) Complete() bool {
	if r.Error != "" {
		return false
	}
	for _, k := range r.Keys {
		if k.Retry {
			return false
		}
	}
	return true
}

// Counts returns how many keys ended in each status.
func (r *ManagerReport) Counts() map[string]int {
	c := map[string]int{}
	for _, k := range r.Keys {
		c[k.Status]++
	}
	return c
}

// Env is what carrying over needs besides the records.
type Env struct {
	Config *config.Config
	// WorkDir is the Rust service's working directory, where Mbed Crypto
	// kept its *.psa_its files (the daemon's own working directory).
	WorkDir string
	Log     *slog.Logger
	// KIM is parsec-go's store of the manager being carried over (nil in
	// a dry run that found no store yet).
	KIM kim.Manager
	// DryRun writes nothing.
	DryRun bool
	// carried lists the keys earlier runs carried over (nil: none).
	carried *journal
	// storeChecks holds statedir.Check's verdict on each software store
	// during one Carry (see checkStore).
	storeChecks map[string]error
}

// checkStore is statedir.Check(dir) once per Carry and store: Check walks
// every file of the store, and every Mbed Crypto record puts one more file
// there, so checking it per key would make a takeover quadratic. Once the
// path is checked, the store is ours (0700): nobody else can change it
// during the run.
func (env Env) checkStore(dir string) error {
	if env.storeChecks == nil {
		return statedir.Check(dir)
	}
	if err, ok := env.storeChecks[dir]; ok {
		return err
	}
	err := statedir.Check(dir)
	env.storeChecks[dir] = err
	return err
}

// providerTypes are the config provider_type of each provider id.
var providerTypes = map[wire.ProviderID]string{
	wire.ProviderMbedCrypto:     "MbedCrypto",
	wire.ProviderPkcs11:         "Pkcs11",
	wire.ProviderTpm:            "Tpm",
	wire.ProviderTrustedService: "TrustedService",
	wire.ProviderCryptoAuthLib:  "CryptoAuthLib",
}

// Carry carries over the records read from manager m's Rust store into
// env.KIM (and, for Mbed Crypto keys, their material into the software
// provider's store). It never changes Rust's files, never overwrites a
// mapping parsec-go already holds, and is idempotent: records already
// carried are reported present.
func Carry(env Env, m config.KeyManager, recs []Record) []Outcome {
	out := make([]Outcome, 0, len(recs))
	env.storeChecks = map[string]error{}
	for _, r := range recs {
		o := Outcome{Owner: r.Owner, AuthType: r.Owner.AuthType, App: r.Owner.App, Name: r.Name,
			Provider: r.Provider, ProviderName: r.ProviderName, Source: r.Source}
		status, detail, retry := carryOne(env, m, r, &o)
		o.Status, o.Detail, o.Retry = status, detail, retry
		if status == StatusFailed && env.Log != nil {
			env.Log.Error("Rust key not carried over", "key", r.String(), "reason", detail)
		}
		out = append(out, o)
	}
	return out
}

func failed(format string, args ...any) (string, string, bool) {
	return StatusFailed, fmt.Sprintf(format, args...), false
}

func carryOne(env Env, m config.KeyManager, r Record, o *Outcome) (status, detail string, retry bool) {
	if r.Err != nil {
		return failed("unreadable: %v", r.Err)
	}
	pc, name, err := resolveProvider(env.Config, m, r)
	if err != nil {
		return failed("%v", err)
	}
	o.ProviderName = name
	e := kim.Entry{Provider: r.Provider, ProviderName: name, KeyID: r.KeyID, Attributes: r.Attributes}
	var existing *kim.Entry
	if env.KIM != nil {
		got, err := env.KIM.Get(r.Owner, r.Name)
		switch {
		case err == nil:
			existing = &got
		case wire.StatusOf(err, 0) != wire.StatusPsaErrorDoesNotExist:
			return StatusFailed, fmt.Sprintf("reading parsec-go's store: %v", err), true
		}
	}
	if existing == nil && env.carried.has(r.Owner, r.Name) {
		return StatusDeleted, "carried over earlier, then deleted in parsec-go", false
	}
	switch r.Provider {
	case wire.ProviderMbedCrypto:
		return carryMbed(env, pc, r, e, existing)
	case wire.ProviderPkcs11, wire.ProviderTrustedService:
		// The keys live in the token / secure world under the same u32.
		if len(r.KeyID) != 4 {
			return failed("key id of %d bytes; Rust's is a 4-byte u32", len(r.KeyID))
		}
	case wire.ProviderTpm:
		// The TPM provider loads Rust's PasswordContext blobs itself.
	default:
		return failed("parsec-go has no %v", r.Provider)
	}
	return insert(env, r, e, existing, "")
}

// insert records e unless an equal mapping is already there.
func insert(env Env, r Record, e kim.Entry, existing *kim.Entry, detail string) (string, string, bool) {
	if existing != nil {
		if sameEntry(*existing, e) {
			return present(env, r, detail)
		}
		return failed("parsec-go's store already holds a different key of that name (%v, %q); left as is", existing.Provider, existing.ProviderName)
	}
	if env.DryRun {
		return StatusWouldCarry, detail, false
	}
	if err := env.KIM.Insert(r.Owner, r.Name, e); err != nil {
		return StatusFailed, fmt.Sprintf("recording the mapping: %v", err), true
	}
	if err := env.carried.add(r.Owner, r.Name); err != nil {
		return StatusFailed, err.Error(), true
	}
	return StatusCarried, detail, false
}

// present reports a key an earlier run carried, making sure the journal
// lists it (that run may have stopped between the mapping and the line).
func present(env Env, r Record, detail string) (string, string, bool) {
	if !env.DryRun && env.carried != nil {
		if err := env.carried.add(r.Owner, r.Name); err != nil {
			return StatusFailed, err.Error(), true
		}
	}
	return StatusPresent, detail, false
}

func sameEntry(a, b kim.Entry) bool {
	return a.Provider == b.Provider && a.ProviderName == b.ProviderName &&
		bytes.Equal(a.KeyID, b.KeyID) && a.Attributes == b.Attributes
}

// resolveProvider finds the [[provider]] that serves r under manager m, as
// Rust would: same kind, same key manager and, for SQLite rows, the same
// configured (or default) name. It returns the provider's name.
func resolveProvider(cfg *config.Config, m config.KeyManager, r Record) (config.Provider, string, error) {
	typ, ok := providerTypes[r.Provider]
	if !ok {
		return config.Provider{}, "", fmt.Errorf("parsec-go has no %v", r.Provider)
	}
	for _, p := range cfg.Providers {
		if p.ProviderType != typ || p.KeyInfoManager != m.Name {
			continue
		}
		name := p.Name
		if name == "" {
			name = r.Provider.Desc().DefaultName
		}
		if r.ProviderName != "" && r.ProviderName != name {
			continue
		}
		return p, name, nil
	}
	if r.ProviderName != "" {
		return config.Provider{}, "", fmt.Errorf("no [[provider]] of type %s named %q uses key manager %q (Rust would not serve this key either)", typ, r.ProviderName, m.Name)
	}
	return config.Provider{}, "", fmt.Errorf("no [[provider]] of type %s uses key manager %q (Rust would not serve this key either)", typ, m.Name)
}

// softwareStore is the store_path of a software provider's config.
func softwareStore(p config.Provider) (string, error) {
	c := software.Config{StorePath: software.DefaultStorePath}
	if _, err := p.Decode(&c); err != nil {
		return "", err
	}
	return c.StorePath, nil
}

func carryMbed(env Env, pc config.Provider, r Record, e kim.Entry, existing *kim.Entry) (string, string, bool) {
	if len(r.KeyID) != 4 {
		return failed("key id of %d bytes; Rust's Mbed Crypto id is a 4-byte u32", len(r.KeyID))
	}
	id := binary.LittleEndian.Uint32(r.KeyID)
	if r.Owner == kim.InternalOwner {
		return failed("the Mbed Crypto provider has no internal keys")
	}
	k, err := ReadITSKey(env.WorkDir, id)
	if err != nil {
		if isNotExist(err) {
			return StatusFailed, fmt.Sprintf("key file %s is missing: run the service in the Rust service's working directory (its *.psa_its files)", ITSPath(env.WorkDir, id)), true
		}
		return failed("%v", err)
	}
	if k.Attributes != r.Attributes {
		return failed("the key file's policy (%+v) differs from the mapping's (%+v)", k.Attributes, r.Attributes)
	}
	if k.Alg2 != 0 {
		return failed("the key file has an enrolment algorithm (%#x), which parsec-go does not keep", k.Alg2)
	}
	dir, err := softwareStore(pc)
	if err != nil {
		return failed("software provider config: %v", err)
	}
	if existing != nil {
		// An earlier run may have stored the key under another id (its
		// own was taken): present if that id holds this very key.
		if eid, ok := decodeU32(existing.KeyID); ok && existing.Provider == e.Provider &&
			existing.ProviderName == e.ProviderName && existing.Attributes == e.Attributes {
			held, err := software.Holds(dir, eid, k.Attributes, k.Material)
			if err != nil {
				return StatusFailed, err.Error(), true
			}
			if held {
				return present(env, r, fmt.Sprintf("software store id %d", eid))
			}
		}
		return failed("parsec-go's store already holds a different key of that name (%v, %q); left as is", existing.Provider, existing.ProviderName)
	}
	if env.DryRun {
		if err := software.CheckMaterial(k.Attributes, k.Material); err != nil {
			return failed("key file %s: %v", ITSPath(env.WorkDir, id), err)
		}
		return StatusWouldCarry, fmt.Sprintf("material from %s", ITSPath(env.WorkDir, id)), false
	}
	if err := env.checkStore(dir); err != nil {
		return StatusFailed, err.Error(), true
	}
	res, err := software.Adopt(dir, id, k.Attributes, k.Material)
	if err != nil {
		// Bad material stays bad; a storage error may pass.
		return StatusFailed, fmt.Sprintf("storing the key material in %s: %v", dir, err), !errors.Is(err, software.ErrBadMaterial)
	}
	e.KeyID = binary.LittleEndian.AppendUint32(nil, res.ID)
	detail := fmt.Sprintf("software store id %d", res.ID)
	if res.ID != id {
		detail += fmt.Sprintf(" (Rust id %d was taken)", id)
	}
	return insert(env, r, e, nil, detail)
}

func decodeU32(b []byte) (uint32, bool) {
	if len(b) != 4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b), true
}
