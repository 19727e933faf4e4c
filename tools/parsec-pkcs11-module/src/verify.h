/* Signature verification in the module with a key's public part (the PSA
 * export format the service gives): the public key is public, so this
 * works whatever the key's usage flags say, as the earlier module did. */
#ifndef PARSEC_P11_VERIFY_H
#define PARSEC_P11_VERIFY_H
#include <stddef.h>
#include <stdint.h>

#include "sha.h"

/* Results. */
enum { VERIFY_OK = 0, VERIFY_BAD = 1, VERIFY_KEY = -1 /* unusable public key */ };

/* ecdsa_verify checks a raw r||s signature of digest (any length: it is
 * truncated to the order's size as ECDSA does) with an uncompressed point
 * on the secp256r1, secp384r1 or secp521r1 curve (bits). */
int ecdsa_verify(uint32_t bits, const uint8_t *point, size_t plen, const uint8_t *digest, size_t dlen,
		 const uint8_t *sig, size_t slen);

/* rsa_pkcs1_verify checks a PKCS#1 v1.5 signature over T = DigestInfo(hash)
 * || digest, or over the raw input when hash is SHA_NONE. pub is a DER
 * RSAPublicKey. */
int rsa_pkcs1_verify(const uint8_t *pub, size_t publen, enum sha_alg hash, const uint8_t *in, size_t inlen,
		     const uint8_t *sig, size_t slen);

/* rsa_pss_verify checks an RSASSA-PSS signature of a digest made with hash
 * (MGF1 with the same hash); salt_len 0 means any salt length. */
int rsa_pss_verify(const uint8_t *pub, size_t publen, enum sha_alg hash, size_t salt_len, const uint8_t *digest,
		   size_t dlen, const uint8_t *sig, size_t slen);

/* The DER prefix of the DigestInfo of a hash (NULL, 0 for SHA_NONE). */
const uint8_t *digest_info_prefix(enum sha_alg h, size_t *n);
#endif
