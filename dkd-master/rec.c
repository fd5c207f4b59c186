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

#include <event2/event.h>

#include "dkd.h"
#include "log.h"
#include "msg.h"
#include "store.h"
#include "tval.h"

/*
 * The master's side of the reconciler channel (RECONCILER-PROTOCOL.md).
 * The database says what should run: each service's desired state goes
 * to the reconciler whenever it changes, and all of it in a full resync
 * when the reconciler becomes ready, every reconcile-interval and after
 * a project comes or goes.  What cannot be sent now (the reconciler is
 * restarting) is not lost: its READY brings a full resync.
 */

/* The payloads of services deleted in the open transaction. */
struct rec_gone {
	struct wbuf	*v;
	size_t		 n;
};

static char		 rec_instance[UUID_LEN + 1];
static int64_t		 rec_sequence;
static struct event	*rec_timer;
static struct rec_gone	 rec_gone;

static int	rec_running(void);
static int	rec_instance_load(void);
static void	rec_tick(int, short, void *);
static void	rec_timer_arm(void);
static int	rec_desired_build(const char *, int, struct wbuf *);
static int	rec_send(uint32_t, struct wbuf *);

/* Is there a reconciler that has said READY? */
static int
rec_running(void)
{
	const char	*state;
	time_t		 started;
	unsigned	 restarts;
	pid_t		 pid;

	supervisor_status(PROC_RECONCILER, &pid, &started, &restarts, &state);
	return (strcmp(state, "running") == 0);
}

/*
 * The instance id labels everything this dkd creates in Docker, so that
 * several of them on one engine never touch each other's objects.  It
 * is made once and kept in system_settings.
 */
static int
rec_instance_load(void)
{
	char	 id[UUID_LEN + 2];
	int	 rc;

	if (rec_instance[0] != '\0')
		return (0);
	rc = db_setting_get("instance_id", id, sizeof(id));
	if (rc == ST_OK && strlen(id) == UUID_LEN) {
		strlcpy(rec_instance, id, sizeof(rec_instance));
		return (0);
	}
	if (rc == ST_ERROR)
		return (-1);
	if (rc == ST_OK)
		log_warnx("instance_id \"%s\" is not a UUID; making a new one",
		    id);
	uuid_new(id);
	if (db_setting_set("instance_id", id) != ST_OK) {
		log_warnx("cannot store the instance id");
		return (-1);
	}
	strlcpy(rec_instance, id, sizeof(rec_instance));
	log_info("instance id %s", rec_instance);
	return (0);
}

/* The instance id, "" before the first resync. */
const char *
rec_instance_id(void)
{
	return (rec_instance);
}

static int
rec_send(uint32_t type, struct wbuf *w)
{
	if (w->error) {
		log_warnx("reconciler message %u: too large or out of memory",
		    type);
		return (-1);
	}
	return (supervisor_send(PROC_RECONCILER, type, 0, w));
}

/* Release a payload that may hold env var values. */
static void
rec_wbuf_free(struct wbuf *w)
{
	if (w->buf != NULL)
		explicit_bzero(w->buf, w->len);
	wbuf_free(w);
}

/* A deployment's stored trees into d; the strings stay in tv[0..2]. */
static void
rec_deployment_fill(const struct deployment *dep, const char *active_id,
    struct msg_rec_deployment *d, struct tval *tv)
{
	const struct tval	*e, *p, *v;
	size_t			 i, n;

	memset(d, 0, sizeof(*d));
	strlcpy(d->id, dep->id, sizeof(d->id));
	strlcpy(d->status, dep->status, sizeof(d->status));
	d->image = dep->image;
	d->replicas = dep->replicas < 1 ? 1 :
	    dep->replicas > MSG_REC_REPLICAS_MAX ? MSG_REC_REPLICAS_MAX :
	    dep->replicas;
	d->attempt_count = dep->attempt_count < 0 ? 0 : dep->attempt_count;
	d->baseline_restart_count = dep->baseline_restart_count < 0 ? 0 :
	    dep->baseline_restart_count;
	d->active = strcmp(dep->id, active_id) == 0;

	/* Stored values were checked when they were made; skip the odd. */
	blob_tval(&dep->env_vars, &tv[0]);
	e = &tv[0];
	if (e->tag == TREE_MAP && e->n > 0 &&
	    (d->env = calloc(e->n, sizeof(*d->env))) != NULL)
		for (i = 0; i < e->n; i++) {
			if (e->items[i].tag != TREE_STR ||
			    e->keys[i][0] == '\0' ||
			    strchr(e->keys[i], '=') != NULL)
				continue;
			d->env[d->nenv].key = e->keys[i];
			d->env[d->nenv++].value = e->items[i].s;
		}

