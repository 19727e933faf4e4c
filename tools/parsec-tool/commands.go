package main

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
)

// env is what a subcommand runs with.
type env struct {
	ctx    context.Context
	c      *client.Client
	stdout io.Writer
	log    *logger
	module string
}

func (e *env) info(format string, args ...any) { e.log.info(e.module, format, args...) }

func (e *env) utilInfo(format string, args ...any) {
	e.log.info(rootModule+"::util", format, args...)
}

// toolError is a failure the tool itself detects (the Rust tool's
// ToolErrorKind, named by kind), with the reason the Rust tool logs on a
// separate line; we print both on the single error line.
type toolError struct {
	kind string
	msg  string
}

func (e *toolError) Error() string { return e.msg + " (" + e.kind + ")" }

const (
	errNotSupported      = "NotSupported"
	errWrongKeyAlgorithm = "WrongKeyAlgorithm"
	errIncorrectData     = "IncorrectData"
)

func (e *env) fail(kind, format string, args ...any) error {
	return &toolError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

const keyNameHelp = "Name of the key"

func keyNameArg(help string) arg {
	return arg{long: "key-name", short: 'k', value: "key-name", help: help, required: true, nonEmpty: true}
}

// allCommands lists the subcommands. It is built on demand so that start-up
// does no work for commands that are not run.
func allCommands() []*command {
	return []*command{
		{name: "ping", about: "Ping the Parsec service and print the wire protocol version it speaks", naked: true, run: runPing},
		{name: "list-providers", about: "List the providers the Parsec service offers", naked: true, run: runListProviders},
		{name: "list-authenticators", about: "List the authenticators the Parsec service offers", naked: true, run: runListAuthenticators},
		{name: "list-opcodes", about: "List the operations a provider supports", naked: true, run: runListOpcodes, args: []arg{
			{long: "provider", short: 'p', value: "provider", uintBits: 8, help: "Provider ID (default: the provider chosen with the global -p, else the core provider)"},
		}},
		{name: "list-keys", about: "List the keys of this application", run: runListKeys},
		{name: "generate-random", about: "Print random bytes from the provider, in hexadecimal", run: runGenerateRandom, args: []arg{
			{long: "nbytes", short: 'n', value: "nbytes", uintBits: 64, help: "Number of bytes", required: true},
		}},
		{name: "export-public-key", about: "Print the public part of a key pair as PEM", run: runExportPublicKey, args: []arg{
			keyNameArg(keyNameHelp),
			{long: "pkcs1", help: "Print an RSA key as PKCS#1 RSAPublicKey instead of SubjectPublicKeyInfo"},
		}},
		{name: "create-rsa-key", about: "Create an RSA key pair, by default of 2048 bits for PKCS#1 v1.5 encryption", run: runCreateRSAKey, args: []arg{
			keyNameArg(keyNameHelp),
			{long: "for-signing", short: 's', id: "is-for-signing", help: "Create a signing key (PKCS#1 v1.5 with SHA-256) instead of an encryption key; wins over --for-signing-pss"},
			{long: "for-signing-pss", short: 'r', id: "is-for-signing-pss", help: "Create a signing key for RSA-PSS with SHA-256"},
			{long: "bits", short: 'b', value: "bits", uintBits: 64, help: "Key size in bits (default 2048); the provider decides which sizes it supports"},
			{long: "oaep", short: 'o', help: "Create an encryption key for RSA-OAEP with SHA-256 instead of PKCS#1 v1.5"},
		}},
		{name: "create-ecc-key", about: "Create an ECC key pair on curve secp256r1 for ECDSA with SHA-256", run: runCreateECCKey, args: []arg{
			keyNameArg(keyNameHelp),
		}},
		{name: "decrypt", about: "Decrypt base64 data with a key, using the algorithm of its policy", run: runDecrypt, args: []arg{
			keyNameArg(keyNameHelp),
			{long: "input-data", positional: true, required: true, help: "Ciphertext, base64"},
		}},
		{name: "encrypt", about: "Encrypt text with a key, using the algorithm of its policy; prints base64", run: runEncrypt, args: []arg{
			keyNameArg(keyNameHelp),
			{long: "input-data", positional: true, required: true, help: "Plaintext"},
		}},
		{name: "sign", about: "Sign text with a key, using the algorithm of its policy; prints a base64 signature", run: runSign, args: []arg{
			keyNameArg(keyNameHelp),
			{long: "input-data", positional: true, required: true, help: "Text to sign (UTF-8)"},
		}},
		{name: "delete-key", about: "Delete a key", run: runDeleteKey, args: []arg{
			keyNameArg(keyNameHelp),
		}},
		{name: "list-clients", about: "List the applications that own keys (admin operation)", run: runListClients},
		{name: "delete-client", about: "Delete every key of an application (admin operation)", run: runDeleteClient, args: []arg{
			{long: "client", short: 'c', value: "client", help: "Application name", required: true},
		}},
		{name: "create-csr", about: "Print a PEM certificate signing request (PKCS#10) signed by a key pair", run: runCreateCSR, args: []arg{
			keyNameArg("Signing key: an RSA key, or an ECC key on P-256 or P-384"),
			{long: "cn", value: "common-name", help: "Subject common name (CN)"},
			{long: "l", value: "locality", help: "Subject locality (L)"},
			{long: "o", value: "organization", help: "Subject organization (O)"},
			{long: "ou", value: "organizational-unit", help: "Subject organizational unit (OU)"},
			{long: "st", value: "state", help: "Subject state or province (ST)"},
			{long: "c", value: "country", help: "Subject country (C)"},
			{long: "serialNumber", value: "serial-number", help: "Subject serial number"},
			{long: "san", value: "subject-alternative-name", multiple: true, help: "DNS subject alternative name; may be repeated"},
		}},
	}
}

func runPing(e *env, _ *invocation) error {
	maj, min, err := e.c.Ping(e.ctx)
	if err != nil {
		return err
	}
	e.info("Service wire protocol version")
	fmt.Fprintf(e.stdout, "%d.%d\n", maj, min)
	return nil
}

func runListProviders(e *env, _ *invocation) error {
	provs, err := e.c.ListProviders(e.ctx)
	if err != nil {
		return err
	}
	e.info("Available providers:")
	for _, p := range provs {
		vendor := p.Vendor
		if vendor == "" {
			vendor = "Unspecified"
		}
		fmt.Fprintf(e.stdout, "ID: 0x%02x (%v)\nDescription: %s\nVersion: %v\nVendor: %s\nUUID: %s\n\n",
			uint8(p.ID), p.ID, p.Description, p.Version, vendor, p.UUID)
	}
	return nil
}

func runListAuthenticators(e *env, _ *invocation) error {
	auths, err := e.c.ListAuthenticators(e.ctx)
	if err != nil {
		return err
	}
	e.info("Available authenticators:")
	for _, a := range auths {
		fmt.Fprintf(e.stdout, "ID: 0x%02x (%v)\nDescription: %s\nVersion: %v\n\n", uint8(a.ID), a.ID, a.Description, a.Version)
	}
	return nil
}

func runListOpcodes(e *env, inv *invocation) error {
	p := e.c.Provider()
	if v, ok := inv.value("provider"); ok {
		n, _ := parseUint(v, 8) // validated by the parser
		p = wire.ProviderID(n)
		if !p.Valid() {
			return &wire.Error{Status: wire.StatusProviderDoesNotExist, Msg: fmt.Sprintf("no provider has ID %d", n)}
		}
	}
	ops, err := e.c.ListOpcodes(e.ctx, p)
	if err != nil {
		return err
	}
	e.info("Available opcodes for %v:", p)
	for _, o := range ops {
		fmt.Fprintf(e.stdout, "0x%02x (%v)\n", uint32(o), o)
	}
	return nil
}

func runListKeys(e *env, _ *invocation) error {
	keys, err := e.c.ListKeys(e.ctx)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		e.info("No keys currently available.")
		return nil
	}
	e.info("Available keys:")
	for _, k := range keys {
		fmt.Fprintf(e.stdout, "* %s (%v, %s, %d bits, permitted algorithm: %s)\n",
			k.Name, k.Provider, debugKeyType(k.Attributes.Type), k.Attributes.Bits, debugAlgorithm(k.Attributes.Alg))
	}
	return nil
}

