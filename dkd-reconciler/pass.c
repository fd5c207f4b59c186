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
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "log.h"
#include "reconciler.h"
#include "worker.h"

/*
 * One pass over one service (spec 13.2), as a chain of steps on the
 * event loop; each step starts its driver calls side by side and the
 * next runs when the last of them has answered:
 *
 *   refresh   list the service's containers, unless the view kept up
 *             to date by the events stream can be trusted;
 *   inspect   the containers that changed since they were last seen;
 *   plan      the desired slots; images of new deployments (image.c);
 *   prepare   the project network and the service's volumes;
 *   act       tear down what is not desired, create and start what is
 *             missing, both at once (the cut-over overlaps);
 *   finish    readiness gate, service status, reports (with a log
 *             tail for a failure), and when to look again.
 *
 * Desired state that arrives meanwhile waits in svc->want_next.
 */

enum dep_plan {
	DP_OK,		/* create what is missing */
	DP_WAIT,	/* keep what exists, create nothing yet */
	DP_EXCLUDED,	/* not desired this pass: its image failed */
};

struct slot {
	const struct msg_rec_deployment	*dep;
	int				 replica;
	struct ctr			*ctr;
};

struct pass {
	struct svc		*svc;
	struct queue		*q;
	char			 key[DRV_UUID_MAX + 1];
	int			 pending;
	void			(*next)(struct pass *);
	int			 error;
	uint64_t		 requeue_ms;
	uint64_t		 list_seq;
	uint64_t		 calls_at_start;
	uint64_t		 started_ms;
	enum dep_plan		*plan;		/* per deployment */
	struct slot		*slots;
	size_t			 nslots;
	int			 changed;	/* created or removed */
	int			 no_create;	/* no network or volume */
	char			**attempted;	/* reported */
	size_t			 nattempted;
};

/* A driver call of a pass about one container or slot. */
struct op {
	struct pass			*p;
	struct ctr			*c;
	const struct msg_rec_deployment	*d;
	int				 replica;
	char				 volume[DRV_NAME_MAX];
};

static void	step_refresh(struct pass *);
static void	step_inspect(struct pass *);
static void	step_plan(struct pass *);
static void	step_prepare(struct pass *);
static void	step_act(struct pass *);
static void	step_finish(struct pass *);
static void	step_volumes_gone(struct pass *);
static void	step_done(struct pass *);
static void	pass_wait(struct pass *, void (*)(struct pass *));
static void	pass_answer(struct pass *);

static struct depnote *
note_get(struct svc *s, const char *deployment_id)
{
	struct depnote	*n;

	TAILQ_FOREACH(n, &s->notes, entry)
		if (strcmp(n->id, deployment_id) == 0)
			return (n);
	if ((n = calloc(1, sizeof(*n))) == NULL)
		fatal("%s", __func__);
	strlcpy(n->id, deployment_id, sizeof(n->id));
	TAILQ_INSERT_TAIL(&s->notes, n, entry);
	return (n);
}

/* Notes of deployments no longer desired go (their ids never return). */
static void
notes_gc(struct svc *s)
{
	struct depnote	*n, *next;

	TAILQ_FOREACH_SAFE(n, &s->notes, entry, next)
		if (msg_rec_desired_deployment(s->want, n->id) == NULL) {
			TAILQ_REMOVE(&s->notes, n, entry);
			free(n);
		}
}

static int
dep_index(struct pass *p, const struct msg_rec_deployment *d)
{
	return ((int)(d - p->svc->want->deployments));
}

static int
dep_is_new(const struct msg_rec_deployment *d)
{
	return (strcmp(d->status, "pending") == 0 ||
	    strcmp(d->status, "starting") == 0);
}

static void
requeue_in(struct pass *p, uint64_t ms)
{
	if (ms == 0)
		ms = 1;
	if (p->requeue_ms == 0 || ms < p->requeue_ms)
		p->requeue_ms = ms;
}

/*
 * One attempt-failed per deployment and pass, for a new deployment; a
 * healthy one that loses a container just tries again.
 */
