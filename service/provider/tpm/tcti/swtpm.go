package tcti

import (
	"io"
	"net"
	"time"
)

// swtpm speaks raw TPM commands on its data channel. swtpm serves one
// connection at a time, so a connection per command (what the TSS swtpm
// TCTI does) keeps other clients of the same instance from being locked
// out; the cost is one loopback connect per command.
type swtpm struct {
	cfg Config
}

func (s *swtpm) dial() (net.Conn, error) {
	if s.cfg.Path != "" {
		c, err := net.DialTimeout("unix", s.cfg.Path, dialTimeout)
		if err != nil {
			return nil, transportErr("connecting to swtpm at %s: %v", s.cfg.Path, err)
		}
		return c, nil
	}
	c, err := net.DialTimeout("tcp", s.cfg.addr(), dialTimeout)
	if err != nil {
		return nil, transportErr("connecting to swtpm at %s: %v", s.cfg.addr(), err)
	}
	return c, nil
}

func (s *swtpm) Send(cmd []byte) ([]byte, error) {
	if err := checkCommand(cmd); err != nil {
		return nil, err
	}
	c, err := s.dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(responseTimeout)); err != nil {
		return nil, transportErr("swtpm: %v", err)
	}
	if _, err := c.Write(cmd); err != nil {
		return nil, transportErr("sending to swtpm: %v", err)
	}
	return readResponse(c, "swtpm")
}

func (s *swtpm) Close() error { return nil }

// readResponse reads one size-prefixed TPM response from a stream.
func readResponse(r io.Reader, what string) ([]byte, error) {
	hdr := make([]byte, 10)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, transportErr("reading response header from %s: %v", what, err)
	}
	size, err := responseSize(hdr)
	if err != nil {
		return nil, err
	}
	rsp := make([]byte, size)
	copy(rsp, hdr)
	if _, err := io.ReadFull(r, rsp[10:]); err != nil {
		return nil, transportErr("reading response from %s: %v", what, err)
	}
	return rsp, nil
}
