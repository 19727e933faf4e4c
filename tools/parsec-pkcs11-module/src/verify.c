#include "verify.h"

#include <stdlib.h>
#include <string.h>

#include "bn.h"
#include "der.h"

/* ---- ECDSA -------------------------------------------------------------- */

/* Curve parameters (SEC 2 / FIPS 186-4), big-endian hex: p, b, Gx, Gy, n.
 * a = -3 on all three. */
static const struct curve_hex {
	uint32_t bits;
	const char *p, *b, *gx, *gy, *n;
} curves[] = {
	{256, "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
	 "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
	 "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
	 "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
	 "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"},
	{384, "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
	 "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
	 "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
	 "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
	 "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973"},
	{521,
	 "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	 "0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
	 "00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66",
	 "011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650",
	 "01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"},
};

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = strlen(h) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = h[2 * i + k];
			v = v << 4 | (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
		}
		out[i] = (uint8_t)v;
	}
	return n;
}

typedef uint32_t fe[BN_LIMBS];

struct pt {
	fe x, y, z; /* Jacobian, Montgomery form; z = 0: the point at infinity */
};

struct ec {
	struct mont p, n;
	fe b; /* Montgomery form */
	struct pt g;
	size_t plen; /* bytes of a coordinate */
};

static int pt_inf(const struct ec *e, const struct pt *a) { return bn_is_zero(a->z, e->p.n); }

/* dbl: r = 2a for a = -3 (dbl-2001-b). */
static void pt_dbl(const struct ec *e, struct pt *r, const struct pt *a)
{
	const struct mont *c = &e->p;
	fe delta, gamma, beta, alpha, t1, t2;
	if (pt_inf(e, a) || bn_is_zero(a->y, c->n)) {
		memset(r, 0, sizeof *r);
		return;
	}
	mont_mul(c, delta, a->z, a->z);
	mont_mul(c, gamma, a->y, a->y);
	mont_mul(c, beta, a->x, gamma);
	mont_sub(c, t1, a->x, delta);
	mont_add(c, t2, a->x, delta);
	mont_mul(c, alpha, t1, t2);
	mont_add(c, t1, alpha, alpha);
	mont_add(c, alpha, t1, alpha); /* alpha = 3 (x - delta)(x + delta) */
	/* z3 = (y + z)^2 - gamma - delta */
	mont_add(c, t1, a->y, a->z);
	mont_mul(c, t1, t1, t1);
	mont_sub(c, t1, t1, gamma);
	mont_sub(c, r->z, t1, delta);
	/* x3 = alpha^2 - 8 beta */
	mont_add(c, beta, beta, beta);
	mont_add(c, beta, beta, beta); /* beta = 4 beta */
	mont_mul(c, t1, alpha, alpha);
	mont_add(c, t2, beta, beta);
	mont_sub(c, r->x, t1, t2);
	/* y3 = alpha (4 beta - x3) - 8 gamma^2 */
	mont_sub(c, t1, beta, r->x);
	mont_mul(c, t1, alpha, t1);
	mont_mul(c, gamma, gamma, gamma);
	mont_add(c, gamma, gamma, gamma);
	mont_add(c, gamma, gamma, gamma);
	mont_add(c, gamma, gamma, gamma);
	mont_sub(c, r->y, t1, gamma);
}

/* add: r = a + b (add-2007-bl), any points. */
static void pt_add(const struct ec *e, struct pt *r, const struct pt *a, const struct pt *b)
{
	const struct mont *c = &e->p;
	fe z1z1, z2z2, u1, u2, s1, s2, h, i, j, rr, v, t;
	if (pt_inf(e, a)) {
		*r = *b;
		return;
	}
	if (pt_inf(e, b)) {
		*r = *a;
		return;
	}
	mont_mul(c, z1z1, a->z, a->z);
	mont_mul(c, z2z2, b->z, b->z);
	mont_mul(c, u1, a->x, z2z2);
	mont_mul(c, u2, b->x, z1z1);
	mont_mul(c, t, b->z, z2z2);
	mont_mul(c, s1, a->y, t);
	mont_mul(c, t, a->z, z1z1);
	mont_mul(c, s2, b->y, t);
	mont_sub(c, h, u2, u1);
	mont_sub(c, rr, s2, s1);
	if (bn_is_zero(h, c->n)) {
		if (bn_is_zero(rr, c->n)) {
			pt_dbl(e, r, a);
			return;
		}
		memset(r, 0, sizeof *r);
		return;
	}
	mont_add(c, rr, rr, rr);
	mont_add(c, i, h, h);
	mont_mul(c, i, i, i);
	mont_mul(c, j, h, i);
	mont_mul(c, v, u1, i);
	/* z3 = ((z1 + z2)^2 - z1z1 - z2z2) h (before x3, y3 overwrite r) */
	mont_add(c, t, a->z, b->z);
	mont_mul(c, t, t, t);
	mont_sub(c, t, t, z1z1);
	mont_sub(c, t, t, z2z2);
	mont_mul(c, r->z, t, h);
	/* x3 = rr^2 - j - 2v */
	mont_mul(c, t, rr, rr);
	mont_sub(c, t, t, j);
	mont_sub(c, t, t, v);
	mont_sub(c, r->x, t, v);
	/* y3 = rr (v - x3) - 2 s1 j */
	mont_sub(c, t, v, r->x);
	mont_mul(c, t, rr, t);
	mont_mul(c, s1, s1, j);
	mont_add(c, s1, s1, s1);
	mont_sub(c, r->y, t, s1);
}

