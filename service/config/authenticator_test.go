package config

import (
	"strings"
	"testing"
)

const rustAuth = "[authenticator]\nauth_type = \"UnixPeerCredentials\"\nadmins = [ { name = \"0\" } ]\n"

func withAuth(section string) string { return strings.Replace(minimal, rustAuth, section, 1) }

func TestAuthenticatorForms(t *testing.T) {
	if withAuth("X") == minimal {
		t.Fatal("fixture does not contain the Rust [authenticator] table")
	}
	tests := []struct {
		name    string
		section string
		types   []string
		admins  []string // admins of each, comma-separated
		warn    string
		err     string
	}{
		{"rust table", rustAuth, []string{"UnixPeerCredentials"}, []string{"0"}, "", ""},
		{"rust jwt", "[authenticator]\nauth_type = \"JwtSvid\"\nworkload_endpoint = \"unix:///run/spire/sockets/agent.sock\"\n",
			[]string{"JwtSvid"}, []string{""}, "", ""},
		{"array", `[[authenticator]]
auth_type = "JwtSvid"
workload_endpoint = "unix:///tmp/agent.sock"
admins = [ { name = "spiffe://example.org/admin" } ]
[[authenticator]]
auth_type = "UnixPeerCredentials"
admins = [ { name = "0" }, { name = "1000" } ]
`, []string{"JwtSvid", "UnixPeerCredentials"}, []string{"spiffe://example.org/admin", "0,1000"}, "", ""},
		{"unknown key warns", "[authenticator]\nauth_type = \"Direct\"\ncolour = \"blue\"\n", []string{"Direct"}, []string{""}, `"authenticator.colour" of [authenticator]`, ""},
		{"twice", "[[authenticator]]\nauth_type = \"Direct\"\n[[authenticator]]\nauth_type = \"Direct\"\n", nil, nil, "", "#1 and #2 both"},
		{"none", "", nil, nil, "", "no [authenticator]"},
		{"endpoint on unix", "[authenticator]\nauth_type = \"UnixPeerCredentials\"\nworkload_endpoint = \"unix:///x\"\n", nil, nil, "", "belongs to auth_type \"JwtSvid\""},
		{"empty admin", "[authenticator]\nauth_type = \"Direct\"\nadmins = [ { name = \"\" } ]\n", nil, nil, "", "non-empty name"},
		{"bad type", "[authenticator]\nauth_type = 4\n", nil, nil, "", "auth_type"},
	}
	for _, tt := range tests {
		c, warns, err := Parse([]byte(withAuth(tt.section)))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if tt.warn != "" && (len(warns) != 1 || !strings.Contains(string(warns[0]), tt.warn)) {
			t.Errorf("%s: warnings %v, want one containing %q", tt.name, warns, tt.warn)
		}
		if tt.warn == "" && len(warns) != 0 {
			t.Errorf("%s: unexpected warnings %v", tt.name, warns)
		}
		if len(c.Authenticators) != len(tt.types) {
			t.Errorf("%s: %d authenticators, want %d", tt.name, len(c.Authenticators), len(tt.types))
			continue
		}
		for i, a := range c.Authenticators {
			var names []string
			for _, ad := range a.Admins {
				names = append(names, ad.Name)
			}
			if a.AuthType != tt.types[i] || strings.Join(names, ",") != tt.admins[i] {
				t.Errorf("%s: #%d = %+v", tt.name, i+1, a)
			}
		}
		if c.Authenticator.AuthType != tt.types[0] {
			t.Errorf("%s: Authenticator is %+v, want the first", tt.name, c.Authenticator)
		}
	}
}