static void
attempt_failed(struct pass *p, const struct msg_rec_deployment *d,
    const char *reason)
{
	size_t	 i;
	char	**a;

	p->error = 1;
	if (!dep_is_new(d)) {
		log_warnx("deployment %s: %s", d->id, reason);
		return;
	}
	for (i = 0; i < p->nattempted; i++)
		if (strcmp(p->attempted[i], d->id) == 0)
			return;
	if ((a = reallocarray(p->attempted, p->nattempted + 1,
	    sizeof(*a))) == NULL)
		fatal("%s", __func__);
	p->attempted = a;
	if ((p->attempted[p->nattempted++] = strdup(d->id)) == NULL)
		fatal("%s", __func__);
	report_attempt_failed(d->id, reason);
}

static void
call_failed(struct pass *p, const struct drv_res *res, const char *what)
{
	p->error = 1;
	log_warnx("service %s: %s: %s", p->svc->id, what, res->err);
	if (res->code == DRV_UNREACHABLE)
		rec_docker_trouble();
}

static struct op *
op_new(struct pass *p, struct ctr *c)
{
	struct op	*o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		fatal("%s", __func__);
	o->p = p;
	o->c = c;
	p->pending++;
	return (o);
}

/* An op is over: free it, and go on when it was the last one. */
static void
op_done(struct op *o)
{
	struct pass	*p = o->p;

	free(o);
	pass_answer(p);
}

static void
pass_answer(struct pass *p)
{
	if (--p->pending > 0)
		return;
	p->next(p);
}

/* Run next once every call started so far has answered. */
static void
pass_wait(struct pass *p, void (*next)(struct pass *))
{
	p->next = next;
	p->pending++;
	pass_answer(p);
}

