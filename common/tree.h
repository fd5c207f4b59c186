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

#ifndef DK_TREE_H
#define DK_TREE_H

/*
 * Replies from the master: a JSON-shaped value tree in the field
 * encoding, one u8 tag per item.  The master builds it with the calls
 * below; dkd-api and dkctl check its shape while they render it, so the
 * master never writes JSON text and the api never trusts a length it
 * did not check.  In a map, items alternate key (a string) and value.
 */

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define TREE_MAX_DEPTH	32
#define DKD_TREE_STR_MAX	(1024 * 1024)

enum tree_tag {
	TREE_NULL = 1,
	TREE_FALSE,
	TREE_TRUE,
	TREE_INT,		/* i64 */
	TREE_DOUBLE,		/* u64 with the IEEE 754 bits */
	TREE_STR,		/* str */
	TREE_MAP,
	TREE_ARRAY,
	TREE_END,		/* closes the innermost map or array */
};

void	 tree_map(struct wbuf *);
void	 tree_array(struct wbuf *);
void	 tree_end(struct wbuf *);
void	 tree_null(struct wbuf *);
void	 tree_bool(struct wbuf *, int);
void	 tree_int(struct wbuf *, int64_t);
void	 tree_double(struct wbuf *, double);
void	 tree_str(struct wbuf *, const char *);
void	 tree_strn(struct wbuf *, const void *, size_t);
void	 tree_nstr(struct wbuf *, const char *);
void	 tree_key(struct wbuf *, const char *);
void	 tree_kv_str(struct wbuf *, const char *, const char *);
void	 tree_kv_int(struct wbuf *, const char *, int64_t);
void	 tree_kv_bool(struct wbuf *, const char *, int);
void	 tree_kv_double(struct wbuf *, const char *, double);

#endif /* DK_TREE_H */
