// Package config reads Parsec's config.toml. Every key Parsec 1.x defines
// keeps its name and meaning; keys we do not know are logged as warnings
// (Parsec ignores them silently), values of the wrong type or out of range
// stop the service with a message naming the key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// DefaultSocketPath is where Parsec clients look when
// PARSEC_SERVICE_ENDPOINT is not set.
const DefaultSocketPath = "/run/parsec/parsec.sock"

// Config is the whole file.
type Config struct {
	Core     CoreSettings `toml:"core_settings"`
	Listener Listener     `toml:"listener"`
	// Authenticators are the [authenticator] table (Parsec's form) or the
	// [[authenticator]] tables (ours: several at once), in file order;
	// Authenticator is the first of them.
	Authenticator  Authenticator   `toml:"-"`
	Authenticators []Authenticator `toml:"-"`
	KeyManagers    []KeyManager    `toml:"key_manager"`
	// Providers keep their raw tables: each provider decodes its own keys.
	Providers []Provider `toml:"-"`
}

// CoreSettings is [core_settings].
type CoreSettings struct {
	AllowRoot bool `toml:"allow_root"`
	// ThreadPoolSize bounds the requests served at once (0: default).
	ThreadPoolSize int `toml:"thread_pool_size"`
	// IdleListenerSleepDuration is accepted for compatibility; our
	// listener blocks in accept and never polls.
	IdleListenerSleepDuration *int64  `toml:"idle_listener_sleep_duration"`
	LogLevel                  string  `toml:"log_level"`
	LogTimestamp              bool    `toml:"log_timestamp"`
	BodyLenLimit              *uint64 `toml:"body_len_limit"`
	LogErrorDetails           bool    `toml:"log_error_details"`
	BufferSizeLimit           *uint64 `toml:"buffer_size_limit"`
	AllowDeprecated           bool    `toml:"allow_deprecated"`
}

// Listener is [listener].
type Listener struct {
	ListenerType string `toml:"listener_type"`
	// Timeout is the per-connection read/write timeout in milliseconds.
	Timeout    *uint64 `toml:"timeout"`
	SocketPath string  `toml:"socket_path"`
	// SocketMode (parsec-go) is the socket file's permission bits, e.g.
	// 0o660; Parsec always uses 0o666.
	SocketMode *uint32 `toml:"socket_mode"`
}

// Admin is one entry of [authenticator] admins.
type Admin struct {
	Name string `toml:"name"`
}

// Authenticator is [authenticator], or one [[authenticator]].
type Authenticator struct {
	AuthType         string  `toml:"auth_type"`
	Admins           []Admin `toml:"admins"`
	WorkloadEndpoint string  `toml:"workload_endpoint"`
}

// KeyManager is one [[key_manager]].
type KeyManager struct {
	Name         string `toml:"name"`
	ManagerType  string `toml:"manager_type"`
	StorePath    string `toml:"store_path"`
	SQLiteDBPath string `toml:"sqlite_db_path"`
	// MaxKeysPerClient is parsec-go's per-client key quota (0: none).
	MaxKeysPerClient *int `toml:"max_keys_per_client"`
}

// DefaultMaxKeysPerClient is the key quota of one client (application)
// in one key manager unless max_keys_per_client says otherwise.
const DefaultMaxKeysPerClient = 10000

// KeyQuota returns the effective per-client key quota (0: none).
func (k KeyManager) KeyQuota() int {
	if k.MaxKeysPerClient != nil {
		return *k.MaxKeysPerClient
	}
	return DefaultMaxKeysPerClient
}

// DefaultSQLiteDBPath is Rust Parsec's database when sqlite_db_path is unset.
const DefaultSQLiteDBPath = "/var/lib/parsec/kim-mappings/sqlite/sqlite-key-info-manager.sqlite3"

// Dir is the directory of parsec-go's own key store for this manager. For
// "OnDisk" it is store_path, shared with Rust's OnDisk tree (our files
// are never where Rust looks for its own). For "SQLite" Rust's database is only ever read (by
// parsec-takeover); our store is the directory parsec-go beside it.
func (k KeyManager) Dir() string {
	if k.ManagerType == "SQLite" {
		return filepath.Join(filepath.Dir(k.DBPath()), "parsec-go")
	}
	if k.StorePath == "" {
		return DefaultOnDiskStorePath
	}
	return k.StorePath
}

