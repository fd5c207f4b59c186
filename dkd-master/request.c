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

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkd.h"
#include "log.h"
#include "store.h"

/*
 * Requests from dkd-api and dkctl: decode against the shared op table,
 * authenticate by token hash, check the role, run the handler.  Handlers
 * answer once, now or later (password hashing, Docker queries), through
 * the reply_* calls, which also free the request.  Where a request came
 * from is its origin's business: the origin sets the reply callback, so
 * nothing here knows a transport.
 */

#define REPLY_MAX	DKD_IMSG_MAX_INTERNAL

typedef void	(*op_handler)(struct request *);

static void	op_health(struct request *);

static const op_handler handlers[OP_MAX] = {
#define OP(id, name, method, path, auth, callers, fields, handler)	\
	[OP_##id] = handler,
#include "ops.def"
#undef OP
};

static int	request_cacheable(const struct request *);
static void	reply_send(struct request *, int, const char *,
		    struct wbuf *);

/* GET /api/health: the master and its database answer. */
static void
op_health(struct request *req)
{
	struct wbuf	 w;

	if (db_ping() == -1) {
		reply_error(req, 503, "The database is not available.");
		return;
	}
	tree_new(&w);
	tree_map(&w);
	tree_kv_str(&w, "status", "ok");
	tree_end(&w);
	reply_tree(req, 200, &w);
}

/* A request of caller, answered through reply; NULL without memory. */
struct request *
request_new(int caller, uint32_t id, request_reply_cb reply, void *arg)
{
	struct request	*req;

	if ((req = calloc(1, sizeof(*req))) == NULL) {
		log_warn("%s", __func__);
		return (NULL);
	}
	req->caller = caller;
	req->id = id;
	req->reply = reply;
	req->reply_arg = arg;
	return (req);
}

/*
 * The op's fields, the rest of r.  An op the caller may not ask for, or
 * fields that do not decode, mean the sender is broken: -1, and the
 * request is freed.
 */
int
request_decode(struct request *req, uint32_t op, struct rbuf *r)
{
	req->op = op;
	if (r->error || (req->spec = op_spec(req->op)) == NULL ||
	    (req->spec->callers & req->caller) == 0 ||
	    op_args_get(r, req->spec, &req->args) == -1 ||
	    wire_done(r) == -1) {
		request_free(req);
		return (-1);
	}
	return (0);
}

/*
 * Reads whose answer depends on nothing but the database and the op's
 * fields: not on the caller (the caller was authenticated and
 * authorised first), the clock, Docker or memory.  dkd-api keeps their
 * answers and asks whether its copy is still current, which spares the
 * master and dkd-api the rendering of big lists.
 */
static int
request_cacheable(const struct request *req)
{
	switch (req->op) {
	case OP_PROJECTS_LIST:
	case OP_PROJECTS_GET:
	case OP_SERVICES_LIST:
	case OP_SERVICES_GET:
	case OP_DEPLOYMENTS_LIST:
	case OP_DEPLOYMENTS_GET:
	case OP_ENV_PROJECT_LIST:
	case OP_ENV_SERVICE_LIST:
	case OP_ENV_GROUP_LIST:
	case OP_PENDING_LIST:
	case OP_USERS_LIST:
	case OP_USERS_GET:
		return (req->caller == CALLER_API);
	default:
		return (0);
	}
}

/* dkctl's requests act with the rights of root; the origin checked. */
void
request_as_root(struct request *req)
{
	req->authed = 1;
	strlcpy(req->user.role, "admin", sizeof(req->user.role));
	strlcpy(req->user.name, "dkctl", sizeof(req->user.name));
}

/*
 * Authenticate and authorise, then hand over to the handler.  dkctl's
 * requests come with the rights of root, checked by its origin.
 */
void
request_run(struct request *req)
{
	if (req->caller == CALLER_API && req->spec->auth == AUTH_TICKET) {
		if (ticket_resolve(req) == -1) {
			reply_internal(req);
			return;
		}
		if (!req->authed) {
			reply_error(req, 401, "Invalid or expired ticket.");
			return;
		}
	} else if (req->caller == CALLER_API) {
		if (req->spec->auth != AUTH_PUBLIC) {
			if (auth_resolve(req) == -1) {
				reply_internal(req);
				return;
			}
			if (!req->authed) {
				reply_error(req, 401, req->token_hash[0] ==
				    '\0' ? "Authentication required." :
				    "Invalid or expired token.");
				return;
			}
		}
		if (req->spec->auth == AUTH_ADMIN &&
		    strcmp(req->user.role, "admin") != 0) {
			reply_error(req, 403, "Insufficient permissions.");
			return;
		}
	}
	if (handlers[req->op] == NULL) {
		reply_error(req, 501, "Not implemented.");
		return;
	}
	if (request_cacheable(req)) {
		req->seen = db_generation();
		if (req->cached == req->seen) {
			reply_empty(req, 304);
			return;
		}
	}
	handlers[req->op](req);
}

void
request_free(struct request *req)
{
	op_args_clear(&req->args);
	explicit_bzero(req, sizeof(*req));
	free(req);
}

/* Status, headers, tree: the reply message, to whoever asked. */
static void
reply_send(struct request *req, int status, const char *retry_after,
    struct wbuf *tree)
{
	struct msg_reply	 m;
	struct wbuf		 wb;

	memset(&m, 0, sizeof(m));
	m.status = (uint32_t)status;
	if (status == 200 && req->seen != 0)
		m.generation = req->seen;
	if (retry_after != NULL)
		strlcpy(m.retry_after, retry_after, sizeof(m.retry_after));
	if (tree != NULL) {
		m.tree = tree->buf;
		m.tree_len = tree->len;
	}
	wbuf_init(&wb, REPLY_MAX);
	msg_reply_put(&wb, &m);
	if (tree != NULL && tree->error)
		wb.error = tree->error;
	if (wb.error) {
		log_warnx("reply to %s too large or broken", req->spec->name);
		wbuf_free(&wb);
		memset(&m, 0, sizeof(m));
		m.status = 500;
		wbuf_init(&wb, 64);
		msg_reply_put(&wb, &m);
	}
	req->reply(req, &wb);
	wbuf_free(&wb);
	request_free(req);
}

int
tree_new(struct wbuf *w)
{
	wbuf_init(w, REPLY_MAX - 64);
	return (0);
}

/* One item, rendered, as the answer. */
void
reply_item(struct request *req, int status, tree_render_fn render,
    const void *item)
{
	struct wbuf	 w;

	tree_new(&w);
	render(&w, item);
	reply_tree(req, status, &w);
}

/* Takes the tree and the request. */
void
reply_tree(struct request *req, int status, struct wbuf *tree)
{
	reply_send(req, status, NULL, tree);
	wbuf_free(tree);
}

void
reply_empty(struct request *req, int status)
{
	reply_send(req, status, NULL, NULL);
}

static void
reply_error_tree(struct request *req, int status, const char *retry,
    const char *msg, struct verrors *ve)
{
	struct wbuf	 w;
	int		 i, j;

	tree_new(&w);
	tree_map(&w);
	tree_kv_str(&w, "error", op_error_code(status));
	tree_kv_str(&w, "message", msg);
	if (ve != NULL) {
		tree_key(&w, "errors");
		tree_map(&w);
		/* Group messages by field, in the order fields first fail. */
		for (i = 0; i < ve->n; i++) {
			for (j = 0; j < i; j++)
				if (strcmp(ve->e[j].field, ve->e[i].field) == 0)
					break;
			if (j < i)
				continue;
			tree_key(&w, ve->e[i].field);
			tree_array(&w);
			for (j = i; j < ve->n; j++)
				if (strcmp(ve->e[j].field, ve->e[i].field) == 0)
					tree_str(&w, ve->e[j].msg);
			tree_end(&w);
		}
		tree_end(&w);
	}
	tree_end(&w);
	reply_send(req, status, retry, &w);
	wbuf_free(&w);
}

void
reply_error(struct request *req, int status, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_error_tree(req, status, NULL, msg, NULL);
}

void
reply_retry(struct request *req, int status, int seconds, const char *msg)
{
	char	 retry[16];

	(void)snprintf(retry, sizeof(retry), "%d", seconds);
	reply_error_tree(req, status, retry, msg, NULL);
}

void
reply_invalid(struct request *req, struct verrors *ve)
{
	reply_error_tree(req, 422, NULL, "Validation failed.", ve);
}

void
reply_internal(struct request *req)
{
	reply_error(req, 500, "Internal error.");
}

void
verror_add(struct verrors *ve, const char *field, const char *msg)
{
	if (ve->n == VERRORS_MAX)
		return;
	ve->e[ve->n].field = field;
	ve->e[ve->n].msg = msg;
	ve->n++;
}

/* A validator's verdict (validate.c): a failure under field, if any. */
void
verror_check(struct verrors *ve, const char *field, const char *msg)
{
	if (msg != NULL)
		verror_add(ve, field, msg);
}

/* A database time as RFC 3339, or null. */
void
tree_time(struct wbuf *w, const char *key, const char *db)
{
	char	 out[RFC3339_LEN + 1];

	tree_key(w, key);
	if (db == NULL || dbtime_to_rfc3339(db, out) == -1)
		tree_null(w);
	else
		tree_str(w, out);
}

void
tree_user(struct wbuf *w, const void *arg)
{
	const struct user	*u = arg;

	tree_map(w);
	tree_kv_str(w, "id", u->id);
	tree_kv_str(w, "email", u->email);
	tree_kv_str(w, "name", u->name);
	tree_kv_str(w, "role", u->role);
	tree_time(w, "created_at", u->created_at);
	tree_time(w, "updated_at", u->updated_at);
	tree_end(w);
}

/* Paging as asked, and as done: limit 20 by default, at most 100. */
void
page_set(struct page *pg, int64_t offset, int64_t limit)
{
	pg->asked_offset = offset;
	pg->asked_limit = limit;
	pg->offset = offset < 0 ? 0 : offset;
	pg->limit = limit;
	if (pg->limit <= 0)
		pg->limit = 20;
	if (pg->limit > 100)
		pg->limit = 100;
}

/* Paging from the op's offset and limit fields. */
void
page_from_args(struct request *req, int offidx, int limidx, struct page *pg)
{
	struct op_args	*a = &req->args;

	page_set(pg, a->present[offidx] ? a->num[offidx] : 0,
	    a->present[limidx] ? a->num[limidx] : 0);
}

/* {"data": [the items, rendered], ... (the map is left open) */
static void
tree_data(struct wbuf *w, const void *items, size_t n, size_t size,
    tree_render_fn render)
{
	size_t	 i;

	tree_new(w);
	tree_map(w);
	tree_key(w, "data");
	tree_array(w);
	for (i = 0; i < n; i++)
		render(w, (const char *)items + i * size);
	tree_end(w);
}

/*
 * The answer to every paged list: {"data":[...], "total_count",
 * "offset", "limit"}, with offset and limit echoed as they were asked.
 */
void
reply_page(struct request *req, const struct page *pg, int64_t total,
    const void *items, size_t n, size_t size, tree_render_fn render)
{
	struct wbuf	 w;

	tree_data(&w, items, n, size, render);
	tree_kv_int(&w, "total_count", total);
	tree_kv_int(&w, "offset", pg->asked_offset);
	tree_kv_int(&w, "limit", pg->asked_limit);
	tree_end(&w);
	reply_tree(req, 200, &w);
}

/* The answer to every list that is not paged: {"data":[...]}. */
void
reply_list(struct request *req, const void *items, size_t n, size_t size,
    tree_render_fn render)
{
	struct wbuf	 w;

	tree_data(&w, items, n, size, render);
	tree_end(&w);
	reply_tree(req, 200, &w);
}

/* A storage failure as the answer: 500, or 404 with msg for ST_NONE. */
void
reply_store(struct request *req, int rc, const char *notfound)
{
	if (rc == ST_NONE && notfound != NULL)
		reply_error(req, 404, "%s", notfound);
	else
		reply_internal(req);
}
