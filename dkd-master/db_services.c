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

/* Services in the database, each with its active deployment if any. */

#define SERVICE_SELECT	"SELECT s.id, s.project_id, s.name, s.status, " \
	"s.active_deployment_id, s.icon_url, s.created_at, s.updated_at, " \
	"d.id, d.image, d.replicas, d.created_at FROM services s " \
	"LEFT JOIN deployments d ON d.id = s.active_deployment_id "

static void
service_row(sqlite3_stmt *st, struct service *s)
{
	memset(s, 0, sizeof(*s));
	strlcpy(s->id, db_text(st, 0), sizeof(s->id));
	strlcpy(s->project_id, db_text(st, 1), sizeof(s->project_id));
	strlcpy(s->name, db_text(st, 2), sizeof(s->name));
	strlcpy(s->status, db_text(st, 3), sizeof(s->status));
	strlcpy(s->active_id, db_text(st, 4), sizeof(s->active_id));
	strlcpy(s->icon_url, db_text(st, 5), sizeof(s->icon_url));
	strlcpy(s->created_at, db_text(st, 6), sizeof(s->created_at));
	strlcpy(s->updated_at, db_text(st, 7), sizeof(s->updated_at));
	if (db_ntext(st, 8) != NULL) {
		s->active_found = 1;
		strlcpy(s->active_image, db_text(st, 9),
		    sizeof(s->active_image));
		s->active_replicas = sqlite3_column_int64(st, 10);
		strlcpy(s->active_created_at, db_text(st, 11),
		    sizeof(s->active_created_at));
	}
}

/* Service id of project project_id: ST_NONE when it is not there. */
int
db_service_get(const char *project_id, const char *id, struct service *s)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(SERVICE_SELECT "WHERE s.id = ? AND "
	    "s.project_id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	db_bind(st, 2, project_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		service_row(st, s);
	sqlite3_reset(st);
	return (db_found(rc));
}

int
db_service_by_id(const char *id, struct service *s)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(SERVICE_SELECT "WHERE s.id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		service_row(st, s);
	sqlite3_reset(st);
	return (db_found(rc));
}

/* ST_EXISTS when the project has a service of that name. */
int
db_service_insert(const struct service *s)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("INSERT INTO services (id, project_id, name, "
	    "status, icon_url, created_at, updated_at) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?)")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, s->id);
	db_bind(st, 2, s->project_id);
	db_bind(st, 3, s->name);
	db_bind(st, 4, s->status);
	db_bind(st, 5, s->icon_url[0] != '\0' ? s->icon_url : NULL);
	db_bind(st, 6, s->created_at);
	db_bind(st, 7, s->updated_at);
	return (db_written(db_step_done(st)));
}

/*
 * A page of project_id's services whose name contains name (any case)
 * and whose status is status ("" for any), newest first.
 */
int
db_service_list(const char *project_id, const char *name, const char *status,
    int64_t offset, int64_t limit, struct service **out, size_t *n,
    int64_t *total)
{
	sqlite3_stmt	*st;
	struct service	*rows;
	int		 rc;

	*out = NULL;
	*n = 0;
	if ((st = db_prepare("SELECT count(*) FROM services WHERE "
	    "project_id = ?1 AND (?2 = '' OR instr(lower(name), lower(?2)) "
	    "> 0) AND (?3 = '' OR status = ?3)")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, project_id);
	db_bind(st, 2, name);
	db_bind(st, 3, status);
	if ((*total = db_scalar(st)) == -1)
		return (ST_ERROR);
	if ((st = db_prepare(SERVICE_SELECT "WHERE s.project_id = ?1 AND "
	    "(?2 = '' OR instr(lower(s.name), lower(?2)) > 0) AND "
	    "(?3 = '' OR s.status = ?3) "
	    "ORDER BY s.created_at DESC, s.rowid DESC LIMIT ?4 OFFSET ?5")) ==
	    NULL)
		return (ST_ERROR);
	if ((rows = calloc((size_t)limit, sizeof(*rows))) == NULL) {
		log_warn("%s", __func__);
		return (ST_ERROR);
	}
	db_bind(st, 1, project_id);
	db_bind(st, 2, name);
	db_bind(st, 3, status);
	sqlite3_bind_int64(st, 4, limit);
	sqlite3_bind_int64(st, 5, offset);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < (size_t)limit)
		service_row(st, &rows[(*n)++]);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		free(rows);
		*n = 0;
		return (ST_ERROR);
	}
	*out = rows;
	return (ST_OK);
}

