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
#include <sys/socket.h>
#include <sys/tree.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dkd.h"
#include "log.h"
#include "logtime.h"
#include "msg.h"
#include "store.h"

/*
 * The master's part in logs (RECONCILER-PROTOCOL.md): it passes the
 * reconciler's log streams on to dkd-logd, logd's marks back to the
 * reconciler, tells logd when a service is gone, and authorises
 * viewers.
 *
 * A viewer (LOGS_OPEN, from dkd-api or dkctl) is checked like every
 * nested route; then the master makes a socketpair and gives logd one
 * end with what the viewer asked for.  logd answers whether the service
 * has anything to show: if so, the other end goes to whoever asked,
 * right before the 200; if not, 404.  From then on the bytes go from
 * logd to dkd-api (or dkctl) without the master.
 *
 * logd's marks are kept here as well (the newest LOGS_MARKS_KEPT
 * containers) and given to every new reconciler before anything else:
 * when the reconciler dies, logd sends the marks of the streams it lost
 * while there is no reconciler to take them, and without them the new
 * one would follow every container from its first line again, making
 * Docker send all of its logs for logd to throw away.
 */

#define LOGS_VIEW_TIMEOUT	5	/* seconds for logd's answer */
#define LOGS_TAIL_DEFAULT	500
#define LOGS_TAIL_MAX		5000

#define LOGS_MARKS_KEPT		4096

struct logs_mark {
	RB_ENTRY(logs_mark)	 entry;
	TAILQ_ENTRY(logs_mark)	 age;		/* oldest first */
	struct msg_logmark	 m;
};

struct logs_wait {
	TAILQ_ENTRY(logs_wait)	 entry;
	uint32_t		 id;
	struct request		*req;
	int			 fd;		/* the viewer's end */
	struct event		*timer;
};

static TAILQ_HEAD(, logs_wait) waits = TAILQ_HEAD_INITIALIZER(waits);
static uint32_t		 next_view;

static int	logs_mark_cmp(const struct logs_mark *,
		    const struct logs_mark *);
RB_HEAD(logs_marks, logs_mark);
RB_PROTOTYPE_STATIC(logs_marks, logs_mark, entry, logs_mark_cmp)
RB_GENERATE_STATIC(logs_marks, logs_mark, entry, logs_mark_cmp)

static struct logs_marks	 marks = RB_INITIALIZER(&marks);
static TAILQ_HEAD(, logs_mark)	 marks_age = TAILQ_HEAD_INITIALIZER(marks_age);
static size_t			 nmarks;

static int
logs_mark_cmp(const struct logs_mark *a, const struct logs_mark *b)
{
	return (strcmp(a->m.container_id, b->m.container_id));
}

static void	logs_wait_free(struct logs_wait *);
static void	logs_timeout(int, short, void *);
static int	logs_parse(struct request *, const struct service *,
		    struct msg_logview *);

/* tail: "all", or N (what does not parse, or is <= 0, is the default). */
static int64_t
logs_tail(const char *s, int since)
{
	const char	*errstr;
	long long	 n;

	if (s == NULL)
		return (since ? -1 : LOGS_TAIL_DEFAULT);
	if (strcmp(s, "all") == 0)
		return (-1);
	n = strtonum(s, 1, LLONG_MAX, &errstr);
	if (errstr != NULL && errno == ERANGE && s[0] != '-')
		return (LOGS_TAIL_MAX);
	if (errstr != NULL)
		return (LOGS_TAIL_DEFAULT);
	return (n > LOGS_TAIL_MAX ? LOGS_TAIL_MAX : n);
}

static int
logs_time(struct request *req, int idx, const char *name, int64_t *ns)
{
	const char	*s = req->args.str[idx];

	*ns = 0;
	if (!req->args.present[idx] || s == NULL || *s == '\0')
		return (0);
	if (logtime_parse(s, strlen(s), ns) == -1 || *ns == 0) {
		reply_error(req, 400, "Query param \"%s\" must be an RFC 3339 "
		    "time, like 2006-01-02T15:04:05Z.", name);
		return (-1);
	}
	return (0);
}

/* The viewer's wishes from the query; -1 once answered. */
static int
logs_parse(struct request *req, const struct service *s,
    struct msg_logview *lv)
{
	struct op_args	*a = &req->args;
	const char	*v;

