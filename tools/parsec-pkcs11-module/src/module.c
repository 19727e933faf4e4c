/* libparsec-pkcs11.so: a PKCS#11 module that forwards to the Parsec
 * service, so that every PKCS#11 application (OpenSSL, GnuTLS, p11-kit,
 * curl, nginx...) can use the keys the service holds, with Parsec's
 * per-application isolation. Plain C over libc; see the README section
 * "PKCS#11 module" for the model:
 *
 *   - one slot and token per provider of the service, in the service's
 *     order; slot id = Parsec provider id, token label = the provider's
 *     default name (e.g. mbed-crypto-provider);
 *   - the objects of a token are the calling application's keys in that
 *     provider: a key pair is a private and a public key object, a public
 *     key a public key object; CKA_LABEL is the key name;
 *   - CKA_ID is the id given at generation, kept in the key name as the
 *     suffix "#id=<hex>" (CKA_LABEL is then the name without it); a key
 *     without that suffix has CKA_ID = the first 16 bytes of
 *     SHA-256("parsec-pkcs11 key id:" + name), stable across restarts.
 *
 * Locking: one mutex guards the module's tables; it is released around the
 * service calls of signing, decryption, key generation, listing and
 * destruction, so threads and sessions work in parallel (CKF_OS_LOCKING_OK).
 *
 * Fork: every request opens its own connection and closes it, so a child
 * shares no socket with its parent; the tables are plain memory, so a child
 * keeps using the handles it inherited; pthread_atfork holds the mutex
 * across fork() so that the child never inherits it locked by a thread that
 * does not exist there; and C_Initialize in a child (what PKCS#11 asks of
 * applications after fork) starts the module afresh. */
#include <p11-kit-1/p11-kit/pkcs11.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <unistd.h>

#include "bn.h"
#include "der.h"
#include "parsec.h"
#include "sha.h"
#include "verify.h"

#define EXPORT __attribute__((visibility("default")))

#define LIBRARY_VERSION_MAJOR 0
#define LIBRARY_VERSION_MINOR 2
#define MAX_SLOTS 16
#define ID_SUFFIX "#id="
#define ID_LEN 16

/* ---- mechanisms ---------------------------------------------------------- */

enum mech_kind { MK_KEYGEN, MK_ECDSA, MK_PKCS1, MK_PSS, MK_OAEP };

struct mech_spec {
	CK_MECHANISM_TYPE type;
	enum mech_kind kind;
	enum sha_alg hash; /* applied in the module; SHA_NONE: the input is a digest or raw data */
	int rsa;
	CK_FLAGS flags;
};

#define EC_FLAGS (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define SIGN_FLAGS (CKF_SIGN | CKF_VERIFY)

/* In the order C_GetMechanismList reports them. */
static const struct mech_spec mechs[] = {
	{CKM_EC_KEY_PAIR_GEN, MK_KEYGEN, SHA_NONE, 0, CKF_GENERATE_KEY_PAIR | EC_FLAGS},
	{CKM_ECDSA, MK_ECDSA, SHA_NONE, 0, SIGN_FLAGS | EC_FLAGS},
	{CKM_ECDSA_SHA1, MK_ECDSA, SHA_1, 0, SIGN_FLAGS | EC_FLAGS},
	{CKM_ECDSA_SHA224, MK_ECDSA, SHA_224, 0, SIGN_FLAGS | EC_FLAGS},
	{CKM_ECDSA_SHA256, MK_ECDSA, SHA_256, 0, SIGN_FLAGS | EC_FLAGS},
	{CKM_ECDSA_SHA384, MK_ECDSA, SHA_384, 0, SIGN_FLAGS | EC_FLAGS},
	{CKM_ECDSA_SHA512, MK_ECDSA, SHA_512, 0, SIGN_FLAGS | EC_FLAGS},
	{CKM_RSA_PKCS_KEY_PAIR_GEN, MK_KEYGEN, SHA_NONE, 1, CKF_GENERATE_KEY_PAIR},
	{CKM_RSA_PKCS, MK_PKCS1, SHA_NONE, 1, SIGN_FLAGS | CKF_DECRYPT},
	{CKM_SHA1_RSA_PKCS, MK_PKCS1, SHA_1, 1, SIGN_FLAGS},
	{CKM_SHA224_RSA_PKCS, MK_PKCS1, SHA_224, 1, SIGN_FLAGS},
	{CKM_SHA256_RSA_PKCS, MK_PKCS1, SHA_256, 1, SIGN_FLAGS},
	{CKM_SHA384_RSA_PKCS, MK_PKCS1, SHA_384, 1, SIGN_FLAGS},
	{CKM_SHA512_RSA_PKCS, MK_PKCS1, SHA_512, 1, SIGN_FLAGS},
	{CKM_RSA_PKCS_PSS, MK_PSS, SHA_NONE, 1, SIGN_FLAGS},
	{CKM_SHA1_RSA_PKCS_PSS, MK_PSS, SHA_1, 1, SIGN_FLAGS},
	{CKM_SHA224_RSA_PKCS_PSS, MK_PSS, SHA_224, 1, SIGN_FLAGS},
	{CKM_SHA256_RSA_PKCS_PSS, MK_PSS, SHA_256, 1, SIGN_FLAGS},
	{CKM_SHA384_RSA_PKCS_PSS, MK_PSS, SHA_384, 1, SIGN_FLAGS},
	{CKM_SHA512_RSA_PKCS_PSS, MK_PSS, SHA_512, 1, SIGN_FLAGS},
	{CKM_RSA_PKCS_OAEP, MK_OAEP, SHA_NONE, 1, CKF_DECRYPT},
};
#define NMECHS (sizeof mechs / sizeof mechs[0])

static const struct mech_spec *mech_find(CK_MECHANISM_TYPE t)
{
	for (size_t i = 0; i < NMECHS; i++)
		if (mechs[i].type == t)
			return &mechs[i];
	return NULL;
}

/* Hashes: the module's, PSA's and PKCS#11's names for them. */
static const struct {
	enum sha_alg sha;
	int psa;
	CK_MECHANISM_TYPE ckm;
	CK_RSA_PKCS_MGF_TYPE mgf;
} hashes[] = {
	{SHA_1, HASH_SHA1, CKM_SHA_1, CKG_MGF1_SHA1},
	{SHA_224, HASH_SHA224, CKM_SHA224, CKG_MGF1_SHA224},
	{SHA_256, HASH_SHA256, CKM_SHA256, CKG_MGF1_SHA256},
	{SHA_384, HASH_SHA384, CKM_SHA384, CKG_MGF1_SHA384},
	{SHA_512, HASH_SHA512, CKM_SHA512, CKG_MGF1_SHA512},
};
#define NHASHES (sizeof hashes / sizeof hashes[0])

static int psa_hash(enum sha_alg h)
{
	for (size_t i = 0; i < NHASHES; i++)
		if (hashes[i].sha == h)
			return hashes[i].psa;
	return HASH_NONE;
}

/* hash_by_size is the hash a bare digest of this length was made with. */
static enum sha_alg hash_by_size(size_t n)
{
	for (size_t i = 0; i < NHASHES; i++)
		if (sha_size(hashes[i].sha) == n)
			return hashes[i].sha;
	return SHA_NONE;
}

static int hash_by_ckm(CK_MECHANISM_TYPE m, enum sha_alg *h, CK_RSA_PKCS_MGF_TYPE *mgf)
{
	for (size_t i = 0; i < NHASHES; i++)
		if (hashes[i].ckm == m) {
			*h = hashes[i].sha;
			*mgf = hashes[i].mgf;
			return 1;
		}
	return 0;
}

static int alg_is_ecdsa(struct psa_alg a)
{
	return a.kind == ALG_ECDSA || a.kind == ALG_DET_ECDSA || a.kind == ALG_ECDSA_ANY;
}

/* mech_permitted reports whether a policy allows a mechanism for some
 * input (a bare-digest mechanism for at least one hash). */
static int mech_permitted(const struct mech_spec *s, struct psa_alg p)
{
	int ph = p.kind == ALG_ECDSA_ANY || p.kind == ALG_RSA_PKCS1V15_SIGN_RAW ? HASH_NONE : p.hash;
	int hash_ok = s->hash == SHA_NONE ? ph != HASH_NONE : (ph == HASH_ANY || ph == psa_hash(s->hash));
	switch (s->kind) {
	case MK_ECDSA:
		return (alg_is_ecdsa(p) && hash_ok) || (p.kind == ALG_ECDSA_ANY && s->hash == SHA_NONE);
	case MK_PKCS1:
		if (s->type == CKM_RSA_PKCS && p.kind == ALG_RSA_PKCS1V15_CRYPT)
			return 1;
		return (p.kind == ALG_RSA_PKCS1V15_SIGN && hash_ok) ||
		       (p.kind == ALG_RSA_PKCS1V15_SIGN_RAW && s->hash == SHA_NONE);
	case MK_PSS:
		return p.kind == ALG_RSA_PSS && hash_ok;
	case MK_OAEP:
		return p.kind == ALG_RSA_OAEP;
	default:
		return 0;
	}
}

/* ---- state --------------------------------------------------------------- */

struct slot {
	uint32_t id;
	struct ps_provider info;
};

struct object {
	CK_OBJECT_HANDLE h;
	uint32_t prov;
	char *name;
	CK_OBJECT_CLASS cls;
	struct psa_attrs attrs;
	struct buf pub; /* the public key, fetched on first use */
	int have_pub;
	int unseen; /* not in the listing being synced */
};

/* sign_op is a signature or verification in progress. */
struct sign_op {
	int active;
	uint64_t gen; /* tells an operation from the one that replaced it */
	uint32_t prov;
	char *name;
	struct psa_attrs attrs;
	const struct mech_spec *spec;
	enum sha_alg pss_hash;
	size_t pss_len;
	struct sha_ctx h; /* running hash of a hash-and-sign mechanism */
	struct buf data;  /* accumulated input of a bare mechanism */
	int multi;	  /* C_*Update was called */
	struct buf pub;	  /* verification in the module: the public key */
	int have_pub;
};

/* decrypt_op keeps the plaintext of a length query for the call that
 * fetches it: the service decrypts only once. */
struct decrypt_op {
	int active;
	uint64_t gen;
	uint32_t prov;
	char *name;
	struct psa_alg alg;
	struct buf label;
	struct buf out;
	int have_out;
};

struct session {
	CK_SESSION_HANDLE h;
	uint32_t slot;
	int rw;
	int finding;
	CK_OBJECT_HANDLE *find;
	size_t nfind, findpos;
	struct sign_op sign, verify;
	struct decrypt_op dec;
};

