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
#include <time.h>

#include "db.h"
#include "log.h"
#include "store.h"

/*
 * The log of staged changes, per project, in seq order.  A payload is a
 * value tree (tree.h) stored as a blob.
 */

#define PENDING_COLS	"id, project_id, seq, op, target_type, " \
	"target_id, target_temp_id, parent_temp_id, payload, user_id, " \
	"created_at"

static int
pending_row(sqlite3_stmt *st, void *arg)
{
	struct pending	*p = arg;
	const void	*b;
	int		 len;

	memset(p, 0, sizeof(*p));
	strlcpy(p->id, db_text(st, 0), sizeof(p->id));
	strlcpy(p->project_id, db_text(st, 1), sizeof(p->project_id));
	p->seq = sqlite3_column_int64(st, 2);
	strlcpy(p->op, db_text(st, 3), sizeof(p->op));
	strlcpy(p->target_type, db_text(st, 4), sizeof(p->target_type));
	strlcpy(p->target_id, db_text(st, 5), sizeof(p->target_id));
	strlcpy(p->target_temp_id, db_text(st, 6), sizeof(p->target_temp_id));
	strlcpy(p->parent_temp_id, db_text(st, 7), sizeof(p->parent_temp_id));
	strlcpy(p->user_id, db_text(st, 9), sizeof(p->user_id));
	strlcpy(p->created_at, db_text(st, 10), sizeof(p->created_at));
	b = sqlite3_column_blob(st, 8);
	len = sqlite3_column_bytes(st, 8);
	return (blob_copy(&p->payload, b, len > 0 ? (size_t)len : 0));
}

void
pending_free(struct pending *p)
{
	blob_free(&p->payload);
}

static void
pending_clear(void *p)
{
	pending_free(p);
}

static const struct db_kind pending_kind = {
	sizeof(struct pending), pending_row, pending_clear
};

void
pendings_free(struct pending *rows, size_t n)
{
	db_rows_free(&pending_kind, rows, n);
}

/* The project's log, oldest first. */
int
db_pending_list(const char *project_id, struct pending **out, size_t *n)
{
	return (db_list("SELECT " PENDING_COLS " FROM pending_changes WHERE "
	    "project_id = ? ORDER BY seq", DB_ARGS(project_id), &pending_kind,
	    out, n));
}

/* Entry id of project_id's log; ST_NONE when it is not one. */
int
db_pending_get(const char *project_id, const char *id, struct pending *p)
{
	return (db_get("SELECT " PENDING_COLS " FROM pending_changes WHERE "
	    "id = ? AND project_id = ?", DB_ARGS(id, project_id),
	    &pending_kind, p));
}

/*
 * Append p to its project's log: p gets its id, the next seq and its
 * time.  Run it inside a transaction with the checks that allowed it.
 */
int
db_pending_append(struct pending *p)
{
	sqlite3_stmt	*st;
	int64_t		 seq;

	if (db_count("SELECT coalesce(max(seq), 0) FROM pending_changes "
	    "WHERE project_id = ?", DB_ARGS(p->project_id), &seq) != ST_OK)
		return (ST_ERROR);
	p->seq = seq + 1;
	uuid_new(p->id);
	dbtime(time(NULL), p->created_at);
	if ((st = db_prepare("INSERT INTO pending_changes (" PENDING_COLS
	    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, p->id);
	db_bind(st, 2, p->project_id);
	sqlite3_bind_int64(st, 3, p->seq);
	db_bind(st, 4, p->op);
	db_bind(st, 5, p->target_type);
	db_bind(st, 6, p->target_id[0] != '\0' ? p->target_id : NULL);
	db_bind(st, 7, p->target_temp_id[0] != '\0' ? p->target_temp_id :
	    NULL);
	db_bind(st, 8, p->parent_temp_id[0] != '\0' ? p->parent_temp_id :
	    NULL);
	sqlite3_bind_blob(st, 9, p->payload.p, (int)p->payload.len,
	    SQLITE_STATIC);
	db_bind(st, 10, p->user_id[0] != '\0' ? p->user_id : NULL);
	db_bind(st, 11, p->created_at);
	return (db_written(db_step_done(st)));
}

int
db_pending_delete(const char *id)
{
	return (db_write("DELETE FROM pending_changes WHERE id = ?",
	    DB_ARGS(id)));
}

/* The whole log of the project. */
int
db_pending_clear(const char *project_id)
{
	return (db_run("DELETE FROM pending_changes WHERE project_id = ?",
	    DB_ARGS(project_id)));
}

/*
 * Add the ids select yields to ids, then run delete; both take the
 * parameters v.
 */
static int
remove_selected(const char *select, const char *delete,
    const char *const *v, size_t n, struct idlist *ids)
{
	sqlite3_stmt	*sel;
	int		 rc;

	if ((sel = db_prepare(select)) == NULL)
		return (ST_ERROR);
	db_bind_all(sel, v, n);
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW)
		if (idlist_add(ids, db_text(sel, 0)) != ST_OK) {
			rc = SQLITE_NOMEM;
			break;
		}
	sqlite3_reset(sel);
	if (rc != SQLITE_DONE)
		return (ST_ERROR);
	return (db_run(delete, v, n));
}

/*
 * A pending service's node is gone: so are the entries that create it
 * or stage env vars on it.  Their ids are added to ids.
 */
int
db_pending_remove_temp(const char *project_id, const char *temp_id,
    struct idlist *ids)
{
	return (remove_selected("SELECT id FROM pending_changes WHERE "
	    "project_id = ?1 AND (target_temp_id = ?2 OR parent_temp_id = ?2) "
	    "ORDER BY seq", "DELETE FROM pending_changes WHERE "
	    "project_id = ?1 AND (target_temp_id = ?2 OR parent_temp_id = ?2)",
	    DB_ARGS(project_id, temp_id), ids));
}

/*
 * A group node is going: the env var changes staged on the group would
 * have nothing to apply to.  Their ids are added to ids.
 */
int
db_pending_remove_group(const char *project_id, const char *group_id,
    struct idlist *ids)
{
	return (remove_selected("SELECT id FROM pending_changes WHERE "
	    "project_id = ?1 AND target_type = 'env_var' AND "
	    "(target_id = ?2 OR target_id IN (SELECT id FROM env_vars WHERE "
	    "scope = 'group' AND scope_id = ?2)) ORDER BY seq",
	    "DELETE FROM pending_changes WHERE "
	    "project_id = ?1 AND target_type = 'env_var' AND "
	    "(target_id = ?2 OR target_id IN (SELECT id FROM env_vars WHERE "
	    "scope = 'group' AND scope_id = ?2))",
	    DB_ARGS(project_id, group_id), ids));
}
