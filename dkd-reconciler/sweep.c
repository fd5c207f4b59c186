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

/*
 * The sweep (spec 13.3), and the view of our containers.  A sweep is
 * three list calls side by side, all filtered by our instance's labels:
 * containers, networks and volumes.  The containers become the view of
 * every service (so that the passes of a resync need no call of their
 * own), networks dk-<slug> are made for the projects of the last sync
 * and ours of no project go, managed containers of services not in the
 * sync are orphans to tear down, and volumes of services that no longer
 * exist go (Decision 8).  Nothing without both labels of our instance
 * is ever touched.
 */

struct sweep {
	struct queue		*q;
	int			 phase;		/* 0 list, 1 act */
	int			 pending;
	int			 error;
	int			 resync;
	uint64_t		 list_seq;
	int			 events_ok;	/* at the start */
	int			 have_ctrs, have_nets, have_vols;
	struct drv_container	*cs;
	size_t			 ncs;
	struct drv_network	*ns;
	size_t			 nns;
	struct drv_volume	*vs;
	size_t			 nvs;
	uint64_t		 calls_at_start;
	uint64_t		 started_ms;
};

static struct sweep	 sw;

/* Our networks by name, as last listed or made. */
static char		**nets;
static size_t		 nnets;

static void	sweep_apply(void);
static int	net_wanted(const char *);
static void	sweep_finish(void);

int
ctr_is_ours(const struct drv_container *c)
{
	return (c->managed && c->service_id[0] != '\0' &&
	    strcmp(c->instance, rec->instance) == 0);
}

/*
 * Make s's containers those of cs that are its own.  A container the
 * list does not have is gone, unless a pass is acting on it; one whose
 * state changed must be inspected again.
 */
void
view_merge(struct svc *s, const struct drv_container *cs, size_t n,
    int targeted)
{
	struct ctr	*c, *next;
	size_t		 i;

	TAILQ_FOREACH(c, &s->ctrs, entry)
		c->seen = 0;
	for (i = 0; i < n; i++) {
		if (!ctr_is_ours(&cs[i]) ||
		    strcmp(cs[i].service_id, s->id) != 0)
			continue;
		if ((c = svc_ctr_find(s, cs[i].id)) == NULL) {
			if ((c = calloc(1, sizeof(*c))) == NULL)
				fatal("%s", __func__);
			strlcpy(c->id, cs[i].id, sizeof(c->id));
			TAILQ_INSERT_TAIL(&s->ctrs, c, entry);
		} else if (strcmp(c->state, cs[i].state) != 0)
			c->dirty = 1;
		c->seen = 1;
		strlcpy(c->name, cs[i].name, sizeof(c->name));
		strlcpy(c->project_id, cs[i].project_id,
		    sizeof(c->project_id));
		strlcpy(c->deployment_id, cs[i].deployment_id,
		    sizeof(c->deployment_id));
		c->replica = cs[i].replica;
		strlcpy(c->state, cs[i].state, sizeof(c->state));
	}
	TAILQ_FOREACH_SAFE(c, &s->ctrs, entry, next)
		if (!c->seen && !c->busy)
			svc_ctr_free(s, c);
	s->listed = 1;
	(void)targeted;
}

/* ---------------------------------------------------------- networks */

int
net_known(const char *name)
{
	size_t	 i;

	for (i = 0; i < nnets; i++)
		if (strcmp(nets[i], name) == 0)
			return (1);
	return (0);
}

static void
net_add(const char *name)
{
	char	**n;

	if (net_known(name))
		return;
	if ((n = reallocarray(nets, nnets + 1, sizeof(*n))) == NULL)
		fatal("%s", __func__);
	nets = n;
	if ((nets[nnets++] = strdup(name)) == NULL)
		fatal("%s", __func__);
}

