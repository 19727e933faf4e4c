package software

import (
	"encoding/asn1"
	"math/big"

	"github.com/parsec-go/parsec/wire"
)

// rsaPrivateKeyASN1 is PKCS#1's RSAPrivateKey (RFC 8017, appendix A.1.2),
// with the same optional fields crypto/x509 tolerates, so this pre-check
// accepts whatever x509.ParsePKCS1PrivateKey accepts.
type rsaPrivateKeyASN1 struct {
	Version         int
	Modulus         *big.Int
	PublicExponent  int
	PrivateExponent *big.Int
	Prime1, Prime2  *big.Int
	Exponent1       *big.Int            `asn1:"optional"`
	Exponent2       *big.Int            `asn1:"optional"`
	Coefficient     *big.Int            `asn1:"optional"`
	OtherPrimeInfos []rsaOtherPrimeInfo `asn1:"optional,omitempty"`
}

type rsaOtherPrimeInfo struct {
	Prime, Exponent, Coefficient *big.Int
}

// precheckRSAPrivateKey bounds the cost of importing an RSA key pair.
// x509.ParsePKCS1PrivateKey validates the key with constant-time
// arithmetic whose cost grows with the cube of the prime sizes, and with
// the module's go 1.22 GODEBUG defaults (x509rsacrt=0) it validates an
// inconsistent key twice: a few kilobytes of crafted DER kept it busy for
// seconds. Everything here is linear or quadratic in sizes bounded by
// rsaMaxBits, and rejects any DER whose primes are not the modulus's
// factors, which is what arbitrary bytes are, before that validation
// runs. The statuses are those parseKey gives the same inputs after a
// full parse: an oversized modulus is not supported, anything else that
// is not a key is an invalid argument.
func precheckRSAPrivateKey(data []byte) error {
	var k rsaPrivateKeyASN1
	rest, err := asn1.Unmarshal(data, &k)
	if err != nil {
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "RSA key pair is not a valid PKCS#1 RSAPrivateKey: %v", err)
	}
	if len(rest) > 0 {
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "RSA key pair is not a valid PKCS#1 RSAPrivateKey: trailing data")
	}
	nBits := k.Modulus.BitLen()
	if nBits > rsaMaxBits {
		return wire.Errorf(wire.StatusPsaErrorNotSupported, "RSA keys above %d bits are not supported", rsaMaxBits)
	}
	// A product has at least the bit length of each factor and at most
	// their sum, so checking each factor first keeps every multiplication
	// below rsaMaxBits plus one factor, and stops a long list of other
	// primes after at most rsaMaxBits factors greater than one.
	product := big.NewInt(1)
	primes := []*big.Int{k.Prime1, k.Prime2}
	for _, o := range k.OtherPrimeInfos {
		primes = append(primes, o.Prime)
	}
	for _, p := range primes {
		if p.BitLen() > nBits {
			return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "an RSA prime is longer than the %d-bit modulus", nBits)
		}
		product.Mul(product, p)
		if product.BitLen() > nBits {
			return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the RSA primes multiply to more than the %d-bit modulus", nBits)
		}
	}
	if product.Cmp(k.Modulus) != 0 {
		return wire.Errorf(wire.StatusPsaErrorInvalidArgument, "the RSA primes do not multiply to the modulus")
	}
	return nil
}
