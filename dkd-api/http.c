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

#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "api.h"
#include "cidr.h"
#include "log.h"
#include "worker.h"

/*
 * evhttp set-up, limits, the split between API and files, and the JSON
 * error envelope.
 *
 * libevent 2.1 has no connection cap and its read timeout restarts on
 * every byte, so connections are accounted for here.  Each is counted
 * from accept (evhttp's bufferevent callback) until evhttp closes it
 * (the connection's close callback), globally and per client address.
 * A connection waiting for a request, the first or the next on a
 * keep-alive connection, must complete it within API_REQUEST_SEC of
 * accept or of the end of the previous reply, however it trickles in.
 * While a request is being answered the connection is busy: only
 * evhttp's write timeout and the master's call timeout apply.
 *
 * A connection taken over later (WebSocket, SSE) stays busy from its
 * upgrade request on, so it is never reaped, and stays counted until
 * evhttp frees it: whoever takes it over must call http_conn_release from
 * the close callback that replaces ours.
 */

struct http_addr {
	RB_ENTRY(http_addr)	 entry;
	uint8_t			 key[9];	/* family, then address */
	int			 nconns;
};

struct http_conn {
	RB_ENTRY(http_conn)	 entry;		/* conns, by evcon */
	TAILQ_ENTRY(http_conn)	 link;		/* accepted or waiting */
	struct evhttp_connection *evcon;
	struct bufferevent	*bev;
	struct http_addr	*addr;		/* NULL: not capped */
	uint64_t		 since;		/* waiting since, in ms */
	int			 busy;		/* answering a request */
	void			(*on_close)(void *);	/* sse.c */
	void			*on_close_arg;
};

TAILQ_HEAD(http_connq, http_conn);

static int	http_conn_cmp(struct http_conn *, struct http_conn *);
static int	http_addr_cmp(struct http_addr *, struct http_addr *);
RB_HEAD(http_conns, http_conn);
RB_PROTOTYPE_STATIC(http_conns, http_conn, entry, http_conn_cmp)
RB_GENERATE_STATIC(http_conns, http_conn, entry, http_conn_cmp)
RB_HEAD(http_addrs, http_addr);
RB_PROTOTYPE_STATIC(http_addrs, http_addr, entry, http_addr_cmp)
RB_GENERATE_STATIC(http_addrs, http_addr, entry, http_addr_cmp)

static struct evhttp	*http;
static struct evconnlistener *listener;
static struct http_conns conns = RB_INITIALIZER(&conns);
static struct http_addrs addrs = RB_INITIALIZER(&addrs);
/* Accepted by evhttp, not yet looked at: see http_conn_admit. */
static struct http_connq accepted = TAILQ_HEAD_INITIALIZER(accepted);
/* Waiting for a request, oldest first (all have the same deadline). */
static struct http_connq waiting = TAILQ_HEAD_INITIALIZER(waiting);
static struct event	*admit_ev, *reap_ev, *resume_ev;
static int		 nconns, maxconns, maxconns_addr;

static struct bufferevent *http_conn_new(struct event_base *, void *);
static void	http_conn_admit(int, short, void *);
static int	http_conn_addr(struct http_conn *, struct http_addr *);
static void	http_conn_refuse(struct http_conn *, const char *);
static void	http_conn_wait(struct http_conn *);
static void	http_conn_busy(struct http_conn *);
static void	http_conn_reply_done(struct evhttp_request *, void *);
static void	http_conn_closed(struct evhttp_connection *, void *);
static void	http_conn_drop(struct http_conn *);
static void	http_conn_forget(struct http_conn *);
static void	http_conn_reap(int, short, void *);
static void	http_reap_schedule(void);
static void	http_accept_error(struct evconnlistener *, void *);
static void	http_accept_resume(int, short, void *);
static uint64_t	http_now(void);
static void	http_request(struct evhttp_request *, void *);
static void	http_cors(struct evhttp_request *);
static void	http_api(struct evhttp_request *, const char *);
static int	http_json_body(struct evhttp_request *);

static int
http_conn_cmp(struct http_conn *a, struct http_conn *b)
{
	if (a->evcon == b->evcon)
		return (0);
	return ((uintptr_t)a->evcon < (uintptr_t)b->evcon ? -1 : 1);
}

