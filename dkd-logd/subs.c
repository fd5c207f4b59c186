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
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "logd.h"
#include "logtime.h"

/*
 * Viewers: each is one end of a socketpair that the master handed us;
 * dkd-api (or dkctl) holds the other and copies what we write to its
 * client.  We write Server-Sent Events, ready to go out as they are.
 *
 * A viewer first gets history, then lives on the lines as they come.
 * History is pulled from the store a slice at a time, only as fast as
 * the viewer takes it; it ends where the store ends, which is where
 * the live lines begin, so nothing is missed or sent twice.  Live lines
 * are pushed: each is rendered once and queued, shared, on every viewer
 * that wants it.  Viewers that take every line (no filter: the usual
 * case) get the lines of one read of a stream as one event block, so
 * a busy container costs them a queue entry and a write per read, not
 * per line.  A viewer whose queue passes SUBS_QUEUE_MAX does not
 * keep up: it is told so ("dropped"), and closed; nobody waits for it.
 * Events queued for all viewers together stay under SUBS_MEMORY_MAX:
 * beyond it, the viewer furthest behind goes the same way.
 *
 * "tail N" counts back from the newest segment, a segment per turn of
 * the event loop, until N matching lines are found, then reads forward
 * from there.  When the N lines are all among the newest records kept
 * in memory, no file is read at all.
 */

#define HIST_QUEUE_HIGH		(256 * 1024)	/* pause history above */
#define HIST_TURN		(512 * 1024)	/* bytes read per turn */
#define IOV_BATCH		64
#define BATCH_MAX		(64 * 1024)	/* live lines in one block */
/* data: {"container_id":"...","stream":"stderr","line":"" ... }\n\n */
#define SSE_LINE_MAX		(LOGD_LINE_MAX * 6 + 256)

enum vstate {
	V_COUNT,		/* counting back for "tail" */
	V_HISTORY,		/* reading forward */
	V_LIVE,			/* fed as lines come */
	V_CLOSING,		/* a last word is going out */
};

struct smsg {
	int		 refs;
	size_t		 len;
	char		 data[];
};

struct qent {
	STAILQ_ENTRY(qent)	 entry;
	struct smsg		*msg;
};

struct viewer {
	TAILQ_ENTRY(viewer)	 entry;		/* its service's */
	TAILQ_ENTRY(viewer)	 all;
	struct svc		*svc;		/* NULL once closing */
	int			 fd;
	struct event		*rev, *wev, *work, *closer;
	enum vstate		 state;
	/* What it asked for. */
	int64_t			 tail;		/* -1: all */
	int64_t			 since, until;	/* 0: none */
	char			 q[MSG_LOGQ_MAX + 1];	/* lower case */
	size_t			 qlen;
	int			 stream;	/* 0: both */
	int			 follow;
	/* History: the segment being read, and where. */
	uint64_t		 seq;
	int			 rfd;
	struct segreader	 sr;
	int			 sr_open;
	uint64_t		 skip;		/* matches to pass over */
	uint64_t		 counted;
	/* What waits to be written. */
	STAILQ_HEAD(, qent)	 queue;
	size_t			 qbytes;
	size_t			 head_off;	/* of the first entry */
};

static TAILQ_HEAD(, viewer) viewers = TAILQ_HEAD_INITIALIZER(viewers);
static int		 nviewers;
static size_t		 smsg_bytes;	/* of every queued event */
static struct event_base *subs_base;
static struct event	*ping_ev;
static char		*sse_buf;
/*
 * Live lines for the viewers of batch_svc that take every line.  Empty
 * between callbacks: a read of a stream ends with subs_flush(), the end
 * of a stream with subs_exited().
 */
static char		*batch;		/* BATCH_MAX + SSE_LINE_MAX */
static size_t		 batch_len;
static struct svc	*batch_svc;
static unsigned char	 fold[256];

