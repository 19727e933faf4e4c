#include "der.h"

#include <string.h>

int der_next(struct der *r, uint8_t tag, struct der *c)
{
	size_t len = 0, nb, i;
	if (r->end - r->p < 2 || r->p[0] != tag)
		return -1;
	len = r->p[1];
	r->p += 2;
	if (len & 0x80) {
		nb = len & 0x7f;
		if (nb == 0 || nb > 4 || (size_t)(r->end - r->p) < nb)
			return -1;
		for (len = 0, i = 0; i < nb; i++)
			len = len << 8 | *r->p++;
	}
	if (len > (size_t)(r->end - r->p))
		return -1;
	c->p = r->p;
	c->end = r->p + len;
	r->p += len;
	return 0;
}

int der_int(struct der *r, struct der *mag)
{
	if (der_next(r, 0x02, mag) < 0 || mag->p == mag->end)
		return -1;
	while (mag->end - mag->p > 1 && mag->p[0] == 0)
		mag->p++;
	if (mag->end - mag->p == 1 && mag->p[0] == 0)
		mag->p++; /* zero: no bytes, as big.Int.Bytes gives */
	return 0;
}

void der_tlv(struct buf *b, uint8_t tag, const void *p, size_t n)
{
	uint8_t h[6];
	size_t k = 0;
	h[k++] = tag;
	if (n < 0x80) {
		h[k++] = (uint8_t)n;
	} else if (n < 0x100) {
		h[k++] = 0x81;
		h[k++] = (uint8_t)n;
	} else if (n < 0x10000) {
		h[k++] = 0x82;
		h[k++] = (uint8_t)(n >> 8);
		h[k++] = (uint8_t)n;
	} else {
		h[k++] = 0x83;
		h[k++] = (uint8_t)(n >> 16);
		h[k++] = (uint8_t)(n >> 8);
		h[k++] = (uint8_t)n;
	}
	buf_put(b, h, k);
	buf_put(b, p, n);
}

static const uint8_t oid_p192[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01};
static const uint8_t oid_p224[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x21};
static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t oid_p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
static const uint8_t oid_k192[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x1f};
static const uint8_t oid_k224[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x20};
static const uint8_t oid_k256[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a};

#define RET(o) \
	do { \
		*n = sizeof o; \
		return o; \
	} while (0)

const uint8_t *curve_oid(int family, uint32_t bits, size_t *n)
{
	if (family == 2) { /* SECP_R1 */
		switch (bits) {
		case 192:
			RET(oid_p192);
		case 224:
			RET(oid_p224);
		case 256:
			RET(oid_p256);
		case 384:
			RET(oid_p384);
		case 521:
			RET(oid_p521);
		}
	} else if (family == 1) { /* SECP_K1 */
		switch (bits) {
		case 192:
			RET(oid_k192);
		case 224:
			RET(oid_k224);
		case 256:
			RET(oid_k256);
		}
	}
	*n = 0;
	return NULL;
}

uint32_t curve_bits(const uint8_t *der, size_t n)
{
	static const uint32_t bits[] = {256, 384, 521};
	for (size_t i = 0; i < 3; i++) {
		size_t on;
		const uint8_t *o = curve_oid(2, bits[i], &on);
		if (n == on && memcmp(der, o, n) == 0)
			return bits[i];
	}
	return 0;
}

int spki(struct buf *b, int rsa, int family, uint32_t bits, const uint8_t *pub, size_t n)
{
	static const uint8_t rsa_alg[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
	static const uint8_t ec_oid[] = {0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
	struct buf alg = {0}, bits_str = {0}, body = {0};
	int rc = 0;
	if (rsa) {
		buf_put(&alg, rsa_alg, sizeof rsa_alg);
	} else {
		size_t on;
		const uint8_t *o = curve_oid(family, bits, &on);
		if (!o)
			return -1;
		buf_put(&alg, ec_oid, sizeof ec_oid);
		buf_put(&alg, o, on);
	}
	der_tlv(&body, 0x30, alg.p, alg.n);
	buf_byte(&bits_str, 0); /* no unused bits */
	buf_put(&bits_str, pub, n);
	der_tlv(&body, 0x03, bits_str.p, bits_str.n);
	der_tlv(b, 0x30, body.p, body.n);
	if (alg.oom || bits_str.oom || body.oom || b->oom)
		rc = -1;
	buf_free(&alg);
	buf_free(&bits_str);
	buf_free(&body);
	return rc;
}
