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

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "compat.h"
#include "log.h"
#include "reconciler.h"
#include "worker.h"

/*
 * Log streams (issue 9, RECONCILER-PROTOCOL "Log streams"): one Docker
 * follow stream per running managed container (and one per look at a
 * container that has run and stopped: a container that crashes at once
 * may never be seen running, yet its lines are what a failed deployment
 * is read for; Docker sends what is there and ends the stream), its raw
 * bytes written into a pipe whose read end goes to the master once, as
 * IMSG_REC_LOGSTREAM, for logd.  logd parses the framing; the
 * reconciler never looks at the bytes.  A stream starts from the last
 * timestamp logd stored for the container (IMSG_REC_LOGMARK), so a
 * restart of either side sends no line twice.  When logd reads slowly
 * the pipe fills: a little is kept here, then the Docker stream is
 * paused until the pipe drains, so a slow reader costs no memory.  The
 * stream ends with the container; the pipe is closed, logd sees EOF.
 *
 * Docker writes each line on its own.  Passed on as they came, a busy
 * container cost logd, dkd-api and the browser a wake-up every line or
 * two, and on a small machine that CPU is what dockerd needs to send
 * the lines.  So the first line after a quiet spell goes at once, and
 * while lines keep coming they are gathered for LOGS_GATHER_USEC and go
 * on as one write.  (Reading Docker's socket less often would save our
 * wake-ups too, but its send buffer holds only some tens of one-line
 * writes: a 1 ms pause between reads held a stream to 30k lines/s.)
 *
 * When the reader goes (logd died: the pipe's read end closes, which
 * the write end reports as an error even while idle), the stream is
 * opened again after a delay, with a new pipe through the master to the
 * new logd, which drops what it already has.
 */

/* Kept per stream while the reader is behind. */
#define LOGS_BUF_MAX	(256 * 1024)
/* How long a busy stream's bytes are gathered, and how many at most. */
#define LOGS_GATHER_USEC	1000
#define LOGS_GATHER_MAX		(32 * 1024)
#define LOGS_MARKS_MAX	10000
#define MARK_MAX	64
#define RETRY_MAX_SEC	30	/* between attempts to reopen a stream */
#define RETRY_RESET_SEC	10	/* a stream that lived this long was fine */

struct lstream {
	TAILQ_ENTRY(lstream)	 entry;
	struct msg_logstream	 meta;		/* what logd is told */
	int			 wfd;
	struct drv_stream	*st;
	struct event		*wev;
	struct event		*hup;		/* the reader went away */
	struct event		*retry;
	struct event		*gather;	/* gathering is over */
	char			*buf;
	size_t			 len;
	int64_t			 written;	/* when, in microseconds */
	int			 paused;	/* until the pipe drains */
	int			 gathering;
	int			 ended;		/* Docker is done */
	int			 tries;
	time_t			 opened;
};

struct mark {
	TAILQ_ENTRY(mark)	 entry;
	char			 id[DRV_ID_MAX + 1];
	char			 last[MARK_MAX];
};

static TAILQ_HEAD(, lstream)	 streams = TAILQ_HEAD_INITIALIZER(streams);
static TAILQ_HEAD(, mark)	 marks = TAILQ_HEAD_INITIALIZER(marks);
static size_t			 nmarks;

static void	lstream_free(struct lstream *);
static int	lstream_open(struct lstream *);
static void	lstream_lost(struct lstream *);
static void	lstream_writable(int, short, void *);

static struct lstream *
lstream_find(const char *id)
{
	struct lstream	*ls;

	TAILQ_FOREACH(ls, &streams, entry)
		if (strcmp(ls->meta.container_id, id) == 0)
			return (ls);
	return (NULL);
}

/*
 * The mark of container id; a logd that has just started knows only the
 * first 12 digits of each, so a mark of a shorter id matches its start.
 */
