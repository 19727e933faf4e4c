package provider

import (
	"context"

	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/service/auth"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// Request is one decoded request with the PSA values Parsec's protobuf
// conversion makes of it. The dispatcher converts once (Convert), before
// the identity check as Parsec does, and providers use the result instead
// of converting the message again.
type Request struct {
	Op  wire.Opcode
	Msg protomsg.Message
	// Attrs are the key attributes of GenerateKey, ImportKey and
	// CanDoCrypto.
	Attrs psa.Attributes
	// Alg is the operation's algorithm (sign, asymmetric encryption, hash,
	// AEAD, cipher, MAC or raw key agreement); AlgNone for the others.
	Alg psa.Algorithm
}

// Call is what a typed handler receives: the caller, its request message
// and the converted values of Request.
type Call[R protomsg.Message] struct {
	App   auth.Application
	Req   R
	Attrs psa.Attributes
	Alg   psa.Algorithm
}

// Convert checks msg (the decoded body of op) the way Parsec's protobuf
// conversion does, mandatory sub-messages present and enums known and not
// NONE, and keeps what it converted. Errors are InvalidEncoding.
func Convert(op wire.Opcode, msg protomsg.Message) (Request, error) {
	r := Request{Op: op, Msg: msg}
	var err error
	switch m := msg.(type) {
	case *pb.GenerateKeyRequest:
		r.Attrs, err = psa.AttributesFromProto(m.GetAttributes())
	case *pb.ImportKeyRequest:
		r.Attrs, err = psa.AttributesFromProto(m.GetAttributes())
	case *pb.CanDoCryptoRequest:
		if m.GetCheckType() == pb.CheckType_CHECKTYPE_NONE || pb.CheckType_name[int32(m.GetCheckType())] == "" {
			return r, wire.Errorf(wire.StatusInvalidEncoding, "invalid check type %d", m.GetCheckType())
		}
		r.Attrs, err = psa.AttributesFromProto(m.GetAttributes())
	case *pb.SignHashRequest:
		r.Alg, err = psa.SignFromProto(m.GetAlg())
	case *pb.VerifyHashRequest:
		r.Alg, err = psa.SignFromProto(m.GetAlg())
	case *pb.SignMessageRequest:
		r.Alg, err = psa.SignFromProto(m.GetAlg())
	case *pb.VerifyMessageRequest:
		r.Alg, err = psa.SignFromProto(m.GetAlg())
	case *pb.AsymmetricEncryptRequest:
		r.Alg, err = psa.AsymEncryptFromProto(m.GetAlg())
	case *pb.AsymmetricDecryptRequest:
		r.Alg, err = psa.AsymEncryptFromProto(m.GetAlg())
	case *pb.HashComputeRequest:
		r.Alg, err = psa.HashFromProto(m.GetAlg())
	case *pb.HashCompareRequest:
		r.Alg, err = psa.HashFromProto(m.GetAlg())
	case *pb.AeadEncryptRequest:
		r.Alg, err = psa.AEADFromProto(m.GetAlg())
	case *pb.AeadDecryptRequest:
		r.Alg, err = psa.AEADFromProto(m.GetAlg())
	case *pb.CipherEncryptRequest:
		r.Alg, err = psa.CipherFromProto(m.GetAlg())
	case *pb.CipherDecryptRequest:
		r.Alg, err = psa.CipherFromProto(m.GetAlg())
	case *pb.MacComputeRequest:
		r.Alg, err = psa.MACFromProto(m.GetAlg())
	case *pb.MacVerifyRequest:
		r.Alg, err = psa.MACFromProto(m.GetAlg())
	case *pb.RawKeyAgreementRequest:
		r.Alg, err = psa.RawKeyAgreementFromProto(m.GetAlg())
	case *pb.AttestKeyRequest:
		if m.GetParameters().GetActivateCredential() == nil {
			return r, wire.Errorf(wire.StatusInvalidEncoding, "attestation parameters are missing")
		}
	case *pb.PrepareKeyAttestationRequest:
		if m.GetParameters().GetActivateCredential() == nil {
			return r, wire.Errorf(wire.StatusInvalidEncoding, "attestation parameters are missing")
		}
	}
	return r, err
}

// Run converts msg and executes it on p, checking first that p accepts
// op: for callers that build requests themselves (the core provider's
// DeleteClient, tests).
func Run(ctx context.Context, p Provider, app auth.Application, op wire.Opcode, msg protomsg.Message) (protomsg.Message, error) {
	if !p.Accepts(op) {
		return nil, wire.Errorf(wire.StatusPsaErrorNotSupported, "provider %q does not support %v", p.Info().Name, op)
	}
	r, err := Convert(op, msg)
	if err != nil {
		return nil, err
	}
	return p.Execute(ctx, app, r)
}
