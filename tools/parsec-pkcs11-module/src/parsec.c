#include "parsec.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "jwt.h"

#define HEADER_SIZE 36
#define MAGIC 0x5EC0A710u
/* The audience of a JWT-SVID for Parsec (client.JWTSVIDAudience). */
#define JWT_AUDIENCE "parsec"
/* A cached JWT-SVID is renewed this long before it expires. */
#define JWT_MARGIN_S 30
/* A stuck service becomes an error (CKR_DEVICE_ERROR), not a hung
 * application. */
#define IO_TIMEOUT_S 30
/* Guards the module against a peer announcing a huge body. */
#define MAX_BODY (64u << 20)

int ps_endpoint(struct ps_ep *ep, const char *e)
{
	const char *p;
	memset(ep, 0, sizeof *ep);
	if (!e || !*e)
		e = "unix:/run/parsec/parsec.sock";
	if (strncmp(e, "unix:", 5) != 0)
		return -1;
	p = e + 5;
	if (strncmp(p, "//", 2) == 0) {
		/* unix://authority/path: the authority is ignored, as URL
		 * parsers read it. */
		p = strchr(p + 2, '/');
		if (!p)
			return -1;
	}
	if (!*p || strlen(p) >= sizeof ep->path)
		return -1;
	strcpy(ep->path, p);
	return 0;
}

/* The JWT-SVID cache: one token for the process, fetched again shortly
 * before it expires (or for every request when it carries no expiry). */
static pthread_mutex_t jwt_mu = PTHREAD_MUTEX_INITIALIZER;
static struct buf jwt_tok;
static time_t jwt_until;
static char jwt_for[520]; /* the endpoint and subject it came from */

/* The sockets of requests in flight on other threads: a child of fork()
 * closes its copies (the threads that own them do not exist there), so a
 * parent's connection is never used, nor kept open, by a child. */
#define MAX_INFLIGHT 64
static pthread_mutex_t fd_mu = PTHREAD_MUTEX_INITIALIZER;
static int inflight[MAX_INFLIGHT];
static size_t ninflight;

static void track_fd(int fd)
{
	pthread_mutex_lock(&fd_mu);
	if (ninflight < MAX_INFLIGHT)
		inflight[ninflight++] = fd;
	pthread_mutex_unlock(&fd_mu);
}

static void close_fd(int fd)
{
	pthread_mutex_lock(&fd_mu);
	for (size_t i = 0; i < ninflight; i++) {
		if (inflight[i] == fd) {
			inflight[i] = inflight[--ninflight];
			break;
		}
	}
	close(fd);
	pthread_mutex_unlock(&fd_mu);
}

void ps_atfork_prepare(void)
{
	pthread_mutex_lock(&jwt_mu);
	pthread_mutex_lock(&fd_mu);
}

void ps_atfork_parent(void)
{
	pthread_mutex_unlock(&fd_mu);
	pthread_mutex_unlock(&jwt_mu);
}

void ps_atfork_child(void)
{
	for (size_t i = 0; i < ninflight; i++)
		close(inflight[i]);
	ninflight = 0;
	pthread_mutex_init(&fd_mu, NULL);
	pthread_mutex_init(&jwt_mu, NULL);
}

/* jwt_auth puts the JWT-SVID for ep into auth. */
static int jwt_auth(const struct ps_ep *ep, struct buf *auth)
{
	char key[sizeof jwt_for], err[512];
	time_t now = time(NULL), exp = 0;
	int rc = 0;
	snprintf(key, sizeof key, "%s\n%s", ep->jwt_endpoint, ep->jwt_subject);
	pthread_mutex_lock(&jwt_mu);
	if (jwt_tok.n == 0 || now >= jwt_until || strcmp(key, jwt_for) != 0) {
		jwt_tok.n = 0;
		jwt_until = 0;
		if (jwt_fetch(ep->jwt_endpoint, JWT_AUDIENCE, ep->jwt_subject, &jwt_tok, &exp, err, sizeof err) < 0) {
			fprintf(stderr, "libparsec-pkcs11: %s\n", err);
			jwt_tok.n = 0;
			rc = ST_NO_IDENTITY;
		} else {
			jwt_until = exp > JWT_MARGIN_S ? exp - JWT_MARGIN_S : 0;
			strcpy(jwt_for, key);
		}
	}
	if (rc == 0)
		buf_put(auth, jwt_tok.p, jwt_tok.n);
	pthread_mutex_unlock(&jwt_mu);
	return rc;
}

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	le16(p, (uint16_t)v);
	le16(p + 2, (uint16_t)(v >> 16));
}

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* call sends one request on a new connection and reads the answer into
 * resp. The connection is closed before returning: nothing outlives the
 * call, so a fork() at any time leaves the child nothing to share. */
