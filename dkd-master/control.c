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
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dkd.h"
#include "log.h"
#include "msg.h"
#include "store.h"

/*
 * The control socket, for dkctl.  Its bytes reach the most privileged
 * process, so the code is small and strict: fixed small messages, no fd
 * passing from dkctl (one kind goes to it: a log viewer's socket, for
 * dkctl logs), a version check, peer credentials for every request that
 * changes something, and no fatal() on anything a client sends.
 *
 * A connection is freed in one place only: at the end of its dispatch,
 * or by its deferred close event when a reply arrives outside of
 * dispatch.  Whoever finds it must go sets "closing" and leaves the
 * freeing to those two.
 */

#define CONTROL_MAX_CONNS	32
#define CONTROL_ROOT_RESERVE	8	/* of those, kept free for root */
#define CONTROL_MAX_PER_UID	4	/* for any uid but root */
#define CONTROL_BACKLOG		8
#define CONTROL_IDLE_SEC	10	/* no request for this long: hang up */
#define CONTROL_EVENTS_QUEUE_MAX (256 * 1024)	/* then drop events */

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	struct imsgev		 iev;
	struct event		*idle;
	struct event		*close;
	uint32_t		 id;
	uid_t			 uid;
	int			 closing;
	int			 following;	/* dkctl events */
	char			 project_id[UUID_LEN + 1]; /* "" all */
};

static TAILQ_HEAD(, ctl_conn) ctl_conns = TAILQ_HEAD_INITIALIZER(ctl_conns);
static int		 ctl_nconns;
static uint32_t		 ctl_next_id;
static int		 control_fd = -1;
static struct event	*control_ev, *control_pause_ev;

static void	control_accept(int, short, void *);
static void	control_resume(int, short, void *);
static void	control_dispatch(int, short, void *);
static void	control_idle(int, short, void *);
static void	control_deferred_close(int, short, void *);
static void	control_close(struct ctl_conn *);
static void	control_finish(struct ctl_conn *);
static int	control_admit(uid_t);
static void	ctl_send(struct ctl_conn *, uint32_t, struct wbuf *);
static void	control_fail(struct ctl_conn *, const char *);
static void	control_status(struct ctl_conn *);
static void	control_request(struct ctl_conn *, struct rbuf *);
static void	control_follow(struct ctl_conn *, struct rbuf *);
static void	control_reply(struct request *, struct wbuf *);

/* Bind while root, with a umask that never leaves a loose socket. */
int
control_init(const char *path)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("control socket path too long: %s", path);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("control socket");
		return (-1);
	}
	/* A live socket means another dkd; a dead one is left over. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		log_warnx("control socket %s is in use: is dkd already "
		    "running?", path);
		close(fd);
		return (-1);
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("unlink %s", path);
		close(fd);
		return (-1);
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("bind %s", path);
		umask(old);
		close(fd);
		return (-1);
	}
	umask(old);
	if (chmod(path, 0660) == -1) {
		log_warn("chmod %s", path);
		close(fd);
		(void)unlink(path);
		return (-1);
	}
	if (listen(fd, CONTROL_BACKLOG) == -1) {
		log_warn("listen %s", path);
		close(fd);
		(void)unlink(path);
		return (-1);
	}
	control_fd = fd;
	return (0);
}

void
control_listen(void)
{
	control_ev = event_new(env->base, control_fd, EV_READ | EV_PERSIST,
	    control_accept, NULL);
	control_pause_ev = evtimer_new(env->base, control_resume, NULL);
	if (control_ev == NULL || control_pause_ev == NULL ||
	    event_add(control_ev, NULL) == -1)
		fatalx("%s: events", __func__);
}

void
control_cleanup(const char *path)
{
	struct ctl_conn	*c;

	while ((c = TAILQ_FIRST(&ctl_conns)) != NULL)
		control_close(c);
	if (control_fd != -1) {
		close(control_fd);
		control_fd = -1;
		(void)unlink(path);
	}
}

static void
control_resume(int fd, short event, void *arg)
{
	event_add(control_ev, NULL);
}

static void
control_accept(int fd, short event, void *arg)
{
	struct ctl_conn	*c;
	struct ucred	 cred;
	struct timeval	 tv = { 1, 0 };
	socklen_t	 len = sizeof(cred);
	int		 cfd;

	if ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		/* Out of descriptors: stop accepting for a second. */
		if (errno == EMFILE || errno == ENFILE) {
			event_del(control_ev);
			evtimer_add(control_pause_ev, &tv);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("%s: accept", __func__);
		return;
	}
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    !control_admit(cred.uid) ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(cfd);
		return;
	}
	c->uid = cred.uid;
	c->id = ++ctl_next_id;
	if ((c->idle = evtimer_new(env->base, control_idle, c)) == NULL ||
	    (c->close = evtimer_new(env->base, control_deferred_close,
	    c)) == NULL ||
	    imsgev_init(&c->iev, env->base, cfd, DKD_IMSG_MAX_CONTROL,
	    DKD_QUEUE_MAX_CONTROL, IMSG_FDPASS_SEND, control_dispatch,
	    c) == -1) {
		if (c->idle != NULL)
			event_free(c->idle);
		if (c->close != NULL)
			event_free(c->close);
		close(cfd);
		free(c);
		return;
	}
	tv.tv_sec = CONTROL_IDLE_SEC;
	evtimer_add(c->idle, &tv);
	TAILQ_INSERT_TAIL(&ctl_conns, c, entry);
	ctl_nconns++;
}

