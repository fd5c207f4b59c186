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
 * The request-body decoder of dkd-api: the first byte picks an op, the
 * rest is the body.  Whatever it accepts, with the path parameters the
 * router adds, must also encode and decode through the op's fields
 * exactly as the master will read them.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ops.h"
#include "wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct op_spec	*spec;
	struct op_args		 a, b;
	struct body_error	 err;
	struct wbuf		 w, t;
	struct rbuf		 r;
	int			 i;

	/* Bodies come with HTTP routes; canvas messages have their own. */
	if (size < 1 || (spec = op_spec(data[0] % OP_MAX)) == NULL ||
	    spec->path == NULL)
		return (0);
	memset(&a, 0, sizeof(a));
	if (body_decode(data + 1, size - 1, spec, &a, &err) == -1) {
		if (err.status != 400 && err.status != 422)
			__builtin_trap();
		for (i = 0; i < OP_FIELDS_MAX; i++)
			if (a.str[i] != NULL)
				__builtin_trap();
		return (0);
	}
	/* The router fills path parameters, which are required. */
	for (i = 0; i < spec->nfields; i++)
		if (spec->fields[i].src == FS_PATH && !a.present[i]) {
			if ((a.str[i] = strdup("id")) == NULL)
				abort();
			a.present[i] = 1;
		}
	if (op_args_hash_tokens(spec, &a) == -1)
		abort();
	wbuf_init(&w, 4 * 1024 * 1024);
	op_args_put(&w, spec, &a);
	rbuf_init(&r, w.buf, w.len);
	if (w.error || op_args_get(&r, spec, &b) == -1 || wire_done(&r) == -1)
		__builtin_trap();
	for (i = 0; i < spec->nfields; i++) {
		if (a.present[i] != b.present[i] || a.num[i] != b.num[i])
			__builtin_trap();
		if (spec->fields[i].type == FT_JSON) {
			/* The tree the master reads is the tree sent. */
			if (!a.present[i])
				continue;
			wbuf_init(&t, 4 * 1024 * 1024);
			tval_encode(&t, &b.val[i]);
			if (t.error || t.len != a.len[i] ||
			    memcmp(t.buf, a.str[i], t.len) != 0)
				__builtin_trap();
			wbuf_free(&t);
			continue;
		}
		if ((a.str[i] == NULL) != (b.str[i] == NULL) ||
		    (a.str[i] != NULL && strcmp(a.str[i], b.str[i]) != 0))
			__builtin_trap();
	}
	op_args_clear(&a);
	op_args_clear(&b);
	wbuf_free(&w);
	return (0);
}
