//go:build parsec_jwtsvid

package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parsec-go/parsec/wire"
	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// issuer is a JWT signing authority of one trust domain, under our
// control: tokens are made by hand so that every malformed variant can be.
type issuer struct {
	td  spiffeid.TrustDomain
	kid string
	key *ecdsa.PrivateKey
}

func newIssuer(t testing.TB, td, kid string) issuer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return issuer{td: spiffeid.RequireTrustDomainFromString(td), kid: kid, key: k}
}

func (is issuer) bundle() *jwtbundle.Bundle {
	b := jwtbundle.New(is.td)
	if err := b.AddJWTAuthority(is.kid, is.key.Public()); err != nil {
		panic(err)
	}
	return b
}

func b64(v any) string {
	b, ok := v.([]byte)
	if !ok {
		b, _ = json.Marshal(v)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// token signs header and claims with ES256 (alg and kid defaulted unless
// the header sets them).
func (is issuer) token(header, claims map[string]any) string {
	h := map[string]any{"alg": "ES256", "kid": is.kid, "typ": "JWT"}
	for k, v := range header {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	in := b64(h) + "." + b64(claims)
	sum := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, is.key, sum[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + b64(sig)
}

func claims(sub string, mod func(map[string]any)) map[string]any {
	now := time.Now()
	c := map[string]any{"sub": sub, "aud": []string{"parsec"}, "exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix()}
	if mod != nil {
		mod(c)
	}
	return c
}

func testJwtSvid(src jwtbundle.Source, admins ...string) Authenticator {
	m := map[string]bool{}
	for _, a := range admins {
		m[a] = true
	}
	return &jwtSVID{admins: m, verify: verifier(src)}
}

func TestJwtSvidTokens(t *testing.T) {
	good := newIssuer(t, "example.org", "k1")
	other := newIssuer(t, "other.org", "o1")
	forger := newIssuer(t, "example.org", "k1") // same kid, another key
	a := testJwtSvid(jwtbundle.NewSet(good.bundle()), "spiffe://example.org/admin")
	const wA = "spiffe://example.org/workload-a"
	now := time.Now()
	unsigned := b64(map[string]any{"alg": "none", "kid": "k1", "typ": "JWT"}) + "." + b64(claims(wA, nil)) + "."
	hsIn := b64(map[string]any{"alg": "HS256", "kid": "k1"}) + "." + b64(claims(wA, nil))
	mac := hmac.New(sha256.New, []byte("k1"))
	mac.Write([]byte(hsIn))
	good1 := good.token(nil, claims(wA, nil))
	parts := strings.Split(good1, ".")
	swapped := parts[0] + "." + b64(claims("spiffe://example.org/admin", nil)) + "." + parts[2]

	tests := []struct {
		name   string
		tok    string
		want   string // SPIFFE ID, or "" for a rejection
		admin  bool
		status wire.Status
	}{
		{"valid", good1, wA, false, 0},
		{"admin", good.token(nil, claims("spiffe://example.org/admin", nil)), "spiffe://example.org/admin", true, 0},
		{"several audiences", good.token(nil, claims(wA, func(c map[string]any) { c["aud"] = []string{"x", "parsec"} })), wA, false, 0},
		{"expired", good.token(nil, claims(wA, func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() })), "", false, wire.StatusAuthenticationError},
		{"not yet valid", good.token(nil, claims(wA, func(c map[string]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() })), "", false, wire.StatusAuthenticationError},
		{"issued in the future", good.token(nil, claims(wA, func(c map[string]any) { c["iat"] = now.Add(5 * time.Minute).Unix() })), "", false, wire.StatusAuthenticationError},
		{"no exp", good.token(nil, claims(wA, func(c map[string]any) { delete(c, "exp") })), "", false, wire.StatusAuthenticationError},
		{"wrong audience", good.token(nil, claims(wA, func(c map[string]any) { c["aud"] = []string{"vault"} })), "", false, wire.StatusAuthenticationError},
		{"no audience", good.token(nil, claims(wA, func(c map[string]any) { delete(c, "aud") })), "", false, wire.StatusAuthenticationError},
		{"no subject", good.token(nil, claims("", nil)), "", false, wire.StatusAuthenticationError},
		{"subject not a SPIFFE ID", good.token(nil, claims("workload-a", nil)), "", false, wire.StatusAuthenticationError},
		{"wrong trust domain", other.token(nil, claims("spiffe://other.org/w", nil)), "", false, wire.StatusAuthenticationError},
		{"other domain's subject, our key", good.token(nil, claims("spiffe://other.org/w", nil)), "", false, wire.StatusAuthenticationError},
		{"forged", forger.token(nil, claims(wA, nil)), "", false, wire.StatusAuthenticationError},
		{"claims swapped", swapped, "", false, wire.StatusAuthenticationError},
		{"alg none", unsigned, "", false, wire.StatusAuthenticationError},
		{"HS256 with the kid as secret", hsIn + "." + b64(mac.Sum(nil)), "", false, wire.StatusAuthenticationError},
		{"no kid", good.token(map[string]any{"kid": nil}, claims(wA, nil)), "", false, wire.StatusAuthenticationError},
		{"unknown kid", good.token(map[string]any{"kid": "k2"}, claims(wA, nil)), "", false, wire.StatusAuthenticationError},
		{"truncated", good1[:len(good1)-3], "", false, wire.StatusAuthenticationError},
		{"garbage", "not.a.token", "", false, wire.StatusAuthenticationError},
		{"empty", "", "", false, wire.StatusAuthenticationError},
		{"not UTF-8", "\xff\xfe", "", false, wire.StatusInvalidEncoding},
	}
	for _, tt := range tests {
		app, err := a.Authenticate([]byte(tt.tok), Peer{UID: 1000})
		if tt.want == "" {
			if wire.StatusOf(err, 0) != tt.status {
				t.Errorf("%s: got %+v, %v; want %v", tt.name, app, err, tt.status)
			}
			continue
		}
		if err != nil || app.Name != tt.want || app.Admin != tt.admin || app.AuthType != wire.AuthJwtSvid {
			t.Errorf("%s: got %+v, %v", tt.name, app, err)
		}
	}
}

// TestBundleRotation feeds the watch two bundle sets in turn, as the
// Workload API does when the trust domain's JWT key rotates.
func TestBundleRotation(t *testing.T) {
	old := newIssuer(t, "example.org", "old")
	fresh := newIssuer(t, "example.org", "new")
	w := &bundleWatch{endpoint: "test", log: discard, settled: make(chan struct{})}
	a := testJwtSvid(w)
	tokOld := old.token(nil, claims("spiffe://example.org/a", nil))
	tokNew := fresh.token(nil, claims("spiffe://example.org/a", nil))

	w.OnJWTBundlesWatchError(errors.New("agent down"))
	if _, err := a.Authenticate([]byte(tokOld), Peer{}); !errors.Is(err, wire.StatusAuthenticationError) || !strings.Contains(err.Error(), "agent down") {
		t.Fatalf("before any bundle: %v", err)
	}
	w.OnJWTBundlesUpdate(jwtbundle.NewSet(old.bundle()))
	if _, err := a.Authenticate([]byte(tokOld), Peer{}); err != nil {
		t.Fatalf("old key: %v", err)
	}
	if _, err := a.Authenticate([]byte(tokNew), Peer{}); err == nil {
		t.Fatal("new key accepted before it was published")
	}
	both := old.bundle()
	both.AddJWTAuthority(fresh.kid, fresh.key.Public())
	w.OnJWTBundlesUpdate(jwtbundle.NewSet(both))
	for _, tok := range []string{tokOld, tokNew} {
		if _, err := a.Authenticate([]byte(tok), Peer{}); err != nil {
			t.Fatalf("during rotation: %v", err)
		}
	}
	w.OnJWTBundlesUpdate(jwtbundle.NewSet(fresh.bundle()))
	if _, err := a.Authenticate([]byte(tokOld), Peer{}); !errors.Is(err, wire.StatusAuthenticationError) {
		t.Fatalf("retired key still accepted: %v", err)
	}
	// The API going away keeps the last bundles in use.
	w.OnJWTBundlesWatchError(errors.New("agent down"))
	if _, err := a.Authenticate([]byte(tokNew), Peer{}); err != nil {
		t.Fatalf("after the API went away: %v", err)
	}
}

// TestWorkloadAPIDown starts the authenticator on a socket nobody serves:
// requests are refused with AuthenticationError, promptly, and Close
// returns.
func TestWorkloadAPIDown(t *testing.T) {
	a, err := New(Spec{AuthType: "JwtSvid", WorkloadEndpoint: "unix://" + t.TempDir() + "/agent.sock"}, discard)
	if err != nil {
		t.Fatal(err)
	}
	is := newIssuer(t, "example.org", "k")
	tok := is.token(nil, claims("spiffe://example.org/a", nil))
	for i := 0; i < 3; i++ {
		_, err := a.Authenticate([]byte(tok), Peer{})
		if !errors.Is(err, wire.StatusAuthenticationError) || !strings.Contains(err.Error(), "Workload API") {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if err := a.(interface{ Close() error }).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Spec{AuthType: "JwtSvid", WorkloadEndpoint: "tcp://[bad"}, discard); err == nil {
		t.Error("malformed endpoint accepted")
	}
	if _, err := New(Spec{AuthType: "JwtSvid"}, discard); err == nil {
		t.Error("missing endpoint accepted")
	}
}

// FuzzJwtSvidToken: whatever the auth field holds, the answer is the one
// valid identity or AuthenticationError/InvalidEncoding, never a panic.
func FuzzJwtSvidToken(f *testing.F) {
	is := newIssuer(f, "example.org", "k1")
	a := testJwtSvid(jwtbundle.NewSet(is.bundle()))
	valid := is.token(nil, claims("spiffe://example.org/a", nil))
	f.Add([]byte(valid))
	f.Add([]byte(is.token(map[string]any{"alg": "none"}, claims("spiffe://example.org/a", nil))))
	f.Add([]byte(is.token(nil, claims("spiffe://example.org/a", func(c map[string]any) { c["aud"] = 3 }))))
	f.Add([]byte("eyJ.eyJ.AA"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		app, err := a.Authenticate(b, Peer{})
		if err == nil {
			if app.Name != "spiffe://example.org/a" {
				t.Fatalf("accepted as %q", app.Name)
			}
			return
		}
		if s := wire.StatusOf(err, 0); s != wire.StatusAuthenticationError && s != wire.StatusInvalidEncoding {
			t.Fatalf("status %v: %v", s, err)
		}
	})
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))
