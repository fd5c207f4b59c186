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
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dkd.h"
#include "log.h"
#include "msg.h"
#include "store.h"

/*
 * What the reconciler reports: the transitions of spec 10.3, persisted
 * once checked against the database, and the events that go with them
 * (spec 9.4).  A report about a deployment that is gone or no longer in
 * the state it expects is stale, and ignored: the reconciler acted on a
 * desired state that has changed since, and the push that followed the
 * change sets it right.  A report that does not parse is a broken
 * reconciler (-1).
 */

/* Spec 10.1: a failure's log tail keeps at most this much, its end. */
#define LOG_TAIL_KEEP	10240

/* The Docker side of a service's containers, as last reported. */
struct rec_seen {
	RB_ENTRY(rec_seen)	 entry;
	char			 service_id[UUID_LEN + 1];
	struct msg_rec_container *c;
	size_t			 n;
};

static int	rec_seen_cmp(struct rec_seen *, struct rec_seen *);
RB_HEAD(rec_seen_tree, rec_seen);
RB_PROTOTYPE_STATIC(rec_seen_tree, rec_seen, entry, rec_seen_cmp)
RB_GENERATE_STATIC(rec_seen_tree, rec_seen, entry, rec_seen_cmp)

static struct rec_seen_tree	 rec_seen = RB_INITIALIZER(&rec_seen);
static struct msg_rec_queue	 rec_queue;
static int			 rec_queue_known;

static int
rec_seen_cmp(struct rec_seen *a, struct rec_seen *b)
{
	return (strcmp(a->service_id, b->service_id));
}

static struct rec_seen *
rec_seen_find(const char *service_id)
{
	struct rec_seen	 key;

	if (strlcpy(key.service_id, service_id, sizeof(key.service_id)) >=
	    sizeof(key.service_id))
		return (NULL);
	return (RB_FIND(rec_seen_tree, &rec_seen, &key));
}

static void
rec_seen_forget(const char *service_id)
{
	struct rec_seen	*s;

	if ((s = rec_seen_find(service_id)) == NULL)
		return;
	RB_REMOVE(rec_seen_tree, &rec_seen, s);
	free(s->c);
	free(s);
}

/* Keep the reported containers of a service (copied). */
static void
rec_seen_keep(const struct msg_rec_report *rp)
{
	struct rec_seen	*s;
	struct msg_rec_container *c = NULL;

	rec_seen_forget(rp->service_id);
	if (rp->ncontainers == 0)
		return;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (c = calloc(rp->ncontainers, sizeof(*c))) == NULL) {
		log_warn("%s", __func__);
		free(s);
		return;
	}
	memcpy(c, rp->containers, rp->ncontainers * sizeof(*c));
	strlcpy(s->service_id, rp->service_id, sizeof(s->service_id));
	s->c = c;
	s->n = rp->ncontainers;
	RB_INSERT(rec_seen_tree, &rec_seen, s);
}

/* Docker's state of container docker_id of service_id, or NULL. */
static const struct msg_rec_container *
rec_seen_container(const char *service_id, const char *docker_id)
{
	struct rec_seen	*s;
	size_t		 i;

	if ((s = rec_seen_find(service_id)) == NULL)
		return (NULL);
	for (i = 0; i < s->n; i++)
		if (strcmp(s->c[i].docker_id, docker_id) == 0)
			return (&s->c[i]);
	return (NULL);
}

/* deployment:starting|healthy|failed {deployment_id, service_id, ...} */
static void
publish_deployment_state(const char *project_id, const struct deployment *d,
    const char *status, const char *reason, int64_t attempts)
{
	struct wbuf	 w;

	tree_new(&w);
	tree_map(&w);
	tree_kv_str(&w, "deployment_id", d->id);
	tree_kv_str(&w, "service_id", d->service_id);
	tree_kv_str(&w, "status", status);
	if (reason != NULL) {
		tree_kv_str(&w, "failure_reason", reason);
		tree_kv_int(&w, "attempt_count", attempts);
	}
	tree_end(&w);
	if (strcmp(status, "starting") == 0)
		events_publish(project_id, "deployment:starting", &w, 0);
	else if (strcmp(status, "healthy") == 0)
		events_publish(project_id, "deployment:healthy", &w, 0);
	else
		events_publish(project_id, "deployment:failed", &w, 0);
}

/* The start of a reason, at most MSG_REC_REASON_MAX bytes, into buf. */
static const char *
reason_cut(const char *s, char *buf, size_t size)
{
	size_t	 len = strlen(s);

	if (len < size)
		return (s);
	len = size - 1;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return (buf);
}