static void	viewer_read(int, short, void *);
static void	viewer_write(int, short, void *);
static void	viewer_work(int, short, void *);
static void	viewer_closer(int, short, void *);
static void	viewer_free(struct viewer *);
static void	viewer_end(struct viewer *, const char *);
static void	viewer_push(struct viewer *, struct smsg *);
static void	viewer_live(struct viewer *);
static int	viewer_from_ring(struct viewer *);
static void	viewer_count(struct viewer *);
static void	viewer_history(struct viewer *);
static int	viewer_match(const struct viewer *, const struct rec *);
static int	viewer_emit(struct viewer *, const struct rec *);
static void	viewer_seg_close(struct viewer *);
static struct smsg *smsg_new(const char *, size_t);
static void	smsg_unref(struct smsg *);
static void	subs_ping(int, short, void *);
static void	subs_trim(void);

void
subs_init(struct event_base *base)
{
	struct timeval	 tv = { SUBS_PING_SEC, 0 };
	int		 i;

	subs_base = base;
	for (i = 0; i < 256; i++)
		fold[i] = (i >= 'A' && i <= 'Z') ? (unsigned char)(i + 32) :
		    (unsigned char)i;
	if ((sse_buf = malloc(SSE_LINE_MAX)) == NULL ||
	    (batch = malloc(BATCH_MAX + SSE_LINE_MAX)) == NULL)
		fatal("%s", __func__);
	if ((ping_ev = event_new(base, -1, EV_PERSIST, subs_ping, NULL)) ==
	    NULL || event_add(ping_ev, &tv) == -1)
		fatalx("%s: ping timer", __func__);
}

void
subs_shutdown(void)
{
	struct viewer	*v;

	while ((v = TAILQ_FIRST(&viewers)) != NULL)
		viewer_free(v);
	if (ping_ev != NULL)
		event_free(ping_ev);
	ping_ev = NULL;
	free(sse_buf);
	sse_buf = NULL;
	free(batch);
	batch = NULL;
	batch_len = 0;
	batch_svc = NULL;
}

/* ------------------------------------------------------------ messages */

static struct smsg *
smsg_new(const char *data, size_t len)
{
	struct smsg	*m;

	if ((m = malloc(sizeof(*m) + len)) == NULL)
		return (NULL);
	m->refs = 1;
	m->len = len;
	memcpy(m->data, data, len);
	smsg_bytes += len;
	return (m);
}

static void
smsg_unref(struct smsg *m)
{
	if (m != NULL && --m->refs == 0) {
		smsg_bytes -= m->len;
		free(m);
	}
}

/* Over the memory for all: the viewer with the most queued goes. */
static void
subs_trim(void)
{
	struct viewer	*v, *worst;

	while (smsg_bytes > SUBS_MEMORY_MAX) {
		worst = NULL;
		TAILQ_FOREACH(v, &viewers, all)
			if (v->state != V_CLOSING && (worst == NULL ||
			    v->qbytes > worst->qbytes))
				worst = v;
		if (worst == NULL)
			return;
		log_debug("viewers hold %zu bytes: dropping the one furthest "
		    "behind", smsg_bytes);
		viewer_end(worst, "event: dropped\ndata: {\"reason\":\"the "
		    "client does not keep up\"}\n\n");
	}
}

/* Bytes of UTF-8 sequence at p (1 to 4), or 0 if it is not one. */
static size_t
utf8_seq(const unsigned char *p, size_t len)
{
	uint32_t	 c;
	size_t		 n, i;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return (0);
	n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	if (len < n)
		return (0);
	c = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (0);
	return (n);
}

/* A JSON string's contents; bytes that are not UTF-8 become U+FFFD. */
static size_t
json_escape(char *out, const char *in, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 o = 0, i = 0, run, n;

	while (i < len) {
		for (run = i; run < len && p[run] >= 0x20 && p[run] < 0x7f &&
		    p[run] != '"' && p[run] != '\\'; run++)
			;
		if (run > i) {
			memcpy(out + o, p + i, run - i);
			o += run - i;
			i = run;
			continue;
		}
		if (p[i] >= 0x80) {
			if ((n = utf8_seq(p + i, len - i)) > 0) {
				memcpy(out + o, p + i, n);
				o += n;
				i += n;
			} else {
				memcpy(out + o, "\xef\xbf\xbd", 3);
				o += 3;
				i++;
			}
			continue;
		}
		out[o++] = '\\';
		switch (p[i]) {
		case '"':
			out[o++] = '"';
			break;
		case '\\':
			out[o++] = '\\';
			break;
		case '\n':
			out[o++] = 'n';
			break;
		case '\r':
			out[o++] = 'r';
			break;
		case '\t':
			out[o++] = 't';
			break;
		default:
			out[o++] = 'u';
			out[o++] = '0';
			out[o++] = '0';
			out[o++] = hex[p[i] >> 4];
			out[o++] = hex[p[i] & 0xf];
			break;
		}
		i++;
	}
	return (o);
}

