package tpm

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// capabilities is what the TPM reports it can do; key types and
// algorithms are offered from this, not assumed.
type capabilities struct {
	manufacturer string
	transientMin int
	algs         map[tpm2.TPMAlgID]bool
	curves       map[tpm2.TPMECCCurve]bool
	rsaBits      map[int]bool
}

// discover asks the TPM for its properties, algorithms, curves and RSA key
// sizes.
func discover(t transport.TPM) (*capabilities, error) {
	c := &capabilities{algs: map[tpm2.TPMAlgID]bool{}, curves: map[tpm2.TPMECCCurve]bool{}, rsaBits: map[int]bool{}}
	rsp, err := tpm2.GetCapability{Capability: tpm2.TPMCapTPMProperties, Property: uint32(tpm2.TPMPTFamilyIndicator), PropertyCount: 64}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("reading TPM properties: %w", err)
	}
	props, err := rsp.CapabilityData.Data.TPMProperties()
	if err != nil {
		return nil, err
	}
	for _, p := range props.TPMProperty {
		switch p.Property {
		case tpm2.TPMPTManufacturer:
			c.manufacturer = strings.TrimRight(string([]byte{byte(p.Value >> 24), byte(p.Value >> 16), byte(p.Value >> 8), byte(p.Value)}), "\x00 ")
		case tpm2.TPMPTHRTransientMin:
			c.transientMin = int(p.Value)
		}
	}
	rsp, err = tpm2.GetCapability{Capability: tpm2.TPMCapAlgs, Property: 0, PropertyCount: 256}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("reading TPM algorithms: %w", err)
	}
	algs, err := rsp.CapabilityData.Data.Algorithms()
	if err != nil {
		return nil, err
	}
	for _, a := range algs.AlgProperties {
		c.algs[a.Alg] = true
	}
	if c.algs[tpm2.TPMAlgECC] {
		rsp, err = tpm2.GetCapability{Capability: tpm2.TPMCapECCCurves, Property: 0, PropertyCount: 64}.Execute(t)
		if err != nil {
			return nil, fmt.Errorf("reading TPM curves: %w", err)
		}
		curves, err := rsp.CapabilityData.Data.ECCCurves()
		if err != nil {
			return nil, err
		}
		for _, cv := range curves.ECCCurves {
			c.curves[cv] = true
		}
	}
	if c.algs[tpm2.TPMAlgRSA] {
		for _, bits := range []int{1024, 2048, 3072, 4096} {
			_, err := tpm2.TestParms{Parameters: tpm2.TPMTPublicParms{
				Type: tpm2.TPMAlgRSA,
				Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
					Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
					Scheme:    tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull},
					KeyBits:   tpm2.TPMIRSAKeyBits(bits),
				}),
			}}.Execute(t)
			switch {
			case err == nil:
				c.rsaBits[bits] = true
			case isTransport(err):
				return nil, err
			}
		}
	}
	return c, nil
}

// srkTemplate picks the storage root template: the TCG ECC P-256 SRK when
// the TPM has the curve (derived in milliseconds), else the RSA-2048 one.
func (c *capabilities) srkTemplate() tpm2.TPMTPublic {
	if c.curves[tpm2.TPMECCNistP256] {
		return tpm2.ECCSRKTemplate
	}
	return tpm2.RSASRKTemplate
}

func (c *capabilities) rsaSizes() []int {
	var s []int
	for b := range c.rsaBits {
		s = append(s, b)
	}
	sort.Ints(s)
	return s
}

var curveNames = map[tpm2.TPMECCCurve]string{
	tpm2.TPMECCNistP192: "P-192", tpm2.TPMECCNistP224: "P-224", tpm2.TPMECCNistP256: "P-256",
	tpm2.TPMECCNistP384: "P-384", tpm2.TPMECCNistP521: "P-521", tpm2.TPMECCBNP256: "BN-256",
	tpm2.TPMECCBNP638: "BN-638", tpm2.TPMECCSM2P256: "SM2-256",
	tpm2.TPMECCBrainpoolP256R1: "brainpoolP256r1", tpm2.TPMECCBrainpoolP384R1: "brainpoolP384r1",
	tpm2.TPMECCBrainpoolP512R1: "brainpoolP512r1", tpm2.TPMECCCurve25519: "Curve25519",
}

func (c *capabilities) curveNames() []string {
	var ids []int
	for cv := range c.curves {
		ids = append(ids, int(cv))
	}
	sort.Ints(ids)
	var s []string
	for _, id := range ids {
		if n, ok := curveNames[tpm2.TPMECCCurve(id)]; ok {
			s = append(s, n)
		} else {
			s = append(s, fmt.Sprintf("curve(%#x)", id))
		}
	}
	return s
}
