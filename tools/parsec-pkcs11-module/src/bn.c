#include "bn.h"

#include <string.h>

int bn_from_bytes(uint32_t *x, int n, const uint8_t *b, size_t len)
{
	memset(x, 0, (size_t)n * 4);
	while (len > 0 && b[0] == 0) {
		b++;
		len--;
	}
	if (len > (size_t)n * 4)
		return -1;
	for (size_t i = 0; i < len; i++)
		x[i / 4] |= (uint32_t)b[len - 1 - i] << (8 * (i % 4));
	return 0;
}

void bn_to_bytes(const uint32_t *x, int n, uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		b[len - 1 - i] = i / 4 < (size_t)n ? (uint8_t)(x[i / 4] >> (8 * (i % 4))) : 0;
}

int bn_cmp(const uint32_t *a, const uint32_t *b, int n)
{
	for (int i = n - 1; i >= 0; i--)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

int bn_is_zero(const uint32_t *a, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i])
			return 0;
	return 1;
}

size_t bn_bits(const uint32_t *a, int n)
{
	for (int i = n - 1; i >= 0; i--)
		if (a[i])
			for (int k = 31; k >= 0; k--)
				if (a[i] >> k & 1)
					return (size_t)i * 32 + (size_t)k + 1;
	return 0;
}

static uint32_t add_n(uint32_t *r, const uint32_t *a, const uint32_t *b, int n)
{
	uint64_t c = 0;
	for (int i = 0; i < n; i++) {
		c += (uint64_t)a[i] + b[i];
		r[i] = (uint32_t)c;
		c >>= 32;
	}
	return (uint32_t)c;
}

static uint32_t sub_n(uint32_t *r, const uint32_t *a, const uint32_t *b, int n)
{
	uint64_t borrow = 0;
	for (int i = 0; i < n; i++) {
		uint64_t d = (uint64_t)a[i] - b[i] - borrow;
		r[i] = (uint32_t)d;
		borrow = (d >> 32) & 1;
	}
	return (uint32_t)borrow;
}

void mont_reduce1(const struct mont *c, uint32_t *x)
{
	if (bn_cmp(x, c->m, c->n) >= 0)
		sub_n(x, x, c->m, c->n);
}

void mont_add(const struct mont *c, uint32_t *r, const uint32_t *a, const uint32_t *b)
{
	uint32_t carry = add_n(r, a, b, c->n);
	if (carry || bn_cmp(r, c->m, c->n) >= 0)
		sub_n(r, r, c->m, c->n);
}

void mont_sub(const struct mont *c, uint32_t *r, const uint32_t *a, const uint32_t *b)
{
	if (sub_n(r, a, b, c->n))
		add_n(r, r, c->m, c->n);
}

/* mont_mul: r = a * b / R mod m (CIOS), for a, b < m. */
void mont_mul(const struct mont *c, uint32_t *r, const uint32_t *a, const uint32_t *b)
{
	uint32_t t[BN_LIMBS + 2];
	int n = c->n;
	memset(t, 0, sizeof t);
	for (int i = 0; i < n; i++) {
		uint64_t carry = 0, s;
		uint32_t q;
		for (int j = 0; j < n; j++) {
			s = (uint64_t)t[j] + (uint64_t)a[j] * b[i] + carry;
			t[j] = (uint32_t)s;
			carry = s >> 32;
		}
		s = (uint64_t)t[n] + carry;
		t[n] = (uint32_t)s;
		t[n + 1] = (uint32_t)(s >> 32);
		q = t[0] * c->minv;
		s = (uint64_t)t[0] + (uint64_t)q * c->m[0];
		carry = s >> 32;
		for (int j = 1; j < n; j++) {
			s = (uint64_t)t[j] + (uint64_t)q * c->m[j] + carry;
			t[j - 1] = (uint32_t)s;
			carry = s >> 32;
		}
		s = (uint64_t)t[n] + carry;
		t[n - 1] = (uint32_t)s;
		t[n] = t[n + 1] + (uint32_t)(s >> 32);
	}
	if (t[n] || bn_cmp(t, c->m, n) >= 0)
		sub_n(t, t, c->m, n);
	memcpy(r, t, (size_t)n * 4);
}

int mont_init(struct mont *c, const uint8_t *mod, size_t len)
{
	uint32_t inv = 1, x[BN_LIMBS];
	size_t bits;
	memset(c, 0, sizeof *c);
	c->n = BN_LIMBS;
	if (bn_from_bytes(c->m, BN_LIMBS, mod, len) < 0 || !(c->m[0] & 1))
		return -1;
	bits = bn_bits(c->m, BN_LIMBS);
	if (bits < 2 || bits > BN_MAX_BITS)
		return -1;
	c->n = (int)((bits + 31) / 32);
	for (int i = 0; i < 5; i++)
		inv *= 2 - c->m[0] * inv; /* Newton: inv = m^-1 mod 2^32 */
	c->minv = (uint32_t)0 - inv;
	/* R^2 mod m by doubling 1, 2 * 32n times. */
	memset(x, 0, sizeof x);
	x[0] = 1;
	for (int i = 0; i < 64 * c->n; i++)
		mont_add(c, x, x, x);
	memcpy(c->rr, x, sizeof x);
	memset(x, 0, sizeof x);
	x[0] = 1;
	mont_mul(c, c->one, x, c->rr);
	return 0;
}

void mont_to(const struct mont *c, uint32_t *r, const uint32_t *a) { mont_mul(c, r, a, c->rr); }

void mont_from(const struct mont *c, uint32_t *r, const uint32_t *a)
{
	uint32_t one[BN_LIMBS] = {1};
	mont_mul(c, r, a, one);
}

void mont_exp(const struct mont *c, uint32_t *r, const uint32_t *a, const uint8_t *e, size_t elen)
{
	uint32_t acc[BN_LIMBS];
	memcpy(acc, c->one, sizeof acc);
	for (size_t i = 0; i < elen; i++) {
		for (int k = 7; k >= 0; k--) {
			mont_mul(c, acc, acc, acc);
			if (e[i] >> k & 1)
				mont_mul(c, acc, acc, a);
		}
	}
	memcpy(r, acc, (size_t)c->n * 4);
}
