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
#include <sys/resource.h>
#include <sys/tree.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "api.h"
#include "config.h"
#include "log.h"
#include "worker.h"

/*
 * dkd-api: the only process that parses bytes from the network.  It
 * holds no user state: each request that needs the database goes to the
 * master as a typed imsg carrying the hash of the caller's token, and the
 * master decides.
 */

struct api_call {
	RB_ENTRY(api_call)	 entry;
	uint32_t		 id;
	struct evhttp_request	*req;
	struct event		*timeout;
	api_call_cb		 cb;
	void			*arg;
	int			 fd;		/* IMSG_API_LOGS, or -1 */
};

static int	api_call_cmp(struct api_call *, struct api_call *);
RB_HEAD(api_calls, api_call);
RB_PROTOTYPE_STATIC(api_calls, api_call, entry, api_call_cmp)
RB_GENERATE_STATIC(api_calls, api_call, entry, api_call_cmp)

static struct worker	 api_worker;
static struct api_calls	 calls = RB_INITIALIZER(&calls);
static uint32_t		 next_call_id;
static int		 finishing_fd = -1;	/* see api_call_take_fd */

static int	api_dispatch_master(struct imsg *);
static void	api_shutdown(void);
static struct event_base *api_event_base(void);
static void	api_call_timeout(int, short, void *);
static void	api_call_finish(struct api_call *, const struct msg_reply *);
static int	api_call_fd(struct imsg *);
static long	api_raise_nofile(void);

static int
api_call_cmp(struct api_call *a, struct api_call *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

int
main(int argc, char *argv[])
{
	struct worker	*w = &api_worker;
	long		 nofile;

	worker_init(w, PROC_API, "api", argc, argv);
	w->dispatch = api_dispatch_master;
	w->shutdown = api_shutdown;
	worker_config();
	if (w->listen_fd == -1)
		fatalx("no listening socket from the master");
	nofile = api_raise_nofile();
	if ((w->base = api_event_base()) == NULL)
		fatalx("event_base_new");
	http_init(w->base, w->listen_fd, nofile);
	sandbox_enter(&w->sandbox, PROC_API);
	/* Unjailed (sanitizer builds), still serve files from www only. */
	if (!DKD_SANDBOX && chdir(w->sandbox.chroot) == -1)
		fatal("chdir %s", w->sandbox.chroot);
	worker_run();
	/* NOTREACHED */
	return (0);
}

/*
 * epoll with libevent's change list: evhttp turns reading and writing
 * on and off several times per request, and the list folds those into
 * at most one epoll_ctl per descriptor and loop.  (Safe here: dkd-api
 * never dup()s a descriptor the loop watches.)
 */
static struct event_base *
api_event_base(void)
{
	struct event_config	*cfg;
	struct event_base	*base;

	if ((cfg = event_config_new()) == NULL)
		return (NULL);
	(void)event_config_set_flag(cfg,
	    EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return (base);
}

/* WebSockets first: they hold evhttp connections of their own. */
static void
api_shutdown(void)
{
	ws_shutdown();
	http_shutdown();
	sse_shutdown();
}

/*
 * Room for API_MAX_CONNS clients, each with a file being sent, if the
 * hard limit allows it.  Returns the limit now in force.
 */
static long
api_raise_nofile(void)
{
	struct rlimit	 rl;
	rlim_t		 want = (rlim_t)API_MAX_CONNS * 2 + API_FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit");
	if (rl.rlim_cur < want) {
		rl.rlim_cur = MINIMUM(rl.rlim_max, want);
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1 &&
		    getrlimit(RLIMIT_NOFILE, &rl) == -1)
			fatal("getrlimit");
	}
	return (rl.rlim_cur == RLIM_INFINITY ? LONG_MAX :
	    (long)MINIMUM(rl.rlim_cur, (rlim_t)LONG_MAX));
}

/*
 * Ask the master.  The reply, or a timeout, completes the HTTP request
 * through cb; evhttp frees a request whose client left when we reply.
 */
int
api_call_master(struct evhttp_request *req, struct wbuf *msg, api_call_cb cb,
    void *arg)
{
	struct api_call		*call;
	struct timeval		 tv = { API_CALL_TIMEOUT_SEC, 0 };

	if ((call = calloc(1, sizeof(*call))) == NULL)
		return (-1);
	call->id = ++next_call_id;
	call->fd = -1;
	call->req = req;
	call->cb = cb;
	call->arg = arg;
	if ((call->timeout = evtimer_new(worker->base, api_call_timeout,
	    call)) == NULL) {
		free(call);
		return (-1);
	}
	if (worker_send(IMSG_API_REQUEST, call->id, -1, msg) == -1) {
		event_free(call->timeout);
		free(call);
		return (-1);
	}
	RB_INSERT(api_calls, &calls, call);
	evtimer_add(call->timeout, &tv);
	return (0);
}

static void
api_call_finish(struct api_call *call, const struct msg_reply *m)
{
	RB_REMOVE(api_calls, &calls, call);
	event_free(call->timeout);
	finishing_fd = call->fd;
	call->cb(call->req, m, call->arg);
	if (finishing_fd != -1)
		close(finishing_fd);
	finishing_fd = -1;
	free(call);
}

/*
 * In a reply callback: the descriptor the master sent with the reply
 * (IMSG_API_LOGS), which the caller now owns, or -1.  Untaken, it is
 * closed when the callback returns.
 */
int
api_call_take_fd(void)
{
	int	 fd = finishing_fd;

	finishing_fd = -1;
	return (fd);
}

/* IMSG_API_LOGS: a descriptor for the reply that comes next. */
static int
api_call_fd(struct imsg *imsg)
{
	struct api_call	 key, *call;

	key.id = imsg->hdr.peerid;
	if (imsg->fd == -1 || imsg->len != 0)
		return (-1);
	if ((call = RB_FIND(api_calls, &calls, &key)) == NULL)
		return (0);		/* timed out; imsg_free closes it */
	if (call->fd != -1)
		return (-1);
	call->fd = imsg_get_fd(imsg);
	return (0);
}

static void
api_call_timeout(int fd, short event, void *arg)
{
	struct api_call		*call = arg;
	struct msg_reply	 none;

	log_warnx("request %u: no answer from the master", call->id);
	memset(&none, 0, sizeof(none));
	api_call_finish(call, &none);
}

static int
api_dispatch_master(struct imsg *imsg)
{
	struct api_call		 key, *call;
	struct msg_reply	 m;
	struct rbuf		 r;

	if (imsg->hdr.type == IMSG_API_EVENT)
		return (rooms_event(imsg));
	if (imsg->hdr.type == IMSG_API_LOGS)
		return (api_call_fd(imsg));
	if (imsg->hdr.type != IMSG_API_RESPONSE)
		return (-1);
	key.id = imsg->hdr.peerid;
	if ((call = RB_FIND(api_calls, &calls, &key)) == NULL) {
		/* Timed out already; the late answer has nobody to go to. */
		return (0);
	}
	rbuf_init(&r, imsg->data, imsg->len);
	if (msg_reply_get(&r, &m) == -1)
		return (-1);
	api_call_finish(call, &m);
	return (0);
}