	blob_tval(&dep->ports, &tv[1]);
	p = &tv[1];
	if (p->tag == TREE_ARRAY && p->n > 0 &&
	    (d->ports = calloc(p->n, sizeof(*d->ports))) != NULL)
		for (i = 0; i < p->n; i++) {
			n = d->nports;
			if ((v = tval_get(&p->items[i], "container_port")) ==
			    NULL || v->tag != TREE_INT || v->i < 1 ||
			    v->i > 65535)
				continue;
			d->ports[n].container_port = v->i;
			if ((v = tval_get(&p->items[i], "host_port")) !=
			    NULL && v->tag == TREE_INT && v->i >= 1 &&
			    v->i <= 65535)
				d->ports[n].host_port = v->i;
			strlcpy(d->ports[n].protocol, "tcp",
			    sizeof(d->ports[n].protocol));
			if ((v = tval_get(&p->items[i], "protocol")) !=
			    NULL && v->tag == TREE_STR &&
			    strcmp(v->s, "udp") == 0)
				strlcpy(d->ports[n].protocol, "udp",
				    sizeof(d->ports[n].protocol));
			d->nports++;
		}

	blob_tval(&dep->resources, &tv[2]);
	if ((v = tval_get(&tv[2], "memory_mb")) != NULL &&
	    v->tag == TREE_INT && v->i > 0 && v->i <= INT32_MAX)
		d->memory_mb = v->i;
	if ((v = tval_get(&tv[2], "cpu_shares")) != NULL &&
	    v->tag == TREE_INT && v->i > 0 && v->i <= INT32_MAX)
		d->cpu_shares = v->i;
}

/*
 * The DESIRED payload of service_id from the database into w; with
 * deleted, the one that tears it down (its row must still be there).
 * ST_NONE when the service (or its project) is not there.
 */
static int
rec_desired_build(const char *service_id, int deleted, struct wbuf *w)
{
	struct msg_rec_desired	 ds;
	struct msg_rec_deployment *md = NULL;
	struct msg_rec_volume	*mv = NULL;
	struct service		 s;
	struct project		 p;
	struct deployment	*deps = NULL;
	struct tval		*tv = NULL, vt;
	struct blob		 vb = { 0 };
	const char		*name, *path;
	size_t			 n = 0, i;
	int			 rc;

	memset(&vt, 0, sizeof(vt));
	if ((rc = db_service_by_id(service_id, &s)) != ST_OK)
		return (rc);
	if ((rc = db_project_get(s.project_id, &p)) != ST_OK)
		return (rc);
	if (p.slug[0] == '\0' || strlen(p.slug) > MSG_SLUG_MAX ||
	    s.name[0] == '\0') {
		log_warnx("service %s: no project slug or no name; not sent "
		    "to the reconciler", s.id);
		return (ST_NONE);
	}
	if (!deleted &&
	    (rc = db_deployment_inflight(s.id, &deps, &n)) != ST_OK)
		return (rc);
	if ((rc = db_service_volumes(s.id, &vb)) != ST_OK)
		goto done;
	rc = ST_ERROR;
	if (n > 0 && ((md = calloc(n, sizeof(*md))) == NULL ||
	    (tv = calloc(3 * n, sizeof(*tv))) == NULL)) {
		log_warn("%s", __func__);
		goto done;
	}

	memset(&ds, 0, sizeof(ds));
	strlcpy(ds.service_id, s.id, sizeof(ds.service_id));
	strlcpy(ds.project_id, p.id, sizeof(ds.project_id));
	strlcpy(ds.project_slug, p.slug, sizeof(ds.project_slug));
	strlcpy(ds.service_name, s.name, sizeof(ds.service_name));
	ds.stopped = strcmp(s.status, "stopped") == 0;
	ds.deleted = deleted;
	for (i = 0; i < n; i++) {
		if (deps[i].image[0] == '\0')
			continue;
		rec_deployment_fill(&deps[i], s.active_id,
		    &md[ds.ndeployments], &tv[3 * i]);
		ds.ndeployments++;
	}
	ds.deployments = md;

	if (vb.p != NULL) {
		blob_tval(&vb, &vt);
		if (vt.tag == TREE_ARRAY && vt.n > 0 &&
		    (mv = calloc(vt.n, sizeof(*mv))) == NULL) {
			log_warn("%s", __func__);
			goto done;
		}
		for (i = 0; vt.tag == TREE_ARRAY && i < vt.n; i++) {
			name = tval_str(&vt.items[i], "name");
			path = tval_str(&vt.items[i], "path");
			if (name == NULL || *name == '\0' ||
			    strlen(name) > MSG_NAME_MAX || path == NULL ||
			    *path != '/' || strlen(path) > MSG_PATH_MAX)
				continue;
			mv[ds.nvolumes].name = name;
			mv[ds.nvolumes++].path = path;
		}
		ds.volumes = mv;
	}
	msg_rec_desired_put(w, &ds);
	rc = ST_OK;
done:
	for (i = 0; md != NULL && i < n; i++) {
		free(md[i].env);
		free(md[i].ports);
	}
	for (i = 0; tv != NULL && i < 3 * n; i++)
		tval_free(&tv[i]);
	free(md);
	free(tv);
	free(mv);
	tval_free(&vt);
	blob_free(&vb);
	deployments_free(deps, n);
	return (rc);
}