	memset(lv, 0, sizeof(*lv));
	strlcpy(lv->service_id, s->id, sizeof(lv->service_id));
	if (logs_time(req, LOGS_SINCE, "since", &lv->since) == -1 ||
	    logs_time(req, LOGS_UNTIL, "until", &lv->until) == -1)
		return (-1);
	lv->tail = logs_tail(a->present[LOGS_TAIL] ? a->str[LOGS_TAIL] :
	    NULL, lv->since != 0);
	if (a->present[LOGS_Q] && a->str[LOGS_Q] != NULL)
		strlcpy(lv->q, a->str[LOGS_Q], sizeof(lv->q));
	v = a->present[LOGS_STREAM] ? a->str[LOGS_STREAM] : "";
	if (v == NULL || *v == '\0')
		lv->stream = 0;
	else if (strcmp(v, "stdout") == 0)
		lv->stream = 1;
	else if (strcmp(v, "stderr") == 0)
		lv->stream = 2;
	else {
		reply_error(req, 400, "Query param \"stream\" must be stdout "
		    "or stderr.");
		return (-1);
	}
	v = a->present[LOGS_FOLLOW] ? a->str[LOGS_FOLLOW] : "1";
	if (v == NULL || strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
		lv->follow = 1;
	else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
		lv->follow = 0;
	else {
		reply_error(req, 400, "Query param \"follow\" must be 0 or 1.");
		return (-1);
	}
	return (0);
}

/* GET /api/projects/{pid}/services/{sid}/logs, and dkctl logs. */
void
op_logs_open(struct request *req)
{
	struct project		 proj;
	struct service		 s;
	struct msg_logview	 lv;
	struct container	*rows;
	struct logs_wait	*w;
	struct timeval		 tv = { LOGS_VIEW_TIMEOUT, 0 };
	struct wbuf		 wb;
	size_t			 n;
	int64_t			 total;
	int			 sv[2];

	if (project_or_reply(req, req->args.str[LOGS_PID], &proj) == -1 ||
	    service_or_reply(req, &proj, req->args.str[LOGS_SID], &s) == -1)
		return;
	if (logs_parse(req, &s, &lv) == -1)
		return;
	if (db_container_list(s.id, "", "running", 0, 1, &rows, &n,
	    &total) != ST_OK) {
		reply_internal(req);
		return;
	}
	free(rows);
	lv.containers = total > 0;
	if (!supervisor_ready(PROC_LOGD)) {
		reply_retry(req, 503, 1, "Logs are not available right now.");
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		reply_internal(req);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (w->timer = evtimer_new(env->base, logs_timeout, w)) == NULL) {
		log_warn("%s", __func__);
		free(w);
		reply_retry(req, 503, 1, "Logs are not available right now.");
		return;
	}
	w->id = ++next_view;
	w->req = req;
	w->fd = sv[1];
	wbuf_init(&wb, 4096);
	msg_logview_put(&wb, &lv);
	/* The send takes sv[0] either way. */
	if (supervisor_send_fd(PROC_LOGD, IMSG_LOGD_VIEW, w->id, sv[0],
	    &wb) == -1) {
		wbuf_free(&wb);
		w->req = NULL;
		logs_wait_free(w);
		reply_retry(req, 503, 1, "Logs are not available right now.");
		return;
	}
	wbuf_free(&wb);
	TAILQ_INSERT_TAIL(&waits, w, entry);
	evtimer_add(w->timer, &tv);
}

static void
logs_wait_free(struct logs_wait *w)
{
	if (w->fd != -1)
		close(w->fd);
	if (w->timer != NULL)
		event_free(w->timer);
	free(w);
}

static void
logs_timeout(int fd, short event, void *arg)
{
	struct logs_wait	*w = arg;
	struct request		*req = w->req;

	log_warnx("logd did not answer view %u", w->id);
	TAILQ_REMOVE(&waits, w, entry);
	logs_wait_free(w);
	reply_retry(req, 503, 1, "Logs are not available right now.");
}

/* IMSG_LOGD_VIEW_ACK: the viewer's end goes to whoever asked. */
int
logs_view_ack(struct imsg *imsg)
{
	struct logs_wait	*w;
	struct request		*req;
	struct rbuf		 r;
	struct wbuf		 wb;
	int			 status;

	rbuf_init(&r, imsg->data, imsg->len);
	if (imsg->fd != -1 || msg_logview_ack_get(&r, &status) == -1)
		return (-1);
	TAILQ_FOREACH(w, &waits, entry)
		if (w->id == imsg->hdr.peerid)
			break;
	if (w == NULL)
		return (0);		/* timed out already */
	TAILQ_REMOVE(&waits, w, entry);
	req = w->req;
	switch (status) {
	case MSG_VIEW_OK:
		if (req->caller == CALLER_CTL)
			control_send_fd(req->id, w->fd);
		else if (req->generation == supervisor_generation(PROC_API)) {
			wbuf_init(&wb, 16);
			(void)supervisor_send_fd(PROC_API, IMSG_API_LOGS,
			    req->id, w->fd, &wb);
			wbuf_free(&wb);
		} else
			close(w->fd);
		w->fd = -1;
		reply_empty(req, 200);
		break;
	case MSG_VIEW_NONE:
		reply_error(req, 404, "No running containers for this "
		    "service.");
		break;
	default:
		reply_retry(req, 503, 5, "Too many log viewers; try again "
		    "later.");
		break;
	}
	logs_wait_free(w);
	return (0);
}

/*
 * IMSG_REC_LOGSTREAM: a container's log stream, to logd.  The service
 * must still be there, or its history would come back from the dead.
 */
int
logs_stream(struct imsg *imsg)
{
	struct msg_logstream	 ls;
	struct service		 s;
	struct rbuf		 r;
	struct wbuf		 wb;
	int			 fd, rc;

	rbuf_init(&r, imsg->data, imsg->len);
	if (imsg->fd == -1 || msg_logstream_get(&r, &ls) == -1)
		return (-1);
	fd = imsg_get_fd(imsg);
	if ((rc = db_service_by_id(ls.service_id, &s)) != ST_OK ||
	    strcmp(s.project_id, ls.project_id) != 0) {
		log_debug("log stream of %.12s: service %s is %s",
		    ls.container_id, ls.service_id, rc == ST_ERROR ?
		    "not readable" : "gone");
		close(fd);
		return (0);
	}
	wbuf_init(&wb, 4096);
	msg_logstream_put(&wb, &ls);
	if (supervisor_send_fd(PROC_LOGD, IMSG_LOGD_STREAM, 0, fd, &wb) == -1)
		log_debug("log stream of %.12s: logd is not there",
		    ls.container_id);
	wbuf_free(&wb);
	return (0);
}

static int
logs_mark_send(const struct msg_logmark *m)
{
	struct wbuf	 wb;
	int		 rv;

	wbuf_init(&wb, 512);
	msg_logmark_put(&wb, m);
	rv = supervisor_send(PROC_RECONCILER, IMSG_REC_LOGMARK, 0, &wb);
	wbuf_free(&wb);
	return (rv);
}

/* Keep m, the newest of its container; the oldest goes when full. */
static void
logs_mark_keep(const struct msg_logmark *m)
{
	struct logs_mark	 key, *k;

	strlcpy(key.m.container_id, m->container_id,
	    sizeof(key.m.container_id));
	if ((k = RB_FIND(logs_marks, &marks, &key)) != NULL) {
		TAILQ_REMOVE(&marks_age, k, age);
	} else {
		if (nmarks >= LOGS_MARKS_KEPT) {
			k = TAILQ_FIRST(&marks_age);
			TAILQ_REMOVE(&marks_age, k, age);
			RB_REMOVE(logs_marks, &marks, k);
		} else if ((k = malloc(sizeof(*k))) == NULL) {
			log_warn("%s", __func__);
			return;
		} else
			nmarks++;
		strlcpy(k->m.container_id, m->container_id,
		    sizeof(k->m.container_id));
		RB_INSERT(logs_marks, &marks, k);
	}
	strlcpy(k->m.last, m->last, sizeof(k->m.last));
	strlcpy(k->m.last_unix, m->last_unix, sizeof(k->m.last_unix));
	TAILQ_INSERT_TAIL(&marks_age, k, age);
}

/* IMSG_LOGD_MARK: how far logd has a container, for the reconciler. */
int
logs_mark(struct imsg *imsg)
{
	struct msg_logmark	 m;
	struct rbuf		 r;

	rbuf_init(&r, imsg->data, imsg->len);
	if (imsg->fd != -1 || msg_logmark_get(&r, &m) == -1)
		return (-1);
	logs_mark_keep(&m);
	if (logs_mark_send(&m) == -1)
		log_debug("mark of %.12s: kept for the next reconciler",
		    m.container_id);
	return (0);
}

/* A new reconciler said READY: the marks first, then its work. */
void
logs_marks_resend(void)
{
	struct logs_mark	*k;

	TAILQ_FOREACH(k, &marks_age, age)
		if (logs_mark_send(&k->m) == -1)
			return;
}

/* A service was deleted: its history goes too. */
void
logs_forget(const char *service_id)
{
	struct wbuf	 wb;

	wbuf_init(&wb, 256);
	msg_logforget_put(&wb, service_id);
	if (supervisor_send(PROC_LOGD, IMSG_LOGD_FORGET, 0, &wb) == -1)
		log_warnx("logd is not there to forget the history of %s",
		    service_id);
	wbuf_free(&wb);
}
