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
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api.h"
#include "log.h"
#include "worker.h"

/*
 * evhttp set-up, limits, the split between API and files, and the JSON
 * error envelope.
 * libevent 2.1 has no connection cap, so connections are counted here:
 * each is registered at its first request and forgotten when it closes.
 */

struct http_conn {
	RB_ENTRY(http_conn)	 entry;
	struct evhttp_connection *evcon;
};

static int	http_conn_cmp(struct http_conn *, struct http_conn *);
RB_HEAD(http_conns, http_conn);
RB_PROTOTYPE_STATIC(http_conns, http_conn, entry, http_conn_cmp)
RB_GENERATE_STATIC(http_conns, http_conn, entry, http_conn_cmp)

static struct evhttp	*http;
static struct http_conns conns = RB_INITIALIZER(&conns);
static int		 nconns;

static void	http_request(struct evhttp_request *, void *);
static int	http_conn_admit(struct evhttp_request *);
static void	http_conn_closed(struct evhttp_connection *, void *);
static void	http_cors(struct evhttp_request *);
static void	http_api(struct evhttp_request *, const char *);

static int
http_conn_cmp(struct http_conn *a, struct http_conn *b)
{
	if (a->evcon == b->evcon)
		return (0);
	return ((uintptr_t)a->evcon < (uintptr_t)b->evcon ? -1 : 1);
}

void
http_init(struct event_base *base, int fd)
{
	struct timeval	 tv = { API_TIMEOUT_SEC, 0 };

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
	if (evhttp_accept_socket_with_handle(http, fd) == NULL)
		fatalx("evhttp_accept_socket");
}

void
http_shutdown(void)
{
	if (http != NULL) {
		evhttp_free(http);
		http = NULL;
	}
}

/*
 * Count a connection at its first request.  Over the cap, answer 503 and
 * close; the client may retry once others have left.
 */
static int
http_conn_admit(struct evhttp_request *req)
{
	struct evhttp_connection *evcon;
	struct http_conn	 key, *c;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return (0);
	key.evcon = evcon;
	if (RB_FIND(http_conns, &conns, &key) != NULL)
		return (0);
	if (nconns >= API_MAX_CONNS || (c = calloc(1, sizeof(*c))) == NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		http_error(req, 503, "internal", "Too many connections.");
		return (-1);
	}
	c->evcon = evcon;
	RB_INSERT(http_conns, &conns, c);
	nconns++;
	evhttp_connection_set_closecb(evcon, http_conn_closed, c);
	return (0);
}

static void
http_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn	*c = arg;

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
http_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri;
	const char		*path;

	if (http_conn_admit(req) == -1)
		return;
	uri = evhttp_request_get_evhttp_uri(req);
	if (uri == NULL || (path = evhttp_uri_get_path(uri)) == NULL ||
	    *path != '/') {
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
	routes_dispatch(req, path);
}

void
http_error(struct evhttp_request *req, int status, const char *code,
    const char *message)
{
	yajl_gen	 g;

	if ((g = json_new()) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	yajl_gen_map_open(g);
	json_kv_str(g, "error", code != NULL ? code :
	    op_error_code(status));
	json_kv_str(g, "message", message);
	yajl_gen_map_close(g);
	http_send_json(req, status, g);
}

void
http_send_json(struct evhttp_request *req, int status, yajl_gen g)
{
	struct evbuffer	*buf;
	const unsigned char *out;
	size_t		 len;

	if (yajl_gen_get_buf(g, &out, &len) != yajl_gen_status_ok ||
	    (buf = evbuffer_new()) == NULL) {
		yajl_gen_free(g);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add(buf, out, len);
	yajl_gen_free(g);
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

	if ((g = json_new()) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	yajl_gen_map_open(g);
	json_kv_str(g, "error", "invalid");
	json_kv_str(g, "message", "Validation failed.");
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
