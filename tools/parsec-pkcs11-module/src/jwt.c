#include "jwt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "io.h"

/* A hung agent must not hang the application. */
#define FETCH_TIMEOUT_S 10
#define MAX_RESPONSE (1u << 20)

enum { F_DATA = 0, F_HEADERS = 1, F_RST_STREAM = 3, F_SETTINGS = 4, F_PING = 6, F_GOAWAY = 7 };
enum { FL_END_STREAM = 0x1, FL_ACK = 0x1, FL_END_HEADERS = 0x4, FL_PADDED = 0x8, FL_PRIORITY = 0x20 };

static void frame(struct buf *b, uint8_t type, uint8_t flags, uint32_t stream, const void *p, size_t n)
{
	uint8_t h[9] = {(uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, type, flags,
			(uint8_t)(stream >> 24), (uint8_t)(stream >> 16), (uint8_t)(stream >> 8), (uint8_t)stream};
	buf_put(b, h, sizeof h);
	buf_put(b, p, n);
}

/* hpack_int writes an HPACK integer with an n-bit prefix (RFC 7541 §5.1). */
static void hpack_int(struct buf *b, uint8_t first, int bits, size_t v)
{
	size_t max = (1u << bits) - 1;
	if (v < max) {
		buf_byte(b, (uint8_t)(first | v));
		return;
	}
	buf_byte(b, (uint8_t)(first | max));
	for (v -= max; v >= 128; v >>= 7)
		buf_byte(b, (uint8_t)(v % 128 + 128));
	buf_byte(b, (uint8_t)v);
}

static void hpack_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	hpack_int(b, 0x00, 7, n); /* H = 0: no Huffman coding */
	buf_put(b, s, n);
}

/* hpack_literal writes a literal header field without indexing, new name
 * (RFC 7541 §6.2.2): nothing enters a dynamic table. */
void hpack_literal(struct buf *b, const char *name, const char *value)
{
	buf_byte(b, 0x00);
	hpack_str(b, name);
	hpack_str(b, value);
}

static int errf(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -1;
}

static int send_all(int fd, const struct buf *b) { return io_write_all(fd, b->p, b->n); }

/* grpc_jwt_response reads a JWTSVIDResponse in its gRPC message framing
 * and returns the first SVID's token. */
int grpc_jwt_response(const uint8_t *p, size_t n, struct buf *tok)
{
	struct pb r, s;
	struct pb_field f, g;
	uint32_t len;
	int k, j;
	if (n < 5 || p[0] != 0)
		return -1; /* a compressed message was never asked for */
	len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
	if (len > n - 5)
		return -1;
	r.p = p + 5;
	r.end = p + 5 + len;
	while ((k = pb_next(&r, &f)) == 1) {
		if (f.num != 1 || f.wt != 2)
			continue;
		s = f.sub;
		while ((j = pb_next(&s, &g)) == 1) {
			if (g.num == 2 && g.wt == 2 && g.sub.end > g.sub.p) {
				tok->n = 0;
				buf_put(tok, g.sub.p, (size_t)(g.sub.end - g.sub.p));
				return tok->oom ? -1 : 0;
			}
		}
		if (j < 0)
			return -1;
	}
	return -1;
}

static int b64url_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

