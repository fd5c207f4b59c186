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
 * Deployments and their containers in the database.  The JSON columns
 * (env_vars, ports, resources) hold value trees (tree.h) as blobs.
 */

#define DEPLOYMENT_COLS	"id, service_id, image, env_vars, ports, " \
	"resources, replicas, status, failure_reason, attempt_count, " \
	"started_at, healthy_at, exit_code, log_tail, created_at, " \
	"baseline_restart_count"

static char *
column_strdup(sqlite3_stmt *st, int i, int *err)
{
	const char	*s;
	char		*p;

	if ((s = db_ntext(st, i)) == NULL)
		return (NULL);
	if ((p = strdup(s)) == NULL)
		*err = 1;
	return (p);
}

static int
column_blob(sqlite3_stmt *st, int i, struct blob *b)
{
	const void	*p;
	int		 len;

	memset(b, 0, sizeof(*b));
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return (ST_OK);
	p = sqlite3_column_blob(st, i);
	len = sqlite3_column_bytes(st, i);
	return (blob_copy(b, p, len > 0 ? (size_t)len : 0));
}

static int
deployment_row(sqlite3_stmt *st, struct deployment *d)
{
	int	 err = 0;

	memset(d, 0, sizeof(*d));
	strlcpy(d->id, db_text(st, 0), sizeof(d->id));
	strlcpy(d->service_id, db_text(st, 1), sizeof(d->service_id));
	strlcpy(d->image, db_text(st, 2), sizeof(d->image));
	if (column_blob(st, 3, &d->env_vars) != ST_OK ||
	    column_blob(st, 4, &d->ports) != ST_OK ||
	    column_blob(st, 5, &d->resources) != ST_OK)
		err = 1;
	d->replicas = sqlite3_column_int64(st, 6);
	strlcpy(d->status, db_text(st, 7), sizeof(d->status));
	d->failure_reason = column_strdup(st, 8, &err);
	d->attempt_count = sqlite3_column_int64(st, 9);
	strlcpy(d->started_at, db_text(st, 10), sizeof(d->started_at));
	strlcpy(d->healthy_at, db_text(st, 11), sizeof(d->healthy_at));
	if (sqlite3_column_type(st, 12) != SQLITE_NULL) {
		d->has_exit_code = 1;
		d->exit_code = sqlite3_column_int64(st, 12);
	}
	d->log_tail = column_strdup(st, 13, &err);
	strlcpy(d->created_at, db_text(st, 14), sizeof(d->created_at));
	d->baseline_restart_count = sqlite3_column_int64(st, 15);
	if (err) {
		log_warnx("%s: out of memory", __func__);
		deployment_free(d);
		return (ST_ERROR);
	}
	return (ST_OK);
}

void
deployment_free(struct deployment *d)
{
	blob_free(&d->env_vars);
	blob_free(&d->ports);
	blob_free(&d->resources);
	free(d->failure_reason);
	free(d->log_tail);
	d->failure_reason = d->log_tail = NULL;
}

void
deployments_free(struct deployment *d, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		deployment_free(&d[i]);
	free(d);
}

static void
bind_blob(sqlite3_stmt *st, int i, const struct blob *b)
{
	if (b->p == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_blob(st, i, b->p, (int)b->len, SQLITE_STATIC);
}

/* A new deployment as d describes it (status, image, trees, replicas). */
int
db_deployment_insert(const struct deployment *d)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("INSERT INTO deployments (id, service_id, image, "
	    "env_vars, ports, resources, replicas, status, created_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, d->id);
	db_bind(st, 2, d->service_id);
	db_bind(st, 3, d->image);
	bind_blob(st, 4, &d->env_vars);
	bind_blob(st, 5, &d->ports);
	bind_blob(st, 6, &d->resources);
	sqlite3_bind_int64(st, 7, d->replicas);
	db_bind(st, 8, d->status);
	db_bind(st, 9, d->created_at);
	return (db_written(db_step_done(st)));
}

/* A newer deployment was made: the ones still on their way give up. */
int
db_deployment_cancel_inflight(const char *service_id, const char *except_id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("UPDATE deployments SET status = 'cancelled' "
	    "WHERE service_id = ? AND id != ? AND status IN "
	    "('pending', 'starting')")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, service_id);
	db_bind(st, 2, except_id);
	return (db_step_done(st) == SQLITE_DONE ? ST_OK : ST_ERROR);
}

