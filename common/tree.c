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

#include <string.h>

#include "tree.h"

void
tree_map(struct wbuf *w)
{
	wire_put_u8(w, TREE_MAP);
}

void
tree_array(struct wbuf *w)
{
	wire_put_u8(w, TREE_ARRAY);
}

void
tree_end(struct wbuf *w)
{
	wire_put_u8(w, TREE_END);
}

void
tree_null(struct wbuf *w)
{
	wire_put_u8(w, TREE_NULL);
}

void
tree_bool(struct wbuf *w, int v)
{
	wire_put_u8(w, v ? TREE_TRUE : TREE_FALSE);
}

void
tree_int(struct wbuf *w, int64_t v)
{
	wire_put_u8(w, TREE_INT);
	wire_put_i64(w, v);
}

void
tree_double(struct wbuf *w, double v)
{
	uint64_t	 bits;

	memcpy(&bits, &v, sizeof(bits));
	wire_put_u8(w, TREE_DOUBLE);
	wire_put_u64(w, bits);
}

void
tree_str(struct wbuf *w, const char *s)
{
	wire_put_u8(w, TREE_STR);
	wire_put_str(w, s);
}

/* A string of len bytes that need not end in NUL. */
void
tree_strn(struct wbuf *w, const void *s, size_t len)
{
	wire_put_u8(w, TREE_STR);
	wire_put_bytes(w, s, len);
}

/* A string, or null when s is NULL. */
void
tree_nstr(struct wbuf *w, const char *s)
{
	if (s == NULL)
		tree_null(w);
	else
		tree_str(w, s);
}

void
tree_key(struct wbuf *w, const char *k)
{
	tree_str(w, k);
}

void
tree_kv_str(struct wbuf *w, const char *k, const char *v)
{
	tree_key(w, k);
	tree_str(w, v);
}

void
tree_kv_int(struct wbuf *w, const char *k, int64_t v)
{
	tree_key(w, k);
	tree_int(w, v);
}

void
tree_kv_bool(struct wbuf *w, const char *k, int v)
{
	tree_key(w, k);
	tree_bool(w, v);
}

void
tree_kv_double(struct wbuf *w, const char *k, double v)
{
	tree_key(w, k);
	tree_double(w, v);
}
