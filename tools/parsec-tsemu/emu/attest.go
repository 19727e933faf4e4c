package emu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"sort"
	"sync"

	"github.com/parsec-go/parsec/internal/ts"
	pc "github.com/parsec-go/parsec/internal/ts/packedc"
)

// PSA attestation token claim keys (Arm PSA token, EAT profile).
const (
	ClaimProfile        = -75000
	ClaimClientID       = -75001
	ClaimLifecycle      = -75002
	ClaimImplementation = -75003
	ClaimBootSeed       = -75004
	ClaimSWComponents   = -75006
	ClaimChallenge      = -75008
	ClaimInstanceID     = -75009

	swMeasurementType  = 1
	swMeasurementValue = 2
	swVersion          = 4
	swSignerID         = 5

	// lifecycleSecured is PSA_LIFECYCLE_SECURED.
	lifecycleSecured = 0x3000
	profilePSA       = "PSA_IOT_PROFILE_1"
	// coseAlgES256 is COSE's ECDSA P-256 with SHA-256.
	coseAlgES256 = -7
	coseTagSign1 = 18
)

// iakUID is where the attestation partition keeps its key in storage.
const iakUID = 0x4941_4b00 // "IAK"

// attestService produces PSA initial attestation tokens signed with the
// initial attestation key (IAK), a P-256 key generated on first use and
// kept in the partition's storage (so in RAM mode it changes on restart,
// as on a reference platform without provisioning).
type attestService struct {
	store    ObjectStore
	owner    uint16
	bootSeed []byte
	implID   []byte

	mu  sync.Mutex
	iak *ecdsa.PrivateKey
}

func newAttestService(store ObjectStore, owner uint16) *attestService {
	seed := make([]byte, 32)
	rand.Read(seed)
	impl := sha256.Sum256([]byte("parsec-tsemu implementation"))
	return &attestService{store: store, owner: owner, bootSeed: seed, implID: impl[:]}
}

func (s *attestService) loadIAK(create bool) (*ecdsa.PrivateKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.iak != nil {
		return s.iak, nil
	}
	o, ok, err := s.store.Get(ObjKey{Owner: s.owner, UID: iakUID})
	if err != nil {
		return nil, &storeError{err}
	}
	if ok {
		k, err := iakFromScalar(o.Data)
		if err != nil {
			return nil, ts.PSAErrorDataCorrupt
		}
		s.iak = k
		return k, nil
	}
	if !create {
		return nil, ts.PSAErrorDoesNotExist
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, ts.PSAErrorGenericError
	}
	if err := s.storeIAK(k); err != nil {
		return nil, err
	}
	s.iak = k
	return k, nil
}

func (s *attestService) storeIAK(k *ecdsa.PrivateKey) error {
	d := k.D.FillBytes(make([]byte, 32))
	if err := s.store.Put(ObjKey{Owner: s.owner, UID: iakUID}, Object{Capacity: 32, Data: d}); err != nil {
		return &storeError{err}
	}
	return nil
}

func iakFromScalar(d []byte) (*ecdsa.PrivateKey, error) {
	c := elliptic.P256()
	n := new(big.Int).SetBytes(d)
	if len(d) != 32 || n.Sign() == 0 || n.Cmp(c.Params().N) >= 0 {
		return nil, ts.PSAErrorInvalidArgument
	}
	k := &ecdsa.PrivateKey{D: n}
	k.Curve = c
	k.X, k.Y = c.ScalarBaseMult(d)
	return k, nil
}

