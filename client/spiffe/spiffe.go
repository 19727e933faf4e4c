// Package spiffe lets the Parsec client authenticate with a JWT-SVID from
// the SPIFFE Workload API (a SPIRE agent, for instance). It is a package of
// its own so that programs which do not use it do not link go-spiffe and
// gRPC (about 6 MB).
//
//	src, err := spiffe.NewSource("unix:///run/spire/sockets/agent.sock")
//	defer src.Close()
//	c, err := client.New(ctx, client.WithAuthenticator(client.JWTSVID(src)))
//
// FromEnv configures the same from the environment, as parsec-tool does.
//
// A JWT-SVID is a bearer token: anyone who obtains it can use it as its
// SPIFFE ID until it expires (SPIRE's default is five minutes). The Source
// fetches a fresh one for each request and never writes it anywhere.
package spiffe

import (
	"context"

	"fmt"
	"sync"
	"time"

	"github.com/parsec-go/parsec/client"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// Environment variables read by FromEnv.
const (
	// EndpointEnv is the standard SPIFFE variable naming the Workload API
	// socket. Set, it makes JwtSvid usable when the service offers it
	// (the first authenticator the service lists that the client can use
	// is taken, as Parsec clients do).
	EndpointEnv = workloadapi.SocketEnv
	// ForceEnv ("PARSEC_JWT_SVID_ENDPOINT") names a Workload API socket
	// and makes the client always authenticate with a JWT-SVID from it,
	// whatever else the service offers (for a service with several
	// authenticators, e.g. UnixPeerCredentials listed first).
	ForceEnv = client.JWTSVIDEndpointEnv
	// SubjectEnv ("PARSEC_JWT_SVID_SUBJECT") picks one SPIFFE ID when the
	// workload has several; empty: the Workload API's default one.
	SubjectEnv = "PARSEC_JWT_SVID_SUBJECT"
)

// fetchTimeout bounds a fetch whose context has no deadline: with the
// agent down the call fails at once, but a hung agent must not hang us.
const fetchTimeout = 10 * time.Second

// Source fetches JWT-SVIDs from a Workload API; it implements
// client.JWTSVIDSource. It is safe for concurrent use.
type Source struct {
	addr    string
	subject spiffeid.ID

	mu sync.Mutex
	c  *workloadapi.Client
}

// NewSource returns a source for the Workload API at addr
// ("unix:///path" or "tcp://ip:port"; empty: SPIFFE_ENDPOINT_SOCKET). It
// does not connect yet: an agent that is down is reported by each fetch,
// and a fetch after the agent returns succeeds.
func NewSource(addr string) (*Source, error) {
	if addr == "" {
		a, ok := workloadapi.GetDefaultAddress()
		if !ok {
			return nil, fmt.Errorf("no SPIFFE Workload API address: set %s", EndpointEnv)
		}
		addr = a
	}
	if err := workloadapi.ValidateAddress(addr); err != nil {
		return nil, fmt.Errorf("SPIFFE Workload API address %q: %w", addr, err)
	}
	return &Source{addr: addr}, nil
}

// WithSubject makes the source ask for this SPIFFE ID's JWT-SVID.
func (s *Source) WithSubject(id string) (*Source, error) {
	sid, err := spiffeid.FromString(id)
	if err != nil {
		return nil, fmt.Errorf("SPIFFE ID %q: %w", id, err)
	}
	s.subject = sid
	return s, nil
}

func (s *Source) conn(ctx context.Context) (*workloadapi.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		return s.c, nil
	}
	c, err := workloadapi.New(ctx, workloadapi.WithAddr(s.addr))
	if err != nil {
		return nil, err
	}
	s.c = c
	return c, nil
}

// FetchJWTSVID implements client.JWTSVIDSource.
func (s *Source) FetchJWTSVID(ctx context.Context, audience string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, fetchTimeout)
		defer cancel()
	}
	c, err := s.conn(ctx)
	if err != nil {
		return "", fmt.Errorf("SPIFFE Workload API at %s: %w", s.addr, err)
	}
	svid, err := c.FetchJWTSVID(ctx, jwtsvid.Params{Audience: audience, Subject: s.subject})
	if err != nil {
		return "", fmt.Errorf("fetching a JWT-SVID from the SPIFFE Workload API at %s: %w", s.addr, err)
	}
	return svid.Marshal(), nil
}

// Close releases the Workload API connection.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return nil
	}
	err := s.c.Close()
	s.c = nil
	return err
}

// FromEnv returns the client options the environment asks for:
// PARSEC_JWT_SVID_ENDPOINT forces JWT-SVID authentication from that
// Workload API; otherwise SPIFFE_ENDPOINT_SOCKET makes it available to
// discovery; neither: no options. Close the returned source (nil when
// none) when done with the client.
func FromEnv(getenv func(string) string) ([]client.Option, *Source, error) {
	addr, force := getenv(ForceEnv), true
	if addr == "" {
		addr, force = getenv(EndpointEnv), false
	}
	if addr == "" {
		return nil, nil, nil
	}
	src, err := NewSource(addr)
	if err != nil {
		return nil, nil, err
	}
	if sub := getenv(SubjectEnv); sub != "" {
		if _, err := src.WithSubject(sub); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", SubjectEnv, err)
		}
	}
	if force {
		return []client.Option{client.WithAuthenticator(client.JWTSVID(src))}, src, nil
	}
	return []client.Option{client.WithJWTSVIDSource(src)}, src, nil
}

// Options is FromEnv for a program that keeps its client to the end: the
// returned function closes the source (it does nothing when there is none).
func Options(getenv func(string) string) ([]client.Option, func(), error) {
	opts, src, err := FromEnv(getenv)
	if err != nil || src == nil {
		return opts, func() {}, err
	}
	return opts, func() { src.Close() }, nil
}

var _ client.JWTSVIDSource = (*Source)(nil)