static int
http_addr_cmp(struct http_addr *a, struct http_addr *b)
{
	return (memcmp(a->key, b->key, sizeof(a->key)));
}

/*
 * nofile is dkd-api's descriptor limit.  A connection may hold two: its
 * socket and a file being sent; the rest of the process needs a few.
 * Below that the cap shrinks, so that accept never meets EMFILE.
 */
void
http_init(struct event_base *base, int fd, long nofile)
{
	struct timeval		 tv = { API_TIMEOUT_SEC, 0 };
	struct evhttp_bound_socket *bound;

	maxconns = MINIMUM(API_MAX_CONNS, (nofile - API_FD_RESERVE) / 2);
	if (maxconns < API_MIN_CONNS)
		maxconns = API_MIN_CONNS;
	maxconns_addr = maxconns / API_CONNS_ADDR_SHARE;
	if (maxconns < API_MAX_CONNS)
		log_warnx("descriptor limit %ld leaves room for %d "
		    "connections, not %d", nofile, maxconns, API_MAX_CONNS);

	if ((http = evhttp_new(base)) == NULL)
		fatalx("evhttp_new");
	evhttp_set_max_body_size(http, API_MAX_BODY);
	evhttp_set_max_headers_size(http, API_MAX_HEADERS);
	evhttp_set_timeout_tv(http, &tv);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS);
	evhttp_set_default_content_type(http, "application/json");
	evhttp_set_gencb(http, http_request, NULL);
	evhttp_set_bevcb(http, http_conn_new, NULL);
	if ((admit_ev = event_new(base, -1, 0, http_conn_admit, NULL)) ==
	    NULL || (reap_ev = evtimer_new(base, http_conn_reap, NULL)) ==
	    NULL || (resume_ev = evtimer_new(base, http_accept_resume,
	    NULL)) == NULL)
		fatalx("event_new");
	if ((bound = evhttp_accept_socket_with_handle(http, fd)) == NULL)
		fatalx("evhttp_accept_socket");
	listener = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(listener, http_accept_error);
}

void
http_shutdown(void)
{
	struct http_conn	*c;

	if (http != NULL) {
		/* Calls http_conn_closed for every admitted connection. */
		evhttp_free(http);
		http = NULL;
	}
	/* Accepted but never admitted: evhttp freed their connections. */
	while ((c = TAILQ_FIRST(&accepted)) != NULL) {
		TAILQ_REMOVE(&accepted, c, link);
		bufferevent_decref(c->bev);
		free(c);
	}
	if (admit_ev != NULL) {
		event_free(admit_ev);
		event_free(reap_ev);
		event_free(resume_ev);
		admit_ev = reap_ev = resume_ev = NULL;
	}
}

static uint64_t
http_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * evhttp asks for a bufferevent for each connection it accepts, before
 * it has given it the socket.  Remember it and look at the connection
 * once the accept callback has returned: admit_ev runs in this same
 * round of the event loop, before anything is read from the socket.
 * The extra reference keeps the bufferevent valid should evhttp give up
 * on the connection in between.
 */
static struct bufferevent *
http_conn_new(struct event_base *base, void *arg)
{
	struct http_conn	*c;
	struct bufferevent	*bev;

	if ((bev = bufferevent_socket_new(base, -1, 0)) == NULL)
		return (NULL);
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		/* Unknown to us: its first request gets a 503. */
		log_warn("%s", __func__);
		return (bev);
	}
	bufferevent_incref(bev);
	c->bev = bev;
	TAILQ_INSERT_TAIL(&accepted, c, link);
	event_active(admit_ev, EV_TIMEOUT, 0);
	return (bev);
}

/*
 * Count each new connection or close it at once: over the cap for its
 * address, or over the global cap unless the connection that has waited
 * longest for a request, for over API_EVICT_MSEC, makes room.  Slow
 * clients hold the oldest waiting connections, so a flood of them
 * cannot keep a fresh client out; a burst of fresh ones does not churn.
 */
