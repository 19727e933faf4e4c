package tpm

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"

	"github.com/parsec-go/parsec/service/provider"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
)

// maxRandomChunk is the most TPM2_GetRandom returns at once (the size of
// the TPM's largest digest).
const maxRandomChunk = 64

// randomBatch is how many TPM2_GetRandom calls run under one lock.
const randomBatch = 64

func (p *Provider) generateRandom(_ context.Context, c provider.Call[*pb.GenerateRandomRequest]) (*pb.GenerateRandomResult, error) {
	size := c.Req.GetSize()
	if err := p.settings.CheckRandom(size); err != nil {
		return nil, err
	}
	out := make([]byte, 0, size)
	// The lock is taken per batch so a large request does not keep other
	// clients from the TPM for its whole length.
	for uint64(len(out)) < size {
		err := p.dev.run(func(o *op) error {
			for i := 0; i < randomBatch && uint64(len(out)) < size; i++ {
				n := size - uint64(len(out))
				if n > maxRandomChunk {
					n = maxRandomChunk
				}
				var extra []tpm2.Session
				s, err := o.session()
				var ha *hierarchyAuthError
				if errors.As(err, &ha) {
					// No storage root to salt the session with (wrong
					// owner auth): random still works, unencrypted.
					s, err = nil, nil
				}
				if err != nil {
					return err
				}
				if s != nil {
					// An encrypt-only session: the bytes come back encrypted.
					extra = append(extra, s.use(nil, false, true))
				}
				rsp, err := tpm2.GetRandom{BytesRequested: uint16(n)}.Execute(o.tpm(), extra...)
				if err != nil {
					return fmt.Errorf("TPM2_GetRandom: %w", err)
				}
				if len(rsp.RandomBytes.Buffer) == 0 {
					return wire.Errorf(wire.StatusPsaErrorInsufficientEntropy, "TPM returned no random bytes")
				}
				out = append(out, rsp.RandomBytes.Buffer...)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return &pb.GenerateRandomResult{RandomBytes: out[:size]}, nil
}
