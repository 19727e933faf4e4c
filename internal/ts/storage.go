package ts

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	pc "github.com/parsec-go/parsec/internal/ts/packedc"
)

// Storage is a secure storage service: internal trusted storage (ITS) or
// protected storage (PS), which share one packed-c protocol. Objects are
// owned by the caller's FF-A endpoint, so every Linux process sees the
// same ones.
type Storage struct {
	c *Caller
}

// NewStorage wraps a caller opened for ServiceITS or ServicePS.
func NewStorage(c *Caller) *Storage { return &Storage{c: c} }

// StorageInfo is GET_INFO's answer.
type StorageInfo struct {
	Capacity uint64
	Size     uint64
	Flags    uint32
}

var le64 = binary.LittleEndian

// StorageSetRequest is the SET request: uid, data length, flags, data.
func StorageSetRequest(uid uint64, data []byte, flags uint32) []byte {
	b := make([]byte, 20, 20+len(data))
	le64.PutUint64(b[0:], uid)
	le64.PutUint64(b[8:], uint64(len(data)))
	le64.PutUint32(b[16:], flags)
	return append(b, data...)
}

// StorageGetRequest is the GET request: uid, offset, size.
func StorageGetRequest(uid, offset, size uint64) []byte {
	b := make([]byte, 24)
	le64.PutUint64(b[0:], uid)
	le64.PutUint64(b[8:], offset)
	le64.PutUint64(b[16:], size)
	return b
}

// StorageCreateRequest is the CREATE request: uid, capacity, flags.
func StorageCreateRequest(uid, capacity uint64, flags uint32) []byte {
	b := make([]byte, 20)
	le64.PutUint64(b[0:], uid)
	le64.PutUint64(b[8:], capacity)
	le64.PutUint32(b[16:], flags)
	return b
}

// StorageSetExtendedRequest is SET_EXTENDED: uid, offset, length, data.
func StorageSetExtendedRequest(uid, offset uint64, data []byte) []byte {
	b := make([]byte, 24, 24+len(data))
	le64.PutUint64(b[0:], uid)
	le64.PutUint64(b[8:], offset)
	le64.PutUint64(b[16:], uint64(len(data)))
	return append(b, data...)
}

// StorageUIDRequest is the GET_INFO and REMOVE request.
func StorageUIDRequest(uid uint64) []byte { return le64.AppendUint64(nil, uid) }

func (s *Storage) call(ctx context.Context, op uint16, name string, req []byte) ([]byte, error) {
	return s.c.Call(ctx, op, name, req)
}

// Set stores data under uid.
func (s *Storage) Set(ctx context.Context, uid uint64, data []byte, flags uint32) error {
	_, err := s.call(ctx, pc.OpStorageSet, "SET", StorageSetRequest(uid, data, flags))
	return err
}

// Get reads size bytes from offset.
func (s *Storage) Get(ctx context.Context, uid, offset, size uint64) ([]byte, error) {
	resp, err := s.call(ctx, pc.OpStorageGet, "GET", StorageGetRequest(uid, offset, size))
	if err != nil {
		return nil, err
	}
	if uint64(len(resp)) > size {
		return nil, fmt.Errorf("ts: %s GET response: %w: %d bytes for %d asked", s.c.Service().Name, ErrMalformed, len(resp), size)
	}
	return resp, nil
}

// GetInfo returns an object's capacity, size and flags.
func (s *Storage) GetInfo(ctx context.Context, uid uint64) (StorageInfo, error) {
	resp, err := s.call(ctx, pc.OpStorageGetInfo, "GET_INFO", StorageUIDRequest(uid))
	if err != nil {
		return StorageInfo{}, err
	}
	if len(resp) != 20 {
		return StorageInfo{}, fmt.Errorf("ts: %s GET_INFO response: %w: %d bytes, want 20", s.c.Service().Name, ErrMalformed, len(resp))
	}
	return StorageInfo{Capacity: le64.Uint64(resp), Size: le64.Uint64(resp[8:]), Flags: le64.Uint32(resp[16:])}, nil
}

// Remove deletes an object.
func (s *Storage) Remove(ctx context.Context, uid uint64) error {
	_, err := s.call(ctx, pc.OpStorageRemove, "REMOVE", StorageUIDRequest(uid))
	return err
}