/* The event of one line into out, which holds SSE_LINE_MAX bytes. */
size_t
subs_json_line(char *out, size_t max, const struct rec *rec)
{
	char	 ts[LOGTIME_LEN + 1];
	size_t	 o;

	if (max < SSE_LINE_MAX)
		return (0);
	o = (size_t)snprintf(out, max, "data: {\"container_id\":\"%s\","
	    "\"stream\":\"%s\",\"line\":\"", rec->cid,
	    rec->stream == 2 ? "stderr" : "stdout");
	o += json_escape(out + o, rec->line, rec->len);
	logtime_format(rec->ts, ts);
	o += (size_t)snprintf(out + o, max - o, "\",\"timestamp\":\"%s\"%s}"
	    "\n\n", ts, (rec->flags & REC_CUT) ? ",\"truncated\":true" : "");
	return (o);
}

/* Is the lower-case needle q in line, ignoring ASCII case? */
int
subs_match(const char *line, size_t len, const char *q, size_t qlen)
{
	const unsigned char	*p = (const unsigned char *)line;
	const unsigned char	*n = (const unsigned char *)q;
	size_t			 i, j;

	if (qlen == 0)
		return (1);
	if (qlen > len)
		return (0);
	for (i = 0; i <= len - qlen; i++) {
		if (fold[p[i]] != n[0])
			continue;
		for (j = 1; j < qlen && fold[p[i + j]] == n[j]; j++)
			;
		if (j == qlen)
			return (1);
	}
	return (0);
}

/* ------------------------------------------------------------- viewers */

/*
 * A new viewer on fd, which is ours from now on.  SUBS_NONE for a
 * service that has nothing and may get nothing.
 */
enum subs_answer
subs_open(int fd, const struct msg_logview *lv)
{
	struct viewer	*v;
	struct svc	*s;
	size_t		 i;
	int		 fl;

	if (nviewers >= SUBS_VIEWERS_MAX) {
		close(fd);
		return (SUBS_BUSY);
	}
	s = store_svc(lv->service_id, 0);
	if (!lv->containers && (s == NULL ||
	    (!store_has_history(s) && s->nstreams == 0))) {
		close(fd);
		return (SUBS_NONE);
	}
	if ((s == NULL && (s = store_svc(lv->service_id, 1)) == NULL) ||
	    (v = calloc(1, sizeof(*v))) == NULL) {
		close(fd);
		return (SUBS_BUSY);
	}
	v->svc = s;
	v->fd = fd;
	v->rfd = -1;
	v->tail = lv->tail;
	v->since = lv->since;
	v->until = lv->until;
	v->stream = lv->stream;
	v->follow = lv->follow && lv->until == 0;
	for (i = 0; lv->q[i] != '\0' && i < sizeof(v->q) - 1; i++)
		v->q[i] = (char)fold[(unsigned char)lv->q[i]];
	v->qlen = i;
	STAILQ_INIT(&v->queue);
	TAILQ_INSERT_TAIL(&s->viewers, v, entry);
	s->nviewers++;
	TAILQ_INSERT_TAIL(&viewers, v, all);
	nviewers++;
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    (v->rev = event_new(subs_base, fd, EV_READ | EV_PERSIST,
	    viewer_read, v)) == NULL ||
	    (v->wev = event_new(subs_base, fd, EV_WRITE, viewer_write,
	    v)) == NULL ||
	    (v->work = event_new(subs_base, -1, 0, viewer_work, v)) == NULL ||
	    (v->closer = evtimer_new(subs_base, viewer_closer, v)) == NULL ||
	    event_add(v->rev, NULL) == -1) {
		log_warn("%s", __func__);
		viewer_free(v);
		return (SUBS_BUSY);
	}
	store_flush(s);
	if (v->tail == 0 || viewer_from_ring(v) == 0) {
		viewer_live(v);
		return (SUBS_OK);
	}
	v->state = v->tail > 0 ? V_COUNT : V_HISTORY;
	v->seq = v->tail > 0 ? UINT64_MAX : 0;
	event_active(v->work, EV_TIMEOUT, 0);
	return (SUBS_OK);
}

