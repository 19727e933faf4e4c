package client

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
)

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"unix:/run/parsec/parsec.sock", "/run/parsec/parsec.sock", true},
		{"unix:///run/parsec/parsec.sock", "/run/parsec/parsec.sock", true},
		{"unix://host/tmp/x.sock", "/tmp/x.sock", true},
		{"unix:relative/p.sock", "relative/p.sock", true},
		{"/run/parsec/parsec.sock", "", false},
		{"tcp://localhost:1234", "", false},
		{"unix:", "", false},
		{"", "", false},
		{"http://%zz", "", false},
	} {
		got, err := ParseEndpoint(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseEndpoint(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidEndpoint) {
			t.Errorf("ParseEndpoint(%q) error %v is not ErrInvalidEndpoint", tc.in, err)
		}
	}
}

func TestEndpointFromEnv(t *testing.T) {
	t.Setenv(EndpointEnv, "")
	if got := EndpointFromEnv(); got != DefaultEndpoint {
		t.Errorf("unset: %q", got)
	}
	t.Setenv(EndpointEnv, "unix:/x")
	if got := EndpointFromEnv(); got != "unix:/x" {
		t.Errorf("set: %q", got)
	}
}

func TestECDSASignatureConversion(t *testing.T) {
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		k, _ := ecdsa.GenerateKey(curve, rand.Reader)
		digest := make([]byte, 32)
		rand.Read(digest)
		for i := 0; i < 20; i++ {
			der, _ := ecdsa.SignASN1(rand.Reader, k, digest)
			bits := uint32(curve.Params().BitSize)
			raw, err := ECDSASignatureFromASN1(der, bits)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) != 2*(int(bits+7)/8) {
				t.Fatalf("%s: raw signature of %d bytes", curve.Params().Name, len(raw))
			}
			back, err := ECDSASignatureToASN1(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !ecdsa.VerifyASN1(&k.PublicKey, digest, back) {
				t.Fatalf("%s: converted signature does not verify", curve.Params().Name)
			}
		}
	}
	for _, bad := range [][]byte{nil, {1, 2, 3}} {
		if _, err := ECDSASignatureToASN1(bad); err == nil {
			t.Errorf("ECDSASignatureToASN1(%x) accepted", bad)
		}
	}
	if _, err := ECDSASignatureFromASN1([]byte{0x30, 0}, 256); err == nil {
		t.Error("empty DER sequence accepted")
	}
}

func FuzzECDSASignatureFromASN1(f *testing.F) {
	f.Add([]byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, uint32(256))
	f.Fuzz(func(t *testing.T, der []byte, bits uint32) {
		bits %= 1024
		raw, err := ECDSASignatureFromASN1(der, bits)
		if err != nil {
			return
		}
		if len(raw) != 2*(int(bits+7)/8) {
			t.Fatalf("raw length %d for %d bits", len(raw), bits)
		}
	})
}

func FuzzParseEndpoint(f *testing.F) {
	f.Add("unix:/run/parsec/parsec.sock")
	f.Add("unix:///a")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseEndpoint(s)
		if err == nil && p == "" {
			t.Fatalf("ParseEndpoint(%q) gave an empty path", s)
		}
	})
}

