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
 * Reply trees as dkd-api and dkctl render them.  Anything the renderer
 * accepts must come out as JSON that yajl parses back.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tree_json.h"
#include "wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char	*out;
	struct rbuf		 r;
	yajl_gen		 g;
	yajl_val		 v;
	char			*copy, err[128];
	size_t			 len;

	if ((g = yajl_gen_alloc(NULL)) == NULL)
		return (0);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	rbuf_init(&r, data, size);
	if (tree_to_json(&r, g) == 0) {
		if (yajl_gen_get_buf(g, &out, &len) != yajl_gen_status_ok)
			__builtin_trap();
		if ((copy = malloc(len + 1)) == NULL)
			abort();
		memcpy(copy, out, len);
		copy[len] = '\0';
		if ((v = yajl_tree_parse(copy, err, sizeof(err))) == NULL)
			__builtin_trap();
		yajl_tree_free(v);
		free(copy);
	}
	yajl_gen_free(g);
	return (0);
}
