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
#include <sys/queue.h>
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "logd.h"
#include "logtime.h"
#include "worker.h"

/*
 * dkd-logd: the log streamer.  The reconciler reads Docker's log
 * streams and writes the bytes into pipes whose read ends reach us
 * through the master, so logd holds nothing it could send Docker a
 * request with.  Each stream is demultiplexed into lines (demux.c),
 * stored (store.c) and fanned out to viewers (subs.c), whose sockets
 * also come from the master once it has authorised them.
 */

#define STREAMS_MAX		1024
#define STREAM_READ		(64 * 1024)
#define STREAM_TURN		(1024 * 1024)	/* bytes per callback */
#define META_SEC		2	/* save marks this often */
#define EXPIRE_SEC		60
#define LOGD_NOFILE		4096
#define MARKS_TOLD_PER_SVC	16	/* at start: containers per service */
#define MARKS_TOLD_MAX		4096	/* and in all */

struct stream {
	TAILQ_ENTRY(stream)	 entry;
	struct svc		*svc;
	char			 cid[MSG_CONTAINER_ID_MAX + 1];
	int			 fd;
	struct event		*ev;
	struct demux		 dm;
	int64_t			 cutoff;	/* stored up to here */
	int			 replay;	/* still at or before it */
};

static TAILQ_HEAD(, stream) streams = TAILQ_HEAD_INITIALIZER(streams);
static int		 nstreams;
static struct worker	 logd_worker;
static struct event	*meta_ev, *expire_ev;
static uint8_t		 readbuf[STREAM_READ];
static size_t		 marks_told;

static int	logd_dispatch(struct imsg *);
static void	logd_reconfigure(void);
static void	logd_shutdown(void);
static void	logd_limits(struct store_limits *);
static void	logd_tick(int, short, void *);
static void	logd_expire(int, short, void *);
static int	logd_view(struct imsg *);
static void	stream_open(int, const struct msg_logstream *);
static void	stream_read(int, short, void *);
static void	stream_line(const struct demux_line *, void *);
static void	stream_close(struct stream *, int);
static void	logd_marks_tell(int, short, void *);
static void	logd_mark_once(const char *, int64_t);