void
pass_start(struct queue *q, const char *key, void *arg)
{
	struct svc	*s;
	struct pass	*p;

	if (rec->instance[0] == '\0' || (s = svc_find(key)) == NULL ||
	    s->pass != NULL) {
		queue_done(q, key);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("%s", __func__);
	p->svc = s;
	p->q = q;
	strlcpy(p->key, key, sizeof(p->key));
	p->calls_at_start = docker_calls();
	p->started_ms = queue_now_ms();
	s->pass = p;
	step_refresh(p);
}

/* ------------------------------------------------------------ refresh */

static void
refresh_done(const struct drv_res *res, const struct drv_container *cs,
    size_t n, void *arg)
{
	struct op	*o = arg;
	struct pass	*p = o->p;
	struct svc	*s = p->svc;

	if (res->code != DRV_OK) {
		call_failed(p, res, "container list");
		s->stale = 1;
	} else {
		view_merge(s, cs, n, 1);
		if (s->ev_seq > p->list_seq)
			s->stale = 1;
	}
	op_done(o);
}

static void
step_refresh(struct pass *p)
{
	struct svc	*s = p->svc;
	struct drv_kv	 labels[4];
	size_t		 n;

	if (!s->listed || s->stale || !rec->events_ok) {
		rec_labels(labels, &n, s->id);
		s->stale = 0;
		p->list_seq = rec->ev_seq;
		rec->drv->container_list(labels, n, refresh_done,
		    op_new(p, NULL));
	}
	pass_wait(p, step_inspect);
}

/* ------------------------------------------------------------ inspect */

static void
inspect_done(const struct drv_res *res, const struct drv_inspect *in,
    void *arg)
{
	struct op	*o = arg;
	struct ctr	*c = o->c;

	c->busy = 0;
	if (res->code == DRV_OK) {
		c->insp = *in;
		c->inspected = 1;
		c->dirty = 0;
		strlcpy(c->state, in->status, sizeof(c->state));
		logs_ctr_seen(o->p->svc, c);
	} else if (res->code == DRV_NOTFOUND) {
		/* Gone behind our back. */
		svc_ctr_free(o->p->svc, c);
		o->p->changed = 1;
	} else {
		/* What we know of it may be old now: look again. */
		c->dirty = 1;
		call_failed(o->p, res, "container inspect");
	}
	op_done(o);
}

static void
step_inspect(struct pass *p)
{
	struct svc	*s = p->svc;
	struct ctr	*c;

	if (!s->listed) {
		/* No view of the containers: nothing else can be decided. */
		step_done(p);
		return;
	}
	TAILQ_FOREACH(c, &s->ctrs, entry) {
		if (c->busy || (c->inspected && !c->dirty && rec->events_ok))
			continue;
		c->busy = 1;
		rec->drv->container_inspect(c->id, inspect_done, op_new(p, c));
	}
	pass_wait(p, step_plan);
}

/* --------------------------------------------------------------- plan */

static int
slot_score(const struct ctr *c, const char *want_name)
{
	int	 score = 0;

	if (strcmp(c->state, "running") == 0)
		score += 2;
	if (strcmp(c->name, want_name) == 0)
		score += 1;
	return (score);
}

/* dk-<slug>-<service>-<replica>-<first 8 of the deployment id> */
int
pass_slot_name(char *buf, size_t len, const struct msg_rec_desired *w,
    int replica, const char *deployment_id)
{
	if ((size_t)snprintf(buf, len, "dk-%s-%s-%d-%.8s", w->project_slug,
	    w->service_name, replica, deployment_id) >= len)
		return (-1);
	return (0);
}

static void
step_plan(struct pass *p)
{
	struct svc			*s = p->svc;
	struct msg_rec_desired		*w = s->want;
	const struct msg_rec_deployment	*d;
	struct depnote			*note;
	struct slot			*sl;
	struct ctr			*c;
	char				 name[DRV_NAME_MAX];
	char				 err[DRV_ERR_MAX];
	size_t				 i, total = 0;
	uint64_t			 retry;
	int				 r, missing, run;

	run = w != NULL && !w->stopped && !w->deleted;

	if (run) {
		if ((p->plan = calloc(w->ndeployments + 1,
		    sizeof(*p->plan))) == NULL)
			fatal("%s", __func__);
		for (i = 0; i < w->ndeployments; i++)
			total += (size_t)w->deployments[i].replicas;
		if ((p->slots = calloc(total + 1, sizeof(*p->slots))) == NULL)
			fatal("%s", __func__);
	}
	/* The slots, each with the best container that claims it. */
	for (i = 0; run && i < w->ndeployments; i++) {
		d = &w->deployments[i];
		for (r = 0; r < d->replicas; r++) {
			sl = &p->slots[p->nslots++];
			sl->dep = d;
			sl->replica = r;
			(void)pass_slot_name(name, sizeof(name), w, r, d->id);
			TAILQ_FOREACH(c, &s->ctrs, entry) {
				if (c->busy || c->replica != r ||
				    strcmp(c->deployment_id, d->id) != 0)
					continue;
				if (sl->ctr == NULL || slot_score(c, name) >
				    slot_score(sl->ctr, name))
					sl->ctr = c;
			}
		}
	}
	/* Image pre-flight for new deployments that lack a container. */
	for (i = 0; run && i < w->ndeployments; i++) {
		d = &w->deployments[i];
		note = note_get(s, d->id);
		if (note->failed_sent) {
			p->plan[i] = DP_WAIT;
			continue;
		}
		if (!dep_is_new(d))
			continue;
		missing = 0;
		for (sl = p->slots; sl < p->slots + p->nslots; sl++)
			if (sl->dep == d && sl->ctr == NULL)
				missing = 1;
		if (!missing)
			continue;
		switch (image_want(d->image, s->id, &note->pull_gen_reported,
		    err, sizeof(err), &retry)) {
		case IMG_PRESENT:
			break;
		case IMG_WAITING:
			p->plan[i] = DP_WAIT;
			if (retry > 0)
				requeue_in(p, retry);
			break;
		case IMG_FAILED:
			p->plan[i] = DP_EXCLUDED;
			attempt_failed(p, d, err);
			if (retry > 0)
				requeue_in(p, retry);
			break;
		}
	}
	for (sl = p->slots; sl < p->slots + p->nslots; sl++)
		if (p->plan[dep_index(p, sl->dep)] == DP_EXCLUDED)
			sl->ctr = NULL;
	step_prepare(p);
}

/* ------------------------------------------------------------ prepare */

static int
slot_wants_create(struct pass *p, const struct slot *sl)
{
	return (sl->ctr == NULL && !p->no_create &&
	    p->plan[dep_index(p, sl->dep)] == DP_OK);
}

static void
prepare_done(const struct drv_res *res, void *arg)
{
	struct op	*o = arg;

	if (res->code != DRV_OK) {
		call_failed(o->p, res, o->volume[0] != '\0' ?
		    "volume create" : "network");
		/* No container can be made without it. */
		o->p->no_create = 1;
	}
	op_done(o);
}

static void
step_prepare(struct pass *p)
{
	struct svc		*s = p->svc;
	struct msg_rec_desired	*w = s->want;
	struct drv_kv		 labels[6];
	struct op		*o;
	size_t			 i, n;
	char			 net[DRV_NAME_MAX];
	int			 creates = 0;

	for (i = 0; i < p->nslots; i++)
		if (slot_wants_create(p, &p->slots[i]))
			creates = 1;
	if (!creates) {
		step_act(p);
		return;
	}
	(void)snprintf(net, sizeof(net), "dk-%s", w->project_slug);
	if (!net_known(net))
		net_ensure(net, w->project_id, prepare_done, op_new(p, NULL));
	rec_labels(labels, &n, s->id);
	labels[n].key = LABEL_PROJECT;
	labels[n++].value = w->project_id;
	for (i = 0; i < w->nvolumes; i++) {
		o = op_new(p, NULL);
		if ((size_t)snprintf(o->volume, sizeof(o->volume),
		    "dk-%s-%s-%s", w->project_slug, w->service_name,
		    w->volumes[i].name) >= sizeof(o->volume)) {
			p->error = p->no_create = 1;
			op_done(o);
			continue;
		}
		rec->drv->volume_create(o->volume, labels, n, prepare_done, o);
	}
	pass_wait(p, step_act);
}

/* ---------------------------------------------------------------- act */

static void
removed(const struct drv_res *res, void *arg)
{
	struct op	*o = arg;

	if (res->code == DRV_OK) {
		log_info("service %s: removed container %s (%s)",
		    o->p->svc->id, o->c->name, o->c->id);
		svc_ctr_free(o->p->svc, o->c);
		o->p->changed = 1;
	} else {
		o->c->busy = 0;
		call_failed(o->p, res, "container remove");
	}
	op_done(o);
}

static void
stopped(const struct drv_res *res, void *arg)
{
	struct op	*o = arg;

	if (res->code != DRV_OK && res->code != DRV_FAILED) {
		o->c->busy = 0;
		call_failed(o->p, res, "container stop");
		op_done(o);
		return;
	}
	/* A failed stop still ends with a forced remove. */
	rec->drv->container_remove(o->c->id, removed, o);
}

static void
teardown(struct pass *p, struct ctr *c)
{
	c->busy = 1;
	log_debug("service %s: tearing down %s", p->svc->id, c->name);
	if (strcmp(c->state, "running") == 0 ||
	    strcmp(c->state, "restarting") == 0 ||
	    strcmp(c->state, "paused") == 0)
		rec->drv->container_stop(c->id, STOP_TIMEOUT_S, stopped,
		    op_new(p, c));
	else
		rec->drv->container_remove(c->id, removed, op_new(p, c));
}

static void
start_cleaned(const struct drv_res *res, void *arg)
{
	struct op	*o = arg;

	if (res->code == DRV_OK)
		svc_ctr_free(o->p->svc, o->c);
	else
		o->c->busy = 0;
	op_done(o);
}

static void
started(const struct drv_res *res, void *arg)
{
	struct op	*o = arg;
	struct pass	*p = o->p;
	char		 reason[DRV_ERR_MAX + 64];

	if (res->code == DRV_OK) {
		strlcpy(o->c->state, "running", sizeof(o->c->state));
		o->c->dirty = 1;
		o->c->busy = 0;
		p->changed = 1;
		op_done(o);
		return;
	}
	if (res->code == DRV_UNREACHABLE) {
		o->c->busy = 0;
		call_failed(p, res, "container start");
		op_done(o);
		return;
	}
	(void)snprintf(reason, sizeof(reason), "container start failed: %s",
	    res->err);
	if (o->d != NULL)
		attempt_failed(p, o->d, reason);
	/* Spec 14: a container that does not start is removed. */
	rec->drv->container_remove(o->c->id, start_cleaned, o);
}

static void
created(const struct drv_res *res, const char *id, void *arg)
{
	struct op	*o = arg;
	struct pass	*p = o->p;
	struct svc	*s = p->svc;
	struct ctr	*c;
	char		 reason[DRV_ERR_MAX + 64];

	if (res->code == DRV_OK) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			fatal("%s", __func__);
		strlcpy(c->id, id, sizeof(c->id));
		(void)pass_slot_name(c->name, sizeof(c->name), s->want,
		    o->replica, o->d->id);
		strlcpy(c->project_id, s->want->project_id,
		    sizeof(c->project_id));
		strlcpy(c->deployment_id, o->d->id, sizeof(c->deployment_id));
		c->replica = o->replica;
		strlcpy(c->state, "created", sizeof(c->state));
		c->busy = 1;
		TAILQ_INSERT_TAIL(&s->ctrs, c, entry);
		p->changed = 1;
		log_info("service %s: created container %s (%s)", s->id,
		    c->name, c->id);
		o->c = c;
		rec->drv->container_start(c->id, started, o);
		return;
	}
	switch (res->code) {
	case DRV_CONFLICT:
		/* The name is taken: our view is behind.  Look again. */
		s->stale = 1;
		call_failed(p, res, "container create");
		break;
	case DRV_UNREACHABLE:
		call_failed(p, res, "container create");
		break;
	default:
		if (res->code == DRV_NOTFOUND)
			image_forget(o->d->image);
		(void)snprintf(reason, sizeof(reason),
		    "container start failed: %s", res->err);
		attempt_failed(p, o->d, reason);
		break;
	}
	op_done(o);
}