static void pt_mul(const struct ec *e, struct pt *r, const uint32_t *k, const struct pt *a)
{
	struct pt acc;
	size_t bits = bn_bits(k, e->n.n);
	memset(&acc, 0, sizeof acc);
	for (size_t i = bits; i-- > 0;) {
		pt_dbl(e, &acc, &acc);
		if (k[i / 32] >> (i % 32) & 1)
			pt_add(e, &acc, &acc, a);
	}
	*r = acc;
}

static int ec_init(struct ec *e, uint32_t bits)
{
	const struct curve_hex *h = NULL;
	uint8_t tmp[80];
	fe x;
	size_t n;
	for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++)
		if (curves[i].bits == bits)
			h = &curves[i];
	if (!h)
		return -1;
	n = unhex(h->p, tmp);
	if (mont_init(&e->p, tmp, n) < 0)
		return -1;
	n = unhex(h->n, tmp);
	if (mont_init(&e->n, tmp, n) < 0)
		return -1;
	e->plen = (bits + 7) / 8;
	n = unhex(h->b, tmp);
	bn_from_bytes(x, e->p.n, tmp, n);
	mont_to(&e->p, e->b, x);
	n = unhex(h->gx, tmp);
	bn_from_bytes(x, e->p.n, tmp, n);
	mont_to(&e->p, e->g.x, x);
	n = unhex(h->gy, tmp);
	bn_from_bytes(x, e->p.n, tmp, n);
	mont_to(&e->p, e->g.y, x);
	memcpy(e->g.z, e->p.one, sizeof e->g.z);
	return 0;
}

/* on_curve: y^2 = x^3 - 3x + b, affine coordinates in Montgomery form. */
static int on_curve(const struct ec *e, const uint32_t *x, const uint32_t *y)
{
	const struct mont *c = &e->p;
	fe l, r, t;
	mont_mul(c, l, y, y);
	mont_mul(c, r, x, x);
	mont_mul(c, r, r, x);
	mont_add(c, t, x, x);
	mont_add(c, t, t, x);
	mont_sub(c, r, r, t);
	mont_add(c, r, r, e->b);
	return bn_cmp(l, r, c->n) == 0;
}

/* minus_two writes m - 2 (big-endian, n limbs' worth of bytes) to out. */
static size_t minus_two(const struct mont *c, uint8_t *out)
{
	fe t;
	uint64_t borrow = 2;
	for (int i = 0; i < c->n; i++) {
		uint64_t d = (uint64_t)c->m[i] - borrow;
		t[i] = (uint32_t)d;
		borrow = (d >> 32) & 1;
	}
	bn_to_bytes(t, c->n, out, (size_t)c->n * 4);
	return (size_t)c->n * 4;
}