int
main(int argc, char *argv[])
{
	struct worker		*w = &logd_worker;
	struct store_limits	 l;
	struct timeval		 tv = { META_SEC, 0 };
	struct rlimit		 rl;

	worker_init(w, PROC_LOGD, "logd", argc, argv);
	w->dispatch = logd_dispatch;
	w->reconfigure = logd_reconfigure;
	w->shutdown = logd_shutdown;
	worker_config();
	if ((w->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	/* A descriptor per stream, per viewer and per segment read. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < LOGD_NOFILE) {
		rl.rlim_cur = MINIMUM(rl.rlim_max, LOGD_NOFILE);
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Its jail's root is root's; what logd writes goes here. */
	w->sandbox.workdir = LOGD_DATA_DIR;
	sandbox_enter(&w->sandbox, PROC_LOGD);

	logd_limits(&l);
	store_init(&l);
	if (store_load() == -1)
		fatalx("cannot read the log directory");
	subs_init(w->base);
	if ((meta_ev = event_new(w->base, -1, EV_PERSIST, logd_tick,
	    NULL)) == NULL || event_add(meta_ev, &tv) == -1)
		fatalx("%s: timer", __func__);
	tv.tv_sec = EXPIRE_SEC;
	if ((expire_ev = event_new(w->base, -1, EV_PERSIST, logd_expire,
	    NULL)) == NULL || event_add(expire_ev, &tv) == -1)
		fatalx("%s: timer", __func__);
	store_expire(time(NULL));
	/* Right after READY: the marks of what logd has, for the reconciler. */
	tv.tv_sec = 0;
	if (event_base_once(w->base, -1, EV_TIMEOUT, logd_marks_tell, NULL,
	    &tv) == -1)
		fatalx("%s: event_base_once", __func__);
	worker_run();
	/* NOTREACHED */
	return (0);
}

static void
logd_limits(struct store_limits *l)
{
	const struct dkd_settings	*s = &worker->settings;

	memset(l, 0, sizeof(*l));
	l->svc_bytes = s->log_retention_bytes;
	l->max_age_sec = s->log_retention_sec;
	l->budget = s->log_budget_bytes;
	/* An old master sends none: the defaults of dkd.conf(5). */
	if (l->svc_bytes == 0)
		l->svc_bytes = 16 * 1024 * 1024;
	if (l->budget == 0)
		l->budget = 1024ULL * 1024 * 1024;
}

static void
logd_reconfigure(void)
{
	struct store_limits	 l;

	logd_limits(&l);
	store_set_limits(&l);
}

static void
logd_shutdown(void)
{
	struct stream	*st;

	while ((st = TAILQ_FIRST(&streams)) != NULL)
		stream_close(st, 0);
	subs_shutdown();
	store_shutdown();
}

/* Tell the master how far logd's history of container cid goes. */
void
logd_mark(const char *cid, int64_t last)
{
	struct msg_logmark	 m;
	struct wbuf		 wb;

	memset(&m, 0, sizeof(m));
	strlcpy(m.container_id, cid, sizeof(m.container_id));
	logtime_format(last, m.last);
	logtime_unix(last, m.last_unix);
	wbuf_init(&wb, 512);
	msg_logmark_put(&wb, &m);
	if (worker_send(IMSG_LOGD_MARK, 0, -1, &wb) == -1)
		log_warn("%s: compose", __func__);
	wbuf_free(&wb);
}

static void
logd_mark_once(const char *cid, int64_t last)
{
	if (marks_told++ < MARKS_TOLD_MAX)
		logd_mark(cid, last);
}

/*
 * A logd that starts knows only 12 digits of each container it has,
 * which is enough for the reconciler; it tells the newest few of each
 * service, so that the streams it gets again (the old logd's went with
 * it) start where its history ends, not from the first line.
 */
static void
logd_marks_tell(int fd, short event, void *arg)
{
	marks_told = 0;
	store_marks_each(MARKS_TOLD_PER_SVC, logd_mark_once);
}

static void
logd_tick(int fd, short event, void *arg)
{
	store_save_all();
}

static void
logd_expire(int fd, short event, void *arg)
{
	store_expire(time(NULL));
}

/* Messages from the master; -1 for one that should not be. */
static int
logd_dispatch(struct imsg *imsg)
{
	struct msg_logstream	 ls;
	struct stream		*st, *next;
	struct svc		*s;
	struct rbuf		 r;
	char			 id[MSG_SERVICE_ID_MAX + 1];
	int			 fd;

	rbuf_init(&r, imsg->data, imsg->len);
	switch (imsg->hdr.type) {
	case IMSG_LOGD_STREAM:
		if (imsg->fd == -1 || msg_logstream_get(&r, &ls) == -1)
			return (-1);
		fd = imsg_get_fd(imsg);
		stream_open(fd, &ls);
		return (0);
	case IMSG_LOGD_VIEW:
		return (logd_view(imsg));
	case IMSG_LOGD_FORGET:
		if (imsg->fd != -1 ||
		    msg_logforget_get(&r, id, sizeof(id)) == -1)
			return (-1);
		if ((s = store_svc(id, 0)) == NULL)
			return (0);
		TAILQ_FOREACH_SAFE(st, &streams, entry, next)
			if (st->svc == s)
				stream_close(st, 0);
		subs_forget(s);
		store_forget(s);
		log_debug("forgot the history of %s", id);
		return (0);
	}
	return (-1);
}

static int
logd_view(struct imsg *imsg)
{
	struct msg_logview	 lv;
	struct rbuf		 r;
	struct wbuf		 wb;
	int			 fd, status;

	rbuf_init(&r, imsg->data, imsg->len);
	if (imsg->fd == -1 || msg_logview_get(&r, &lv) == -1)
		return (-1);
	fd = imsg_get_fd(imsg);
	switch (subs_open(fd, &lv)) {
	case SUBS_OK:
		status = MSG_VIEW_OK;
		break;
	case SUBS_NONE:
		status = MSG_VIEW_NONE;
		break;
	default:
		status = MSG_VIEW_BUSY;
		break;
	}
	wbuf_init(&wb, 64);
	msg_logview_ack_put(&wb, status);
	if (worker_send(IMSG_LOGD_VIEW_ACK, imsg->hdr.peerid, -1, &wb) == -1)
		fatal("%s: compose", __func__);
	wbuf_free(&wb);
	return (0);
}

/* ------------------------------------------------------------ streams */

static void
stream_open(int fd, const struct msg_logstream *ls)
{
	struct stream	*st;
	struct svc	*s;
	int		 fl;

	if (nstreams >= STREAMS_MAX) {
		log_warnx("%d log streams already; refusing the one of %.12s",
		    nstreams, ls->container_id);
		close(fd);
		return;
	}
	if ((s = store_svc(ls->service_id, 1)) == NULL ||
	    (st = calloc(1, sizeof(*st))) == NULL) {
		close(fd);
		return;
	}
	st->svc = s;
	st->fd = fd;
	strlcpy(st->cid, ls->container_id, sizeof(st->cid));
	demux_init(&st->dm, ls->tty, stream_line, st);
	/* A stream that starts over must not store lines twice. */
	st->cutoff = store_mark(s, st->cid);
	st->replay = st->cutoff > 0;
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    (st->ev = event_new(worker->base, fd, EV_READ | EV_PERSIST,
	    stream_read, st)) == NULL || event_add(st->ev, NULL) == -1) {
		log_warn("%s", __func__);
		if (st->ev != NULL)
			event_free(st->ev);
		demux_free(&st->dm);
		close(fd);
		free(st);
		store_release(s);
		return;
	}
	s->nstreams++;
	nstreams++;
	TAILQ_INSERT_TAIL(&streams, st, entry);
	log_debug("stream of container %.12s (service %s)%s", st->cid, s->id,
	    ls->tty ? ", tty" : "");
}

static void
stream_read(int fd, short event, void *arg)
{
	struct stream	*st = arg;
	struct svc	*s = st->svc;
	ssize_t		 n;
	size_t		 got = 0;

	while (got < STREAM_TURN) {
		if ((n = read(fd, readbuf, sizeof(readbuf))) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			log_warn("stream of %.12s", st->cid);
			stream_close(st, 1);
			return;
		}
		if (n == 0) {
			stream_close(st, 1);
			return;
		}
		got += (size_t)n;
		if (demux_feed(&st->dm, readbuf, (size_t)n) == -1) {
			log_warnx("stream of %.12s: not Docker's framing; "
			    "closed", st->cid);
			stream_close(st, 1);
			return;
		}
	}
	store_flush(s);
	subs_flush(s);
}

static void
stream_line(const struct demux_line *l, void *arg)
{
	struct stream	*st = arg;
	struct rec	 rec;

	/* Docker sends again what is as old as "since": drop it. */
	if (st->replay) {
		if (l->ts != 0 && l->ts <= st->cutoff)
			return;
		st->replay = 0;
	}
	memset(&rec, 0, sizeof(rec));
	rec.stream = l->stream;
	rec.flags = l->cut ? REC_CUT : 0;
	rec.ts = l->ts != 0 ? l->ts : logtime_now();
	memcpy(rec.cid, st->cid, LOGD_CID_LEN);
	rec.cid[LOGD_CID_LEN] = '\0';
	rec.line = l->data;
	rec.len = l->len;
	(void)store_append(st->svc, &rec);
	subs_line(st->svc, &rec);
}

/*
 * The stream ended: the container stopped, or the reconciler went away.
 * Tell the master how far we got, so that a new stream of the same
 * container starts after it.
 */
static void
stream_close(struct stream *st, int ended)
{
	struct svc	*s = st->svc;
	int64_t		 last;

	if (ended) {
		demux_end(&st->dm);
		store_flush(s);
		if ((last = store_mark(s, st->cid)) > 0)
			logd_mark(st->cid, last);
		subs_exited(s, st->cid);
		if (s->marks_dirty)
			store_save_meta(s);
	}
	log_debug("stream of container %.12s ended", st->cid);
	event_free(st->ev);
	demux_free(&st->dm);
	close(st->fd);
	TAILQ_REMOVE(&streams, st, entry);
	nstreams--;
	s->nstreams--;
	free(st);
	if (ended)
		store_release(s);
}