/*
 * Push service_id's desired state: the reconciler takes it and runs a
 * pass over that service.  Nothing to do while it is not there: its
 * READY brings everything.
 */
void
rec_push(const char *service_id)
{
	struct wbuf	 w;
	int		 rc;

	if (!rec_running() || rec_instance[0] == '\0')
		return;
	wbuf_init(&w, DKD_IMSG_MAX_INTERNAL);
	if ((rc = rec_desired_build(service_id, 0, &w)) == ST_OK) {
		if (rec_send(IMSG_REC_DESIRED, &w) == 0)
			log_debug("desired state of service %s sent",
			    service_id);
	} else if (rc == ST_NONE)
		log_debug("service %s is gone; the next resync sweeps it",
		    service_id);
	rec_wbuf_free(&w);
}

/*
 * A full resync: SYNC_BEGIN, one DESIRED per service, SYNC_END with
 * every project.  Everything is read before anything is sent: a
 * service left out would count as an orphan and be torn down.
 */
void
rec_resync(void)
{
	struct msg_rec_sync_begin sb;
	struct msg_rec_sync_end	 se;
	struct msg_rec_project	*mp = NULL;
	struct project_ref	*projects = NULL;
	struct idlist		 ids = { 0 };
	struct wbuf		*desired = NULL, w;
	struct timespec		 t0, t1;
	size_t			 nprojects = 0, ndesired = 0, i;
	int			 rc, ok = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rec_timer_arm();
	if (!rec_running())
		return;
	if (rec_instance_load() == -1) {
		log_warnx("no instance id; resync skipped");
		return;
	}
	if (db_service_ids(&ids) != ST_OK ||
	    db_project_refs(&projects, &nprojects) != ST_OK)
		goto done;
	if (ids.n > 0 && (desired = calloc(ids.n, sizeof(*desired))) == NULL) {
		log_warn("%s", __func__);
		goto done;
	}
	for (i = 0; i < ids.n; i++) {
		wbuf_init(&desired[ndesired], DKD_IMSG_MAX_INTERNAL);
		rc = rec_desired_build(ids.ids[i], 0, &desired[ndesired]);
		if (rc == ST_OK && !desired[ndesired].error)
			ndesired++;
		else {
			rec_wbuf_free(&desired[ndesired]);
			if (rc != ST_NONE)
				goto done;
		}
	}
	if (nprojects > 0 && (mp = calloc(nprojects, sizeof(*mp))) == NULL) {
		log_warn("%s", __func__);
		goto done;
	}
	memset(&se, 0, sizeof(se));
	for (i = 0; i < nprojects; i++) {
		if (projects[i].slug[0] == '\0' ||
		    strlen(projects[i].slug) > MSG_SLUG_MAX)
			continue;
		strlcpy(mp[se.nprojects].id, projects[i].id,
		    sizeof(mp[se.nprojects].id));
		strlcpy(mp[se.nprojects].slug, projects[i].slug,
		    sizeof(mp[se.nprojects].slug));
		se.nprojects++;
	}
	se.projects = mp;

	memset(&sb, 0, sizeof(sb));
	strlcpy(sb.instance, rec_instance, sizeof(sb.instance));
	sb.sequence = se.sequence = ++rec_sequence;
	wbuf_init(&w, DKD_IMSG_MAX_INTERNAL);
	msg_rec_sync_begin_put(&w, &sb);
	rc = rec_send(IMSG_REC_SYNC_BEGIN, &w);
	wbuf_free(&w);
	for (i = 0; rc == 0 && i < ndesired; i++)
		rc = rec_send(IMSG_REC_DESIRED, &desired[i]);
	if (rc == 0) {
		wbuf_init(&w, DKD_IMSG_MAX_INTERNAL);
		msg_rec_sync_end_put(&w, &se);
		rc = rec_send(IMSG_REC_SYNC_END, &w);
		wbuf_free(&w);
	}
	if (rc == 0) {
		ok = 1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_debug("resync %lld: %zu services, %zu projects, sent in "
		    "%lld us", (long long)sb.sequence, ndesired, se.nprojects,
		    (long long)((t1.tv_sec - t0.tv_sec) * 1000000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000));
	}
done:
	if (!ok)
		log_warnx("full resync of the reconciler failed; next try in "
		    "one reconcile-interval");
	for (i = 0; i < ndesired; i++)
		rec_wbuf_free(&desired[i]);
	free(desired);
	free(mp);
	free(projects);
	idlist_free(&ids);
}

