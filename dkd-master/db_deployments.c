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
deployment_row(sqlite3_stmt *st, void *arg)
{
	struct deployment	*d = arg;
	int			 err = 0;

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

static void
deployment_clear(void *d)
{
	deployment_free(d);
}

static const struct db_kind deployment_kind = {
	sizeof(struct deployment), deployment_row, deployment_clear
};

void
deployments_free(struct deployment *rows, size_t n)
{
	db_rows_free(&deployment_kind, rows, n);
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
	return (db_run("UPDATE deployments SET status = 'cancelled' WHERE "
	    "service_id = ? AND id != ? AND status IN ('pending', 'starting')",
	    DB_ARGS(service_id, except_id)));
}

/* Deployment id of service service_id; ST_NONE when it is not one. */
int
db_deployment_get(const char *service_id, const char *id,
    struct deployment *d)
{
	return (db_get("SELECT " DEPLOYMENT_COLS " FROM deployments WHERE "
	    "id = ? AND service_id = ?", DB_ARGS(id, service_id),
	    &deployment_kind, d));
}

/* A page of the service's deployments, newest first. */
int
db_deployment_list(const char *service_id, int64_t offset, int64_t limit,
    struct deployment **out, size_t *n, int64_t *total)
{
	return (db_page("SELECT count(*) FROM deployments WHERE "
	    "service_id = ?", "SELECT " DEPLOYMENT_COLS " FROM deployments "
	    "WHERE service_id = ? ORDER BY created_at DESC, rowid DESC "
	    "LIMIT ? OFFSET ?", DB_ARGS(service_id), offset, limit,
	    &deployment_kind, out, n, total));
}

/*
 * The service's most recent deployment that did not fail and was not
 * cancelled: what a redeploy starts from.  ST_NONE when there is none.
 */
int
db_deployment_latest_live(const char *service_id, struct deployment *d)
{
	return (db_get("SELECT " DEPLOYMENT_COLS " FROM deployments WHERE "
	    "service_id = ? AND status NOT IN ('cancelled', 'failed') "
	    "ORDER BY created_at DESC, rowid DESC LIMIT 1",
	    DB_ARGS(service_id), &deployment_kind, d));
}

int
db_deployment_set_status(const char *id, const char *status)
{
	return (db_write("UPDATE deployments SET status = ? WHERE id = ?",
	    DB_ARGS(status, id)));
}

/* Healthy again (a rollback): healthy_at stays if it was ever set. */
int
db_deployment_make_healthy(const char *id)
{
	return (db_write("UPDATE deployments SET status = 'healthy', "
	    "healthy_at = coalesce(healthy_at, datetime('now')), "
	    "failure_reason = NULL WHERE id = ?", DB_ARGS(id)));
}

static int
container_row(sqlite3_stmt *st, void *arg)
{
	struct container	*c = arg;

	memset(c, 0, sizeof(*c));
	strlcpy(c->id, db_text(st, 0), sizeof(c->id));
	strlcpy(c->service_id, db_text(st, 1), sizeof(c->service_id));
	strlcpy(c->deployment_id, db_text(st, 2), sizeof(c->deployment_id));
	strlcpy(c->docker_id, db_text(st, 3), sizeof(c->docker_id));
	strlcpy(c->status, db_text(st, 4), sizeof(c->status));
	strlcpy(c->created_at, db_text(st, 5), sizeof(c->created_at));
	return (ST_OK);
}

static const struct db_kind container_kind = {
	sizeof(struct container), container_row, NULL
};

/*
 * A page of the service's containers, newest first, of deployment
 * deployment_id and in status status ("" for any).
 */
int
db_container_list(const char *service_id, const char *deployment_id,
    const char *status, int64_t offset, int64_t limit, struct container **out,
    size_t *n, int64_t *total)
{
	return (db_page("SELECT count(*) FROM containers WHERE "
	    "service_id = ?1 AND (?2 = '' OR deployment_id = ?2) AND "
	    "(?3 = '' OR status = ?3)", "SELECT id, service_id, "
	    "deployment_id, docker_container_id, status, created_at FROM "
	    "containers WHERE service_id = ?1 AND (?2 = '' OR "
	    "deployment_id = ?2) AND (?3 = '' OR status = ?3) "
	    "ORDER BY created_at DESC, rowid DESC LIMIT ?4 OFFSET ?5",
	    DB_ARGS(service_id, deployment_id, status), offset, limit,
	    &container_kind, out, n, total));
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
	return (db_get("SELECT " DEPLOYMENT_COLS " FROM deployments WHERE "
	    "id = ?", DB_ARGS(id), &deployment_kind, d));
}

/* The service's pending, starting and healthy deployments, oldest first. */
int
db_deployment_inflight(const char *service_id, struct deployment **out,
    size_t *n)
{
	return (db_list("SELECT " DEPLOYMENT_COLS " FROM deployments WHERE "
	    "service_id = ? AND status IN ('pending', 'starting', 'healthy') "
	    "ORDER BY created_at, rowid", DB_ARGS(service_id),
	    &deployment_kind, out, n));
}

/* MarkStarting: pending -> starting, started_at stamped once. */
int
db_deployment_mark_starting(const char *id)
{
	return (db_write("UPDATE deployments SET status = 'starting', "
	    "started_at = coalesce(started_at, datetime('now')) WHERE id = ? "
	    "AND status = 'pending'", DB_ARGS(id)));
}

/* IncrementAttempt of a deployment on its way; the new count in *count. */
int
db_deployment_attempt(const char *id, int64_t *count)
{
	int	 rc;

	if ((rc = db_write("UPDATE deployments SET attempt_count = "
	    "attempt_count + 1 WHERE id = ? AND status IN ('pending', "
	    "'starting')", DB_ARGS(id))) != ST_OK)
		return (rc);
	return (db_count("SELECT attempt_count FROM deployments WHERE id = ?",
	    DB_ARGS(id), count));
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
	return (db_changed(db_step_done(st)));
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
	return (db_changed(db_step_done(st)));
}

int
db_deployment_healthy_count(const char *service_id, int64_t *n)
{
	return (db_count("SELECT count(*) FROM deployments WHERE "
	    "service_id = ? AND status = 'healthy'", DB_ARGS(service_id), n));
}

/* Every container row of the service, oldest first. */
int
db_container_all(const char *service_id, struct container **out, size_t *n)
{
	return (db_list("SELECT id, service_id, deployment_id, "
	    "docker_container_id, status, created_at FROM containers WHERE "
	    "service_id = ? ORDER BY created_at, rowid", DB_ARGS(service_id),
	    &container_kind, out, n));
}

int
db_container_insert(const struct container *c)
{
	return (db_write("INSERT INTO containers (id, service_id, "
	    "deployment_id, docker_container_id, status, created_at) VALUES "
	    "(?, ?, ?, ?, ?, ?)", DB_ARGS(c->id, c->service_id,
	    c->deployment_id, c->docker_id, c->status, c->created_at)));
}

int
db_container_delete(const char *id)
{
	return (db_write("DELETE FROM containers WHERE id = ?", DB_ARGS(id)));
}