/* The module is a process-wide singleton by definition (the C ABI has no
 * handle for it): this is its state between C_Initialize and C_Finalize. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int initialized;
	pid_t pid; /* the process that called C_Initialize */
	struct ps_ep ep;
	int ep_ok;
	int discovered;
	struct slot slots[MAX_SLOTS];
	size_t nslots;
	struct session **sess;
	size_t nsess, capsess;
	CK_SESSION_HANDLE next_session;
	struct object **objs;
	size_t nobjs, capobjs;
	CK_OBJECT_HANDLE next_object;
	uint64_t next_gen;
} m;

static void atfork_prepare(void)
{
	pthread_mutex_lock(&mu);
	ps_atfork_prepare();
}

static void atfork_parent(void)
{
	ps_atfork_parent();
	pthread_mutex_unlock(&mu);
}

static void atfork_child(void)
{
	/* Only the forking thread exists in the child, and it holds the locks
	 * (prepare took them): fresh mutexes are the same state, released. */
	ps_atfork_child();
	pthread_mutex_init(&mu, NULL);
}

__attribute__((constructor)) static void install_atfork(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static void lock(void) { pthread_mutex_lock(&mu); }
static void unlock(void) { pthread_mutex_unlock(&mu); }

/* ---- small helpers --------------------------------------------------------- */

static void padded(CK_UTF8CHAR *dst, size_t n, const char *s)
{
	size_t l = strlen(s);
	memset(dst, ' ', n);
	memcpy(dst, s, l < n ? l : n);
}

/* output implements PKCS#11's output convention (§5.2): a NULL buffer asks
 * for the length, a short one gets CKR_BUFFER_TOO_SMALL. */
static CK_RV output(CK_BYTE_PTR out, CK_ULONG_PTR outlen, const uint8_t *data, size_t n)
{
	if (!out) {
		*outlen = n;
		return CKR_OK;
	}
	if (*outlen < n) {
		*outlen = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (n)
		memcpy(out, data, n);
	*outlen = n;
	return CKR_OK;
}

static CK_RV output_ulongs(CK_ULONG *list, CK_ULONG_PTR n, const CK_ULONG *items, size_t count)
{
	if (!list) {
		*n = count;
		return CKR_OK;
	}
	if (*n < count) {
		*n = count;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (count)
		memcpy(list, items, count * sizeof *items);
	*n = count;
	return CKR_OK;
}

/* status_rv maps the service's statuses to the closest PKCS#11 codes. */
static CK_RV status_rv(int st)
{
	switch (st) {
	case 0:
		return CKR_OK;
	case ST_IO_ERROR:
	case ST_BAD_RESPONSE:
	case ST_NO_IDENTITY:
		return CKR_DEVICE_ERROR;
	case ST_NO_MEMORY:
		return CKR_HOST_MEMORY;
	case 1133:
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	case 1134:
		return CKR_MECHANISM_INVALID;
	case 1135:
		return CKR_ARGUMENTS_BAD;
	case 1136:
	case 1140:
		return CKR_OBJECT_HANDLE_INVALID;
	case 1139:
		return CKR_ATTRIBUTE_VALUE_INVALID;
	case 1138:
		return CKR_BUFFER_TOO_SMALL;
	case 1141:
	case 1142:
		return CKR_DEVICE_MEMORY;
	case 1149:
		return CKR_SIGNATURE_INVALID;
	case 1150:
		return CKR_ENCRYPTED_DATA_INVALID;
	case 1153:
		return CKR_DATA_INVALID;
	case 1145:
	case 1146:
	case 1147:
	case 1148:
	case 1151:
	case 1152:
	case 14:
		return CKR_DEVICE_ERROR;
	case 1132:
	case 1137:
	case 1143:
		return CKR_FUNCTION_FAILED;
	case 11:
	case 19:
		return CKR_USER_NOT_LOGGED_IN;
	case 9:
		return CKR_FUNCTION_NOT_SUPPORTED;
	case 1:
	case 5:
	case 6:
		return CKR_TOKEN_NOT_PRESENT;
	case 22:
		return CKR_MECHANISM_INVALID;
	case 10:
	case 20:
		return CKR_DATA_LEN_RANGE;
	default:
		return CKR_FUNCTION_FAILED;
	}
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* split_name gives a key's CKA_LABEL length and CKA_ID from its Parsec name
 * (see the top of this file). id must hold max(len/2, ID_LEN) bytes. */
static void split_name(const char *name, size_t *label_len, uint8_t *id, size_t *id_len)
{
	const char *s = NULL, *p = name;
	size_t n = strlen(name);
	while ((p = strstr(p, ID_SUFFIX)) != NULL)
		s = p++;
	if (s) {
		const char *h = s + strlen(ID_SUFFIX);
		size_t hl = strlen(h), i;
		int ok = hl > 0 && hl % 2 == 0;
		for (i = 0; ok && i < hl; i += 2) {
			int a = hexval(h[i]), b = hexval(h[i + 1]);
			if (a < 0 || b < 0)
				ok = 0;
			else
				id[i / 2] = (uint8_t)(a << 4 | b);
		}
		if (ok) {
			*label_len = (size_t)(s - name);
			*id_len = hl / 2;
			return;
		}
	}
	{
		static const char pfx[] = "parsec-pkcs11 key id:";
		struct sha_ctx c;
		uint8_t d[32];
		sha_init(&c, SHA_256);
		sha_update(&c, pfx, sizeof pfx - 1);
		sha_update(&c, name, n);
		sha_final(&c, d);
		memcpy(id, d, ID_LEN);
		*label_len = n;
		*id_len = ID_LEN;
	}
}

/* join_name is the Parsec name for a key generated with this label and id
 * (id NULL: none given). An id equal to the one derived from the label
 * needs no suffix. */
static char *join_name(const char *label, const uint8_t *id, size_t idn)
{
	size_t ll = strlen(label), dl, did;
	uint8_t *derived;
	char *out;
	if (!id)
		return xstrdup(label);
	derived = malloc(ll / 2 + ID_LEN + 1);
	if (!derived)
		return NULL;
	split_name(label, &dl, derived, &did);
	if (did == idn && memcmp(derived, id, idn) == 0) {
		free(derived);
		return xstrdup(label);
	}
	free(derived);
	out = malloc(ll + strlen(ID_SUFFIX) + 2 * idn + 1);
	if (!out)
		return NULL;
	memcpy(out, label, ll);
	strcpy(out + ll, ID_SUFFIX);
	for (size_t i = 0; i < idn; i++)
		sprintf(out + ll + strlen(ID_SUFFIX) + 2 * i, "%02x", id[i]);
	out[ll + strlen(ID_SUFFIX) + 2 * idn] = 0;
	return out;
}

/* ---- tables ---------------------------------------------------------------- */

static struct slot *slot_find(CK_SLOT_ID id)
{
	for (size_t i = 0; i < m.nslots; i++)
		if (m.slots[i].id == id)
			return &m.slots[i];
	return NULL;
}

static void sign_op_clear(struct sign_op *op)
{
	free(op->name);
	buf_free(&op->data);
	buf_free(&op->pub);
	memset(op, 0, sizeof *op);
}

static void decrypt_op_clear(struct decrypt_op *op)
{
	free(op->name);
	buf_free(&op->label);
	buf_free(&op->out);
	memset(op, 0, sizeof *op);
}

static void session_free(struct session *s)
{
	sign_op_clear(&s->sign);
	sign_op_clear(&s->verify);
	decrypt_op_clear(&s->dec);
	free(s->find);
	free(s);
}

static void object_free(struct object *o)
{
	free(o->name);
	buf_free(&o->pub);
	free(o);
}

static struct session *session_find(CK_SESSION_HANDLE h)
{
	for (size_t i = 0; i < m.nsess; i++)
		if (m.sess[i]->h == h)
			return m.sess[i];
	return NULL;
}

static struct object *object_find(uint32_t prov, CK_OBJECT_HANDLE h)
{
	for (size_t i = 0; i < m.nobjs; i++)
		if (m.objs[i]->h == h)
			return m.objs[i]->prov == prov ? m.objs[i] : NULL;
	return NULL;
}

static struct object *object_by_key(uint32_t prov, const char *name, CK_OBJECT_CLASS cls)
{
	for (size_t i = 0; i < m.nobjs; i++) {
		struct object *o = m.objs[i];
		if (o->prov == prov && o->cls == cls && strcmp(o->name, name) == 0)
			return o;
	}
	return NULL;
}

static int attrs_equal(const struct psa_attrs *a, const struct psa_attrs *b)
{
	return a->type == b->type && a->family == b->family && a->bits == b->bits && a->usage == b->usage &&
	       a->alg.kind == b->alg.kind && a->alg.hash == b->alg.hash;
}

/* object_put adds or updates an object and returns its handle (0: out of
 * memory). The same key and class keep their handle while the module is
 * initialised. */
static CK_OBJECT_HANDLE object_put(uint32_t prov, const char *name, CK_OBJECT_CLASS cls, const struct psa_attrs *a)
{
	struct object *o = object_by_key(prov, name, cls);
	if (o) {
		if (!attrs_equal(&o->attrs, a)) {
			o->attrs = *a;
			o->have_pub = 0;
			o->pub.n = 0;
		}
		return o->h;
	}
	if (m.nobjs == m.capobjs) {
		size_t cap = m.capobjs ? 2 * m.capobjs : 32;
		struct object **n = realloc(m.objs, cap * sizeof *n);
		if (!n)
			return 0;
		m.objs = n;
		m.capobjs = cap;
	}
	o = calloc(1, sizeof *o);
	if (!o || !(o->name = xstrdup(name))) {
		free(o);
		return 0;
	}
	o->h = ++m.next_object;
	o->prov = prov;
	o->cls = cls;
	o->attrs = *a;
	m.objs[m.nobjs++] = o;
	return o->h;
}

static void object_remove_at(size_t i)
{
	object_free(m.objs[i]);
	m.objs[i] = m.objs[--m.nobjs];
}

static void objects_remove_key(uint32_t prov, const char *name)
{
	for (size_t i = 0; i < m.nobjs;) {
		if (m.objs[i]->prov == prov && strcmp(m.objs[i]->name, name) == 0)
			object_remove_at(i);
		else
			i++;
	}
}

/* key_classes lists the objects a key shows as. Other keys (symmetric, DH)
 * are not shown: no mechanism of this module uses them. */
static int key_classes(const struct psa_attrs *a, CK_OBJECT_CLASS out[2])
{
	switch (a->type) {
	case KT_RSA_PAIR:
	case KT_ECC_PAIR:
		out[0] = CKO_PRIVATE_KEY;
		out[1] = CKO_PUBLIC_KEY;
		return 2;
	case KT_RSA_PUBLIC:
	case KT_ECC_PUBLIC:
		out[0] = CKO_PUBLIC_KEY;
		return 1;
	default:
		return 0;
	}
}

/* ---- discovery ------------------------------------------------------------- */

static int copy_env(char *dst, size_t n, const char *name, const char *v)
{
	if (strlen(v) >= n) {
		fprintf(stderr, "libparsec-pkcs11: %s is too long\n", name);
		return -1;
	}
	strcpy(dst, v);
	return 0;
}

/* configure_endpoint reads the environment, as parsec-tool does: the
 * service's socket (PARSEC_SERVICE_ENDPOINT), and the identity:
 * PARSEC_JWT_SVID_ENDPOINT forces a JWT-SVID from that Workload API;
 * SPIFFE_ENDPOINT_SOCKET makes it available, used when the service lists
 * JwtSvid before UnixPeerCredentials (the first authenticator the service
 * lists that the client can use is taken, as Parsec clients do);
 * PARSEC_JWT_SVID_SUBJECT picks one SPIFFE ID of several. */
static int configure_endpoint(struct ps_ep *ep)
{
	const char *e = getenv("PARSEC_SERVICE_ENDPOINT");
	const char *force = getenv("PARSEC_JWT_SVID_ENDPOINT"), *spiffe = getenv("SPIFFE_ENDPOINT_SOCKET");
	const char *subject = getenv("PARSEC_JWT_SVID_SUBJECT");
	if (ps_endpoint(ep, e) < 0) {
		fprintf(stderr, "libparsec-pkcs11: invalid PARSEC_SERVICE_ENDPOINT %s (want unix:/path/to/parsec.sock)\n", e);
		return -1;
	}
	if (subject && *subject && copy_env(ep->jwt_subject, sizeof ep->jwt_subject, "PARSEC_JWT_SVID_SUBJECT", subject) < 0)
		return -1;
	if (force && *force) {
		ep->jwt = 1;
		return copy_env(ep->jwt_endpoint, sizeof ep->jwt_endpoint, "PARSEC_JWT_SVID_ENDPOINT", force);
	}
	if (spiffe && *spiffe) {
		uint32_t ids[16];
		size_t n;
		int rc = ps_list_authenticators(ep, ids, 16, &n);
		if (rc != 0) {
			fprintf(stderr, "libparsec-pkcs11: listing the service's authenticators at unix:%s: status %d\n",
				ep->path, rc);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			if (ids[i] == AUTH_UNIX_PEER_CREDENTIALS)
				break;
			if (ids[i] == AUTH_JWT_SVID) {
				ep->jwt = 1;
				return copy_env(ep->jwt_endpoint, sizeof ep->jwt_endpoint, "SPIFFE_ENDPOINT_SOCKET", spiffe);
			}
		}
	}
	return 0;
}

/* discover_locked connects to the service and lists its providers. Failing
 * is not fatal: p11-kit loads every module at once, and a service that
 * starts later is picked up by C_GetSlotList. */
static int discover_locked(void)
{
	struct ps_provider provs[MAX_SLOTS + 1];
	size_t n, i;
	int rc;
	if (m.discovered)
		return 0;
	if (!m.ep_ok) {
		if (configure_endpoint(&m.ep) < 0)
			return -1;
		m.ep_ok = 1;
	}
	rc = ps_list_providers(&m.ep, provs, MAX_SLOTS + 1, &n);
	if (rc != 0) {
		fprintf(stderr, "libparsec-pkcs11: connecting to the Parsec service at unix:%s: %s (status %d)\n", m.ep.path,
			rc == ST_IO_ERROR ? strerror(errno) : "error", rc);
		return -1;
	}
	m.nslots = 0;
	for (i = 0; i < n && m.nslots < MAX_SLOTS; i++) {
		if (provs[i].id == 0 || provs[i].id > 255)
			continue; /* the core provider does no cryptography */
		m.slots[m.nslots].id = provs[i].id;
		m.slots[m.nslots].info = provs[i];
		m.nslots++;
	}
	m.discovered = 1;
	return 0;
}

/* reset_locked frees everything and returns to the uninitialised state. */
static void reset_locked(void)
{
	for (size_t i = 0; i < m.nsess; i++)
		session_free(m.sess[i]);
	for (size_t i = 0; i < m.nobjs; i++)
		object_free(m.objs[i]);
	free(m.sess);
	free(m.objs);
	memset(&m, 0, sizeof m);
}

/* enter takes the lock for a call that needs an initialised module. */
static CK_RV enter(void)
{
	lock();
	if (!m.initialized) {
		unlock();
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	return CKR_OK;
}

/* enter_session takes the lock and resolves a session and its slot. */
static CK_RV enter_session(CK_SESSION_HANDLE h, struct session **s, struct slot **sl)
{
	CK_RV rv = enter();
	if (rv != CKR_OK)
		return rv;
	*s = session_find(h);
	if (!*s || !(*sl = slot_find((*s)->slot))) {
		unlock();
		return CKR_SESSION_HANDLE_INVALID;
	}
	return CKR_OK;
}

/* ---- general ---------------------------------------------------------------- */

EXPORT CK_RV C_Initialize(CK_VOID_PTR args)
{
	if (args) {
		CK_C_INITIALIZE_ARGS *a = args;
		int custom = a->CreateMutex != NULL;
		if (a->pReserved)
			return CKR_ARGUMENTS_BAD;
		/* Application mutexes are not used: the module locks with the
		 * OS's primitives, which CKF_OS_LOCKING_OK permits. */
		if (custom != (a->DestroyMutex != NULL) || custom != (a->LockMutex != NULL) ||
		    custom != (a->UnlockMutex != NULL))
			return CKR_ARGUMENTS_BAD;
		if (custom && !(a->flags & CKF_OS_LOCKING_OK))
			return CKR_CANT_LOCK;
	}
	lock();
	if (m.initialized) {
		if (m.pid == getpid()) {
			unlock();
			return CKR_CRYPTOKI_ALREADY_INITIALIZED;
		}
		/* A child of fork() initialising its own module, as PKCS#11
		 * asks: start afresh (the parent's state is only a copy). The
		 * parent's endpoint stays when the child's environment lost
		 * PARSEC_SERVICE_ENDPOINT (nginx clears its workers'). */
		struct ps_ep ep = m.ep;
		int keep = m.ep_ok && !getenv("PARSEC_SERVICE_ENDPOINT");
		reset_locked();
		if (keep) {
			m.ep = ep;
			m.ep_ok = 1;
		}
	}
	m.initialized = 1;
	m.pid = getpid();
	(void)discover_locked();
	unlock();
	return CKR_OK;
}

EXPORT CK_RV C_Finalize(CK_VOID_PTR reserved)
{
	CK_RV rv;
	if (reserved)
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter()) != CKR_OK)
		return rv;
	reset_locked();
	unlock();
	return CKR_OK;
}

EXPORT CK_RV C_GetInfo(CK_INFO_PTR info)
{
	CK_RV rv = enter();
	if (rv != CKR_OK)
		return rv;
	unlock();
	if (!info)
		return CKR_ARGUMENTS_BAD;
	memset(info, 0, sizeof *info);
	info->cryptokiVersion.major = 2;
	info->cryptokiVersion.minor = 40;
	padded(info->manufacturerID, sizeof info->manufacturerID, "Parsec");
	padded(info->libraryDescription, sizeof info->libraryDescription, "Parsec service PKCS#11 module");
	info->libraryVersion.major = LIBRARY_VERSION_MAJOR;
	info->libraryVersion.minor = LIBRARY_VERSION_MINOR;
	return CKR_OK;
}

EXPORT CK_RV C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR n)
{
	CK_ULONG ids[MAX_SLOTS];
	CK_RV rv;
	(void)present;
	if (!n)
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter()) != CKR_OK)
		return rv;
	if (!list)
		(void)discover_locked(); /* a service that was down is looked for again */
	for (size_t i = 0; i < m.nslots; i++)
		ids[i] = m.slots[i].id;
	rv = output_ulongs(list, n, ids, m.nslots);
	unlock();
	return rv;
}

