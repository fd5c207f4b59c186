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
 * The readiness gate of spec 13.2 step 4, one slot (deployment,
 * replica) at a time.  An observation is bad when the container has
 * exited, is dead or restarting, or its restart count rose since the
 * last one; BAD_OBSERVATIONS_MAX bad ones in a row fail the replica.
 * A good one is ready once the container has run for the readiness
 * window since it (last) started: Docker's StartedAt, so the window
 * survives a restart of the reconciler.  The last restart count of a
 * slot of a healthy deployment starts from the baseline the master
 * stored at promotion, so restarts before a reconciler restart are no
 * false alarm.  An exit the engine caused as it went away (dockerd
 * stopped or restarted) is not the container's failure: those looks
 * are skipped, and the engine starts the container again on its own.
 */

static int
status_is(const struct obs *o, const char *s)
{
	return (o->status != NULL && strcmp(o->status, s) == 0);
}

/* Mark a pass's start: slots not seen again by readiness_end() go. */
void
readiness_begin(struct svc *s)
{
	struct slotmem	*m;

	TAILQ_FOREACH(m, &s->mem, entry)
		m->live = 0;
}

void
readiness_end(struct svc *s)
{
	struct slotmem	*m, *next;

	TAILQ_FOREACH_SAFE(m, &s->mem, entry, next)
		if (!m->live) {
			TAILQ_REMOVE(&s->mem, m, entry);
			free(m);
		}
}

void
readiness_forget_dep(struct svc *s, const char *deployment_id)
{
	struct slotmem	*m, *next;

	TAILQ_FOREACH_SAFE(m, &s->mem, entry, next)
		if (strcmp(m->deployment_id, deployment_id) == 0) {
			TAILQ_REMOVE(&s->mem, m, entry);
			free(m);
		}
}

void
readiness_forget_all(struct svc *s)
{
	struct slotmem	*m;

	while ((m = TAILQ_FIRST(&s->mem)) != NULL) {
		TAILQ_REMOVE(&s->mem, m, entry);
		free(m);
	}
}

/*
 * The memory of a slot, made on its first observation: its last restart
 * count is the current one, or the stored baseline when the deployment
 * is healthy already.
 */
struct slotmem *
readiness_slot(struct svc *s, const struct msg_rec_deployment *d,
    int replica, const struct obs *o)
{
	struct slotmem	*m;

	TAILQ_FOREACH(m, &s->mem, entry)
		if (m->replica == replica &&
		    strcmp(m->deployment_id, d->id) == 0) {
			m->live = 1;
			return (m);
		}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		fatal("%s", __func__);
	strlcpy(m->deployment_id, d->id, sizeof(m->deployment_id));
	m->replica = replica;
	if (strcmp(d->status, "healthy") == 0)
		m->last_restart_count = (int)d->baseline_restart_count;
	else
		m->last_restart_count = o->inspected ? o->restart_count : 0;
	m->max_restart_count = m->last_restart_count;
	m->live = 1;
	TAILQ_INSERT_TAIL(&s->mem, m, entry);
	return (m);
}

/*
 * One look at a slot at now (wall clock, ms).  Only a counted look (one
 * per OBS_INTERVAL_MS, the reference's polling period) moves the bad
 * counter and the last restart count; the passes that events bring in
 * between may promote a replica that is plainly fine, never fail one.
 */
void
readiness_observe(struct slotmem *m, const struct obs *o, int64_t now_ms,
    uint64_t window_ms, int counted, struct slot_verdict *v)
{
	int		 bad, rose;
	int64_t		 ran;

	memset(v, 0, sizeof(*v));
	if (!o->present || !o->inspected) {
		/* Nothing to look at (an inspect failed): skip this tick. */
		v->skipped = 1;
		return;
	}
	if (o->engine_stop) {
		/*
		 * Not the container's doing: the looks at that exit made
		 * before the engine was seen to go do not count either.
		 */
		m->bad = 0;
		v->skipped = 1;
		return;
	}
	rose = o->restart_count > m->last_restart_count;
	bad = rose || status_is(o, "exited") || status_is(o, "dead") ||
	    status_is(o, "restarting");
	m->max_restart_count = MAXIMUM(m->max_restart_count,
	    o->restart_count);
	if (!counted) {
		if (bad || m->bad > 0) {
			v->bad = 1;
			return;
		}
	} else {
		/* A lower count: a new container in the slot; from it on. */
		m->last_restart_count = o->restart_count;
		if (bad) {
			m->bad++;
			v->bad = 1;
			v->failed = m->bad >= BAD_OBSERVATIONS_MAX;
			return;
		}
		m->bad = 0;
	}
	if (!status_is(o, "running") || o->started_at_ms <= 0)
		return;
	ran = now_ms - o->started_at_ms;
	if (ran >= 0 && (uint64_t)ran >= window_ms)
		v->ready = 1;
	else
		v->ready_in_ms = ran < 0 ? window_ms :
		    window_ms - (uint64_t)ran;
}

/* Why a replica failed (spec 13.2 step 4, "reason"). */
void
readiness_failure_reason(const struct obs *o, int restart_count, char *buf,
    size_t len)
{
	if (status_is(o, "exited") || status_is(o, "dead")) {
		if (o->exit_code >= 0)
			(void)snprintf(buf, len, "container exited with code "
			    "%d", o->exit_code);
		else
			(void)snprintf(buf, len, "container exited");
	} else if (status_is(o, "restarting") || restart_count > 0)
		(void)snprintf(buf, len, "container is restarting (restart "
		    "count %d)", restart_count);
	else
		(void)snprintf(buf, len, "container failed runtime checks");
}

/*
 * Did the engine stop this container as it went away (Docker
 * unreachable or its events stream broken, from lost_ms to back_ms,
 * wall clock; back_ms < lost_ms while it is still away)?  Then it
 * exited from ENGINE_STOP_MS before the engine was lost to its return,
 * and the engine, back for less than ENGINE_RESTART_GRACE_MS, may
 * still start it again on its own (its restart count does not rise
 * then).  A container that restarts is restarted by its policy: that
 * is the container's doing.
 */
int
readiness_engine_stop(const struct obs *o, int64_t lost_ms, int64_t back_ms,
    int64_t now_ms)
{
	if (lost_ms <= 0 || o->finished_at_ms <= 0 ||
	    !(status_is(o, "exited") || status_is(o, "dead")) ||
	    o->finished_at_ms < lost_ms - ENGINE_STOP_MS)
		return (0);
	if (back_ms < lost_ms)
		return (1);
	return (o->finished_at_ms <= back_ms &&
	    now_ms - back_ms < ENGINE_RESTART_GRACE_MS);
}
