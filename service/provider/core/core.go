// Package core is provider 0: the service's own administrative operations
// (Ping, the List* operations, and the admin-only client management).
package core

import (
	"context"
	"log/slog"
	"slices"
	"sort"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// Backend is a configured crypto provider with the key info manager its
// config names.
type Backend struct {
	Provider provider.Provider
	KIM      kim.Manager
}

// Provider implements the core operations over the configured backends.
// It also answers which provider serves an id (Lookup), itself included:
// the one map from id to provider in the service.
type Provider struct {
	*provider.Table
	info     provider.Info
	backends []backend
	byID     map[wire.ProviderID]provider.Provider
	auth     *auth.Set
	log      *slog.Logger
}

// backend is a configured provider with its view of its key info manager.
type backend struct {
	p    provider.Provider
	keys provider.Keys
}

// New returns the core provider. version is the service version reported
// as the core provider's version.
func New(version [3]uint32, backends []Backend, a *auth.Set, log *slog.Logger) *Provider {
	p := &Provider{
		info: provider.NewInfo(wire.ProviderCore, wire.ProviderCore.Desc().DefaultName, version),
		byID: map[wire.ProviderID]provider.Provider{},
		auth: a,
		log:  log,
	}
	p.byID[wire.ProviderCore] = p
	for _, b := range backends {
		i := b.Provider.Info()
		p.backends = append(p.backends, backend{p: b.Provider, keys: provider.NewKeys(b.KIM, i.ID, i.Name, log)})
		// As in Parsec, a later provider of the same kind takes the id.
		p.byID[i.ID] = b.Provider
	}
	// The admin operations are served but, as in Parsec, not advertised.
	p.Table = provider.NewTable(
		provider.Handle(wire.OpPing, p.ping),
		provider.Handle(wire.OpListProviders, p.listProviders),
		provider.Handle(wire.OpListOpcodes, p.listOpcodes),
		provider.Handle(wire.OpListAuthenticators, p.listAuthenticators),
		provider.Handle(wire.OpListKeys, p.listKeys),
		provider.Handle(wire.OpListClients, p.listClients).Unadvertised(),
		provider.Handle(wire.OpDeleteClient, p.deleteClient).Unadvertised(),
	)
	return p
}

// Lookup returns the provider that serves id: the core provider for
// ProviderCore, else the configured provider of that kind.
func (p *Provider) Lookup(id wire.ProviderID) (provider.Provider, bool) {
	b, ok := p.byID[id]
	return b, ok
}

func (p *Provider) Info() provider.Info { return p.info }
func (p *Provider) Close() error        { return nil }

func (p *Provider) ping(context.Context, provider.Call[*pb.PingRequest]) (*pb.PingResult, error) {
	return &pb.PingResult{WireProtocolVersionMaj: uint32(wire.VersionMajor), WireProtocolVersionMin: uint32(wire.VersionMinor)}, nil
}

func (p *Provider) listAuthenticators(context.Context, provider.Call[*pb.ListAuthenticatorsRequest]) (*pb.ListAuthenticatorsResult, error) {
	r := &pb.ListAuthenticatorsResult{}
	for _, a := range p.auth.List() {
		r.Authenticators = append(r.Authenticators, &pb.AuthenticatorInfo{
			Description: a.Description(), VersionMaj: 0, VersionMin: 1, VersionRev: 0, Id: uint32(a.Type())})
	}
	return r, nil
}

func infoToProto(i provider.Info) *pb.ProviderInfo {
	return &pb.ProviderInfo{Uuid: i.UUID, Description: i.Description, Vendor: i.Vendor,
		VersionMaj: i.Version[0], VersionMin: i.Version[1], VersionRev: i.Version[2], Id: uint32(i.ID)}
}

// listProviders reports providers in config order, core last: clients
// take the first entry as their default provider.
func (p *Provider) listProviders(context.Context, provider.Call[*pb.ListProvidersRequest]) (*pb.ListProvidersResult, error) {
	r := &pb.ListProvidersResult{}
	for _, b := range p.backends {
		r.Providers = append(r.Providers, infoToProto(b.p.Info()))
	}
	r.Providers = append(r.Providers, infoToProto(p.info))
	return r, nil
}

func (p *Provider) listOpcodes(_ context.Context, c provider.Call[*pb.ListOpcodesRequest]) (*pb.ListOpcodesResult, error) {
	id := c.Req.GetProviderId()
	if id > 255 || !wire.ProviderID(id).Valid() {
		return nil, wire.Errorf(wire.StatusProviderDoesNotExist, "provider %d does not exist", id)
	}
	b, ok := p.byID[wire.ProviderID(id)]
	if !ok {
		return nil, wire.Errorf(wire.StatusProviderNotRegistered, "provider %d is not configured", id)
	}
	r := &pb.ListOpcodesResult{}
	for _, op := range b.Opcodes() {
		// A client that meets an opcode it does not know rejects the
		// whole list, so never advertise one outside Parsec 1.x's set.
		if op.Advertisable() {
			r.Opcodes = append(r.Opcodes, uint32(op))
		}
	}
	return r, nil
}

func (p *Provider) listKeys(_ context.Context, c provider.Call[*pb.ListKeysRequest]) (*pb.ListKeysResult, error) {
	r := &pb.ListKeysResult{}
	// Keys mostly share a few attribute sets: each is converted once (the
	// result is only marshalled, never changed), which counts with
	// 100,000 keys.
	converted := map[psa.Attributes]*pb.KeyAttributes{}
	for _, b := range p.backends {
		keys, err := b.keys.List(kim.OwnerOf(c.App))
		if err != nil {
			p.log.Error("listing keys", "provider", b.p.Info().Name, "err", err)
			continue
		}
		r.Keys = slices.Grow(r.Keys, len(keys))
		for _, k := range keys {
			attrs, ok := converted[k.Entry.Attributes]
			if !ok {
				if attrs, err = psa.AttributesToProto(k.Entry.Attributes); err != nil {
					p.log.Error("key attributes cannot be encoded", "provider", b.p.Info().Name, "key", k.Name, "err", err)
					continue
				}
				converted[k.Entry.Attributes] = attrs
			}
			r.Keys = append(r.Keys, &pb.KeyInfo{ProviderId: uint32(k.Entry.Provider), Name: k.Name, Attributes: attrs})
		}
	}
	return r, nil
}

func (p *Provider) listClients(context.Context, provider.Call[*pb.ListClientsRequest]) (*pb.ListClientsResult, error) {
	seen := map[string]bool{}
	for _, b := range p.backends {
		all, err := b.keys.All()
		if err != nil {
			p.log.Error("listing clients", "provider", b.p.Info().Name, "err", err)
			continue
		}
		for _, k := range all {
			if k.Owner != kim.InternalOwner {
				seen[k.Owner.App] = true
			}
		}
	}
	r := &pb.ListClientsResult{}
	for c := range seen {
		r.Clients = append(r.Clients, c)
	}
	sort.Strings(r.Clients)
	return r, nil
}

// deleteClient destroys every key of client (under the admin's auth type)
// through its provider, so provider-side material goes too. Failures are
// logged; the operation reports success, as Parsec's does.
func (p *Provider) deleteClient(ctx context.Context, c provider.Call[*pb.DeleteClientRequest]) (*pb.DeleteClientResult, error) {
	client := c.Req.GetClient()
	victim := auth.Application{Name: client, AuthType: c.App.AuthType}
	for _, b := range p.backends {
		if !b.p.Accepts(wire.OpPsaDestroyKey) {
			continue
		}
		keys, err := b.keys.List(kim.OwnerOf(victim))
		if err != nil {
			p.log.Error("delete client: listing keys", "client", client, "err", err)
			continue
		}
		for _, k := range keys {
			_, err := provider.Run(ctx, b.p, victim, wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: k.Name})
			if err != nil {
				p.log.Error("delete client: destroying key", "client", client, "key", k.Name, "err", err)
			}
		}
	}
	return &pb.DeleteClientResult{}, nil
}