static struct mark *
mark_find(const char *id)
{
	struct mark	*m, *part = NULL;

	TAILQ_FOREACH(m, &marks, entry) {
		if (strcmp(m->id, id) == 0)
			return (m);
		if (part == NULL && strncmp(m->id, id, strlen(m->id)) == 0)
			part = m;
	}
	return (part);
}

/*
 * Docker's RFC 3339 nano time as its ?since= wants it, seconds and a
 * fraction; "0" (from the start) when there is no usable mark.
 */
static void
since_param(const char *id, char *out, size_t len)
{
	struct mark	*m = mark_find(id);
	const char	*frac;
	char		 digits[10];
	int64_t		 ms;
	size_t		 n = 0;

	strlcpy(out, "0", len);
	if (m == NULL || (ms = dparse_time(m->last)) <= 0)
		return;
	memset(digits, '0', 9);
	digits[9] = '\0';
	if ((frac = strchr(m->last, '.')) != NULL)
		for (frac++; n < 9 && frac[n] >= '0' && frac[n] <= '9'; n++)
			digits[n] = frac[n];
	(void)snprintf(out, len, "%lld.%s", (long long)(ms / 1000), digits);
}

static int64_t
now_usec(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static void
lstream_close_pipe(struct lstream *ls)
{
	struct event	**evs[] = { &ls->wev, &ls->hup, &ls->gather };
	size_t		  i;

	for (i = 0; i < nitems(evs); i++) {
		if (*evs[i] != NULL) {
			event_free(*evs[i]);
			*evs[i] = NULL;
		}
	}
	ls->gathering = 0;
	if (ls->wfd != -1) {
		close(ls->wfd);
		ls->wfd = -1;
	}
}

static void
lstream_free(struct lstream *ls)
{
	if (ls->st != NULL)
		rec->drv->stream_cancel(ls->st);
	lstream_close_pipe(ls);
	if (ls->retry != NULL)
		event_free(ls->retry);
	TAILQ_REMOVE(&streams, ls, entry);
	free(ls->buf);
	free(ls);
}

/* Write what is kept; -1 when logd has gone (the read end is closed). */
static int
lstream_flush(struct lstream *ls)
{
	ssize_t	 n;

	while (ls->len > 0) {
		if ((n = write(ls->wfd, ls->buf, ls->len)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return (-1);
		}
		memmove(ls->buf, ls->buf + n, ls->len - (size_t)n);
		ls->len -= (size_t)n;
		ls->written = now_usec();
	}
	if (ls->len > 0)
		event_add(ls->wev, NULL);
	return (0);
}

static void
lstream_writable(int fd, short event, void *arg)
{
	struct lstream	*ls = arg;

	if (lstream_flush(ls) == -1) {
		lstream_lost(ls);
		return;
	}
	if (ls->len == 0 && ls->ended) {
		lstream_free(ls);
		return;
	}
	if (ls->paused && ls->len < LOGS_BUF_MAX / 2) {
		ls->paused = 0;
		rec->drv->stream_resume(ls->st);
	}
}

static void
lstream_gathered(int fd, short event, void *arg)
{
	struct lstream	*ls = arg;

	ls->gathering = 0;
	lstream_writable(ls->wfd, EV_WRITE, ls);
}

/*
 * Bytes of Docker's stream: kept, and written once the loop comes round,
 * or gathered a while if the stream is busy (see the top).  libcurl
 * hands over each HTTP chunk (one log line each) on its own.
 */
static int
lstream_bytes(const char *data, size_t len, void *arg)
{
	struct lstream	*ls = arg;
	struct timeval	 tv;
	int64_t		 since;

	if (ls->wfd == -1)
		return (-1);
	if (data == NULL || len == 0)
		return (0);
	if (ls->len + len > LOGS_BUF_MAX) {
		/* Full: Docker holds the bytes until the pipe drains. */
		ls->paused = 1;
		event_add(ls->wev, NULL);
		return (1);
	}
	if (ls->buf == NULL && (ls->buf = malloc(LOGS_BUF_MAX)) == NULL)
		fatal("%s", __func__);
	memcpy(ls->buf + ls->len, data, len);
	ls->len += len;
	if (ls->len >= LOGS_GATHER_MAX) {
		event_add(ls->wev, NULL);
		return (0);
	}
	if (ls->gathering)
		return (0);
	since = now_usec() - ls->written;
	if (since >= LOGS_GATHER_USEC) {
		event_add(ls->wev, NULL);
		return (0);
	}
	ls->gathering = 1;
	tv.tv_sec = 0;
	tv.tv_usec = LOGS_GATHER_USEC - since;
	evtimer_add(ls->gather, &tv);
	return (0);
}

static void
lstream_done(const struct drv_res *res, void *arg)
{
	struct lstream	*ls = arg;

	ls->st = NULL;
	if (res->code != DRV_OK)
		log_debug("log stream %.12s: %s", ls->meta.container_id,
		    res->err);
	ls->ended = 1;
	if (ls->len == 0 || ls->wfd == -1)
		lstream_free(ls);
}

static void
lstream_retry(int fd, short event, void *arg)
{
	struct lstream	*ls = arg;

	if (lstream_open(ls) == -1)
		lstream_lost(ls);
}

static void
lstream_hup(int fd, short event, void *arg)
{
	lstream_lost(arg);
}

/*
 * The reader is gone.  A container that still runs is followed again
 * after a while (1 s, doubling up to RETRY_MAX_SEC while attempts fail
 * quickly); one whose stream Docker had ended is done with.
 */
static void
lstream_lost(struct lstream *ls)
{
	struct timeval	 tv = { 1, 0 };

	log_debug("log stream %.12s: reader gone", ls->meta.container_id);
	if (ls->ended) {
		lstream_free(ls);
		return;
	}
	if (ls->st != NULL) {
		rec->drv->stream_cancel(ls->st);
		ls->st = NULL;
	}
	lstream_close_pipe(ls);
	ls->len = 0;
	ls->paused = 0;
	if (time(NULL) - ls->opened >= RETRY_RESET_SEC)
		ls->tries = 0;
	tv.tv_sec = ls->tries < 5 ? 1 << ls->tries : RETRY_MAX_SEC;
	if (tv.tv_sec > RETRY_MAX_SEC)
		tv.tv_sec = RETRY_MAX_SEC;
	ls->tries++;
	if (ls->retry == NULL && (ls->retry = evtimer_new(rec->base,
	    lstream_retry, ls)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	evtimer_add(ls->retry, &tv);
}

/*
 * A pipe whose read end goes to the master before any byte is written,
 * and Docker's stream from where logd's history of the container ends.
 */
static int
lstream_open(struct lstream *ls)
{
	struct wbuf		 wb;
	char			 since[64];
	int			 fds[2];

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("%s: pipe2", __func__);
		return (-1);
	}
	wbuf_init(&wb, 4096);
	msg_logstream_put(&wb, &ls->meta);
	/* The read end is the queue's now, closed once sent. */
	if (worker_send(IMSG_REC_LOGSTREAM, 0, fds[0], &wb) == -1) {
		log_warn("%s: send", __func__);
		close(fds[0]);
		close(fds[1]);
		wbuf_free(&wb);
		return (-1);
	}
	wbuf_free(&wb);
	ls->wfd = fds[1];
	if ((ls->wev = event_new(rec->base, ls->wfd, EV_WRITE,
	    lstream_writable, ls)) == NULL ||
	    (ls->hup = event_new(rec->base, ls->wfd, EV_READ,
	    lstream_hup, ls)) == NULL ||
	    (ls->gather = evtimer_new(rec->base, lstream_gathered,
	    ls)) == NULL)
		fatalx("%s: event_new", __func__);
	/* Never readable: it fires only with the error of a closed reader. */
	if (event_add(ls->hup, NULL) == -1)
		fatalx("%s: event_add", __func__);
	ls->opened = time(NULL);
	since_param(ls->meta.container_id, since, sizeof(since));
	log_debug("log stream %.12s since %s", ls->meta.container_id,
	    since);
	ls->st = rec->drv->logs_follow(ls->meta.container_id, since,
	    lstream_bytes, lstream_done, ls);
	return (0);
}

/* Has the container run, so that Docker may hold lines of it? */
static int
has_run(const char *status)
{
	return (strcmp(status, "running") == 0 ||
	    strcmp(status, "restarting") == 0 ||
	    strcmp(status, "paused") == 0 ||
	    strcmp(status, "exited") == 0 ||
	    strcmp(status, "dead") == 0);
}

/*
 * A container of s is seen: follow its logs if nobody does.  For one
 * that has stopped, Docker sends the lines since logd's mark and ends.
 */
void
logs_ctr_seen(struct svc *s, struct ctr *c)
{
	struct lstream	*ls;

	if (!c->inspected || !has_run(c->insp.status) ||
	    c->deployment_id[0] == '\0' || c->project_id[0] == '\0' ||
	    lstream_find(c->id) != NULL)
		return;
	if ((ls = calloc(1, sizeof(*ls))) == NULL)
		fatal("%s", __func__);
	strlcpy(ls->meta.container_id, c->id, sizeof(ls->meta.container_id));
	strlcpy(ls->meta.service_id, s->id, sizeof(ls->meta.service_id));
	strlcpy(ls->meta.project_id, c->project_id,
	    sizeof(ls->meta.project_id));
	strlcpy(ls->meta.deployment_id, c->deployment_id,
	    sizeof(ls->meta.deployment_id));
	ls->meta.tty = c->insp.tty;
	ls->wfd = -1;
	TAILQ_INSERT_TAIL(&streams, ls, entry);
	if (lstream_open(ls) == -1)
		lstream_free(ls);
}

/* The container is gone from our view: its stream, if any, ends. */
void
logs_ctr_gone(struct ctr *c)
{
	struct lstream	*ls;
	struct mark	*m;

	if ((ls = lstream_find(c->id)) != NULL) {
		/* What is kept is lost with the pipe; logd has the rest. */
		lstream_free(ls);
	}
	while ((m = mark_find(c->id)) != NULL) {
		TAILQ_REMOVE(&marks, m, entry);
		nmarks--;
		free(m);
	}
}

void
logs_event(struct svc *s, const struct drv_event *ev)
{
	/* A start is followed by an inspect, which calls logs_ctr_seen. */
}

/* IMSG_REC_LOGMARK {container_id, last}: where logd's history ends. */
void
logs_mark(struct rbuf *r)
{
	struct msg_logmark	 lm;
	struct mark		*m;

	if (msg_logmark_get(r, &lm) == -1 || dparse_time(lm.last) < 0) {
		/* At worst a stream starts from the start: no reason to die. */
		log_warnx("IMSG_REC_LOGMARK: no usable container or time");
		return;
	}
	if ((m = mark_find(lm.container_id)) == NULL) {
		if (nmarks >= LOGS_MARKS_MAX) {
			/* The oldest goes; at worst logd drops a repeat. */
			m = TAILQ_FIRST(&marks);
			TAILQ_REMOVE(&marks, m, entry);
			nmarks--;
			free(m);
		}
		if ((m = calloc(1, sizeof(*m))) == NULL)
			fatal("%s", __func__);
		strlcpy(m->id, lm.container_id, sizeof(m->id));
		TAILQ_INSERT_TAIL(&marks, m, entry);
		nmarks++;
	}
	strlcpy(m->last, lm.last, sizeof(m->last));
}

void
logs_shutdown(void)
{
	struct lstream	*ls;

	/* Exit closes the pipes; logd sees EOF on each. */
	TAILQ_FOREACH(ls, &streams, entry) {
		if (ls->wev != NULL)
			event_del(ls->wev);
		if (ls->hup != NULL)
			event_del(ls->hup);
		if (ls->retry != NULL)
			event_del(ls->retry);
		if (ls->gather != NULL)
			event_del(ls->gather);
	}
}
