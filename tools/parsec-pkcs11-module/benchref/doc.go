// Package benchref holds the Go client side of the PKCS#11 module's
// benchmark (scripts/pkcs11-module-tests.sh --bench): BenchmarkClientSignP256
// signs through the Go client library what the module's C_Sign benchmark
// signs through libparsec-pkcs11.so, so the two rates compare in one run.
// The module itself is C (the parent directory); nothing here is linked
// into it.
package benchref
