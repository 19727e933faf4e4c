package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// Client talks to one Parsec service. It holds no connection: every
// operation opens a connection, sends one request, reads one response and
// closes, as the service expects. A Client is safe for concurrent use; the
// With* methods return modified copies.
type Client struct {
	t        *transport
	auth     Authenticator
	provider wire.ProviderID
}

// ErrNoProvider is returned by New when the service lists no provider, and
// by crypto operations on a client whose provider is the core provider.
var ErrNoProvider = errors.New("no crypto provider selected")

// ErrNoAuthenticator is returned by New when none of the authenticators the
// service lists can be used by this client.
var ErrNoAuthenticator = errors.New("no usable authenticator")

// ErrKeyNotFound matches every "no such key" error: errors.Is(err,
// ErrKeyNotFound) and errors.Is(err, wire.StatusPsaErrorDoesNotExist) are
// both true for a *KeyNotFoundError.
var ErrKeyNotFound = errors.New("key not found")

// KeyNotFoundError is the one error for a key the caller does not own,
// whether the service answered PsaErrorDoesNotExist to an operation on it
// or KeyAttributes (and the helpers built on it) found no key of that name
// in ListKeys. The status on the wire is unchanged; errors.As to
// *wire.Error still finds the service's answer when there was one.
type KeyNotFoundError struct {
	Name string
	// Err is the service's answer, nil when the client looked the key up
	// in ListKeys.
	Err error
}

func (e *KeyNotFoundError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("key %q not found (%v)", e.Name, e.Err)
	}
	return fmt.Sprintf("key %q not found", e.Name)
}

// Is matches both names older code tests for.
func (e *KeyNotFoundError) Is(target error) bool {
	return target == ErrKeyNotFound || target == wire.StatusPsaErrorDoesNotExist
}

func (e *KeyNotFoundError) Unwrap() error { return e.Err }

type options struct {
	endpoint   string
	socketPath string
	timeout    time.Duration
	maxBody    uint32
	auth       Authenticator
	appName    string
	jwt        JWTSVIDSource
	provider   wire.ProviderID
	hasProv    bool
	blocking   bool
}

// Option configures New and NewNaked.
type Option func(*options)

// WithEndpoint sets the service endpoint URI (unix:/path/to/parsec.sock)
// instead of PARSEC_SERVICE_ENDPOINT.
func WithEndpoint(uri string) Option { return func(o *options) { o.endpoint = uri } }

// WithSocketPath sets the service's socket path directly.
func WithSocketPath(path string) Option { return func(o *options) { o.socketPath = path } }

// WithTimeout bounds each request whose context carries no deadline
// (default DefaultTimeout); 0 means no bound.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithMaxResponseBody caps the response bodies the client accepts
// (default DefaultMaxResponseBody).
func WithMaxResponseBody(n uint32) Option { return func(o *options) { o.maxBody = n } }

// WithAuthenticator skips authenticator discovery and always uses a.
func WithAuthenticator(a Authenticator) Option { return func(o *options) { o.auth = a } }

// WithAppName makes Direct authentication usable during discovery, with
// this application name. Without it New skips a Direct authenticator.
func WithAppName(name string) Option { return func(o *options) { o.appName = name } }

// WithJWTSVIDSource makes JWT-SVID authentication usable during discovery.
func WithJWTSVIDSource(src JWTSVIDSource) Option { return func(o *options) { o.jwt = src } }

// WithBlockingIO makes each request's socket I/O block the calling thread
// instead of parking the goroutine in the runtime's poller. It is for code
// that runs on threads the Go scheduler does not own, such as functions a
// cgo shared library exports to C (the PKCS#11 module): there a parked
// goroutine is handed between threads twice per request, which costs more
// than the request on a loaded machine. Deadlines become socket timeouts
// and cancellation shuts the socket down, so both still end a request.
func WithBlockingIO() Option { return func(o *options) { o.blocking = true } }

// WithProvider skips provider discovery and sends crypto operations to p.
func WithProvider(p wire.ProviderID) Option {
	return func(o *options) { o.provider, o.hasProv = p, true }
}

func newClient(opts []Option) (*Client, *options, error) {
	o := options{timeout: DefaultTimeout, maxBody: DefaultMaxResponseBody}
	for _, f := range opts {
		f(&o)
	}
	path := o.socketPath
	if path == "" {
		ep := o.endpoint
		if ep == "" {
			ep = EndpointFromEnv()
		}
		var err error
		if path, err = ParseEndpoint(ep); err != nil {
			return nil, nil, err
		}
	}
	c := &Client{
		t:        &transport{socketPath: path, timeout: o.timeout, maxBody: o.maxBody, blocking: o.blocking},
		auth:     NoAuth(),
		provider: wire.ProviderCore,
	}
	if o.auth != nil {
		c.auth = o.auth
	}
	if o.hasProv {
		c.provider = o.provider
	}
	return c, &o, nil
}

// NewNaked returns a client that sends everything anonymously to the core
// provider, without asking the service anything: enough for Ping,
// ListProviders, ListOpcodes and ListAuthenticators. Options may still set
// an authenticator and a provider.
func NewNaked(opts ...Option) (*Client, error) {
	c, _, err := newClient(opts)
	return c, err
}

