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
#include <stdio.h>
#include <string.h>

#include "tree.h"
#include "tree_json.h"

/*
 * Render one reply tree as JSON, checking its shape on the way: tags
 * known, maps of string keys, nesting balanced and bounded, strings that
 * are valid UTF-8 (the generator is set to validate), numbers finite.
 * The tree must be the rest of r; -1 on any fault.
 */
int
tree_to_json(struct rbuf *r, yajl_gen g)
{
	const uint8_t	*s;
	uint64_t	 bits;
	double		 d;
	size_t		 len;
	char		 num[32];
	int		 depth = 0, tag, n;
	/* Per level: is it a map, and is the next item a key? */
	char		 ismap[TREE_MAX_DEPTH + 1], wantkey[TREE_MAX_DEPTH + 1];

	ismap[0] = wantkey[0] = 0;
	do {
		tag = wire_get_u8(r);
		if (r->error)
			return (-1);
		if (ismap[depth] && wantkey[depth] && tag != TREE_STR &&
		    tag != TREE_END)
			return (-1);
		switch (tag) {
		case TREE_NULL:
			yajl_gen_null(g);
			break;
		case TREE_FALSE:
		case TREE_TRUE:
			yajl_gen_bool(g, tag == TREE_TRUE);
			break;
		case TREE_INT:
			yajl_gen_integer(g, (long long)wire_get_i64(r));
			break;
		case TREE_DOUBLE:
			bits = wire_get_u64(r);
			memcpy(&d, &bits, sizeof(d));
			if (!isfinite(d))
				return (-1);
			/* yajl's own %.20g shows binary noise: 1.07000...06. */
			n = snprintf(num, sizeof(num), "%.15g", d);
			if (n <= 0 || (size_t)n >= sizeof(num))
				return (-1);
			yajl_gen_number(g, num, (size_t)n);
			break;
		case TREE_STR:
			s = wire_get_bytes(r, DKD_TREE_STR_MAX, &len);
			if (r->error)
				return (-1);
			if (yajl_gen_string(g, s, len) != yajl_gen_status_ok)
				return (-1);
			break;
		case TREE_MAP:
		case TREE_ARRAY:
			if (depth == TREE_MAX_DEPTH)
				return (-1);
			if (tag == TREE_MAP)
				yajl_gen_map_open(g);
			else
				yajl_gen_array_open(g);
			/* The container is this level's value. */
			if (ismap[depth])
				wantkey[depth] = !wantkey[depth];
			depth++;
			ismap[depth] = tag == TREE_MAP;
			wantkey[depth] = 1;
			continue;
		case TREE_END:
			if (depth == 0 || (ismap[depth] && !wantkey[depth]))
				return (-1);
			if (ismap[depth])
				yajl_gen_map_close(g);
			else
				yajl_gen_array_close(g);
			depth--;
			continue;
		default:
			return (-1);
		}
		if (r->error)
			return (-1);
		if (ismap[depth])
			wantkey[depth] = !wantkey[depth];
	} while (depth > 0);
	return (wire_done(r));
}