// DBPath is Rust's SQLite database of a SQLite key manager: sqlite_db_path,
// or Rust's default when it is unset (also in a KeyManager not made by
// Parse).
func (k KeyManager) DBPath() string {
	if k.SQLiteDBPath == "" {
		return DefaultSQLiteDBPath
	}
	return k.SQLiteDBPath
}

// Provider is one [[provider]]: the keys every provider has, plus the raw
// table for the provider's own keys.
type Provider struct {
	ProviderType   string
	Name           string
	KeyInfoManager string
	// Index is the provider's position in the file, for messages.
	Index int
	raw   map[string]any
}

// Defaults of optional core settings.
const (
	DefaultBodyLenLimit    = 1 << 20
	DefaultBufferSizeLimit = 1 << 20
	DefaultOnDiskStorePath = "/var/lib/parsec/mappings"
)

// Warning is a non-fatal finding, e.g. an unknown key.
type Warning string

// Load reads and validates the file at path.
func Load(path string) (*Config, []Warning, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(b)
}

// Parse reads and validates a config document.
func Parse(doc []byte) (*Config, []Warning, error) {
	var warns []Warning
	var raw map[string]any
	if err := toml.Unmarshal(doc, &raw); err != nil {
		return nil, nil, describe(err)
	}
	var c Config
	w, err := decodeStrict(doc, &c)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range w {
		// Provider tables are checked by each provider, authenticator
		// tables by readAuthenticators.
		if !strings.HasPrefix(k, "provider.") && k != "provider" && !strings.HasPrefix(k, "authenticator.") && k != "authenticator" {
			warns = append(warns, Warning(fmt.Sprintf("unknown config key %q ignored", k)))
		}
	}
	if err := c.readProviders(raw); err != nil {
		return nil, nil, err
	}
	aw, err := c.readAuthenticators(raw)
	if err != nil {
		return nil, nil, err
	}
	warns = append(warns, aw...)
	if err := c.validate(); err != nil {
		return nil, nil, err
	}
	return &c, warns, nil
}

// decodeStrict decodes doc into v and returns the dotted names of keys v
// has no field for.
func decodeStrict(doc []byte, v any) ([]string, error) {
	keys, err := decodeRaw(doc, v)
	if err != nil {
		return nil, describe(err)
	}
	return keys, nil
}

// decodeTable decodes one re-encoded table of the file (a [[provider]]):
// errors name section.key, without a position, which would point into
// the re-encoded table rather than the file.
func decodeTable(doc []byte, v any, section string) ([]string, error) {
	keys, err := decodeRaw(doc, v)
	var de *toml.DecodeError
	if errors.As(err, &de) && len(de.Key()) > 0 {
		key := section + "." + strings.Join(de.Key(), ".")
		if msg, ok := typeMismatch(key, de.Error()); ok {
			return nil, fmt.Errorf("%s: %s", key, msg)
		}
		return nil, fmt.Errorf("config key %q: %s", key, de.Error())
	}
	if err != nil {
		return nil, describe(err)
	}
	return keys, nil
}

func decodeRaw(doc []byte, v any) ([]string, error) {
	d := toml.NewDecoder(bytes.NewReader(doc))
	d.DisallowUnknownFields()
	err := d.Decode(v)
	var sme *toml.StrictMissingError
	if errors.As(err, &sme) {
		var keys []string
		for _, e := range sme.Errors {
			keys = append(keys, strings.Join(e.Key(), "."))
		}
		sort.Strings(keys)
		return keys, nil
	}
	if err != nil {
		return nil, err
	}
	return nil, nil
}

// describe turns a go-toml error into one line naming the key and position,
// a wrong type in plain words: "config line 3, column 11: listener.timeout:
// expected an integer (milliseconds), got a string".
func describe(err error) error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		if k := de.Key(); len(k) > 0 {
			key := strings.Join(k, ".")
			if msg, ok := typeMismatch(key, de.Error()); ok {
				return fmt.Errorf("config line %d, column %d: %s: %s", row, col, key, msg)
			}
			return fmt.Errorf("config key %q (line %d, column %d): %s", key, row, col, de.Error())
		}
		return fmt.Errorf("config line %d, column %d: %s", row, col, de.Error())
	}
	return fmt.Errorf("config: %w", err)
}

// mismatchRE matches go-toml's type error, e.g. "cannot decode TOML string
// into struct field config.Listener.Timeout of type uint64".
var mismatchRE = regexp.MustCompile(`cannot decode TOML (\w+) into .*?of type \*?(\S+)$|cannot decode TOML (\w+) into \*?(\S+)$`)

