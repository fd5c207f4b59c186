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

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "store.h"

/*
 * Transactions for handlers that make several storage calls one write,
 * and the small containers storage hands back.
 */

int
store_begin(void)
{
	return (db_begin() == 0 ? ST_OK : ST_ERROR);
}

int
store_commit(void)
{
	if (db_commit() == 0)
		return (ST_OK);
	db_rollback();
	return (ST_ERROR);
}

/* Harmless when no transaction is open. */
void
store_rollback(void)
{
	db_rollback();
}

void
blob_free(struct blob *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
}

int
blob_copy(struct blob *b, const void *p, size_t len)
{
	b->len = 0;
	/* One byte more, so that an empty blob is not NULL. */
	if ((b->p = malloc(len + 1)) == NULL) {
		log_warn("%s", __func__);
		return (ST_ERROR);
	}
	if (len > 0)
		memcpy(b->p, p, len);
	b->len = len;
	return (ST_OK);
}

int
idlist_add(struct idlist *l, const char *id)
{
	char	(*ids)[UUID_LEN + 1];

	if ((ids = reallocarray(l->ids, l->n + 1, sizeof(*ids))) == NULL) {
		log_warn("%s", __func__);
		return (ST_ERROR);
	}
	l->ids = ids;
	strlcpy(l->ids[l->n++], id, sizeof(*ids));
	return (ST_OK);
}

void
idlist_free(struct idlist *l)
{
	free(l->ids);
	l->ids = NULL;
	l->n = 0;
}