/*
 * Room for another connection of uid?  Nobody but root may take more
 * than a few, and the last few are root's, so no local user can lock
 * the administrator out of dkctl.
 */
static int
control_admit(uid_t uid)
{
	struct ctl_conn	*c;
	int		 mine = 0;

	if (ctl_nconns >= CONTROL_MAX_CONNS)
		return (0);
	if (uid == 0)
		return (1);
	if (ctl_nconns >= CONTROL_MAX_CONNS - CONTROL_ROOT_RESERVE)
		return (0);
	TAILQ_FOREACH(c, &ctl_conns, entry)
		if (c->uid == uid)
			mine++;
	return (mine < CONTROL_MAX_PER_UID);
}

static void
control_close(struct ctl_conn *c)
{
	TAILQ_REMOVE(&ctl_conns, c, entry);
	ctl_nconns--;
	imsgev_clear(&c->iev);
	event_free(c->idle);
	event_free(c->close);
	free(c);
}

/* Say why if the socket takes it, then hang up. */
static void
control_finish(struct ctl_conn *c)
{
	(void)imsgbuf_write(&c->iev.ibuf);
	control_close(c);
}

static void
control_idle(int fd, short event, void *arg)
{
	struct ctl_conn	*c = arg;

	log_debug("control: closing connection %u, idle for %d seconds",
	    c->id, CONTROL_IDLE_SEC);
	control_close(c);
}

static void
control_deferred_close(int fd, short event, void *arg)
{
	control_finish(arg);
}

/*
 * Queue a message.  One too large for the socket becomes a failure the
 * client can read; a client that does not read its answers (the queue
 * is full) or a broken one is hung up on.
 */
static void
ctl_send(struct ctl_conn *c, uint32_t type, struct wbuf *wb)
{
	int	 rv;

	if (c->closing)
		return;
	if (wb != NULL)
		rv = imsgev_compose_wire(&c->iev, type, DKD_CTL_VERSION, -1,
		    wb);
	else
		rv = imsgev_compose(&c->iev, type, DKD_CTL_VERSION, -1, NULL,
		    0);
	if (rv == 0)
		return;
	if (errno == ERANGE && type != IMSG_CTL_FAIL) {
		log_warnx("control: reply of %zu bytes to connection %u is "
		    "too large", wb != NULL ? wb->len : 0, c->id);
		control_fail(c, "the answer is too large for the control "
		    "socket");
		return;
	}
	c->closing = 1;
}

static void
control_fail(struct ctl_conn *c, const char *msg)
{
	struct wbuf	 wb;

	wbuf_init(&wb, DKD_IMSG_MAX_CONTROL);
	wire_put_str(&wb, msg);
	ctl_send(c, IMSG_CTL_FAIL, &wb);
	wbuf_free(&wb);
}

