package ts

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/parsec-go/parsec/internal/ts/pb"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
	"github.com/parsec-go/parsec/wire/protomsg"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An ECC P-256 signing key, persistent, id 5.
var vecAttrs = KeyAttributes{
	Type: psa.ECCKeyPair(psa.EccSecpR1), Bits: 256, Lifetime: LifetimePersistent, ID: 5,
	Usage: psa.UsageSignHash | psa.UsageVerifyHash, Alg: psa.ECDSA(psa.AlgSHA256),
}

// type 0x7112, bits 256, lifetime 1, id 5, usage 0x3000, alg 0x06000609
const vecAttrsHex = "12710000 00010000 01000000 05000000 00300000 09060006"

// Request vectors, written from the packed-c layouts of the TS crypto
// protocol (fixed fields u32 LE, then tag/length u16 BE records).
func TestPackedRequestVectors(t *testing.T) {
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"generate_key", must(pcGenerateKey(vecAttrs)), vecAttrsHex},
		{"import_key", must(pcImportKey(vecAttrs, []byte{1, 2, 3})), vecAttrsHex + " 0001 0003 010203"},
		{"destroy_key", must(pcKeyID(0x3fffffff)), "ffffff3f"},
		{"copy_key", must(pcCopyKey(9, vecAttrs)), "09000000 " + vecAttrsHex},
		{"sign_hash", must(pcSign(5, psa.ECDSA(psa.AlgSHA256), []byte{0xaa, 0xaa, 0xaa, 0xaa})), "05000000 09060006 0001 0004 aaaaaaaa"},
		{"verify_hash", must(pcVerify(5, psa.ECDSA(psa.AlgSHA256), []byte{0xaa, 0xaa}, []byte{0xbb, 0xbb, 0xbb})), "05000000 09060006 0001 0002 aaaa 0002 0003 bbbbbb"},
		{"asym_encrypt no salt", must(pcAsym(2, psa.AlgRSAPKCS1v15Crypt, []byte("hi"), nil)), "02000000 00020007 0001 0002 6869"},
		{"asym_decrypt salt", must(pcAsym(2, psa.RSAOAEP(psa.AlgSHA256), []byte{0xcc}, []byte{0xdd})), "02000000 09030007 0001 0001 cc 0002 0001 dd"},
		{"generate_random", must(pcU32(32)), "20000000"},
		{"hash_setup", must(pcU32(uint32(psa.AlgSHA256))), "09000002"},
		{"hash_update", must(pcHandleData(3, []byte("abc"))), "03000000 0001 0003 616263"},
		{"aead_set_lengths", must(pcU32(7, 16, 300)), "07000000 10000000 2c010000"},
		{"raw_key_agreement", must(pcRawKeyAgreement(psa.AlgECDH, 7, []byte{0x04, 0xff})), "00000209 07000000 0001 0002 04ff"},
		{"key attributes", EncodeKeyAttributes(vecAttrs), vecAttrsHex},
	}
	for _, c := range cases {
		if want := unhex(t, c.want); !bytes.Equal(c.got, want) {
			t.Errorf("%s:\n got %x\nwant %x", c.name, c.got, want)
		}
	}
	if _, err := pcSign(1, 0, make([]byte, 0x10000)); err == nil {
		t.Error("a 64 KiB hash fits a 16-bit TLV length?")
	}
}

