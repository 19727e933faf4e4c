package client

import (
	"context"
	"fmt"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// The PSA Crypto operations. Each goes to the client's provider (see
// Client.WithProvider) and names keys by the caller's key names; keys are
// persistent and private to the authenticated application.

// GenerateKey creates key name with attributes attrs. The templates in this
// package (ECCP256SigningKey, RSAEncryptionKey, ...) cover common cases.
func (c *Client) GenerateKey(ctx context.Context, name string, attrs psa.Attributes) error {
	a, err := psa.AttributesToProto(attrs)
	if err != nil {
		return fmt.Errorf("PsaGenerateKey %q: %w", name, err)
	}
	return c.crypto(ctx, wire.OpPsaGenerateKey, &pb.GenerateKeyRequest{KeyName: name, Attributes: a}, &pb.GenerateKeyResult{})
}

// ImportKey creates key name from data in the PSA export format of its type
// (e.g. DER RSAPublicKey/RSAPrivateKey, an uncompressed EC point or the
// private scalar, raw bytes for symmetric keys).
func (c *Client) ImportKey(ctx context.Context, name string, attrs psa.Attributes, data []byte) error {
	a, err := psa.AttributesToProto(attrs)
	if err != nil {
		return fmt.Errorf("PsaImportKey %q: %w", name, err)
	}
	return c.crypto(ctx, wire.OpPsaImportKey, &pb.ImportKeyRequest{KeyName: name, Attributes: a, Data: data}, &pb.ImportKeyResult{})
}

// DestroyKey deletes key name.
func (c *Client) DestroyKey(ctx context.Context, name string) error {
	return c.crypto(ctx, wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: name}, &pb.DestroyKeyResult{})
}

// ExportPublicKey returns the public part of key name in PSA format: DER
// RSAPublicKey (PKCS#1) for RSA, the uncompressed point for Weierstrass
// curves. SubjectPublicKeyInfo and PublicKey convert it.
func (c *Client) ExportPublicKey(ctx context.Context, name string) ([]byte, error) {
	var res pb.ExportPublicKeyResult
	if err := c.crypto(ctx, wire.OpPsaExportPublicKey, &pb.ExportPublicKeyRequest{KeyName: name}, &res); err != nil {
		return nil, err
	}
	return res.GetData(), nil
}

// ExportKey returns key name in PSA format; its policy must allow export.
func (c *Client) ExportKey(ctx context.Context, name string) ([]byte, error) {
	var res pb.ExportKeyResult
	if err := c.crypto(ctx, wire.OpPsaExportKey, &pb.ExportKeyRequest{KeyName: name}, &res); err != nil {
		return nil, err
	}
	return res.GetData(), nil
}

func signAlg(op wire.Opcode, alg psa.Algorithm) (*pb.Algorithm_AsymmetricSignature, error) {
	a, err := psa.SignToProto(alg)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	return a, nil
}

// SignHash signs hash, a digest made with alg's hash, using key name. ECDSA
// signatures come back in PSA's raw r||s form (see ECDSASignatureToASN1).
func (c *Client) SignHash(ctx context.Context, name string, alg psa.Algorithm, hash []byte) ([]byte, error) {
	a, err := signAlg(wire.OpPsaSignHash, alg)
	if err != nil {
		return nil, err
	}
	var res pb.SignHashResult
	if err := c.crypto(ctx, wire.OpPsaSignHash, &pb.SignHashRequest{KeyName: name, Alg: a, Hash: hash}, &res); err != nil {
		return nil, err
	}
	return res.GetSignature(), nil
}

// VerifyHash checks signature over hash with key name; a bad signature gives
// an error matching wire.StatusPsaErrorInvalidSignature.
func (c *Client) VerifyHash(ctx context.Context, name string, alg psa.Algorithm, hash, signature []byte) error {
	a, err := signAlg(wire.OpPsaVerifyHash, alg)
	if err != nil {
		return err
	}
	return c.crypto(ctx, wire.OpPsaVerifyHash, &pb.VerifyHashRequest{KeyName: name, Alg: a, Hash: hash, Signature: signature}, &pb.VerifyHashResult{})
}

// SignMessage hashes and signs message in the service.
func (c *Client) SignMessage(ctx context.Context, name string, alg psa.Algorithm, message []byte) ([]byte, error) {
	a, err := signAlg(wire.OpPsaSignMessage, alg)
	if err != nil {
		return nil, err
	}
	var res pb.SignMessageResult
	if err := c.crypto(ctx, wire.OpPsaSignMessage, &pb.SignMessageRequest{KeyName: name, Alg: a, Message: message}, &res); err != nil {
		return nil, err
	}
	return res.GetSignature(), nil
}

