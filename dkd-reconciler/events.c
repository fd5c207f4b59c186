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

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "compat.h"
#include "log.h"
#include "reconciler.h"

/*
 * Docker's /events stream, filtered by our instance's labels (DESIGN
 * 2): a start, a death or a removal of one of our containers marks its
 * service and queues it at once, so passes need no polling and a
 * resync in which nothing happened needs no call per service.  While
 * the stream is open the view is trusted (rec->events_ok); when it
 * breaks, every service lists its own containers again until it is
 * back, and the reopening is followed by a full resync.  Each stream
 * asks for a window of EVENTS_WINDOW_S (every call has a time limit);
 * the next one goes on from where it ended, so no event falls between.
 */

#define EVENTS_WINDOW_S		300
#define EVENTS_BACKOFF_MAX_S	30

static struct drv_stream	*stream;
static struct event		*retry_ev;
/* Where the next stream starts. */
static int64_t			 since_ns;
static int64_t			 until_s;
static int			 backoff_s = 1;
/* Events may have gone by unseen. */
static int			 broken;

static void	events_open(void);

static int64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

static void
events_retry(int fd, short event, void *arg)
{
	events_open();
}

/* What an action means for the view of the container's service. */
static void
events_apply(const struct drv_event *ev)
{
	static const char	*relist[] = { "create", "destroy", "rename" };
	static const char	*changed[] = { "start", "die", "restart",
				    "oom", "stop", "pause", "unpause",
				    "update" };
	struct svc		*s;
	struct ctr		*c;
	size_t			 i;
	int			 what = 0;

	for (i = 0; i < nitems(relist); i++)
		if (strcmp(ev->action, relist[i]) == 0)
			what = 1;
	for (i = 0; i < nitems(changed); i++)
		if (strcmp(ev->action, changed[i]) == 0)
			what = 2;
	if (what == 0 || ev->service_id[0] == '\0' ||
	    strcmp(ev->instance, rec->instance) != 0)
		return;
	if ((s = svc_find(ev->service_id)) == NULL) {
		/* A container of a service we do not know: an orphan. */
		if (!rec->synced)
			return;
		s = svc_get(ev->service_id);
	}
	rec->ev_seq++;
	s->ev_seq = rec->ev_seq;
	if (what == 2 && (c = svc_ctr_find(s, ev->id)) != NULL)
		c->dirty = 1;
	else
		s->stale = 1;
	log_debug("event %s on %.12s of service %s", ev->action, ev->id,
	    s->id);
	logs_event(s, ev);
	queue_add(rec->q, s->id);
}

static void
events_event(const struct drv_event *ev, void *arg)
{
	if (ev == NULL) {
		log_debug("events stream open");
		rec->events_ok = 1;
		rec_engine_changed();
		backoff_s = 1;
		if (broken) {
			/* Events may have gone by unseen: look at all. */
			broken = 0;
			rec_resync();
		}
		return;
	}
	if (ev->time_nano >= since_ns)
		since_ns = ev->time_nano + 1;
	events_apply(ev);
}

static void
events_done(const struct drv_res *res, void *arg)
{
	struct svc	*s;
	struct timeval	 tv = { 0, 0 };

	stream = NULL;
	if (res->code == DRV_OK && rec->events_ok) {
		/* The window ended: the next one starts where it ended. */
		if (since_ns < until_s * 1000000000)
			since_ns = until_s * 1000000000;
		events_open();
		return;
	}
	log_warnx("events stream: %s", res->code == DRV_OK ?
	    "ended early" : res->err);
	rec->events_ok = 0;
	rec_engine_changed();
	broken = 1;
	RB_FOREACH(s, svcs, &rec->svcs)
		s->stale = 1;
	if (res->code == DRV_UNREACHABLE)
		rec_docker_trouble();
	tv.tv_sec = backoff_s;
	backoff_s = MINIMUM(backoff_s * 2, EVENTS_BACKOFF_MAX_S);
	evtimer_add(retry_ev, &tv);
}

static void
events_open(void)
{
	struct drv_kv	 labels[3];
	size_t		 n;

	if (stream != NULL || rec->instance[0] == '\0')
		return;
	if (since_ns == 0)
		since_ns = now_ns();
	until_s = (int64_t)time(NULL) + EVENTS_WINDOW_S;
	rec_labels(labels, &n, NULL);
	stream = rec->drv->events(labels, n, since_ns, until_s, events_event,
	    events_done, NULL);
}

void
events_start(void)
{
	if (retry_ev == NULL && (retry_ev = evtimer_new(rec->base,
	    events_retry, NULL)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	if (evtimer_pending(retry_ev, NULL))
		return;
	events_open();
}

/* Docker is back: do not wait for the backoff. */
void
events_kick(void)
{
	if (stream != NULL || retry_ev == NULL)
		return;
	evtimer_del(retry_ev);
	events_open();
}

void
events_stop(void)
{
	if (stream != NULL)
		rec->drv->stream_cancel(stream);
	stream = NULL;
	rec->events_ok = 0;
	if (retry_ev != NULL)
		evtimer_del(retry_ev);
}
