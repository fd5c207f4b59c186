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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "reconciler.h"

/*
 * A Docker Engine API client: libcurl's multi interface on the libevent
 * loop, over the unix socket (tech-notes 2).  Nothing here blocks.  A
 * request's reply is collected up to DOCKER_MAX_REPLY and handed to its
 * callback; a stream hands its bytes over as they come.  Every call has
 * a time limit, and a stream can be cancelled at any time, even from
 * its own data callback.  libcurl refuses multi calls from inside its
 * callbacks, so handles are added and removed from deferred events.
 */

struct docker_req {
	TAILQ_ENTRY(docker_req)	 entry;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;		/* owned */
	char			*reply;
	size_t			 replylen;
	size_t			 replycap;
	int			 toolarge;
	int			 added;		/* to the multi */
	int			 cancelled;
	int			 stopped;	/* by its data callback */
	int			 opened;	/* headers are in */
	int			 paused;	/* by its data callback */
	long			 status;
	char			 errbuf[CURL_ERROR_SIZE];
	char			 errmsg[CURL_ERROR_SIZE + 256];
	docker_cb		 cb;
	docker_data_cb		 data_cb;	/* NULL: not a stream */
	void			*arg;
};

struct docker_sock {
	struct event		*ev;
	curl_socket_t		 fd;
};

static struct event_base	*base;
static CURLM			*multi;
static struct event		*timer_ev;
static struct event		*add_ev;
static struct event		*reap_ev;
static char			 socket_path[256];
static TAILQ_HEAD(, docker_req)	 reqs = TAILQ_HEAD_INITIALIZER(reqs);
static uint64_t			 ncalls;

static int	docker_socket_cb(CURL *, curl_socket_t, int, void *, void *);
static int	docker_timer_cb(CURLM *, long, void *);
static void	docker_event(int, short, void *);
static void	docker_timeout(int, short, void *);
static void	docker_add(int, short, void *);
static void	docker_reap(int, short, void *);
static void	docker_check_done(void);
static size_t	docker_write(char *, size_t, size_t, void *);
static size_t	docker_header(char *, size_t, size_t, void *);
static void	docker_req_free(struct docker_req *);
static struct docker_req *docker_new(const char *, const char *,
		    const char *, long, docker_cb, void *);

void
docker_init(struct event_base *b, const char *path)
{
	base = b;
	strlcpy(socket_path, path, sizeof(socket_path));
	if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK)
		fatalx("curl_global_init");
	if ((multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init");
	if ((timer_ev = evtimer_new(base, docker_timeout, NULL)) == NULL ||
	    (add_ev = event_new(base, -1, 0, docker_add, NULL)) == NULL ||
	    (reap_ev = event_new(base, -1, 0, docker_reap, NULL)) == NULL)
		fatalx("%s: event_new", __func__);
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, docker_socket_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, docker_timer_cb);
}

/*
 * The process is about to exit: stop all transfers.  Requests in flight
 * keep their memory (and what their callers hung on them) until exit,
 * when the kernel closes the sockets; no callback runs.
 */
void
docker_shutdown(void)
{
	struct docker_req	*r;

	TAILQ_FOREACH(r, &reqs, entry) {
		if (r->added)
			curl_multi_remove_handle(multi, r->easy);
		r->added = 0;
		r->cancelled = 1;
	}
	event_del(timer_ev);
	event_del(add_ev);
	event_del(reap_ev);
}

/* How many calls were started, for the figures of a resync. */
uint64_t
docker_calls(void)
{
	return (ncalls);
}

static void
docker_req_free(struct docker_req *r)
{
	TAILQ_REMOVE(&reqs, r, entry);
	if (r->added)
		curl_multi_remove_handle(multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r->reply);
	free(r);
}

