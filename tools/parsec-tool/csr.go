package main

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/psa"
)

// csrSignatureAlgorithm maps a key's policy to the X.509 signature
// algorithm of its CSR, with the Rust tool's rules: RSA PKCS#1 v1.5 with
// SHA-256/384/512, RSA-PSS with SHA-256/384 (newer upstream), ECDSA on P-256
// with SHA-256 or P-384 with SHA-384; a wildcard hash means SHA-256.
func csrSignatureAlgorithm(e *env, attrs psa.Attributes) (x509.SignatureAlgorithm, error) {
	alg := attrs.Alg
	if !alg.IsSign() {
		return 0, e.fail(errWrongKeyAlgorithm, "Specified key is not an asymmetric signing key, which is needed for certificate requests.")
	}
	h := alg.HashAlg()
	unsupportedHash := func() (x509.SignatureAlgorithm, error) {
		return 0, e.fail(errNotSupported, "Signing key requires use of hashing algorithm (%s), which is not supported for certificate requests.", debugSignature(alg))
	}
	switch {
	case alg == psa.AlgRSAPKCS1v15SignRaw:
		return 0, e.fail(errNotSupported, "Signing key specifies raw signing only, which is not supported for certificate requests.")
	case alg.IsRSAPKCS1v15Sign():
		switch h {
		case psa.AlgSHA256, psa.AlgAnyHash:
			return x509.SHA256WithRSA, nil
		case psa.AlgSHA384:
			return x509.SHA384WithRSA, nil
		case psa.AlgSHA512:
			return x509.SHA512WithRSA, nil
		}
		return unsupportedHash()
	case alg.IsRSAPSS():
		switch h {
		case psa.AlgSHA256, psa.AlgAnyHash:
			return x509.SHA256WithRSAPSS, nil
		case psa.AlgSHA384:
			return x509.SHA384WithRSAPSS, nil
		}
		return unsupportedHash()
	case alg.IsECDSA() && !alg.IsDeterministicECDSA() && alg != psa.AlgECDSAAny:
		if attrs.Type != psa.ECCKeyPair(psa.EccSecpR1) {
			return 0, e.fail(errNotSupported, "Signing key must use curve family SecpR1 for certificate requests.")
		}
		switch h {
		case psa.AlgSHA256:
			if attrs.Bits != 256 {
				return 0, e.fail(errNotSupported, "Signing key should have strength 256, but actually has strength %d.", attrs.Bits)
			}
			return x509.ECDSAWithSHA256, nil
		case psa.AlgSHA384:
			if attrs.Bits != 384 {
				return 0, e.fail(errNotSupported, "Signing key should have strength 384, but actually has strength %d.", attrs.Bits)
			}
			return x509.ECDSAWithSHA384, nil
		case psa.AlgAnyHash:
			if attrs.Bits != 256 {
				return 0, e.fail(errNotSupported, "Signing keys of strength other than 256-bit not supported without specific hash algorithm.")
			}
			return x509.ECDSAWithSHA256, nil
		}
		return unsupportedHash()
	}
	return 0, e.fail(errNotSupported, "The specified key is not supported for certificate requests.")
}

// serviceSigner signs the CSR in the service: crypto/x509 hashes the
// request and hands over the digest.
type serviceSigner struct {
	e     *env
	name  string
	attrs psa.Attributes
	pub   crypto.PublicKey
}

func (s *serviceSigner) Public() crypto.PublicKey { return s.pub }

func (s *serviceSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	alg, err := client.SignatureAlgorithm(s.attrs.Alg, opts)
	if err != nil {
		return nil, err
	}
	s.e.utilInfo("Hashing data with %s...", debugHash(alg.HashAlg()))
	s.e.utilInfo("Signing data with %s...", debugSignature(s.attrs.Alg))
	sig, err := s.e.c.SignHash(s.e.ctx, s.name, alg, digest)
	if err != nil {
		return nil, err
	}
	if alg.IsECDSA() {
		return client.ECDSASignatureToASN1(sig)
	}
	return sig, nil
}

// The subject attributes in the order the Rust tool writes them, each in its
// own RDN and as a UTF8String.
var csrSubjectFields = [...]struct {
	flag string
	oid  asn1.ObjectIdentifier
}{
	{"cn", asn1.ObjectIdentifier{2, 5, 4, 3}},
	{"ou", asn1.ObjectIdentifier{2, 5, 4, 11}},
	{"o", asn1.ObjectIdentifier{2, 5, 4, 10}},
	{"l", asn1.ObjectIdentifier{2, 5, 4, 7}},
	{"st", asn1.ObjectIdentifier{2, 5, 4, 8}},
	{"c", asn1.ObjectIdentifier{2, 5, 4, 6}},
	{"serialNumber", asn1.ObjectIdentifier{2, 5, 4, 5}},
}

func csrSubject(inv *invocation) ([]byte, error) {
	rdns := pkix.RDNSequence{}
	for _, f := range csrSubjectFields {
		v, ok := inv.value(f.flag)
		if !ok {
			continue
		}
		rdns = append(rdns, pkix.RelativeDistinguishedNameSET{{
			Type:  f.oid,
			Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(v)},
		}})
	}
	return asn1.Marshal(rdns)
}

func runCreateCSR(e *env, inv *invocation) error {
	name, _ := inv.value("key-name")
	data, err := e.c.ExportPublicKey(e.ctx, name)
	if err != nil {
		return err
	}
	attrs, err := e.c.KeyAttributes(e.ctx, name)
	if err != nil {
		return err
	}
	sigAlg, err := csrSignatureAlgorithm(e, attrs)
	if err != nil {
		return err
	}
	pub, err := client.ParsePublicKey(attrs, data)
	if err != nil {
		return err
	}
	subject, err := csrSubject(inv)
	if err != nil {
		return err
	}
	tmpl := &x509.CertificateRequest{
		RawSubject:         subject,
		DNSNames:           inv.values["san"],
		SignatureAlgorithm: sigAlg,
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, &serviceSigner{e: e, name: name, attrs: attrs, pub: pub})
	if err != nil {
		return fmt.Errorf("building the certificate request: %w", err)
	}
	// Only about a request actually made, so errors stay one line.
	if cn, ok := inv.value("cn"); !ok || cn == "" {
		e.log.log(e.module, levelWarn, "no --cn given: the request's subject has no common name, which most certificate authorities require")
	}
	_, err = fmt.Fprintln(e.stdout, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})))
	return err
}
