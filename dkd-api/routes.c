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

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api.h"
#include "log.h"
#include "tree_json.h"
#include "util.h"
#include "worker.h"

/*
 * The API routes are the ops of ops.def that have a path.  Each maps a
 * method and a path pattern to an op of the master; the fields the op
 * takes come from the JSON body, the query string and the path, as
 * ops.c describes.  The master's reply is a tree that is rendered as
 * JSON here.
 */

#define PATH_PARAMS_MAX	4
#define PATH_SEGS_MAX	8
#define SEG_MAX		128

static const int methods[] = {
	[M_GET] = EVHTTP_REQ_GET,
	[M_POST] = EVHTTP_REQ_POST,
	[M_PATCH] = EVHTTP_REQ_PATCH,
	[M_DELETE] = EVHTTP_REQ_DELETE,
};

/* A call in flight: its cache key and the copy it asked about. */
struct route_ctx {
	struct wbuf		 key;
	struct rcache_entry	*held;
};

static void	route_call(struct evhttp_request *, enum api_op,
		    char [][SEG_MAX], int, api_call_cb);
static void	route_copy_sent(const void *, size_t, void *);
static void	route_send_copy(struct evhttp_request *,
		    struct rcache_entry *);

/*
 * Does path match pattern?  Parameters are copied, decoded, into
 * params.  A path segment of a parameter must be non-empty.
 */
static int
route_match(const char *pattern, const char *path, char params[][SEG_MAX],
    int *nparams)
{
	const char	*p = pattern, *q = path;
	size_t		 pl, ql, declen;
	char		*dec;

	*nparams = 0;
	while (*p == '/' && *q == '/') {
		p++;
		q++;
		pl = strcspn(p, "/");
		ql = strcspn(q, "/");
		if (*p == ':') {
			if (ql == 0 || ql >= SEG_MAX ||
			    *nparams == PATH_PARAMS_MAX)
				return (0);
			memcpy(params[*nparams], q, ql);
			params[*nparams][ql] = '\0';
			if ((dec = evhttp_uridecode(params[*nparams], 0,
			    &declen)) == NULL)
				return (0);
			/* %00 or bytes that are not UTF-8 name nothing. */
			if (declen >= SEG_MAX || memchr(dec, '\0', declen) !=
			    NULL || !utf8_valid(dec, declen)) {
				free(dec);
				return (0);
			}
			memcpy(params[*nparams], dec, declen + 1);
			free(dec);
			(*nparams)++;
		} else if (pl != ql || strncmp(p, q, pl) != 0)
			return (0);
		p += pl;
		q += ql;
	}
	/* A trailing slash names the same resource. */
	if (*p == '\0' && q[0] == '/' && q[1] == '\0')
		q++;
	return (*p == '\0' && *q == '\0');
}

void
routes_dispatch(struct evhttp_request *req, const char *path)
{
	const struct op_spec	*spec;
	char			 params[PATH_PARAMS_MAX][SEG_MAX];
	uint32_t		 op;
	int			 n, method, pathmatch = 0;

	/* The canvas WebSocket is no op of its own: ws.c asks the master. */
	if (route_match("/api/projects/:id/canvas/ws", path, params, &n)) {
		ws_upgrade(req, params[0]);
		return;
	}
	method = evhttp_request_get_command(req);
	if (method == EVHTTP_REQ_HEAD)
		method = EVHTTP_REQ_GET;
	for (op = OP_NONE + 1; op < OP_MAX; op++) {
		if ((spec = op_spec(op)) == NULL || spec->path == NULL ||
		    !(spec->callers & CALLER_API) ||
		    !route_match(spec->path, path, params, &n))
			continue;
		pathmatch = 1;
		if (methods[spec->method] != method)
			continue;
		/* The log stream is answered as SSE (sse.c); HEAD is not. */
		route_call(req, op, params, n, op == OP_LOGS_OPEN &&
		    evhttp_request_get_command(req) == EVHTTP_REQ_GET ?
		    sse_open_done : route_done);
		return;
	}
	if (pathmatch)
		http_error(req, 405, "invalid", "Method not allowed.");
	else
		http_error(req, 404, "not_found", "Not found.");
}