static void
viewer_seg_close(struct viewer *v)
{
	if (v->sr_open)
		segreader_free(&v->sr);
	v->sr_open = 0;
	if (v->rfd != -1)
		close(v->rfd);
	v->rfd = -1;
}

static void
viewer_free(struct viewer *v)
{
	struct qent	*e;
	struct svc	*s = v->svc;

	while ((e = STAILQ_FIRST(&v->queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&v->queue, entry);
		smsg_unref(e->msg);
		free(e);
	}
	viewer_seg_close(v);
	if (v->rev != NULL)
		event_free(v->rev);
	if (v->wev != NULL)
		event_free(v->wev);
	if (v->work != NULL)
		event_free(v->work);
	if (v->closer != NULL)
		event_free(v->closer);
	close(v->fd);
	TAILQ_REMOVE(&viewers, v, all);
	nviewers--;
	if (s != NULL) {
		TAILQ_REMOVE(&s->viewers, v, entry);
		s->nviewers--;
		store_release(s);
	}
	free(v);
}

/* Queue m (the caller keeps its reference) and have it written. */
static void
viewer_push(struct viewer *v, struct smsg *m)
{
	struct qent	*e;

	if ((e = malloc(sizeof(*e))) == NULL) {
		viewer_end(v, "event: dropped\ndata: {\"reason\":\"out of "
		    "memory\"}\n\n");
		return;
	}
	e->msg = m;
	m->refs++;
	STAILQ_INSERT_TAIL(&v->queue, e, entry);
	v->qbytes += m->len;
	if (!event_pending(v->wev, EV_WRITE, NULL))
		event_add(v->wev, NULL);
}

static void
viewer_push_str(struct viewer *v, const char *s)
{
	struct smsg	*m;

	if ((m = smsg_new(s, strlen(s))) == NULL)
		return;
	viewer_push(v, m);
	smsg_unref(m);
}

/*
 * The last word: what is queued goes, then word, then the viewer
 * closes; after SUBS_CLOSE_SEC it closes anyway.  A viewer dropped for
 * being slow loses its queue but the part of an event already begun.
 */
static void
viewer_end(struct viewer *v, const char *word)
{
	struct timeval	 tv = { SUBS_CLOSE_SEC, 0 };
	struct qent	*e, *keep;

	if (v->state == V_CLOSING)
		return;
	if (strncmp(word, "event: dropped", 14) == 0) {
		keep = v->head_off > 0 ? STAILQ_FIRST(&v->queue) : NULL;
		while ((e = STAILQ_FIRST(&v->queue)) != NULL && e != keep) {
			STAILQ_REMOVE_HEAD(&v->queue, entry);
			v->qbytes -= e->msg->len;
			smsg_unref(e->msg);
			free(e);
		}
		if (keep != NULL) {
			while ((e = STAILQ_NEXT(keep, entry)) != NULL) {
				STAILQ_REMOVE_AFTER(&v->queue, keep, entry);
				v->qbytes -= e->msg->len;
				smsg_unref(e->msg);
				free(e);
			}
		}
	}
	v->state = V_CLOSING;
	viewer_seg_close(v);
	viewer_push_str(v, word);
	if (v->state == V_CLOSING)
		evtimer_add(v->closer, &tv);
}

static void
viewer_closer(int fd, short event, void *arg)
{
	viewer_free(arg);
}

/* The other end went away (or wrote to us, which it never should). */
static void
viewer_read(int fd, short event, void *arg)
{
	struct viewer	*v = arg;
	char		 buf[64];
	ssize_t		 n;

	if ((n = read(fd, buf, sizeof(buf))) == -1 &&
	    (errno == EAGAIN || errno == EINTR))
		return;
	viewer_free(v);
}

static void
viewer_write(int fd, short event, void *arg)
{
	struct viewer	*v = arg;
	struct iovec	 iov[IOV_BATCH];
	struct qent	*e;
	ssize_t		 n;
	size_t		 left;
	int		 i = 0;

	STAILQ_FOREACH(e, &v->queue, entry) {
		if (i == IOV_BATCH)
			break;
		iov[i].iov_base = e->msg->data + (i == 0 ? v->head_off : 0);
		iov[i].iov_len = e->msg->len - (i == 0 ? v->head_off : 0);
		i++;
	}
	if (i == 0)
		goto drained;
	if ((n = writev(v->fd, iov, i)) == -1) {
		if (errno == EAGAIN || errno == EINTR) {
			event_add(v->wev, NULL);
			return;
		}
		viewer_free(v);
		return;
	}
	left = (size_t)n;
	while ((e = STAILQ_FIRST(&v->queue)) != NULL && left > 0) {
		if (left < e->msg->len - v->head_off) {
			v->head_off += left;
			v->qbytes -= left;
			break;
		}
		left -= e->msg->len - v->head_off;
		v->qbytes -= e->msg->len - v->head_off;
		v->head_off = 0;
		STAILQ_REMOVE_HEAD(&v->queue, entry);
		smsg_unref(e->msg);
		free(e);
	}
	if (!STAILQ_EMPTY(&v->queue)) {
		event_add(v->wev, NULL);
		if (v->qbytes >= HIST_QUEUE_HIGH / 2)
			return;
	}
drained:
	if (v->state == V_CLOSING && STAILQ_EMPTY(&v->queue)) {
		viewer_free(v);
		return;
	}
	/* History waits for room; there is some now. */
	if (v->state == V_COUNT || v->state == V_HISTORY)
		event_active(v->work, EV_TIMEOUT, 0);
}

/* History is done: follow, or say it is the end. */
static void
viewer_live(struct viewer *v)
{
	viewer_seg_close(v);
	if (!v->follow) {
		viewer_end(v, "event: end\ndata: {}\n\n");
		return;
	}
	v->state = V_LIVE;
}

static int
viewer_match(const struct viewer *v, const struct rec *rec)
{
	if (v->stream != 0 && rec->stream != v->stream)
		return (0);
	if (v->since != 0 && rec->ts < v->since)
		return (0);
	if (v->until != 0 && rec->ts > v->until)
		return (0);
	return (subs_match(rec->line, rec->len, v->q, v->qlen));
}

/* Queue a history line; -1 if the viewer is gone or closing. */
static int
viewer_emit(struct viewer *v, const struct rec *rec)
{
	struct smsg	*m;
	size_t		 n;

	n = subs_json_line(sse_buf, SSE_LINE_MAX, rec);
	if ((m = smsg_new(sse_buf, n)) == NULL) {
		viewer_end(v, "event: dropped\ndata: {\"reason\":\"out of "
		    "memory\"}\n\n");
		return (-1);
	}
	viewer_push(v, m);
	smsg_unref(m);
	return (v->state == V_CLOSING ? -1 : 0);
}

/*
 * "tail" from the records in memory, if it has enough of them: 0 when
 * done, -1 when the store must be read.
 */
static int
viewer_from_ring(struct viewer *v)
{
	const uint8_t	*p;
	struct rec	 rec;
	size_t		 len, off;
	ssize_t		 n;
	uint64_t	 matches = 0, skip;

	if (v->tail <= 0)
		return (-1);
	store_ring(v->svc, &p, &len);
	for (off = 0; off < len; off += (size_t)n) {
		if ((n = rec_parse(p + off, len - off, &rec)) <= 0)
			return (-1);
		if (viewer_match(v, &rec))
			matches++;
	}
	if (matches < (uint64_t)v->tail &&
	    (store_seg_last(v->svc) == NULL ||
	    v->svc->bytes != (uint64_t)len))
		return (-1);
	skip = matches > (uint64_t)v->tail ? matches - (uint64_t)v->tail : 0;
	for (off = 0; off < len; off += (size_t)n) {
		n = rec_parse(p + off, len - off, &rec);
		if (!viewer_match(v, &rec))
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		if (viewer_emit(v, &rec) == -1)
			return (0);
	}
	return (0);
}

static void
viewer_work(int fd, short event, void *arg)
{
	struct viewer	*v = arg;

	if (v->svc == NULL)
		return;
	store_flush(v->svc);
	if (v->state == V_COUNT)
		viewer_count(v);
	else if (v->state == V_HISTORY)
		viewer_history(v);
}

/*
 * One segment further back: count its matches.  Enough of them, or no
 * segment left, and reading forward starts there.
 */
static void
viewer_count(struct viewer *v)
{
	struct segreader sr;
	struct seg	*g;
	struct rec	 rec;
	uint64_t	 n = 0;
	int		 fd;

	if ((g = store_seg_before(v->svc, v->seq)) == NULL) {
		/* Back at the start: all of it, then. */
		v->skip = 0;
		v->seq = 0;
		v->state = V_HISTORY;
		event_active(v->work, EV_TIMEOUT, 0);
		return;
	}
	v->seq = g->seq;
	if ((fd = store_seg_open(v->svc, g)) != -1) {
		if (segreader_init(&sr, fd, 0, g->size) == 0) {
			while (segreader_next(&sr, &rec, NULL) == 1)
				if (viewer_match(v, &rec))
					n++;
			segreader_free(&sr);
		}
		close(fd);
	}
	v->counted += n;
	if (v->counted >= (uint64_t)v->tail) {
		/* Start in this segment, past what is too old. */
		v->skip = v->counted - (uint64_t)v->tail;
		v->seq = g->seq - 1;
		v->state = V_HISTORY;
	}
	event_active(v->work, EV_TIMEOUT, 0);
}

/*
 * Read forward from where the viewer is, HIST_TURN bytes at most and
 * only while it has room.  v->seq is the segment being read, or the one
 * before the next to read when none is open.
 */
static void
viewer_history(struct viewer *v)
{
	struct seg	*g;
	struct rec	 rec;
	uint64_t	 start, read = 0;
	int		 rv;

	while (v->qbytes < HIST_QUEUE_HIGH && read < HIST_TURN) {
		if (!v->sr_open) {
			/* The next segment there is; none: caught up. */
			if ((g = store_seg_after(v->svc, v->seq)) == NULL) {
				viewer_live(v);
				return;
			}
			/* Skip what is all older than "since". */
			if (v->since != 0 && g->scanned &&
			    g->max_ts < v->since &&
			    g != store_seg_last(v->svc)) {
				v->seq = g->seq;
				continue;
			}
			v->seq = g->seq;
			if ((v->rfd = store_seg_open(v->svc, g)) == -1)
				continue;
			if (segreader_init(&v->sr, v->rfd, 0, g->size) == -1) {
				viewer_end(v, "event: dropped\ndata: "
				    "{\"reason\":\"out of memory\"}\n\n");
				return;
			}
			v->sr_open = 1;
		}
		/* The segment may have grown since. */
		g = store_seg_after(v->svc, v->seq - 1);
		if (g != NULL && g->seq == v->seq)
			v->sr.end = g->size;
		start = v->sr.off + v->sr.pos;
		while ((rv = segreader_next(&v->sr, &rec, NULL)) == 1) {
			if (viewer_match(v, &rec)) {
				if (v->skip > 0)
					v->skip--;
				else if (viewer_emit(v, &rec) == -1)
					return;
			}
			if (v->qbytes >= HIST_QUEUE_HIGH ||
			    v->sr.off + v->sr.pos - start >= HIST_TURN)
				break;
		}
		read += v->sr.off + v->sr.pos - start;
		if (rv == 1)
			continue;
		/*
		 * The end of the newest segment is now: live from here.  The
		 * end of another (or a bad record: the rest of it is lost),
		 * and the next one follows.
		 */
		if (rv == 0 && g != NULL && g->seq == v->seq &&
		    g == store_seg_last(v->svc)) {
			viewer_live(v);
			return;
		}
		viewer_seg_close(v);
	}
	if (v->qbytes < HIST_QUEUE_HIGH)
		event_active(v->work, EV_TIMEOUT, 0);
}

/* -------------------------------------------------------------- feeds */

/* A live viewer that takes every line. */
static int
viewer_plain(const struct viewer *v)
{
	return (v->state == V_LIVE && v->stream == 0 && v->since == 0 &&
	    v->until == 0 && v->qlen == 0);
}

/* Live events for v, unless it is too far behind to take them. */
static void
viewer_feed(struct viewer *v, struct smsg *m)
{
	if (v->qbytes + m->len > SUBS_QUEUE_MAX) {
		log_debug("viewer of %s does not keep up: dropped",
		    v->svc->id);
		viewer_end(v, "event: dropped\ndata: {\"reason\":"
		    "\"the client does not keep up\"}\n\n");
		return;
	}
	viewer_push(v, m);
}

/*
 * A line was stored: into the block of the viewers that take every
 * line, and to each other live viewer that wants it.
 */
void
subs_line(struct svc *s, const struct rec *rec)
{
	struct viewer	*v, *next;
	struct smsg	*m = NULL;
	char		*out = NULL;
	size_t		 n = 0;

	if (batch_svc != NULL && batch_svc != s)
		subs_flush(batch_svc);
	TAILQ_FOREACH(v, &s->viewers, entry) {
		if (viewer_plain(v)) {
			out = batch + batch_len;
			n = subs_json_line(out, SSE_LINE_MAX, rec);
			batch_len += n;
			batch_svc = s;
			break;
		}
	}
	TAILQ_FOREACH_SAFE(v, &s->viewers, entry, next) {
		if (v->state != V_LIVE || viewer_plain(v) ||
		    !viewer_match(v, rec))
			continue;
		if (m == NULL) {
			if (out == NULL) {
				out = sse_buf;
				n = subs_json_line(sse_buf, SSE_LINE_MAX, rec);
			}
			if ((m = smsg_new(out, n)) == NULL)
				break;
		}
		viewer_feed(v, m);
	}
	smsg_unref(m);
	if (batch_len >= BATCH_MAX)
		subs_flush(s);
	subs_trim();
}

/* The end of a read of s's streams: the block goes out. */
void
subs_flush(struct svc *s)
{
	struct viewer	*v, *next;
	struct smsg	*m;
	size_t		 len = batch_len;

	if (s == NULL || batch_svc != s || len == 0)
		return;
	batch_len = 0;
	batch_svc = NULL;
	if ((m = smsg_new(batch, len)) == NULL)
		return;
	TAILQ_FOREACH_SAFE(v, &s->viewers, entry, next)
		if (viewer_plain(v))
			viewer_feed(v, m);
	smsg_unref(m);
	subs_trim();
}

/* A container's stream ended. */
void
subs_exited(struct svc *s, const char *cid)
{
	struct viewer	*v, *next;
	char		 buf[128];

	subs_flush(s);
	(void)snprintf(buf, sizeof(buf), "data: {\"container_id\":\"%.12s\","
	    "\"event\":\"container_exited\"}\n\n", cid);
	TAILQ_FOREACH_SAFE(v, &s->viewers, entry, next)
		if (v->state == V_LIVE)
			viewer_push_str(v, buf);
}

/* The service is gone: its viewers end, and let go of it. */
void
subs_forget(struct svc *s)
{
	struct viewer	*v;

	subs_flush(s);
	while ((v = TAILQ_FIRST(&s->viewers)) != NULL) {
		viewer_end(v, "event: end\ndata: {}\n\n");
		TAILQ_REMOVE(&s->viewers, v, entry);
		s->nviewers--;
		v->svc = NULL;
	}
}

/* Keep quiet connections open through proxies: a comment. */
static void
subs_ping(int fd, short event, void *arg)
{
	struct viewer	*v;

	TAILQ_FOREACH(v, &viewers, all)
		if (v->state != V_CLOSING && STAILQ_EMPTY(&v->queue))
			viewer_push_str(v, ": ping\n\n");
}
