/* A JWT-SVID from the SPIFFE Workload API: a minimal gRPC client over
 * HTTP/2 with prior knowledge (h2c) on the Workload API's Unix socket, for
 * the one unary call FetchJWTSVID. */
#ifndef PARSEC_P11_JWT_H
#define PARSEC_P11_JWT_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pb.h"

/* jwt_fetch asks the Workload API at endpoint ("unix:///path" or
 * "unix:/path") for a JWT-SVID with the audience (and subject, a SPIFFE ID,
 * when not empty). On success it returns 0 with the token in tok and its
 * expiry (the payload's "exp", 0 if absent) in exp; otherwise -1 with a
 * message in err. */
int jwt_fetch(const char *endpoint, const char *audience, const char *subject, struct buf *tok, time_t *exp,
	      char *err, size_t errlen);

/* jwt_exp reads the "exp" claim of a JWT in compact form (0: none). */
time_t jwt_exp(const char *tok, size_t n);

/* Pieces, for the unit tests. */
void hpack_literal(struct buf *b, const char *name, const char *value);
int grpc_jwt_response(const uint8_t *p, size_t n, struct buf *tok);
#endif