/* The hash of the bearer token, or "" when there is no header. */
static void
route_token(struct evhttp_request *req, char hash[SHA256_HEX_LEN + 1])
{
	const char	*h, *tok;

	hash[0] = '\0';
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (h == NULL)
		return;
	tok = h;
	if (strncasecmp(h, "Bearer ", 7) == 0)
		tok = h + 7 + strspn(h + 7, " ");
	/* Anything else still hashes: to a token that matches nothing. */
	sha256_hex(tok, strlen(tok), hash);
}

static int
route_query(struct evhttp_request *req, const struct op_spec *spec,
    struct op_args *a)
{
	struct evkeyvalq	 q;
	const struct op_field	*f;
	const char		*query, *v;
	char			*end, msg[128];
	long long		 n;
	int			 i, rv = 0;

	TAILQ_INIT(&q);
	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (query != NULL && evhttp_parse_query_str(query, &q) == -1) {
		http_error(req, 400, "invalid", "Bad query string.");
		return (-1);
	}
	for (i = 0; i < spec->nfields && rv == 0; i++) {
		f = &spec->fields[i];
		if (f->src != FS_QUERY ||
		    (v = evhttp_find_header(&q, f->name)) == NULL)
			continue;
		if (f->type == FT_INT) {
			errno = 0;
			n = strtoll(v, &end, 10);
			if (*v == '\0' || *end != '\0' || errno != 0) {
				(void)snprintf(msg, sizeof(msg), "Query param "
				    "\"%s\" must be an integer.", f->name);
				http_error(req, 400, "invalid", msg);
				rv = -1;
				break;
			}
			a->num[i] = n;
			a->present[i] = 1;
		} else if (strlen(v) > f->max || !utf8_valid(v, strlen(v))) {
			(void)snprintf(msg, sizeof(msg), "Query param \"%s\" "
			    "is too long or not UTF-8.", f->name);
			http_error(req, 400, "invalid", msg);
			rv = -1;
		} else if (op_args_set_str(a, i, v) == -1) {
			http_error(req, 500, "internal", "Internal error.");
			rv = -1;
		}
	}
	evhttp_clear_headers(&q);
	return (rv);
}

static void
route_call(struct evhttp_request *req, enum api_op op,
    char params[][SEG_MAX], int nparams, api_call_cb done)
{
	const struct op_spec	*spec = op_spec(op);
	const struct op_field	*f;
	struct op_args		 a;
	struct body_error	 berr;
	struct evbuffer		*in;
	struct route_ctx	*ctx;
	struct wbuf		 wb, key;
	char			 token[SHA256_HEX_LEN + 1];
	char			 client[64];
	size_t			 fields_len;
	int			 i, p = 0, want_body = 0;

	memset(&a, 0, sizeof(a));
	route_token(req, token);
	client_address(req, client, sizeof(client));
	for (i = 0; i < spec->nfields; i++) {
		f = &spec->fields[i];
		if (f->src == FS_BODY)
			want_body = 1;
		else if (f->src == FS_PATH && p < nparams &&
		    strlen(params[p]) > f->max) {
			/* Longer than any id: the master would kill us. */
			http_error(req, 404, "not_found", "Not found.");
			goto fail;
		} else if (f->src == FS_PATH && p < nparams &&
		    op_args_set_str(&a, i, params[p++]) == -1) {
			http_error(req, 500, "internal", "Internal error.");
			goto fail;
		}
	}
	if (want_body) {
		in = evhttp_request_get_input_buffer(req);
		if (body_decode(evbuffer_pullup(in, -1),
		    evbuffer_get_length(in), spec, &a, &berr) == -1) {
			if (berr.status == 422)
				http_invalid_field(req, berr.field,
				    berr.message);
			else
				http_error(req, berr.status, NULL,
				    berr.message);
			goto fail;
		}
	}
	if (route_query(req, spec, &a) == -1)
		goto fail;
	/* Secrets the master only compares cross as their hash. */
	if (op_args_hash_tokens(spec, &a) == -1) {
		http_error(req, 500, "internal", "Internal error.");
		goto fail;
	}
	/*
	 * The op, its fields and the caller's token hash: the key of a copy
	 * kept by cache.c.  The master answers "current" after
	 * authentication but before its handler runs, so a copy only ever
	 * answers the session it was made for: any check a handler makes
	 * per user holds for copies too.
	 */
	wbuf_init(&key, DKD_IMSG_MAX_INTERNAL - 1024);
	wire_put_u32(&key, op);
	op_args_put(&key, spec, &a);
	op_args_clear(&a);
	fields_len = key.len;
	wire_put_str(&key, token);
	if (key.error) {
		http_error(req, 413, "invalid", "Request too large.");
		wbuf_free(&key);
		return;
	}
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		http_error(req, 503, "internal", "Service unavailable.");
		wbuf_free(&key);
		return;
	}
	ctx->held = rcache_hold(key.buf, key.len);
	wbuf_init(&wb, DKD_IMSG_MAX_INTERNAL - 64);
	msg_request_put(&wb, op, token, client, ctx->held != NULL ?
	    ctx->held->generation : 0);
	wire_put_raw(&wb, key.buf + 4, fields_len - 4);
	ctx->key = key;
	if (wb.error || api_call_master(req, &wb, done, ctx) == -1) {
		route_ctx_free(ctx);
		http_error(req, 503, "internal", "Service unavailable.");
	}
	explicit_bzero(wb.buf, wb.len);
	wbuf_free(&wb);
	return;
