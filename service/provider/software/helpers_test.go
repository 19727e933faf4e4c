package software

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

var (
	alice = auth.Application{Name: "1000", AuthType: wire.AuthUnixPeerCredentials}
	bob   = auth.Application{Name: "1001", AuthType: wire.AuthUnixPeerCredentials}
)

const testProviderName = "mbed-crypto-provider"

// env is a provider on real directories: an on-disk key info manager and
// a key store, both under one temporary root.
type env struct {
	t        testing.TB
	root     string
	kim      kim.Manager
	p        *Provider
	settings provider.Settings
	log      *slog.Logger // the provider's; quiet unless set
}

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, root: t.TempDir()}
	e.reopen()
	return e
}

func (e *env) storeDir() string { return filepath.Join(e.root, "store") }

// reopen builds a fresh key info manager and provider over the same
// directories, as a service restart does.
func (e *env) reopen() {
	e.t.Helper()
	if c, ok := e.kim.(interface{ Close() error }); ok {
		c.Close() // one writer per mapping store, as in the service
	}
	m, err := kim.OpenOnDisk(filepath.Join(e.root, "kim"), quietLog())
	if err != nil {
		e.t.Fatal(err)
	}
	e.kim = m
	e.p = e.open(m)
}

func (e *env) providerLog() *slog.Logger {
	if e.log != nil {
		return e.log
	}
	return quietLog()
}

