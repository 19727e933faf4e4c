// Package psa models PSA Crypto API key types, algorithms and usage flags
// with their numeric encodings from the PSA Certified Crypto API
// (psa_key_type_t, psa_algorithm_t, psa_key_usage_t). The numeric form is
// compact, totally ordered and identical to what secure-world services and
// hardware expect, so providers, the key info manager and the client share
// it; conversion to and from Parsec's protobuf model lives in proto.go.
package psa
