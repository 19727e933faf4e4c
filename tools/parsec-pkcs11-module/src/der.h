/* The little DER the module reads and writes: PKCS#1 RSA keys, curve
 * object identifiers, SubjectPublicKeyInfo, EC points. */
#ifndef PARSEC_P11_DER_H
#define PARSEC_P11_DER_H
#include <stddef.h>
#include <stdint.h>

#include "pb.h"

struct der {
	const uint8_t *p, *end;
};

/* der_next reads one TLV of tag from r into content: 0 ok, -1 otherwise. */
int der_next(struct der *r, uint8_t tag, struct der *content);
/* der_int reads an INTEGER's magnitude without leading zero bytes. */
int der_int(struct der *r, struct der *mag);
void der_tlv(struct buf *b, uint8_t tag, const void *p, size_t n);

/* curve_oid returns the DER (tag 06 included) of a curve, NULL if unknown. */
const uint8_t *curve_oid(int family, uint32_t bits, size_t *n);
/* curve_bits reads CKA_EC_PARAMS for the curves keys are generated on
 * (secp256r1, secp384r1, secp521r1): the bits, or 0. */
uint32_t curve_bits(const uint8_t *der, size_t n);
/* spki wraps a PSA public key export in a SubjectPublicKeyInfo. */
int spki(struct buf *b, int rsa, int family, uint32_t bits, const uint8_t *pub, size_t n);
#endif
