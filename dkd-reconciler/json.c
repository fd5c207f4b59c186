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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "reconciler.h"

/*
 * Docker's replies, parsed with a depth limit: yajl's tree parser has
 * none and frees recursively, so a callback pass checks the depth first.
 */

struct depth {
	int	 depth;
};

static int
depth_open(void *ctx)
{
	struct depth	*d = ctx;

	return (++d->depth <= JSON_MAX_DEPTH);
}

static int
depth_close(void *ctx)
{
	struct depth	*d = ctx;

	d->depth--;
	return (1);
}

static int
depth_open_map(void *ctx)
{
	return (depth_open(ctx));
}

static const yajl_callbacks depth_callbacks = {
	.yajl_start_map = depth_open_map,
	.yajl_end_map = depth_close,
	.yajl_start_array = depth_open,
	.yajl_end_array = depth_close,
};

/* A tree for buf, or NULL with a reason in err. */
yajl_val
json_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	struct depth	 d = { 0 };
	yajl_handle	 h;
	yajl_status	 st;
	yajl_val	 v;
	char		*copy;

	if ((h = yajl_alloc(&depth_callbacks, NULL, &d)) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	st = yajl_parse(h, (const unsigned char *)buf, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	yajl_free(h);
	if (st != yajl_status_ok) {
		(void)snprintf(err, errlen, d.depth > JSON_MAX_DEPTH ?
		    "JSON nested too deeply" : "invalid JSON");
		return (NULL);
	}
	/* The tree parser wants a terminated string. */
	if ((copy = malloc(len + 1)) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	v = yajl_tree_parse(copy, err, errlen);
	free(copy);
	return (v);
}