EXPORT CK_RV C_GetSlotInfo(CK_SLOT_ID id, CK_SLOT_INFO_PTR info)
{
	struct slot *s;
	CK_RV rv;
	if (!info)
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter()) != CKR_OK)
		return rv;
	if (!(s = slot_find(id))) {
		unlock();
		return CKR_SLOT_ID_INVALID;
	}
	padded(info->slotDescription, sizeof info->slotDescription, s->info.description);
	padded(info->manufacturerID, sizeof info->manufacturerID, s->info.vendor);
	info->flags = CKF_TOKEN_PRESENT;
	info->hardwareVersion.major = (CK_BYTE)s->info.major;
	info->hardwareVersion.minor = (CK_BYTE)s->info.minor;
	info->firmwareVersion = info->hardwareVersion;
	unlock();
	return CKR_OK;
}

static const char *token_label(uint32_t id, char *tmp, size_t n)
{
	static const char *names[] = {"core-provider", "mbed-crypto-provider", "pkcs11-provider", "tpm-provider",
				      "trusted-service-provider", "cryptoauthlib-provider"};
	if (id < sizeof names / sizeof names[0])
		return names[id];
	snprintf(tmp, n, "Provider(%u)", id);
	return tmp;
}

EXPORT CK_RV C_GetTokenInfo(CK_SLOT_ID id, CK_TOKEN_INFO_PTR info)
{
	struct slot *s;
	char tmp[32], serial[17];
	size_t k = 0;
	CK_RV rv;
	if (!info)
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter()) != CKR_OK)
		return rv;
	if (!(s = slot_find(id))) {
		unlock();
		return CKR_SLOT_ID_INVALID;
	}
	memset(info, 0, sizeof *info);
	padded(info->label, sizeof info->label, token_label(s->id, tmp, sizeof tmp));
	padded(info->manufacturerID, sizeof info->manufacturerID, s->info.vendor);
	padded(info->model, sizeof info->model, "Parsec");
	for (const char *c = s->info.uuid; *c && k < 16; c++)
		if (*c != '-')
			serial[k++] = *c;
	serial[k] = 0;
	padded(info->serialNumber, sizeof info->serialNumber, serial);
	info->flags = CKF_RNG | CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED;
	info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulSessionCount = CK_UNAVAILABLE_INFORMATION;
	info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulRwSessionCount = CK_UNAVAILABLE_INFORMATION;
	info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	info->hardwareVersion.major = (CK_BYTE)s->info.major;
	info->hardwareVersion.minor = (CK_BYTE)s->info.minor;
	info->firmwareVersion = info->hardwareVersion;
	padded(info->utcTime, sizeof info->utcTime, "");
	unlock();
	return CKR_OK;
}

EXPORT CK_RV C_GetMechanismList(CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR n)
{
	CK_MECHANISM_TYPE types[NMECHS];
	CK_RV rv;
	if (!n)
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter()) != CKR_OK)
		return rv;
	if (!slot_find(id)) {
		unlock();
		return CKR_SLOT_ID_INVALID;
	}
	unlock();
	for (size_t i = 0; i < NMECHS; i++)
		types[i] = mechs[i].type;
	return output_ulongs(list, n, types, NMECHS);
}