static void
create_slot(struct pass *p, const struct slot *sl)
{
	struct msg_rec_desired		*w = p->svc->want;
	const struct msg_rec_deployment	*d = sl->dep;
	struct drv_spec			 spec;
	struct drv_kv			 labels[8], *env;
	struct drv_port			*ports;
	struct drv_mount		 mounts[MSG_REC_VOLUMES_MAX];
	char				 name[DRV_NAME_MAX], net[DRV_NAME_MAX];
	char				 alias1[DRV_NAME_MAX];
	char				 alias2[DRV_NAME_MAX];
	char				 replica[16];
	char				 vols[nitems(mounts)][DRV_NAME_MAX];
	const char			*aliases[2];
	struct op			*o;
	size_t				 i, n;

	o = op_new(p, NULL);
	o->d = d;
	o->replica = sl->replica;
	(void)snprintf(net, sizeof(net), "dk-%s", w->project_slug);
	(void)snprintf(alias1, sizeof(alias1), "dk-%s-%s", w->project_slug,
	    w->service_name);
	(void)snprintf(alias2, sizeof(alias2), "dk-%s-%s-%d",
	    w->project_slug, w->service_name, sl->replica);
	(void)snprintf(replica, sizeof(replica), "%d", sl->replica);
	if (pass_slot_name(name, sizeof(name), w, sl->replica, d->id) == -1) {
		attempt_failed(p, d, "container start failed: name too long");
		op_done(o);
		return;
	}
	rec_labels(labels, &n, p->svc->id);
	labels[n].key = LABEL_PROJECT;
	labels[n++].value = w->project_id;
	labels[n].key = LABEL_DEPLOYMENT;
	labels[n++].value = d->id;
	labels[n].key = LABEL_REPLICA;
	labels[n++].value = replica;
	aliases[0] = alias1;
	aliases[1] = alias2;
	for (i = 0; i < w->nvolumes && i < nitems(mounts); i++) {
		(void)snprintf(vols[i], sizeof(vols[i]), "dk-%s-%s-%s",
		    w->project_slug, w->service_name, w->volumes[i].name);
		mounts[i].volume = vols[i];
		mounts[i].target = w->volumes[i].path;
	}
	memset(&spec, 0, sizeof(spec));
	spec.name = name;
	spec.image = d->image;
	spec.network = net;
	spec.aliases = aliases;
	spec.naliases = nitems(aliases);
	spec.labels = labels;
	spec.nlabels = n;
	/* The driver's terms; it copies the spec. */
	if ((env = calloc(d->nenv + 1, sizeof(*env))) == NULL ||
	    (ports = calloc(d->nports + 1, sizeof(*ports))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < d->nenv; i++) {
		env[i].key = d->env[i].key;
		env[i].value = d->env[i].value;
	}
	for (i = 0; i < d->nports; i++) {
		ports[i].container_port = (int)d->ports[i].container_port;
		ports[i].host_port = (int)d->ports[i].host_port;
		ports[i].protocol = d->ports[i].protocol;
	}
	spec.env = env;
	spec.nenv = d->nenv;
	spec.ports = ports;
	spec.nports = d->nports;
	spec.mounts = mounts;
	spec.nmounts = MINIMUM(w->nvolumes, nitems(mounts));
	spec.memory_bytes = d->memory_mb * 1024 * 1024;
	spec.cpu_shares = d->cpu_shares;
	spec.stop_timeout = STOP_TIMEOUT_S;
	rec->drv->container_create(&spec, created, o);
	free(env);
	free(ports);
}

static int
slot_holds(struct pass *p, const struct ctr *c)
{
	size_t	 i;

	for (i = 0; i < p->nslots; i++)
		if (p->slots[i].ctr == c)
			return (1);
	return (0);
}

static void
step_act(struct pass *p)
{
	struct svc		*s = p->svc;
	struct depnote		*note;
	struct ctr		*c;
	struct slot		*sl;
	struct op		*o;
	size_t			 i;

	TAILQ_FOREACH(c, &s->ctrs, entry)
		if (!c->busy && !slot_holds(p, c))
			teardown(p, c);
	for (i = 0; i < p->nslots; i++) {
		sl = &p->slots[i];
		note = note_get(s, sl->dep->id);
		if (strcmp(sl->dep->status, "pending") == 0 &&
		    !note->starting_sent && (sl->ctr != NULL ||
		    slot_wants_create(p, sl))) {
			note->starting_sent = 1;
			report_starting(sl->dep->id);
		}
		if (slot_wants_create(p, sl))
			create_slot(p, sl);
		else if (sl->ctr != NULL && !sl->ctr->busy &&
		    strcmp(sl->ctr->state, "created") == 0) {
			/* Made but never started (say, we were killed). */
			sl->ctr->busy = 1;
			o = op_new(p, sl->ctr);
			o->d = sl->dep;
			rec->drv->container_start(sl->ctr->id, started, o);
		}
	}
	pass_wait(p, step_finish);
}

/* ------------------------------------------------------------- finish */

/*
 * What a container of a slot looks like at now: nothing current when
 * its last inspect failed or an event came after it (dirty), so that
 * what it was before the engine went away is not taken for what it is.
 */
static void
obs_of(const struct ctr *c, int64_t now, struct obs *o)
{
	memset(o, 0, sizeof(*o));
	if (c == NULL || c->busy)
		return;
	o->present = 1;
	o->inspected = c->inspected && !c->dirty;
	o->status = c->insp.status;
	o->restart_count = c->insp.restart_count;
	o->exit_code = c->insp.exit_code;
	o->started_at_ms = c->insp.started_at_ms;
	o->finished_at_ms = c->insp.finished_at_ms;
	o->engine_stop = readiness_engine_stop(o, rec->engine_lost_ms,
	    rec->engine_back_ms, now);
}

struct failure {
	struct pass	*p;
	char		 deployment_id[DRV_UUID_MAX + 1];
	char		 reason[256];
	int		 exit_code;
};

static void
failure_logs(const struct drv_res *res, const char *text, size_t len,
    void *arg)
{
	struct failure	*f = arg;
	struct pass	*p = f->p;

	if (res->code != DRV_OK)
		log_warnx("deployment %s: no log tail: %s", f->deployment_id,
		    res->err);
	report_failed(f->deployment_id, f->reason, f->exit_code,
	    res->code == DRV_OK ? text : "");
	free(f);
	pass_answer(p);
}

/* Spec 13.2 step 4: a starting deployment failed in one replica. */
static void
fail_dep(struct pass *p, const struct msg_rec_deployment *d,
    const struct ctr *c, const struct obs *o, int restart_count)
{
	struct failure	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		fatal("%s", __func__);
	f->p = p;
	strlcpy(f->deployment_id, d->id, sizeof(f->deployment_id));
	readiness_failure_reason(o, restart_count, f->reason,
	    sizeof(f->reason));
	/*
	 * The exit code of what exited, also when Docker's restart policy
	 * has it restarting again already.
	 */
	f->exit_code = -1;
	if (strcmp(o->status, "exited") == 0 || strcmp(o->status, "dead") ==
	    0 || (strcmp(o->status, "restarting") == 0 &&
	    c->insp.finished_at_ms > 0))
		f->exit_code = o->exit_code;
	note_get(p->svc, d->id)->failed_sent = 1;
	readiness_forget_dep(p->svc, d->id);
	p->pending++;
	rec->drv->container_logs(c->id, LOG_TAIL_LINES, c->insp.tty,
	    failure_logs, f);
}

/*
 * The readiness gate, then the service status (spec 13.2 steps 3 and
 * 4): the status counts slots of the active deployment, and a replica
 * that crashloops after promotion is not a fine one.
 */
static void
step_finish(struct pass *p)
{
	struct svc			*s = p->svc;
	struct msg_rec_desired		*w = s->want;
	const struct msg_rec_deployment	*d;
	struct depnote			*note;
	struct slotmem			*m;
	struct slot			*sl;
	struct slot_verdict		 v;
	struct obs			 o;
	const char			*status = NULL;
	int64_t				 now = rec_wall_ms();
	size_t				 i;
	int				 all_ready, any_failed, max_rc;
	int				 present, fine, crash, counted;
	int				 unsettled = 0;
	uint64_t			 mono = queue_now_ms();

	if (w == NULL || w->stopped || w->deleted) {
		readiness_forget_all(s);
		pass_wait(p, step_volumes_gone);
		return;
	}
	counted = mono - s->last_obs_ms >= OBS_INTERVAL_MS;
	if (counted)
		s->last_obs_ms = mono;
	readiness_begin(s);
	for (i = 0; i < w->ndeployments; i++) {
		d = &w->deployments[i];
		note = note_get(s, d->id);
		if (p->plan[i] == DP_EXCLUDED || note->failed_sent)
			continue;
		all_ready = 1;
		any_failed = 0;
		max_rc = 0;
		for (sl = p->slots; sl < p->slots + p->nslots; sl++) {
			if (sl->dep != d)
				continue;
			obs_of(sl->ctr, now, &o);
			if (!o.present) {
				all_ready = 0;
				continue;
			}
			m = readiness_slot(s, d, sl->replica, &o);
			readiness_observe(m, &o, now,
			    worker->settings.readiness_window_ms, counted, &v);
			max_rc = MAXIMUM(max_rc, m->max_restart_count);
			if (v.bad || v.skipped || !v.ready)
				unsettled = 1;
			if (!v.ready)
				all_ready = 0;
			if (v.ready_in_ms > 0)
				requeue_in(p, MINIMUM(v.ready_in_ms + 20,
				    INFLIGHT_REQUEUE_MS));
			if (dep_is_new(d)) {
				if (v.failed && !any_failed) {
					any_failed = 1;
					fail_dep(p, d, sl->ctr, &o,
					    o.restart_count);
				}
				continue;
			}
			/* Healthy: a crashloop after promotion. */
			if (v.failed) {
				m->crashloop = 1;
				m->bad = 0;
			} else if (v.ready)
				m->crashloop = 0;
			if (m->crashloop)
				unsettled = 1;
		}
		if (dep_is_new(d)) {
			unsettled = 1;
			if (!any_failed && all_ready && !note->healthy_sent) {
				note->healthy_sent = 1;
				report_healthy(d->id, max_rc);
			}
		}
	}
	readiness_end(s);

	/* Status: from the slots of the active deployment. */
	for (i = 0; i < w->ndeployments; i++) {
		d = &w->deployments[i];
		if (!d->active || p->plan[i] == DP_EXCLUDED)
			continue;
		present = fine = crash = 0;
		for (sl = p->slots; sl < p->slots + p->nslots; sl++) {
			if (sl->dep != d || sl->ctr == NULL)
				continue;
			present++;
			TAILQ_FOREACH(m, &s->mem, entry)
				if (m->replica == sl->replica &&
				    strcmp(m->deployment_id, d->id) == 0 &&
				    m->crashloop)
					crash++;
		}
		fine = present - crash;
		if (present == 0)
			status = "deploying";
		else if (crash == 0)
			status = present == d->replicas ? "running" :
			    "degraded";
		else
			status = fine > 0 ? "degraded" : "failed";
		break;
	}
	if (status != NULL && strcmp(status, s->status_sent) != 0) {
		strlcpy(s->status_sent, status, sizeof(s->status_sent));
		report_status(s->id, status);
	}
	if (p->changed || unsettled || !rec->events_ok)
		requeue_in(p, INFLIGHT_REQUEUE_MS);
	pass_wait(p, step_done);
}

/* ------------------------------------------------ a deleted service */

static void
volume_removed(const struct drv_res *res, void *arg)
{
	struct op	*o = arg;

	if (res->code != DRV_OK)
		call_failed(o->p, res, "volume remove");
	else
		log_info("service %s: removed volume %s", o->p->svc->id,
		    o->volume);
	op_done(o);
}

static void
volumes_listed(const struct drv_res *res, const struct drv_volume *vs,
    size_t n, void *arg)
{
	struct op	*o = arg, *ro;
	struct pass	*p = o->p;
	size_t		 i;

	if (res->code != DRV_OK)
		call_failed(p, res, "volume list");
	for (i = 0; res->code == DRV_OK && i < n; i++) {
		/* The filter asked for these; check anyway. */
		if (!vs[i].managed || strcmp(vs[i].instance,
		    rec->instance) != 0 || strcmp(vs[i].service_id,
		    p->svc->id) != 0)
			continue;
		ro = op_new(p, NULL);
		strlcpy(ro->volume, vs[i].name, sizeof(ro->volume));
		rec->drv->volume_remove(vs[i].name, volume_removed, ro);
	}
	op_done(o);
}

static void
volumes_finished(struct pass *p)
{
	if (!p->error)
		p->svc->volumes_gone = 1;
	step_done(p);
}

/*
 * Decision 8: a deleted service's volumes go, once its containers
 * have; only volumes with our instance's labels and its service id.
 */
static void
step_volumes_gone(struct pass *p)
{
	struct svc	*s = p->svc;
	struct drv_kv	 labels[4];
	size_t		 n;

	if (s->want == NULL || !s->want->deleted || s->volumes_gone ||
	    !TAILQ_EMPTY(&s->ctrs) || p->error) {
		step_done(p);
		return;
	}
	rec_labels(labels, &n, s->id);
	rec->drv->volume_list(labels, n, volumes_listed, op_new(p, NULL));
	pass_wait(p, volumes_finished);
}

/* --------------------------------------------------------------- done */

static void
step_done(struct pass *p)
{
	struct svc	*s = p->svc;
	struct queue	*q = p->q;
	char		 key[DRV_UUID_MAX + 1];
	size_t		 i;

	if (s->listed)
		report_containers(s);
	if (s->want != NULL)
		notes_gc(s);
	log_debug("service %s: pass %s in %llu ms, %llu Docker calls",
	    s->id, p->error ? "failed" : "done",
	    (unsigned long long)(queue_now_ms() - p->started_ms),
	    (unsigned long long)(docker_calls() - p->calls_at_start));
	strlcpy(key, p->key, sizeof(key));
	if (p->error)
		queue_add_rate_limited(q, key);
	else {
		queue_forget(q, key);
		if (p->requeue_ms > 0)
			queue_add_after(q, key, p->requeue_ms);
	}
	s->pass = NULL;
	if (s->has_next) {
		svc_want_free(s->want);
		s->want = s->want_next;
		s->want_next = NULL;
		s->has_next = 0;
		queue_add(q, key);
	}
	for (i = 0; i < p->nattempted; i++)
		free(p->attempted[i]);
	free(p->attempted);
	free(p->plan);
	free(p->slots);
	free(p);
	queue_done(q, key);
	svc_maybe_free(s);
}