/* The end of a log, at most LOG_TAIL_KEEP bytes, whole characters. */
static const char *
log_tail_cut(const char *s)
{
	size_t	 len = strlen(s), off = 0;

	if (len > LOG_TAIL_KEEP) {
		off = len - LOG_TAIL_KEEP;
		while (off < len && ((unsigned char)s[off] & 0xc0) == 0x80)
			off++;
	}
	return (s + off);
}

/*
 * The deployment of a report and its service, when the deployment is
 * still pending, or starting where from_starting; 0, or -1: gone, the
 * database failed, already done (a repeat of the report, quiet) or any
 * other status (stale, logged).
 */
static int
report_deployment(const struct msg_rec_report *rp, int from_starting,
    const char *done, struct deployment *d, struct service *s)
{
	int	 rc;

	if ((rc = db_deployment_by_id(rp->deployment_id, d)) != ST_OK) {
		if (rc == ST_NONE)
			log_debug("reconciler: %s of deployment %s, which is "
			    "gone", msg_rec_report_kind_name(rp->kind),
			    rp->deployment_id);
		return (-1);
	}
	if (db_service_by_id(d->service_id, s) != ST_OK) {
		deployment_free(d);
		return (-1);
	}
	if (strcmp(d->status, "pending") == 0 ||
	    (from_starting && strcmp(d->status, "starting") == 0))
		return (0);
	if (done == NULL || strcmp(d->status, done) != 0)
		log_debug("reconciler: %s of deployment %s, which is %s: "
		    "stale", msg_rec_report_kind_name(rp->kind),
		    rp->deployment_id, d->status);
	deployment_free(d);
	return (-1);
}

/* A transition the database did not take: rolled back and said; 0. */
static int
report_not_recorded(const char *what, struct deployment *d)
{
	store_rollback();
	log_warnx("reconciler: %s of deployment %s not recorded", what, d->id);
	deployment_free(d);
	return (0);
}

/*
 * MarkFailed and what follows, in the caller's transaction: the service
 * fails too when nothing healthy is left.  *flipped: the old status.
 */
static int
deployment_fail_tx(const struct deployment *d, const struct service *s,
    const char *reason, int has_exit, int64_t exit_code, const char *tail,
    int *flipped)
{
	int64_t	 healthy;
	int	 rc;

	*flipped = 0;
	if ((rc = db_deployment_mark_failed(d->id, reason, has_exit,
	    exit_code, tail != NULL ? log_tail_cut(tail) : NULL)) != ST_OK)
		return (rc);
	if (db_deployment_healthy_count(s->id, &healthy) != ST_OK)
		return (ST_ERROR);
	if (healthy == 0 && strcmp(s->status, "failed") != 0 &&
	    strcmp(s->status, "stopped") != 0) {
		if (db_service_set_status(s->id, "failed") == ST_ERROR)
			return (ST_ERROR);
		*flipped = 1;
	}
	return (ST_OK);
}

/* After a change: the events, then the service's desired state again. */
static void
report_fail_publish(const struct deployment *d, const struct service *s,
    const char *reason, int flipped)
{
	struct deployment	 after;
	struct service		 now;

	if (db_deployment_by_id(d->id, &after) == ST_OK) {
		publish_deployment_state(s->project_id, &after, "failed",
		    reason, after.attempt_count);
		deployment_free(&after);
	}
	if (flipped && db_service_by_id(s->id, &now) == ST_OK)
		publish_status(&now, s->status);
	log_info("deployment %s of service %s (%s) failed: %s", d->id,
	    s->name, s->id, reason);
	rec_push(s->id);
}

static int
report_starting(const struct msg_rec_report *rp)
{
	struct deployment	 d;
	struct service		 s;
	int			 rc;

	if (report_deployment(rp, 0, "starting", &d, &s) == -1)
		return (0);
	if ((rc = db_deployment_mark_starting(d.id)) == ST_OK) {
		publish_deployment_state(s.project_id, &d, "starting", NULL, 0);
		rec_push(s.id);
	}
	deployment_free(&d);
	return (0);
}