func TestPackedResponseParsing(t *testing.T) {
	if id, err := parseU32(unhex(t, "05000000")); err != nil || id != 5 {
		t.Errorf("parseU32 = %d, %v", id, err)
	}
	for _, bad := range []string{"", "050000", "0500000000", "0001 000000"} {
		if _, err := parseU32(unhex(t, bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("parseU32(%s) = %v", bad, err)
		}
	}
	if d, err := parseData(unhex(t, "0001 0003 aabbcc"), 1); err != nil || !bytes.Equal(d, []byte{0xaa, 0xbb, 0xcc}) {
		t.Errorf("parseData = %x, %v", d, err)
	}
	for _, bad := range []string{"", "0001 0005 aabb", "0002 0001 aa", "0001 0001 aa ff", "00"} {
		if _, err := parseData(unhex(t, bad), 1); !errors.Is(err, ErrMalformed) {
			t.Errorf("parseData(%s) = %v", bad, err)
		}
	}
	if d, err := parseOptionalData(nil, 1); err != nil || d != nil {
		t.Errorf("parseOptionalData(empty) = %x, %v", d, err)
	}
	a, err := AttributesFromFields([]uint32{0x7112, 256, 1, 5, 0x3000, 0x06000609})
	if err != nil || a != vecAttrs {
		t.Errorf("AttributesFromFields = %+v, %v", a, err)
	}
	if _, err := AttributesFromFields([]uint32{0x17112, 256, 1, 5, 0, 0}); err == nil {
		t.Error("a 17-bit key type was accepted")
	}
}

// Protobuf vectors from the proto3 wire format: tag = field<<3 | wire
// type, varints for uint32/uint64, length-delimited bytes and messages.
func TestProtobufVectors(t *testing.T) {
	cases := []struct {
		name string
		msg  protomsg.Message
		want string
	}{
		{"SignHashIn", &pb.SignHashIn{Id: 5, Alg: 0x06000609, Hash: []byte{0xaa, 0xaa}}, "0805 10 898c8030 1a02aaaa"},
		{"GenerateKeyIn", &pb.GenerateKeyIn{Attributes: PBAttributes(vecAttrs)},
			// attributes (field 1, 21 bytes): type, key_bits, lifetime, id, policy (field 5, 8 bytes)
			"0a15 0892e201 108002 1801 2005 2a08 088060 10898c8030"},
		{"ImportKeyIn data is field 3", &pb.ImportKeyIn{Data: []byte{1}}, "1a0101"},
		{"GenerateRandomIn", &pb.GenerateRandomIn{Size: 20}, "0814"},
		{"AsymmetricDecryptIn", &pb.AsymmetricDecryptIn{Id: 1, Alg: 0x07000309, Ciphertext: []byte{2}, Salt: []byte{3}}, "0801 1089868038 1a0102 220103"},
	}
	for _, c := range cases {
		got, err := protomsg.Marshal(c.msg)
		if err != nil {
			t.Fatal(err)
		}
		if want := unhex(t, c.want); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %x\nwant %x", c.name, got, want)
		}
	}
	var out pb.KeyAttributes
	if err := protomsg.Unmarshal(unhex(t, "0892e201 108002 1801 2005 2a08 088060 10898c8030"), &out); err != nil {
		t.Fatal(err)
	}
	if a, err := AttributesFromPB(&out); err != nil || a != vecAttrs {
		t.Errorf("AttributesFromPB = %+v, %v", a, err)
	}
}

func TestStorageVectors(t *testing.T) {
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"set", StorageSetRequest(0x0102030405060708, []byte("hi"), 1), "0807060504030201 0200000000000000 01000000 6869"},
		{"get", StorageGetRequest(1, 2, 3), "0100000000000000 0200000000000000 0300000000000000"},
		{"create", StorageCreateRequest(9, 4096, 4), "0900000000000000 0010000000000000 04000000"},
		{"set_extended", StorageSetExtendedRequest(9, 16, []byte{0xee}), "0900000000000000 1000000000000000 0100000000000000 ee"},
		{"remove", StorageUIDRequest(0xff), "ff00000000000000"},
	}
	for _, c := range cases {
		if want := unhex(t, c.want); !bytes.Equal(c.got, want) {
			t.Errorf("%s:\n got %x\nwant %x", c.name, c.got, want)
		}
	}
}