func TestSubjectPublicKeyInfo(t *testing.T) {
	for _, tc := range []struct {
		curve ecdh.Curve
		bits  uint32
	}{{ecdh.P256(), 256}, {ecdh.P384(), 384}, {ecdh.P521(), 521}} {
		k, _ := tc.curve.GenerateKey(rand.Reader)
		attrs := psa.Attributes{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: tc.bits}
		got, err := SubjectPublicKeyInfo(attrs, k.PublicKey().Bytes())
		if err != nil {
			t.Fatal(err)
		}
		pub, err := x509.ParsePKIXPublicKey(got)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := x509.MarshalPKIXPublicKey(k.PublicKey())
		if string(got) != string(want) {
			t.Errorf("P-%d SPKI differs from Go's", tc.bits)
		}
		if _, ok := pub.(*ecdsa.PublicKey); !ok {
			t.Errorf("parsed %T", pub)
		}
	}
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	got, err := SubjectPublicKeyInfo(psa.Attributes{Type: psa.KeyTypeRSAKeyPair, Bits: 1024}, x509.MarshalPKCS1PublicKey(&rk.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if string(got) != string(want) {
		t.Error("RSA SPKI differs from Go's")
	}
	for _, a := range []psa.Attributes{
		{Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 255},
		{Type: psa.ECCKeyPair(psa.EccMontgomery), Bits: 255},
		{Type: psa.KeyTypeAES, Bits: 128},
	} {
		if _, err := SubjectPublicKeyInfo(a, []byte{4}); !errors.Is(err, ErrUnsupportedKey) {
			t.Errorf("SubjectPublicKeyInfo(%v) = %v, want ErrUnsupportedKey", a, err)
		}
	}
}

func TestSignatureAlgorithm(t *testing.T) {
	pss := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	for _, tc := range []struct {
		policy psa.Algorithm
		opts   crypto.SignerOpts
		want   psa.Algorithm
	}{
		{psa.ECDSA(psa.AlgSHA256), crypto.SHA256, psa.ECDSA(psa.AlgSHA256)},
		{psa.ECDSA(psa.AlgSHA256), crypto.SHA384, 0},
		{psa.ECDSA(psa.AlgAnyHash), crypto.SHA384, psa.ECDSA(psa.AlgSHA384)},
		{psa.DeterministicECDSA(psa.AlgSHA512), crypto.SHA512, psa.DeterministicECDSA(psa.AlgSHA512)},
		{psa.AlgECDSAAny, crypto.SHA256, psa.AlgECDSAAny},
		{psa.RSAPKCS1v15Sign(psa.AlgSHA256), crypto.SHA256, psa.RSAPKCS1v15Sign(psa.AlgSHA256)},
		{psa.RSAPKCS1v15Sign(psa.AlgSHA256), pss, 0},
		{psa.RSAPSS(psa.AlgSHA256), pss, psa.RSAPSS(psa.AlgSHA256)},
		{psa.RSAPSS(psa.AlgSHA256), crypto.SHA256, 0},
		{psa.RSAPSS(psa.AlgSHA256), &rsa.PSSOptions{SaltLength: 20, Hash: crypto.SHA256}, 0},
		{psa.RSAPSS(psa.AlgAnyHash), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: crypto.SHA384}, psa.RSAPSS(psa.AlgSHA384)},
		{psa.AlgRSAPKCS1v15SignRaw, crypto.SHA256, 0},
		{psa.AlgRSAPKCS1v15Crypt, crypto.SHA256, 0},
		{psa.ECDSA(psa.AlgSHA256), crypto.BLAKE2b_256, 0},
	} {
		got, err := SignatureAlgorithm(tc.policy, tc.opts)
		if tc.want == 0 {
			if !errors.Is(err, ErrUnsupportedKey) {
				t.Errorf("SignatureAlgorithm(%v, %v) = %v, %v; want ErrUnsupportedKey", tc.policy, tc.opts, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("SignatureAlgorithm(%v, %v) = %v, %v; want %v", tc.policy, tc.opts, got, err, tc.want)
		}
	}
}

func TestTemplatesEncode(t *testing.T) {
	for _, a := range []psa.Attributes{
		ECCP256SigningKey(), ECCP384SigningKey(), RSASigningKey(2048), RSAPSSSigningKey(3072),
		RSAEncryptionKey(2048), RSAOAEPKey(4096), AESGCMKey(256), ECDHP256Key(),
	} {
		p, err := psa.AttributesToProto(a)
		if err != nil {
			t.Fatalf("%+v: %v", a, err)
		}
		back, err := psa.AttributesFromProto(p)
		if err != nil || back != a {
			t.Errorf("%+v round trip = %+v, %v", a, back, err)
		}
		if a.Deprecated() {
			t.Errorf("template %+v is deprecated", a)
		}
	}
}

// A peer that accepts and never answers: the client must give up when the
// context says so, and say why.
func TestTimeoutAndCancel(t *testing.T) {
	dir, err := os.MkdirTemp("", "pt")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"poller", nil},
		{"blocking I/O", []Option{WithBlockingIO()}},
	} {
		c, err := NewNaked(append([]Option{WithSocketPath(sock), WithTimeout(50 * time.Millisecond)}, tc.opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, _, err = c.Ping(context.Background())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: Ping of a silent peer = %v, want DeadlineExceeded", tc.name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: timeout took %v", tc.name, d)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(20 * time.Millisecond); cancel() }()
		_, _, err = c.WithTimeout(0).Ping(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: Ping cancelled = %v, want Canceled", tc.name, err)
		}
	}
}

func TestUnreachable(t *testing.T) {
	dir := t.TempDir()
	c, err := NewNaked(WithSocketPath(filepath.Join(dir, "none.sock")))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Ping(context.Background())
	if !errors.Is(err, ErrServiceUnreachable) {
		t.Fatalf("Ping without a service = %v", err)
	}
	if _, err := New(context.Background(), WithSocketPath(filepath.Join(dir, "none.sock"))); !errors.Is(err, ErrServiceUnreachable) {
		t.Fatalf("New without a service = %v", err)
	}
	if _, err := NewNaked(WithEndpoint("tcp://x")); !errors.Is(err, ErrInvalidEndpoint) {
		t.Fatalf("NewNaked(tcp) = %v", err)
	}
}

func TestPickAuthenticator(t *testing.T) {
	infos := func(ids ...wire.AuthType) []AuthenticatorInfo {
		var r []AuthenticatorInfo
		for _, id := range ids {
			r = append(r, AuthenticatorInfo{ID: id})
		}
		return r
	}
	for _, tc := range []struct {
		auths []AuthenticatorInfo
		o     options
		want  wire.AuthType
		ok    bool
	}{
		{infos(wire.AuthUnixPeerCredentials), options{}, wire.AuthUnixPeerCredentials, true},
		{infos(wire.AuthDirect), options{appName: "app"}, wire.AuthDirect, true},
		{infos(wire.AuthDirect), options{}, 0, false},
		{infos(wire.AuthDirect, wire.AuthUnixPeerCredentials), options{}, wire.AuthUnixPeerCredentials, true},
		{infos(wire.AuthJwtSvid), options{}, 0, false},
		{infos(wire.AuthJwt, wire.AuthJwtSvid), options{jwt: staticJWT("t")}, wire.AuthJwtSvid, true},
		{nil, options{}, 0, false},
	} {
		a, err := pickAuthenticator(tc.auths, &tc.o)
		if !tc.ok {
			if !errors.Is(err, ErrNoAuthenticator) {
				t.Errorf("%v: got %v, %v; want ErrNoAuthenticator", tc.auths, a, err)
			}
			continue
		}
		if err != nil || a.Type() != tc.want {
			t.Errorf("%v: got %v, %v; want %v", tc.auths, a, err, tc.want)
		}
	}
}

type staticJWT string

func (s staticJWT) FetchJWTSVID(_ context.Context, aud string) (string, error) {
	if aud != JWTSVIDAudience {
		return "", errors.New("wrong audience")
	}
	return string(s), nil
}

func TestAuthTokens(t *testing.T) {
	ctx := context.Background()
	tok, _ := UnixPeerCredentials().Token(ctx)
	if len(tok) != 4 || int(tok[0])|int(tok[1])<<8|int(tok[2])<<16|int(tok[3])<<24 != os.Getuid() {
		t.Errorf("unix peer token %x for uid %d", tok, os.Getuid())
	}
	if tok, _ := Direct("app").Token(ctx); string(tok) != "app" {
		t.Errorf("direct token %q", tok)
	}
	if tok, err := JWTSVID(staticJWT("a.b.c")).Token(ctx); err != nil || string(tok) != "a.b.c" {
		t.Errorf("JWT token %q, %v", tok, err)
	}
	var ae *AuthError
	if _, err := JWTSVID(nil).Token(ctx); !errors.As(err, &ae) {
		t.Errorf("JWT without source: %v", err)
	}
}