static void
http_conn_admit(int fd, short event, void *arg)
{
	struct http_conn	*c, *oldest;
	struct http_addr	 key, *a;
	void			*evcon;
	int			 capped;

	while ((c = TAILQ_FIRST(&accepted)) != NULL) {
		TAILQ_REMOVE(&accepted, c, link);
		/* evhttp's callbacks on it carry the connection. */
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
		bufferevent_decref(c->bev);
		if (evcon == NULL || evhttp_connection_get_bufferevent(evcon) !=
		    c->bev) {
			/* evhttp freed it already. */
			free(c);
			continue;
		}
		c->evcon = evcon;
		capped = http_conn_addr(c, &key) == 0;
		a = capped ? RB_FIND(http_addrs, &addrs, &key) : NULL;
		if (a != NULL && a->nconns >= maxconns_addr) {
			http_conn_refuse(c, "per-address");
			continue;
		}
		if (nconns >= maxconns) {
			oldest = TAILQ_FIRST(&waiting);
			if (oldest == NULL ||
			    http_now() - oldest->since < API_EVICT_MSEC) {
				http_conn_refuse(c, "global");
				continue;
			}
			/* Maybe the last of its address, so look again. */
			http_conn_drop(oldest);
			a = capped ? RB_FIND(http_addrs, &addrs, &key) : NULL;
		}
		if (capped && a == NULL) {
			if ((a = calloc(1, sizeof(*a))) == NULL) {
				http_conn_refuse(c, "out of memory");
				continue;
			}
			memcpy(a->key, key.key, sizeof(a->key));
			RB_INSERT(http_addrs, &addrs, a);
		}
		if (a != NULL)
			a->nconns++;
		c->addr = a;
		RB_INSERT(http_conns, &conns, c);
		nconns++;
		evhttp_connection_set_closecb(c->evcon, http_conn_closed, c);
		http_conn_wait(c);
	}
}

/*
 * The key a client is counted under: an IPv4 address, or the /64 of an
 * IPv6 address (one host or site usually has a whole /64, so counting
 * single IPv6 addresses would cap nothing).  -1 for connections not to
 * be capped per address: trusted proxies, which carry many clients.
 */
static int
http_conn_addr(struct http_conn *c, struct http_addr *key)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	const uint8_t		*ip;
	uint8_t			 full[16];
	int			 af, i, fd;

	memset(key, 0, sizeof(*key));
	if ((fd = bufferevent_getfd(c->bev)) == -1 ||
	    getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return (-1);
	if (ss.ss_family == AF_INET) {
		af = AF_INET;
		ip = (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr;
	} else if (ss.ss_family == AF_INET6) {
		ip = ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(
		    &((struct sockaddr_in6 *)&ss)->sin6_addr)) {
			af = AF_INET;
			ip += 12;
		} else
			af = AF_INET6;
	} else
		return (-1);
	memset(full, 0, sizeof(full));
	memcpy(full, ip, af == AF_INET ? 4 : 16);
	for (i = 0; i < worker->settings.nproxies; i++)
		if (cidr_match(&worker->settings.proxies[i], af, full))
			return (-1);
	key->key[0] = af == AF_INET ? 4 : 6;
	memcpy(key->key + 1, full, af == AF_INET ? 4 : 8);
	return (0);
}

/* Close a connection we did not count.  Logged at most every 10 s. */
static void
http_conn_refuse(struct http_conn *c, const char *cap)
{
	static uint64_t	 last;
	static unsigned	 refused;
	uint64_t	 now;

	evhttp_connection_free(c->evcon);
	free(c);
	refused++;
	now = http_now();
	if (last == 0 || now - last >= 10000) {
		log_warnx("%s connection limit: %u refused since the last "
		    "report", cap, refused);
		last = now;
		refused = 0;
	}
}

/* Start the clock for the connection's next request. */
static void
http_conn_wait(struct http_conn *c)
{
	c->busy = 0;
	c->since = http_now();
	TAILQ_INSERT_TAIL(&waiting, c, link);
	if (TAILQ_FIRST(&waiting) == c)
		http_reap_schedule();
}

/* A request is being answered: no deadline until the reply is out. */
static void
http_conn_busy(struct http_conn *c)
{
	int	 first;

	if (c->busy)
		return;
	first = TAILQ_FIRST(&waiting) == c;
	TAILQ_REMOVE(&waiting, c, link);
	c->busy = 1;
	if (first)
		http_reap_schedule();
}