EXPORT CK_RV C_GetMechanismInfo(CK_SLOT_ID id, CK_MECHANISM_TYPE t, CK_MECHANISM_INFO_PTR info)
{
	const struct mech_spec *s;
	CK_RV rv;
	if (!info)
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter()) != CKR_OK)
		return rv;
	if (!slot_find(id)) {
		unlock();
		return CKR_SLOT_ID_INVALID;
	}
	unlock();
	if (!(s = mech_find(t)))
		return CKR_MECHANISM_INVALID;
	info->ulMinKeySize = s->rsa ? 2048 : 256;
	info->ulMaxKeySize = s->rsa ? 4096 : 521;
	/* CKF_HW: the service performs the operation, not this library
	 * (pkcs11-tool --test looks for it). */
	info->flags = s->flags | CKF_HW;
	return CKR_OK;
}

/* ---- sessions --------------------------------------------------------------- */

EXPORT CK_RV C_OpenSession(CK_SLOT_ID id, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR h)
{
	struct session *s;
	CK_RV rv;
	(void)app;
	(void)notify;
	if (!h)
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter()) != CKR_OK)
		return rv;
	if (!(flags & CKF_SERIAL_SESSION)) {
		rv = CKR_SESSION_PARALLEL_NOT_SUPPORTED;
		goto out;
	}
	if (!slot_find(id)) {
		rv = CKR_SLOT_ID_INVALID;
		goto out;
	}
	if (m.nsess == m.capsess) {
		size_t cap = m.capsess ? 2 * m.capsess : 16;
		struct session **n = realloc(m.sess, cap * sizeof *n);
		if (!n) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		m.sess = n;
		m.capsess = cap;
	}
	if (!(s = calloc(1, sizeof *s))) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	s->h = ++m.next_session;
	s->slot = (uint32_t)id;
	s->rw = (flags & CKF_RW_SESSION) != 0;
	m.sess[m.nsess++] = s;
	*h = s->h;
out:
	unlock();
	return rv;
}

EXPORT CK_RV C_CloseSession(CK_SESSION_HANDLE h)
{
	CK_RV rv = enter();
	if (rv != CKR_OK)
		return rv;
	rv = CKR_SESSION_HANDLE_INVALID;
	for (size_t i = 0; i < m.nsess; i++) {
		if (m.sess[i]->h == h) {
			session_free(m.sess[i]);
			m.sess[i] = m.sess[--m.nsess];
			rv = CKR_OK;
			break;
		}
	}
	unlock();
	return rv;
}

EXPORT CK_RV C_CloseAllSessions(CK_SLOT_ID id)
{
	CK_RV rv = enter();
	if (rv != CKR_OK)
		return rv;
	if (!slot_find(id)) {
		unlock();
		return CKR_SLOT_ID_INVALID;
	}
	for (size_t i = 0; i < m.nsess;) {
		if (m.sess[i]->slot == id) {
			session_free(m.sess[i]);
			m.sess[i] = m.sess[--m.nsess];
		} else {
			i++;
		}
	}
	unlock();
	return CKR_OK;
}

EXPORT CK_RV C_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info)
{
	struct session *s;
	struct slot *sl;
	CK_RV rv;
	if (!info)
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	info->slotID = s->slot;
	info->flags = CKF_SERIAL_SESSION | (s->rw ? CKF_RW_SESSION : 0);
	info->state = s->rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
	info->ulDeviceError = 0;
	unlock();
	return CKR_OK;
}

/* C_Login accepts any PIN: the service authenticates the process itself
 * (its uid or its JWT-SVID), so tokens need no login and every session is in the user state
 * from the start. */
EXPORT CK_RV C_Login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG n)
{
	struct session *s;
	struct slot *sl;
	CK_RV rv;
	(void)pin;
	(void)n;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	unlock();
	return user == CKU_USER || user == CKU_CONTEXT_SPECIFIC ? CKR_OK : CKR_USER_TYPE_INVALID;
}

EXPORT CK_RV C_Logout(CK_SESSION_HANDLE h)
{
	struct session *s;
	struct slot *sl;
	CK_RV rv;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	unlock();
	return CKR_OK;
}

/* ---- attributes --------------------------------------------------------------- */

static void put_ulong(struct buf *b, CK_ULONG v) { buf_put(b, &v, sizeof v); }
static void put_bool(struct buf *b, int v)
{
	CK_BBOOL c = v ? CK_TRUE : CK_FALSE;
	buf_put(b, &c, 1);
}

/* public_key_locked returns the object's public key, fetching it from the
 * service the first time (under the lock: later calls find it cached). */
static int public_key_locked(struct object *o, struct buf **out)
{
	if (!o->have_pub) {
		int rc = ps_export_public_key(&m.ep, (uint8_t)o->prov, o->name, &o->pub);
		if (rc != 0)
			return rc;
		o->have_pub = 1;
	}
	*out = &o->pub;
	return 0;
}

static int exportable(const struct object *o) { return o->cls == CKO_PRIVATE_KEY && (o->attrs.usage & U_EXPORT); }

/* CKR_ATTRIBUTE_SENSITIVE and CKR_ATTRIBUTE_TYPE_INVALID are the two ways
 * an attribute can be absent; other codes are failures. */
static CK_RV export_key_locked(struct object *o, struct buf *out)
{
	if (o->cls != CKO_PRIVATE_KEY)
		return CKR_ATTRIBUTE_TYPE_INVALID;
	if (!exportable(o))
		return CKR_ATTRIBUTE_SENSITIVE;
	return status_rv(ps_export_key(&m.ep, (uint8_t)o->prov, o->name, out));
}

static CK_RV rsa_value(struct object *o, CK_ATTRIBUTE_TYPE t, struct buf *v)
{
	struct buf *pub, priv = {0};
	struct der r, seq, x;
	int idx, i, rc;
	switch (t) {
	case CKA_MODULUS:
	case CKA_PUBLIC_EXPONENT:
		if ((rc = public_key_locked(o, &pub)) != 0)
			return status_rv(rc);
		r.p = pub->p;
		r.end = pub->p + pub->n;
		if (der_next(&r, 0x30, &seq) < 0 || der_int(&seq, &x) < 0 ||
		    (t == CKA_PUBLIC_EXPONENT && der_int(&seq, &x) < 0))
			return CKR_DEVICE_ERROR;
		buf_put(v, x.p, (size_t)(x.end - x.p));
		return CKR_OK;
	case CKA_MODULUS_BITS:
		put_ulong(v, o->attrs.bits);
		return CKR_OK;
	case CKA_PRIVATE_EXPONENT:
		idx = 3;
		break;
	case CKA_PRIME_1:
		idx = 4;
		break;
	case CKA_PRIME_2:
		idx = 5;
		break;
	case CKA_EXPONENT_1:
		idx = 6;
		break;
	case CKA_EXPONENT_2:
		idx = 7;
		break;
	case CKA_COEFFICIENT:
		idx = 8;
		break;
	default:
		return CKR_ATTRIBUTE_TYPE_INVALID;
	}
	{
		CK_RV rv = export_key_locked(o, &priv);
		if (rv != CKR_OK) {
			buf_free(&priv);
			return rv;
		}
	}
	/* RSAPrivateKey: version, n, e, d, p, q, dp, dq, qinv. */
	r.p = priv.p;
	r.end = priv.p + priv.n;
	if (der_next(&r, 0x30, &seq) < 0) {
		buf_free(&priv);
		return CKR_DEVICE_ERROR;
	}
	for (i = 0; i <= idx; i++) {
		if (der_int(&seq, &x) < 0) {
			buf_free(&priv);
			return CKR_DEVICE_ERROR;
		}
	}
	buf_put(v, x.p, (size_t)(x.end - x.p));
	buf_free(&priv);
	return CKR_OK;
}

static CK_RV ec_value(struct object *o, CK_ATTRIBUTE_TYPE t, struct buf *v)
{
	struct buf *pub;
	const uint8_t *oid;
	size_t on;
	int rc;
	switch (t) {
	case CKA_EC_PARAMS:
		if (!(oid = curve_oid(o->attrs.family, o->attrs.bits, &on)))
			return CKR_ATTRIBUTE_TYPE_INVALID;
		buf_put(v, oid, on);
		return CKR_OK;
	case CKA_EC_POINT:
		if ((rc = public_key_locked(o, &pub)) != 0)
			return status_rv(rc);
		der_tlv(v, 0x04, pub->p, pub->n);
		return CKR_OK;
	case CKA_VALUE:
		return export_key_locked(o, v);
	}
	return CKR_ATTRIBUTE_TYPE_INVALID;
}

static size_t allowed_mechanisms(const struct psa_attrs *a, CK_MECHANISM_TYPE *out)
{
	size_t n = 0;
	for (size_t i = 0; i < NMECHS; i++) {
		if (mechs[i].kind == MK_KEYGEN || mechs[i].rsa != attrs_rsa(a))
			continue;
		if (mech_permitted(&mechs[i], a->alg))
			out[n++] = mechs[i].type;
	}
	return n;
}

/* attr_value appends the encoding of one attribute to v. */
static CK_RV attr_value(struct object *o, CK_ATTRIBUTE_TYPE t, struct buf *v)
{
	const struct psa_attrs *a = &o->attrs;
	int priv = o->cls == CKO_PRIVATE_KEY;
	uint32_t u = a->usage;
	uint8_t id[256];
	size_t ll, idn;
	switch (t) {
	case CKA_CLASS:
		put_ulong(v, o->cls);
		return CKR_OK;
	case CKA_TOKEN:
	case CKA_DESTROYABLE:
		put_bool(v, 1);
		return CKR_OK;
	case CKA_PRIVATE:
		put_bool(v, priv);
		return CKR_OK;
	case CKA_MODIFIABLE:
	case CKA_COPYABLE:
	case CKA_DERIVE:
	case CKA_LOCAL:
	case CKA_WRAP:
	case CKA_UNWRAP:
	case CKA_SIGN_RECOVER:
	case CKA_VERIFY_RECOVER:
	case CKA_TRUSTED:
	case CKA_WRAP_WITH_TRUSTED:
	case CKA_ALWAYS_AUTHENTICATE:
		put_bool(v, 0);
		return CKR_OK;
	case CKA_LABEL:
	case CKA_ID:
		if (strlen(o->name) / 2 > sizeof id)
			return CKR_DEVICE_ERROR;
		split_name(o->name, &ll, id, &idn);
		if (t == CKA_LABEL)
			buf_put(v, o->name, ll);
		else
			buf_put(v, id, idn);
		return CKR_OK;
	case CKA_SUBJECT:
	case CKA_START_DATE:
	case CKA_END_DATE:
		return CKR_OK;
	case CKA_KEY_TYPE:
		put_ulong(v, attrs_rsa(a) ? CKK_RSA : CKK_EC);
		return CKR_OK;
	case CKA_KEY_GEN_MECHANISM:
		put_ulong(v, CK_UNAVAILABLE_INFORMATION);
		return CKR_OK;
	case CKA_ALLOWED_MECHANISMS: {
		CK_MECHANISM_TYPE ms[NMECHS];
		size_t n = allowed_mechanisms(a, ms);
		buf_put(v, ms, n * sizeof ms[0]);
		return CKR_OK;
	}
	case CKA_SIGN:
		if (!priv)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		put_bool(v, u & (U_SIGN_HASH | U_SIGN_MESSAGE));
		return CKR_OK;
	case CKA_DECRYPT:
		if (!priv)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		put_bool(v, u & U_DECRYPT);
		return CKR_OK;
	case CKA_VERIFY:
		if (priv)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		put_bool(v, u & (U_VERIFY_HASH | U_VERIFY_MESSAGE | U_SIGN_HASH));
		return CKR_OK;
	case CKA_ENCRYPT:
		if (priv)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		put_bool(v, a->alg.kind == ALG_RSA_PKCS1V15_CRYPT || a->alg.kind == ALG_RSA_OAEP);
		return CKR_OK;
	case CKA_SENSITIVE:
	case CKA_ALWAYS_SENSITIVE:
	case CKA_NEVER_EXTRACTABLE:
		if (!priv)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		put_bool(v, !exportable(o));
		return CKR_OK;
	case CKA_EXTRACTABLE:
		if (!priv)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		put_bool(v, exportable(o));
		return CKR_OK;
	case CKA_PUBLIC_KEY_INFO: {
		struct buf *pub;
		int rc = public_key_locked(o, &pub);
		if (rc != 0)
			return status_rv(rc);
		if (spki(v, attrs_rsa(a), a->family, a->bits, pub->p, pub->n) < 0)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		return CKR_OK;
	}
	}
	if (attrs_ecc(a))
		return ec_value(o, t, v);
	return rsa_value(o, t, v);
}

