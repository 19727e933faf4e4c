/* The Parsec client of the module: the wire protocol (36-byte header,
 * protobuf bodies) over a Unix socket, one connection per request as the
 * service expects, and the operations the module needs. No state is kept
 * between calls, so a forked child simply opens its own connections. */
#ifndef PARSEC_P11_PARSEC_H
#define PARSEC_P11_PARSEC_H
#include <stddef.h>
#include <stdint.h>

#include "pb.h"

/* Opcodes. */
enum {
	OP_GENERATE_KEY = 0x02,
	OP_DESTROY_KEY = 0x03,
	OP_SIGN_HASH = 0x04,
	OP_VERIFY_HASH = 0x05,
	OP_EXPORT_PUBLIC_KEY = 0x07,
	OP_LIST_PROVIDERS = 0x08,
	OP_LIST_AUTHENTICATORS = 0x0E,
	OP_ASYMMETRIC_DECRYPT = 0x0B,
	OP_EXPORT_KEY = 0x0C,
	OP_GENERATE_RANDOM = 0x0D,
	OP_LIST_KEYS = 0x1A,
};

/* Statuses the module treats specially (the rest map in module.c). */
enum {
	ST_IO_ERROR = -1,	 /* no answer: connection or framing failure */
	ST_NO_MEMORY = -2,	 /* the module ran out of memory */
	ST_BAD_RESPONSE = -3,	 /* the answer did not decode */
	ST_NO_IDENTITY = -4,	 /* no JWT-SVID from the Workload API */
	ST_ALREADY_EXISTS = 1139,
	ST_DOES_NOT_EXIST = 1140,
};

/* Hashes, as in the Algorithm.Hash protobuf enum; HASH_ANY = SignHash.any. */
enum { HASH_NONE = 0, HASH_SHA1 = 5, HASH_SHA224 = 6, HASH_SHA256 = 7, HASH_SHA384 = 8, HASH_SHA512 = 9, HASH_ANY = 0x100 };

/* Algorithms of a key's policy, as far as the module distinguishes them. */
enum alg_kind {
	ALG_NONE = 0,
	ALG_OTHER,
	ALG_RSA_PKCS1V15_SIGN,
	ALG_RSA_PKCS1V15_SIGN_RAW,
	ALG_RSA_PSS,
	ALG_ECDSA,
	ALG_ECDSA_ANY,
	ALG_DET_ECDSA,
	ALG_RSA_PKCS1V15_CRYPT,
	ALG_RSA_OAEP,
};
struct psa_alg {
	enum alg_kind kind;
	int hash; /* HASH_* */
};

enum key_type { KT_OTHER = 0, KT_RSA_PAIR, KT_RSA_PUBLIC, KT_ECC_PAIR, KT_ECC_PUBLIC };
enum { ECC_SECP_K1 = 1, ECC_SECP_R1 = 2 };

/* Usage flags: bit n = field n of the UsageFlags message. */
enum {
	U_EXPORT = 1 << 1,
	U_ENCRYPT = 1 << 4,
	U_DECRYPT = 1 << 5,
	U_SIGN_MESSAGE = 1 << 6,
	U_VERIFY_MESSAGE = 1 << 7,
	U_SIGN_HASH = 1 << 8,
	U_VERIFY_HASH = 1 << 9,
};

struct psa_attrs {
	enum key_type type;
	int family; /* ECC curve family */
	uint32_t bits;
	uint32_t usage;
	struct psa_alg alg;
};

static inline int attrs_rsa(const struct psa_attrs *a) { return a->type == KT_RSA_PAIR || a->type == KT_RSA_PUBLIC; }
static inline int attrs_ecc(const struct psa_attrs *a) { return a->type == KT_ECC_PAIR || a->type == KT_ECC_PUBLIC; }

/* ep: where the service is and how the caller authenticates: its uid at
 * each request (UnixPeerCredentials), or a JWT-SVID from the SPIFFE
 * Workload API at jwt_endpoint (cached until shortly before it expires). */
struct ps_ep {
	char path[108];
	int jwt;
	char jwt_endpoint[256];
	char jwt_subject[256];
};

struct ps_provider {
	uint32_t id;
	char uuid[40];
	char description[128];
	char vendor[64];
	uint32_t major, minor;
};

struct ps_key {
	uint32_t provider;
	char *name;
	struct psa_attrs attrs;
};

/* ps_endpoint fills ep from PARSEC_SERVICE_ENDPOINT (default
 * unix:/run/parsec/parsec.sock); 0 on success. */
int ps_endpoint(struct ps_ep *ep, const char *endpoint);

/* Authenticator ids of ListAuthenticators. */
enum { AUTH_NONE = 0, AUTH_UNIX_PEER_CREDENTIALS = 3, AUTH_JWT_SVID = 4 };
int ps_list_authenticators(const struct ps_ep *ep, uint32_t *ids, size_t max, size_t *n);

/* The JWT-SVID cache has a lock: the module's pthread_atfork handlers call
 * these so that a child never inherits it held. */
void ps_atfork_prepare(void);
void ps_atfork_parent(void);
void ps_atfork_child(void);

/* Each operation returns 0 on success, a Parsec status (> 0) or ST_*. */
int ps_list_providers(const struct ps_ep *ep, struct ps_provider *out, size_t max, size_t *n);
int ps_list_keys(const struct ps_ep *ep, struct ps_key **out, size_t *n);
void ps_free_keys(struct ps_key *k, size_t n);
int ps_generate_key(const struct ps_ep *ep, uint8_t prov, const char *name, const struct psa_attrs *a);
int ps_destroy_key(const struct ps_ep *ep, uint8_t prov, const char *name);
int ps_export_public_key(const struct ps_ep *ep, uint8_t prov, const char *name, struct buf *out);
int ps_export_key(const struct ps_ep *ep, uint8_t prov, const char *name, struct buf *out);
int ps_sign_hash(const struct ps_ep *ep, uint8_t prov, const char *name, struct psa_alg alg, const uint8_t *h,
		 size_t hn, struct buf *sig);
int ps_verify_hash(const struct ps_ep *ep, uint8_t prov, const char *name, struct psa_alg alg, const uint8_t *h,
		   size_t hn, const uint8_t *sig, size_t sn);
int ps_decrypt(const struct ps_ep *ep, uint8_t prov, const char *name, struct psa_alg alg, const uint8_t *ct,
	       size_t cn, const uint8_t *label, size_t ln, struct buf *out);
int ps_generate_random(const struct ps_ep *ep, uint8_t prov, size_t n, struct buf *out);

/* Encoding helpers, exposed for the unit tests. */
void ps_put_attrs(struct buf *b, int field, const struct psa_attrs *a);
int ps_parse_attrs(struct pb r, struct psa_attrs *a);
#endif