func runListClients(e *env, _ *invocation) error {
	clients, err := e.c.ListClients(e.ctx)
	if err != nil {
		return err
	}
	if len(clients) == 0 {
		e.info("No clients in the service.")
		return nil
	}
	e.info("Parsec clients:")
	for _, c := range clients {
		fmt.Fprintln(e.stdout, c)
	}
	return nil
}

func runDeleteClient(e *env, inv *invocation) error {
	name, _ := inv.value("client")
	if err := e.c.DeleteClient(e.ctx, name); err != nil {
		return err
	}
	e.info("Client \"%s\" deleted.", name)
	return nil
}

func runGenerateRandom(e *env, inv *invocation) error {
	v, _ := inv.value("nbytes")
	n, _ := parseUint(v, 64) // validated by the parser
	if n > 1<<31 {
		return &wire.Error{Status: wire.StatusResponseTooLarge, Msg: fmt.Sprintf("%d bytes is more than a response can carry", n)}
	}
	e.info("Generating %d random bytes...", n)
	b, err := e.c.GenerateRandom(e.ctx, int(n))
	if err != nil {
		return err
	}
	e.info("Random bytes:")
	var s strings.Builder
	for _, x := range b {
		fmt.Fprintf(&s, "%02X ", x)
	}
	s.WriteByte('\n')
	_, err = io.WriteString(e.stdout, s.String())
	return err
}