// Create reserves capacity for an object written later with SetExtended.
func (s *Storage) Create(ctx context.Context, uid, capacity uint64, flags uint32) error {
	_, err := s.call(ctx, pc.OpStorageCreate, "CREATE", StorageCreateRequest(uid, capacity, flags))
	return err
}

// SetExtended writes data at offset of a created object.
func (s *Storage) SetExtended(ctx context.Context, uid, offset uint64, data []byte) error {
	_, err := s.call(ctx, pc.OpStorageSetExtended, "SET_EXTENDED", StorageSetExtendedRequest(uid, offset, data))
	return err
}

// Support returns the support flags (StorageSupportSetExtended).
func (s *Storage) Support(ctx context.Context) (uint32, error) {
	resp, err := s.call(ctx, pc.OpStorageGetSupport, "GET_SUPPORT", nil)
	if err != nil {
		return 0, err
	}
	if len(resp) != 4 {
		return 0, fmt.Errorf("ts: %s GET_SUPPORT response: %w: %d bytes", s.c.Service().Name, ErrMalformed, len(resp))
	}
	return le64.Uint32(resp), nil
}

// Close closes the session.
func (s *Storage) Close() error { return s.c.Close() }

// Attestation is the attestation service.
type Attestation struct {
	c *Caller
}

// NewAttestation wraps a caller opened for ServiceAttestation.
func NewAttestation(c *Caller) *Attestation { return &Attestation{c: c} }

// GetToken returns a signed platform token (COSE_Sign1 over the PSA
// attestation claims) bound to challenge, which must be 32, 48 or 64
// bytes.
func (a *Attestation) GetToken(ctx context.Context, challenge []byte) ([]byte, error) {
	req, err := pc.Encode(nil, pc.Record{Tag: pc.TagData, Value: challenge})
	if err != nil {
		return nil, fmt.Errorf("ts: attestation GET_TOKEN: %w", ErrTooLarge)
	}
	resp, err := a.c.Call(ctx, pc.OpAttestGetToken, "GET_TOKEN", req)
	if err != nil {
		return nil, err
	}
	tok, err := parseData(resp, pc.TagData)
	if err != nil {
		return nil, fmt.Errorf("ts: attestation GET_TOKEN response: %w", err)
	}
	return tok, nil
}

// GetTokenSize returns the size of the token for a challenge size.
func (a *Attestation) GetTokenSize(ctx context.Context, challengeSize uint32) (uint32, error) {
	req, _ := pcU32(challengeSize)
	resp, err := a.c.Call(ctx, pc.OpAttestGetTokenSize, "GET_TOKEN_SIZE", req)
	if err != nil {
		return 0, err
	}
	n, err := parseU32(resp)
	if err != nil {
		return 0, fmt.Errorf("ts: attestation GET_TOKEN_SIZE response: %w", err)
	}
	return n, nil
}

// ExportIAKPublicKey returns the initial attestation key's public key
// (uncompressed P-256 point).
func (a *Attestation) ExportIAKPublicKey(ctx context.Context) ([]byte, error) {
	resp, err := a.c.Call(ctx, pc.OpAttestExportIAKPub, "EXPORT_IAK_PUBLIC_KEY", nil)
	if err != nil {
		return nil, err
	}
	k, err := parseData(resp, pc.TagData)
	if err != nil {
		return nil, fmt.Errorf("ts: attestation EXPORT_IAK_PUBLIC_KEY response: %w", err)
	}
	return k, nil
}

// ImportIAK provisions the attestation key (a P-256 private key in PSA
// format); it fails once a key exists.
func (a *Attestation) ImportIAK(ctx context.Context, key []byte) error {
	req, err := pc.Encode(nil, pc.Record{Tag: pc.TagData, Value: key})
	if err != nil {
		return fmt.Errorf("ts: attestation IMPORT_IAK: %w", ErrTooLarge)
	}
	_, err = a.c.Call(ctx, pc.OpAttestImportIAK, "IMPORT_IAK", req)
	return err
}

// IAKExists reports whether an attestation key is provisioned; the
// answer is the service status alone.
func (a *Attestation) IAKExists(ctx context.Context) (bool, error) {
	_, err := a.c.Call(ctx, pc.OpAttestIAKExists, "IAK_EXISTS", nil)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, PSAErrorDoesNotExist) {
		return false, nil
	}
	return false, err
}

// Close closes the session.
func (a *Attestation) Close() error { return a.c.Close() }
