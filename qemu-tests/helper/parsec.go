package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// ping sends one Ping to the core provider with no authentication, as any
// client does before it knows which authenticator the service runs.
func ping(sock string, timeout time.Duration) (maj, min uint32, err error) {
	return pingPadded(sock, timeout, 0)
}

// pingPadded pads the Ping body with an unknown protobuf field of pad bytes,
// which a service must skip; it makes the body as large as a test needs
// (e.g. to cross body_len_limit) while staying a valid request.
func pingPadded(sock string, timeout time.Duration, pad int) (maj, min uint32, err error) {
	c, err := net.DialTimeout("unix", sock, timeout)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	body, err := protomsg.Marshal(&pb.PingRequest{})
	if err != nil {
		return 0, 0, err
	}
	if pad > 0 {
		body = protowire.AppendTag(body, 15, protowire.BytesType)
		body = protowire.AppendBytes(body, make([]byte, pad))
	}
	h := wire.Header{Provider: wire.ProviderCore, Opcode: wire.OpPing, AuthType: wire.AuthNone, BodyLen: uint32(len(body))}
	if _, err := c.Write(append(h.Marshal(nil), body...)); err != nil {
		return 0, 0, fmt.Errorf("sending ping: %w", err)
	}
	rh, err := wire.ReadHeader(c)
	if err != nil {
		return 0, 0, fmt.Errorf("reading ping response header: %w", err)
	}
	if rh.Status != wire.StatusSuccess {
		return 0, 0, fmt.Errorf("ping answered with status %v", rh.Status)
	}
	if rh.Opcode != wire.OpPing {
		return 0, 0, fmt.Errorf("ping answered with opcode %#x", uint32(rh.Opcode))
	}
	rb := make([]byte, rh.BodyLen)
	if _, err := io.ReadFull(c, rb); err != nil {
		return 0, 0, fmt.Errorf("reading ping response body: %w", err)
	}
	var res pb.PingResult
	if err := protomsg.Unmarshal(rb, &res); err != nil {
		return 0, 0, fmt.Errorf("decoding ping response: %w", err)
	}
	return res.WireProtocolVersionMaj, res.WireProtocolVersionMin, nil
}

// malformed builds one bad request of the given kind. Each kind breaks a
// different rule of the framing or the body, so the burst walks through the
// service's rejection paths rather than one of them many times.
func malformed(kind int, r *rand.Rand) (data []byte, name string) {
	valid := func(h wire.Header) []byte { return h.Marshal(nil) }
	base := wire.Header{Provider: wire.ProviderCore, Opcode: wire.OpPing, AuthType: wire.AuthNone}
	switch kind {
	case 0:
		b := make([]byte, r.Intn(200))
		r.Read(b)
		return b, "random bytes"
	case 1:
		b := valid(base)
		binary.LittleEndian.PutUint32(b, 0xdeadbeef)
		return b, "bad magic"
	case 2:
		b := valid(base)
		binary.LittleEndian.PutUint16(b[4:], 7)
		return b, "wrong header size"
	case 3:
		b := valid(base)
		b[6] = 9
		return b, "wire version 9.0"
	case 4:
		h := base
		h.BodyLen = 0xffffffff
		return valid(h), "body length 4 GiB"
	case 5:
		h := base
		h.Opcode = 0xdead
		return valid(h), "unknown opcode"
	case 6:
		h := base
		h.Provider = 200
		return valid(h), "unknown provider"
	case 7:
		h := base
		h.BodyLen = 100
		return append(valid(h), make([]byte, 10)...), "truncated body"
	case 8:
		// a crypto operation with a protobuf body that does not decode and
		// peer-credential auth whose auth field is garbage
		h := wire.Header{Provider: wire.ProviderMbedCrypto, Opcode: wire.Opcode(0x02), AuthType: wire.AuthUnixPeerCredentials, BodyLen: 16, AuthLen: 3}
		b := valid(h)
		junk := make([]byte, 19)
		r.Read(junk)
		return append(b, junk...), "garbage body and auth"
	case 9:
		return valid(base)[:10], "truncated header"
	case 10:
		h := base
		h.AuthLen = 0xffff
		return valid(h), "auth length 64 KiB, absent"
	case 11:
		b := valid(base)
		b[34] = 1
		return b, "reserved bytes set"
	case 12:
		h := base
		h.ContentType = 7
		return valid(h), "content type 7"
	default:
		return nil, "connect and close"
	}
}

const malformedKinds = 14

type burstStats struct {
	sent, answered, closed, unexpectedOK int
	failures                             []string
}

func (s burstStats) String() string {
	return fmt.Sprintf("sent=%d answered-with-error=%d closed-without-answer=%d answered-success=%d",
		s.sent, s.answered, s.closed, s.unexpectedOK)
}

// burst sends n malformed requests over `workers` concurrent connections and
// then checks that the service still answers a well-formed ping. A success
// status for a malformed request also counts as a failure: it means the
// service accepted something it should have rejected.
func burst(sock string, n, workers int) (burstStats, error) {
	var (
		mu sync.Mutex
		st burstStats
		wg sync.WaitGroup
	)
	jobs := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			r := rand.New(rand.NewSource(seed))
			for i := range jobs {
				data, name := malformed(i%malformedKinds, r)
				outcome, err := sendMalformed(sock, data)
				mu.Lock()
				st.sent++
				switch {
				case err != nil:
					if len(st.failures) < 5 {
						st.failures = append(st.failures, fmt.Sprintf("%s: %v", name, err))
					}
				case outcome == "answered":
					st.answered++
				case outcome == "success":
					st.unexpectedOK++
					if len(st.failures) < 5 {
						st.failures = append(st.failures, name+": answered with success")
					}
				default:
					st.closed++
				}
				mu.Unlock()
			}
		}(time.Now().UnixNano() + int64(w))
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	var errs []error
	for _, f := range st.failures {
		errs = append(errs, errors.New(f))
	}
	if _, _, err := ping(sock, 5*time.Second); err != nil {
		errs = append(errs, fmt.Errorf("service did not answer a ping after the burst: %w", err))
	}
	return st, errors.Join(errs...)
}

// sendMalformed writes data, half-closes, and reads what comes back within a
// short deadline. Being unable to connect is an error (the service must keep
// accepting); a reset or silent close is a legitimate way to reject.
func sendMalformed(sock string, data []byte) (string, error) {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if len(data) > 0 {
		c.Write(data) // the service may close before reading it all
	}
	c.(*net.UnixConn).CloseWrite()
	h, err := wire.ReadHeader(c)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "", fmt.Errorf("no answer and no close within 3s")
		}
		return "closed", nil
	}
	if h.Status == wire.StatusSuccess {
		return "success", nil
	}
	return "answered", nil
}
