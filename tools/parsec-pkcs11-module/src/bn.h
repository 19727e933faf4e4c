/* Just enough multi-precision arithmetic to verify RSA and ECDSA
 * signatures with public keys: numbers are little-endian arrays of 32-bit
 * limbs, and products are reduced with Montgomery multiplication modulo an
 * odd modulus (an RSA modulus, a curve's prime or order). Verification
 * handles only public data, so nothing here needs to be constant-time. */
#ifndef PARSEC_P11_BN_H
#define PARSEC_P11_BN_H
#include <stddef.h>
#include <stdint.h>

#define BN_MAX_BITS 4096
#define BN_LIMBS (BN_MAX_BITS / 32 + 1)

struct mont {
	int n;		    /* limbs of the modulus */
	uint32_t m[BN_LIMBS];  /* the modulus */
	uint32_t rr[BN_LIMBS]; /* R^2 mod m, R = 2^(32n) */
	uint32_t one[BN_LIMBS]; /* R mod m: 1 in Montgomery form */
	uint32_t minv;	    /* -m^-1 mod 2^32 */
};

/* bn_from_bytes reads a big-endian number into n limbs (-1: too large). */
int bn_from_bytes(uint32_t *x, int n, const uint8_t *b, size_t len);
void bn_to_bytes(const uint32_t *x, int n, uint8_t *b, size_t len);
int bn_cmp(const uint32_t *a, const uint32_t *b, int n);
int bn_is_zero(const uint32_t *a, int n);
size_t bn_bits(const uint32_t *a, int n);
/* mont_init sets up arithmetic modulo an odd big-endian modulus. */
int mont_init(struct mont *c, const uint8_t *mod, size_t len);
void mont_mul(const struct mont *c, uint32_t *r, const uint32_t *a, const uint32_t *b);
void mont_add(const struct mont *c, uint32_t *r, const uint32_t *a, const uint32_t *b);
void mont_sub(const struct mont *c, uint32_t *r, const uint32_t *a, const uint32_t *b);
/* mont_reduce1 makes x < m for an x < 2m. */
void mont_reduce1(const struct mont *c, uint32_t *x);
/* mont_exp: r = a^e, a and r in Montgomery form, e big-endian bytes. */
void mont_exp(const struct mont *c, uint32_t *r, const uint32_t *a, const uint8_t *e, size_t elen);
/* to/from Montgomery form. */
void mont_to(const struct mont *c, uint32_t *r, const uint32_t *a);
void mont_from(const struct mont *c, uint32_t *r, const uint32_t *a);
#endif