static struct docker_req *
docker_new(const char *method, const char *path, const char *body,
    long timeout_ms, docker_cb cb, void *arg)
{
	struct docker_req	*r;
	char			 url[2048];

	if ((size_t)snprintf(url, sizeof(url), "http://localhost%s%s",
	    DOCKER_API_PREFIX, path) >= sizeof(url))
		return (NULL);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	if ((r->easy = curl_easy_init()) == NULL) {
		free(r);
		return (NULL);
	}
	TAILQ_INSERT_TAIL(&reqs, r, entry);
	r->cb = cb;
	r->arg = arg;
	curl_easy_setopt(r->easy, CURLOPT_UNIX_SOCKET_PATH, socket_path);
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    DOCKER_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, docker_write);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, docker_header);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	if (body != NULL) {
		if ((r->body = strdup(body)) == NULL)
			goto fail;
		r->headers = curl_slist_append(NULL,
		    "Content-Type: application/json");
		if (r->headers == NULL)
			goto fail;
		curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(r->body));
	} else if (strcmp(method, "POST") == 0) {
		/* An empty POST, with its Content-Length: 0. */
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, 0L);
	}
	ncalls++;
	event_active(add_ev, 0, 0);
	return (r);
fail:
	docker_req_free(r);
	return (NULL);
}

/*
 * Start method on path (below /v1.41) with an optional JSON body.  The
 * callback runs later from the event loop, exactly once, unless the
 * request is cancelled first.  NULL if it cannot even be started.
 */
struct docker_req *
docker_request(const char *method, const char *path, const char *body,
    long timeout_ms, docker_cb cb, void *arg)
{
	return (docker_new(method, path, body, timeout_ms, cb, arg));
}

/*
 * A stream: data_cb gets each piece of a 2xx reply as it comes (and one
 * call with no data when the headers are in); it returns -1 to end the
 * stream, 1 to pause it (the same bytes come again after
 * docker_resume()).  A reply that is not 2xx is collected and goes to
 * done like a plain request's.  done runs once at the end unless cancelled;
 * timeout_ms 0 is no time limit, for streams that are only ever
 * cancelled; idle_s > 0 ends a stream that sends nothing that long.
 */
struct docker_req *
docker_stream(const char *method, const char *path, long timeout_ms,
    long idle_s, docker_data_cb data_cb, docker_cb done, void *arg)
{
	struct docker_req	*r;

	if ((r = docker_new(method, path, NULL, timeout_ms, done,
	    arg)) == NULL)
		return (NULL);
	r->data_cb = data_cb;
	if (idle_s > 0) {
		curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_TIME, idle_s);
	}
	return (r);
}

/*
 * Forget r: no callback of it runs again.  The handle leaves the multi
 * from a deferred event, as it may be inside one of its own callbacks.
 */
void
docker_cancel(struct docker_req *r)
{
	if (r == NULL || r->cancelled)
		return;
	r->cancelled = 1;
	r->cb = NULL;
	r->data_cb = NULL;
	event_active(reap_ev, 0, 0);
}

/* Go on with a stream that its data callback paused. */
void
docker_resume(struct docker_req *r)
{
	struct timeval	 tv = { 0, 0 };

	if (r == NULL || r->cancelled || !r->paused)
		return;
	r->paused = 0;
	if (r->added)
		(void)curl_easy_pause(r->easy, CURLPAUSE_CONT);
	/* The transfer may be done now: look, from the loop. */
	evtimer_add(timer_ev, &tv);
}

static void
docker_reap(int fd, short event, void *arg)
{
	struct docker_req	*r, *next;

	TAILQ_FOREACH_SAFE(r, &reqs, entry, next)
		if (r->cancelled)
			docker_req_free(r);
}

static void
docker_add(int fd, short event, void *arg)
{
	struct docker_req	*r, *next;

	TAILQ_FOREACH_SAFE(r, &reqs, entry, next) {
		if (r->added || r->cancelled)
			continue;
		if (curl_multi_add_handle(multi, r->easy) != CURLM_OK) {
			if (r->cb != NULL)
				r->cb(0, "", 0, "cannot start a request",
				    r->arg);
			docker_req_free(r);
			continue;
		}
		r->added = 1;
	}
}

static int
docker_is_2xx(struct docker_req *r)
{
	if (r->status == 0)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE,
		    &r->status);
	return (r->status >= 200 && r->status < 300);
}