static int absent(CK_RV rv) { return rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID; }

/* matches reports whether an object has every attribute of a template. */
static int matches(struct object *o, const CK_ATTRIBUTE *t, CK_ULONG n)
{
	for (CK_ULONG i = 0; i < n; i++) {
		struct buf v = {0};
		CK_RV rv = attr_value(o, t[i].type, &v);
		int ok = rv == CKR_OK && !v.oom && v.n == t[i].ulValueLen && (v.n == 0 || memcmp(v.p, t[i].pValue, v.n) == 0);
		buf_free(&v);
		if (!ok)
			return 0;
	}
	return 1;
}

static CK_RV check_template(const CK_ATTRIBUTE *t, CK_ULONG n)
{
	if (n == 0)
		return CKR_OK;
	if (!t)
		return CKR_ARGUMENTS_BAD;
	for (CK_ULONG i = 0; i < n; i++)
		if (!t[i].pValue && t[i].ulValueLen != 0)
			return CKR_ATTRIBUTE_VALUE_INVALID;
	return CKR_OK;
}

/* ---- objects -------------------------------------------------------------------- */

EXPORT CK_RV C_FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
	struct session *s;
	struct slot *sl;
	struct ps_key *keys;
	size_t nkeys, i;
	uint32_t prov;
	struct ps_ep ep;
	CK_RV rv = check_template(t, n);
	int rc;
	if (rv != CKR_OK)
		return rv;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	if (s->finding) {
		unlock();
		return CKR_OPERATION_ACTIVE;
	}
	prov = sl->id;
	ep = m.ep;
	unlock();
	rc = ps_list_keys(&ep, &keys, &nkeys);
	if (rc != 0)
		return status_rv(rc);
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK) {
		ps_free_keys(keys, nkeys);
		return rv;
	}
	if (s->finding) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	/* Sync the provider's objects with the listing: new keys get
	 * handles, keys that are gone lose theirs. */
	free(s->find);
	s->find = calloc(2 * nkeys + 1, sizeof *s->find);
	s->nfind = s->findpos = 0;
	if (!s->find) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	for (i = 0; i < m.nobjs; i++)
		if (m.objs[i]->prov == prov)
			m.objs[i]->unseen = 1;
	for (i = 0; i < nkeys; i++) {
		CK_OBJECT_CLASS cls[2];
		int nc;
		if (keys[i].provider != prov)
			continue;
		nc = key_classes(&keys[i].attrs, cls);
		for (int c = 0; c < nc; c++) {
			CK_OBJECT_HANDLE oh = object_put(prov, keys[i].name, cls[c], &keys[i].attrs);
			struct object *o;
			if (!oh) {
				rv = CKR_HOST_MEMORY;
				goto out;
			}
			o = object_find(prov, oh);
			o->unseen = 0;
		}
	}
	for (i = 0; i < m.nobjs;) {
		if (m.objs[i]->prov == prov && m.objs[i]->unseen)
			object_remove_at(i);
		else
			i++;
	}
	/* In listing order, as the service gave the keys. */
	for (i = 0; i < nkeys; i++) {
		CK_OBJECT_CLASS cls[2];
		int nc;
		if (keys[i].provider != prov)
			continue;
		nc = key_classes(&keys[i].attrs, cls);
		for (int c = 0; c < nc; c++) {
			struct object *o = object_by_key(prov, keys[i].name, cls[c]);
			if (o && matches(o, t, n))
				s->find[s->nfind++] = o->h;
		}
	}
	s->finding = 1;
out:
	if (rv != CKR_OK) {
		for (i = 0; i < m.nobjs; i++)
			m.objs[i]->unseen = 0;
	}
	unlock();
	ps_free_keys(keys, nkeys);
	return rv;
}

EXPORT CK_RV C_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR out, CK_ULONG max, CK_ULONG_PTR n)
{
	struct session *s;
	struct slot *sl;
	CK_RV rv;
	CK_ULONG k = 0;
	if (!n || (!out && max != 0))
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	if (!s->finding) {
		unlock();
		return CKR_OPERATION_NOT_INITIALIZED;
	}
	while (k < max && s->findpos < s->nfind)
		out[k++] = s->find[s->findpos++];
	*n = k;
	unlock();
	return CKR_OK;
}

EXPORT CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE h)
{
	struct session *s;
	struct slot *sl;
	CK_RV rv;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	if (!s->finding) {
		unlock();
		return CKR_OPERATION_NOT_INITIALIZED;
	}
	free(s->find);
	s->find = NULL;
	s->nfind = s->findpos = 0;
	s->finding = 0;
	unlock();
	return CKR_OK;
}

EXPORT CK_RV C_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
	struct session *s;
	struct slot *sl;
	struct object *o;
	CK_RV rv, result = CKR_OK;
	if (!t && n != 0)
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	if (!(o = object_find(sl->id, oh))) {
		unlock();
		return CKR_OBJECT_HANDLE_INVALID;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		struct buf v = {0};
		rv = attr_value(o, t[i].type, &v);
		if (rv == CKR_OK && v.oom)
			rv = CKR_HOST_MEMORY;
		if (absent(rv)) {
			t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			result = rv;
		} else if (rv != CKR_OK) {
			buf_free(&v);
			unlock();
			return rv;
		} else if (!t[i].pValue) {
			t[i].ulValueLen = v.n;
		} else if (t[i].ulValueLen < v.n) {
			t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			result = CKR_BUFFER_TOO_SMALL;
		} else {
			if (v.n)
				memcpy(t[i].pValue, v.p, v.n);
			t[i].ulValueLen = v.n;
		}
		buf_free(&v);
	}
	unlock();
	return result;
}

EXPORT CK_RV C_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh)
{
	struct session *s;
	struct slot *sl;
	struct object *o;
	struct ps_ep ep;
	uint32_t prov;
	char *name;
	CK_RV rv;
	int rc;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	if (!s->rw) {
		unlock();
		return CKR_SESSION_READ_ONLY;
	}
	if (!(o = object_find(sl->id, oh))) {
		unlock();
		return CKR_OBJECT_HANDLE_INVALID;
	}
	prov = sl->id;
	ep = m.ep;
	name = xstrdup(o->name);
	unlock();
	if (!name)
		return CKR_HOST_MEMORY;
	/* Both objects of a key pair are the one Parsec key: destroying
	 * either destroys the key. */
	rc = ps_destroy_key(&ep, (uint8_t)prov, name);
	if (rc != 0 && rc != ST_DOES_NOT_EXIST) {
		free(name);
		return status_rv(rc);
	}
	if ((rv = enter()) == CKR_OK) {
		objects_remove_key(prov, name);
		unlock();
		rv = status_rv(rc);
	}
	free(name);
	return rv;
}

/* ---- key generation --------------------------------------------------------------- */

struct gen_request {
	char *label;
	uint8_t *id;
	size_t idn;
	int rsa;
	uint32_t bits;
	int sign, sign_set, decrypt, export_;
	CK_MECHANISM_TYPE allowed[32];
	size_t nallowed;
};

static CK_RV tmpl_bool(const CK_ATTRIBUTE *a, int *v)
{
	if (a->ulValueLen != 1)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	*v = *(CK_BBOOL *)a->pValue != CK_FALSE;
	return CKR_OK;
}

static CK_RV tmpl_ulong(const CK_ATTRIBUTE *a, CK_ULONG *v)
{
	if (a->ulValueLen != sizeof(CK_ULONG))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	memcpy(v, a->pValue, sizeof *v);
	return CKR_OK;
}