/* Deployment id of service service_id; ST_NONE when it is not one. */
int
db_deployment_get(const char *service_id, const char *id,
    struct deployment *d)
{
	sqlite3_stmt	*st;
	int		 rc, rv;

	if ((st = db_prepare("SELECT " DEPLOYMENT_COLS " FROM deployments "
	    "WHERE id = ? AND service_id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	db_bind(st, 2, service_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rv = deployment_row(st, d);
	else
		rv = db_found(rc);
	sqlite3_reset(st);
	return (rv);
}

/* A page of the service's deployments, newest first. */
int
db_deployment_list(const char *service_id, int64_t offset, int64_t limit,
    struct deployment **out, size_t *n, int64_t *total)
{
	sqlite3_stmt		*st;
	struct deployment	*rows;
	int			 rc, err = 0;

	*out = NULL;
	*n = 0;
	if ((st = db_prepare("SELECT count(*) FROM deployments WHERE "
	    "service_id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, service_id);
	if ((*total = db_scalar(st)) == -1)
		return (ST_ERROR);
	if ((st = db_prepare("SELECT " DEPLOYMENT_COLS " FROM deployments "
	    "WHERE service_id = ? ORDER BY created_at DESC, rowid DESC "
	    "LIMIT ? OFFSET ?")) == NULL)
		return (ST_ERROR);
	if ((rows = calloc((size_t)limit, sizeof(*rows))) == NULL) {
		log_warn("%s", __func__);
		return (ST_ERROR);
	}
	db_bind(st, 1, service_id);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, offset);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW &&
	    *n < (size_t)limit) {
		if (deployment_row(st, &rows[*n]) != ST_OK)
			err = 1;
		else
			(*n)++;
	}
	sqlite3_reset(st);
	if (err || (rc != SQLITE_DONE && rc != SQLITE_ROW)) {
		deployments_free(rows, *n);
		*n = 0;
		return (ST_ERROR);
	}
	*out = rows;
	return (ST_OK);
}

/*
 * The service's most recent deployment that did not fail and was not
 * cancelled: what a redeploy starts from.  ST_NONE when there is none.
 */
int
db_deployment_latest_live(const char *service_id, struct deployment *d)
{
	sqlite3_stmt	*st;
	int		 rc, rv;

	if ((st = db_prepare("SELECT " DEPLOYMENT_COLS " FROM deployments "
	    "WHERE service_id = ? AND status NOT IN ('cancelled', 'failed') "
	    "ORDER BY created_at DESC, rowid DESC LIMIT 1")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, service_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rv = deployment_row(st, d);
	else
		rv = db_found(rc);
	sqlite3_reset(st);
	return (rv);
}

int
db_deployment_set_status(const char *id, const char *status)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("UPDATE deployments SET status = ? WHERE "
	    "id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, status);
	db_bind(st, 2, id);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	return (db_changes() > 0 ? ST_OK : ST_NONE);
}

/* Healthy again (a rollback): healthy_at stays if it was ever set. */
int
db_deployment_make_healthy(const char *id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("UPDATE deployments SET status = 'healthy', "
	    "healthy_at = coalesce(healthy_at, datetime('now')), "
	    "failure_reason = NULL WHERE id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	return (db_changes() > 0 ? ST_OK : ST_NONE);
}

static void
container_row(sqlite3_stmt *st, struct container *c)
{
	memset(c, 0, sizeof(*c));
	strlcpy(c->id, db_text(st, 0), sizeof(c->id));
	strlcpy(c->service_id, db_text(st, 1), sizeof(c->service_id));
	strlcpy(c->deployment_id, db_text(st, 2), sizeof(c->deployment_id));
	strlcpy(c->docker_id, db_text(st, 3), sizeof(c->docker_id));
	strlcpy(c->status, db_text(st, 4), sizeof(c->status));
	strlcpy(c->created_at, db_text(st, 5), sizeof(c->created_at));
}

/*
 * A page of the service's containers, newest first, of deployment
 * deployment_id and in status status ("" for any).
 */
int
db_container_list(const char *service_id, const char *deployment_id,
    const char *status, int64_t offset, int64_t limit, struct container **out,
    size_t *n, int64_t *total)
{
	sqlite3_stmt		*st;
	struct container	*rows;
	int			 rc;

	*out = NULL;
	*n = 0;
	if ((st = db_prepare("SELECT count(*) FROM containers WHERE "
	    "service_id = ?1 AND (?2 = '' OR deployment_id = ?2) AND "
	    "(?3 = '' OR status = ?3)")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, service_id);
	db_bind(st, 2, deployment_id);
	db_bind(st, 3, status);
	if ((*total = db_scalar(st)) == -1)
		return (ST_ERROR);
	if ((st = db_prepare("SELECT id, service_id, deployment_id, "
	    "docker_container_id, status, created_at FROM containers WHERE "
	    "service_id = ?1 AND (?2 = '' OR deployment_id = ?2) AND "
	    "(?3 = '' OR status = ?3) ORDER BY created_at DESC, rowid DESC "
	    "LIMIT ?4 OFFSET ?5")) == NULL)
		return (ST_ERROR);
	if ((rows = calloc((size_t)limit, sizeof(*rows))) == NULL) {
		log_warn("%s", __func__);
		return (ST_ERROR);
	}
	db_bind(st, 1, service_id);
	db_bind(st, 2, deployment_id);
	db_bind(st, 3, status);
	sqlite3_bind_int64(st, 4, limit);
	sqlite3_bind_int64(st, 5, offset);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < (size_t)limit)
		container_row(st, &rows[(*n)++]);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		free(rows);
		*n = 0;
		return (ST_ERROR);
	}
	*out = rows;
	return (ST_OK);
}

/*
 * The transitions the reconciler's reports drive (spec 10.3).  Each
 * changes a row only from the state it expects and says ST_NONE when
 * the row is not in it, so that a stale report changes nothing.
 */

/* Deployment id of whichever service. */
int
db_deployment_by_id(const char *id, struct deployment *d)
{
	sqlite3_stmt	*st;
	int		 rc, rv;

	if ((st = db_prepare("SELECT " DEPLOYMENT_COLS " FROM deployments "
	    "WHERE id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rv = deployment_row(st, d);
	else
		rv = db_found(rc);
	sqlite3_reset(st);
	return (rv);
}

/* The service's pending, starting and healthy deployments, oldest first. */
int
db_deployment_inflight(const char *service_id, struct deployment **out,
    size_t *n)
{
	sqlite3_stmt		*st;
	struct deployment	*rows = NULL, *r;
	size_t			 cap = 0;
	int			 rc, err = 0;

	*out = NULL;
	*n = 0;
	if ((st = db_prepare("SELECT " DEPLOYMENT_COLS " FROM deployments "
	    "WHERE service_id = ? AND status IN ('pending', 'starting', "
	    "'healthy') ORDER BY created_at, rowid")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, service_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			if ((r = reallocarray(rows, cap, sizeof(*r))) == NULL) {
				log_warn("%s", __func__);
				err = 1;
				break;
			}
			rows = r;
		}
		if (deployment_row(st, &rows[*n]) != ST_OK) {
			err = 1;
			break;
		}
		(*n)++;
	}
	sqlite3_reset(st);
	if (err || rc != SQLITE_DONE) {
		deployments_free(rows, *n);
		*n = 0;
		return (ST_ERROR);
	}
	*out = rows;
	return (ST_OK);
}

/* MarkStarting: pending -> starting, started_at stamped once. */
int
db_deployment_mark_starting(const char *id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("UPDATE deployments SET status = 'starting', "
	    "started_at = coalesce(started_at, datetime('now')) WHERE "
	    "id = ? AND status = 'pending'")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	return (db_changes() > 0 ? ST_OK : ST_NONE);
}

/* IncrementAttempt of a deployment on its way; the new count in *count. */
int
db_deployment_attempt(const char *id, int64_t *count)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("UPDATE deployments SET attempt_count = "
	    "attempt_count + 1 WHERE id = ? AND status IN ('pending', "
	    "'starting')")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	if (db_changes() == 0)
		return (ST_NONE);
	if ((st = db_prepare("SELECT attempt_count FROM deployments WHERE "
	    "id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	if ((*count = db_scalar(st)) == -1)
		return (ST_ERROR);
	return (ST_OK);
}

/*
 * MarkFailed of a deployment on its way: the reason, the exit code when
 * there is one, the log tail (NULL when empty; the caller cut it).
 */
int
db_deployment_mark_failed(const char *id, const char *reason,
    int has_exit_code, int64_t exit_code, const char *log_tail)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("UPDATE deployments SET status = 'failed', "
	    "failure_reason = ?, exit_code = ?, log_tail = ? WHERE id = ? "
	    "AND status IN ('pending', 'starting')")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, reason);
	if (has_exit_code)
		sqlite3_bind_int64(st, 2, exit_code);
	else
		sqlite3_bind_null(st, 2);
	db_bind(st, 3, log_tail != NULL && *log_tail != '\0' ? log_tail :
	    NULL);
	db_bind(st, 4, id);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	return (db_changes() > 0 ? ST_OK : ST_NONE);
}

/* MarkHealthy of a deployment on its way; the service is the caller's. */
int
db_deployment_mark_healthy(const char *id, int64_t baseline)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("UPDATE deployments SET status = 'healthy', "
	    "healthy_at = datetime('now'), baseline_restart_count = ?, "
	    "failure_reason = NULL WHERE id = ? AND status IN ('pending', "
	    "'starting')")) == NULL)
		return (ST_ERROR);
	sqlite3_bind_int64(st, 1, baseline);
	db_bind(st, 2, id);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	return (db_changes() > 0 ? ST_OK : ST_NONE);
}

int
db_deployment_healthy_count(const char *service_id, int64_t *n)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("SELECT count(*) FROM deployments WHERE "
	    "service_id = ? AND status = 'healthy'")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, service_id);
	if ((*n = db_scalar(st)) == -1)
		return (ST_ERROR);
	return (ST_OK);
}

/* Every container row of the service, oldest first. */
int
db_container_all(const char *service_id, struct container **out, size_t *n)
{
	sqlite3_stmt		*st;
	struct container	*rows = NULL, *r;
	size_t			 cap = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if ((st = db_prepare("SELECT id, service_id, deployment_id, "
	    "docker_container_id, status, created_at FROM containers WHERE "
	    "service_id = ? ORDER BY created_at, rowid")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, service_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			if ((r = reallocarray(rows, cap, sizeof(*r))) == NULL) {
				log_warn("%s", __func__);
				rc = SQLITE_NOMEM;
				break;
			}
			rows = r;
		}
		container_row(st, &rows[(*n)++]);
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

int
db_container_insert(const struct container *c)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("INSERT INTO containers (id, service_id, "
	    "deployment_id, docker_container_id, status, created_at) VALUES "
	    "(?, ?, ?, ?, ?, ?)")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, c->id);
	db_bind(st, 2, c->service_id);
	db_bind(st, 3, c->deployment_id);
	db_bind(st, 4, c->docker_id);
	db_bind(st, 5, c->status);
	db_bind(st, 6, c->created_at);
	return (db_written(db_step_done(st)));
}

int
db_container_delete(const char *id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("DELETE FROM containers WHERE id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	return (db_changes() > 0 ? ST_OK : ST_NONE);
}
