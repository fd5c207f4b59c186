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

static int
service_row(sqlite3_stmt *st, void *arg)
{
	struct service	*s = arg;

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
	return (ST_OK);
}

static const struct db_kind service_kind = {
	sizeof(struct service), service_row, NULL
};

static int
service_ref_row(sqlite3_stmt *st, void *arg)
{
	struct service_ref	*r = arg;

	strlcpy(r->id, db_text(st, 0), sizeof(r->id));
	strlcpy(r->name, db_text(st, 1), sizeof(r->name));
	return (ST_OK);
}

static const struct db_kind service_ref_kind = {
	sizeof(struct service_ref), service_ref_row, NULL
};

/* Service id of project project_id: ST_NONE when it is not there. */
int
db_service_get(const char *project_id, const char *id, struct service *s)
{
	return (db_get(SERVICE_SELECT "WHERE s.id = ? AND s.project_id = ?",
	    DB_ARGS(id, project_id), &service_kind, s));
}

int
db_service_by_id(const char *id, struct service *s)
{
	return (db_get(SERVICE_SELECT "WHERE s.id = ?", DB_ARGS(id),
	    &service_kind, s));
}

/* ST_EXISTS when the project has a service of that name. */
int
db_service_insert(const struct service *s)
{
	return (db_write("INSERT INTO services (id, project_id, name, status, "
	    "icon_url, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	    DB_ARGS(s->id, s->project_id, s->name, s->status,
	    s->icon_url[0] != '\0' ? s->icon_url : NULL, s->created_at,
	    s->updated_at)));
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
	return (db_page("SELECT count(*) FROM services WHERE "
	    "project_id = ?1 AND (?2 = '' OR instr(lower(name), lower(?2)) "
	    "> 0) AND (?3 = '' OR status = ?3)",
	    SERVICE_SELECT "WHERE s.project_id = ?1 AND "
	    "(?2 = '' OR instr(lower(s.name), lower(?2)) > 0) AND "
	    "(?3 = '' OR s.status = ?3) "
	    "ORDER BY s.created_at DESC, s.rowid DESC LIMIT ?4 OFFSET ?5",
	    DB_ARGS(project_id, name, status), offset, limit, &service_kind,
	    out, n, total));
}

/* Every service of the project: id and name, oldest first. */
int
db_service_refs(const char *project_id, struct service_ref **out, size_t *n)
{
	return (db_list("SELECT id, name FROM services WHERE project_id = ? "
	    "ORDER BY created_at, rowid", DB_ARGS(project_id),
	    &service_ref_kind, out, n));
}

/* ST_EXISTS when the name is taken in the project. */
int
db_service_rename(const char *id, const char *name)
{
	return (db_write("UPDATE services SET name = ?, updated_at = "
	    "datetime('now') WHERE id = ?", DB_ARGS(name, id)));
}

/* An empty icon clears it. */
int
db_service_set_icon(const char *id, const char *icon)
{
	return (db_write("UPDATE services SET icon_url = ?, updated_at = "
	    "datetime('now') WHERE id = ?",
	    DB_ARGS(icon[0] != '\0' ? icon : NULL, id)));
}

int
db_service_set_status(const char *id, const char *status)
{
	return (db_write("UPDATE services SET status = ?, updated_at = "
	    "datetime('now') WHERE id = ?", DB_ARGS(status, id)));
}

/* The active deployment, and the status that goes with the change. */
int
db_service_set_active(const char *id, const char *deployment_id,
    const char *status)
{
	return (db_write("UPDATE services SET active_deployment_id = ?, "
	    "status = ?, updated_at = datetime('now') WHERE id = ?",
	    DB_ARGS(deployment_id, status, id)));
}

/* Deployments, containers and service env vars go with it. */
int
db_service_delete(const char *id)
{
	return (db_write("DELETE FROM services WHERE id = ?", DB_ARGS(id)));
}

/* Has the service ever been deployed (a deployment not cancelled)? */
int
db_service_deployed(const char *id, int *deployed)
{
	int64_t	 v;
	int	 rc;

	if ((rc = db_count("SELECT EXISTS (SELECT 1 FROM deployments WHERE "
	    "service_id = ? AND status != 'cancelled')", DB_ARGS(id), &v)) ==
	    ST_OK)
		*deployed = v > 0;
	return (rc);
}

/*
 * The named volumes of the service (Decision 8): a tree, an array of
 * {name, path}; b->p is NULL when it has none.
 */
static int
volumes_row(sqlite3_stmt *st, void *arg)
{
	struct blob	*b = arg;
	int		 len;

	memset(b, 0, sizeof(*b));
	if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		return (ST_OK);
	len = sqlite3_column_bytes(st, 0);
	return (blob_copy(b, sqlite3_column_blob(st, 0), len > 0 ?
	    (size_t)len : 0));
}

static const struct db_kind volumes_kind = {
	sizeof(struct blob), volumes_row, NULL
};

int
db_service_volumes(const char *id, struct blob *b)
{
	memset(b, 0, sizeof(*b));
	return (db_get("SELECT volumes FROM services WHERE id = ?",
	    DB_ARGS(id), &volumes_kind, b));
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
	return (db_changed(db_step_done(st)));
}
