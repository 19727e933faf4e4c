// Package client is a Go client of the Parsec service: it speaks Parsec's
// wire protocol to the service's Unix socket and exposes every operation of
// the PSA Crypto API that Parsec carries, with keys named by strings and
// kept by the service.
//
// # Connecting
//
// New finds the service through PARSEC_SERVICE_ENDPOINT (a URI such as
// unix:/run/parsec/parsec.sock; that is the default) and configures itself
// as Parsec's own clients do: the default crypto provider is the first one
// the service lists, the authenticator the first one it lists that this
// client can use (Unix peer credentials; Direct with WithAppName; JWT-SVID
// with WithJWTSVIDSource). Options override the endpoint, the timeout, the
// provider and the authenticator. NewNaked skips the discovery for the
// operations that need no identity (Ping, ListProviders, ListOpcodes,
// ListAuthenticators).
//
// Every operation opens its own connection, as the service answers one
// request per connection. Contexts bound each operation; without a deadline
// the client's timeout applies (DefaultTimeout, 60 s, like the Rust client).
//
// # Keys and algorithms
//
// Key attributes, policies and algorithms are the numeric PSA Crypto model
// of package psa: psa.Attributes{Type, Bits, Usage, Alg} and constructors
// such as psa.ECDSA(psa.AlgSHA256). Templates cover the common cases
// (ECCP256SigningKey, RSASigningKey, RSAEncryptionKey, AESGCMKey, ...);
// they return plain attributes that can be adjusted before use.
//
// Signing a hash takes a few lines:
//
//	c, err := client.New(ctx)
//	if err != nil {
//		return err
//	}
//	if err := c.GenerateKey(ctx, "my-key", client.ECCP256SigningKey()); err != nil {
//		return err
//	}
//	digest := sha256.Sum256(message)
//	sig, err := c.SignHash(ctx, "my-key", psa.ECDSA(psa.AlgSHA256), digest[:])
//
// ECDSA signatures come back as r||s, the PSA format; ECDSASignatureToASN1
// converts them to DER. Client.Signer and Client.Decrypter wrap a key as a
// crypto.Signer or crypto.Decrypter for crypto/x509, crypto/tls and friends,
// and Client.PublicKey returns the public key as a Go value.
//
// # Errors
//
// When the service answers with an error status, operations return a
// *wire.Error carrying it; errors.Is matches it against the bare status:
//
//	if errors.Is(err, wire.StatusPsaErrorDoesNotExist) { ... }
//
// A key the caller does not own is always a *KeyNotFoundError naming it,
// whether the service said so or KeyAttributes found no such key; it
// matches both ErrKeyNotFound and wire.StatusPsaErrorDoesNotExist.
//
// Failures before the service answers wrap ErrServiceUnreachable (no socket,
// nobody listening), context.DeadlineExceeded or context.Canceled, or one of
// the other Err* values of this package.
package client
