// Package core is provider 0: the service's own administrative operations
// (Ping, the List* operations, and the admin-only client management).
package core

import (
	"context"
	"log/slog"
	"sort"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/service/kim"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// Backend is a configured crypto provider with the key info manager its
// config names.
type Backend struct {
	Provider provider.Provider
	KIM      kim.Manager
}

// Provider implements the core operations over the configured backends.
type Provider struct {
	info     provider.Info
	backends []Backend
	byID     map[wire.ProviderID]Backend
	auth     *auth.Set
	log      *slog.Logger
}

// advertised is what ListOpcodes(0) reports: the admin operations are
// served but, as in Parsec, not listed.
var advertised = []wire.Opcode{wire.OpPing, wire.OpListProviders, wire.OpListOpcodes, wire.OpListAuthenticators, wire.OpListKeys}

// New returns the core provider. version is the service version reported
// as the core provider's version.
func New(version [3]uint32, backends []Backend, a *auth.Set, log *slog.Logger) *Provider {
	d := wire.ProviderCore.Desc()
	p := &Provider{
		info: provider.Info{ID: wire.ProviderCore, Name: d.DefaultName, UUID: d.UUID,
			Description: d.Description, Vendor: d.Vendor, Version: version},
		backends: backends,
		byID:     map[wire.ProviderID]Backend{},
		auth:     a,
		log:      log,
	}
	for _, b := range backends {
		p.byID[b.Provider.Info().ID] = b
	}
	return p
}

func (p *Provider) Info() provider.Info         { return p.info }
func (p *Provider) Opcodes() []wire.Opcode      { return advertised }
func (p *Provider) Accepts(op wire.Opcode) bool { return op.IsCore() }
func (p *Provider) Close() error                { return nil }

// Execute implements provider.Provider.
func (p *Provider) Execute(ctx context.Context, app auth.Application, op wire.Opcode, req protomsg.Message) (protomsg.Message, error) {
	switch op {
	case wire.OpPing:
		return &pb.PingResult{WireProtocolVersionMaj: uint32(wire.VersionMajor), WireProtocolVersionMin: uint32(wire.VersionMinor)}, nil
	case wire.OpListProviders:
		return p.listProviders(), nil
	case wire.OpListOpcodes:
		return p.listOpcodes(req.(*pb.ListOpcodesRequest))
	case wire.OpListAuthenticators:
		r := &pb.ListAuthenticatorsResult{}
		for _, a := range p.auth.List() {
			r.Authenticators = append(r.Authenticators, &pb.AuthenticatorInfo{
				Description: a.Description(), VersionMaj: 0, VersionMin: 1, VersionRev: 0, Id: uint32(a.Type())})
		}
		return r, nil
	case wire.OpListKeys:
		return p.listKeys(app)
	case wire.OpListClients:
		return p.listClients()
	case wire.OpDeleteClient:
		p.deleteClient(ctx, app, req.(*pb.DeleteClientRequest).GetClient())
		return &pb.DeleteClientResult{}, nil
	}
	return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "%v is not a core operation", op)
}

func infoToProto(i provider.Info) *pb.ProviderInfo {
	return &pb.ProviderInfo{Uuid: i.UUID, Description: i.Description, Vendor: i.Vendor,
		VersionMaj: i.Version[0], VersionMin: i.Version[1], VersionRev: i.Version[2], Id: uint32(i.ID)}
}

// listProviders reports providers in config order, core last: clients
// take the first entry as their default provider.
func (p *Provider) listProviders() *pb.ListProvidersResult {
	r := &pb.ListProvidersResult{}
	for _, b := range p.backends {
		r.Providers = append(r.Providers, infoToProto(b.Provider.Info()))
	}
	r.Providers = append(r.Providers, infoToProto(p.info))
	return r
}

func (p *Provider) listOpcodes(req *pb.ListOpcodesRequest) (protomsg.Message, error) {
	id := req.GetProviderId()
	if id > 255 || !wire.ProviderID(id).Valid() {
		return nil, wire.Errorf(wire.StatusProviderDoesNotExist, "provider %d does not exist", id)
	}
	var ops []wire.Opcode
	if id == uint32(wire.ProviderCore) {
		ops = advertised
	} else {
		b, ok := p.byID[wire.ProviderID(id)]
		if !ok {
			return nil, wire.Errorf(wire.StatusProviderNotRegistered, "provider %d is not configured", id)
		}
		ops = b.Provider.Opcodes()
	}
	r := &pb.ListOpcodesResult{}
	for _, op := range ops {
		// A client that meets an opcode it does not know rejects the
		// whole list, so never advertise one outside Parsec 1.x's set.
		if op.Advertisable() {
			r.Opcodes = append(r.Opcodes, uint32(op))
		}
	}
	return r, nil
}

// ownKeys returns b's keys for owner o: key info managers can be shared,
// so entries are matched to the provider by its configured name.
func ownKeys(b Backend, o kim.Owner) ([]kim.Key, error) {
	keys, err := b.KIM.List(o)
	if err != nil {
		return nil, err
	}
	name := b.Provider.Info().Name
	own := keys[:0]
	for _, k := range keys {
		if k.Entry.ProviderName == name {
			own = append(own, k)
		}
	}
	return own, nil
}

func (p *Provider) listKeys(app auth.Application) (protomsg.Message, error) {
	r := &pb.ListKeysResult{}
	for _, b := range p.backends {
		keys, err := ownKeys(b, kim.OwnerOf(app))
		if err != nil {
			p.log.Error("listing keys", "provider", b.Provider.Info().Name, "err", err)
			continue
		}
		for _, k := range keys {
			attrs, err := psa.AttributesToProto(k.Entry.Attributes)
			if err != nil {
				p.log.Error("key attributes cannot be encoded", "provider", b.Provider.Info().Name, "key", k.Name, "err", err)
				continue
			}
			r.Keys = append(r.Keys, &pb.KeyInfo{ProviderId: uint32(k.Entry.Provider), Name: k.Name, Attributes: attrs})
		}
	}
	return r, nil
}

func (p *Provider) listClients() (protomsg.Message, error) {
	seen := map[string]bool{}
	for _, b := range p.backends {
		all, err := b.KIM.All()
		if err != nil {
			p.log.Error("listing clients", "provider", b.Provider.Info().Name, "err", err)
			continue
		}
		name := b.Provider.Info().Name
		for _, k := range all {
			if k.Owner != kim.InternalOwner && k.Entry.ProviderName == name {
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
func (p *Provider) deleteClient(ctx context.Context, admin auth.Application, client string) {
	victim := auth.Application{Name: client, AuthType: admin.AuthType}
	for _, b := range p.backends {
		keys, err := ownKeys(b, kim.OwnerOf(victim))
		if err != nil {
			p.log.Error("delete client: listing keys", "client", client, "err", err)
			continue
		}
		for _, k := range keys {
			if !b.Provider.Accepts(wire.OpPsaDestroyKey) {
				continue
			}
			_, err := b.Provider.Execute(ctx, victim, wire.OpPsaDestroyKey, &pb.DestroyKeyRequest{KeyName: k.Name})
			if err != nil {
				p.log.Error("delete client: destroying key", "client", client, "key", k.Name, "err", err)
			}
		}
	}
}
