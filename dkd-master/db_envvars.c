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
 * Env vars in the database, in three scopes: a project's, a group's (a
 * group node of the canvas) and a service's.  Values are secrets: they
 * are stored and handed back, never logged.
 */

#define ENVVAR_COLS	"id, scope, scope_id, key, value, created_at, " \
	"updated_at"

static int
envvar_row(sqlite3_stmt *st, void *arg)
{
	struct envvar	*e = arg;

	memset(e, 0, sizeof(*e));
	strlcpy(e->id, db_text(st, 0), sizeof(e->id));
	strlcpy(e->scope, db_text(st, 1), sizeof(e->scope));
	strlcpy(e->scope_id, db_text(st, 2), sizeof(e->scope_id));
	strlcpy(e->key, db_text(st, 3), sizeof(e->key));
	strlcpy(e->created_at, db_text(st, 5), sizeof(e->created_at));
	strlcpy(e->updated_at, db_text(st, 6), sizeof(e->updated_at));
	if ((e->value = strdup(db_text(st, 4))) == NULL) {
		log_warn("%s", __func__);
		return (ST_ERROR);
	}
	return (ST_OK);
}

void
envvar_clear(struct envvar *e)
{
	if (e->value != NULL) {
		explicit_bzero(e->value, strlen(e->value));
		free(e->value);
	}
	e->value = NULL;
}

static void
envvar_clear_row(void *e)
{
	envvar_clear(e);
}

static const struct db_kind envvar_kind = {
	sizeof(struct envvar), envvar_row, envvar_clear_row
};

void
envvars_free(struct envvar *rows, size_t n)
{
	db_rows_free(&envvar_kind, rows, n);
}

/* The variables of one scope, by key. */
int
db_envvar_list(const char *scope, const char *scope_id, struct envvar **out,
    size_t *n)
{
	return (db_list("SELECT " ENVVAR_COLS " FROM env_vars WHERE "
	    "scope = ? AND scope_id = ? ORDER BY key", DB_ARGS(scope, scope_id),
	    &envvar_kind, out, n));
}

/* Every variable of a project: its own, its groups' and its services'. */
int
db_envvar_project(const char *project_id, struct envvar **out, size_t *n)
{
	return (db_list("SELECT " ENVVAR_COLS " FROM env_vars WHERE "
	    "(scope = 'project' AND scope_id = ?1) OR (scope = 'service' AND "
	    "scope_id IN (SELECT id FROM services WHERE project_id = ?1)) OR "
	    "(scope = 'group' AND scope_id IN (SELECT id FROM canvas_nodes "
	    "WHERE project_id = ?1 AND type = 'group')) "
	    "ORDER BY scope, scope_id, key", DB_ARGS(project_id), &envvar_kind,
	    out, n));
}

int
db_envvar_get(const char *id, struct envvar *e)
{
	return (db_get("SELECT " ENVVAR_COLS " FROM env_vars WHERE id = ?",
	    DB_ARGS(id), &envvar_kind, e));
}

int
db_envvar_find(const char *scope, const char *scope_id, const char *key,
    struct envvar *e)
{
	return (db_get("SELECT " ENVVAR_COLS " FROM env_vars WHERE "
	    "scope = ? AND scope_id = ? AND key = ?",
	    DB_ARGS(scope, scope_id, key), &envvar_kind, e));
}

/* ST_EXISTS when the scope has that key already. */
int
db_envvar_insert(const struct envvar *e)
{
	return (db_write("INSERT INTO env_vars (id, scope, scope_id, key, "
	    "value) VALUES (?, ?, ?, ?, ?)", DB_ARGS(e->id, e->scope,
	    e->scope_id, e->key, e->value)));
}

int
db_envvar_set_value(const char *id, const char *value)
{
	return (db_write("UPDATE env_vars SET value = ?, updated_at = "
	    "datetime('now') WHERE id = ?", DB_ARGS(value, id)));
}

int
db_envvar_delete(const char *id)
{
	return (db_write("DELETE FROM env_vars WHERE id = ?", DB_ARGS(id)));
}
