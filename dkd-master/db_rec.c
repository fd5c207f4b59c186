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

/* What a full resync of the reconciler reads: every project, service. */

/* Every project's id and slug, oldest first. */
int
db_project_refs(struct project_ref **out, size_t *n)
{
	sqlite3_stmt		*st;
	struct project_ref	*rows = NULL, *r;
	size_t			 cap = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if ((st = db_prepare("SELECT id, slug FROM projects ORDER BY "
	    "created_at, rowid")) == NULL)
		return (ST_ERROR);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((r = reallocarray(rows, cap, sizeof(*r))) == NULL) {
				log_warn("%s", __func__);
				rc = SQLITE_NOMEM;
				break;
			}
			rows = r;
		}
		r = &rows[(*n)++];
		strlcpy(r->id, db_text(st, 0), sizeof(r->id));
		strlcpy(r->slug, db_text(st, 1), sizeof(r->slug));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(rows);
		*n = 0;
		return (ST_ERROR);
	}
	*out = rows;
	return (ST_OK);
}

/* Every service's id, oldest first, appended to l. */
int
db_service_ids(struct idlist *l)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare("SELECT id FROM services ORDER BY created_at, "
	    "rowid")) == NULL)
		return (ST_ERROR);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (idlist_add(l, db_text(st, 0)) != ST_OK) {
			rc = SQLITE_NOMEM;
			break;
		}
	sqlite3_reset(st);
	return (rc == SQLITE_DONE ? ST_OK : ST_ERROR);
}