static int call(const struct ps_ep *ep, uint8_t prov, uint32_t opcode, const struct buf *body, struct buf *resp)
{
	struct sockaddr_un sa;
	struct timeval tv = {IO_TIMEOUT_S, 0};
	uint8_t h[HEADER_SIZE], uid[4];
	uint32_t blen;
	int fd = -1, rc = ST_IO_ERROR, status;
	struct buf msg = {0}, auth = {0};

	if (body->oom)
		return ST_NO_MEMORY;
	memset(h, 0, sizeof h);
	if (opcode == OP_LIST_PROVIDERS || opcode == OP_LIST_AUTHENTICATORS) {
		h[21] = AUTH_NONE; /* discovery needs no identity */
	} else if (ep->jwt) {
		h[21] = AUTH_JWT_SVID;
		if ((rc = jwt_auth(ep, &auth)) != 0)
			goto out;
		rc = ST_IO_ERROR;
	} else {
		/* The uid now, not at C_Initialize: a pre-forking server's
		 * workers may run as another user than the master that loaded
		 * the module. The service checks it against SO_PEERCRED. */
		h[21] = AUTH_UNIX_PEER_CREDENTIALS;
		le32(uid, (uint32_t)getuid());
		buf_put(&auth, uid, sizeof uid);
	}
	if (auth.n > 0xffff) {
		rc = ST_NO_IDENTITY;
		goto out;
	}
	le32(h, MAGIC);
	le16(h + 4, 30);
	h[6] = 1; /* version 1.0 */
	h[10] = prov;
	le32(h + 22, (uint32_t)body->n);
	le16(h + 26, (uint16_t)auth.n);
	le32(h + 28, opcode);
	buf_put(&msg, h, sizeof h);
	buf_put(&msg, body->p, body->n);
	buf_put(&msg, auth.p, auth.n);
	if (msg.oom || auth.oom) {
		rc = ST_NO_MEMORY;
		goto out;
	}

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, ep->path, strlen(ep->path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	track_fd(fd);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	while (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (errno != EINTR)
			goto out;
	}
	/* A failed write is not final: the service may have answered (a body
	 * over its limit) before reading everything. */
	(void)io_write_all(fd, msg.p, msg.n);
	if (io_read_all(fd, h, sizeof h) < 0 || rd32(h) != MAGIC)
		goto out;
	status = h[32] | h[33] << 8;
	if (status != 0) {
		rc = status;
		goto out;
	}
	if (rd32(h + 28) != opcode) {
		rc = ST_BAD_RESPONSE;
		goto out;
	}
	blen = rd32(h + 22);
	if (blen > MAX_BODY) {
		rc = ST_BAD_RESPONSE;
		goto out;
	}
	resp->n = 0;
	if (blen > 0) {
		uint8_t *p = malloc(blen);
		if (!p) {
			rc = ST_NO_MEMORY;
			goto out;
		}
		if (io_read_all(fd, p, blen) < 0) {
			free(p);
			goto out;
		}
		buf_put(resp, p, blen);
		memset(p, 0, blen);
		free(p);
		if (resp->oom) {
			rc = ST_NO_MEMORY;
			goto out;
		}
	}
	rc = 0;
out:
	if (fd >= 0)
		close_fd(fd);
	buf_free(&msg);
	buf_free(&auth);
	return rc;
}

/* call_bytes runs an operation whose result is one bytes field (field 1). */
static int call_bytes(const struct ps_ep *ep, uint8_t prov, uint32_t op, const struct buf *body, struct buf *out)
{
	struct buf resp = {0};
	struct pb r;
	struct pb_field f;
	int rc = call(ep, prov, op, body, &resp), k;
	out->n = 0;
	if (rc == 0) {
		r.p = resp.p;
		r.end = resp.p + resp.n;
		while ((k = pb_next(&r, &f)) == 1) {
			if (f.num == 1 && f.wt == 2) {
				out->n = 0;
				buf_put(out, f.sub.p, (size_t)(f.sub.end - f.sub.p));
			}
		}
		if (k < 0)
			rc = ST_BAD_RESPONSE;
		else if (out->oom)
			rc = ST_NO_MEMORY;
	}
	buf_free(&resp);
	return rc;
}

static void put_name(struct buf *b, const char *name) { pb_bytes(b, 1, name, strlen(name)); }

/* put_sign_hash writes an AsymmetricSignature.SignHash. */
static void put_sign_hash(struct buf *b, int field, int hash)
{
	size_t m = pb_begin(b, field);
	if (hash == HASH_ANY)
		pb_empty(b, 1);
	else
		pb_uint(b, 2, (uint64_t)hash);
	pb_end(b, m);
}

/* put_sig_alg writes an Algorithm.AsymmetricSignature. */
static void put_sig_alg(struct buf *b, int field, struct psa_alg a)
{
	size_t m = pb_begin(b, field), s;
	switch (a.kind) {
	case ALG_RSA_PKCS1V15_SIGN:
	case ALG_RSA_PSS:
	case ALG_ECDSA:
	case ALG_DET_ECDSA:
		s = pb_begin(b, a.kind == ALG_RSA_PKCS1V15_SIGN ? 1 : a.kind == ALG_RSA_PSS ? 3 : a.kind == ALG_ECDSA ? 4 : 6);
		put_sign_hash(b, 1, a.hash);
		pb_end(b, s);
		break;
	case ALG_RSA_PKCS1V15_SIGN_RAW:
		pb_empty(b, 2);
		break;
	case ALG_ECDSA_ANY:
		pb_empty(b, 5);
		break;
	default:
		break;
	}
	pb_end(b, m);
}

/* put_enc_alg writes an Algorithm.AsymmetricEncryption. */
static void put_enc_alg(struct buf *b, int field, struct psa_alg a)
{
	size_t m = pb_begin(b, field), s;
	if (a.kind == ALG_RSA_OAEP) {
		s = pb_begin(b, 2);
		pb_uint(b, 1, (uint64_t)a.hash);
		pb_end(b, s);
	} else {
		pb_empty(b, 1);
	}
	pb_end(b, m);
}

void ps_put_attrs(struct buf *b, int field, const struct psa_attrs *a)
{
	size_t m = pb_begin(b, field), t, s, pol, u, alg;
	int i;
	t = pb_begin(b, 1);
	switch (a->type) {
	case KT_RSA_PAIR:
		pb_empty(b, 10);
		break;
	case KT_RSA_PUBLIC:
		pb_empty(b, 9);
		break;
	case KT_ECC_PAIR:
	case KT_ECC_PUBLIC:
		s = pb_begin(b, a->type == KT_ECC_PAIR ? 11 : 12);
		pb_uint(b, 1, (uint64_t)a->family);
		pb_end(b, s);
		break;
	default:
		pb_empty(b, 1);
	}
	pb_end(b, t);
	pb_uint(b, 2, a->bits);
	pol = pb_begin(b, 3);
	u = pb_begin(b, 1);
	for (i = 1; i <= 10; i++)
		pb_bool(b, i, a->usage & (1u << i));
	pb_end(b, u);
	alg = pb_begin(b, 2);
	if (a->alg.kind == ALG_RSA_PKCS1V15_CRYPT || a->alg.kind == ALG_RSA_OAEP)
		put_enc_alg(b, 7, a->alg);
	else if (a->alg.kind == ALG_NONE)
		pb_empty(b, 1);
	else
		put_sig_alg(b, 6, a->alg);
	pb_end(b, alg);
	pb_end(b, pol);
	pb_end(b, m);
}

/* The readers below ignore fields they do not know, as protobuf does. */

static int parse_sign_hash(struct pb r, int *hash)
{
	struct pb_field f;
	int k;
	*hash = HASH_NONE;
	while ((k = pb_next(&r, &f)) == 1) {
		if (f.num == 1 && f.wt == 2)
			*hash = HASH_ANY;
		else if (f.num == 2 && f.wt == 0)
			*hash = (int)f.v;
	}
	return k;
}

static int parse_hash_holder(struct pb r, int *hash)
{
	struct pb_field f;
	int k;
	*hash = HASH_NONE;
	while ((k = pb_next(&r, &f)) == 1) {
		if (f.num == 1 && f.wt == 2 && parse_sign_hash(f.sub, hash) < 0)
			return -1;
	}
	return k;
}

static int parse_alg(struct pb r, struct psa_alg *a)
{
	struct pb_field f, g;
	struct pb s;
	int k, j;
	a->kind = ALG_NONE;
	a->hash = HASH_NONE;
	while ((k = pb_next(&r, &f)) == 1) {
		if (f.wt != 2 && !(f.num == 2 || f.num == 4))
			continue;
		switch (f.num) {
		case 1:
			a->kind = ALG_NONE;
			break;
		case 6:
			s = f.sub;
			a->kind = ALG_OTHER;
			while ((j = pb_next(&s, &g)) == 1) {
				if (g.wt != 2)
					continue;
				switch (g.num) {
				case 1:
					a->kind = ALG_RSA_PKCS1V15_SIGN;
					break;
				case 2:
					a->kind = ALG_RSA_PKCS1V15_SIGN_RAW;
					break;
				case 3:
					a->kind = ALG_RSA_PSS;
					break;
				case 4:
					a->kind = ALG_ECDSA;
					break;
				case 5:
					a->kind = ALG_ECDSA_ANY;
					break;
				case 6:
					a->kind = ALG_DET_ECDSA;
					break;
				default:
					a->kind = ALG_OTHER;
					continue;
				}
				if (g.num != 2 && g.num != 5 && parse_hash_holder(g.sub, &a->hash) < 0)
					return -1;
			}
			if (j < 0)
				return -1;
			break;
		case 7:
			s = f.sub;
			a->kind = ALG_OTHER;
			while ((j = pb_next(&s, &g)) == 1) {
				if (g.wt != 2)
					continue;
				if (g.num == 1) {
					a->kind = ALG_RSA_PKCS1V15_CRYPT;
				} else if (g.num == 2) {
					struct pb o = g.sub;
					struct pb_field h;
					int i;
					a->kind = ALG_RSA_OAEP;
					while ((i = pb_next(&o, &h)) == 1)
						if (h.num == 1 && h.wt == 0)
							a->hash = (int)h.v;
					if (i < 0)
						return -1;
				}
			}
			if (j < 0)
				return -1;
			break;
		default:
			a->kind = ALG_OTHER;
		}
	}
	return k;
}

int ps_parse_attrs(struct pb r, struct psa_attrs *a)
{
	struct pb_field f, g, h;
	struct pb s, t;
	int k, j, i;
	memset(a, 0, sizeof *a);
	while ((k = pb_next(&r, &f)) == 1) {
		if (f.num == 2 && f.wt == 0) {
			a->bits = (uint32_t)f.v;
			continue;
		}
		if (f.wt != 2)
			continue;
		if (f.num == 1) {
			s = f.sub;
			while ((j = pb_next(&s, &g)) == 1) {
				if (g.wt != 2)
					continue;
				switch (g.num) {
				case 9:
					a->type = KT_RSA_PUBLIC;
					break;
				case 10:
					a->type = KT_RSA_PAIR;
					break;
				case 11:
				case 12:
					a->type = g.num == 11 ? KT_ECC_PAIR : KT_ECC_PUBLIC;
					t = g.sub;
					while ((i = pb_next(&t, &h)) == 1)
						if (h.num == 1 && h.wt == 0)
							a->family = (int)h.v;
					if (i < 0)
						return -1;
					break;
				default:
					a->type = KT_OTHER;
				}
			}
			if (j < 0)
				return -1;
		} else if (f.num == 3) {
			s = f.sub;
			while ((j = pb_next(&s, &g)) == 1) {
				if (g.wt != 2)
					continue;
				if (g.num == 1) {
					t = g.sub;
					while ((i = pb_next(&t, &h)) == 1)
						if (h.wt == 0 && h.num <= 31 && h.v)
							a->usage |= 1u << h.num;
					if (i < 0)
						return -1;
				} else if (g.num == 2 && parse_alg(g.sub, &a->alg) < 0) {
					return -1;
				}
			}
			if (j < 0)
				return -1;
		}
	}
	return k;
}

static void copy_str(char *dst, size_t cap, struct pb s)
{
	size_t n = (size_t)(s.end - s.p);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s.p, n);
	dst[n] = 0;
}