// keyUnits says what a number means, for the keys where that is not obvious.
var keyUnits = map[string]string{
	"listener.timeout":                           "milliseconds",
	"core_settings.idle_listener_sleep_duration": "milliseconds",
	"core_settings.body_len_limit":               "bytes",
	"core_settings.buffer_size_limit":            "bytes",
	"core_settings.thread_pool_size":             "threads",
	"listener.socket_mode":                       "permission bits, e.g. 0o660",
	"key_manager.max_keys_per_client":            "keys",
	"provider.call_timeout_secs":                 "seconds",
	"provider.buffer_size":                       "bytes",
	"provider.max_loaded_objects":                "objects",
}

// tomlKinds names go-toml's value kinds for people.
var tomlKinds = map[string]string{
	"string": "a string", "integer": "an integer", "float": "a decimal number",
	"boolean": "true or false", "bool": "true or false", "array": "an array",
	"table": "a table", "inline table": "a table",
}

// typeMismatch rewrites go-toml's type error for key in plain words.
func typeMismatch(key, msg string) (string, bool) {
	m := mismatchRE.FindStringSubmatch(msg)
	if m == nil {
		return "", false
	}
	got, want := m[1], m[2]
	if got == "" {
		got, want = m[3], m[4]
	}
	var w string
	switch {
	case want == "bool":
		w = "true or false"
	case want == "string":
		w = "a string in quotes"
	case strings.HasPrefix(want, "int") || strings.HasPrefix(want, "uint"):
		w = "an integer"
	case strings.HasPrefix(want, "float"):
		w = "a number"
	case strings.HasPrefix(want, "[]"):
		w = "an array"
	default:
		w = "a table"
	}
	if u, ok := keyUnits[key]; ok {
		w += " (" + u + ")"
	}
	if g, ok := tomlKinds[got]; ok {
		got = g
	}
	return "expected " + w + ", got " + got, true
}

func (c *Config) readProviders(raw map[string]any) error {
	list, ok := raw["provider"]
	if !ok {
		return nil
	}
	tables, ok := list.([]any)
	if !ok {
		return errors.New(`config key "provider" must be an array of tables ([[provider]])`)
	}
	for i, t := range tables {
		tbl, ok := t.(map[string]any)
		if !ok {
			return fmt.Errorf("config [[provider]] #%d is not a table", i+1)
		}
		p := Provider{Index: i + 1, raw: tbl}
		var err error
		if p.ProviderType, err = stringKey(tbl, "provider_type", i); err != nil {
			return err
		}
		if p.Name, err = stringKey(tbl, "name", i); err != nil {
			return err
		}
		if p.KeyInfoManager, err = stringKey(tbl, "key_info_manager", i); err != nil {
			return err
		}
		c.Providers = append(c.Providers, p)
	}
	return nil
}

func stringKey(tbl map[string]any, key string, i int) (string, error) {
	v, ok := tbl[key]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("config key \"provider.%s\" of [[provider]] #%d must be a string", key, i+1)
	}
	return s, nil
}

// commonProviderKeys are decoded by the service, not by the provider.
var commonProviderKeys = map[string]bool{"provider_type": true, "name": true, "key_info_manager": true}

// Decode fills v from the provider's own keys and returns warnings for the
// keys v has no field for.
func (p Provider) Decode(v any) ([]Warning, error) {
	own := map[string]any{}
	for k, val := range p.raw {
		if !commonProviderKeys[k] {
			own[k] = val
		}
	}
	doc, err := toml.Marshal(own)
	if err != nil {
		return nil, fmt.Errorf("[[provider]] #%d: %w", p.Index, err)
	}
	unknown, err := decodeTable(doc, v, "provider")
	if err != nil {
		return nil, fmt.Errorf("[[provider]] #%d (%s): %w", p.Index, p.ProviderType, err)
	}
	var warns []Warning
	for _, k := range unknown {
		warns = append(warns, Warning(fmt.Sprintf("unknown config key \"provider.%s\" of [[provider]] #%d (%s) ignored", k, p.Index, p.ProviderType)))
	}
	return warns, nil
}

// Auth types as written in the config.
const (
	AuthDirect              = "Direct"
	AuthUnixPeerCredentials = "UnixPeerCredentials"
	AuthJwtSvid             = "JwtSvid"
)

var logLevels = map[string]bool{"error": true, "warn": true, "info": true, "debug": true, "trace": true}