/* A reply has been written: the connection waits for its next request. */
static void
http_conn_reply_done(struct evhttp_request *req, void *arg)
{
	struct evhttp_connection *evcon;
	struct http_conn	 key, *c;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return;
	key.evcon = evcon;
	if ((c = RB_FIND(http_conns, &conns, &key)) != NULL && c->busy)
		http_conn_wait(c);
}

static void
http_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn	*c = arg;

	if (c->on_close != NULL)
		c->on_close(c->on_close_arg);
	http_conn_forget(c);
}

/*
 * An SSE reply (sse.c) must learn that its connection closes, while
 * the connection stays ours and counted: fn(arg) runs first when it
 * does.  NULL removes the hook.  -1 for a connection we do not know.
 */
int
http_conn_on_close(struct evhttp_connection *evcon, void (*fn)(void *),
    void *arg)
{
	struct http_conn	 key, *c;

	key.evcon = evcon;
	if ((c = RB_FIND(http_conns, &conns, &key)) == NULL)
		return (-1);
	c->on_close = fn;
	c->on_close_arg = arg;
	return (0);
}

/* Close a connection ourselves. */
static void
http_conn_drop(struct http_conn *c)
{
	struct evhttp_connection *evcon = c->evcon;

	evhttp_connection_set_closecb(evcon, NULL, NULL);
	if (c->on_close != NULL)
		c->on_close(c->on_close_arg);
	http_conn_forget(c);
	evhttp_connection_free(evcon);
}

static void
http_conn_forget(struct http_conn *c)
{
	http_conn_busy(c);
	if (c->addr != NULL && --c->addr->nconns == 0) {
		RB_REMOVE(http_addrs, &addrs, c->addr);
		free(c->addr);
	}
	RB_REMOVE(http_conns, &conns, c);
	nconns--;
	free(c);
}

/*
 * ws.c took the connection over and with it the close callback: it
 * tells us here when the WebSocket ends, so that the connection counts
 * against the cap for as long as it lives.
 */
void
http_conn_release(struct evhttp_connection *evcon)
{
	struct http_conn	 key, *c;

	key.evcon = evcon;
	if ((c = RB_FIND(http_conns, &conns, &key)) != NULL)
		http_conn_closed(evcon, c);
}

static void
http_reap_schedule(void)
{
	struct http_conn	*c;
	struct timeval		 tv;
	uint64_t		 due, now;

	if ((c = TAILQ_FIRST(&waiting)) == NULL) {
		evtimer_del(reap_ev);
		return;
	}
	due = c->since + API_REQUEST_SEC * 1000;
	now = http_now();
	due = due > now ? due - now : 0;
	tv.tv_sec = due / 1000;
	tv.tv_usec = (due % 1000) * 1000;
	evtimer_add(reap_ev, &tv);
}

/* Close every connection past its request deadline. */
static void
http_conn_reap(int fd, short event, void *arg)
{
	struct http_conn	*c;
	uint64_t		 now = http_now();

	while ((c = TAILQ_FIRST(&waiting)) != NULL &&
	    now - c->since >= API_REQUEST_SEC * 1000)
		http_conn_drop(c);
	http_reap_schedule();
}

/*
 * accept failed for another reason than "try again", most likely
 * EMFILE or ENFILE.  The pending connection stays in the backlog and
 * the listener would fire again at once: pause it for a moment instead
 * of spinning.
 */
static void
http_accept_error(struct evconnlistener *lev, void *arg)
{
	struct timeval	 tv = { API_ACCEPT_PAUSE_SEC, 0 };

	log_warn("accept");
	evconnlistener_disable(lev);
	evtimer_add(resume_ev, &tv);
}

static void
http_accept_resume(int fd, short event, void *arg)
{
	evconnlistener_enable(listener);
}