func runCreateECCKey(e *env, inv *invocation) error {
	name, _ := inv.value("key-name")
	e.info("Creating ECC signing key...")
	if err := e.c.GenerateKey(e.ctx, name, client.ECCP256SigningKey()); err != nil {
		return err
	}
	e.info("Key \"%s\" created.", name)
	return nil
}

func runCreateRSAKey(e *env, inv *invocation) error {
	name, _ := inv.value("key-name")
	bits := uint64(2048)
	if v, ok := inv.value("bits"); ok {
		bits, _ = parseUint(v, 64) // validated by the parser
	}
	if bits > 1<<32-1 {
		return &wire.Error{Status: wire.StatusPsaErrorInvalidArgument, Msg: fmt.Sprintf("%d bits is not a key size", bits)}
	}
	var attrs psa.Attributes
	switch {
	case inv.flags["for-signing"]:
		e.info("Creating RSA signing key...")
		attrs = client.RSASigningKey(uint32(bits))
	case inv.flags["for-signing-pss"]:
		e.info("Creating RSA signing key with PSS scheme...")
		attrs = client.RSAPSSSigningKey(uint32(bits))
	case inv.flags["oaep"]:
		e.info("Creating RSA encryption key...")
		attrs = client.RSAOAEPKey(uint32(bits))
	default:
		e.info("Creating RSA encryption key...")
		attrs = client.RSAEncryptionKey(uint32(bits))
	}
	if err := e.c.GenerateKey(e.ctx, name, attrs); err != nil {
		if errors.Is(err, wire.StatusPsaErrorNotSupported) || errors.Is(err, wire.StatusPsaErrorInvalidArgument) {
			return &limitError{err: err, limit: fmt.Sprintf("Parsec's providers make RSA keys of 1024, 2048 or 4096 bits (a TPM may offer fewer sizes; see its provider's log); %d was asked", bits)}
		}
		return err
	}
	e.info("Key \"%s\" created.", name)
	return nil
}

func runDeleteKey(e *env, inv *invocation) error {
	name, _ := inv.value("key-name")
	e.info("Deleting a key...")
	if err := e.c.DestroyKey(e.ctx, name); err != nil {
		return err
	}
	e.info("Key \"%s\" deleted.", name)
	return nil
}

