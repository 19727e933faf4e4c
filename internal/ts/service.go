package ts

import (
	"fmt"
	"strings"

	"github.com/parsec-go/parsec/internal/tee"
)

// Service is a Trusted Services service: what OPEN_SESSION's UUID selects.
type Service struct {
	Name string
	UUID tee.UUID
}

// The services Parsec uses. Since TS v1.0 the encoding of the crypto
// service is chosen by its UUID; both are hosted by the crypto partition
// (and by se-proxy) over one key store.
var (
	ServiceCrypto         = Service{"crypto", tee.MustUUID("d9df52d5-16a2-4bb2-9aa4-d26d3b84e8c0")}
	ServiceCryptoProtobuf = Service{"crypto-protobuf", tee.MustUUID("6ba9de75-393e-4c7f-aabb-7f71cc6b142e")}
	ServiceITS            = Service{"internal-trusted-storage", tee.MustUUID("dc1eef48-b17a-4ccf-ac8b-dfcff7711b14")}
	ServicePS             = Service{"protected-storage", tee.MustUUID("751bf801-3dde-4768-a514-0f10aeed1790")}
	ServiceAttestation    = Service{"attestation", tee.MustUUID("a1baf155-8876-4695-8f7c-54955e8db974")}
)

// PartitionUUID is the FF-A UUID every TS partition registers since TS
// v1.0 (the "TS RPC protocol" UUID the arm_tstee driver binds to).
var PartitionUUID = tee.MustUUID("bdcd76d7-825e-4751-963b-86d4f84943ac")

// Services lists the known services.
var Services = []Service{ServiceCrypto, ServiceCryptoProtobuf, ServiceITS, ServicePS, ServiceAttestation}

// LookupService resolves a service by bare name ("crypto") or service
// name ("sn:trustedfirmware.org:crypto:0", optionally with "urn:" and a
// ".version" suffix on the service).
func LookupService(name string) (Service, error) {
	svc := name
	if strings.HasPrefix(svc, "urn:") {
		svc = strings.TrimPrefix(svc, "urn:")
	}
	if strings.HasPrefix(svc, "sn:") {
		parts := strings.Split(svc, ":")
		if len(parts) != 4 || parts[1] != "trustedfirmware.org" {
			return Service{}, fmt.Errorf("ts: service name %q: want sn:trustedfirmware.org:<service>:<instance>", name)
		}
		svc = parts[2]
		if i := strings.IndexByte(svc, '.'); i >= 0 {
			svc = svc[:i]
		}
	}
	for _, s := range Services {
		if s.Name == svc {
			return s, nil
		}
	}
	return Service{}, fmt.Errorf("ts: unknown service %q", name)
}
