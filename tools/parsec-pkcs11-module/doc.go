// Command parsec-pkcs11-module is libparsec-pkcs11.so, a PKCS#11 module that
// forwards to the Parsec service through the Go client library, so that
// every PKCS#11 application (OpenSSL, GnuTLS, p11-kit, curl, ...) can use
// the keys the service holds, with Parsec's per-application isolation.
//
// Build it with scripts/build-pkcs11-module.sh OUTPUT_PATH (cgo,
// -buildmode=c-shared). Without cgo this package is an empty program, so
// that CGO_ENABLED=0 builds of the whole module keep working; the daemon
// and parsec-tool never link it.
//
// Model (see the README section "PKCS#11 module"):
//   - one slot and token per provider of the service, in the service's
//     order; slot id = Parsec provider id, token label = the provider's
//     default name (e.g. mbed-crypto-provider);
//   - the objects of a token are the calling application's keys in that
//     provider: a key pair is a private and a public key object, a public
//     key a public key object; CKA_LABEL is the key name;
//   - CKA_ID is the id given at generation, kept in the key name as the
//     suffix "#id=<hex>" (CKA_LABEL is then the name without it); a key
//     without that suffix has CKA_ID = the first 16 bytes of
//     SHA-256("parsec-pkcs11 key id:" + name), stable across restarts.
package main

// main is never called: the package is built with -buildmode=c-shared.
func main() {}