func runExportPublicKey(e *env, inv *invocation) error {
	name, _ := inv.value("key-name")
	data, err := e.c.ExportPublicKey(e.ctx, name)
	if err != nil {
		return err
	}
	attrs, err := e.c.KeyAttributes(e.ctx, name)
	if err != nil {
		return err
	}
	block := &pem.Block{Type: "PUBLIC KEY"}
	switch t := attrs.Type; {
	case t.IsRSA():
		if inv.flags["pkcs1"] {
			block.Type, block.Bytes = "RSA PUBLIC KEY", data
			break
		}
		if _, err := client.ParsePublicKey(attrs, data); err != nil {
			return e.fail(errIncorrectData, "Could not deserialise RSA key")
		}
		if block.Bytes, err = client.SubjectPublicKeyInfo(attrs, data); err != nil {
			return e.fail(errIncorrectData, "Could not serialise RSA key")
		}
	case t.IsECC():
		if inv.flags["pkcs1"] {
			return e.fail(errWrongKeyAlgorithm, "PKCS1 format doesn't support ECC keys")
		}
		if _, err := client.CurveOID(t.EccFamily(), attrs.Bits); err != nil {
			switch f := t.EccFamily(); f {
			case psa.EccSecpR1, psa.EccSecpK1, psa.EccSectK1, psa.EccSectR1:
				return e.fail(errNotSupported, "Unsupported number of bits %d for Ecc family \"%s\"", attrs.Bits, displayEccFamily(f))
			default:
				return e.fail(errNotSupported, "Unsupported Ecc family \"%s\"", displayEccFamily(f))
			}
		}
		if block.Bytes, err = client.SubjectPublicKeyInfo(attrs, data); err != nil {
			return e.fail(errIncorrectData, "Could not serialise ECC key")
		}
	default:
		return e.fail(errNotSupported, "Unsupported type of key")
	}
	_, err = e.stdout.Write(pem.EncodeToMemory(block))
	return err
}

func runEncrypt(e *env, inv *invocation) error {
	name, _ := inv.value("key-name")
	input, _ := inv.value("input-data")
	attrs, err := e.c.KeyAttributes(e.ctx, name)
	if err != nil {
		return err
	}
	alg := attrs.Alg
	switch {
	case alg.IsAsymEncrypt():
		e.info("Encrypting data with %s...", debugEncryption(alg))
	case alg.IsCipher() || alg.IsAEAD():
		return e.fail(errNotSupported, "Key's algorithm is %s which is not currently supported for encryption.", debugAlgorithm(alg))
	default:
		return e.fail(errWrongKeyAlgorithm, "Key's algorithm is %s which cannot be used for encryption.", debugAlgorithm(alg))
	}
	ct, err := e.c.AsymmetricEncrypt(e.ctx, name, alg, []byte(input), nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, base64.StdEncoding.EncodeToString(ct))
	return nil
}

func runDecrypt(e *env, inv *invocation) error {
	name, _ := inv.value("key-name")
	input, _ := inv.value("input-data")
	ct, err := decodeBase64(input)
	if err != nil {
		return err
	}
	attrs, err := e.c.KeyAttributes(e.ctx, name)
	if err != nil {
		return err
	}
	alg := attrs.Alg
	switch {
	case alg.IsAsymEncrypt():
		e.info("Decrypting data with %s...", debugEncryption(alg))
	case alg.IsCipher() || alg.IsAEAD():
		return e.fail(errNotSupported, "Key's algorithm is %s which is not currently supported for decryption.", debugAlgorithm(alg))
	default:
		return e.fail(errWrongKeyAlgorithm, "Key's algorithm is %s which can not be used for decryption.", debugAlgorithm(alg))
	}
	pt, err := e.c.AsymmetricDecrypt(e.ctx, name, alg, ct, nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, lossyUTF8(pt))
	return nil
}

// lossyUTF8 is Rust's String::from_utf8_lossy: each maximal invalid
// subsequence (a truncated character counts as one) becomes U+FFFD.
func lossyUTF8(b []byte) string {
	var s strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r != utf8.RuneError || n != 1 {
			s.Write(b[:n])
			b = b[n:]
			continue
		}
		s.WriteRune(utf8.RuneError)
		b = b[invalidPrefix(b):]
	}
	return s.String()
}

