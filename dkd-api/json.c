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

#include "api.h"

/* A generator that never emits invalid UTF-8. */
yajl_gen
json_new(void)
{
	yajl_gen	 g;

	if ((g = yajl_gen_alloc(NULL)) == NULL)
		return (NULL);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return (g);
}

void
json_str(yajl_gen g, const char *s)
{
	if (s == NULL)
		yajl_gen_null(g);
	else
		yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void
json_kv_str(yajl_gen g, const char *key, const char *value)
{
	json_str(g, key);
	json_str(g, value);
}
