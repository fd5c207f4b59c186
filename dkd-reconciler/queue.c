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
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "compat.h"
#include "log.h"
#include "reconciler.h"

/*
 * The work queue of spec 13.1, on one event loop: keys are handed out
 * in FIFO order; adding a key that waits is a no-op; a key being
 * processed is never handed out again before queue_done(), and one
 * added meanwhile ("dirty") goes to the back of the line on Done.
 * queue_add_after() delays an Add (the earliest of several wins);
 * queue_add_rate_limited() delays it by 1 s doubling up to 30 s per
 * failure until queue_forget().  With a process function the queue
 * hands keys out by itself, at most max_in_flight at a time, from a
 * deferred event so that an Add never runs a pass inside its caller.
 */

struct qitem {
	RB_ENTRY(qitem)		 entry;
	TAILQ_ENTRY(qitem)	 fifo;
	struct queue		*q;
	char			*key;
	int			 dirty;		/* wants processing */
	int			 processing;
	int			 infifo;
	int			 failures;
	struct event		*timer;
	uint64_t		 due;		/* monotonic ms */
	int			 backoff;	/* a rate limit */
};

RB_HEAD(qitems, qitem);

struct queue {
	struct event_base	*base;
	const char		*name;
	int			 max_in_flight;
	queue_fn		 process;
	void			*arg;
	struct qitems		 items;
	TAILQ_HEAD(, qitem)	 fifo;
	struct event		*dispatch_ev;
	int			 in_flight;
	int			 waiting;
	int			 timers;
	int			 backing_off;
	int			 shut;
	void			(*changed)(void *);
	void			*changed_arg;
};

static int	qitem_cmp(struct qitem *, struct qitem *);
RB_PROTOTYPE_STATIC(qitems, qitem, entry, qitem_cmp)
RB_GENERATE_STATIC(qitems, qitem, entry, qitem_cmp)

static struct qitem *qitem_get(struct queue *, const char *, int);
static void	qitem_gc(struct qitem *);
static void	queue_timer(int, short, void *);
static void	queue_dispatch(int, short, void *);
static void	queue_kick(struct queue *);
static void	queue_changed(struct queue *);

static int
qitem_cmp(struct qitem *a, struct qitem *b)
{
	return (strcmp(a->key, b->key));
}

uint64_t
queue_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* The delay after the n-th failure in a row: 1 s doubling, at most 30. */
uint64_t
queue_backoff_ms(int failures)
{
	uint64_t	 ms = QUEUE_BACKOFF_BASE_MS;

	if (failures <= 1)
		return (ms);
	while (--failures > 0 && ms < QUEUE_BACKOFF_MAX_MS)
		ms *= 2;
	return (MINIMUM(ms, QUEUE_BACKOFF_MAX_MS));
}

struct queue *
queue_new(struct event_base *base, const char *name, int max_in_flight,
    queue_fn process, void *arg)
{
	struct queue	*q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatal("%s", __func__);
	q->base = base;
	q->name = name;
	q->max_in_flight = max_in_flight;
	q->process = process;
	q->arg = arg;
	RB_INIT(&q->items);
	TAILQ_INIT(&q->fifo);
	if ((q->dispatch_ev = event_new(base, -1, 0, queue_dispatch,
	    q)) == NULL)
		fatalx("%s: event_new", __func__);
	return (q);
}

/* Call fn after any change to the counts of queue_stats(). */
void
queue_on_change(struct queue *q, void (*fn)(void *), void *arg)
{
	q->changed = fn;
	q->changed_arg = arg;
}

static void
queue_changed(struct queue *q)
{
	if (q->changed != NULL)
		q->changed(q->changed_arg);
}

static struct qitem *
qitem_get(struct queue *q, const char *key, int create)
{
	struct qitem	 k, *it;

	k.key = (char *)key;
	if ((it = RB_FIND(qitems, &q->items, &k)) != NULL || !create)
		return (it);
	if ((it = calloc(1, sizeof(*it))) == NULL ||
	    (it->key = strdup(key)) == NULL)
		fatal("%s", __func__);
	it->q = q;
	RB_INSERT(qitems, &q->items, it);
	return (it);
}

/* Forget an item that holds no state any more. */
static void
qitem_gc(struct qitem *it)
{
	if (it->dirty || it->processing || it->timer != NULL ||
	    it->failures > 0)
		return;
	RB_REMOVE(qitems, &it->q->items, it);
	free(it->key);
	free(it);
}

void
queue_add(struct queue *q, const char *key)
{
	struct qitem	*it;

	if (q->shut)
		return;
	it = qitem_get(q, key, 1);
	if (it->dirty)
		return;
	it->dirty = 1;
	if (it->processing)
		return;
	TAILQ_INSERT_TAIL(&q->fifo, it, fifo);
	it->infifo = 1;
	q->waiting++;
	queue_kick(q);
	queue_changed(q);
}

