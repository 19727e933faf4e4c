package software

import (
	"context"
	"crypto"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/asn1"
	"hash"

	"golang.org/x/crypto/sha3"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// hashInfo ties a PSA hash algorithm to its implementation.
type hashInfo struct {
	new func() hash.Hash
	// std is the crypto.Hash identifier, for the standard-library RSA-PSS
	// code, which can only hash with registered hashes (SHA-3 is not
	// registered in Go 1.22 without golang.org/x/crypto).
	std crypto.Hash
	// oid names the hash in a PKCS#1 v1.5 DigestInfo.
	oid asn1.ObjectIdentifier
}

// MD2, MD4 and RIPEMD-160 have no standard-library implementation and are
// reported as not supported.
var hashes = map[psa.Algorithm]hashInfo{
	psa.AlgMD5:        {md5.New, crypto.MD5, asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}},
	psa.AlgSHA1:       {sha1.New, crypto.SHA1, asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}},
	psa.AlgSHA224:     {sha256.New224, crypto.SHA224, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}},
	psa.AlgSHA256:     {sha256.New, crypto.SHA256, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}},
	psa.AlgSHA384:     {sha512.New384, crypto.SHA384, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}},
	psa.AlgSHA512:     {sha512.New, crypto.SHA512, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}},
	psa.AlgSHA512_224: {sha512.New512_224, crypto.SHA512_224, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 5}},
	psa.AlgSHA512_256: {sha512.New512_256, crypto.SHA512_256, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 6}},
	psa.AlgSHA3_224:   {sha3.New224, crypto.SHA3_224, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 7}},
	psa.AlgSHA3_256:   {sha3.New256, crypto.SHA3_256, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 8}},
	psa.AlgSHA3_384:   {sha3.New384, crypto.SHA3_384, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 9}},
	psa.AlgSHA3_512:   {sha3.New512, crypto.SHA3_512, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 10}},
}

// hashFor returns the implementation of a hash algorithm.
func hashFor(alg psa.Algorithm) (hashInfo, error) {
	if !alg.IsHash() {
		return hashInfo{}, wire.Errorf(wire.StatusPsaErrorInvalidArgument, "%v is not a hash algorithm", alg)
	}
	h, ok := hashes[alg]
	if !ok {
		return hashInfo{}, wire.Errorf(wire.StatusPsaErrorNotSupported, "hash %v is not supported", alg)
	}
	return h, nil
}

func hashSum(alg psa.Algorithm, msg []byte) ([]byte, error) {
	h, err := hashFor(alg)
	if err != nil {
		return nil, err
	}
	d := h.new()
	d.Write(msg)
	return d.Sum(nil), nil
}

// digestInfoPrefix returns the DER of the PKCS#1 v1.5 DigestInfo for alg
// up to (not including) the digest bytes. It is built by encoding a
// DigestInfo with a zero digest and cutting the digest off, so no magic
// byte strings are needed.
func digestInfoPrefix(alg psa.Algorithm) ([]byte, error) {
	h, err := hashFor(alg)
	if err != nil {
		return nil, err
	}
	type algID struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue
	}
	type digestInfo struct {
		Alg    algID
		Digest []byte
	}
	size := alg.HashSize()
	der, err := asn1.Marshal(digestInfo{
		Alg:    algID{Algorithm: h.oid, Parameters: asn1.NullRawValue},
		Digest: make([]byte, size),
	})
	if err != nil {
		return nil, wire.Errorf(wire.StatusPsaErrorGenericError, "encoding DigestInfo: %v", err)
	}
	return der[:len(der)-size], nil
}

func (p *Provider) hashCompute(_ context.Context, c provider.Call[*pb.HashComputeRequest]) (*pb.HashComputeResult, error) {
	alg := c.Alg
	h, err := hashSum(alg, c.Req.GetInput())
	if err != nil {
		return nil, err
	}
	return &pb.HashComputeResult{Hash: h}, nil
}

func (p *Provider) hashCompare(_ context.Context, c provider.Call[*pb.HashCompareRequest]) (*pb.HashCompareResult, error) {
	alg := c.Alg
	h, err := hashSum(alg, c.Req.GetInput())
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(h, c.Req.GetHash()) != 1 {
		return nil, wire.Errorf(wire.StatusPsaErrorInvalidSignature, "the hash does not match")
	}
	return &pb.HashCompareResult{}, nil
}