int ps_list_providers(const struct ps_ep *ep, struct ps_provider *out, size_t max, size_t *n)
{
	struct buf body = {0}, resp = {0};
	struct pb r, s;
	struct pb_field f, g;
	int rc = call(ep, 0, OP_LIST_PROVIDERS, &body, &resp), k = 0, j;
	*n = 0;
	if (rc == 0) {
		r.p = resp.p;
		r.end = resp.p + resp.n;
		while ((k = pb_next(&r, &f)) == 1) {
			struct ps_provider p;
			if (f.num != 1 || f.wt != 2)
				continue;
			memset(&p, 0, sizeof p);
			s = f.sub;
			while ((j = pb_next(&s, &g)) == 1) {
				if (g.wt == 2 && g.num == 1)
					copy_str(p.uuid, sizeof p.uuid, g.sub);
				else if (g.wt == 2 && g.num == 2)
					copy_str(p.description, sizeof p.description, g.sub);
				else if (g.wt == 2 && g.num == 3)
					copy_str(p.vendor, sizeof p.vendor, g.sub);
				else if (g.wt == 0 && g.num == 4)
					p.major = (uint32_t)g.v;
				else if (g.wt == 0 && g.num == 5)
					p.minor = (uint32_t)g.v;
				else if (g.wt == 0 && g.num == 7)
					p.id = (uint32_t)g.v;
			}
			if (j < 0) {
				k = -1;
				break;
			}
			if (*n < max)
				out[(*n)++] = p;
		}
		if (k < 0)
			rc = ST_BAD_RESPONSE;
	}
	buf_free(&resp);
	return rc;
}

