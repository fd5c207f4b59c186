/*
 * Copyright (c) 2026 The DeployKit Authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* Marks a NULL string; a real string is never this long. */
#define WIRE_NULL_LEN	0xffffffffU

static void	wbuf_reserve(struct wbuf *, size_t);
static const uint8_t *rbuf_take(struct rbuf *, size_t);

void
wbuf_init(struct wbuf *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

void
wbuf_free(struct wbuf *w)
{
	/* Passwords and tokens pass through these buffers. */
	if (w->buf != NULL)
		explicit_bzero(w->buf, w->len);
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static void
wbuf_reserve(struct wbuf *w, size_t n)
{
	uint8_t	*p;
	size_t	 cap;

	if (w->error)
		return;
	if (n > w->max || w->len > w->max - n) {
		w->error = ERANGE;
		return;
	}
	if (w->len + n <= w->cap)
		return;
	cap = w->cap == 0 ? 256 : w->cap;
	while (cap < w->len + n)
		cap *= 2;
	if (cap > w->max)
		cap = w->max;
	if ((p = realloc(w->buf, cap)) == NULL) {
		w->error = ENOMEM;
		return;
	}
	w->buf = p;
	w->cap = cap;
}

/* v as size bytes, least significant first. */
static void
wire_put_le(struct wbuf *w, uint64_t v, size_t size)
{
	size_t	 i;

	wbuf_reserve(w, size);
	if (w->error)
		return;
	for (i = 0; i < size; i++)
		w->buf[w->len++] = (uint8_t)(v >> (8 * i));
}

void
wire_put_u8(struct wbuf *w, uint8_t v)
{
	wire_put_le(w, v, 1);
}

void
wire_put_u32(struct wbuf *w, uint32_t v)
{
	wire_put_le(w, v, 4);
}

void
wire_put_u64(struct wbuf *w, uint64_t v)
{
	wire_put_le(w, v, 8);
}

void
wire_put_i64(struct wbuf *w, int64_t v)
{
	wire_put_u64(w, (uint64_t)v);
}

void
wire_put_bytes(struct wbuf *w, const void *data, size_t len)
{
	if (len >= WIRE_NULL_LEN) {
		w->error = ERANGE;
		return;
	}
	wire_put_u32(w, (uint32_t)len);
	wire_put_raw(w, data, len);
}

/* Bytes with no length: to append fields encoded elsewhere. */
void
wire_put_raw(struct wbuf *w, const void *data, size_t len)
{
	wbuf_reserve(w, len);
	if (w->error || len == 0)
		return;
	memcpy(w->buf + w->len, data, len);
	w->len += len;
}

void
wire_put_str(struct wbuf *w, const char *s)
{
	if (s == NULL)
		s = "";
	wire_put_bytes(w, s, strlen(s));
}

/* A string that may be NULL, kept distinct from "". */
void
wire_put_nstr(struct wbuf *w, const char *s)
{
	if (s == NULL)
		wire_put_u32(w, WIRE_NULL_LEN);
	else
		wire_put_str(w, s);
}

void
rbuf_init(struct rbuf *r, const void *data, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->p = data;
	r->len = len;
}

static const uint8_t *
rbuf_take(struct rbuf *r, size_t n)
{
	const uint8_t	*p;

	if (r->error)
		return (NULL);
	if (n > r->len - r->off) {
		r->error = EBADMSG;
		return (NULL);
	}
	p = r->p + r->off;
	r->off += n;
	return (p);
}

/* size bytes, least significant first; 0 when r has too few. */
static uint64_t
wire_get_le(struct rbuf *r, size_t size)
{
	const uint8_t	*p;
	uint64_t	 v = 0;
	size_t		 i;

	if ((p = rbuf_take(r, size)) == NULL)
		return (0);
	for (i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return (v);
}

uint8_t
wire_get_u8(struct rbuf *r)
{
	return ((uint8_t)wire_get_le(r, 1));
}

uint32_t
wire_get_u32(struct rbuf *r)
{
	return ((uint32_t)wire_get_le(r, 4));
}

uint64_t
wire_get_u64(struct rbuf *r)
{
	return (wire_get_le(r, 8));
}

int64_t
wire_get_i64(struct rbuf *r)
{
	return ((int64_t)wire_get_u64(r));
}

/* A u8 that must be 0 or 1. */
int
wire_get_bool(struct rbuf *r)
{
	uint8_t	 v;

	v = wire_get_u8(r);
	if (v > 1 && r->error == 0)
		r->error = EBADMSG;
	return (v == 1);
}

/* Borrow a byte string of at most max bytes; *lenp gets its length. */
const uint8_t *
wire_get_bytes(struct rbuf *r, size_t max, size_t *lenp)
{
	const uint8_t	*p;
	uint32_t	 len;

	*lenp = 0;
	len = wire_get_u32(r);
	if (r->error)
		return (NULL);
	if (len > max) {
		r->error = EMSGSIZE;
		return (NULL);
	}
	if ((p = rbuf_take(r, len)) == NULL)
		return (NULL);
	*lenp = len;
	return (p);
}

static char *
wire_get_str_common(struct rbuf *r, size_t max, int nullable)
{
	const uint8_t	*p;
	char		*s;
	size_t		 start, n;

	if (r->error)
		return (NULL);
	start = r->off;
	if (wire_get_u32(r) == WIRE_NULL_LEN && nullable && r->error == 0)
		return (NULL);
	r->off = start;
	p = wire_get_bytes(r, max, &n);
	if (r->error)
		return (NULL);
	/* A C string cannot carry a NUL: refuse rather than truncate. */
	if (n > 0 && memchr(p, '\0', n) != NULL) {
		r->error = EBADMSG;
		return (NULL);
	}
	if ((s = malloc(n + 1)) == NULL) {
		r->error = ENOMEM;
		return (NULL);
	}
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return (s);
}

/* A newly allocated string of at most max bytes, never NULL on success. */
char *
wire_get_str(struct rbuf *r, size_t max)
{
	return (wire_get_str_common(r, max, 0));
}

/* Like wire_get_str, but NULL is a valid value (check r->error). */
char *
wire_get_nstr(struct rbuf *r, size_t max)
{
	return (wire_get_str_common(r, max, 1));
}

/* Copy a string into a fixed buffer, which bounds its length. */
int
wire_get_strbuf(struct rbuf *r, char *dst, size_t dstsize)
{
	const uint8_t	*p;
	size_t		 len;

	if (dstsize == 0) {
		/* No room even for the NUL: write nothing, fail for good. */
		if (r->error == 0)
			r->error = EMSGSIZE;
		return (-1);
	}
	dst[0] = '\0';
	p = wire_get_bytes(r, dstsize - 1, &len);
	if (r->error)
		return (-1);
	if (len > 0 && memchr(p, '\0', len) != NULL) {
		r->error = EBADMSG;
		return (-1);
	}
	if (len > 0)
		memcpy(dst, p, len);
	dst[len] = '\0';
	return (0);
}

/* 0 if every field decoded and nothing is left over, else -1. */
int
wire_done(struct rbuf *r)
{
	if (r->error == 0 && r->off != r->len)
		r->error = EBADMSG;
	if (r->error) {
		errno = r->error;
		return (-1);
	}
	return (0);
}
