/* SHA-1 and SHA-2 (FIPS 180-4) for the hash-and-sign mechanisms and the
 * derived CKA_ID: the module hashes in-process so that only a digest goes
 * to the service. */
#ifndef PARSEC_P11_SHA_H
#define PARSEC_P11_SHA_H
#include <stddef.h>
#include <stdint.h>

enum sha_alg { SHA_NONE = 0, SHA_1, SHA_224, SHA_256, SHA_384, SHA_512 };

#define SHA_MAX_DIGEST 64

struct sha_ctx {
	enum sha_alg alg;
	union {
		uint32_t w[8];
		uint64_t d[8];
	} h;
	uint8_t buf[128];
	size_t buflen;
	uint64_t total; /* bytes hashed so far */
};

size_t sha_size(enum sha_alg alg);
void sha_init(struct sha_ctx *c, enum sha_alg alg);
void sha_update(struct sha_ctx *c, const void *data, size_t n);
/* sha_final writes sha_size(alg) bytes to out. */
void sha_final(struct sha_ctx *c, uint8_t *out);
void sha_digest(enum sha_alg alg, const void *data, size_t n, uint8_t *out);
#endif
