package config

import (
	"errors"
	"fmt"

	"github.com/pelletier/go-toml/v2"
)

// readAuthenticators accepts Parsec's single [authenticator] table and our
// [[authenticator]] array of tables (several authenticators on one socket,
// the request header's auth type choosing). Each table is decoded strictly,
// so unknown keys are named with their table.
func (c *Config) readAuthenticators(raw map[string]any) ([]Warning, error) {
	var tables []map[string]any
	switch v := raw["authenticator"].(type) {
	case nil:
	case map[string]any:
		tables = append(tables, v)
	case []any:
		for i, t := range v {
			tbl, ok := t.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("config [[authenticator]] #%d is not a table", i+1)
			}
			tables = append(tables, tbl)
		}
	default:
		return nil, errors.New(`config key "authenticator" must be a table ([authenticator]) or an array of tables ([[authenticator]])`)
	}
	var warns []Warning
	for i, tbl := range tables {
		where := "[authenticator]"
		if len(tables) > 1 {
			where = fmt.Sprintf("[[authenticator]] #%d", i+1)
		}
		doc, err := toml.Marshal(tbl)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", where, err)
		}
		var a Authenticator
		unknown, err := decodeStrict(doc, &a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		for _, k := range unknown {
			warns = append(warns, Warning(fmt.Sprintf("unknown config key \"authenticator.%s\" of %s ignored", k, where)))
		}
		c.Authenticators = append(c.Authenticators, a)
	}
	if len(c.Authenticators) > 0 {
		c.Authenticator = c.Authenticators[0]
	}
	return warns, nil
}

func (c *Config) validateAuthenticators() error {
	if len(c.Authenticators) == 0 {
		return errors.New(`config has no [authenticator]; add one with auth_type = "UnixPeerCredentials" (or "Direct" for development)`)
	}
	seen := map[string]int{}
	for i, a := range c.Authenticators {
		switch a.AuthType {
		case AuthDirect, AuthUnixPeerCredentials:
			if a.WorkloadEndpoint != "" {
				return fmt.Errorf(`config key "authenticator.workload_endpoint" belongs to auth_type "JwtSvid", not %q`, a.AuthType)
			}
		case AuthJwtSvid:
			if a.WorkloadEndpoint == "" {
				return errors.New(`config key "authenticator.workload_endpoint" is missing for auth_type "JwtSvid"; name the SPIFFE Workload API socket, e.g. "unix:///run/spire/sockets/agent.sock"`)
			}
		case "":
			return errors.New(`config key "authenticator.auth_type" is missing; use "UnixPeerCredentials" (or "Direct" for development, "JwtSvid" with a SPIFFE Workload API)`)
		default:
			return fmt.Errorf(`config key "authenticator.auth_type" is %q; use "UnixPeerCredentials", "Direct" or "JwtSvid"`, a.AuthType)
		}
		if j, dup := seen[a.AuthType]; dup {
			return fmt.Errorf(`config [[authenticator]] #%d and #%d both have auth_type %q; each auth type may appear once`, j+1, i+1, a.AuthType)
		}
		seen[a.AuthType] = i
		for _, ad := range a.Admins {
			if ad.Name == "" {
				return errors.New(`config key "authenticator.admins": every admin needs a non-empty name`)
			}
		}
	}
	return nil
}

// AdminNames returns the authenticator's admin names as a set.
func (a Authenticator) AdminNames() map[string]bool {
	m := map[string]bool{}
	for _, ad := range a.Admins {
		m[ad.Name] = true
	}
	return m
}
