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

#include <string.h>

#include "db.h"
#include "store.h"

/* What a full resync of the reconciler reads: every project, service. */

static int
project_ref_row(sqlite3_stmt *st, void *arg)
{
	struct project_ref	*r = arg;

	strlcpy(r->id, db_text(st, 0), sizeof(r->id));
	strlcpy(r->slug, db_text(st, 1), sizeof(r->slug));
	return (ST_OK);
}

static const struct db_kind project_ref_kind = {
	sizeof(struct project_ref), project_ref_row, NULL
};

static int
id_row(sqlite3_stmt *st, void *arg)
{
	char	*id = arg;

	strlcpy(id, db_text(st, 0), UUID_LEN + 1);
	return (ST_OK);
}

static const struct db_kind id_kind = { UUID_LEN + 1, id_row, NULL };

/* Every project's id and slug, oldest first. */
int
db_project_refs(struct project_ref **out, size_t *n)
{
	return (db_list("SELECT id, slug FROM projects ORDER BY created_at, "
	    "rowid", NULL, 0, &project_ref_kind, out, n));
}

/* Every service's id, oldest first, into l (empty before). */
int
db_service_ids(struct idlist *l)
{
	return (db_list("SELECT id FROM services ORDER BY created_at, rowid",
	    NULL, 0, &id_kind, &l->ids, &l->n));
}