static void
queue_set_timer(struct queue *q, struct qitem *it, uint64_t ms, int backoff)
{
	struct timeval	 tv;
	uint64_t	 due = queue_now_ms() + ms;

	if (it->timer != NULL) {
		if (it->due <= due)
			return;
		event_free(it->timer);
		it->timer = NULL;
		q->timers--;
		if (it->backoff)
			q->backing_off--;
	}
	if ((it->timer = evtimer_new(q->base, queue_timer, it)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	it->due = due;
	it->backoff = backoff;
	q->timers++;
	if (backoff)
		q->backing_off++;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(it->timer, &tv);
	queue_changed(q);
}

void
queue_add_after(struct queue *q, const char *key, uint64_t ms)
{
	if (q->shut)
		return;
	if (ms == 0) {
		queue_add(q, key);
		return;
	}
	queue_set_timer(q, qitem_get(q, key, 1), ms, 0);
}

/* Add after the backoff that the key's failures in a row call for. */
void
queue_add_rate_limited(struct queue *q, const char *key)
{
	struct qitem	*it;

	if (q->shut)
		return;
	it = qitem_get(q, key, 1);
	it->failures++;
	queue_set_timer(q, it, queue_backoff_ms(it->failures), 1);
}

void
queue_forget(struct queue *q, const char *key)
{
	struct qitem	*it;

	if ((it = qitem_get(q, key, 0)) == NULL)
		return;
	it->failures = 0;
	qitem_gc(it);
}

int
queue_failures(struct queue *q, const char *key)
{
	struct qitem	*it;

	if ((it = qitem_get(q, key, 0)) == NULL)
		return (0);
	return (it->failures);
}

static void
queue_timer(int fd, short event, void *arg)
{
	struct qitem	*it = arg;
	struct queue	*q = it->q;

	event_free(it->timer);
	it->timer = NULL;
	q->timers--;
	if (it->backoff)
		q->backing_off--;
	it->backoff = 0;
	if (it->dirty) {
		qitem_gc(it);
		queue_changed(q);
		return;
	}
	queue_add(q, it->key);
}

/*
 * The next key to process, or NULL: none waits, the queue is shut, or
 * max_in_flight keys are out.  The key stays valid until queue_done().
 */
const char *
queue_get(struct queue *q)
{
	struct qitem	*it;

	if (q->shut || q->in_flight >= q->max_in_flight ||
	    (it = TAILQ_FIRST(&q->fifo)) == NULL)
		return (NULL);
	TAILQ_REMOVE(&q->fifo, it, fifo);
	it->infifo = 0;
	q->waiting--;
	it->dirty = 0;
	it->processing = 1;
	q->in_flight++;
	queue_changed(q);
	return (it->key);
}

void
queue_done(struct queue *q, const char *key)
{
	struct qitem	*it;

	if ((it = qitem_get(q, key, 0)) == NULL || !it->processing) {
		log_warnx("%s: %s: done with %s, which was not out",
		    __func__, q->name, key);
		return;
	}
	it->processing = 0;
	q->in_flight--;
	if (it->dirty && !q->shut) {
		TAILQ_INSERT_TAIL(&q->fifo, it, fifo);
		it->infifo = 1;
		q->waiting++;
	} else {
		it->dirty = 0;
		qitem_gc(it);
	}
	queue_kick(q);
	queue_changed(q);
}

int
queue_processing(struct queue *q, const char *key)
{
	struct qitem	*it;

	return ((it = qitem_get(q, key, 0)) != NULL && it->processing);
}

void
queue_stats(struct queue *q, struct queue_stats *st)
{
	st->in_flight = q->in_flight;
	st->waiting = q->waiting;
	st->backing_off = q->backing_off;
	st->delayed = q->timers - q->backing_off;
}

static void
queue_kick(struct queue *q)
{
	if (q->process == NULL || q->shut || q->in_flight >= q->max_in_flight ||
	    TAILQ_EMPTY(&q->fifo))
		return;
	event_active(q->dispatch_ev, 0, 0);
}

static void
queue_dispatch(int fd, short event, void *arg)
{
	struct queue	*q = arg;
	const char	*key;

	while ((key = queue_get(q)) != NULL)
		q->process(q, key, q->arg);
}

/*
 * Stop handing keys out and drop every timer and waiting key.  Keys
 * being processed may still be done; queue_free() after that.
 */
void
queue_shutdown(struct queue *q)
{
	struct qitem	*it, *next;

	q->shut = 1;
	event_del(q->dispatch_ev);
	RB_FOREACH_SAFE(it, qitems, &q->items, next) {
		if (it->timer != NULL) {
			event_free(it->timer);
			it->timer = NULL;
		}
		if (it->infifo) {
			TAILQ_REMOVE(&q->fifo, it, fifo);
			it->infifo = 0;
		}
		it->dirty = 0;
		it->failures = 0;
		qitem_gc(it);
	}
	q->waiting = q->timers = q->backing_off = 0;
}

void
queue_free(struct queue *q)
{
	struct qitem	*it, *next;

	if (q == NULL)
		return;
	queue_shutdown(q);
	RB_FOREACH_SAFE(it, qitems, &q->items, next) {
		RB_REMOVE(qitems, &q->items, it);
		free(it->key);
		free(it);
	}
	event_free(q->dispatch_ev);
	free(q);
}
