// Package emu is the emulated Trusted Services secure world: the crypto
// partition (packed-c and protobuf interfaces over one key store), the
// internal trusted storage and protected storage partitions, and the
// attestation partition, each behind an emulated arm_tstee device that
// reproduces the driver's observable behaviour (implementation id 3,
// endpoint id in impl_caps, sessions from 0, shared memory ids from 1,
// 16 shared memories per partition, ENODEV/EINVAL). Clients reach it with
// package tee's emulator protocol.
package emu

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/parsec-go/parsec/internal/tee"
	"github.com/parsec-go/parsec/internal/ts"
)

// Options configure a World.
type Options struct {
	// StateDir keeps storage (and so persistent keys and the attestation
	// key) on disk; empty means RAM, lost when the process ends.
	StateDir string
	// OPTEE puts a stand-in for OP-TEE's own device first (tee0), which
	// Trusted Services discovery must skip.
	OPTEE  bool
	Limits StorageLimits
	Faults []Fault
	Log    *slog.Logger
	// Exit is called by the "exit" fault; the command uses os.Exit.
	Exit func()
}

// FF-A endpoint ids of the emulated partitions.
const (
	EndpointCrypto uint16 = 0x8001
	EndpointITS    uint16 = 0x8002
	EndpointPS     uint16 = 0x8003
	EndpointAttest uint16 = 0x8004
)

// DefaultLimits are those of the TS FVP platform configuration.
var DefaultLimits = StorageLimits{MaxObjectSize: 16 << 10, MaxObjects: 64}

// World is the emulated secure world.
type World struct {
	devices []*Device
	faults  *faults
	log     *slog.Logger
}

// New builds the partitions and their devices.
func New(o Options) (*World, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Limits.MaxObjectSize == 0 {
		o.Limits = DefaultLimits
	}
	open := func(name string) (ObjectStore, error) {
		if o.StateDir == "" {
			return NewRAMStore(), nil
		}
		return NewDirStore(filepath.Join(o.StateDir, name))
	}
	its, err := open("its")
	if err != nil {
		return nil, err
	}
	ps, err := open("ps")
	if err != nil {
		return nil, err
	}
	crypto := NewPartition("crypto", EndpointCrypto)
	eng := newEngine(its, EndpointCrypto)
	crypto.Add(ts.ServiceCrypto.UUID, &cryptoPackedC{e: eng})
	crypto.Add(ts.ServiceCryptoProtobuf.UUID, &cryptoProtobuf{e: eng})
	itsP := NewPartition("its", EndpointITS)
	itsP.Add(ts.ServiceITS.UUID, &storageService{name: "its", store: its, limits: o.Limits, log: log})
	psP := NewPartition("ps", EndpointPS)
	psP.Add(ts.ServicePS.UUID, &storageService{name: "ps", store: ps, limits: o.Limits, log: log})
	att := NewPartition("attestation", EndpointAttest)
	att.Add(ts.ServiceAttestation.UUID, newAttestService(its, EndpointAttest))

	w := &World{log: log, faults: &faults{exit: o.Exit}}
	if w.faults.exit == nil {
		w.faults.exit = func() { os.Exit(3) }
	}
	for i := range o.Faults {
		f := o.Faults[i]
		w.faults.list = append(w.faults.list, &f)
	}
	if o.OPTEE {
		w.devices = append(w.devices, &Device{ImplID: tee.ImplOPTEE})
	}
	for _, p := range []*Partition{crypto, itsP, psP, att} {
		w.devices = append(w.devices, &Device{ImplID: tee.ImplTSTEE, Partition: p})
	}
	for i, d := range w.devices {
		d.Index = i
		d.shmIDs = map[int32]bool{}
	}
	return w, nil
}

// Devices lists the devices (for logs and tests).
func (w *World) Devices() []*Device { return w.devices }
