// Command parsec-tool is a command-line client of the Parsec service, a
// drop-in replacement for the Rust parsec-tool 0.7.0: the same subcommands,
// flags, output and exit codes, so that scripts written for one work with
// the other. Run "parsec-tool --help" for the subcommands.
//
// The service is found through PARSEC_SERVICE_ENDPOINT (default
// unix:/run/parsec/parsec.sock); RUST_LOG sets the log level ("error"
// silences the [INFO] lines on stderr).
//
// Deliberate differences from the Rust tool (scripts/tool-compare.sh checks
// everything else and lists these as D1-D12):
//   - errors are one line: Rust's text, the Parsec status name and what to
//     do, instead of Rust's Debug chain (and instead of two lines for errors
//     the tool itself detects);
//   - list-opcodes is sorted by opcode (Rust prints a hash set's order);
//   - help texts are written in our own words, with the same layout;
//   - create-rsa-key -r/--for-signing-pss and create-csr for RSA-PSS keys,
//     from newer upstream parsec-tool;
//   - create-csr signs once (the Rust tool signs twice and keeps one);
//   - endpoint errors name the socket path, and when access is denied, the
//     group that grants it;
//   - --version prints parsec-go's version and the wire protocol version;
//   - a missing key is one error naming it, in every subcommand.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/wire"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv, isTerminal(os.Stderr)))
}

// appName is what the tool authenticates as under Direct authentication.
const appName = "parsec-tool"

func run(args []string, stdout, stderr io.Writer, getenv func(string) string, tty bool) int {
	inv, out := parse(args)
	if out != nil {
		io.WriteString(stdout, out.stdout)
		io.WriteString(stderr, out.stderr)
		return out.code
	}
	log := newLogger(stderr, getenv("RUST_LOG"), getenv("RUST_LOG_STYLE"), tty)

	endpoint := getenv(client.EndpointEnv)
	if endpoint == "" {
		endpoint = client.DefaultEndpoint
	}
	path, err := client.ParseEndpoint(endpoint)
	if err != nil {
		log.errorf("Error spinning up the BasicClient: the socket URL is invalid: %q; set %s to unix:/path/to/parsec.sock", endpoint, client.EndpointEnv)
		return 1
	}
	// Like the Rust client, refuse early a path that is not a socket. A
	// path we may not look at is left to the connect, whose error names
	// what denies access and the group that grants it.
	if fi, err := os.Stat(path); (err != nil && !errors.Is(err, fs.ErrPermission)) || (err == nil && fi.Mode()&os.ModeSocket == 0) {
		why := "is not a socket"
		if err != nil {
			why = "does not exist"
		}
		log.errorf("Error spinning up the BasicClient: the socket address provided in the URL is not valid: %s %s; is the Parsec service running? Set %s=unix:/path/to/parsec.sock to use another socket", path, why, client.EndpointEnv)
		return 1
	}

	timeout := client.DefaultTimeout
	if inv.timeout != nil {
		timeout = time.Duration(*inv.timeout) * time.Second
	}
	ctx := context.Background()
	opts := []client.Option{client.WithSocketPath(path), client.WithTimeout(timeout), client.WithAppName(appName)}
	jwtOpts, closeJWT, err := jwtSVIDOptions(getenv)
	if err != nil {
		log.errorf("Error spinning up the BasicClient: %s", err)
		return 1
	}
	defer closeJWT()
	opts = append(opts, jwtOpts...)
	var c *client.Client
	if inv.cmd.naked {
		c, err = client.NewNaked(opts...)
	} else {
		c, err = client.New(ctx, opts...)
	}
	if err != nil {
		log.errorf("Error spinning up the BasicClient: %s", describe(err, timeout))
		return 1
	}
	if !inv.cmd.naked {
		log.log("parsec_client::core::basic_client", levelDebug, "Parsec BasicClient created with implicit provider \"%v\" and authentication data \"%s\"",
			c.Provider(), debugAuth(c.Authenticator()))
	}
	if inv.provider != nil {
		p := wire.ProviderID(*inv.provider)
		if !p.Valid() {
			log.errorf("The provider ID entered does not map with an existing provider: %d is not a Parsec provider ID; see 'parsec-tool list-providers'", *inv.provider)
			return 1
		}
		c = c.WithProvider(p)
	}
	e := &env{ctx: ctx, c: c, stdout: stdout, log: log, module: rootModule + "::subcommands::" + strings.ReplaceAll(inv.cmd.name, "-", "_")}
	if err := inv.cmd.run(e, inv); err != nil {
		log.errorf("Subcommand failed: %s", describe(err, timeout))
		return 1
	}
	return 0
}