// VerifyMessage checks signature over message with key name.
func (c *Client) VerifyMessage(ctx context.Context, name string, alg psa.Algorithm, message, signature []byte) error {
	a, err := signAlg(wire.OpPsaVerifyMessage, alg)
	if err != nil {
		return err
	}
	return c.crypto(ctx, wire.OpPsaVerifyMessage, &pb.VerifyMessageRequest{KeyName: name, Alg: a, Message: message, Signature: signature}, &pb.VerifyMessageResult{})
}

func encAlg(op wire.Opcode, alg psa.Algorithm) (*pb.Algorithm_AsymmetricEncryption, error) {
	a, err := psa.AsymEncryptToProto(alg)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	return a, nil
}

// AsymmetricEncrypt encrypts plaintext with key name (RSA PKCS#1 v1.5 or
// OAEP). salt is the OAEP label and may be nil.
func (c *Client) AsymmetricEncrypt(ctx context.Context, name string, alg psa.Algorithm, plaintext, salt []byte) ([]byte, error) {
	a, err := encAlg(wire.OpPsaAsymmetricEncrypt, alg)
	if err != nil {
		return nil, err
	}
	var res pb.AsymmetricEncryptResult
	req := &pb.AsymmetricEncryptRequest{KeyName: name, Alg: a, Plaintext: plaintext, Salt: salt}
	if err := c.crypto(ctx, wire.OpPsaAsymmetricEncrypt, req, &res); err != nil {
		return nil, err
	}
	return res.GetCiphertext(), nil
}

// AsymmetricDecrypt decrypts ciphertext with key name.
func (c *Client) AsymmetricDecrypt(ctx context.Context, name string, alg psa.Algorithm, ciphertext, salt []byte) ([]byte, error) {
	a, err := encAlg(wire.OpPsaAsymmetricDecrypt, alg)
	if err != nil {
		return nil, err
	}
	var res pb.AsymmetricDecryptResult
	req := &pb.AsymmetricDecryptRequest{KeyName: name, Alg: a, Ciphertext: ciphertext, Salt: salt}
	if err := c.crypto(ctx, wire.OpPsaAsymmetricDecrypt, req, &res); err != nil {
		return nil, err
	}
	return res.GetPlaintext(), nil
}

// GenerateRandom returns n random bytes from the provider.
func (c *Client) GenerateRandom(ctx context.Context, n int) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("PsaGenerateRandom: negative size %d", n)
	}
	var res pb.GenerateRandomResult
	if err := c.crypto(ctx, wire.OpPsaGenerateRandom, &pb.GenerateRandomRequest{Size: uint64(n)}, &res); err != nil {
		return nil, err
	}
	if len(res.GetRandomBytes()) != n {
		return nil, fmt.Errorf("PsaGenerateRandom: asked for %d bytes, got %d", n, len(res.GetRandomBytes()))
	}
	return res.GetRandomBytes(), nil
}

func hashAlg(op wire.Opcode, alg psa.Algorithm) (pb.Algorithm_Hash, error) {
	h, err := psa.HashToProto(alg)
	if err != nil {
		return 0, fmt.Errorf("%v: %w", op, err)
	}
	return h, nil
}

// HashCompute hashes input with hash algorithm alg in the service.
func (c *Client) HashCompute(ctx context.Context, alg psa.Algorithm, input []byte) ([]byte, error) {
	h, err := hashAlg(wire.OpPsaHashCompute, alg)
	if err != nil {
		return nil, err
	}
	var res pb.HashComputeResult
	if err := c.crypto(ctx, wire.OpPsaHashCompute, &pb.HashComputeRequest{Alg: h, Input: input}, &res); err != nil {
		return nil, err
	}
	return res.GetHash(), nil
}

// HashCompare checks that hash is the alg digest of input; a mismatch gives
// an error matching wire.StatusPsaErrorInvalidSignature.
func (c *Client) HashCompare(ctx context.Context, alg psa.Algorithm, input, hash []byte) error {
	h, err := hashAlg(wire.OpPsaHashCompare, alg)
	if err != nil {
		return err
	}
	return c.crypto(ctx, wire.OpPsaHashCompare, &pb.HashCompareRequest{Alg: h, Input: input, Hash: hash}, &pb.HashCompareResult{})
}

func aeadAlg(op wire.Opcode, alg psa.Algorithm) (*pb.Algorithm_Aead, error) {
	a, err := psa.AEADToProto(alg)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	return a, nil
}