static void
net_forget(const char *name)
{
	size_t	 i;

	for (i = 0; i < nnets; i++)
		if (strcmp(nets[i], name) == 0) {
			free(nets[i]);
			nets[i] = nets[--nnets];
			return;
		}
}

static void
nets_clear(void)
{
	size_t	 i;

	for (i = 0; i < nnets; i++)
		free(nets[i]);
	free(nets);
	nets = NULL;
	nnets = 0;
}

/*
 * Making a network, one request per name at a time: Docker's
 * CheckDuplicate does not hold against two creates at once, and a
 * second network of the same name makes the name ambiguous for every
 * container create after it.  Later callers wait for the first.
 */
struct net_waiter {
	drv_done_cb		 cb;
	void			*arg;
};

struct net_op {
	TAILQ_ENTRY(net_op)	 entry;
	char			 name[DRV_NAME_MAX];
	struct net_waiter	*waiters;
	size_t			 nwaiters;
};

static TAILQ_HEAD(, net_op)	 net_ops = TAILQ_HEAD_INITIALIZER(net_ops);

static void
net_op_finish(struct net_op *no, const struct drv_res *res)
{
	size_t	 i;

	TAILQ_REMOVE(&net_ops, no, entry);
	for (i = 0; i < no->nwaiters; i++)
		no->waiters[i].cb(res, no->waiters[i].arg);
	free(no->waiters);
	free(no);
}

static void
net_conflict_listed(const struct drv_res *res, const struct drv_network *ns,
    size_t n, void *arg)
{
	struct net_op	*no = arg;
	struct drv_res	 r = *res;
	size_t		 i;

	if (res->code == DRV_OK) {
		r.code = DRV_FAILED;
		(void)snprintf(r.err, sizeof(r.err), "network %.200s exists and "
		    "is not ours", no->name);
		for (i = 0; i < n; i++)
			if (ns[i].managed && strcmp(ns[i].instance,
			    rec->instance) == 0 &&
			    strcmp(ns[i].name, no->name) == 0) {
				net_add(no->name);
				r.code = DRV_OK;
				r.err[0] = '\0';
			}
	}
	net_op_finish(no, &r);
}

static void
net_created(const struct drv_res *res, const char *id, void *arg)
{
	struct net_op	*no = arg;
	struct drv_kv	 labels[3];
	size_t		 n;

	if (res->code == DRV_OK) {
		log_info("created network %s", no->name);
		net_add(no->name);
	} else if (res->code == DRV_CONFLICT) {
		/* There already: ours from before, or not ours at all. */
		rec_labels(labels, &n, NULL);
		rec->drv->network_list(labels, n, net_conflict_listed, no);
		return;
	}
	net_op_finish(no, res);
}

/* Make our network name (one bridge per project) if it is not there. */
void
net_ensure(const char *name, const char *project_id, drv_done_cb cb,
    void *arg)
{
	struct net_op		*no;
	struct net_waiter	*w;
	struct drv_kv		 labels[4];
	size_t			 n;
	int			 first = 0;

	TAILQ_FOREACH(no, &net_ops, entry)
		if (strcmp(no->name, name) == 0)
			break;
	if (no == NULL) {
		if ((no = calloc(1, sizeof(*no))) == NULL)
			fatal("%s", __func__);
		strlcpy(no->name, name, sizeof(no->name));
		TAILQ_INSERT_TAIL(&net_ops, no, entry);
		first = 1;
	}
	if ((w = reallocarray(no->waiters, no->nwaiters + 1,
	    sizeof(*w))) == NULL)
		fatal("%s", __func__);
	no->waiters = w;
	no->waiters[no->nwaiters].cb = cb;
	no->waiters[no->nwaiters++].arg = arg;
	if (!first)
		return;
	rec_labels(labels, &n, NULL);
	labels[n].key = LABEL_PROJECT;
	labels[n++].value = project_id;
	rec->drv->network_create(name, labels, n, net_created, no);
}

/* ------------------------------------------------------------- sweep */

