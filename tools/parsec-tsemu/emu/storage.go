package emu

import (
	"encoding/binary"
	"errors"
	"log/slog"

	"github.com/parsec-go/parsec/internal/ts"
	pc "github.com/parsec-go/parsec/internal/ts/packedc"
)

// statusOf turns an engine error into a PSA status: a bare ts.PSAStatus is
// itself, a failing backing store is STORAGE_FAILURE, anything else is a
// GENERIC_ERROR.
func statusOf(err error) ts.PSAStatus {
	var s ts.PSAStatus
	if errors.As(err, &s) {
		return s
	}
	var se *storeError
	if errors.As(err, &se) {
		return ts.PSAErrorStorageFailure
	}
	return ts.PSAErrorGenericError
}

// storeError marks a failure of the backing store.
type storeError struct{ err error }

func (e *storeError) Error() string { return "backing store: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// StorageLimits bound a storage partition like the secure flash store of
// the TS reference deployments (which default to 4 KiB objects and 10
// objects; the FVP configuration raises them).
type StorageLimits struct {
	MaxObjectSize int
	MaxObjects    int
}

// storageService is the ITS/PS protocol over an ObjectStore.
type storageService struct {
	name   string
	store  ObjectStore
	limits StorageLimits
	log    *slog.Logger
}

const storageKnownFlags = pc.StorageFlagWriteOnce | pc.StorageFlagNoConfidentiality | pc.StorageFlagNoReplayProtection

var le = binary.LittleEndian

func (s *storageService) Handle(req *Request) Response {
	b := req.Body
	key := func() ObjKey { return ObjKey{Owner: req.Client, UID: le.Uint64(b)} }
	switch req.Opcode {
	case pc.OpStorageSet:
		if len(b) < 20 {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		n := le.Uint64(b[8:])
		if n > uint64(len(b)-20) {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		return psaResult(nil, s.set(key(), b[20:20+n], le.Uint32(b[16:])))
	case pc.OpStorageGet:
		if len(b) < 24 {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		return psaResult(s.get(key(), le.Uint64(b[8:]), le.Uint64(b[16:]), req.Max))
	case pc.OpStorageGetInfo:
		if len(b) < 8 {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		o, err := s.lookup(key())
		if err != nil {
			return psaResult(nil, err)
		}
		out := le.AppendUint64(nil, o.Capacity)
		out = le.AppendUint64(out, uint64(len(o.Data)))
		return psaResult(le.AppendUint32(out, o.Flags), nil)
	case pc.OpStorageRemove:
		if len(b) < 8 {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		return psaResult(nil, s.remove(key()))
	case pc.OpStorageCreate:
		if len(b) < 20 {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		return psaResult(nil, s.create(key(), le.Uint64(b[8:]), le.Uint32(b[16:])))
	case pc.OpStorageSetExtended:
		if len(b) < 24 {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		n := le.Uint64(b[16:])
		if n > uint64(len(b)-24) {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		return psaResult(nil, s.setExtended(key(), le.Uint64(b[8:]), b[24:24+n]))
	case pc.OpStorageGetSupport:
		return psaResult(le.AppendUint32(nil, pc.StorageSupportSetExtended), nil)
	}
	return rpcError(ts.RPCInvalidValue)
}

func (s *storageService) lookup(k ObjKey) (Object, error) {
	if k.UID == 0 {
		return Object{}, ts.PSAErrorInvalidArgument
	}
	o, ok, err := s.store.Get(k)
	if err != nil {
		s.log.Error("storage read failed", "service", s.name, "err", err)
		return Object{}, &storeError{err}
	}
	if !ok {
		return Object{}, ts.PSAErrorDoesNotExist
	}
	return o, nil
}

func (s *storageService) put(k ObjKey, o Object) error {
	if err := s.store.Put(k, o); err != nil {
		s.log.Error("storage write failed", "service", s.name, "err", err)
		return &storeError{err}
	}
	return nil
}

// room checks that a new object may be added.
func (s *storageService) room(k ObjKey, size uint64) error {
	if size > uint64(s.limits.MaxObjectSize) {
		return ts.PSAErrorInsufficientStorage
	}
	if _, ok, _ := s.store.Get(k); ok {
		return nil
	}
	n, err := s.store.Count()
	if err != nil {
		return &storeError{err}
	}
	if n >= s.limits.MaxObjects {
		return ts.PSAErrorInsufficientStorage
	}
	return nil
}

func (s *storageService) set(k ObjKey, data []byte, flags uint32) error {
	if k.UID == 0 {
		return ts.PSAErrorInvalidArgument
	}
	if flags&^storageKnownFlags != 0 {
		return ts.PSAErrorNotSupported
	}
	old, exists, err := s.store.Get(k)
	if err != nil {
		return &storeError{err}
	}
	if exists && old.Flags&pc.StorageFlagWriteOnce != 0 {
		return ts.PSAErrorNotPermitted
	}
	if err := s.room(k, uint64(len(data))); err != nil {
		return err
	}
	return s.put(k, Object{Flags: flags, Capacity: uint64(len(data)), Data: data})
}

func (s *storageService) get(k ObjKey, off, size uint64, max int) ([]byte, error) {
	o, err := s.lookup(k)
	if err != nil {
		return nil, err
	}
	if off > uint64(len(o.Data)) {
		return nil, ts.PSAErrorInvalidArgument
	}
	end := uint64(len(o.Data))
	if size < end-off {
		end = off + size
	}
	if end-off > uint64(max) {
		return nil, ts.PSAErrorBufferTooSmall
	}
	return o.Data[off:end], nil
}

func (s *storageService) remove(k ObjKey) error {
	o, err := s.lookup(k)
	if err != nil {
		return err
	}
	if o.Flags&pc.StorageFlagWriteOnce != 0 {
		return ts.PSAErrorNotPermitted
	}
	if err := s.store.Delete(k); err != nil {
		return &storeError{err}
	}
	return nil
}

func (s *storageService) create(k ObjKey, capacity uint64, flags uint32) error {
	if k.UID == 0 || capacity == 0 {
		return ts.PSAErrorInvalidArgument
	}
	if flags&^storageKnownFlags != 0 {
		return ts.PSAErrorNotSupported
	}
	if _, ok, err := s.store.Get(k); err != nil {
		return &storeError{err}
	} else if ok {
		return ts.PSAErrorAlreadyExists
	}
	if err := s.room(k, capacity); err != nil {
		return err
	}
	return s.put(k, Object{Flags: flags, Capacity: capacity})
}

func (s *storageService) setExtended(k ObjKey, off uint64, data []byte) error {
	o, err := s.lookup(k)
	if err != nil {
		return err
	}
	if o.Flags&pc.StorageFlagWriteOnce != 0 {
		return ts.PSAErrorNotPermitted
	}
	if off > uint64(len(o.Data)) || off+uint64(len(data)) > o.Capacity {
		return ts.PSAErrorInvalidArgument
	}
	buf := append([]byte(nil), o.Data...)
	if end := off + uint64(len(data)); end > uint64(len(buf)) {
		buf = append(buf, make([]byte, end-uint64(len(buf)))...)
	}
	copy(buf[off:], data)
	o.Data = buf
	return s.put(k, o)
}