static int
report_attempt_failed(const struct msg_rec_report *rp)
{
	struct deployment	 d;
	struct service		 s;
	int64_t			 attempts;
	int			 rc, flipped = 0, failed = 0;

	if (report_deployment(rp, 1, NULL, &d, &s) == -1)
		return (0);
	if (store_begin() != ST_OK)
		goto fault;
	if ((rc = db_deployment_attempt(d.id, &attempts)) != ST_OK)
		goto fault;
	/* Spec 10.1: the third failed attempt fails the deployment. */
	if (attempts >= 3) {
		if (deployment_fail_tx(&d, &s, rp->reason, 0, 0, NULL,
		    &flipped) != ST_OK)
			goto fault;
		failed = 1;
	}
	if (store_commit() != ST_OK)
		goto fault;
	if (failed)
		report_fail_publish(&d, &s, rp->reason, flipped);
	else {
		log_info("deployment %s of service %s (%s): attempt %lld "
		    "failed: %s", d.id, s.name, s.id, (long long)attempts,
		    rp->reason);
		rec_push(s.id);
	}
	deployment_free(&d);
	return (0);
fault:
	return (report_not_recorded("attempt", &d));
}

static int
report_failed(const struct msg_rec_report *rp)
{
	struct deployment	 d;
	struct service		 s;
	int			 flipped;

	if (report_deployment(rp, 1, NULL, &d, &s) == -1)
		return (0);
	if (store_begin() != ST_OK ||
	    deployment_fail_tx(&d, &s, rp->reason, rp->has_exit_code,
	    rp->exit_code, rp->log_tail, &flipped) != ST_OK ||
	    store_commit() != ST_OK)
		return (report_not_recorded("failure", &d));
	report_fail_publish(&d, &s, rp->reason, flipped);
	deployment_free(&d);
	return (0);
}

/*
 * MarkHealthy: this deployment is the active one; the one it replaces
 * is superseded (its containers go on the next pass) and the service
 * runs.  Only the first report of it counts: one deployment:healthy.
 */
static int
report_healthy(const struct msg_rec_report *rp)
{
	struct deployment	 d;
	struct service		 s, now;

	if (report_deployment(rp, 1, "healthy", &d, &s) == -1)
		return (0);
	if (store_begin() != ST_OK)
		goto fault;
	if (deployment_supersede_active(&s, d.id) != ST_OK ||
	    db_deployment_mark_healthy(d.id, rp->baseline_restart_count) !=
	    ST_OK ||
	    db_service_set_active(s.id, d.id, strcmp(s.status, "stopped") ==
	    0 ? "stopped" : "running") != ST_OK ||
	    store_commit() != ST_OK)
		goto fault;
	log_info("deployment %s of service %s (%s) is healthy", d.id, s.name,
	    s.id);
	publish_deployment_state(s.project_id, &d, "healthy", NULL, 0);
	if (db_service_by_id(s.id, &now) == ST_OK &&
	    strcmp(now.status, s.status) != 0)
		publish_status(&now, s.status);
	rec_push(s.id);
	deployment_free(&d);
	return (0);
fault:
	return (report_not_recorded("promotion", &d));
}

static int
report_service_status(const struct msg_rec_report *rp)
{
	struct service	 s, now;
	int		 rc;

	if ((rc = db_service_by_id(rp->service_id, &s)) != ST_OK)
		return (0);
	/* A stopped service is the user's decision, not Docker's. */
	if (strcmp(s.status, rp->status) == 0 ||
	    strcmp(s.status, "stopped") == 0)
		return (0);
	if (db_service_set_status(s.id, rp->status) != ST_OK ||
	    db_service_by_id(s.id, &now) != ST_OK)
		return (0);
	log_info("service %s (%s): %s -> %s", s.name, s.id, s.status,
	    now.status);
	publish_status(&now, s.status);
	return (0);
}

static void
publish_container(const struct container *c, const char *project_id,
    int created)
{
	struct wbuf	 w;

	tree_new(&w);
	tree_map(&w);
	tree_kv_str(&w, "service_id", c->service_id);
	tree_kv_str(&w, "container_id", c->id);
	if (created)
		tree_kv_str(&w, "status", c->status);
	tree_end(&w);
	events_publish(project_id, created ? "container:created" :
	    "container:deleted", &w, 0);
}

/*
 * The containers rows of the service made to match what Docker has:
 * one row per reported container of a deployment of the service.
 */