func (c *Config) validate() error {
	cs := &c.Core
	if cs.LogLevel != "" && !logLevels[cs.LogLevel] {
		return fmt.Errorf(`config key "core_settings.log_level" is %q; use one of error, warn, info, debug, trace`, cs.LogLevel)
	}
	if cs.ThreadPoolSize < 0 {
		return fmt.Errorf(`config key "core_settings.thread_pool_size" must not be negative`)
	}
	if cs.BodyLenLimit != nil && *cs.BodyLenLimit > 1<<32-1 {
		return fmt.Errorf(`config key "core_settings.body_len_limit" exceeds the 4 GiB the header can express`)
	}
	l := &c.Listener
	switch l.ListenerType {
	case "DomainSocket":
	case "":
		return errors.New(`config key "listener.listener_type" is missing; set listener_type = "DomainSocket"`)
	default:
		return fmt.Errorf(`config key "listener.listener_type" is %q; the only listener is "DomainSocket"`, l.ListenerType)
	}
	if l.Timeout == nil {
		return errors.New(`config key "listener.timeout" is missing; set the per-connection timeout in milliseconds, e.g. timeout = 200`)
	}
	if *l.Timeout == 0 {
		return errors.New(`config key "listener.timeout" must be greater than 0 milliseconds`)
	}
	if l.SocketPath == "" {
		l.SocketPath = DefaultSocketPath
	}
	if l.SocketMode != nil && *l.SocketMode > 0o777 {
		return fmt.Errorf(`config key "listener.socket_mode" is %#o; permission bits only, e.g. 0o660`, *l.SocketMode)
	}
	if err := c.validateAuthenticators(); err != nil {
		return err
	}
	kims := map[string]bool{}
	for i := range c.KeyManagers {
		k := &c.KeyManagers[i]
		if k.Name == "" {
			return fmt.Errorf(`config key "key_manager.name" is missing in [[key_manager]] #%d`, i+1)
		}
		if kims[k.Name] {
			return fmt.Errorf(`config key "key_manager.name": %q is used twice`, k.Name)
		}
		kims[k.Name] = true
		if k.MaxKeysPerClient != nil && *k.MaxKeysPerClient < 0 {
			return fmt.Errorf(`config key "key_manager.max_keys_per_client" of %q must not be negative (0 means no quota)`, k.Name)
		}
		switch k.ManagerType {
		case "OnDisk":
			if k.StorePath == "" {
				k.StorePath = DefaultOnDiskStorePath
			}
		case "SQLite":
			// Rust's default manager: its database is carried over by
			// parsec-takeover and never written; Dir() holds our store.
			// store_path is ignored, as by Rust.
			if k.SQLiteDBPath == "" {
				k.SQLiteDBPath = DefaultSQLiteDBPath
			}
		case "":
			return fmt.Errorf(`config key "key_manager.manager_type" is missing for %q; use "OnDisk" or "SQLite"`, k.Name)
		default:
			return fmt.Errorf(`config key "key_manager.manager_type" of %q is %q; use "OnDisk" or "SQLite"`, k.Name, k.ManagerType)
		}
	}
	if len(c.Providers) == 0 {
		return errors.New(`config has no [[provider]]; add at least one, e.g. provider_type = "MbedCrypto"`)
	}
	for _, p := range c.Providers {
		if p.ProviderType == "" {
			return fmt.Errorf(`config key "provider.provider_type" is missing in [[provider]] #%d`, p.Index)
		}
		if p.KeyInfoManager == "" {
			return fmt.Errorf(`config key "provider.key_info_manager" is missing in [[provider]] #%d (%s); name one of the [[key_manager]] entries`, p.Index, p.ProviderType)
		}
		if !kims[p.KeyInfoManager] {
			return fmt.Errorf(`config key "provider.key_info_manager" of [[provider]] #%d names %q, but no [[key_manager]] has that name`, p.Index, p.KeyInfoManager)
		}
	}
	return nil
}

// BodyLenLimit returns the effective request body limit.
func (c *Config) BodyLenLimit() uint64 {
	if c.Core.BodyLenLimit != nil {
		return *c.Core.BodyLenLimit
	}
	return DefaultBodyLenLimit
}

// BufferSizeLimit returns the effective response buffer limit.
func (c *Config) BufferSizeLimit() uint64 {
	if c.Core.BufferSizeLimit != nil {
		return *c.Core.BufferSizeLimit
	}
	return DefaultBufferSizeLimit
}

// AdminNames returns the admin names of the first authenticator as a set.
func (c *Config) AdminNames() map[string]bool { return c.Authenticator.AdminNames() }
