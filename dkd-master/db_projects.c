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

/* Projects in the database. */

#define PROJECT_COLS	"id, name, slug, created_at, updated_at"

static int
project_row(sqlite3_stmt *st, void *arg)
{
	struct project	*p = arg;

	memset(p, 0, sizeof(*p));
	strlcpy(p->id, db_text(st, 0), sizeof(p->id));
	strlcpy(p->name, db_text(st, 1), sizeof(p->name));
	strlcpy(p->slug, db_text(st, 2), sizeof(p->slug));
	strlcpy(p->created_at, db_text(st, 3), sizeof(p->created_at));
	strlcpy(p->updated_at, db_text(st, 4), sizeof(p->updated_at));
	return (ST_OK);
}

static const struct db_kind project_kind = {
	sizeof(struct project), project_row, NULL
};

int
db_project_get(const char *id, struct project *p)
{
	return (db_get("SELECT " PROJECT_COLS " FROM projects WHERE id = ?",
	    DB_ARGS(id), &project_kind, p));
}

/* ST_EXISTS when the slug is taken: the caller draws another. */
int
db_project_insert(const struct project *p)
{
	return (db_write("INSERT INTO projects (" PROJECT_COLS ") "
	    "VALUES (?, ?, ?, ?, ?)", DB_ARGS(p->id, p->name, p->slug,
	    p->created_at, p->updated_at)));
}

/*
 * A page of the projects whose name contains name (any case; "" for
 * all), newest first, and how many there are in all.
 */
int
db_project_list(const char *name, int64_t offset, int64_t limit,
    struct project **out, size_t *n, int64_t *total)
{
	return (db_page("SELECT count(*) FROM projects WHERE "
	    "?1 = '' OR instr(lower(name), lower(?1)) > 0",
	    "SELECT " PROJECT_COLS " FROM projects WHERE "
	    "?1 = '' OR instr(lower(name), lower(?1)) > 0 "
	    "ORDER BY created_at DESC, rowid DESC LIMIT ?2 OFFSET ?3",
	    DB_ARGS(name), offset, limit, &project_kind, out, n, total));
}

/* How many services project id has; ST_NONE if there is no project. */
int
db_project_services(const char *id, int64_t *count)
{
	sqlite3_stmt	*st;
	int		 rc, found = 0;

	if ((st = db_prepare("SELECT (SELECT count(*) FROM projects WHERE "
	    "id = ?1), (SELECT count(*) FROM services WHERE project_id = ?1)"))
	    == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		found = sqlite3_column_int(st, 0) > 0;
		*count = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return (ST_ERROR);
	return (found ? ST_OK : ST_NONE);
}

int
db_project_delete(const char *id)
{
	return (db_write("DELETE FROM projects WHERE id = ?", DB_ARGS(id)));
}

/*
 * The project an admin names on the command line: its id, its slug or
 * its exact name, in that order.  ST_EXISTS when the name is shared.
 */
int
db_project_find(const char *ref, struct project *p)
{
	sqlite3_stmt	*st;
	int		 rc, n = 0;

	if ((st = db_prepare("SELECT " PROJECT_COLS " FROM projects "
	    "WHERE id = ?1 OR slug = ?1 UNION ALL SELECT " PROJECT_COLS
	    " FROM projects WHERE name = ?1 AND id != ?1 AND slug != ?1 "
	    "LIMIT 3")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, ref);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == 0)
			project_row(st, p);
		else if (strcmp(p->id, ref) == 0 || strcmp(p->slug, ref) == 0)
			break;		/* an id or slug wins over names */
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (ST_ERROR);
	if (n == 0)
		return (ST_NONE);
	if (n > 1 && strcmp(p->id, ref) != 0 && strcmp(p->slug, ref) != 0)
		return (ST_EXISTS);
	return (ST_OK);
}

int
db_project_rename(const char *id, const char *name)
{
	return (db_write("UPDATE projects SET name = ?, updated_at = "
	    "datetime('now') WHERE id = ?", DB_ARGS(name, id)));
}
