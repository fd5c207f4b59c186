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

/*
 * Value trees read into memory: round trips, lookups, and a reader that
 * refuses what is too deep, too wide, malformed or truncated without
 * leaking (the ASan build runs this too).
 */

#include <sys/types.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tval.h"
#include "wire.h"

static int
decode(const struct wbuf *w, struct tval *v, size_t budget)
{
	struct rbuf	 r;

	rbuf_init(&r, w->buf, w->len);
	return (tval_decode_all(&r, v, budget));
}

static void
sample(struct wbuf *w)
{
	tree_map(w);
	tree_kv_str(w, "image", "busybox:1");
	tree_key(w, "ports");
	tree_array(w);
	tree_map(w);
	tree_kv_int(w, "container_port", 8080);
	tree_kv_str(w, "protocol", "tcp");
	tree_end(w);
	tree_end(w);
	tree_kv_double(w, "cpu", 0.5);
	tree_kv_bool(w, "on", 1);
	tree_key(w, "none");
	tree_null(w);
	tree_kv_str(w, "image", "busybox:2");
	tree_end(w);
}

static void
test_roundtrip(void)
{
	struct wbuf		 w, again;
	struct tval		 v;
	const struct tval	*ports, *p;

	wbuf_init(&w, 4096);
	sample(&w);
	ok(decode(&w, &v, 100) == 0, "a nested tree decodes");
	ok(v.tag == TREE_MAP && v.n == 6, "a map of 6 items (got %zu)", v.n);
	ok(tval_str(&v, "image") != NULL &&
	    strcmp(tval_str(&v, "image"), "busybox:2") == 0,
	    "a repeated key: the last one counts");
	ports = tval_get(&v, "ports");
	ok(tval_is(ports, TREE_ARRAY) && ports->n == 1, "an array inside");
	p = ports != NULL && ports->n == 1 ? &ports->items[0] : NULL;
	ok(p != NULL && tval_get(p, "container_port") != NULL &&
	    tval_get(p, "container_port")->i == 8080, "an int two levels down");
	ok(tval_get(&v, "cpu") != NULL && tval_get(&v, "cpu")->d == 0.5,
	    "a double");
	ok(tval_is(tval_get(&v, "on"), TREE_TRUE), "a bool");
	ok(tval_is(tval_get(&v, "none"), TREE_NULL), "a null");
	ok(tval_get(&v, "missing") == NULL && tval_str(&v, "ports") == NULL,
	    "absent keys and wrong types give NULL");
	wbuf_init(&again, 4096);
	tval_encode(&again, &v);
	ok(again.len == w.len && memcmp(again.buf, w.buf, w.len) == 0,
	    "encoding it again gives the same bytes");
	tval_free(&v);
	ok(v.n == 0 && v.items == NULL, "freed and cleared");
	wbuf_free(&again);
	ok(decode(&w, &v, 9) == -1, "one item more than the budget: refused");
	wbuf_free(&w);
}

static void
test_refusals(void)
{
	struct wbuf	 w;
	struct tval	 v;
	size_t		 i, cut;
	int		 bad;

	/* Nested past TREE_MAX_DEPTH. */
	wbuf_init(&w, 4096);
	for (i = 0; i <= TREE_MAX_DEPTH; i++)
		tree_array(&w);
	for (i = 0; i <= TREE_MAX_DEPTH; i++)
		tree_end(&w);
	ok(decode(&w, &v, 1000) == -1, "deeper than %d: refused",
	    TREE_MAX_DEPTH);
	wbuf_free(&w);

	wbuf_init(&w, 64);
	tree_map(&w);
	tree_int(&w, 1);
	tree_int(&w, 2);
	tree_end(&w);
	ok(decode(&w, &v, 100) == -1, "a map key that is not a string");
	wbuf_free(&w);

	wbuf_init(&w, 64);
	tree_map(&w);
	tree_key(&w, "k");
	tree_end(&w);
	ok(decode(&w, &v, 100) == -1, "a map key without a value");
	wbuf_free(&w);

	wbuf_init(&w, 64);
	tree_end(&w);
	ok(decode(&w, &v, 100) == -1, "an end without a start");
	wbuf_free(&w);

	wbuf_init(&w, 64);
	wire_put_u8(&w, 99);
	ok(decode(&w, &v, 100) == -1, "an unknown tag");
	wbuf_free(&w);

	wbuf_init(&w, 64);
	tree_strn(&w, "a\0b", 3);
	ok(decode(&w, &v, 100) == -1, "a string with a NUL inside");
	wbuf_free(&w);

	wbuf_init(&w, 64);
	tree_double(&w, NAN);
	ok(decode(&w, &v, 100) == -1, "NaN");
	wbuf_free(&w);

	wbuf_init(&w, 64);
	tree_array(&w);
	tree_end(&w);
	tree_null(&w);
	ok(decode(&w, &v, 100) == -1, "trailing bytes after the value");
	wbuf_free(&w);

	/* Every cut of a good tree fails cleanly. */
	wbuf_init(&w, 4096);
	sample(&w);
	for (bad = 0, cut = 0; cut < w.len; cut++) {
		struct rbuf	 r;

		rbuf_init(&r, w.buf, cut);
		if (tval_decode(&r, &v, 100) == 0) {
			tval_free(&v);
			bad++;
		}
	}
	ok(bad == 0, "all %zu truncations refused (%d accepted)", w.len,
	    bad);
	wbuf_free(&w);
}

int
main(void)
{
	plan(21);
	test_roundtrip();
	test_refusals();
	return (done_testing());
}