static CK_RV parse_gen(CK_MECHANISM_TYPE mech, const CK_ATTRIBUTE *pub, CK_ULONG pn, const CK_ATTRIBUTE *priv,
		       CK_ULONG kn, struct gen_request *r)
{
	int extractable = 0, sensitive = 1, have_curve = 0;
	memset(r, 0, sizeof *r);
	r->rsa = mech == CKM_RSA_PKCS_KEY_PAIR_GEN;
	for (int part = 0; part < 2; part++) {
		const CK_ATTRIBUTE *t = part ? priv : pub;
		CK_ULONG n = part ? kn : pn;
		for (CK_ULONG i = 0; i < n; i++) {
			const CK_ATTRIBUTE *a = &t[i];
			CK_RV rv = CKR_OK;
			CK_ULONG u;
			switch (a->type) {
			case CKA_LABEL:
				free(r->label);
				if (!(r->label = malloc(a->ulValueLen + 1)))
					return CKR_HOST_MEMORY;
				if (a->ulValueLen)
					memcpy(r->label, a->pValue, a->ulValueLen);
				r->label[a->ulValueLen] = 0;
				if (strlen(r->label) != a->ulValueLen)
					return CKR_ATTRIBUTE_VALUE_INVALID; /* a NUL inside */
				break;
			case CKA_ID:
				free(r->id);
				if (!(r->id = malloc(a->ulValueLen + 1)))
					return CKR_HOST_MEMORY;
				if (a->ulValueLen)
					memcpy(r->id, a->pValue, a->ulValueLen);
				r->idn = a->ulValueLen;
				break;
			case CKA_EC_PARAMS:
				if (r->rsa)
					return CKR_TEMPLATE_INCONSISTENT;
				if (!(r->bits = curve_bits(a->pValue, a->ulValueLen)))
					return CKR_CURVE_NOT_SUPPORTED;
				have_curve = 1;
				break;
			case CKA_MODULUS_BITS:
				rv = tmpl_ulong(a, &u);
				if (rv == CKR_OK && (u < 2048 || u > 4096 || u % 8 != 0))
					return CKR_KEY_SIZE_RANGE;
				r->bits = (uint32_t)u;
				break;
			case CKA_PUBLIC_EXPONENT: {
				const uint8_t *e = a->pValue;
				CK_ULONG k = 0;
				while (k < a->ulValueLen && e[k] == 0)
					k++;
				if (a->ulValueLen - k != 3 || e[k] != 1 || e[k + 1] != 0 || e[k + 2] != 1)
					return CKR_ATTRIBUTE_VALUE_INVALID;
				break;
			}
			case CKA_SIGN:
				rv = tmpl_bool(a, &r->sign);
				r->sign_set = 1;
				break;
			case CKA_DECRYPT:
				rv = tmpl_bool(a, &r->decrypt);
				break;
			case CKA_EXTRACTABLE:
				rv = tmpl_bool(a, &extractable);
				break;
			case CKA_SENSITIVE:
				rv = tmpl_bool(a, &sensitive);
				break;
			case CKA_ALLOWED_MECHANISMS:
				if (a->ulValueLen % sizeof(CK_MECHANISM_TYPE) != 0)
					return CKR_ATTRIBUTE_VALUE_INVALID;
				for (CK_ULONG k = 0; k < a->ulValueLen / sizeof(CK_MECHANISM_TYPE); k++) {
					if (r->nallowed < sizeof r->allowed / sizeof r->allowed[0])
						memcpy(&r->allowed[r->nallowed++],
						       (const uint8_t *)a->pValue + k * sizeof(CK_MECHANISM_TYPE),
						       sizeof(CK_MECHANISM_TYPE));
				}
				break;
			case CKA_CLASS:
			case CKA_KEY_TYPE:
			case CKA_TOKEN:
			case CKA_PRIVATE:
			case CKA_VERIFY:
			case CKA_ENCRYPT:
			case CKA_WRAP:
			case CKA_UNWRAP:
			case CKA_DERIVE:
			case CKA_MODIFIABLE:
			case CKA_SUBJECT:
			case CKA_COPYABLE:
			case CKA_DESTROYABLE:
			case CKA_START_DATE:
			case CKA_END_DATE:
			case CKA_SIGN_RECOVER:
			case CKA_VERIFY_RECOVER:
				break; /* accepted and implied: every key is a token object */
			default:
				return CKR_ATTRIBUTE_TYPE_INVALID;
			}
			if (rv != CKR_OK)
				return rv;
		}
	}
	if (r->rsa && r->bits == 0)
		return CKR_TEMPLATE_INCOMPLETE;
	if (!r->rsa && !have_curve)
		return CKR_TEMPLATE_INCOMPLETE;
	r->export_ = extractable && !sensitive;
	return CKR_OK;
}

static int wants(const struct gen_request *r, enum mech_kind k)
{
	for (size_t i = 0; i < r->nallowed; i++) {
		const struct mech_spec *s = mech_find(r->allowed[i]);
		if (s && s->kind == k)
			return 1;
	}
	return 0;
}

/* gen_attrs is the PSA key for the request. PSA keys have one algorithm:
 * EC keys sign with ECDSA: P-256 with SHA-256, as parsec-tool's
 * create-ecc-key makes them (so parsec-tool can sign with them, and TLS 1.3
 * pairs that hash with that curve), unless CKA_ALLOWED_MECHANISMS names an
 * ECDSA mechanism with another hash; P-384 and P-521 with any hash, as
 * applications often keep SHA-256 digests with them (openssl req does).
 * RSA keys sign with PKCS#1 v1.5 over any hash, or PSS when
 * CKA_ALLOWED_MECHANISMS names only PSS mechanisms, or decrypt when
 * CKA_DECRYPT is true and CKA_SIGN is not (PKCS#1 v1.5, or OAEP with SHA-256
 * when CKA_ALLOWED_MECHANISMS names CKM_RSA_PKCS_OAEP: the mechanism's hash
 * parameter is not known at generation). */
static void gen_attrs(const struct gen_request *r, struct psa_attrs *a)
{
	const uint32_t sign_usage = U_SIGN_HASH | U_VERIFY_HASH | U_SIGN_MESSAGE | U_VERIFY_MESSAGE;
	memset(a, 0, sizeof *a);
	a->bits = r->bits;
	if (!r->rsa) {
		a->type = KT_ECC_PAIR;
		a->family = ECC_SECP_R1;
		a->usage = sign_usage;
		a->alg.kind = ALG_ECDSA;
		a->alg.hash = HASH_ANY;
		if (r->bits == 256) {
			a->alg.hash = HASH_SHA256;
			for (size_t i = 0; i < r->nallowed; i++) {
				const struct mech_spec *s = mech_find(r->allowed[i]);
				if (s && s->kind == MK_ECDSA && s->hash != SHA_NONE && s->hash != SHA_256)
					a->alg.hash = HASH_ANY;
			}
		}
	} else {
		a->type = KT_RSA_PAIR;
		if (r->decrypt && !(r->sign_set && r->sign)) {
			a->usage = U_DECRYPT | U_ENCRYPT;
			a->alg.kind = ALG_RSA_PKCS1V15_CRYPT;
			if (wants(r, MK_OAEP)) {
				a->alg.kind = ALG_RSA_OAEP;
				a->alg.hash = HASH_SHA256;
			}
		} else if (wants(r, MK_PSS) && !wants(r, MK_PKCS1)) {
			a->usage = sign_usage;
			a->alg.kind = ALG_RSA_PSS;
			a->alg.hash = HASH_ANY;
		} else {
			a->usage = sign_usage;
			a->alg.kind = ALG_RSA_PKCS1V15_SIGN;
			a->alg.hash = HASH_ANY;
		}
	}
	if (r->export_)
		a->usage |= U_EXPORT;
}

EXPORT CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_ATTRIBUTE_PTR pt, CK_ULONG pn,
			       CK_ATTRIBUTE_PTR kt, CK_ULONG kn, CK_OBJECT_HANDLE_PTR pubh, CK_OBJECT_HANDLE_PTR privh)
{
	struct gen_request r;
	struct psa_attrs a;
	struct session *s;
	struct slot *sl;
	struct ps_ep ep;
	uint32_t prov;
	char *name = NULL;
	CK_RV rv;
	int rc;
	if (!mech || !pubh || !privh)
		return CKR_ARGUMENTS_BAD;
	if (mech->mechanism != CKM_EC_KEY_PAIR_GEN && mech->mechanism != CKM_RSA_PKCS_KEY_PAIR_GEN)
		return CKR_MECHANISM_INVALID;
	if ((rv = check_template(pt, pn)) != CKR_OK || (rv = check_template(kt, kn)) != CKR_OK)
		return rv;
	rv = parse_gen(mech->mechanism, pt, pn, kt, kn, &r);
	if (rv != CKR_OK)
		goto out;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		goto out;
	if (!s->rw) {
		unlock();
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	prov = sl->id;
	ep = m.ep;
	unlock();
	if (!r.label || !*r.label) {
		uint8_t rnd[8];
		free(r.label);
		if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd || !(r.label = malloc(7 + 16 + 1))) {
			r.label = NULL;
			rv = CKR_FUNCTION_FAILED;
			goto out;
		}
		strcpy(r.label, "pkcs11-");
		for (int i = 0; i < 8; i++)
			sprintf(r.label + 7 + 2 * i, "%02x", rnd[i]);
	}
	if (!(name = join_name(r.label, r.id, r.idn))) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	gen_attrs(&r, &a);
	rc = ps_generate_key(&ep, (uint8_t)prov, name, &a);
	if (rc != 0) {
		/* ALREADY_EXISTS: the label (and id) name an existing key of
		 * this application. */
		rv = status_rv(rc);
		goto out;
	}
	if ((rv = enter()) != CKR_OK)
		goto out;
	*privh = object_put(prov, name, CKO_PRIVATE_KEY, &a);
	*pubh = object_put(prov, name, CKO_PUBLIC_KEY, &a);
	rv = *privh && *pubh ? CKR_OK : CKR_HOST_MEMORY;
	unlock();
out:
	free(r.label);
	free(r.id);
	free(name);
	return rv;
}

/* ---- sign and verify ---------------------------------------------------------------- */

static size_t sig_len(const struct psa_attrs *a)
{
	if (attrs_rsa(a))
		return (a->bits + 7) / 8;
	return 2 * ((a->bits + 7) / 8);
}

/* module_verifies reports whether the module verifies signatures of this
 * key itself: RSA keys, and ECDSA on the curves it knows (the other curves
 * go to the service's PsaVerifyHash). */
static int module_verifies(const struct psa_attrs *a)
{
	if (attrs_rsa(a))
		return a->bits <= BN_MAX_BITS;
	return attrs_ecc(a) && a->family == ECC_SECP_R1 && (a->bits == 256 || a->bits == 384 || a->bits == 521);
}