/* Every reconcile-interval, counted from the last full resync. */
static void
rec_timer_arm(void)
{
	struct timeval	 tv;
	uint64_t	 ms = env->conf.reconcile_interval_ms;

	if (rec_timer == NULL &&
	    (rec_timer = evtimer_new(env->base, rec_tick, NULL)) == NULL) {
		log_warn("%s", __func__);
		return;
	}
	if (ms == 0)
		ms = 30 * 1000;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(rec_timer, &tv);
}

static void
rec_tick(int fd, short event, void *arg)
{
	if (env->stopping)
		return;
	rec_resync();
}

/* The reconciler said READY (every start of it): everything, now. */
void
rec_ready(void)
{
	rec_queue_reset();
	logs_marks_resend();
	rec_resync();
}

/*
 * Make the reconciler look at service_id (its desired state), or at
 * everything when it is NULL (a full resync).
 */
void
rec_trigger(const char *service_id)
{
	if (service_id == NULL)
		rec_resync();
	else
		rec_push(service_id);
}

/*
 * Deleting a service: its teardown payload is read now, inside the
 * transaction that deletes it, and sent once that commits.
 */
int
rec_gone_stage(const char *service_id)
{
	struct wbuf	*v, w;
	int		 rc;

	wbuf_init(&w, DKD_IMSG_MAX_INTERNAL);
	if ((rc = rec_desired_build(service_id, 1, &w)) != ST_OK ||
	    w.error) {
		rec_wbuf_free(&w);
		/* Not fatal: the next resync sweeps it as an orphan. */
		return (rc == ST_ERROR ? ST_ERROR : ST_OK);
	}
	if ((v = reallocarray(rec_gone.v, rec_gone.n + 1, sizeof(*v))) ==
	    NULL) {
		log_warn("%s", __func__);
		rec_wbuf_free(&w);
		return (ST_ERROR);
	}
	rec_gone.v = v;
	rec_gone.v[rec_gone.n++] = w;
	return (ST_OK);
}

/* The transaction committed: tear them down. */
void
rec_gone_flush(void)
{
	size_t	 i;

	for (i = 0; i < rec_gone.n; i++) {
		if (rec_running() && rec_instance[0] != '\0')
			(void)rec_send(IMSG_REC_DESIRED, &rec_gone.v[i]);
		rec_wbuf_free(&rec_gone.v[i]);
	}
	free(rec_gone.v);
	rec_gone.v = NULL;
	rec_gone.n = 0;
}

/* The transaction rolled back: nothing is gone. */
void
rec_gone_drop(void)
{
	size_t	 i;

	for (i = 0; i < rec_gone.n; i++)
		rec_wbuf_free(&rec_gone.v[i]);
	free(rec_gone.v);
	rec_gone.v = NULL;
	rec_gone.n = 0;
}

/* IMSG_REC_RECONCILE: a pass now, over service_id or everything. */
int
rec_reconcile(const char *service_id)
{
	struct wbuf	 w;
	int		 rc;

	if (!rec_running())
		return (-1);
	if (service_id == NULL)
		rec_resync();
	else
		rec_push(service_id);
	wbuf_init(&w, DKD_IMSG_MAX_INTERNAL);
	msg_reconcile_put(&w, service_id);
	rc = rec_send(IMSG_REC_RECONCILE, &w);
	wbuf_free(&w);
	return (rc);
}

/* IMSG_REC_RECONCILE_ACK; -1 if malformed. */
int
rec_ack(struct imsg *imsg)
{
	struct rbuf	 r;
	char		 service_id[MSG_SERVICE_ID_MAX + 1];

	rbuf_init(&r, imsg->data, imsg->len);
	if (msg_reconcile_get(&r, service_id, sizeof(service_id)) == -1)
		return (-1);
	log_debug("reconciler took the request for %s",
	    service_id[0] != '\0' ? service_id : "every service");
	return (0);
}
