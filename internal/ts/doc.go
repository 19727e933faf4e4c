// Package ts is the client side of Arm Trusted Services as Parsec uses
// them: a Caller holds one session to a service (found by UUID across the
// TEE devices of package tee) with one shared buffer; on top of it Crypto
// speaks the crypto service in either encoding (packed-c, the main one,
// which also has hash, cipher, MAC, AEAD and key derivation; protobuf, for
// parity with Rust Parsec), Storage speaks ITS/PS and Attestation the
// attestation service.
//
// Status handling follows TS v1.0: the service status of a call is a
// psa_status_t (PSAStatus, an *Error); TS RPC statuses (RPCStatus) are
// hidden by the arm_tstee driver behind EINVAL. ParsecStatus turns any
// error from here into the Parsec response status.
package ts