// New returns a client configured the way Parsec clients configure
// themselves: the crypto provider is the first one ListProviders reports
// (the service's default), and the authenticator the first one
// ListAuthenticators reports that this client can use (UnixPeerCredentials
// always; Direct with WithAppName; JwtSvid with WithJWTSVIDSource). Options
// WithProvider and WithAuthenticator skip the matching discovery.
func New(ctx context.Context, opts ...Option) (*Client, error) {
	c, o, err := newClient(opts)
	if err != nil {
		return nil, err
	}
	if !o.hasProv {
		provs, err := c.ListProviders(ctx)
		if err != nil {
			return nil, fmt.Errorf("discovering the default provider: %w", err)
		}
		if len(provs) == 0 {
			return nil, fmt.Errorf("%w: the service lists no provider", ErrNoProvider)
		}
		c.provider = provs[0].ID
	}
	if o.auth == nil {
		auths, err := c.ListAuthenticators(ctx)
		if err != nil {
			return nil, fmt.Errorf("discovering the authenticator: %w", err)
		}
		a, err := pickAuthenticator(auths, o)
		if err != nil {
			return nil, err
		}
		c.auth = a
	}
	return c, nil
}

func pickAuthenticator(auths []AuthenticatorInfo, o *options) (Authenticator, error) {
	var offered []string
	for _, a := range auths {
		switch a.ID {
		case wire.AuthUnixPeerCredentials:
			return UnixPeerCredentials(), nil
		case wire.AuthDirect:
			if o.appName != "" {
				return Direct(o.appName), nil
			}
			offered = append(offered, "Direct (needs WithAppName)")
		case wire.AuthJwtSvid:
			if o.jwt != nil {
				return JWTSVID(o.jwt), nil
			}
			offered = append(offered, "JwtSvid (needs WithJWTSVIDSource)")
		default:
			offered = append(offered, a.ID.String())
		}
	}
	if len(offered) == 0 {
		return nil, fmt.Errorf("%w: the service lists no authenticator", ErrNoAuthenticator)
	}
	return nil, fmt.Errorf("%w: the service offers %s", ErrNoAuthenticator, strings.Join(offered, ", "))
}

// Provider is the provider crypto operations go to.
func (c *Client) Provider() wire.ProviderID { return c.provider }

// Authenticator is the authenticator requests carry.
func (c *Client) Authenticator() Authenticator { return c.auth }

// SocketPath is the socket the client connects to.
func (c *Client) SocketPath() string { return c.t.socketPath }

// WithProvider returns a copy of c that sends crypto operations to p.
func (c *Client) WithProvider(p wire.ProviderID) *Client {
	d := *c
	d.provider = p
	return &d
}

// WithAuthenticator returns a copy of c that authenticates with a.
func (c *Client) WithAuthenticator(a Authenticator) *Client {
	d := *c
	d.auth = a
	return &d
}

// WithTimeout returns a copy of c whose requests without a context deadline
// are bounded by d (0: unbounded).
func (c *Client) WithTimeout(d time.Duration) *Client {
	e := *c
	t := *c.t
	t.timeout = d
	e.t = &t
	return &e
}

// core sends a core operation: always to provider 0. Ping and the listing
// operations go out anonymously, like the Rust client does during start-up;
// the rest carry the client's authentication.
func (c *Client) core(ctx context.Context, op wire.Opcode, req, res protomsg.Message) error {
	a := c.auth
	if op == wire.OpPing {
		a = NoAuth()
	}
	return c.send(ctx, wire.ProviderCore, a, op, req, res)
}

// crypto sends an operation to the client's crypto provider.
func (c *Client) crypto(ctx context.Context, op wire.Opcode, req, res protomsg.Message) error {
	if c.provider == wire.ProviderCore {
		return fmt.Errorf("%v: %w: the core provider has no crypto operations; pick one with WithProvider", op, ErrNoProvider)
	}
	err := c.send(ctx, c.provider, c.auth, op, req, res)
	return keyNotFound(op, req, err)
}

// keyNotFound turns the service's PsaErrorDoesNotExist to an operation on
// an existing key into a *KeyNotFoundError naming it. Creating a key names
// one that does not exist yet, so there the status means something else.
func keyNotFound(op wire.Opcode, req protomsg.Message, err error) error {
	if err == nil || op == wire.OpPsaGenerateKey || op == wire.OpPsaImportKey || !errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
		return err
	}
	var name string
	switch r := req.(type) {
	case interface{ GetKeyName() string }:
		name = r.GetKeyName()
	case interface{ GetPrivateKeyName() string }:
		name = r.GetPrivateKeyName()
	default:
		return err
	}
	return &KeyNotFoundError{Name: name, Err: err}
}

func (c *Client) send(ctx context.Context, p wire.ProviderID, a Authenticator, op wire.Opcode, req, res protomsg.Message) error {
	tok, err := a.Token(ctx)
	if err != nil {
		return fmt.Errorf("%v: %w", op, err)
	}
	return c.t.do(ctx, &request{provider: p, opcode: op, auth: a.Type(), token: tok, body: req}, res)
}