// debugAuth renders the authentication data as the Rust client's Debug does.
func debugAuth(a client.Authenticator) string {
	switch a.Type() {
	case wire.AuthDirect:
		tok, _ := a.Token(context.Background())
		return fmt.Sprintf("Direct(%q)", tok)
	case wire.AuthUnixPeerCredentials:
		return "UnixPeerCredentials"
	case wire.AuthJwtSvid:
		return "JwtSvid"
	}
	return "None"
}

// describe renders err as one line: what failed, the Parsec status name if
// the service answered one, and what to do about it.
func describe(err error, timeout time.Duration) string {
	var msg string
	var we *wire.Error
	var te *toolError
	var nf *client.KeyNotFoundError
	var lim *limitError
	switch {
	case errors.As(err, &te):
		msg = te.Error()
	case errors.As(err, &nf):
		// One message whichever way the key was found missing: the Rust
		// tool says NotFound when it looked the key up itself and
		// PsaErrorDoesNotExist when the service did (D12).
		msg = fmt.Sprintf("key %q not found (%v); list your keys with 'parsec-tool list-keys'", nf.Name, wire.StatusPsaErrorDoesNotExist)
	case errors.As(err, &we):
		msg = fmt.Sprintf("%s (%v)", we.Status.Description(), we.Status)
		h := statusHint(we.Status)
		if errors.As(err, &lim) {
			h = lim.limit
		}
		if h != "" {
			msg += "; " + h
		}
	case errors.Is(err, context.DeadlineExceeded):
		msg = fmt.Sprintf("the service did not answer within %v (%v); raise the timeout with -t SECONDS (0 waits forever)", timeout, err)
	case errors.Is(err, client.ErrNoProvider):
		msg = "operation not supported by selected provider (InvalidProvider): the core provider (0) has no crypto operations; pick a provider with -p (see 'parsec-tool list-providers')"
	case errors.Is(err, client.ErrNoAuthenticator):
		msg = "service is not reporting any authenticators or none of the reported ones are supported by the client (NoAuthenticator): " + err.Error()
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		msg = err.Error() + "; the service dropped the connection, check its log"
	default:
		msg = err.Error()
	}
	return strings.Join(strings.Fields(msg), " ")
}

// limitError carries the limit a request broke, for the error line in
// place of the status's generic hint (the wire carries only the status).
type limitError struct {
	err   error
	limit string
}

func (e *limitError) Error() string { return e.err.Error() + "; " + e.limit }
func (e *limitError) Unwrap() error { return e.err }

// statusHint says what to do about a status, when there is something to do.
func statusHint(s wire.Status) string {
	switch s {
	case wire.StatusPsaErrorDoesNotExist:
		return "check the key name with 'parsec-tool list-keys'"
	case wire.StatusPsaErrorAlreadyExists:
		return "pick another key name, or delete the key first with 'parsec-tool delete-key'"
	case wire.StatusProviderNotRegistered, wire.StatusProviderDoesNotExist:
		return "the service has no such provider; see 'parsec-tool list-providers' and pick one with -p"
	case wire.StatusAdminOperation:
		return "only admins named in the service's config.toml ([authenticator] admins) may do this"
	case wire.StatusNotAuthenticated, wire.StatusAuthenticationError, wire.StatusAuthenticatorNotRegistered, wire.StatusAuthenticatorDoesNotExist:
		return "see 'parsec-tool list-authenticators' for how the service authenticates clients"
	case wire.StatusPsaErrorNotPermitted:
		return "the key's policy does not allow this; see 'parsec-tool list-keys'"
	case wire.StatusPsaErrorNotSupported, wire.StatusOpcodeDoesNotExist:
		return "the provider does not support this; see 'parsec-tool list-opcodes'"
	case wire.StatusPsaErrorInvalidArgument:
		return "the provider rejected a parameter, e.g. the key size"
	case wire.StatusDeprecatedPrimitive:
		return "the algorithm is deprecated; use another one or set allow_deprecated in the service's config"
	case wire.StatusPsaErrorInvalidSignature:
		return "the signature does not match"
	case wire.StatusPsaErrorInvalidPadding:
		return "the ciphertext was not made with this key and algorithm"
	case wire.StatusResponseTooLarge, wire.StatusBodySizeExceedsLimit:
		return "ask for less data at a time"
	case wire.StatusConnectionError:
		return "the service timed out reading the request; check its log"
	case wire.StatusKeyInfoManagerError, wire.StatusPsaErrorStorageFailure:
		return "the service could not access its key store; check its log"
	}
	return ""
}
