package client

import (
	"context"
	"fmt"
	"sort"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// Version is a provider or authenticator version.
type Version struct {
	Major, Minor, Rev uint32
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Rev) }

// ProviderInfo describes one provider of the service.
type ProviderInfo struct {
	ID          wire.ProviderID
	UUID        string
	Description string
	Vendor      string
	Version     Version
}

// AuthenticatorInfo describes the service's authenticator.
type AuthenticatorInfo struct {
	ID          wire.AuthType
	Description string
	Version     Version
}

// KeyInfo describes one key of the caller.
type KeyInfo struct {
	Name       string
	Provider   wire.ProviderID
	Attributes psa.Attributes
}

// Ping returns the wire protocol version the service speaks (1.0).
func (c *Client) Ping(ctx context.Context) (major, minor uint8, err error) {
	var res pb.PingResult
	if err := c.core(ctx, wire.OpPing, &pb.PingRequest{}, &res); err != nil {
		return 0, 0, err
	}
	return uint8(res.GetWireProtocolVersionMaj()), uint8(res.GetWireProtocolVersionMin()), nil
}

// ListProviders returns the service's providers, the default one first and
// the core provider last.
func (c *Client) ListProviders(ctx context.Context) ([]ProviderInfo, error) {
	var res pb.ListProvidersResult
	if err := c.core(ctx, wire.OpListProviders, &pb.ListProvidersRequest{}, &res); err != nil {
		return nil, err
	}
	out := make([]ProviderInfo, 0, len(res.GetProviders()))
	for _, p := range res.GetProviders() {
		if p.GetId() > 0xff {
			return nil, fmt.Errorf("ListProviders: provider ID %d out of range", p.GetId())
		}
		out = append(out, ProviderInfo{
			ID:          wire.ProviderID(p.GetId()),
			UUID:        p.GetUuid(),
			Description: p.GetDescription(),
			Vendor:      p.GetVendor(),
			Version:     Version{p.GetVersionMaj(), p.GetVersionMin(), p.GetVersionRev()},
		})
	}
	return out, nil
}

// ListOpcodes returns the operations provider p supports, sorted. The core
// provider lists only its non-admin operations.
func (c *Client) ListOpcodes(ctx context.Context, p wire.ProviderID) ([]wire.Opcode, error) {
	var res pb.ListOpcodesResult
	if err := c.core(ctx, wire.OpListOpcodes, &pb.ListOpcodesRequest{ProviderId: uint32(p)}, &res); err != nil {
		return nil, err
	}
	out := make([]wire.Opcode, 0, len(res.GetOpcodes()))
	for _, o := range res.GetOpcodes() {
		out = append(out, wire.Opcode(o))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// ListAuthenticators returns the service's authenticators (Parsec runs one).
func (c *Client) ListAuthenticators(ctx context.Context) ([]AuthenticatorInfo, error) {
	var res pb.ListAuthenticatorsResult
	if err := c.core(ctx, wire.OpListAuthenticators, &pb.ListAuthenticatorsRequest{}, &res); err != nil {
		return nil, err
	}
	out := make([]AuthenticatorInfo, 0, len(res.GetAuthenticators()))
	for _, a := range res.GetAuthenticators() {
		if a.GetId() > 0xff {
			return nil, fmt.Errorf("ListAuthenticators: authenticator ID %d out of range", a.GetId())
		}
		out = append(out, AuthenticatorInfo{
			ID:          wire.AuthType(a.GetId()),
			Description: a.GetDescription(),
			Version:     Version{a.GetVersionMaj(), a.GetVersionMin(), a.GetVersionRev()},
		})
	}
	return out, nil
}

// ListKeys returns the caller's keys in all providers.
func (c *Client) ListKeys(ctx context.Context) ([]KeyInfo, error) {
	var res pb.ListKeysResult
	if err := c.core(ctx, wire.OpListKeys, &pb.ListKeysRequest{}, &res); err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(res.GetKeys()))
	for _, k := range res.GetKeys() {
		a, err := psa.AttributesFromProto(k.GetAttributes())
		if err != nil {
			return nil, fmt.Errorf("ListKeys: key %q: %w", k.GetName(), err)
		}
		if k.GetProviderId() > 0xff {
			return nil, fmt.Errorf("ListKeys: key %q: provider ID %d out of range", k.GetName(), k.GetProviderId())
		}
		out = append(out, KeyInfo{Name: k.GetName(), Provider: wire.ProviderID(k.GetProviderId()), Attributes: a})
	}
	return out, nil
}

// KeyAttributes returns the attributes of the caller's key name, looked up
// with ListKeys (Parsec has no operation to read one key's attributes). It
// returns a *KeyNotFoundError if there is no such key.
func (c *Client) KeyAttributes(ctx context.Context, name string) (psa.Attributes, error) {
	keys, err := c.ListKeys(ctx)
	if err != nil {
		return psa.Attributes{}, err
	}
	for _, k := range keys {
		if k.Name == name {
			return k.Attributes, nil
		}
	}
	return psa.Attributes{}, &KeyNotFoundError{Name: name}
}

// ListClients returns the applications that own keys (admin only).
func (c *Client) ListClients(ctx context.Context) ([]string, error) {
	var res pb.ListClientsResult
	if err := c.core(ctx, wire.OpListClients, &pb.ListClientsRequest{}, &res); err != nil {
		return nil, err
	}
	return res.GetClients(), nil
}

// DeleteClient destroys every key of application name (admin only).
func (c *Client) DeleteClient(ctx context.Context, name string) error {
	return c.core(ctx, wire.OpDeleteClient, &pb.DeleteClientRequest{Client: name}, &pb.DeleteClientResult{})
}
