package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/service/provider/software"
	"github.com/parsec-go/parsec/wire"
)

// Two authenticators on one socket: the header's auth type picks one,
// admins are per authenticator, ListAuthenticators follows the file.
func TestSeveralAuthenticators(t *testing.T) {
	uid := fmt.Sprint(os.Getuid())
	s := testServerAuth(t, `[[authenticator]]
auth_type = "Direct"
admins = [ { name = "boss" } ]
[[authenticator]]
auth_type = "UnixPeerCredentials"
admins = [ { name = "`+uid+`" } ]
`, software.New, io.Discard)
	ctx := context.Background()
	as := func(a client.Authenticator) *client.Client {
		c, err := client.NewNaked(client.WithSocketPath(s.SocketPath()), client.WithAuthenticator(a), client.WithProvider(wire.ProviderMbedCrypto))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	app, boss, me := as(client.Direct("app")), as(client.Direct("boss")), as(client.UnixPeerCredentials())

	auths, err := app.ListAuthenticators(ctx)
	if err != nil || len(auths) != 2 || auths[0].ID != wire.AuthDirect || auths[1].ID != wire.AuthUnixPeerCredentials {
		t.Fatalf("ListAuthenticators: %+v %v", auths, err)
	}
	for _, c := range []*client.Client{app, me} {
		if err := c.GenerateKey(ctx, "k", client.ECCP256SigningKey()); err != nil {
			t.Fatal(err)
		}
	}
	// The same name under each authenticator: two keys, each sees one.
	for _, c := range []*client.Client{app, me} {
		keys, err := c.ListKeys(ctx)
		if err != nil || len(keys) != 1 || keys[0].Name != "k" {
			t.Errorf("keys %+v %v", keys, err)
		}
	}
	if err := app.DestroyKey(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := me.ListKeys(ctx); len(keys) != 1 {
		t.Errorf("the uid's key went with Direct app's: %+v", keys)
	}
	app.GenerateKey(ctx, "k", client.ECCP256SigningKey())

	// Each authenticator's admins: "boss" under Direct, our uid under
	// UnixPeerCredentials; a Direct client named like the uid is not one.
	names, err := boss.ListClients(ctx)
	sort.Strings(names)
	if err != nil || strings.Join(names, ",") != strings.Join(sortedPair("app", uid), ",") {
		t.Errorf("ListClients as boss: %v %v", names, err)
	}
	if _, err := me.ListClients(ctx); err != nil {
		t.Errorf("ListClients as the uid admin: %v", err)
	}
	if _, err := as(client.Direct(uid)).ListClients(ctx); !errors.Is(err, wire.StatusAdminOperation) {
		t.Errorf("Direct %q listing clients: %v", uid, err)
	}
	// DeleteClient acts within the admin's own authenticator.
	if err := boss.DeleteClient(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := app.ListKeys(ctx); len(keys) != 0 {
		t.Errorf("Direct app keeps %+v", keys)
	}
	if keys, _ := me.ListKeys(ctx); len(keys) != 1 {
		t.Errorf("the uid's key after deleting Direct app: %+v", keys)
	}
	// An auth type that is not configured.
	jwt := as(client.JWTSVID(fixedJWT("x.y.z")))
	if _, err := jwt.ListKeys(ctx); !errors.Is(err, wire.StatusAuthenticatorNotRegistered) {
		t.Errorf("JwtSvid when not configured: %v", err)
	}
}

func sortedPair(a, b string) []string {
	s := []string{a, b}
	sort.Strings(s)
	return s
}

type fixedJWT string

func (f fixedJWT) FetchJWTSVID(context.Context, string) (string, error) { return string(f), nil }