int ps_list_authenticators(const struct ps_ep *ep, uint32_t *ids, size_t max, size_t *n)
{
	struct buf body = {0}, resp = {0};
	struct pb r, s;
	struct pb_field f, g;
	int rc = call(ep, 0, OP_LIST_AUTHENTICATORS, &body, &resp), k = 0, j;
	*n = 0;
	if (rc == 0) {
		r.p = resp.p;
		r.end = resp.p + resp.n;
		while ((k = pb_next(&r, &f)) == 1) {
			uint32_t id = 0;
			if (f.num != 1 || f.wt != 2)
				continue;
			s = f.sub;
			while ((j = pb_next(&s, &g)) == 1)
				if (g.num == 5 && g.wt == 0)
					id = (uint32_t)g.v;
			if (j < 0) {
				k = -1;
				break;
			}
			if (*n < max)
				ids[(*n)++] = id;
		}
		if (k < 0)
			rc = ST_BAD_RESPONSE;
	}
	buf_free(&resp);
	return rc;
}

void ps_free_keys(struct ps_key *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(k[i].name);
	free(k);
}

int ps_list_keys(const struct ps_ep *ep, struct ps_key **out, size_t *n)
{
	struct buf body = {0}, resp = {0};
	struct pb r, s;
	struct pb_field f, g;
	struct ps_key *keys = NULL, *nk;
	size_t cnt = 0, cap = 0;
	int rc = call(ep, 0, OP_LIST_KEYS, &body, &resp), k = 0, j;
	*out = NULL;
	*n = 0;
	if (rc != 0)
		goto done;
	r.p = resp.p;
	r.end = resp.p + resp.n;
	while ((k = pb_next(&r, &f)) == 1) {
		struct ps_key key;
		if (f.num != 1 || f.wt != 2)
			continue;
		memset(&key, 0, sizeof key);
		s = f.sub;
		while ((j = pb_next(&s, &g)) == 1) {
			if (g.wt == 0 && g.num == 1) {
				key.provider = (uint32_t)g.v;
			} else if (g.wt == 2 && g.num == 2) {
				size_t len = (size_t)(g.sub.end - g.sub.p);
				free(key.name);
				key.name = malloc(len + 1);
				if (!key.name) {
					rc = ST_NO_MEMORY;
					goto done;
				}
				memcpy(key.name, g.sub.p, len);
				key.name[len] = 0;
			} else if (g.wt == 2 && g.num == 3 && ps_parse_attrs(g.sub, &key.attrs) < 0) {
				j = -1;
				break;
			}
		}
		if (j < 0 || !key.name || strlen(key.name) == 0) {
			free(key.name);
			if (j < 0) {
				k = -1;
				break;
			}
			continue;
		}
		if (cnt == cap) {
			cap = cap ? 2 * cap : 16;
			nk = realloc(keys, cap * sizeof *keys);
			if (!nk) {
				free(key.name);
				rc = ST_NO_MEMORY;
				goto done;
			}
			keys = nk;
		}
		keys[cnt++] = key;
	}
	if (k < 0)
		rc = ST_BAD_RESPONSE;
done:
	buf_free(&resp);
	if (rc != 0) {
		ps_free_keys(keys, cnt);
		return rc;
	}
	*out = keys;
	*n = cnt;
	return 0;
}