static CK_RV sign_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE oh, int sign)
{
	struct session *s;
	struct slot *sl;
	struct object *o;
	struct sign_op *op;
	const struct mech_spec *spec;
	CK_RV rv;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	op = sign ? &s->sign : &s->verify;
	if (op->active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if (!(o = object_find(sl->id, oh))) {
		rv = CKR_OBJECT_HANDLE_INVALID;
		goto out;
	}
	if (!mech) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	spec = mech_find(mech->mechanism);
	if (!spec || spec->kind == MK_KEYGEN || spec->kind == MK_OAEP) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (spec->rsa != attrs_rsa(&o->attrs) || (sign && o->cls != CKO_PRIVATE_KEY)) {
		rv = CKR_KEY_TYPE_INCONSISTENT;
		goto out;
	}
	sign_op_clear(op);
	if (spec->kind == MK_PSS) {
		CK_RSA_PKCS_PSS_PARAMS *p = mech->pParameter;
		enum sha_alg hh;
		CK_RSA_PKCS_MGF_TYPE mgf;
		if (!p || mech->ulParameterLen != sizeof *p || !hash_by_ckm(p->hashAlg, &hh, &mgf) || mgf != p->mgf ||
		    (spec->hash != SHA_NONE && hh != spec->hash) || (sign && p->sLen != sha_size(hh))) {
			/* PSA signs with a salt as long as the hash. */
			rv = CKR_MECHANISM_PARAM_INVALID;
			goto out;
		}
		op->pss_hash = hh;
		op->pss_len = p->sLen;
	}
	if (!mech_permitted(spec, o->attrs.alg)) {
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
		goto out;
	}
	if (!(op->name = xstrdup(o->name))) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	op->prov = o->prov;
	op->attrs = o->attrs;
	op->spec = spec;
	if (!sign && module_verifies(&o->attrs)) {
		/* The public key is usually cached; fetching it holds the
		 * lock only the first time. */
		struct buf *pub;
		int rc = public_key_locked(o, &pub);
		if (rc != 0) {
			sign_op_clear(op);
			rv = status_rv(rc);
			goto out;
		}
		buf_put(&op->pub, pub->p, pub->n);
		if (op->pub.oom) {
			sign_op_clear(op);
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		op->have_pub = 1;
	}
	if (spec->hash != SHA_NONE)
		sha_init(&op->h, spec->hash);
	op->gen = ++m.next_gen;
	op->active = 1;
out:
	unlock();
	return rv;
}

static void op_update(struct sign_op *op, const uint8_t *p, size_t n)
{
	op->multi = 1;
	if (op->spec->hash != SHA_NONE)
		sha_update(&op->h, p, n);
	else
		buf_put(&op->data, p, n);
}

/* op_input finishes the operation's input: the PSA algorithm and the bytes
 * to sign or verify (in, n point into out or op->data). */
static CK_RV op_input(struct sign_op *op, uint8_t *digest, struct psa_alg *alg, const uint8_t **in, size_t *n)
{
	struct psa_alg p = op->attrs.alg;
	enum sha_alg h = op->spec->hash;
	if (h != SHA_NONE) {
		sha_final(&op->h, digest);
		*in = digest;
		*n = sha_size(h);
	} else {
		*in = op->data.p;
		*n = op->data.n;
		if (op->data.oom)
			return CKR_HOST_MEMORY;
	}
	switch (op->spec->kind) {
	case MK_ECDSA:
		if (h == SHA_NONE && p.kind == ALG_ECDSA_ANY) {
			alg->kind = ALG_ECDSA_ANY;
			alg->hash = HASH_NONE;
			return CKR_OK;
		}
		if (h == SHA_NONE && (h = hash_by_size(*n)) == SHA_NONE)
			return CKR_DATA_LEN_RANGE;
		alg->kind = p.kind == ALG_DET_ECDSA ? ALG_DET_ECDSA : ALG_ECDSA;
		alg->hash = psa_hash(h);
		return CKR_OK;
	case MK_PKCS1:
		if (h != SHA_NONE) {
			alg->kind = ALG_RSA_PKCS1V15_SIGN;
			alg->hash = psa_hash(h);
			return CKR_OK;
		}
		/* CKM_RSA_PKCS over a DigestInfo can use a key whose policy is
		 * RSA_PKCS1V15_SIGN(hash) rather than the raw variant. */
		if (p.kind != ALG_RSA_PKCS1V15_SIGN_RAW) {
			for (size_t i = 0; i < NHASHES; i++) {
				size_t pl;
				const uint8_t *pfx = digest_info_prefix(hashes[i].sha, &pl);
				if (*n == pl + sha_size(hashes[i].sha) && memcmp(*in, pfx, pl) == 0) {
					alg->kind = ALG_RSA_PKCS1V15_SIGN;
					alg->hash = hashes[i].psa;
					*in += pl;
					*n -= pl;
					return CKR_OK;
				}
			}
		}
		alg->kind = ALG_RSA_PKCS1V15_SIGN_RAW;
		alg->hash = HASH_NONE;
		return CKR_OK;
	case MK_PSS:
		if (h == SHA_NONE && *n != sha_size(op->pss_hash))
			return CKR_DATA_LEN_RANGE;
		alg->kind = ALG_RSA_PSS;
		alg->hash = psa_hash(op->pss_hash);
		return CKR_OK;
	default:
		return CKR_MECHANISM_INVALID;
	}
}

/* op_take moves what the service call needs out of the session's operation
 * and ends it (under the lock): the call runs unlocked. */
struct op_call {
	uint32_t prov;
	char *name;
	struct psa_alg alg;
	uint8_t digest[SHA_MAX_DIGEST];
	struct buf data;
	const uint8_t *in;
	size_t n;
};

static CK_RV op_take(struct sign_op *op, struct op_call *c)
{
	CK_RV rv;
	memset(c, 0, sizeof *c);
	rv = op_input(op, c->digest, &c->alg, &c->in, &c->n);
	if (rv == CKR_OK && c->in != c->digest) {
		/* The input lives in op->data: keep it, with in pointing into it. */
		size_t off = (size_t)(c->in - op->data.p);
		c->data = op->data;
		memset(&op->data, 0, sizeof op->data);
		c->in = c->data.p ? c->data.p + off : (const uint8_t *)"";
	} else if (rv == CKR_OK) {
		/* in points at c->digest already. */
	}
	c->prov = op->prov;
	c->name = op->name;
	op->name = NULL;
	sign_op_clear(op);
	return rv;
}

static void op_call_free(struct op_call *c)
{
	free(c->name);
	buf_free(&c->data);
}

static CK_RV finish_sign(struct session *s, CK_BYTE_PTR sig, CK_ULONG_PTR siglen)
{
	struct op_call c;
	struct buf out = {0};
	struct ps_ep ep = m.ep;
	size_t want = sig_len(&s->sign.attrs);
	CK_RV rv;
	int rc;
	if (!sig) {
		*siglen = want;
		unlock();
		return CKR_OK;
	}
	if (*siglen < want) {
		*siglen = want;
		unlock();
		return CKR_BUFFER_TOO_SMALL;
	}
	rv = op_take(&s->sign, &c);
	unlock();
	if (rv == CKR_OK) {
		rc = ps_sign_hash(&ep, (uint8_t)c.prov, c.name, c.alg, c.in, c.n, &out);
		rv = rc ? status_rv(rc) : output(sig, siglen, out.p, out.n);
	}
	op_call_free(&c);
	buf_free(&out);
	return rv;
}

EXPORT CK_RV C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE k)
{
	return sign_init(h, mech, k, 1);
}

EXPORT CK_RV C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG n, CK_BYTE_PTR sig, CK_ULONG_PTR siglen)
{
	struct session *s;
	struct slot *sl;
	CK_RV rv;
	if (!siglen || (!data && n != 0))
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	if (!s->sign.active) {
		unlock();
		return CKR_OPERATION_NOT_INITIALIZED;
	}
	if (s->sign.multi) {
		unlock();
		return CKR_OPERATION_ACTIVE;
	}
	if (sig && *siglen >= sig_len(&s->sign.attrs)) {
		/* One-shot: the input replaces, not appends, so that a length
		 * query before this call does not count it twice. */
		s->sign.data.n = 0;
		if (s->sign.spec->hash != SHA_NONE)
			sha_init(&s->sign.h, s->sign.spec->hash);
		op_update(&s->sign, data, n);
		s->sign.multi = 0;
	}
	return finish_sign(s, sig, siglen);
}

static CK_RV update(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG n, int sign)
{
	struct session *s;
	struct slot *sl;
	struct sign_op *op;
	CK_RV rv;
	if (!data && n != 0)
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	op = sign ? &s->sign : &s->verify;
	if (!op->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else
		op_update(op, data, n);
	unlock();
	return rv;
}

EXPORT CK_RV C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG n) { return update(h, data, n, 1); }

EXPORT CK_RV C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG_PTR siglen)
{
	struct session *s;
	struct slot *sl;
	CK_RV rv;
	if (!siglen)
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	if (!s->sign.active) {
		unlock();
		return CKR_OPERATION_NOT_INITIALIZED;
	}
	return finish_sign(s, sig, siglen);
}

EXPORT CK_RV C_VerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE k)
{
	return sign_init(h, mech, k, 0);
}

/* verify_here checks the signature in the module with the public key
 * (called unlocked, on the operation moved out of its session). The public
 * key is public: this works whatever the key's usage flags say. */
static CK_RV verify_here(struct sign_op *op, const uint8_t *sig, size_t sn)
{
	uint8_t digest[SHA_MAX_DIGEST];
	const uint8_t *in = op->data.p ? op->data.p : (const uint8_t *)"";
	size_t n = op->data.n;
	int rc;
	if (op->data.oom)
		return CKR_HOST_MEMORY;
	if (op->spec->hash != SHA_NONE) {
		sha_final(&op->h, digest);
		in = digest;
		n = sha_size(op->spec->hash);
	}
	switch (op->spec->kind) {
	case MK_ECDSA:
		rc = ecdsa_verify(op->attrs.bits, op->pub.p, op->pub.n, in, n, sig, sn);
		break;
	case MK_PKCS1:
		rc = rsa_pkcs1_verify(op->pub.p, op->pub.n, op->spec->hash, in, n, sig, sn);
		break;
	case MK_PSS:
		if (n != sha_size(op->pss_hash))
			return CKR_DATA_LEN_RANGE;
		rc = rsa_pss_verify(op->pub.p, op->pub.n, op->pss_hash, op->pss_len, in, n, sig, sn);
		break;
	default:
		return CKR_MECHANISM_INVALID;
	}
	if (rc == VERIFY_KEY)
		return CKR_DEVICE_ERROR; /* the service's public key did not parse */
	return rc == VERIFY_OK ? CKR_OK : CKR_SIGNATURE_INVALID;
}

/* finish_verify ends the verification (called locked, returns unlocked):
 * in the module when it knows the key (verify_here), else by the service
 * (PsaVerifyHash). */
static CK_RV finish_verify(struct session *s, const uint8_t *sig, size_t sn)
{
	struct op_call c;
	struct ps_ep ep = m.ep;
	size_t want = sig_len(&s->verify.attrs);
	CK_RV rv;
	int rc;
	if (sn != want) {
		sign_op_clear(&s->verify);
		unlock();
		return CKR_SIGNATURE_LEN_RANGE;
	}
	if (s->verify.spec->kind == MK_ECDSA && s->verify.spec->hash == SHA_NONE && s->verify.data.n == 0) {
		sign_op_clear(&s->verify);
		unlock();
		return CKR_DATA_LEN_RANGE;
	}
	if (s->verify.have_pub) {
		struct sign_op op = s->verify;
		/* The buffers move to op; the session's operation ends. */
		memset(&s->verify, 0, sizeof s->verify);
		unlock();
		rv = verify_here(&op, sig, sn);
		sign_op_clear(&op);
		return rv;
	}
	rv = op_take(&s->verify, &c);
	unlock();
	if (rv == CKR_OK) {
		rc = ps_verify_hash(&ep, (uint8_t)c.prov, c.name, c.alg, c.in, c.n, sig, sn);
		/* A malformed signature is an invalid one. */
		if (rc == 1135 || rc == 1150 || rc == 1153)
			rc = 1149;
		rv = status_rv(rc);
	}
	op_call_free(&c);
	return rv;
}

EXPORT CK_RV C_Verify(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG n, CK_BYTE_PTR sig, CK_ULONG sn)
{
	struct session *s;
	struct slot *sl;
	CK_RV rv;
	if ((!data && n != 0) || (!sig && sn != 0))
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	if (!s->verify.active) {
		unlock();
		return CKR_OPERATION_NOT_INITIALIZED;
	}
	if (s->verify.multi) {
		sign_op_clear(&s->verify);
		unlock();
		return CKR_OPERATION_ACTIVE;
	}
	op_update(&s->verify, data, n);
	return finish_verify(s, sig, sn);
}

