package server

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/parsec-go/parsec/internal/statedir"
	"github.com/parsec-go/parsec/internal/version"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/config"
	"github.com/parsec-go/parsec/service/dispatch"
	"github.com/parsec-go/parsec/service/frontend"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/service/provider/core"
	"github.com/parsec-go/parsec/wire"
)

// Registry maps config provider_type names to factories.
type Registry map[string]RegisteredProvider

// RegisteredProvider describes one provider kind. A nil Factory marks a
// kind this build knows but left out (a build tag); LeftOut then says how to
// get it back, so a config naming it fails with more than "unknown".
type RegisteredProvider struct {
	ID      wire.ProviderID
	Factory provider.Factory
	LeftOut string
}

// generation is everything one config builds; a reload replaces it whole.
type generation struct {
	cfg      *config.Config
	fe       *frontend.FrontEnd
	backends []core.Backend
	auths    *auth.Set
}

func (g *generation) close(log *slog.Logger) {
	if err := g.auths.Close(); err != nil {
		log.Warn("closing authenticators", "err", err)
	}
	for _, b := range g.backends {
		if err := b.Provider.Close(); err != nil {
			log.Warn("closing provider", "provider", b.Provider.Info().Name, "err", err)
		}
	}
}

func build(cfg *config.Config, reg Registry, stores *kim.Stores, log *slog.Logger) (*generation, error) {
	var specs []auth.Spec
	for _, a := range cfg.Authenticators {
		specs = append(specs, auth.Spec{AuthType: a.AuthType, Admins: a.AdminNames(), WorkloadEndpoint: a.WorkloadEndpoint})
	}
	a, err := auth.NewSet(specs, log)
	if err != nil {
		return nil, err
	}
	kims := map[string]kim.Manager{}
	for _, k := range cfg.KeyManagers {
		// Whoever can write the mappings can use any client's keys.
		if err := statedir.Check(k.Dir()); err != nil {
			a.Close()
			return nil, fmt.Errorf("key manager %q: %w", k.Name, err)
		}
		m, err := stores.Open(k.Dir(), k.KeyQuota(), log)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("key manager %q: %w", k.Name, err)
		}
		kims[k.Name] = m
	}
	g := &generation{cfg: cfg, auths: a}
	names := map[string]bool{}
	for _, pc := range cfg.Providers {
		rp, ok := reg[pc.ProviderType]
		if ok && rp.Factory == nil {
			g.close(log)
			return nil, fmt.Errorf("config key \"provider.provider_type\" of [[provider]] #%d is %q, which was left out of this build (%s); available: %s", pc.Index, pc.ProviderType, rp.LeftOut, reg.names())
		}
		if !ok {
			g.close(log)
			return nil, fmt.Errorf("config key \"provider.provider_type\" of [[provider]] #%d is %q, which this build does not include; available: %s", pc.Index, pc.ProviderType, reg.names())
		}
		name := pc.Name
		if name == "" {
			name = rp.ID.Desc().DefaultName
		}
		if names[name] {
			g.close(log)
			return nil, fmt.Errorf("config key \"provider.name\": two providers are named %q; give each a unique name", name)
		}
		names[name] = true
		pc := pc
		plog := log.With("provider", name)
		p, err := rp.Factory(provider.Deps{
			Name:     name,
			KIM:      kims[pc.KeyInfoManager],
			Log:      plog,
			Settings: provider.Settings{AllowDeprecated: cfg.Core.AllowDeprecated, BufferSizeLimit: cfg.BufferSizeLimit()},
			Decode: func(v any) error {
				warns, err := pc.Decode(v)
				for _, w := range warns {
					plog.Warn(string(w))
				}
				return err
			},
		}.Defaults())
		if errors.Is(err, provider.ErrSkip) {
			plog.Warn("provider left out", "reason", err)
			continue
		}
		if err != nil {
			g.close(log)
			return nil, fmt.Errorf("provider %q (%s): %w", name, pc.ProviderType, err)
		}
		g.backends = append(g.backends, core.Backend{Provider: p, KIM: kims[pc.KeyInfoManager]})
	}
	if len(g.backends) == 0 {
		a.Close()
		return nil, errors.New("no provider could be started")
	}
	c := core.New(version.Triple(), g.backends, a, log)
	g.fe = frontend.New(frontend.Options{
		Auth:            a,
		Dispatcher:      dispatch.New(c),
		BodyLenLimit:    cfg.BodyLenLimit(),
		Timeout:         time.Duration(*cfg.Listener.Timeout) * time.Millisecond,
		Log:             log,
		LogErrorDetails: cfg.Core.LogErrorDetails,
	})
	return g, nil
}

// names lists the kinds this build can start, in a stable order.
func (r Registry) names() string {
	var built []string
	for n, rp := range r {
		if rp.Factory != nil {
			built = append(built, n)
		}
	}
	sort.Strings(built)
	return strings.Join(built, ", ")
}