static void
control_dispatch(int fd, short event, void *arg)
{
	struct ctl_conn	*c = arg;
	struct imsg	 imsg;
	struct rbuf	 r;
	struct timeval	 tv = { CONTROL_IDLE_SEC, 0 };
	char		 errbuf[1024];
	int		 n, verbose;

	if ((n = imsgev_io(&c->iev, event)) <= 0) {
		control_close(c);
		return;
	}
	for (;;) {
		if (c->closing)
			break;
		if ((n = imsg_get(&c->iev.ibuf, &imsg)) == -1) {
			control_close(c);
			return;
		}
		if (n == 0)
			break;
		evtimer_add(c->idle, &tv);
		rbuf_init(&r, imsg.data, imsg.len);
		if (imsg.hdr.peerid != DKD_CTL_VERSION) {
			control_fail(c, "dkctl and dkd are different versions");
			c->closing = 1;
			imsg_free(&imsg);
			break;
		}
		switch (imsg.hdr.type) {
		case IMSG_CTL_STATUS:
			if (wire_done(&r) == -1) {
				control_fail(c, "malformed request");
				break;
			}
			control_status(c);
			break;
		case IMSG_CTL_RELOAD:
			if (wire_done(&r) == -1)
				control_fail(c, "malformed request");
			else if (c->uid != 0)
				control_fail(c, "permission denied");
			else if (master_reload(errbuf, sizeof(errbuf)) == -1)
				control_fail(c, errbuf);
			else
				ctl_send(c, IMSG_CTL_OK, NULL);
			break;
		case IMSG_CTL_LOG:
			verbose = wire_get_bool(&r);
			if (wire_done(&r) == -1)
				control_fail(c, "malformed request");
			else if (c->uid != 0)
				control_fail(c, "permission denied");
			else {
				master_set_log_level(verbose ?
				    LOG_LEVEL_DEBUG : env->conf.log_level);
				log_info("log level set to %s by dkctl",
				    log_level_name(env->log_level));
				ctl_send(c, IMSG_CTL_OK, NULL);
			}
			break;
		case IMSG_CTL_REQUEST:
			control_request(c, &r);
			break;
		case IMSG_CTL_EVENTS:
			control_follow(c, &r);
			break;
		default:
			control_fail(c, "unknown request");
			c->closing = 1;
			break;
		}
		imsg_free(&imsg);
	}
	if (c->closing) {
		control_finish(c);
		return;
	}
	/* A follower asks nothing more: it is not idle, it listens. */
	if (c->following)
		evtimer_del(c->idle);
	imsgev_add(&c->iev);
}

/* IMSG_CTL_EVENTS: from now on, this connection gets events. */
static void
control_follow(struct ctl_conn *c, struct rbuf *r)
{
	struct project	 p;
	char		 ref[256];
	int		 rc;

	wire_get_strbuf(r, ref, sizeof(ref));
	if (wire_done(r) == -1) {
		control_fail(c, "malformed request");
		return;
	}
	if (c->uid != 0) {
		control_fail(c, "permission denied");
		return;
	}
	c->project_id[0] = '\0';
	if (ref[0] != '\0') {
		if ((rc = db_project_find(ref, &p)) != ST_OK) {
			control_fail(c, rc == ST_NONE ? "no such project" :
			    rc == ST_EXISTS ? "several projects have that "
			    "name; use the id or the slug" : "database error");
			return;
		}
		strlcpy(c->project_id, p.id, sizeof(c->project_id));
	}
	c->following = 1;
	ctl_send(c, IMSG_CTL_OK, NULL);
}

/* An event from the hub, to every connection that follows it. */
void
control_event(const struct msg_event *ev)
{
	struct ctl_conn	*c;
	struct wbuf	 wb;

	TAILQ_FOREACH(c, &ctl_conns, entry) {
		if (!c->following || c->closing || (c->project_id[0] != '\0' &&
		    strcmp(c->project_id, ev->project_id) != 0))
			continue;
		if (c->iev.ibuf.wq_bytes > CONTROL_EVENTS_QUEUE_MAX) {
			events_dropped("dkctl", ev->type);
			continue;
		}
		wbuf_init(&wb, DKD_IMSG_MAX_CONTROL - IMSG_HEADER_SIZE);
		msg_ctl_event_put(&wb, time(NULL), ev);
		if (wb.error)
			events_dropped("dkctl (too large)", ev->type);
		else
			ctl_send(c, IMSG_CTL_EVENT, &wb);
		wbuf_free(&wb);
		if (c->closing)
			event_active(c->close, EV_TIMEOUT, 1);
	}
}