static size_t
docker_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct docker_req	*r = arg;
	size_t			 len = size * nmemb;
	long			 code = 0;

	if (r->cancelled)
		return (0);
	/* The blank line after the final (not 1xx) status's headers. */
	if (r->data_cb != NULL && !r->opened && len <= 2 &&
	    (len == 0 || data[0] == '\r' || data[0] == '\n')) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200 && code < 300) {
			r->opened = 1;
			r->status = code;
			if (r->data_cb(NULL, 0, r->arg) == -1) {
				r->stopped = 1;
				return (0);
			}
		}
	}
	return (len);
}

static size_t
docker_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct docker_req	*r = arg;
	size_t			 len = size * nmemb, cap;
	char			*p;

	if (r->cancelled)
		return (0);
	if (r->data_cb != NULL && docker_is_2xx(r)) {
		switch (r->data_cb(data, len, r->arg)) {
		case -1:
			r->stopped = 1;
			return (0);
		case 1:
			/* curl keeps the bytes and gives them again later. */
			r->paused = 1;
			return (CURL_WRITEFUNC_PAUSE);
		}
		return (len);
	}
	if (r->replylen + len > DOCKER_MAX_REPLY) {
		r->toolarge = 1;
		return (0);
	}
	if (r->replylen + len + 1 > r->replycap) {
		cap = MAXIMUM(r->replycap * 2, r->replylen + len + 1);
		cap = MAXIMUM(cap, (size_t)4096);
		if ((p = realloc(r->reply, cap)) == NULL)
			return (0);
		r->reply = p;
		r->replycap = cap;
	}
	memcpy(r->reply + r->replylen, data, len);
	r->replylen += len;
	r->reply[r->replylen] = '\0';
	return (len);
}

static int
docker_socket_cb(CURL *easy, curl_socket_t fd, int what, void *uarg,
    void *sockp)
{
	struct docker_sock	*s = sockp;
	short			 events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_free(s->ev);
			free(s);
			curl_multi_assign(multi, fd, NULL);
		}
		return (0);
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return (-1);
		s->fd = fd;
		curl_multi_assign(multi, fd, s);
	} else
		event_free(s->ev);
	s->ev = event_new(base, fd, events | EV_PERSIST, docker_event, NULL);
	if (s->ev == NULL)
		return (-1);
	event_add(s->ev, NULL);
	return (0);
}

static int
docker_timer_cb(CURLM *m, long ms, void *arg)
{
	struct timeval	 tv;

	if (ms < 0) {
		evtimer_del(timer_ev);
		return (0);
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(timer_ev, &tv);
	return (0);
}

static void
docker_event(int fd, short event, void *arg)
{
	int	 running, action = 0;

	if (event & EV_READ)
		action |= CURL_CSELECT_IN;
	if (event & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(multi, fd, action, &running);
	docker_check_done();
}

static void
docker_timeout(int fd, short event, void *arg)
{
	int	 running;

	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	docker_check_done();
}

static void
docker_check_done(void)
{
	struct docker_req	*r;
	CURLMsg			*msg;
	const char		*err;
	long			 status = 0, oserr = 0;
	int			 left;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &r);
		curl_multi_remove_handle(multi, r->easy);
		r->added = 0;
		if (r->cancelled || r->cb == NULL) {
			docker_req_free(r);
			continue;
		}
		err = NULL;
		status = 0;
		if (r->toolarge)
			err = "reply too large";
		else if (r->stopped)
			err = "stream stopped";
		else if (msg->data.result == CURLE_COULDNT_CONNECT) {
			/* Not curl's "localhost port 80": the socket. */
			curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &oserr);
			(void)snprintf(r->errmsg, sizeof(r->errmsg),
			    "cannot connect to %s: %s", socket_path,
			    oserr != 0 ? strerror((int)oserr) :
			    curl_easy_strerror(msg->data.result));
			err = r->errmsg;
		} else if (msg->data.result != CURLE_OK)
			err = r->errbuf[0] != '\0' ? r->errbuf :
			    curl_easy_strerror(msg->data.result);
		else
			curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE,
			    &status);
		r->cb(err != NULL ? 0 : status, r->reply != NULL ? r->reply :
		    "", r->replylen, err, r->arg);
		docker_req_free(r);
	}
}