// open closes the current provider (one writer per key store, as in the
// service) and opens one over m.
func (e *env) open(m kim.Manager) *Provider {
	e.t.Helper()
	if e.p != nil {
		e.p.Close()
		e.p = nil
	}
	p, err := open(provider.Deps{
		Name:     testProviderName,
		KIM:      m,
		Log:      e.providerLog(),
		Settings: e.settings,
		Decode: func(v any) error {
			v.(*Config).StorePath = e.storeDir()
			return nil
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { p.Close() })
	return p
}

func (e *env) exec(app auth.Application, req protomsg.Message) (protomsg.Message, error) {
	op := opFor(req)
	if !e.p.Accepts(op) {
		e.t.Fatalf("provider does not accept %v", op)
	}
	return provider.Run(context.Background(), e.p, app, op, req)
}

// must runs a request that has to succeed.
func (e *env) must(app auth.Application, req protomsg.Message) protomsg.Message {
	e.t.Helper()
	res, err := e.exec(app, req)
	if err != nil {
		e.t.Fatalf("%T: %v", req, err)
	}
	return res
}

// status runs a request and returns its Parsec status.
func (e *env) status(app auth.Application, req protomsg.Message) wire.Status {
	e.t.Helper()
	_, err := e.exec(app, req)
	var we *wire.Error
	if err != nil && !errors.As(err, &we) {
		e.t.Fatalf("%T: error without a Parsec status: %v", req, err)
	}
	return wire.StatusOf(err, wire.StatusPsaErrorGenericError)
}

// expect checks a request fails (or succeeds) with the given status.
func (e *env) expect(want wire.Status, app auth.Application, req protomsg.Message) {
	e.t.Helper()
	if got := e.status(app, req); got != want {
		e.t.Errorf("%T: status %v (%d), want %v (%d)", req, got, got, want, want)
	}
}

func opFor(req protomsg.Message) wire.Opcode {
	switch req.(type) {
	case *pb.GenerateKeyRequest:
		return wire.OpPsaGenerateKey
	case *pb.ImportKeyRequest:
		return wire.OpPsaImportKey
	case *pb.DestroyKeyRequest:
		return wire.OpPsaDestroyKey
	case *pb.ExportPublicKeyRequest:
		return wire.OpPsaExportPublicKey
	case *pb.ExportKeyRequest:
		return wire.OpPsaExportKey
	case *pb.SignHashRequest:
		return wire.OpPsaSignHash
	case *pb.VerifyHashRequest:
		return wire.OpPsaVerifyHash
	case *pb.SignMessageRequest:
		return wire.OpPsaSignMessage
	case *pb.VerifyMessageRequest:
		return wire.OpPsaVerifyMessage
	case *pb.AsymmetricEncryptRequest:
		return wire.OpPsaAsymmetricEncrypt
	case *pb.AsymmetricDecryptRequest:
		return wire.OpPsaAsymmetricDecrypt
	case *pb.AeadEncryptRequest:
		return wire.OpPsaAeadEncrypt
	case *pb.AeadDecryptRequest:
		return wire.OpPsaAeadDecrypt
	case *pb.CipherEncryptRequest:
		return wire.OpPsaCipherEncrypt
	case *pb.CipherDecryptRequest:
		return wire.OpPsaCipherDecrypt
	case *pb.MacComputeRequest:
		return wire.OpPsaMacCompute
	case *pb.MacVerifyRequest:
		return wire.OpPsaMacVerify
	case *pb.RawKeyAgreementRequest:
		return wire.OpPsaRawKeyAgreement
	case *pb.GenerateRandomRequest:
		return wire.OpPsaGenerateRandom
	case *pb.HashComputeRequest:
		return wire.OpPsaHashCompute
	case *pb.HashCompareRequest:
		return wire.OpPsaHashCompare
	case *pb.CanDoCryptoRequest:
		return wire.OpCanDoCrypto
	}
	panic("unknown request type")
}

func attrs(t testing.TB, a psa.Attributes) *pb.KeyAttributes {
	t.Helper()
	p, err := psa.AttributesToProto(a)
	if err != nil {
		t.Fatalf("attributes %+v: %v", a, err)
	}
	return p
}

func (e *env) generate(app auth.Application, name string, a psa.Attributes) {
	e.t.Helper()
	e.must(app, &pb.GenerateKeyRequest{KeyName: name, Attributes: attrs(e.t, a)})
}

func (e *env) importKey(app auth.Application, name string, a psa.Attributes, data []byte) {
	e.t.Helper()
	e.must(app, &pb.ImportKeyRequest{KeyName: name, Attributes: attrs(e.t, a), Data: data})
}

func (e *env) exportPublic(app auth.Application, name string) []byte {
	e.t.Helper()
	return e.must(app, &pb.ExportPublicKeyRequest{KeyName: name}).(*pb.ExportPublicKeyResult).GetData()
}

func (e *env) export(app auth.Application, name string) []byte {
	e.t.Helper()
	return e.must(app, &pb.ExportKeyRequest{KeyName: name}).(*pb.ExportKeyResult).GetData()
}

func signAlg(t testing.TB, a psa.Algorithm) *pb.Algorithm_AsymmetricSignature {
	t.Helper()
	s, err := psa.SignToProto(a)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func encAlg(t testing.TB, a psa.Algorithm) *pb.Algorithm_AsymmetricEncryption {
	t.Helper()
	s, err := psa.AsymEncryptToProto(a)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func aeadAlg(t testing.TB, a psa.Algorithm) *pb.Algorithm_Aead {
	t.Helper()
	s, err := psa.AEADToProto(a)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func macAlg(t testing.TB, a psa.Algorithm) *pb.Algorithm_Mac {
	t.Helper()
	s, err := psa.MACToProto(a)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func cipherAlg(t testing.TB, a psa.Algorithm) pb.Algorithm_Cipher {
	t.Helper()
	s, err := psa.CipherToProto(a)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) sign(app auth.Application, name string, alg psa.Algorithm, hash []byte) []byte {
	e.t.Helper()
	return e.must(app, &pb.SignHashRequest{KeyName: name, Alg: signAlg(e.t, alg), Hash: hash}).(*pb.SignHashResult).GetSignature()
}

func (e *env) verifyStatus(app auth.Application, name string, alg psa.Algorithm, hash, sig []byte) wire.Status {
	e.t.Helper()
	return e.status(app, &pb.VerifyHashRequest{KeyName: name, Alg: signAlg(e.t, alg), Hash: hash, Signature: sig})
}

// material lists what the key store holds, sorted: "%08x" for each live
// record of its log, and the names of its other files (key files of the
// first format, temporary files), not its log, lock or record of the key
// info manager.
func (e *env) material() []string {
	e.t.Helper()
	return storeMaterial(e.t, e.storeDir())
}

func storeMaterial(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ents {
		switch d.Name() {
		case kimMarker, keyLogName, keyLockName:
		default:
			names = append(names, d.Name())
		}
	}
	st, _, err := readKeyLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	for id := range st.index {
		names = append(names, fmt.Sprintf("%08x", id))
	}
	sort.Strings(names)
	return names
}

// Usage sets used in tests.
const (
	uSign   = psa.UsageSignHash | psa.UsageVerifyHash
	uCrypt  = psa.UsageEncrypt | psa.UsageDecrypt
	uExport = psa.UsageExport
)

func kimOwner(app auth.Application) kim.Owner { return kim.OwnerOf(app) }

// RSA key generation is slow; tests share keys per size.
var (
	rsaKeysMu sync.Mutex
	rsaKeys   = map[int]*rsa.PrivateKey{}
)

func testRSAKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	rsaKeysMu.Lock()
	defer rsaKeysMu.Unlock()
	if k, ok := rsaKeys[bits]; ok {
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	rsaKeys[bits] = k
	return k
}

func testECDHKey(t testing.TB) *ecdh.PrivateKey {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type protoMsg = protomsg.Message

func x509PKCS1(k *rsa.PrivateKey) []byte { return x509.MarshalPKCS1PrivateKey(k) }
