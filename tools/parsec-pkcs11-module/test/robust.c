/* Robustness of the module's decoders against what a broken or hostile
 * peer could send: pseudo-random bytes and mutations of valid encodings go
 * through the protobuf reader, the key-attribute parser, the DER readers
 * and the signature verifiers. Nothing is asserted about the answers to
 * garbage except that they are answers: the test fails by crashing, and
 * `make check-asan` runs it under AddressSanitizer and UBSan, where any
 * out-of-bounds read or undefined behaviour fails it. A valid encoding
 * must still parse to what was encoded, so the harness cannot pass by
 * rejecting everything. Run by `make check`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "der.h"
#include "parsec.h"
#include "pb.h"
#include "verify.h"

/* xorshift64*: a fixed seed, so that a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void walk(const uint8_t *p, size_t n, int depth)
{
	struct pb r = {p, p + n};
	struct pb_field f;
	while (pb_next(&r, &f) == 1) {
		if (f.wt == 2 && depth < 8)
			walk(f.sub.p, (size_t)(f.sub.end - f.sub.p), depth + 1);
	}
}

static void feed(const uint8_t *p, size_t n)
{
	struct psa_attrs a;
	struct pb r = {p, p + n};
	(void)ps_parse_attrs(r, &a);
	/* The attributes as a field of a response: parse the content too. */
	struct pb_field f;
	if (pb_next(&r, &f) == 1 && f.wt == 2)
		(void)ps_parse_attrs(f.sub, &a);
	walk(p, n, 0);
	(void)curve_bits(p, n);
	struct der d = {p, p + n}, c, mag;
	if (der_next(&d, 0x30, &c) == 0)
		while (der_int(&c, &mag) == 0) {
		}
	static const uint32_t bits[] = {256, 384, 521};
	size_t h = n / 2;
	(void)ecdsa_verify(bits[n % 3], p, h, p + h, n - h > 64 ? 64 : n - h, p + h, n - h);
	(void)rsa_pkcs1_verify(p, h, SHA_256, p, n < 32 ? n : 32, p + h, n - h);
	(void)rsa_pss_verify(p, h, SHA_256, 0, p, n < 32 ? n : 32, p + h, n - h);
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 20000;
	int failures = 0;
	static const struct psa_attrs valid[] = {
		{KT_ECC_PAIR, ECC_SECP_R1, 256, U_SIGN_HASH | U_VERIFY_HASH, {ALG_ECDSA, HASH_SHA256}},
		{KT_RSA_PAIR, 0, 2048, U_DECRYPT | U_ENCRYPT, {ALG_RSA_OAEP, HASH_SHA256}},
		{KT_RSA_PUBLIC, 0, 4096, U_VERIFY_HASH | U_EXPORT, {ALG_RSA_PSS, HASH_SHA512}},
	};
	struct buf enc[3] = {{0}};
	for (int i = 0; i < 3; i++) {
		ps_put_attrs(&enc[i], 1, &valid[i]);
		struct pb r = {enc[i].p, enc[i].p + enc[i].n};
		struct pb_field f;
		struct psa_attrs got;
		if (pb_next(&r, &f) != 1 || f.wt != 2 || ps_parse_attrs(f.sub, &got) != 0 ||
		    got.type != valid[i].type || got.family != valid[i].family || got.bits != valid[i].bits ||
		    got.usage != valid[i].usage || got.alg.kind != valid[i].alg.kind || got.alg.hash != valid[i].alg.hash) {
			fprintf(stderr, "robust: valid attributes %d do not parse back\n", i);
			failures++;
		}
	}
	uint8_t b[1024];
	for (long it = 0; it < rounds; it++) {
		size_t n;
		if (it % 2) {
			/* A mutation of a valid encoding reaches the deep fields. */
			const struct buf *src = &enc[it % 3];
			n = src->n;
			memcpy(b, src->p, n);
			for (int k = 1 + (int)(rng() % 4); k > 0; k--) {
				switch (rng() % 4) {
				case 0: b[rng() % n] ^= (uint8_t)(1u << (rng() % 8)); break;
				case 1: b[rng() % n] = (uint8_t)rng(); break;
				case 2: n = rng() % (n + 1); break;
				default: if (n < sizeof b) b[n++] = (uint8_t)rng(); break;
				}
				if (n == 0)
					break;
			}
		} else {
			n = rng() % sizeof b;
			for (size_t i = 0; i < n; i++)
				b[i] = (uint8_t)rng();
			if (n && it % 4 == 0)
				b[0] = 0x04; /* looks like an uncompressed point */
		}
		/* An allocation of exactly n bytes: a read past the input is
		 * then a heap overflow that AddressSanitizer reports. */
		uint8_t *in = malloc(n ? n : 1);
		if (!in)
			return 1;
		memcpy(in, b, n);
		feed(in, n);
		free(in);
	}
	for (int i = 0; i < 3; i++)
		buf_free(&enc[i]);
	if (failures)
		return 1;
	printf("robust: %ld inputs, no crash\n", rounds);
	return 0;
}