static void
sweep_answer(void)
{
	if (--sw.pending > 0)
		return;
	if (sw.phase++ == 0)
		sweep_apply();
	else
		sweep_finish();
}

/* A copy of a list the driver lends to its callback, one zeroed more. */
static void *
list_copy(const void *items, size_t n, size_t size)
{
	void	*copy;

	if ((copy = calloc(n + 1, size)) == NULL)
		fatal("%s", __func__);
	memcpy(copy, items, n * size);
	return (copy);
}

static void
ctrs_listed(const struct drv_res *res, const struct drv_container *cs,
    size_t n, void *arg)
{
	if (res->code == DRV_OK) {
		sw.cs = list_copy(cs, n, sizeof(*cs));
		sw.ncs = n;
		sw.have_ctrs = 1;
	} else {
		log_warnx("sweep: container list: %s", res->err);
		sw.error = 1;
		if (res->code == DRV_UNREACHABLE)
			rec_docker_trouble();
	}
	sweep_answer();
}

static void
nets_listed(const struct drv_res *res, const struct drv_network *ns,
    size_t n, void *arg)
{
	if (res->code == DRV_OK) {
		sw.ns = list_copy(ns, n, sizeof(*ns));
		sw.nns = n;
		sw.have_nets = 1;
	} else {
		log_warnx("sweep: network list: %s", res->err);
		sw.error = 1;
	}
	sweep_answer();
}

static void
vols_listed(const struct drv_res *res, const struct drv_volume *vs,
    size_t n, void *arg)
{
	if (res->code == DRV_OK) {
		sw.vs = list_copy(vs, n, sizeof(*vs));
		sw.nvs = n;
		sw.have_vols = 1;
	} else {
		log_warnx("sweep: volume list: %s", res->err);
		sw.error = 1;
	}
	sweep_answer();
}

void
sweep_start(struct queue *q, const char *key, void *arg)
{
	struct drv_kv	 labels[3];
	size_t		 n;

	if (rec->instance[0] == '\0') {
		queue_done(q, key);
		return;
	}
	memset(&sw, 0, sizeof(sw));
	sw.q = q;
	sw.resync = rec->resync_pending;
	rec->resync_pending = 0;
	sw.list_seq = rec->ev_seq;
	sw.events_ok = rec->events_ok;
	sw.calls_at_start = docker_calls();
	sw.started_ms = queue_now_ms();
	rec_labels(labels, &n, NULL);
	sw.pending = 4;
	rec->drv->container_list(labels, n, ctrs_listed, NULL);
	rec->drv->network_list(labels, n, nets_listed, NULL);
	rec->drv->volume_list(labels, n, vols_listed, NULL);
	sweep_answer();
}

static void
net_removed(const struct drv_res *res, void *arg)
{
	char	*name = arg;

	if (res->code != DRV_OK) {
		/* Containers still attached (403): the next sweep. */
		log_info("network %s stays for now: %s", name, res->err);
		sw.error = 1;
	} else {
		log_info("removed network %s", name);
		/* Not when it was a second one of a name we keep. */
		if (!net_wanted(name))
			net_forget(name);
	}
	free(name);
	sweep_answer();
}

static void
net_made(const struct drv_res *res, void *arg)
{
	if (res->code != DRV_OK) {
		log_warnx("sweep: network: %s", res->err);
		sw.error = 1;
	}
	sweep_answer();
}

static void
vol_removed(const struct drv_res *res, void *arg)
{
	char	*name = arg;

	if (res->code != DRV_OK) {
		log_info("volume %s stays for now: %s", name, res->err);
		sw.error = 1;
	} else
		log_info("removed volume %s of a deleted service", name);
	free(name);
	sweep_answer();
}

