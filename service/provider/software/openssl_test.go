package software

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// openssl runs the openssl command line tool, an implementation
// independent of ours, in dir; tests that use it are skipped when it is
// not installed.
type openssl struct {
	t   *testing.T
	dir string
}

func needOpenSSL(t *testing.T) *openssl {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	return &openssl{t: t, dir: t.TempDir()}
}

// needOpenSSLMaybe returns nil instead of skipping, for tests whose other
// checks stand on their own.
func needOpenSSLMaybe(t *testing.T) *openssl {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Log("openssl not installed: interoperability checks skipped")
		return nil
	}
	return &openssl{t: t, dir: t.TempDir()}
}

func (o *openssl) file(name string, data []byte) string {
	o.t.Helper()
	p := filepath.Join(o.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		o.t.Fatal(err)
	}
	return p
}

func (o *openssl) read(name string) []byte {
	o.t.Helper()
	b, err := os.ReadFile(filepath.Join(o.dir, name))
	if err != nil {
		o.t.Fatal(err)
	}
	return b
}

// run executes openssl and returns stdout, failing the test on error.
func (o *openssl) run(stdin []byte, args ...string) []byte {
	o.t.Helper()
	out, err := o.try(stdin, args...)
	if err != nil {
		o.t.Fatalf("openssl %v: %v", args, err)
	}
	return out
}

func (o *openssl) try(stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.Command("openssl", args...)
	cmd.Dir = o.dir
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, &opensslError{err: err, stderr: stderr.String()}
	}
	return out, nil
}

type opensslError struct {
	err    error
	stderr string
}

func (e *opensslError) Error() string { return e.err.Error() + ": " + e.stderr }

// publicPEM writes a public key (any type x509 can marshal) as SPKI PEM.
func (o *openssl) publicPEM(name string, pub any) string {
	o.t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		o.t.Fatal(err)
	}
	return o.file(name, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// privatePEM writes a private key as PKCS#8 PEM.
func (o *openssl) privatePEM(name string, priv any) string {
	o.t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		o.t.Fatal(err)
	}
	return o.file(name, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
