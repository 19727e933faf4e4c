// Package link is the private connection between the daemon and the
// PKCS#11 co-server (parsec-pkcs11): Parsec's own wire protocol over a Unix
// socket that only the service user can open, one request per connection.
//
// The daemon keeps the key info manager and the PSA policy; the co-server
// only knows token objects. So a request forwarded to the co-server names
// a key by its token id (KeyName), never by the client's key name, and
// carries no authentication: the socket's 0600 mode is the only gate, and
// the co-server still checks every byte it reads as the daemon does for
// clients (ReadRequest).
package link

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/parsec-go/parsec/service/dispatch"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// MaxBody bounds a request or response body on the link. Parsec's own
// default body limit is 1 MiB; RSA ciphertexts and random buffers stay
// well below.
const MaxBody = 1 << 20

// keyPrefix marks a key name on the link as a token key id.
const keyPrefix = "cka_id:"

// KeyName is the name under which a key with Rust-format id id travels on
// the link: its CKA_ID on the token (the id big-endian) in hex.
func KeyName(id uint32) string {
	return keyPrefix + hex.EncodeToString(binary.BigEndian.AppendUint32(nil, id))
}

// ParseKeyName is KeyName's inverse; anything else is InvalidArgument.
func ParseKeyName(s string) (uint32, error) {
	h, ok := strings.CutPrefix(s, keyPrefix)
	if !ok || len(h) != 8 {
		return 0, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key name %q is not a token key id", s)
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return 0, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "key name %q is not a token key id", s)
	}
	return binary.BigEndian.Uint32(b), nil
}