// AeadEncrypt encrypts and authenticates plaintext and additionalData; the
// result is the ciphertext followed by the tag.
func (c *Client) AeadEncrypt(ctx context.Context, name string, alg psa.Algorithm, nonce, additionalData, plaintext []byte) ([]byte, error) {
	a, err := aeadAlg(wire.OpPsaAeadEncrypt, alg)
	if err != nil {
		return nil, err
	}
	var res pb.AeadEncryptResult
	req := &pb.AeadEncryptRequest{KeyName: name, Alg: a, Nonce: nonce, AdditionalData: additionalData, Plaintext: plaintext}
	if err := c.crypto(ctx, wire.OpPsaAeadEncrypt, req, &res); err != nil {
		return nil, err
	}
	return res.GetCiphertext(), nil
}

// AeadDecrypt checks and decrypts ciphertext (with its tag appended).
func (c *Client) AeadDecrypt(ctx context.Context, name string, alg psa.Algorithm, nonce, additionalData, ciphertext []byte) ([]byte, error) {
	a, err := aeadAlg(wire.OpPsaAeadDecrypt, alg)
	if err != nil {
		return nil, err
	}
	var res pb.AeadDecryptResult
	req := &pb.AeadDecryptRequest{KeyName: name, Alg: a, Nonce: nonce, AdditionalData: additionalData, Ciphertext: ciphertext}
	if err := c.crypto(ctx, wire.OpPsaAeadDecrypt, req, &res); err != nil {
		return nil, err
	}
	return res.GetPlaintext(), nil
}

func cipherAlg(op wire.Opcode, alg psa.Algorithm) (pb.Algorithm_Cipher, error) {
	a, err := psa.CipherToProto(alg)
	if err != nil {
		return 0, fmt.Errorf("%v: %w", op, err)
	}
	return a, nil
}

// CipherEncrypt encrypts plaintext with an unauthenticated cipher; the IV,
// generated by the service, leads the result.
func (c *Client) CipherEncrypt(ctx context.Context, name string, alg psa.Algorithm, plaintext []byte) ([]byte, error) {
	a, err := cipherAlg(wire.OpPsaCipherEncrypt, alg)
	if err != nil {
		return nil, err
	}
	var res pb.CipherEncryptResult
	if err := c.crypto(ctx, wire.OpPsaCipherEncrypt, &pb.CipherEncryptRequest{KeyName: name, Alg: a, Plaintext: plaintext}, &res); err != nil {
		return nil, err
	}
	return res.GetCiphertext(), nil
}

// CipherDecrypt decrypts ciphertext (IV first) with an unauthenticated cipher.
func (c *Client) CipherDecrypt(ctx context.Context, name string, alg psa.Algorithm, ciphertext []byte) ([]byte, error) {
	a, err := cipherAlg(wire.OpPsaCipherDecrypt, alg)
	if err != nil {
		return nil, err
	}
	var res pb.CipherDecryptResult
	if err := c.crypto(ctx, wire.OpPsaCipherDecrypt, &pb.CipherDecryptRequest{KeyName: name, Alg: a, Ciphertext: ciphertext}, &res); err != nil {
		return nil, err
	}
	return res.GetPlaintext(), nil
}

func macAlg(op wire.Opcode, alg psa.Algorithm) (*pb.Algorithm_Mac, error) {
	a, err := psa.MACToProto(alg)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	return a, nil
}

// MacCompute computes a MAC of input. The Rust Parsec service does not
// implement the MAC operations (it answers OpcodeDoesNotExist).
func (c *Client) MacCompute(ctx context.Context, name string, alg psa.Algorithm, input []byte) ([]byte, error) {
	a, err := macAlg(wire.OpPsaMacCompute, alg)
	if err != nil {
		return nil, err
	}
	var res pb.MacComputeResult
	if err := c.crypto(ctx, wire.OpPsaMacCompute, &pb.MacComputeRequest{KeyName: name, Alg: a, Input: input}, &res); err != nil {
		return nil, err
	}
	return res.GetMac(), nil
}

// MacVerify checks mac over input; a mismatch gives an error matching
// wire.StatusPsaErrorInvalidSignature.
func (c *Client) MacVerify(ctx context.Context, name string, alg psa.Algorithm, input, mac []byte) error {
	a, err := macAlg(wire.OpPsaMacVerify, alg)
	if err != nil {
		return err
	}
	return c.crypto(ctx, wire.OpPsaMacVerify, &pb.MacVerifyRequest{KeyName: name, Alg: a, Input: input, Mac: mac}, &pb.MacVerifyResult{})
}