int ecdsa_verify(uint32_t bits, const uint8_t *point, size_t plen, const uint8_t *digest, size_t dlen,
		 const uint8_t *sig, size_t slen)
{
	struct ec *e = calloc(1, sizeof *e);
	struct pt q, p1, p2;
	fe r, s, w, z, u1, u2, x;
	uint8_t eb[80];
	size_t nbits, ebytes;
	int rc = VERIFY_KEY;
	if (!e || ec_init(e, bits) < 0)
		goto out;
	/* The public point: 04 || X || Y, on the curve. */
	if (plen != 1 + 2 * e->plen || point[0] != 4)
		goto out;
	bn_from_bytes(x, e->p.n, point + 1, e->plen);
	bn_from_bytes(z, e->p.n, point + 1 + e->plen, e->plen);
	if (bn_cmp(x, e->p.m, e->p.n) >= 0 || bn_cmp(z, e->p.m, e->p.n) >= 0)
		goto out;
	mont_to(&e->p, q.x, x);
	mont_to(&e->p, q.y, z);
	memcpy(q.z, e->p.one, sizeof q.z);
	if (!on_curve(e, q.x, q.y))
		goto out;
	rc = VERIFY_BAD;
	/* r, s in [1, n-1]. */
	if (slen != 2 * e->plen || bn_from_bytes(r, e->n.n, sig, e->plen) < 0 ||
	    bn_from_bytes(s, e->n.n, sig + e->plen, e->plen) < 0)
		goto out;
	if (bn_is_zero(r, e->n.n) || bn_is_zero(s, e->n.n) || bn_cmp(r, e->n.m, e->n.n) >= 0 ||
	    bn_cmp(s, e->n.m, e->n.n) >= 0)
		goto out;
	/* The digest as an integer, truncated to the order's bit length. */
	nbits = bn_bits(e->n.m, e->n.n);
	ebytes = (nbits + 7) / 8;
	if (dlen > ebytes)
		dlen = ebytes;
	memset(eb, 0, sizeof eb);
	memcpy(eb, digest, dlen);
	bn_from_bytes(z, e->n.n, eb, dlen);
	if (dlen * 8 > nbits) {
		/* Shift right by the excess bits. */
		size_t sh = dlen * 8 - nbits;
		for (int i = 0; i < e->n.n; i++)
			z[i] = z[i] >> sh | (i + 1 < e->n.n ? z[i + 1] << (32 - sh) : 0);
	}
	mont_reduce1(&e->n, z);
	/* w = s^(n-2) mod n (Fermat: n is prime); u1 = z w, u2 = r w. */
	{
		uint8_t nm2[80];
		fe sm;
		size_t nl = minus_two(&e->n, nm2);
		mont_to(&e->n, sm, s);
		mont_exp(&e->n, w, sm, nm2, nl); /* w in Montgomery form */
		mont_mul(&e->n, u1, z, w);	 /* z w R / R = z w */
		mont_mul(&e->n, u2, r, w);
	}
	pt_mul(e, &p1, u1, &e->g);
	pt_mul(e, &p2, u2, &q);
	pt_add(e, &p1, &p1, &p2);
	if (pt_inf(e, &p1))
		goto out;
	/* x = X / Z^2 (Z^-1 = Z^(p-2)), then mod n. */
	{
		uint8_t pm2[80];
		size_t pl = minus_two(&e->p, pm2);
		fe zi, t;
		mont_exp(&e->p, zi, p1.z, pm2, pl);
		mont_mul(&e->p, t, zi, zi);
		mont_mul(&e->p, t, p1.x, t);
		mont_from(&e->p, x, t);
	}
	{
		fe xn;
		memset(xn, 0, sizeof xn);
		memcpy(xn, x, (size_t)e->p.n * 4);
		/* x < p < 2n; the order has as many limbs as p. */
		mont_reduce1(&e->n, xn);
		rc = bn_cmp(xn, r, e->n.n) == 0 ? VERIFY_OK : VERIFY_BAD;
	}
out:
	free(e);
	return rc;
}

/* ---- RSA ------------------------------------------------------------------ */

static const struct {
	enum sha_alg h;
	uint8_t len;
	uint8_t p[19];
} digest_info[] = {
	{SHA_1, 15, {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14}},
	{SHA_224, 19, {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c}},
	{SHA_256, 19, {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}},
	{SHA_384, 19, {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30}},
	{SHA_512, 19, {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}},
};

const uint8_t *digest_info_prefix(enum sha_alg h, size_t *n)
{
	for (size_t i = 0; i < sizeof digest_info / sizeof digest_info[0]; i++)
		if (digest_info[i].h == h) {
			*n = digest_info[i].len;
			return digest_info[i].p;
		}
	*n = 0;
	return NULL;
}

/* rsa_public computes em = sig^e mod n into k bytes (k = the modulus
 * length); returns VERIFY_KEY for a bad key, VERIFY_BAD for a bad sig. */
static int rsa_public(const uint8_t *pub, size_t publen, const uint8_t *sig, size_t slen, uint8_t **em, size_t *k,
		      size_t *modbits)
{
	struct der r = {pub, pub + publen}, seq, nn, ee;
	struct mont *c;
	fe s, t;
	*em = NULL;
	if (der_next(&r, 0x30, &seq) < 0 || der_int(&seq, &nn) < 0 || der_int(&seq, &ee) < 0 || ee.p == ee.end)
		return VERIFY_KEY;
	c = malloc(sizeof *c);
	if (!c)
		return VERIFY_KEY;
	if (mont_init(c, nn.p, (size_t)(nn.end - nn.p)) < 0) {
		free(c);
		return VERIFY_KEY;
	}
	*modbits = bn_bits(c->m, c->n);
	*k = (*modbits + 7) / 8;
	if (slen != *k || bn_from_bytes(s, c->n, sig, slen) < 0 || bn_cmp(s, c->m, c->n) >= 0) {
		free(c);
		return VERIFY_BAD;
	}
	*em = malloc(*k);
	if (!*em) {
		free(c);
		return VERIFY_KEY;
	}
	mont_to(c, t, s);
	mont_exp(c, t, t, ee.p, (size_t)(ee.end - ee.p));
	mont_from(c, s, t);
	bn_to_bytes(s, c->n, *em, *k);
	free(c);
	return VERIFY_OK;
}

