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

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tval.h"

/*
 * Reading a value tree into memory.  The reader is recursive but
 * bounded by TREE_MAX_DEPTH, and by a budget of items for the whole
 * tree, so a hostile sender can make it neither deep nor wide.
 */

static int	tval_read(struct rbuf *, struct tval *, int, size_t *, int);

static int
tval_grow(struct tval *v, size_t *cap, int map)
{
	struct tval	*items;
	char		**keys;
	size_t		 ncap;

	if (v->n < *cap)
		return (0);
	ncap = *cap == 0 ? 4 : *cap * 2;
	if ((items = reallocarray(v->items, ncap, sizeof(*items))) == NULL)
		return (-1);
	v->items = items;
	if (map) {
		if ((keys = reallocarray(v->keys, ncap, sizeof(*keys))) ==
		    NULL)
			return (-1);
		v->keys = keys;
	}
	*cap = ncap;
	return (0);
}

/* One value whose tag is already read. */
static int
tval_read(struct rbuf *r, struct tval *v, int tag, size_t *budget, int depth)
{
	uint64_t	 bits;
	size_t		 cap = 0;
	int		 t;

	memset(v, 0, sizeof(*v));
	v->tag = tag;
	if (*budget == 0) {
		r->error = EMSGSIZE;
		return (-1);
	}
	(*budget)--;
	switch (tag) {
	case TREE_NULL:
	case TREE_FALSE:
	case TREE_TRUE:
		break;
	case TREE_INT:
		v->i = wire_get_i64(r);
		break;
	case TREE_DOUBLE:
		bits = wire_get_u64(r);
		memcpy(&v->d, &bits, sizeof(v->d));
		if (!r->error && !isfinite(v->d))
			r->error = EINVAL;
		break;
	case TREE_STR:
		v->s = wire_get_str(r, DKD_TREE_STR_MAX);
		break;
	case TREE_MAP:
	case TREE_ARRAY:
		if (depth >= TREE_MAX_DEPTH) {
			r->error = EMSGSIZE;
			return (-1);
		}
		for (;;) {
			if ((t = wire_get_u8(r)) == TREE_END || r->error)
				break;
			if (tval_grow(v, &cap, tag == TREE_MAP) == -1) {
				r->error = ENOMEM;
				break;
			}
			if (tag == TREE_MAP) {
				/* A key, then its value. */
				if (t != TREE_STR) {
					r->error = EINVAL;
					break;
				}
				v->keys[v->n] = wire_get_str(r,
				    DKD_TREE_STR_MAX);
				if (r->error)
					break;
				t = wire_get_u8(r);
				if (r->error) {
					free(v->keys[v->n]);
					break;
				}
			}
			if (t == TREE_END) {
				if (tag == TREE_MAP)
					free(v->keys[v->n]);
				r->error = EINVAL;
				break;
			}
			if (tval_read(r, &v->items[v->n], t, budget,
			    depth + 1) == -1) {
				/* The failed item freed what it had. */
				if (tag == TREE_MAP)
					free(v->keys[v->n]);
				break;
			}
			v->n++;
		}
		break;
	default:
		r->error = EINVAL;
		break;
	}
	if (r->error) {
		tval_free(v);
		return (-1);
	}
	return (0);
}

/* A whole tree: r holds it and nothing after it. */
int
tval_decode_all(struct rbuf *r, struct tval *v, size_t maxitems)
{
	if (tval_decode(r, v, maxitems) == -1)
		return (-1);
	if (wire_done(r) == -1) {
		tval_free(v);
		return (-1);
	}
	return (0);
}

/*
 * One value from r, of at most maxitems items in all; 0, or -1 with
 * r->error set and nothing to free.
 */
int
tval_decode(struct rbuf *r, struct tval *v, size_t maxitems)
{
	int	 tag;

	memset(v, 0, sizeof(*v));
	tag = wire_get_u8(r);
	if (r->error)
		return (-1);
	return (tval_read(r, v, tag, &maxitems, 0));
}

void
tval_free(struct tval *v)
{
	size_t	 i;

	for (i = 0; i < v->n; i++) {
		tval_free(&v->items[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->s);
	memset(v, 0, sizeof(*v));
}

void
tval_encode(struct wbuf *w, const struct tval *v)
{
	size_t	 i;

	switch (v->tag) {
	case TREE_NULL:
		tree_null(w);
		break;
	case TREE_FALSE:
	case TREE_TRUE:
		tree_bool(w, v->tag == TREE_TRUE);
		break;
	case TREE_INT:
		tree_int(w, v->i);
		break;
	case TREE_DOUBLE:
		tree_double(w, v->d);
		break;
	case TREE_STR:
		tree_str(w, v->s);
		break;
	case TREE_MAP:
	case TREE_ARRAY:
		if (v->tag == TREE_MAP)
			tree_map(w);
		else
			tree_array(w);
		for (i = 0; i < v->n; i++) {
			if (v->tag == TREE_MAP)
				tree_key(w, v->keys[i]);
			tval_encode(w, &v->items[i]);
		}
		tree_end(w);
		break;
	default:
		w->error = EINVAL;
		break;
	}
}

/* The value of key in map v (the last one if repeated), or NULL. */
const struct tval *
tval_get(const struct tval *v, const char *key)
{
	size_t	 i;

	if (v == NULL || v->tag != TREE_MAP)
		return (NULL);
	for (i = v->n; i > 0; i--)
		if (strcmp(v->keys[i - 1], key) == 0)
			return (&v->items[i - 1]);
	return (NULL);
}

/* The string at key, or NULL when absent or not a string. */
const char *
tval_str(const struct tval *v, const char *key)
{
	const struct tval	*s;

	if ((s = tval_get(v, key)) == NULL || s->tag != TREE_STR)
		return (NULL);
	return (s->s);
}

int
tval_is(const struct tval *v, enum tree_tag tag)
{
	if (v == NULL)
		return (0);
	if (tag == TREE_TRUE || tag == TREE_FALSE)
		return (v->tag == TREE_TRUE || v->tag == TREE_FALSE);
	return (v->tag == tag);
}
