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

#ifndef DK_TVAL_H
#define DK_TVAL_H

/*
 * A value tree (tree.h) read into memory, for the master: nested
 * request fields (env vars, ports, canvas payloads) arrive in the tree
 * encoding and are checked as they are read.  No JSON text is involved.
 */

#include <stddef.h>
#include <stdint.h>

#include "tree.h"
#include "wire.h"

struct tval {
	enum tree_tag	 tag;		/* TREE_NULL ... TREE_ARRAY */
	int64_t		 i;		/* TREE_INT */
	double		 d;		/* TREE_DOUBLE */
	char		*s;		/* TREE_STR: no NUL inside */
	size_t		 n;		/* items of a map or an array */
	char		**keys;		/* a map's, one per item */
	struct tval	*items;
};

int	 tval_decode(struct rbuf *, struct tval *, size_t);
int	 tval_decode_all(struct rbuf *, struct tval *, size_t);
void	 tval_free(struct tval *);
void	 tval_encode(struct wbuf *, const struct tval *);
const struct tval *tval_get(const struct tval *, const char *);
const char *tval_str(const struct tval *, const char *);
int	 tval_is(const struct tval *, enum tree_tag);

#endif /* DK_TVAL_H */
