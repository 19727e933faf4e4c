package config

import (
	"strings"
	"testing"
)

const minimal = `
[core_settings]
log_level = "info"
[listener]
listener_type = "DomainSocket"
timeout = 200
[authenticator]
auth_type = "UnixPeerCredentials"
admins = [ { name = "0" } ]
[[key_manager]]
name = "on-disk-manager"
manager_type = "OnDisk"
store_path = "/tmp/m"
[[provider]]
provider_type = "MbedCrypto"
key_info_manager = "on-disk-manager"
store_path = "/tmp/keys"
`

func TestParseMinimal(t *testing.T) {
	c, warns, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("unexpected warnings %v", warns)
	}
	if c.Listener.SocketPath != DefaultSocketPath || *c.Listener.Timeout != 200 {
		t.Errorf("listener: %+v", c.Listener)
	}
	if c.BodyLenLimit() != 1<<20 || c.BufferSizeLimit() != 1<<20 {
		t.Error("default limits")
	}
	if !c.AdminNames()["0"] {
		t.Error("admin 0 missing")
	}
	if len(c.Providers) != 1 || c.Providers[0].ProviderType != "MbedCrypto" || c.Providers[0].KeyInfoManager != "on-disk-manager" {
		t.Fatalf("providers: %+v", c.Providers)
	}
	var own struct {
		StorePath string `toml:"store_path"`
	}
	w, err := c.Providers[0].Decode(&own)
	if err != nil || len(w) != 0 || own.StorePath != "/tmp/keys" {
		t.Fatalf("provider decode: %+v %v %v", own, w, err)
	}
}

func TestUnknownKeysWarn(t *testing.T) {
	doc := strings.Replace(minimal, `log_level = "info"`, "log_level = \"info\"\nfrobnicate = 3", 1)
	doc += "mystery = true\n"
	c, warns, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(string(warns[0]), "core_settings.frobnicate") {
		t.Errorf("warnings: %v", warns)
	}
	var own struct {
		StorePath string `toml:"store_path"`
	}
	w, err := c.Providers[0].Decode(&own)
	if err != nil || len(w) != 1 || !strings.Contains(string(w[0]), "provider.mystery") {
		t.Errorf("provider warnings %v, err %v", w, err)
	}
}

func TestInvalidConfigsNameTheKey(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"bad manager", `manager_type = "OnDisk"`, `manager_type = "Redis"`, `use "OnDisk" or "SQLite"`},
		{"bad type", `timeout = 200`, `timeout = "fast"`, "listener.timeout"},
		{"no timeout", `timeout = 200`, ``, "listener.timeout"},
		{"bad listener", `listener_type = "DomainSocket"`, `listener_type = "Tcp"`, "listener.listener_type"},
		{"bad level", `log_level = "info"`, `log_level = "loud"`, "core_settings.log_level"},
		{"bad auth", `auth_type = "UnixPeerCredentials"`, `auth_type = "Kerberos"`, "authenticator.auth_type"},
		{"jwt without endpoint", `auth_type = "UnixPeerCredentials"`, `auth_type = "JwtSvid"`, "workload_endpoint"},
		{"dangling kim", `key_info_manager = "on-disk-manager"`, `key_info_manager = "nope"`, `names "nope"`},
		{"no provider", "[[provider]]\nprovider_type = \"MbedCrypto\"\nkey_info_manager = \"on-disk-manager\"\nstore_path = \"/tmp/keys\"\n", "", "no [[provider]]"},
		{"bad mode", `timeout = 200`, "timeout = 200\nsocket_mode = 0o7777", "socket_mode"},
		{"syntax", `timeout = 200`, `timeout = = 200`, "line"},
	}
	for _, tt := range tests {
		doc := strings.Replace(minimal, tt.from, tt.to, 1)
		if doc == minimal {
			t.Fatalf("%s: replacement did not apply", tt.name)
		}
		_, _, err := Parse([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestKeyManagerDir(t *testing.T) {
	tests := []struct {
		k    KeyManager
		want string
	}{
		{KeyManager{ManagerType: "OnDisk"}, DefaultOnDiskStorePath},
		{KeyManager{ManagerType: "OnDisk", StorePath: "/x/mappings"}, "/x/mappings"},
		{KeyManager{ManagerType: "SQLite"}, "/var/lib/parsec/kim-mappings/sqlite/parsec-go"},
		// Rust ignores store_path for SQLite; so do we.
		{KeyManager{ManagerType: "SQLite", StorePath: "/x", SQLiteDBPath: "/d/kim.db"}, "/d/parsec-go"},
	}
	for _, tt := range tests {
		if got := tt.k.Dir(); got != tt.want {
			t.Errorf("%+v: Dir() = %q, want %q", tt.k, got, tt.want)
		}
	}
	doc := strings.Replace(minimal, `manager_type = "OnDisk"`, `manager_type = "SQLite"`, 1)
	c, _, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyManagers[0].SQLiteDBPath != DefaultSQLiteDBPath {
		t.Errorf("sqlite_db_path default %q", c.KeyManagers[0].SQLiteDBPath)
	}
}

// Wrong value types are said in plain words, with the key and, for the
// file's own keys, the position (issue 15, item 13).
func TestTypeErrorsInPlainWords(t *testing.T) {
	tests := []struct {
		from, to, want string
	}{
		{`timeout = 200`, `timeout = "200"`, `config line 6, column 11: listener.timeout: expected an integer (milliseconds), got a string`},
		{`log_level = "info"`, "log_level = \"info\"\nallow_root = \"yes\"", `core_settings.allow_root: expected true or false, got a string`},
		{`log_level = "info"`, "log_level = \"info\"\nbody_len_limit = 1.5", `core_settings.body_len_limit: expected an integer (bytes), got a decimal number`},
		{`store_path = "/tmp/m"`, `store_path = 7`, `key_manager.store_path: expected a string in quotes, got an integer`},
	}
	for _, tt := range tests {
		doc := strings.Replace(minimal, tt.from, tt.to, 1)
		if doc == minimal {
			t.Fatalf("%s: replacement did not apply", tt.to)
		}
		_, _, err := Parse([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.to, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "struct field") {
			t.Errorf("%s: the error still names Go types: %v", tt.to, err)
		}
	}
	// A provider's own keys: no position (it would point into a re-encoded
	// table), the provider named.
	c, _, err := Parse([]byte(minimal + "skip_if_no_tpm = \"yes\"\ncall_timeout_secs = \"30\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		SkipIfNoTpm     bool  `toml:"skip_if_no_tpm"`
		CallTimeoutSecs int64 `toml:"call_timeout_secs"`
	}
	_, err = c.Providers[0].Decode(&v)
	if err == nil || !(strings.Contains(err.Error(), "provider.skip_if_no_tpm: expected true or false, got a string") ||
		strings.Contains(err.Error(), "provider.call_timeout_secs: expected an integer (seconds), got a string")) ||
		!strings.Contains(err.Error(), "[[provider]] #1 (MbedCrypto)") {
		t.Errorf("provider key: %v", err)
	}
}