/* call_empty runs an operation whose result carries nothing, and frees the
 * request body. */
static int call_empty(const struct ps_ep *ep, uint8_t prov, uint32_t op, struct buf *body)
{
	struct buf resp = {0};
	int rc = call(ep, prov, op, body, &resp);
	buf_free(body);
	buf_free(&resp);
	return rc;
}

/* call_name_bytes runs an operation on a key name whose result is bytes. */
static int call_name_bytes(const struct ps_ep *ep, uint8_t prov, uint32_t op, const char *name, struct buf *out)
{
	struct buf body = {0};
	int rc;
	put_name(&body, name);
	rc = call_bytes(ep, prov, op, &body, out);
	buf_free(&body);
	return rc;
}

int ps_generate_key(const struct ps_ep *ep, uint8_t prov, const char *name, const struct psa_attrs *a)
{
	struct buf body = {0};
	put_name(&body, name);
	ps_put_attrs(&body, 2, a);
	return call_empty(ep, prov, OP_GENERATE_KEY, &body);
}

int ps_destroy_key(const struct ps_ep *ep, uint8_t prov, const char *name)
{
	struct buf body = {0};
	put_name(&body, name);
	return call_empty(ep, prov, OP_DESTROY_KEY, &body);
}

int ps_export_public_key(const struct ps_ep *ep, uint8_t prov, const char *name, struct buf *out)
{
	return call_name_bytes(ep, prov, OP_EXPORT_PUBLIC_KEY, name, out);
}

