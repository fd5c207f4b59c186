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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api.h"
#include "log.h"
#include "worker.h"

/*
 * GET /api/projects/{pid}/services/{sid}/logs: Server-Sent Events
 * (spec 11).  The master checks the caller and the service (LOGS_OPEN)
 * and, with its 200, hands over a socket whose other end dkd-logd
 * writes ready-made events into: history, then live lines, pings and
 * container_exited.  Here those bytes are copied to the client as a
 * chunked reply, and nothing is parsed.
 *
 * The copy is paced by the client: above SSE_OUT_HIGH bytes waiting
 * for it, we stop reading from logd, so logd's queue for this viewer
 * fills instead, and logd cuts a viewer that falls too far behind
 * (a "dropped" event).  A client that reads nothing at all is closed
 * by the write timeout.
 *
 * The connection stays evhttp's and counts against the connection cap
 * (http.c); http.c tells us when it closes.  Then the reply, which
 * evhttp leaves unfinished and unfreed when the client went away, is
 * ended here (reference/tech-notes.md 1, the leak pitfall).
 */

#define SSE_READ		(64 * 1024)
#define SSE_OUT_HIGH		(256 * 1024)

struct sse {
	TAILQ_ENTRY(sse)	 entry;
	struct evhttp_request	*req;
	struct evhttp_connection *evcon;
	int			 fd;
	struct event		*ev;
	struct evbuffer		*buf;
	int			 paused;
};

static TAILQ_HEAD(, sse) streams = TAILQ_HEAD_INITIALIZER(streams);

static void	sse_read(int, short, void *);
static void	sse_drained(struct evhttp_connection *, void *);
static void	sse_closed(void *);
static void	sse_free(struct sse *);

/* The master's answer to LOGS_OPEN: 200 and a socket, or an error. */
void
sse_open_done(struct evhttp_request *req, const struct msg_reply *m,
    void *arg)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct timeval		 tv = { API_TIMEOUT_SEC, 0 };
	struct bufferevent	*bev;
	struct sse		*s;
	int			 fd;

	if (m->status != 200) {
		route_done(req, m, arg);
		return;
	}
	route_ctx_free(arg);		/* no copy is kept of a stream */
	if ((fd = api_call_take_fd()) == -1) {
		log_warnx("%s: a 200 without a socket", __func__);
		http_error(req, 500, "internal", "Internal error.");
		return;
	}
	if (evhttp_request_get_connection(req) == NULL ||
	    (s = calloc(1, sizeof(*s))) == NULL) {
		/* The client left; the reply frees the request. */
		close(fd);
		http_error(req, 503, "internal", "Service unavailable.");
		return;
	}
	s->req = req;
	s->evcon = evhttp_request_get_connection(req);
	s->fd = fd;
	if ((s->buf = evbuffer_new()) == NULL ||
	    (s->ev = event_new(worker->base, fd, EV_READ | EV_PERSIST,
	    sse_read, s)) == NULL ||
	    evutil_make_socket_nonblocking(fd) == -1 ||
	    http_conn_on_close(s->evcon, sse_closed, s) == -1) {
		log_warn("%s", __func__);
		sse_free(s);
		http_error(req, 503, "internal", "Service unavailable.");
		return;
	}
	TAILQ_INSERT_TAIL(&streams, s, entry);
	evhttp_remove_header(h, "Cache-Control");
	evhttp_remove_header(h, "Content-Type");
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-cache, no-transform");
	evhttp_add_header(h, "Connection", "keep-alive");
	evhttp_add_header(h, "X-Accel-Buffering", "no");
	evhttp_send_reply_start(req, 200, "OK");
	/* Quiet streams are fine (logd pings); clients that read nothing. */
	if ((bev = evhttp_connection_get_bufferevent(s->evcon)) != NULL)
		bufferevent_set_timeouts(bev, NULL, &tv);
	event_add(s->ev, NULL);
}

static void
sse_free(struct sse *s)
{
	if (s->ev != NULL)
		event_free(s->ev);
	if (s->buf != NULL)
		evbuffer_free(s->buf);
	close(s->fd);
	free(s);
}

/* Bytes from logd, straight to the client. */
static void
sse_read(int fd, short event, void *arg)
{
	struct sse		*s = arg;
	struct timeval		 tv = { API_TIMEOUT_SEC, 0 };
	struct bufferevent	*bev;
	int			 n;

	n = evbuffer_read(s->buf, fd, SSE_READ);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		evhttp_send_reply_chunk_with_cb(s->req, s->buf, sse_drained,
		    s);
		bev = evhttp_connection_get_bufferevent(s->evcon);
		if (evbuffer_get_length(bufferevent_get_output(bev)) >
		    SSE_OUT_HIGH) {
			event_del(s->ev);
			s->paused = 1;
		}
		return;
	}
	/* logd is done with this viewer: so is the reply. */
	TAILQ_REMOVE(&streams, s, entry);
	(void)http_conn_on_close(s->evcon, NULL, NULL);
	if ((bev = evhttp_connection_get_bufferevent(s->evcon)) != NULL)
		bufferevent_set_timeouts(bev, &tv, &tv);
	evhttp_send_reply_end(s->req);
	sse_free(s);
}

/* The client took all it had: read on. */
static void
sse_drained(struct evhttp_connection *evcon, void *arg)
{
	struct sse	*s = arg;

	if (s->paused) {
		s->paused = 0;
		event_add(s->ev, NULL);
	}
}

/* The connection closes under the reply. */
static void
sse_closed(void *arg)
{
	struct sse	*s = arg;

	TAILQ_REMOVE(&streams, s, entry);
	if (evhttp_request_get_connection(s->req) == NULL)
		evhttp_send_reply_end(s->req);
	sse_free(s);
}

void
sse_shutdown(void)
{
	struct sse	*s;

	while ((s = TAILQ_FIRST(&streams)) != NULL) {
		TAILQ_REMOVE(&streams, s, entry);
		sse_free(s);
	}
}
