package dispatch

import (
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/pb"
	"github.com/parsec-go/parsec/wire/protomsg"
)

// Validate checks a decoded request the way Parsec's protobuf conversion
// does: mandatory sub-messages present, enums not NONE and known. It runs
// before the identity check, as in Parsec, so a malformed body from an
// anonymous client gets InvalidEncoding, not NotAuthenticated.
func Validate(m protomsg.Message) error {
	var err error
	switch r := m.(type) {
	case *pb.GenerateKeyRequest:
		_, err = psa.AttributesFromProto(r.GetAttributes())
	case *pb.ImportKeyRequest:
		_, err = psa.AttributesFromProto(r.GetAttributes())
	case *pb.CanDoCryptoRequest:
		if r.GetCheckType() == pb.CheckType_CHECKTYPE_NONE || pb.CheckType_name[int32(r.GetCheckType())] == "" {
			return wire.Errorf(wire.StatusInvalidEncoding, "invalid check type %d", r.GetCheckType())
		}
		_, err = psa.AttributesFromProto(r.GetAttributes())
	case *pb.SignHashRequest:
		_, err = psa.SignFromProto(r.GetAlg())
	case *pb.VerifyHashRequest:
		_, err = psa.SignFromProto(r.GetAlg())
	case *pb.SignMessageRequest:
		_, err = psa.SignFromProto(r.GetAlg())
	case *pb.VerifyMessageRequest:
		_, err = psa.SignFromProto(r.GetAlg())
	case *pb.AsymmetricEncryptRequest:
		_, err = psa.AsymEncryptFromProto(r.GetAlg())
	case *pb.AsymmetricDecryptRequest:
		_, err = psa.AsymEncryptFromProto(r.GetAlg())
	case *pb.HashComputeRequest:
		_, err = psa.HashFromProto(r.GetAlg())
	case *pb.HashCompareRequest:
		_, err = psa.HashFromProto(r.GetAlg())
	case *pb.AeadEncryptRequest:
		_, err = psa.AEADFromProto(r.GetAlg())
	case *pb.AeadDecryptRequest:
		_, err = psa.AEADFromProto(r.GetAlg())
	case *pb.CipherEncryptRequest:
		_, err = psa.CipherFromProto(r.GetAlg())
	case *pb.CipherDecryptRequest:
		_, err = psa.CipherFromProto(r.GetAlg())
	case *pb.MacComputeRequest:
		_, err = psa.MACFromProto(r.GetAlg())
	case *pb.MacVerifyRequest:
		_, err = psa.MACFromProto(r.GetAlg())
	case *pb.RawKeyAgreementRequest:
		_, err = psa.RawKeyAgreementFromProto(r.GetAlg())
	case *pb.AttestKeyRequest:
		if r.GetParameters().GetActivateCredential() == nil {
			return wire.Errorf(wire.StatusInvalidEncoding, "attestation parameters are missing")
		}
	case *pb.PrepareKeyAttestationRequest:
		if r.GetParameters().GetActivateCredential() == nil {
			return wire.Errorf(wire.StatusInvalidEncoding, "attestation parameters are missing")
		}
	}
	return err
}
