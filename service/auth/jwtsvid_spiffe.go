//go:build parsec_jwtsvid

package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// JwtSvidBuilt reports whether this build includes the JwtSvid
// authenticator.
const JwtSvidBuilt = true

// How long a request waits for the Workload API's first answer after the
// service starts; once it has answered (bundles or an error) no request
// waits for it again: tokens are checked against the bundles held.
const firstBundleWait = 2 * time.Second

// Retry bounds of the bundle watch when the Workload API is down or
// refuses us (go-spiffe's own backoff grows to 30 s: too slow a recovery).
const (
	minRetry = 500 * time.Millisecond
	maxRetry = 5 * time.Second
)

func newJwtSvid(spec Spec, log *slog.Logger) (Authenticator, error) {
	if spec.WorkloadEndpoint == "" {
		return nil, errors.New(`authenticator "JwtSvid" needs workload_endpoint, e.g. "unix:///run/spire/sockets/agent.sock"`)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w, err := watchBundles(spec.WorkloadEndpoint, log)
	if err != nil {
		return nil, err
	}
	return &jwtSVID{admins: spec.Admins, verify: verifier(w), close: w.Close}, nil
}

// verifier checks tokens against src with go-spiffe's JWT-SVID rules:
// ES/RS/PS signatures only (no "none", no HMAC), a key id found in the
// bundle of the subject's trust domain, exp present and not past, nbf not
// ahead (one minute of leeway for clock skew, go-jose's default), our
// audience among the token's.
func verifier(src jwtbundle.Source) func(string) (string, error) {
	return func(token string) (string, error) {
		// go-spiffe reports any bundle lookup failure as "no bundle
		// found": say first when there are no bundles at all, and why.
		if r, ok := src.(interface{ ready() error }); ok {
			if err := r.ready(); err != nil {
				return "", err
			}
		}
		svid, err := jwtsvid.ParseAndValidate(token, src, []string{JWTSVIDAudience})
		if err != nil {
			return "", err
		}
		return svid.ID.String(), nil
	}
}

// bundleWatch holds the JWT bundles the Workload API streams to us,
// replaced as they rotate, and keeps watching (reconnecting with a bounded
// backoff) until closed. While the API is down the last bundles received
// stay in use: they are public keys, and the tokens they check expire on
// their own.
type bundleWatch struct {
	endpoint string
	log      *slog.Logger
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	settled  chan struct{} // closed at the first answer, bundles or error
	once     sync.Once

	mu      sync.Mutex
	set     *jwtbundle.Set
	lastErr error
}

func watchBundles(endpoint string, log *slog.Logger) (*bundleWatch, error) {
	ctx, cancel := context.WithCancel(context.Background())
	// The connection is made lazily: this fails only on a malformed
	// address, never because the agent is down.
	c, err := workloadapi.New(ctx, workloadapi.WithAddr(endpoint), workloadapi.WithLogger(spiffeLog{log}),
		workloadapi.WithBackoffStrategy(backoffStrategy{}))
	if err != nil {
		cancel()
		return nil, fmt.Errorf(`authenticator "JwtSvid": workload_endpoint %q: %w`, endpoint, err)
	}
	w := &bundleWatch{endpoint: endpoint, log: log.With("authenticator", "JwtSvid"), ctx: ctx, cancel: cancel,
		done: make(chan struct{}), settled: make(chan struct{})}
	go w.run(ctx, c)
	return w, nil
}

func (w *bundleWatch) run(ctx context.Context, c *workloadapi.Client) {
	defer close(w.done)
	defer c.Close()
	b := newBackoff()
	for {
		// WatchJWTBundles reports each error to w and retries by itself,
		// except after cancellation or an InvalidArgument answer; we retry
		// that too.
		c.WatchJWTBundles(ctx, w)
		select {
		case <-ctx.Done():
			return
		case <-time.After(b.Next()):
		}
	}
}

// backoff doubles from minRetry to maxRetry; go-spiffe resets it when
// the stream delivers.
type backoff struct{ next time.Duration }

func newBackoff() *backoff { return &backoff{next: minRetry} }

func (b *backoff) Next() time.Duration {
	d := b.next
	b.next = min(2*b.next, maxRetry)
	return d
}

func (b *backoff) Reset() { b.next = minRetry }

type backoffStrategy struct{}

func (backoffStrategy) NewBackoff() workloadapi.Backoff { return newBackoff() }

// OnJWTBundlesUpdate implements workloadapi.JWTBundleWatcher.
func (w *bundleWatch) OnJWTBundlesUpdate(s *jwtbundle.Set) {
	w.mu.Lock()
	recovered := w.set == nil || w.lastErr != nil
	w.set, w.lastErr = s, nil
	w.mu.Unlock()
	w.once.Do(func() { close(w.settled) })
	lvl := slog.LevelDebug
	if recovered {
		lvl = slog.LevelInfo
	}
	w.log.Log(context.Background(), lvl, "JWT bundles received from the SPIFFE Workload API", "endpoint", w.endpoint, "trust_domains", s.Len())
}

// OnJWTBundlesWatchError implements workloadapi.JWTBundleWatcher.
func (w *bundleWatch) OnJWTBundlesWatchError(err error) {
	if w.ctx != nil && w.ctx.Err() != nil {
		return // closing
	}
	w.mu.Lock()
	first := w.lastErr == nil
	w.lastErr = err
	held := w.set != nil
	w.mu.Unlock()
	w.once.Do(func() { close(w.settled) })
	// Warn once per outage, not at every retry.
	lvl := slog.LevelDebug
	if first {
		lvl = slog.LevelWarn
	}
	w.log.Log(context.Background(), lvl, "SPIFFE Workload API unavailable; retrying", "endpoint", w.endpoint, "err", err, "using_last_bundles", held)
}

// ready reports whether bundles are held, waiting (bounded) only for the
// Workload API's first answer.
func (w *bundleWatch) ready() error {
	select {
	case <-w.settled:
	case <-time.After(firstBundleWait):
	}
	w.mu.Lock()
	set, lastErr := w.set, w.lastErr
	w.mu.Unlock()
	if set != nil {
		return nil
	}
	if lastErr == nil {
		lastErr = errors.New("no answer yet")
	}
	return fmt.Errorf("no JWT bundles from the SPIFFE Workload API at %s yet (%v); retrying in the background", w.endpoint, lastErr)
}

// GetJWTBundleForTrustDomain implements jwtbundle.Source over the bundles
// held.
func (w *bundleWatch) GetJWTBundleForTrustDomain(td spiffeid.TrustDomain) (*jwtbundle.Bundle, error) {
	w.mu.Lock()
	set := w.set
	w.mu.Unlock()
	if set == nil {
		return nil, errors.New("no JWT bundles")
	}
	return set.GetJWTBundleForTrustDomain(td)
}

// Close stops the watch and waits for it.
func (w *bundleWatch) Close() error {
	w.cancel()
	<-w.done
	return nil
}

// spiffeLog sends go-spiffe's own messages to our log at debug level: its
// errors are retried watch failures, which bundleWatch reports itself.
type spiffeLog struct{ log *slog.Logger }

func (l spiffeLog) Debugf(f string, a ...any) { l.log.Debug("go-spiffe: " + fmt.Sprintf(f, a...)) }
func (l spiffeLog) Infof(f string, a ...any)  { l.log.Debug("go-spiffe: " + fmt.Sprintf(f, a...)) }
func (l spiffeLog) Warnf(f string, a ...any)  { l.log.Debug("go-spiffe: " + fmt.Sprintf(f, a...)) }
func (l spiffeLog) Errorf(f string, a ...any) { l.log.Debug("go-spiffe: " + fmt.Sprintf(f, a...)) }