static void
http_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri;
	const char		*raw, *path;
	struct http_conn	 key, *c;

	key.evcon = evhttp_request_get_connection(req);
	if (key.evcon == NULL ||
	    (c = RB_FIND(http_conns, &conns, &key)) == NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		http_error(req, 503, "internal", "Too many connections.");
		return;
	}
	http_conn_busy(c);
	evhttp_request_set_on_complete_cb(req, http_conn_reply_done, NULL);

	/*
	 * evhttp reads "//x/y" as host x and path /y; for a request line it
	 * is the path //x/y, which would serve /y.  Refuse it.
	 */
	raw = evhttp_request_get_uri(req);
	uri = evhttp_request_get_evhttp_uri(req);
	if (raw == NULL || strncmp(raw, "//", 2) == 0 || uri == NULL ||
	    (path = evhttp_uri_get_path(uri)) == NULL || *path != '/') {
		http_error(req, 400, "invalid", "Bad request path.");
		return;
	}
	if (strcmp(path, "/api") == 0 || strncmp(path, "/api/", 5) == 0) {
		http_api(req, path);
		return;
	}
	static_serve(req, path);
}

static void
http_cors(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	if (worker->settings.cors_origin[0] == '\0')
		return;
	evhttp_add_header(h, "Access-Control-Allow-Origin",
	    worker->settings.cors_origin);
	evhttp_add_header(h, "Access-Control-Allow-Methods",
	    "GET, POST, PATCH, DELETE, OPTIONS");
	evhttp_add_header(h, "Access-Control-Allow-Headers",
	    "Authorization, Content-Type");
	evhttp_add_header(h, "Access-Control-Max-Age", "86400");
}

static void
http_api(struct evhttp_request *req, const char *path)
{
	http_cors(req);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_OPTIONS) {
		evhttp_send_reply(req, 204, "No Content", NULL);
		return;
	}
	if (!http_json_body(req)) {
		http_error(req, 415, "invalid",
		    "Content-Type must be application/json.");
		return;
	}
	routes_dispatch(req, path);
}

/*
 * A body must say it is JSON.  A cross-origin form or text/plain post
 * is a "simple" request that browsers send without asking first; this
 * is what turns it away.  Parameters (charset) are allowed.
 */
static int
http_json_body(struct evhttp_request *req)
{
	const char	*ct;
	size_t		 len = strlen("application/json");

	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) == 0)
		return (1);
	ct = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	if (ct == NULL)
		return (0);
	ct += strspn(ct, " \t");
	if (strncasecmp(ct, "application/json", len) != 0)
		return (0);
	ct += len;
	ct += strspn(ct, " \t");
	return (*ct == '\0' || *ct == ';');
}

/*
 * {"error": code, "message": message, with the map left open; NULL
 * once a bare 500 went out instead.
 */
static yajl_gen
http_error_open(struct evhttp_request *req, const char *code,
    const char *message)
{
	yajl_gen	 g;

	if ((g = json_new()) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return (NULL);
	}
	yajl_gen_map_open(g);
	json_kv_str(g, "error", code);
	json_kv_str(g, "message", message);
	return (g);
}

void
http_error(struct evhttp_request *req, int status, const char *code,
    const char *message)
{
	yajl_gen	 g;

	if ((g = http_error_open(req, code != NULL ? code :
	    op_error_code(status), message)) == NULL)
		return;
	yajl_gen_map_close(g);
	http_send_json(req, status, g);
}

void
http_send_json(struct evhttp_request *req, int status, yajl_gen g)
{
	const unsigned char *out;
	size_t		 len;

	if (yajl_gen_get_buf(g, &out, &len) != yajl_gen_status_ok) {
		yajl_gen_free(g);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	http_send_body(req, status, out, len);
	yajl_gen_free(g);
}

/* JSON that is already text. */
void
http_send_body(struct evhttp_request *req, int status, const void *body,
    size_t len)
{
	struct evbuffer	*buf;

	if ((buf = evbuffer_new()) == NULL || evbuffer_add(buf, body,
	    len) == -1) {
		if (buf != NULL)
			evbuffer_free(buf);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, status, NULL, buf);
	evbuffer_free(buf);
}

/* A 422 for one field, as the master would send it. */
void
http_invalid_field(struct evhttp_request *req, const char *field,
    const char *message)
{
	yajl_gen	 g;

	if ((g = http_error_open(req, "invalid", "Validation failed.")) ==
	    NULL)
		return;
	json_str(g, "errors");
	yajl_gen_map_open(g);
	json_str(g, field);
	yajl_gen_array_open(g);
	json_str(g, message);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	http_send_json(req, 422, g);
}