/*
 * An op of the table, answered now or later through control_reply().
 * dkctl acts with the rights of root, so nobody else gets that far.
 */
static void
control_request(struct ctl_conn *c, struct rbuf *r)
{
	struct request	*req;
	uint32_t	 op;

	if ((req = request_new(CALLER_CTL, c->id, control_reply, NULL)) ==
	    NULL) {
		control_fail(c, "out of memory");
		return;
	}
	strlcpy(req->client, "dkctl", sizeof(req->client));
	op = wire_get_u32(r);
	if (request_decode(req, op, r) == -1) {
		control_fail(c, "malformed request");
		return;
	}
	if (c->uid != 0) {
		reply_error(req, 403, "Permission denied: dkctl needs root.");
		return;
	}
	request_as_root(req);
	request_run(req);
}

static void
control_status(struct ctl_conn *c)
{
	struct msg_proc		 p;
	struct msg_db		 db;
	struct msg_docker	 d;
	struct msg_rec_queue	 q;
	struct wbuf		 wb;
	const char		*state;
	time_t			 started;
	pid_t			 pid;
	int			 id;

	for (id = PROC_MASTER; id < PROC_MAX; id++) {
		memset(&p, 0, sizeof(p));
		supervisor_status(id, &pid, &started, &p.restarts, &state);
		strlcpy(p.name, supervisor_name(id), sizeof(p.name));
		strlcpy(p.state, state, sizeof(p.state));
		p.pid = pid;
		p.started = started;
		wbuf_init(&wb, DKD_IMSG_MAX_CONTROL);
		msg_proc_put(&wb, &p);
		ctl_send(c, IMSG_CTL_PROC, &wb);
		wbuf_free(&wb);
	}
	memset(&db, 0, sizeof(db));
	strlcpy(db.path, env->conf.database, sizeof(db.path));
	db.size = db_size();
	db.version = (uint32_t)db_schema_version();
	wbuf_init(&wb, DKD_IMSG_MAX_CONTROL);
	msg_db_put(&wb, &db);
	ctl_send(c, IMSG_CTL_DB, &wb);
	wbuf_free(&wb);

	d = env->docker;
	if (!env->docker_known)
		strlcpy(d.error, "not checked yet", sizeof(d.error));
	wbuf_init(&wb, DKD_IMSG_MAX_CONTROL);
	msg_docker_put(&wb, &d);
	ctl_send(c, IMSG_CTL_DOCKER, &wb);
	wbuf_free(&wb);
	if (rec_queue_get(&q) == 0) {
		wbuf_init(&wb, DKD_IMSG_MAX_CONTROL);
		msg_rec_queue_put(&wb, &q);
		ctl_send(c, IMSG_CTL_QUEUE, &wb);
		wbuf_free(&wb);
	}
	ctl_send(c, IMSG_CTL_END, NULL);
}

/*
 * dkctl logs: the viewer's socket, right before the answer (so only to
 * a request of root that the master granted).  The fd is taken.
 */
void
control_send_fd(uint32_t id, int fd)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &ctl_conns, entry)
		if (c->id == id)
			break;
	if (c == NULL || c->closing || imsgev_compose(&c->iev, IMSG_CTL_LOGS,
	    DKD_CTL_VERSION, fd, NULL, 0) == -1)
		close(fd);
}

/*
 * The answer to a request, to its connection if that is still there.
 * This may run inside control_dispatch (a handler that answers at
 * once) or from another event (the hasher): never free here.
 */
static void
control_reply(struct request *req, struct wbuf *wb)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &ctl_conns, entry)
		if (c->id == req->id)
			break;
	if (c == NULL)
		return;
	ctl_send(c, IMSG_CTL_RESPONSE, wb);
	if (c->closing)
		event_active(c->close, EV_TIMEOUT, 1);
}