EXPORT CK_RV C_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG n) { return update(h, data, n, 0); }

EXPORT CK_RV C_VerifyFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG sn)
{
	struct session *s;
	struct slot *sl;
	CK_RV rv;
	if (!sig && sn != 0)
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	if (!s->verify.active) {
		unlock();
		return CKR_OPERATION_NOT_INITIALIZED;
	}
	return finish_verify(s, sig, sn);
}

/* ---- decrypt ------------------------------------------------------------------------ */

EXPORT CK_RV C_DecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE oh)
{
	struct session *s;
	struct slot *sl;
	struct object *o;
	struct decrypt_op *op;
	struct psa_alg alg = {ALG_NONE, HASH_NONE};
	CK_RV rv;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	op = &s->dec;
	if (op->active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if (!(o = object_find(sl->id, oh))) {
		rv = CKR_OBJECT_HANDLE_INVALID;
		goto out;
	}
	if (!mech) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!attrs_rsa(&o->attrs) || o->cls != CKO_PRIVATE_KEY) {
		rv = CKR_KEY_TYPE_INCONSISTENT;
		goto out;
	}
	decrypt_op_clear(op);
	if (mech->mechanism == CKM_RSA_PKCS) {
		alg.kind = ALG_RSA_PKCS1V15_CRYPT;
	} else if (mech->mechanism == CKM_RSA_PKCS_OAEP) {
		CK_RSA_PKCS_OAEP_PARAMS *p = mech->pParameter;
		enum sha_alg hh;
		CK_RSA_PKCS_MGF_TYPE mgf;
		if (!p || mech->ulParameterLen != sizeof *p || !hash_by_ckm(p->hashAlg, &hh, &mgf) || mgf != p->mgf) {
			rv = CKR_MECHANISM_PARAM_INVALID;
			goto out;
		}
		if (p->source == CKZ_DATA_SPECIFIED && p->pSourceData && p->ulSourceDataLen > 0)
			buf_put(&op->label, p->pSourceData, p->ulSourceDataLen);
		alg.kind = ALG_RSA_OAEP;
		alg.hash = psa_hash(hh);
	} else {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (o->attrs.alg.kind != alg.kind || (alg.kind == ALG_RSA_OAEP && o->attrs.alg.hash != alg.hash)) {
		decrypt_op_clear(op);
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
		goto out;
	}
	if (!(op->name = xstrdup(o->name)) || op->label.oom) {
		decrypt_op_clear(op);
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	op->prov = o->prov;
	op->alg = alg;
	op->gen = ++m.next_gen;
	op->active = 1;
out:
	unlock();
	return rv;
}

EXPORT CK_RV C_Decrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR ct, CK_ULONG n, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	struct session *s;
	struct slot *sl;
	struct decrypt_op *op;
	struct ps_ep ep;
	struct buf res = {0};
	struct psa_alg alg;
	char *name = NULL;
	uint8_t *label = NULL;
	size_t ln = 0;
	uint32_t prov;
	uint64_t gen;
	CK_RV rv;
	int rc;
	if (!outlen || (!ct && n != 0))
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	op = &s->dec;
	if (!op->active) {
		unlock();
		return CKR_OPERATION_NOT_INITIALIZED;
	}
	if (!op->have_out) {
		/* Decrypt unlocked, on copies. */
		prov = op->prov;
		alg = op->alg;
		gen = op->gen;
		ep = m.ep;
		name = xstrdup(op->name);
		if (op->label.n && (label = malloc(op->label.n)) != NULL) {
			memcpy(label, op->label.p, op->label.n);
			ln = op->label.n;
		}
		unlock();
		if (!name || (op->label.n && !label)) {
			free(name);
			free(label);
			return CKR_HOST_MEMORY;
		}
		rc = ps_decrypt(&ep, (uint8_t)prov, name, alg, ct, n, label, ln, &res);
		free(name);
		free(label);
		if ((rv = enter_session(h, &s, &sl)) != CKR_OK) {
			buf_free(&res);
			return rv;
		}
		op = &s->dec;
		if (!op->active || op->gen != gen) {
			buf_free(&res);
			unlock();
			return CKR_OPERATION_NOT_INITIALIZED;
		}
		if (rc != 0) {
			rv = status_rv(rc);
			if (rv == CKR_ARGUMENTS_BAD || rv == CKR_DATA_INVALID)
				rv = CKR_ENCRYPTED_DATA_INVALID;
			decrypt_op_clear(op);
			buf_free(&res);
			unlock();
			return rv;
		}
		buf_free(&op->out);
		op->out = res;
		op->have_out = 1;
	}
	rv = output(out, outlen, op->out.p, op->out.n);
	if (out && rv != CKR_BUFFER_TOO_SMALL)
		decrypt_op_clear(op);
	unlock();
	return rv;
}

/* ---- random -------------------------------------------------------------------------- */

EXPORT CK_RV C_GenerateRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG n)
{
	struct session *s;
	struct slot *sl;
	struct buf r = {0};
	struct ps_ep ep;
	uint32_t prov;
	CK_RV rv;
	int rc;
	if (!out && n != 0)
		return CKR_ARGUMENTS_BAD;
	if ((rv = enter_session(h, &s, &sl)) != CKR_OK)
		return rv;
	prov = sl->id;
	ep = m.ep;
	unlock();
	if (n == 0)
		return CKR_OK;
	rc = ps_generate_random(&ep, (uint8_t)prov, n, &r);
	if (rc != 0)
		rv = status_rv(rc);
	else if (r.n != n)
		rv = CKR_DEVICE_ERROR;
	else
		memcpy(out, r.p, n);
	buf_free(&r);
	return rv;
}

/* ---- not supported --------------------------------------------------------------------- */

#define NS(name, params) \
	EXPORT CK_RV name params { return CKR_FUNCTION_NOT_SUPPORTED; }

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
NS(C_InitToken, (CK_SLOT_ID s, CK_UTF8CHAR_PTR p, CK_ULONG n, CK_UTF8CHAR_PTR l))
NS(C_InitPIN, (CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR p, CK_ULONG n))
NS(C_SetPIN, (CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR o, CK_ULONG on, CK_UTF8CHAR_PTR p, CK_ULONG n))
NS(C_GetOperationState, (CK_SESSION_HANDLE h, CK_BYTE_PTR p, CK_ULONG_PTR n))
NS(C_SetOperationState, (CK_SESSION_HANDLE h, CK_BYTE_PTR p, CK_ULONG n, CK_OBJECT_HANDLE e, CK_OBJECT_HANDLE a))
NS(C_CreateObject, (CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR o))
NS(C_CopyObject, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR p))
NS(C_GetObjectSize, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ULONG_PTR n))
NS(C_SetAttributeValue, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n))
NS(C_EncryptInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k))
NS(C_Encrypt, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dn, CK_BYTE_PTR e, CK_ULONG_PTR en))
NS(C_EncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dn, CK_BYTE_PTR e, CK_ULONG_PTR en))
NS(C_EncryptFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR e, CK_ULONG_PTR en))
NS(C_DecryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR e, CK_ULONG en, CK_BYTE_PTR d, CK_ULONG_PTR dn))
NS(C_DecryptFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG_PTR dn))
NS(C_DigestInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m))
NS(C_Digest, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dn, CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_DigestUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dn))
NS(C_DigestKey, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k))
NS(C_DigestFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_SignRecoverInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k))
NS(C_SignRecover, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dn, CK_BYTE_PTR s, CK_ULONG_PTR sn))
NS(C_VerifyRecoverInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k))
NS(C_VerifyRecover, (CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG sn, CK_BYTE_PTR d, CK_ULONG_PTR dn))
NS(C_DigestEncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR p, CK_ULONG pn, CK_BYTE_PTR e, CK_ULONG_PTR en))
NS(C_DecryptDigestUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR e, CK_ULONG en, CK_BYTE_PTR p, CK_ULONG_PTR pn))
NS(C_SignEncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR p, CK_ULONG pn, CK_BYTE_PTR e, CK_ULONG_PTR en))
NS(C_DecryptVerifyUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR e, CK_ULONG en, CK_BYTE_PTR p, CK_ULONG_PTR pn))
NS(C_GenerateKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR k))
NS(C_WrapKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE w, CK_OBJECT_HANDLE k, CK_BYTE_PTR o, CK_ULONG_PTR on))
NS(C_UnwrapKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE u, CK_BYTE_PTR w, CK_ULONG wn, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR k))
NS(C_DeriveKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR k))
NS(C_SeedRandom, (CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG n))
NS(C_WaitForSlotEvent, (CK_FLAGS f, CK_SLOT_ID_PTR s, CK_VOID_PTR r))
EXPORT CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE h) { return CKR_FUNCTION_NOT_PARALLEL; }
EXPORT CK_RV C_CancelFunction(CK_SESSION_HANDLE h) { return CKR_FUNCTION_NOT_PARALLEL; }
#pragma GCC diagnostic pop

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);

static CK_FUNCTION_LIST function_list = {
	{CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR},
	C_Initialize, C_Finalize, C_GetInfo, C_GetFunctionList, C_GetSlotList,
	C_GetSlotInfo, C_GetTokenInfo, C_GetMechanismList, C_GetMechanismInfo,
	C_InitToken, C_InitPIN, C_SetPIN, C_OpenSession, C_CloseSession,
	C_CloseAllSessions, C_GetSessionInfo, C_GetOperationState,
	C_SetOperationState, C_Login, C_Logout, C_CreateObject, C_CopyObject,
	C_DestroyObject, C_GetObjectSize, C_GetAttributeValue, C_SetAttributeValue,
	C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal, C_EncryptInit,
	C_Encrypt, C_EncryptUpdate, C_EncryptFinal, C_DecryptInit, C_Decrypt,
	C_DecryptUpdate, C_DecryptFinal, C_DigestInit, C_Digest, C_DigestUpdate,
	C_DigestKey, C_DigestFinal, C_SignInit, C_Sign, C_SignUpdate, C_SignFinal,
	C_SignRecoverInit, C_SignRecover, C_VerifyInit, C_Verify, C_VerifyUpdate,
	C_VerifyFinal, C_VerifyRecoverInit, C_VerifyRecover,
	C_DigestEncryptUpdate, C_DecryptDigestUpdate, C_SignEncryptUpdate,
	C_DecryptVerifyUpdate, C_GenerateKey, C_GenerateKeyPair, C_WrapKey,
	C_UnwrapKey, C_DeriveKey, C_SeedRandom, C_GenerateRandom,
	C_GetFunctionStatus, C_CancelFunction, C_WaitForSlotEvent,
};

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	if (!list)
		return CKR_ARGUMENTS_BAD;
	*list = &function_list;
	return CKR_OK;
}
