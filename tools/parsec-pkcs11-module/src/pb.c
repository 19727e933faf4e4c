#include "pb.h"

#include <stdlib.h>
#include <string.h>

void buf_free(struct buf *b)
{
	if (b->p) {
		memset(b->p, 0, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof *b);
}

static int grow(struct buf *b, size_t more)
{
	size_t cap;
	uint8_t *p;
	if (b->oom)
		return 0;
	if (b->n + more <= b->cap)
		return 1;
	cap = b->cap ? b->cap : 256;
	while (cap < b->n + more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return 0;
	}
	b->p = p;
	b->cap = cap;
	return 1;
}

void buf_put(struct buf *b, const void *data, size_t n)
{
	if (n == 0 || !grow(b, n))
		return;
	memcpy(b->p + b->n, data, n);
	b->n += n;
}

void buf_byte(struct buf *b, uint8_t c) { buf_put(b, &c, 1); }

void pb_varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	buf_put(b, tmp, n);
}

static void tag(struct buf *b, int f, int wt) { pb_varint(b, (uint64_t)f << 3 | (uint64_t)wt); }

void pb_uint(struct buf *b, int f, uint64_t v)
{
	if (v == 0)
		return;
	tag(b, f, 0);
	pb_varint(b, v);
}

void pb_bool(struct buf *b, int f, int v) { pb_uint(b, f, v ? 1 : 0); }

void pb_bytes(struct buf *b, int f, const void *p, size_t n)
{
	tag(b, f, 2);
	pb_varint(b, n);
	buf_put(b, p, n);
}

size_t pb_begin(struct buf *b, int f)
{
	tag(b, f, 2);
	buf_byte(b, 0); /* the length, fixed up by pb_end */
	return b->n;
}

void pb_end(struct buf *b, size_t mark)
{
	size_t len, extra = 0, i;
	uint8_t tmp[10];
	if (b->oom)
		return;
	len = b->n - mark;
	for (size_t v = len >> 7; v; v >>= 7)
		extra++;
	if (extra && !grow(b, extra))
		return;
	memmove(b->p + mark + extra, b->p + mark, len);
	b->n += extra;
	for (i = 0; i <= extra; i++)
		tmp[i] = (uint8_t)(((len >> (7 * i)) & 0x7f) | (i < extra ? 0x80 : 0));
	memcpy(b->p + mark - 1, tmp, extra + 1);
}

void pb_empty(struct buf *b, int f)
{
	tag(b, f, 2);
	buf_byte(b, 0);
}

static int rd_varint(struct pb *r, uint64_t *v)
{
	uint64_t x = 0;
	int s;
	for (s = 0; s < 64 && r->p < r->end; s += 7) {
		uint8_t c = *r->p++;
		x |= (uint64_t)(c & 0x7f) << s;
		if (!(c & 0x80)) {
			*v = x;
			return 1;
		}
	}
	return 0;
}

int pb_next(struct pb *r, struct pb_field *f)
{
	uint64_t key, len;
	if (r->p >= r->end)
		return 0;
	for (;;) {
		if (r->p >= r->end)
			return 0;
		if (!rd_varint(r, &key) || key >> 3 == 0 || key >> 3 > 0x1fffffff)
			return -1;
		f->num = (int)(key >> 3);
		f->wt = (int)(key & 7);
		f->v = 0;
		f->sub.p = f->sub.end = NULL;
		switch (f->wt) {
		case 0:
			if (!rd_varint(r, &f->v))
				return -1;
			return 1;
		case 2:
			if (!rd_varint(r, &len) || len > (uint64_t)(r->end - r->p))
				return -1;
			f->sub.p = r->p;
			f->sub.end = r->p + len;
			r->p += len;
			return 1;
		case 1:
			if (r->end - r->p < 8)
				return -1;
			r->p += 8;
			break;
		case 5:
			if (r->end - r->p < 4)
				return -1;
			r->p += 4;
			break;
		default:
			return -1;
		}
	}
}