fail:
	op_args_clear(&a);
}

static void
route_copy_sent(const void *data, size_t len, void *arg)
{
	rcache_release(arg);
}

/* The kept copy, by reference: it stays held until evhttp sent it. */
static void
route_send_copy(struct evhttp_request *req, struct rcache_entry *e)
{
	struct evbuffer	*buf;

	if ((buf = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	e->refs++;
	if (evbuffer_add_reference(buf, e->body, e->bodylen, route_copy_sent,
	    e) == -1) {
		rcache_release(e);
		evbuffer_free(buf);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, 200, NULL, buf);
	evbuffer_free(buf);
}

void
route_ctx_free(struct route_ctx *ctx)
{
	rcache_release(ctx->held);
	wbuf_free(&ctx->key);
	free(ctx);
}

/*
 * Render the master's answer: status, allowed headers, JSON body.  A
 * 304 says the copy this request held is current; an answer with a
 * generation may be kept.  arg is the route_ctx of route_call, or NULL.
 */
void
route_done(struct evhttp_request *req, const struct msg_reply *m,
    void *arg)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	struct route_ctx	*ctx = arg;
	const unsigned char	*json;
	struct rbuf		 r;
	yajl_gen		 g;
	size_t			 len;

	if (m->status == 0) {
		http_error(req, 503, "internal",
		    "The server did not answer in time.");
		goto done;
	}
	if (m->status == 304) {
		if (ctx == NULL || ctx->held == NULL) {
			log_warnx("the master says a copy we do not hold is "
			    "current");
			http_error(req, 500, "internal", "Internal error.");
		} else
			route_send_copy(req, ctx->held);
		goto done;
	}
	if (m->retry_after[0] != '\0')
		evhttp_add_header(out, "Retry-After", m->retry_after);
	if (m->tree_len == 0) {
		evhttp_send_reply(req, (int)m->status, NULL, NULL);
		goto done;
	}
	rbuf_init(&r, m->tree, m->tree_len);
	if ((g = json_new()) == NULL || tree_to_json(&r, g) == -1) {
		if (g != NULL)
			yajl_gen_free(g);
		log_warnx("reply from the master does not render as JSON");
		http_error(req, 500, "internal", "Internal error.");
		goto done;
	}
	if (ctx != NULL && m->status == 200 && m->generation != 0 &&
	    yajl_gen_get_buf(g, &json, &len) == yajl_gen_status_ok)
		rcache_store(ctx->key.buf, ctx->key.len, m->generation, json,
		    len);
	http_send_json(req, (int)m->status, g);
done:
	if (ctx != NULL)
		route_ctx_free(ctx);
}
