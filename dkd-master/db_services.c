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
	sqlite3_stmt	*st;

	if ((st = db_prepare(SERVICE_SELECT "WHERE s.id = ? AND "
	    "s.project_id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	db_bind(st, 2, project_id);
	return (db_one(st, &service_kind, s));
}

int
db_service_by_id(const char *id, struct service *s)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(SERVICE_SELECT "WHERE s.id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	return (db_one(st, &service_kind, s));
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
	const char	*v[] = { project_id, name, status };
	sqlite3_stmt	*count, *st;

	*out = NULL;
	*n = 0;
	if ((count = db_prepare("SELECT count(*) FROM services WHERE "
	    "project_id = ?1 AND (?2 = '' OR instr(lower(name), lower(?2)) "
	    "> 0) AND (?3 = '' OR status = ?3)")) == NULL ||
	    (st = db_prepare(SERVICE_SELECT "WHERE s.project_id = ?1 AND "
	    "(?2 = '' OR instr(lower(s.name), lower(?2)) > 0) AND "
	    "(?3 = '' OR s.status = ?3) "
	    "ORDER BY s.created_at DESC, s.rowid DESC LIMIT ?4 OFFSET ?5")) ==
	    NULL)
		return (ST_ERROR);
	db_bind_all(count, v, nitems(v));
	db_bind_all(st, v, nitems(v));
	return (db_page(count, st, offset, limit, &service_kind, out, n,
	    total));
}

/* Every service of the project: id and name, oldest first. */
int
db_service_refs(const char *project_id, struct service_ref **out, size_t *n)
{
	sqlite3_stmt	*st;

	*out = NULL;
	*n = 0;
	if ((st = db_prepare("SELECT id, name FROM services WHERE "
	    "project_id = ? ORDER BY created_at, rowid")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, project_id);
	return (db_rows(st, &service_ref_kind, out, n));
}

/* ST_EXISTS when the name is taken in the project. */
int
db_service_rename(const char *id, const char *name)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("UPDATE services SET name = ?, updated_at = "
	    "datetime('now') WHERE id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, name);
	db_bind(st, 2, id);
	return (db_changed(db_step_done(st)));
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
	return (db_changed(db_step_done(st)));
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
	return (db_changed(db_step_done(st)));
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
	return (db_changed(db_step_done(st)));
}

/* Deployments, containers and service env vars go with it. */
int
db_service_delete(const char *id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("DELETE FROM services WHERE id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	return (db_changed(db_step_done(st)));
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