static int
report_containers(const struct msg_rec_report *rp)
{
	struct service		 s;
	struct container	*rows = NULL, c;
	struct deployment	 d;
	struct idlist		 gone = { 0 }, added = { 0 };
	size_t			 n = 0, i, j;
	int			 rc;

	if ((rc = db_service_by_id(rp->service_id, &s)) != ST_OK) {
		rec_seen_forget(rp->service_id);
		return (0);
	}
	rec_seen_keep(rp);
	if (store_begin() != ST_OK ||
	    db_container_all(s.id, &rows, &n) != ST_OK)
		goto fault;
	for (i = 0; i < n; i++) {
		for (j = 0; j < rp->ncontainers; j++)
			if (strcmp(rows[i].docker_id,
			    rp->containers[j].docker_id) == 0)
				break;
		if (j < rp->ncontainers)
			continue;
		if (db_container_delete(rows[i].id) == ST_ERROR ||
		    idlist_add(&gone, rows[i].id) != ST_OK)
			goto fault;
	}
	for (j = 0; j < rp->ncontainers; j++) {
		for (i = 0; i < n; i++)
			if (strcmp(rows[i].docker_id,
			    rp->containers[j].docker_id) == 0)
				break;
		if (i < n)
			continue;
		/* Only a deployment of this service has rows. */
		if ((rc = db_deployment_get(s.id,
		    rp->containers[j].deployment_id, &d)) == ST_NONE)
			continue;
		if (rc != ST_OK)
			goto fault;
		deployment_free(&d);
		memset(&c, 0, sizeof(c));
		uuid_new(c.id);
		strlcpy(c.service_id, s.id, sizeof(c.service_id));
		strlcpy(c.deployment_id, rp->containers[j].deployment_id,
		    sizeof(c.deployment_id));
		strlcpy(c.docker_id, rp->containers[j].docker_id,
		    sizeof(c.docker_id));
		strlcpy(c.status, "running", sizeof(c.status));
		dbtime(time(NULL), c.created_at);
		if (db_container_insert(&c) != ST_OK ||
		    idlist_add(&added, c.id) != ST_OK)
			goto fault;
	}
	if (store_commit() != ST_OK)
		goto fault;
	for (i = 0; i < gone.n; i++) {
		memset(&c, 0, sizeof(c));
		strlcpy(c.id, gone.ids[i], sizeof(c.id));
		strlcpy(c.service_id, s.id, sizeof(c.service_id));
		publish_container(&c, s.project_id, 0);
	}
	for (i = 0; i < added.n; i++) {
		memset(&c, 0, sizeof(c));
		strlcpy(c.id, added.ids[i], sizeof(c.id));
		strlcpy(c.service_id, s.id, sizeof(c.service_id));
		strlcpy(c.status, "running", sizeof(c.status));
		publish_container(&c, s.project_id, 1);
	}
	if (gone.n > 0 || added.n > 0)
		log_debug("service %s: %zu container row%s added, %zu removed",
		    s.id, added.n, added.n == 1 ? "" : "s", gone.n);
	free(rows);
	idlist_free(&gone);
	idlist_free(&added);
	return (0);
fault:
	store_rollback();
	log_warnx("reconciler: containers of service %s not recorded", s.id);
	free(rows);
	idlist_free(&gone);
	idlist_free(&added);
	return (0);
}

/* IMSG_REC_REPORT; -1 when it does not parse. */
int
rec_report(struct imsg *imsg)
{
	struct msg_rec_report	 rp;
	struct rbuf		 r;
	char			 reason[MSG_REC_REASON_MAX + 1];
	int			 rv = 0;

	rbuf_init(&r, imsg->data, imsg->len);
	if (msg_rec_report_get(&r, &rp) == -1)
		return (-1);
	if (rp.reason != NULL)
		rp.reason = reason_cut(rp.reason, reason, sizeof(reason));
	switch (rp.kind) {
	case REC_REPORT_STARTING:
		rv = report_starting(&rp);
		break;
	case REC_REPORT_ATTEMPT_FAILED:
		rv = report_attempt_failed(&rp);
		break;
	case REC_REPORT_FAILED:
		rv = report_failed(&rp);
		break;
	case REC_REPORT_HEALTHY:
		rv = report_healthy(&rp);
		break;
	case REC_REPORT_SERVICE_STATUS:
		rv = report_service_status(&rp);
		break;
	case REC_REPORT_CONTAINERS:
		rv = report_containers(&rp);
		break;
	}
	msg_rec_report_free(&rp);
	return (rv);
}

/* IMSG_REC_QUEUE: kept for dkctl status. */
int
rec_queue_update(struct imsg *imsg)
{
	struct rbuf	 r;

	rbuf_init(&r, imsg->data, imsg->len);
	if (msg_rec_queue_get(&r, &rec_queue) == -1)
		return (-1);
	rec_queue_known = 1;
	return (0);
}

/* The last queue report of the running reconciler, or -1. */
int
rec_queue_get(struct msg_rec_queue *q)
{
	if (!rec_queue_known)
		return (-1);
	*q = rec_queue;
	return (0);
}

/* A new reconciler: what the old one said of its queue is void. */
void
rec_queue_reset(void)
{
	rec_queue_known = 0;
	memset(&rec_queue, 0, sizeof(rec_queue));
}

