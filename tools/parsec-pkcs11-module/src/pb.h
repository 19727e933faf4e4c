/* A growable byte buffer and the few protobuf encodings the Parsec
 * operations of the module use (varints, length-delimited fields, nested
 * messages), plus a reader that walks a message field by field. */
#ifndef PARSEC_P11_PB_H
#define PARSEC_P11_PB_H
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *p;
	size_t n, cap;
	int oom; /* an allocation failed: the content is incomplete */
};

void buf_free(struct buf *b);
void buf_put(struct buf *b, const void *data, size_t n);
void buf_byte(struct buf *b, uint8_t c);

/* Writers: field number f. */
void pb_varint(struct buf *b, uint64_t v);
void pb_uint(struct buf *b, int f, uint64_t v);	   /* omitted when 0, as proto3 does */
void pb_bool(struct buf *b, int f, int v);	   /* omitted when false */
void pb_bytes(struct buf *b, int f, const void *p, size_t n); /* always written */
/* pb_begin opens a nested message field and returns its mark for pb_end. */
size_t pb_begin(struct buf *b, int f);
void pb_end(struct buf *b, size_t mark);
/* pb_empty writes an empty nested message (a oneof choice without fields). */
void pb_empty(struct buf *b, int f);

/* Reader. */
struct pb {
	const uint8_t *p, *end;
};
struct pb_field {
	int num;
	int wt;	     /* 0 varint, 2 length-delimited; others skipped */
	uint64_t v;  /* varint value */
	struct pb sub; /* length-delimited content */
};
/* pb_next reads the next field: 1 = got one, 0 = end, -1 = malformed. */
int pb_next(struct pb *r, struct pb_field *f);
#endif