func TestStatusMapping(t *testing.T) {
	psaCases := []struct {
		in   PSAStatus
		want wire.Status
	}{
		{PSASuccess, wire.StatusSuccess},
		{PSAErrorDoesNotExist, wire.StatusPsaErrorDoesNotExist},
		{PSAErrorNotPermitted, wire.StatusPsaErrorNotPermitted},
		{PSAErrorInvalidSignature, wire.StatusPsaErrorInvalidSignature},
		{PSAErrorDataInvalid, wire.StatusPsaErrorDataInvalid},
		{PSAErrorInsufficientEntropy, wire.StatusPsaErrorInsufficientEntropy},
		{PSAErrorGenericError, wire.StatusPsaErrorGenericError},
		{PSAErrorServiceFailure, wire.StatusPsaErrorGenericError},
		{PSAErrorProgrammerError, wire.StatusPsaErrorGenericError},
		{PSAErrorConnectionBusy, wire.StatusPsaErrorCommunicationFailure},
		{-1, wire.StatusPsaErrorGenericError},
		{7, wire.StatusPsaErrorGenericError},
		{-2000, wire.StatusPsaErrorGenericError},
	}
	for _, c := range psaCases {
		if got := c.in.ParsecStatus(); got != c.want {
			t.Errorf("%v -> %v, want %v", c.in, got, c.want)
		}
	}
	// TS v1.0 numbering: -2 is INVALID_VALUE (pre-1.0: INVALID_OPCODE),
	// -6 INVALID_REQUEST_BODY (pre-1.0: RESOURCE_FAILURE), -8
	// RESOURCE_FAILURE (pre-1.0: INVALID_TRANSACTION).
	rpcCases := []struct {
		in   RPCStatus
		name string
		want wire.Status
	}{
		{RPCSuccess, "RPC_SUCCESS", wire.StatusSuccess},
		{-1, "RPC_INTERNAL", wire.StatusPsaErrorCommunicationFailure},
		{-2, "RPC_INVALID_VALUE", wire.StatusPsaErrorNotSupported},
		{-3, "RPC_NOT_FOUND", wire.StatusPsaErrorCommunicationFailure},
		{-4, "RPC_INVALID_STATE", wire.StatusPsaErrorBadState},
		{-5, "RPC_TRANSPORT_LAYER", wire.StatusPsaErrorCommunicationFailure},
		{-6, "RPC_INVALID_REQUEST_BODY", wire.StatusPsaErrorInvalidArgument},
		{-7, "RPC_INVALID_RESPONSE_BODY", wire.StatusPsaErrorCommunicationFailure},
		{-8, "RPC_RESOURCE_FAILURE", wire.StatusPsaErrorInsufficientMemory},
	}
	for _, c := range rpcCases {
		if c.in.String() != c.name || c.in.ParsecStatus() != c.want {
			t.Errorf("%d: %s -> %v, want %s -> %v", int32(c.in), c.in, c.in.ParsecStatus(), c.name, c.want)
		}
	}
	e := error(&Error{Service: "crypto", Op: "SIGN_HASH", Status: PSAErrorDoesNotExist})
	if !errors.Is(e, wire.StatusPsaErrorDoesNotExist) || !errors.Is(e, PSAErrorDoesNotExist) || ParsecStatus(e) != wire.StatusPsaErrorDoesNotExist {
		t.Errorf("Error matching broken: %v", e)
	}
	if ParsecStatus(ErrTooLarge) != wire.StatusPsaErrorInvalidArgument || ParsecStatus(errors.New("x")) != wire.StatusPsaErrorCommunicationFailure {
		t.Error("fallback mapping wrong")
	}
}

func TestLookupService(t *testing.T) {
	for name, want := range map[string]Service{
		"crypto":                          ServiceCrypto,
		"sn:trustedfirmware.org:crypto:0": ServiceCrypto,
		"urn:sn:trustedfirmware.org:crypto-protobuf:0":          ServiceCryptoProtobuf,
		"sn:trustedfirmware.org:internal-trusted-storage.1.0:0": ServiceITS,
		"attestation": ServiceAttestation,
	} {
		if got, err := LookupService(name); err != nil || got != want {
			t.Errorf("LookupService(%s) = %v, %v", name, got, err)
		}
	}
	for _, bad := range []string{"", "sn:example.org:crypto:0", "nope", "sn:trustedfirmware.org:crypto"} {
		if _, err := LookupService(bad); err == nil {
			t.Errorf("LookupService(%q) succeeded", bad)
		}
	}
}

func FuzzParseResponses(f *testing.F) {
	f.Add([]byte{0, 1, 0, 1, 0xaa})
	f.Add(unhex(f, vecAttrsHex))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseU32(b)
		parseData(b, 1)
		parseOptionalData(b, 1)
		var out pb.KeyAttributes
		if protomsg.Unmarshal(b, &out) == nil {
			AttributesFromPB(&out)
		}
	})
}