int ps_export_key(const struct ps_ep *ep, uint8_t prov, const char *name, struct buf *out)
{
	return call_name_bytes(ep, prov, OP_EXPORT_KEY, name, out);
}

int ps_sign_hash(const struct ps_ep *ep, uint8_t prov, const char *name, struct psa_alg alg, const uint8_t *h,
		 size_t hn, struct buf *sig)
{
	struct buf body = {0};
	int rc;
	put_name(&body, name);
	put_sig_alg(&body, 2, alg);
	pb_bytes(&body, 3, h, hn);
	rc = call_bytes(ep, prov, OP_SIGN_HASH, &body, sig);
	buf_free(&body);
	return rc;
}

int ps_verify_hash(const struct ps_ep *ep, uint8_t prov, const char *name, struct psa_alg alg, const uint8_t *h,
		   size_t hn, const uint8_t *sig, size_t sn)
{
	struct buf body = {0};
	put_name(&body, name);
	put_sig_alg(&body, 2, alg);
	pb_bytes(&body, 3, h, hn);
	pb_bytes(&body, 4, sig, sn);
	return call_empty(ep, prov, OP_VERIFY_HASH, &body);
}

int ps_decrypt(const struct ps_ep *ep, uint8_t prov, const char *name, struct psa_alg alg, const uint8_t *ct,
	       size_t cn, const uint8_t *label, size_t ln, struct buf *out)
{
	struct buf body = {0};
	int rc;
	put_name(&body, name);
	put_enc_alg(&body, 2, alg);
	pb_bytes(&body, 3, ct, cn);
	if (ln > 0)
		pb_bytes(&body, 4, label, ln);
	rc = call_bytes(ep, prov, OP_ASYMMETRIC_DECRYPT, &body, out);
	buf_free(&body);
	return rc;
}

int ps_generate_random(const struct ps_ep *ep, uint8_t prov, size_t n, struct buf *out)
{
	struct buf body = {0};
	int rc;
	pb_uint(&body, 1, n);
	rc = call_bytes(ep, prov, OP_GENERATE_RANDOM, &body, out);
	buf_free(&body);
	return rc;
}