time_t jwt_exp(const char *tok, size_t n)
{
	const char *a = memchr(tok, '.', n), *b, *e;
	char *json;
	size_t k = 0, bits = 0, i;
	uint32_t acc = 0;
	time_t exp = 0;
	if (!a || !(b = memchr(a + 1, '.', (size_t)(tok + n - a - 1))))
		return 0;
	json = malloc((size_t)(b - a) + 1);
	if (!json)
		return 0;
	for (const char *c = a + 1; c < b; c++) {
		int v = b64url_val(*c);
		if (v < 0)
			break;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			json[k++] = (char)(acc >> bits);
		}
	}
	json[k] = 0;
	/* The claim is a number: "exp":1234567890 (whitespace allowed). */
	for (e = strstr(json, "\"exp\""); e; e = strstr(e + 1, "\"exp\"")) {
		i = (size_t)(e - json) + 5;
		while (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r')
			i++;
		if (json[i] != ':')
			continue;
		i++;
		while (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r')
			i++;
		for (exp = 0; json[i] >= '0' && json[i] <= '9'; i++)
			exp = exp * 10 + (json[i] - '0');
		break;
	}
	free(json);
	return exp;
}

int jwt_fetch(const char *endpoint, const char *audience, const char *subject, struct buf *tok, time_t *exp,
	      char *err, size_t errlen)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct sockaddr_un sa;
	struct timeval tv = {FETCH_TIMEOUT_S, 0};
	struct buf out = {0}, hdrs = {0}, msg = {0}, body = {0}, data = {0};
	const char *path;
	uint8_t fh[9], *payload = NULL;
	int fd = -1, rc = -1, done = 0;
	size_t mlen;

	if (strncmp(endpoint, "unix://", 7) == 0)
		path = endpoint + 7;
	else if (strncmp(endpoint, "unix:", 5) == 0)
		path = endpoint + 5;
	else
		return errf(err, errlen, "SPIFFE Workload API address %s: only unix: sockets are supported", endpoint);
	if (!*path || strlen(path) >= sizeof sa.sun_path)
		return errf(err, errlen, "SPIFFE Workload API address %s: bad socket path", endpoint);

	/* JWTSVIDRequest { repeated string audience = 1; string spiffe_id = 2; } */
	pb_bytes(&msg, 1, audience, strlen(audience));
	if (subject && *subject)
		pb_bytes(&msg, 2, subject, strlen(subject));
	mlen = msg.n;
	buf_byte(&body, 0); /* not compressed */
	buf_byte(&body, (uint8_t)(mlen >> 24));
	buf_byte(&body, (uint8_t)(mlen >> 16));
	buf_byte(&body, (uint8_t)(mlen >> 8));
	buf_byte(&body, (uint8_t)mlen);
	buf_put(&body, msg.p, msg.n);

	hpack_literal(&hdrs, ":method", "POST");
	hpack_literal(&hdrs, ":scheme", "http");
	hpack_literal(&hdrs, ":path", "/SpiffeWorkloadAPI/FetchJWTSVID");
	hpack_literal(&hdrs, ":authority", "localhost");
	hpack_literal(&hdrs, "content-type", "application/grpc");
	hpack_literal(&hdrs, "te", "trailers");
	/* The Workload API refuses calls without this header (SPIFFE spec). */
	hpack_literal(&hdrs, "workload.spiffe.io", "true");

	buf_put(&out, preface, sizeof preface - 1);
	frame(&out, F_SETTINGS, 0, 0, NULL, 0);
	frame(&out, F_HEADERS, FL_END_HEADERS, 1, hdrs.p, hdrs.n);
	frame(&out, F_DATA, FL_END_STREAM, 1, body.p, body.n);
	if (out.oom) {
		errf(err, errlen, "out of memory");
		goto out;
	}

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv),
		       setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv),
		       connect(fd, (struct sockaddr *)&sa, sizeof sa)) < 0) {
		errf(err, errlen, "SPIFFE Workload API at %s: %s", endpoint, strerror(errno));
		goto out;
	}
	if (send_all(fd, &out) < 0) {
		errf(err, errlen, "SPIFFE Workload API at %s: sending: %s", endpoint, strerror(errno));
		goto out;
	}
	while (!done) {
		uint32_t len, stream;
		uint8_t type, flags;
		if (io_read_all(fd, fh, sizeof fh) < 0) {
			errf(err, errlen, "SPIFFE Workload API at %s: the connection ended before the answer", endpoint);
			goto out;
		}
		len = (uint32_t)fh[0] << 16 | (uint32_t)fh[1] << 8 | fh[2];
		type = fh[3];
		flags = fh[4];
		stream = ((uint32_t)fh[5] << 24 | (uint32_t)fh[6] << 16 | (uint32_t)fh[7] << 8 | fh[8]) & 0x7fffffff;
		if (len > (1u << 24) || data.n + len > MAX_RESPONSE) {
			errf(err, errlen, "SPIFFE Workload API at %s: answer too large", endpoint);
			goto out;
		}
		free(payload);
		payload = malloc(len ? len : 1);
		if (!payload || io_read_all(fd, payload, len) < 0) {
			errf(err, errlen, "SPIFFE Workload API at %s: truncated frame", endpoint);
			goto out;
		}
		switch (type) {
		case F_SETTINGS:
			if (!(flags & FL_ACK)) {
				struct buf ack = {0};
				frame(&ack, F_SETTINGS, FL_ACK, 0, NULL, 0);
				(void)send_all(fd, &ack);
				buf_free(&ack);
			}
			break;
		case F_PING:
			if (!(flags & FL_ACK) && len == 8) {
				struct buf ack = {0};
				frame(&ack, F_PING, FL_ACK, 0, payload, 8);
				(void)send_all(fd, &ack);
				buf_free(&ack);
			}
			break;
		case F_DATA:
			if (stream == 1) {
				size_t off = 0, pad = 0;
				if (flags & FL_PADDED) {
					if (len < 1 || payload[0] >= len) {
						errf(err, errlen, "SPIFFE Workload API at %s: bad DATA frame", endpoint);
						goto out;
					}
					pad = payload[0];
					off = 1;
				}
				buf_put(&data, payload + off, len - off - pad);
				done = flags & FL_END_STREAM;
			}
			break;
		case F_HEADERS:
			/* Response headers and trailers: only the end of the
			 * stream matters here; the status is judged by the
			 * message (a gRPC error carries none). */
			if (stream == 1)
				done = flags & FL_END_STREAM;
			break;
		case F_RST_STREAM:
			if (stream == 1) {
				errf(err, errlen, "SPIFFE Workload API at %s: the call was reset", endpoint);
				goto out;
			}
			break;
		case F_GOAWAY:
			errf(err, errlen, "SPIFFE Workload API at %s: the server closed the connection (GOAWAY)", endpoint);
			goto out;
		default:
			break; /* WINDOW_UPDATE, PRIORITY, unknown: nothing to do */
		}
	}
	if (data.oom || grpc_jwt_response(data.p, data.n, tok) < 0) {
		errf(err, errlen,
		     "SPIFFE Workload API at %s: no JWT-SVID in the answer (a gRPC error: is this workload registered%s%s?)",
		     endpoint, subject && *subject ? " for " : "", subject && *subject ? subject : "");
		goto out;
	}
	*exp = jwt_exp((const char *)tok->p, tok->n);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(payload);
	buf_free(&out);
	buf_free(&hdrs);
	buf_free(&msg);
	buf_free(&body);
	buf_free(&data);
	return rc;
}