/* Is name the network of a project we know, or of a wanted service? */
static int
net_wanted(const char *name)
{
	struct svc	*s;
	size_t		 i;

	if (strncmp(name, "dk-", 3) != 0)
		return (0);
	for (i = 0; i < rec->projects.nprojects; i++)
		if (strcmp(name + 3, rec->projects.projects[i].slug) == 0)
			return (1);
	RB_FOREACH(s, svcs, &rec->svcs)
		if (s->want != NULL && !s->want->deleted &&
		    strcmp(name + 3, s->want->project_slug) == 0)
			return (1);
	return (0);
}

static void
sweep_apply(void)
{
	struct svc	*s;
	size_t		 i;
	char		 name[DRV_NAME_MAX], *dup;

	sw.pending = 1;
	if (sw.have_ctrs) {
		/* Services we do not know of: orphans, if a sync said so. */
		for (i = 0; i < sw.ncs; i++)
			if (rec->synced && ctr_is_ours(&sw.cs[i]) &&
			    svc_find(sw.cs[i].service_id) == NULL)
				(void)svc_get(sw.cs[i].service_id);
		RB_FOREACH(s, svcs, &rec->svcs) {
			if (s->pass != NULL) {
				s->stale = 1;
				continue;
			}
			view_merge(s, sw.cs, sw.ncs, 0);
			s->stale = !sw.events_ok || s->ev_seq > sw.list_seq;
		}
	}
	if (sw.have_nets && rec->synced) {
		nets_clear();
		for (i = 0; i < sw.nns; i++) {
			if (!sw.ns[i].managed ||
			    strcmp(sw.ns[i].instance, rec->instance) != 0)
				continue;
			/* A second one of a name (made in a race) goes. */
			if (net_wanted(sw.ns[i].name) &&
			    !net_known(sw.ns[i].name)) {
				net_add(sw.ns[i].name);
				continue;
			}
			if ((dup = strdup(sw.ns[i].name)) == NULL)
				fatal("%s", __func__);
			sw.pending++;
			rec->drv->network_remove(sw.ns[i].id, net_removed, dup);
		}
		for (i = 0; i < rec->projects.nprojects; i++) {
			(void)snprintf(name, sizeof(name), "dk-%s",
			    rec->projects.projects[i].slug);
			if (net_known(name))
				continue;
			sw.pending++;
			net_ensure(name, rec->projects.projects[i].id, net_made,
			    NULL);
		}
	}
	if (sw.have_vols && rec->synced) {
		for (i = 0; i < sw.nvs; i++) {
			if (!sw.vs[i].managed || sw.vs[i].service_id[0] ==
			    '\0' || strcmp(sw.vs[i].instance,
			    rec->instance) != 0)
				continue;
			s = svc_find(sw.vs[i].service_id);
			if (s != NULL && (s->want != NULL || s->has_next ||
			    !TAILQ_EMPTY(&s->ctrs)))
				continue;
			if ((dup = strdup(sw.vs[i].name)) == NULL)
				fatal("%s", __func__);
			sw.pending++;
			rec->drv->volume_remove(sw.vs[i].name, vol_removed,
			    dup);
		}
	}
	/* A resync: every service gets a pass; else only the orphans. */
	RB_FOREACH(s, svcs, &rec->svcs)
		if (sw.resync || (s->want == NULL && !s->has_next))
			queue_add(rec->q, s->id);
	sweep_answer();
}

static void
sweep_finish(void)
{
	log_debug("sweep done%s in %llu ms, %llu Docker calls",
	    sw.error ? " with errors" : "",
	    (unsigned long long)(queue_now_ms() - sw.started_ms),
	    (unsigned long long)(docker_calls() - sw.calls_at_start));
	free(sw.cs);
	free(sw.ns);
	free(sw.vs);
	sw.cs = NULL;
	sw.ns = NULL;
	sw.vs = NULL;
	if (sw.error)
		queue_add_rate_limited(sw.q, SWEEP_KEY);
	else
		queue_forget(sw.q, SWEEP_KEY);
	queue_done(sw.q, SWEEP_KEY);
}