// invalidPrefix is the length of the maximal subpart of an ill-formed
// sequence at the start of b (Unicode 3.9, table 3-7): the lead byte plus
// the continuation bytes that could still have completed it.
func invalidPrefix(b []byte) int {
	lo, hi := byte(0x80), byte(0xBF)
	var need int
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for ; n <= need && n < len(b); n++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return n
}

// decodeBase64 accepts standard base64 with padding, as the Rust tool's
// base64 0.13 decoder does, and also without padding.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err == nil {
		return b, nil
	}
	if b, err2 := base64.RawStdEncoding.DecodeString(s); err2 == nil {
		return b, nil
	}
	var ce base64.CorruptInputError
	if errors.As(err, &ce) {
		return nil, fmt.Errorf("the input is not valid base64 (bad byte at offset %d); pass the ciphertext as printed by 'parsec-tool encrypt'", int64(ce))
	}
	return nil, fmt.Errorf("the input is not valid base64: %v", err)
}

func runSign(e *env, inv *invocation) error {
	name, _ := inv.value("key-name")
	input, _ := inv.value("input-data")
	sig, err := signWithPolicy(e, name, []byte(input), psa.AlgNone)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, base64.StdEncoding.EncodeToString(sig))
	return nil
}

// signWithPolicy hashes msg in the tool and signs the hash with the key's
// policy algorithm, the way the Rust tool does: only SHA-2 hashes, a
// wildcard policy needs defaultHash, ECDSA signatures are returned in DER.
func signWithPolicy(e *env, name string, msg []byte, defaultHash psa.Algorithm) ([]byte, error) {
	attrs, err := e.c.KeyAttributes(e.ctx, name)
	if err != nil {
		return nil, err
	}
	alg := attrs.Alg
	if !alg.IsSign() {
		return nil, e.fail(errWrongKeyAlgorithm, "Key's algorithm is %s which can not be used for signing.", debugAlgorithm(alg))
	}
	h := alg.HashAlg()
	switch h {
	case psa.AlgNone:
		return nil, e.fail(errNotSupported, "Asymmetric signing algorithm (%s) is not supported", debugSignature(alg))
	case psa.AlgAnyHash:
		if defaultHash == psa.AlgNone {
			return nil, e.fail(errNotSupported, "Signing key allows any hashing algorithm, but no default was specified.")
		}
		h = defaultHash
	}
	var digest []byte
	switch h {
	case psa.AlgSHA224:
		d := sha256.Sum224(msg)
		digest = d[:]
	case psa.AlgSHA256:
		d := sha256.Sum256(msg)
		digest = d[:]
	case psa.AlgSHA384:
		d := sha512.Sum384(msg)
		digest = d[:]
	case psa.AlgSHA512:
		d := sha512.Sum512(msg)
		digest = d[:]
	default:
		return nil, e.fail(errNotSupported, "Hashing algorithm (%s) not supported", debugHash(h))
	}
	e.utilInfo("Hashing data with %s...", debugHash(h))
	e.utilInfo("Signing data with %s...", debugSignature(alg))
	// The policy names the algorithm; with a wildcard hash the request
	// names the hash actually used.
	reqAlg := alg
	if alg.HashAlg() == psa.AlgAnyHash {
		reqAlg = withHash(alg, h)
	}
	sig, err := e.c.SignHash(e.ctx, name, reqAlg, digest)
	if err != nil {
		return nil, err
	}
	if alg.IsECDSA() {
		return client.ECDSASignatureToASN1(sig)
	}
	return sig, nil
}

func withHash(alg, h psa.Algorithm) psa.Algorithm {
	switch {
	case alg.IsRSAPKCS1v15Sign():
		return psa.RSAPKCS1v15Sign(h)
	case alg.IsRSAPSS():
		return psa.RSAPSS(h)
	case alg.IsDeterministicECDSA():
		return psa.DeterministicECDSA(h)
	case alg.IsECDSA():
		return psa.ECDSA(h)
	}
	return alg
}
