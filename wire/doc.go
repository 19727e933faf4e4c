// Package wire holds the Parsec wire protocol 1.0 as both the service and the
// client see it: the fixed 36-byte header, the status codes, the opcodes, the
// provider and authenticator identifiers. Request and response bodies are
// protobuf messages generated into the pb subpackage.
package wire