func (s *attestService) Handle(req *Request) Response {
	switch req.Opcode {
	case pc.OpAttestGetToken:
		m, err := pc.DecodeLenient(req.Body, 0)
		if err != nil {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		ch, _ := m.Get(pc.TagData)
		tok, err := s.token(req.Client, ch)
		return psaResult(encodeData(tok, err))
	case pc.OpAttestGetTokenSize:
		m, err := pc.DecodeLenient(req.Body, 1)
		if err != nil {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		n := m.Fixed[0]
		if n > 64 {
			return psaResult(nil, ts.PSAErrorInvalidArgument)
		}
		tok, err := s.token(req.Client, make([]byte, n))
		return psaResult(encodeU32(uint32(len(tok)), err))
	case pc.OpAttestExportIAKPub:
		k, err := s.loadIAK(true)
		if err != nil {
			return psaResult(nil, err)
		}
		return psaResult(encodeData(elliptic.Marshal(k.Curve, k.X, k.Y), nil))
	case pc.OpAttestImportIAK:
		m, err := pc.DecodeLenient(req.Body, 0)
		if err != nil {
			return rpcError(ts.RPCInvalidRequestBody)
		}
		d, _ := m.Get(pc.TagData)
		return psaResult(nil, s.importIAK(d))
	case pc.OpAttestIAKExists:
		_, err := s.loadIAK(false)
		return psaResult(nil, err)
	}
	return rpcError(ts.RPCInvalidValue)
}

func (s *attestService) importIAK(d []byte) error {
	if _, err := s.loadIAK(false); err == nil {
		return ts.PSAErrorNotPermitted
	}
	k, err := iakFromScalar(d)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.storeIAK(k); err != nil {
		return err
	}
	s.iak = k
	return nil
}

// token builds a COSE_Sign1 (tagged) PSA token for the challenge.
func (s *attestService) token(client uint16, challenge []byte) ([]byte, error) {
	switch len(challenge) {
	case 32, 48, 64:
	default:
		return nil, ts.PSAErrorInvalidArgument
	}
	k, err := s.loadIAK(true)
	if err != nil {
		return nil, err
	}
	pub := elliptic.Marshal(k.Curve, k.X, k.Y)
	inst := sha256.Sum256(pub)
	measurement := sha256.Sum256([]byte("parsec-tsemu secure partitions"))
	signer := sha256.Sum256(pub)
	claims := cborMap{
		{ClaimProfile, profilePSA},
		{ClaimClientID, int64(client)},
		{ClaimLifecycle, int64(lifecycleSecured)},
		{ClaimImplementation, s.implID},
		{ClaimBootSeed, s.bootSeed},
		{ClaimSWComponents, []any{cborMap{
			{swMeasurementType, "TSEMU"},
			{swMeasurementValue, measurement[:]},
			{swVersion, "1.0.0"},
			{swSignerID, signer[:]},
		}}},
		{ClaimChallenge, challenge},
		{ClaimInstanceID, append([]byte{0x01}, inst[:]...)},
	}
	payload := cborEncode(nil, claims)
	protected := cborEncode(nil, cborMap{{1, int64(coseAlgES256)}})
	toSign := cborEncode(nil, []any{"Signature1", protected, []byte{}, payload})
	digest := sha256.Sum256(toSign)
	r, sg, err := ecdsa.Sign(rand.Reader, k, digest[:])
	if err != nil {
		return nil, ts.PSAErrorGenericError
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sg.FillBytes(sig[32:])
	return cborEncode(nil, cborTag{coseTagSign1, []any{protected, cborMap{}, payload, sig}}), nil
}

// A minimal deterministic CBOR (RFC 8949) encoder for the token: integer
// map keys in the order given (they are written in canonical order by the
// caller), byte and text strings, arrays, tags.
type cborPair struct {
	k int64
	v any
}
type cborMap []cborPair
type cborTag struct {
	tag uint64
	v   any
}

func cborHead(b []byte, major byte, n uint64) []byte {
	switch {
	case n < 24:
		return append(b, major<<5|byte(n))
	case n <= 0xff:
		return append(b, major<<5|24, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, major<<5|25), uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(b, major<<5|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, major<<5|27), n)
}

func cborEncode(b []byte, v any) []byte {
	switch x := v.(type) {
	case int64:
		if x >= 0 {
			return cborHead(b, 0, uint64(x))
		}
		return cborHead(b, 1, uint64(-1-x))
	case int:
		return cborEncode(b, int64(x))
	case []byte:
		return append(cborHead(b, 2, uint64(len(x))), x...)
	case string:
		return append(cborHead(b, 3, uint64(len(x))), x...)
	case []any:
		b = cborHead(b, 4, uint64(len(x)))
		for _, e := range x {
			b = cborEncode(b, e)
		}
		return b
	case cborMap:
		// Canonical order: shorter encodings first, then bytewise.
		type kv struct {
			k []byte
			v any
		}
		kvs := make([]kv, len(x))
		for i, p := range x {
			kvs[i] = kv{cborEncode(nil, p.k), p.v}
		}
		sort.SliceStable(kvs, func(i, j int) bool {
			if len(kvs[i].k) != len(kvs[j].k) {
				return len(kvs[i].k) < len(kvs[j].k)
			}
			return string(kvs[i].k) < string(kvs[j].k)
		})
		b = cborHead(b, 5, uint64(len(x)))
		for _, p := range kvs {
			b = append(b, p.k...)
			b = cborEncode(b, p.v)
		}
		return b
	case cborTag:
		return cborEncode(cborHead(b, 6, x.tag), x.v)
	}
	panic("cbor: unsupported type")
}