int rsa_pkcs1_verify(const uint8_t *pub, size_t publen, enum sha_alg hash, const uint8_t *in, size_t inlen,
		     const uint8_t *sig, size_t slen)
{
	uint8_t *em;
	size_t k, bits, pl, tlen, i;
	const uint8_t *prefix = digest_info_prefix(hash, &pl);
	int rc = rsa_public(pub, publen, sig, slen, &em, &k, &bits);
	if (rc != VERIFY_OK)
		return rc;
	/* EM = 00 01 FF..FF 00 || T, at least 8 bytes of FF. */
	tlen = pl + inlen;
	rc = VERIFY_BAD;
	if (k >= tlen + 11 && em[0] == 0 && em[1] == 1 && em[k - tlen - 1] == 0) {
		for (i = 2; i < k - tlen - 1 && em[i] == 0xff; i++)
			;
		if (i == k - tlen - 1 && (pl == 0 || memcmp(em + k - tlen, prefix, pl) == 0) &&
		    memcmp(em + k - inlen, in, inlen) == 0)
			rc = VERIFY_OK;
	}
	free(em);
	return rc;
}

static void mgf1_xor(enum sha_alg h, const uint8_t *seed, size_t slen, uint8_t *out, size_t n)
{
	uint8_t d[SHA_MAX_DIGEST], ctr[4];
	size_t hl = sha_size(h);
	for (uint32_t c = 0, done = 0; done < n; c++) {
		struct sha_ctx x;
		ctr[0] = (uint8_t)(c >> 24);
		ctr[1] = (uint8_t)(c >> 16);
		ctr[2] = (uint8_t)(c >> 8);
		ctr[3] = (uint8_t)c;
		sha_init(&x, h);
		sha_update(&x, seed, slen);
		sha_update(&x, ctr, 4);
		sha_final(&x, d);
		for (size_t i = 0; i < hl && done < n; i++)
			out[done++] ^= d[i];
	}
}

int rsa_pss_verify(const uint8_t *pub, size_t publen, enum sha_alg hash, size_t salt_len, const uint8_t *digest,
		   size_t dlen, const uint8_t *sig, size_t slen)
{
	uint8_t *em, *db, hh[SHA_MAX_DIGEST];
	size_t k, bits, embits, emlen, hl = sha_size(hash), dblen, i, zbits;
	int rc;
	if (hl == 0 || dlen != hl)
		return VERIFY_BAD;
	rc = rsa_public(pub, publen, sig, slen, &em, &k, &bits);
	if (rc != VERIFY_OK)
		return rc;
	rc = VERIFY_BAD;
	embits = bits - 1;
	emlen = (embits + 7) / 8;
	/* em holds k bytes; EM is its last emlen bytes (the first is 0 when
	 * emlen < k). */
	if (emlen < k && em[0] != 0)
		goto out;
	db = em + (k - emlen);
	if (emlen < hl + 2 || db[emlen - 1] != 0xbc)
		goto out;
	dblen = emlen - hl - 1;
	zbits = 8 * emlen - embits;
	if (zbits && (db[0] >> (8 - zbits)))
		goto out;
	memcpy(hh, db + dblen, hl);
	mgf1_xor(hash, hh, hl, db, dblen);
	if (zbits)
		db[0] &= (uint8_t)(0xff >> zbits);
	/* DB = PS (zeros) || 01 || salt. */
	for (i = 0; i < dblen && db[i] == 0; i++)
		;
	if (i == dblen || db[i] != 1)
		goto out;
	if (salt_len && dblen - i - 1 != salt_len)
		goto out;
	{
		static const uint8_t zeros[8];
		struct sha_ctx x;
		uint8_t h2[SHA_MAX_DIGEST];
		sha_init(&x, hash);
		sha_update(&x, zeros, 8);
		sha_update(&x, digest, dlen);
		sha_update(&x, db + i + 1, dblen - i - 1);
		sha_final(&x, h2);
		if (memcmp(h2, hh, hl) == 0)
			rc = VERIFY_OK;
	}
out:
	free(em);
	return rc;
}