// RawKeyAgreement computes the shared secret of private key privateKeyName
// and peerKey (in public key export format) with psa.AlgECDH or psa.AlgFFDH.
func (c *Client) RawKeyAgreement(ctx context.Context, alg psa.Algorithm, privateKeyName string, peerKey []byte) ([]byte, error) {
	a, err := psa.RawKeyAgreementToProto(alg)
	if err != nil {
		return nil, fmt.Errorf("PsaRawKeyAgreement: %w", err)
	}
	var res pb.RawKeyAgreementResult
	req := &pb.RawKeyAgreementRequest{Alg: a, PrivateKeyName: privateKeyName, PeerKey: peerKey}
	if err := c.crypto(ctx, wire.OpPsaRawKeyAgreement, req, &res); err != nil {
		return nil, err
	}
	return res.GetSharedSecret(), nil
}

// CheckType says what CanDoCrypto should check.
type CheckType int32

// CanDoCrypto checks (the protocol's CheckType values).
const (
	CheckUse      CheckType = 1 // a key with these attributes can be used
	CheckGenerate CheckType = 2 // such a key can be generated
	CheckImport   CheckType = 3 // such a key can be imported
	CheckDerive   CheckType = 4 // such a key can be derived
)

// CanDoCrypto asks whether the provider supports attrs for check. It
// returns nil if so, an error matching wire.StatusPsaErrorNotSupported if
// not. Experimental in Parsec.
func (c *Client) CanDoCrypto(ctx context.Context, check CheckType, attrs psa.Attributes) error {
	a, err := psa.AttributesToProto(attrs)
	if err != nil {
		return fmt.Errorf("CanDoCrypto: %w", err)
	}
	return c.crypto(ctx, wire.OpCanDoCrypto, &pb.CanDoCryptoRequest{CheckType: pb.CheckType(check), Attributes: a}, &pb.CanDoCryptoResult{})
}

// ActivateCredentialPrep is what PrepareActivateCredential returns: the
// TPM names and public areas needed to build a credential blob
// (TPM2_MakeCredential) for the attested key.
type ActivateCredentialPrep struct {
	Name            []byte // TPM name of the attested key
	Public          []byte // TPM2B_PUBLIC of the attested key
	AttestingKeyPub []byte // public area of the attesting key (the endorsement key by default)
}

// PrepareActivateCredential prepares TPM ActivateCredential attestation of
// attestedKey by attestingKey ("" selects the provider's default, the
// endorsement key). Experimental in Parsec; TPM provider only.
func (c *Client) PrepareActivateCredential(ctx context.Context, attestedKey, attestingKey string) (ActivateCredentialPrep, error) {
	req := &pb.PrepareKeyAttestationRequest{Parameters: &pb.PrepareKeyAttestationParams{
		Mechanism: &pb.PrepareKeyAttestationParams_ActivateCredential_{ActivateCredential: &pb.PrepareKeyAttestationParams_ActivateCredential{
			AttestedKeyName: attestedKey, AttestingKeyName: attestingKey,
		}},
	}}
	var res pb.PrepareKeyAttestationResult
	if err := c.crypto(ctx, wire.OpPrepareKeyAttestation, req, &res); err != nil {
		return ActivateCredentialPrep{}, err
	}
	ac := res.GetOutput().GetActivateCredential()
	if ac == nil {
		return ActivateCredentialPrep{}, fmt.Errorf("PrepareKeyAttestation: the response has no ActivateCredential output")
	}
	return ActivateCredentialPrep{Name: ac.GetName(), Public: ac.GetPublic(), AttestingKeyPub: ac.GetAttestingKeyPub()}, nil
}

// AttestActivateCredential runs TPM ActivateCredential attestation: it
// decrypts credentialBlob/secret (made with TPM2_MakeCredential from what
// PrepareActivateCredential returned) and returns the credential, proving
// that attestedKey lives in the same TPM as attestingKey.
func (c *Client) AttestActivateCredential(ctx context.Context, attestedKey, attestingKey string, credentialBlob, secret []byte) ([]byte, error) {
	req := &pb.AttestKeyRequest{
		AttestedKeyName:  attestedKey,
		AttestingKeyName: attestingKey,
		Parameters: &pb.AttestationMechanismParams{Mechanism: &pb.AttestationMechanismParams_ActivateCredential_{
			ActivateCredential: &pb.AttestationMechanismParams_ActivateCredential{CredentialBlob: credentialBlob, Secret: secret},
		}},
	}
	var res pb.AttestKeyResult
	if err := c.crypto(ctx, wire.OpAttestKey, req, &res); err != nil {
		return nil, err
	}
	ac := res.GetOutput().GetActivateCredential()
	if ac == nil {
		return nil, fmt.Errorf("AttestKey: the response has no ActivateCredential output")
	}
	return ac.GetCredential(), nil
}