/* Every service of the project: id and name, oldest first. */
int
db_service_refs(const char *project_id, struct service_ref **out, size_t *n)
{
	sqlite3_stmt		*st;
	struct service_ref	*rows = NULL, *r;
	size_t			 cap = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if ((st = db_prepare("SELECT id, name FROM services WHERE "
	    "project_id = ? ORDER BY created_at, rowid")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, project_id);
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
		strlcpy(r->name, db_text(st, 1), sizeof(r->name));
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

/* ST_EXISTS when the name is taken in the project. */
int
db_service_rename(const char *id, const char *name)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare("UPDATE services SET name = ?, updated_at = "
	    "datetime('now') WHERE id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, name);
	db_bind(st, 2, id);
	if ((rc = db_written(db_step_done(st))) != ST_OK)
		return (rc);
	return (db_changes() > 0 ? ST_OK : ST_NONE);
}

/* An empty icon clears it. */
int
db_service_set_icon(const char *id, const char *icon)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("UPDATE services SET icon_url = ?, updated_at = "
	    "datetime('now') WHERE id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, icon[0] != '\0' ? icon : NULL);
	db_bind(st, 2, id);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	return (db_changes() > 0 ? ST_OK : ST_NONE);
}

int
db_service_set_status(const char *id, const char *status)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("UPDATE services SET status = ?, updated_at = "
	    "datetime('now') WHERE id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, status);
	db_bind(st, 2, id);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	return (db_changes() > 0 ? ST_OK : ST_NONE);
}

/* The active deployment, and the status that goes with the change. */
int
db_service_set_active(const char *id, const char *deployment_id,
    const char *status)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("UPDATE services SET active_deployment_id = ?, "
	    "status = ?, updated_at = datetime('now') WHERE id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, deployment_id);
	db_bind(st, 2, status);
	db_bind(st, 3, id);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	return (db_changes() > 0 ? ST_OK : ST_NONE);
}

/* Deployments, containers and service env vars go with it. */
int
db_service_delete(const char *id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("DELETE FROM services WHERE id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	return (db_changes() > 0 ? ST_OK : ST_NONE);
}

/* Has the service ever been deployed (a deployment not cancelled)? */
int
db_service_deployed(const char *id, int *deployed)
{
	sqlite3_stmt	*st;
	int64_t		 v;

	if ((st = db_prepare("SELECT EXISTS (SELECT 1 FROM deployments WHERE "
	    "service_id = ? AND status != 'cancelled')")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	if ((v = db_scalar(st)) == -1)
		return (ST_ERROR);
	*deployed = v > 0;
	return (ST_OK);
}

/*
 * The named volumes of the service (Decision 8): a tree, an array of
 * {name, path}; b->p is NULL when it has none.
 */
int
db_service_volumes(const char *id, struct blob *b)
{
	sqlite3_stmt	*st;
	const void	*p;
	int		 rc, rv, len;

	memset(b, 0, sizeof(*b));
	if ((st = db_prepare("SELECT volumes FROM services WHERE id = ?")) ==
	    NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		return (db_found(rc));
	}
	rv = ST_OK;
	if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
		p = sqlite3_column_blob(st, 0);
		len = sqlite3_column_bytes(st, 0);
		rv = blob_copy(b, p, len > 0 ? (size_t)len : 0);
	}
	sqlite3_reset(st);
	return (rv);
}

int
db_service_set_volumes(const char *id, const struct blob *b)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("UPDATE services SET volumes = ? WHERE "
	    "id = ?")) == NULL)
		return (ST_ERROR);
	if (b->p == NULL)
		sqlite3_bind_null(st, 1);
	else
		sqlite3_bind_blob(st, 1, b->p, (int)b->len, SQLITE_STATIC);
	db_bind(st, 2, id);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	return (db_changes() > 0 ? ST_OK : ST_NONE);
}