// Call sends one request to the co-server at socket and returns its
// result. Every failure of the link itself (no co-server, connection
// lost mid-request, deadline passed, malformed answer) is
// PsaErrorCommunicationFailure; an error status from the co-server comes
// back as that status.
func Call(ctx context.Context, socket string, op wire.Opcode, req protomsg.Message) (protomsg.Message, error) {
	body, err := protomsg.Marshal(req)
	if err != nil {
		return nil, wire.Errorf(wire.StatusSerializingBodyFailed, "encoding %v for the co-server: %v", op, err)
	}
	fail := func(format string, args ...any) error {
		return wire.Errorf(wire.StatusPsaErrorCommunicationFailure, "PKCS#11 co-server: "+format, args...)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fail("connecting to %s: %v", socket, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	// Closing the connection when ctx ends unblocks a read the deadline
	// does not cover (a cancelled client).
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	h := wire.Header{Provider: wire.ProviderPkcs11, AuthType: wire.AuthNone, BodyLen: uint32(len(body)), Opcode: op}
	out := h.Marshal(make([]byte, 0, wire.HeaderSize+len(body)))
	if _, err := c.Write(append(out, body...)); err != nil {
		return nil, fail("sending %v: %v", op, err)
	}
	rh, err := wire.ReadHeader(c)
	if err != nil {
		return nil, fail("reading the answer to %v: %v", op, err)
	}
	if rh.BodyLen > MaxBody {
		return nil, fail("answer of %d bytes to %v exceeds %d", rh.BodyLen, op, MaxBody)
	}
	rb := make([]byte, rh.BodyLen)
	if _, err := io.ReadFull(c, rb); err != nil {
		return nil, fail("reading the answer to %v: %v", op, err)
	}
	if rh.Opcode != op {
		return nil, fail("answer is for %v, not %v", rh.Opcode, op)
	}
	if rh.Status != wire.StatusSuccess {
		return nil, wire.Errorf(rh.Status, "PKCS#11 co-server answered %v", rh.Status)
	}
	res := pb.NewResult(op)
	if res == nil {
		return nil, fail("no result type for %v", op)
	}
	if err := protomsg.Unmarshal(rb, res); err != nil {
		return nil, fail("decoding the answer to %v: %v", op, err)
	}
	return res, nil
}

// Backend executes decoded requests on the token (the co-server's side).
type Backend interface {
	Execute(ctx context.Context, op wire.Opcode, req protomsg.Message) (protomsg.Message, error)
}

// Opcodes are the operations the co-server serves.
var Opcodes = []wire.Opcode{
	wire.OpPsaGenerateKey, wire.OpPsaDestroyKey, wire.OpPsaSignHash, wire.OpPsaVerifyHash,
	wire.OpPsaImportKey, wire.OpPsaExportPublicKey, wire.OpPsaAsymmetricDecrypt,
	wire.OpPsaAsymmetricEncrypt, wire.OpCanDoCrypto, wire.OpPsaGenerateRandom,
}

func served(op wire.Opcode) bool {
	for _, o := range Opcodes {
		if o == op {
			return true
		}
	}
	return op == wire.OpPing
}

// ReadRequest reads and decodes one request as the co-server must: any
// framing error, a provider other than PKCS#11, an authenticated request,
// an opcode the co-server does not serve or a body that does not decode
// is an error carrying the status to answer. It never panics on input.
func ReadRequest(r io.Reader) (wire.Header, protomsg.Message, error) {
	h, err := wire.ReadHeader(r)
	if err != nil {
		return h, nil, err
	}
	if h.BodyLen > MaxBody {
		return h, nil, wire.Errorf(wire.StatusBodySizeExceedsLimit, "body of %d bytes exceeds %d", h.BodyLen, MaxBody)
	}
	buf := make([]byte, int(h.BodyLen)+int(h.AuthLen))
	if _, err := io.ReadFull(r, buf); err != nil {
		return h, nil, wire.Errorf(wire.StatusConnectionError, "reading body: %v", err)
	}
	if err := h.Validate(); err != nil {
		return h, nil, err
	}
	if h.Provider != wire.ProviderPkcs11 && !(h.Provider == wire.ProviderCore && h.Opcode == wire.OpPing) {
		return h, nil, wire.Errorf(wire.StatusWrongProviderID, "the co-server serves only %v", wire.ProviderPkcs11)
	}
	if h.AuthType != wire.AuthNone || h.AuthLen != 0 {
		return h, nil, wire.Errorf(wire.StatusAuthenticatorNotRegistered, "the co-server takes no authentication")
	}
	if !served(h.Opcode) {
		return h, nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "the co-server does not serve %v", h.Opcode)
	}
	req, err := dispatch.Decode(h.Opcode, buf[:h.BodyLen])
	if err != nil {
		return h, nil, err
	}
	return h, req.Msg, nil
}

// Serve answers the one request on c and closes it. timeout bounds the
// whole request: reading, the token call's wait for a session, writing.
func Serve(ctx context.Context, c net.Conn, b Backend, timeout time.Duration) (wire.Opcode, error) {
	defer c.Close()
	dl := time.Now().Add(timeout)
	c.SetDeadline(dl)
	ctx, cancel := context.WithDeadline(ctx, dl)
	defer cancel()
	h, req, err := ReadRequest(c)
	var res protomsg.Message
	if err == nil {
		if h.Opcode == wire.OpPing {
			res = &pb.PingResult{WireProtocolVersionMaj: uint32(wire.VersionMajor), WireProtocolVersionMin: uint32(wire.VersionMinor)}
		} else {
			res, err = b.Execute(ctx, h.Opcode, req)
		}
	}
	var body []byte
	if err == nil {
		if body, err = protomsg.Marshal(res); err != nil {
			err = wire.Errorf(wire.StatusSerializingBodyFailed, "encoding %v result: %v", h.Opcode, err)
		}
	}
	rh := wire.Header{Provider: h.Provider, Opcode: h.Opcode}
	if err != nil {
		rh.Status = wire.StatusOf(err, wire.StatusPsaErrorGenericError)
		body = nil
	}
	rh.BodyLen = uint32(len(body))
	out := rh.Marshal(make([]byte, 0, wire.HeaderSize+len(body)))
	if _, werr := c.Write(append(out, body...)); werr != nil && !errors.Is(werr, os.ErrClosed) && err == nil {
		err = fmt.Errorf("writing the answer: %w", werr)
	}
	return h.Opcode, err
}