/*
 * dkctl show containers PROJECT/SERVICE: the master's rows with Docker's
 * view of them, then what Docker has that has no row yet.
 */
void
op_ctl_containers(struct request *req)
{
	struct op_args			*a = &req->args;
	const struct msg_rec_container	*mc;
	struct project			 proj;
	struct service			 s;
	struct container		*rows = NULL;
	struct rec_seen			*seen;
	struct wbuf			 w;
	size_t				 n = 0, i, j;

	if (project_or_reply(req, a->str[SERVICE_PID], &proj) == -1 ||
	    service_or_reply(req, &proj, a->str[SERVICE_SID], &s) == -1)
		return;
	if (db_container_all(s.id, &rows, &n) != ST_OK) {
		reply_internal(req);
		return;
	}
	tree_new(&w);
	tree_map(&w);
	tree_kv_str(&w, "service_id", s.id);
	tree_kv_str(&w, "service", s.name);
	tree_key(&w, "data");
	tree_array(&w);
	for (i = 0; i < n; i++) {
		mc = rec_seen_container(s.id, rows[i].docker_id);
		tree_map(&w);
		tree_kv_str(&w, "id", rows[i].id);
		tree_kv_str(&w, "docker_container_id", rows[i].docker_id);
		tree_kv_str(&w, "deployment_id", rows[i].deployment_id);
		tree_kv_str(&w, "status", rows[i].status);
		tree_key(&w, "replica");
		if (mc != NULL)
			tree_int(&w, mc->replica);
		else
			tree_null(&w);
		tree_kv_str(&w, "docker_state", mc != NULL ? mc->state :
		    "unknown");
		tree_time(&w, "created_at", rows[i].created_at);
		tree_end(&w);
	}
	/* Seen by Docker, with no row (yet, or of a deployment gone). */
	if ((seen = rec_seen_find(s.id)) != NULL)
		for (j = 0; j < seen->n; j++) {
			for (i = 0; i < n; i++)
				if (strcmp(rows[i].docker_id,
				    seen->c[j].docker_id) == 0)
					break;
			if (i < n)
				continue;
			tree_map(&w);
			tree_key(&w, "id");
			tree_null(&w);
			tree_kv_str(&w, "docker_container_id",
			    seen->c[j].docker_id);
			tree_kv_str(&w, "deployment_id",
			    seen->c[j].deployment_id);
			tree_key(&w, "status");
			tree_null(&w);
			tree_kv_int(&w, "replica", seen->c[j].replica);
			tree_kv_str(&w, "docker_state", seen->c[j].state);
			tree_end(&w);
		}
	tree_end(&w);
	tree_end(&w);
	free(rows);
	reply_tree(req, 200, &w);
}

/*
 * dkctl reconcile [PROJECT[/SERVICE]]: everything, a project's services
 * or one service, its desired state pushed and a pass asked for.
 */
void
op_ctl_reconcile(struct request *req)
{
	struct op_args		*a = &req->args;
	struct project		 proj;
	struct service		 s;
	struct service_ref	*refs = NULL;
	struct wbuf		 w;
	size_t			 nrefs = 0, i;
	int64_t			 count = 0;
	int			 rc = 0;

	if (!a->present[CTL_RECONCILE_PROJECT] ||
	    a->str[CTL_RECONCILE_PROJECT][0] == '\0') {
		rc = rec_reconcile(NULL);
		count = -1;
	} else {
		if (project_or_reply(req, a->str[CTL_RECONCILE_PROJECT],
		    &proj) == -1)
			return;
		if (a->present[CTL_RECONCILE_SERVICE] &&
		    a->str[CTL_RECONCILE_SERVICE][0] != '\0') {
			if (service_or_reply(req, &proj,
			    a->str[CTL_RECONCILE_SERVICE], &s) == -1)
				return;
			rc = rec_reconcile(s.id);
			count = 1;
		} else {
			if (db_service_refs(proj.id, &refs, &nrefs) !=
			    ST_OK) {
				reply_internal(req);
				return;
			}
			for (i = 0; rc == 0 && i < nrefs; i++)
				rc = rec_reconcile(refs[i].id);
			count = (int64_t)nrefs;
			free(refs);
		}
	}
	if (rc == -1) {
		reply_error(req, 503, "The reconciler is not running.");
		return;
	}
	tree_new(&w);
	tree_map(&w);
	tree_key(&w, "services");
	if (count < 0)
		tree_str(&w, "all");
	else
		tree_int(&w, count);
	tree_end(&w);
	reply_tree(req, 202, &w);
}
