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

/*
 * Requests from dkd-api and dkctl: decode against the shared op table,
 * authenticate by token hash, check the role, run the handler.  Handlers
 * answer once, now or later (password hashing, Docker queries), through
 * the reply_* calls, which also free the request.
 */

#define REPLY_MAX	DKD_IMSG_MAX_INTERNAL

typedef void	(*op_handler)(struct request *);

static void	op_health(struct request *);

static const op_handler handlers[OP_MAX] = {
	[OP_HEALTH] =			op_health,
	[OP_AUTH_CAN_REGISTER] =	op_can_register,
	[OP_AUTH_REGISTER] =		op_register,
	[OP_AUTH_LOGIN] =		op_login,
	[OP_AUTH_REFRESH] =		op_refresh,
	[OP_AUTH_LOGOUT] =		op_logout,
	[OP_AUTH_ME] =			op_me,
	[OP_AUTH_PROFILE] =		op_profile,
	[OP_PROJECTS_CREATE] =		op_project_create,
	[OP_PROJECTS_LIST] =		op_project_list,
	[OP_PROJECTS_GET] =		op_project_get,
	[OP_PROJECTS_DELETE] =		op_project_delete,
	[OP_PRESETS_LIST] =		op_preset_list,
	[OP_PRESETS_GET] =		op_preset_get,
	[OP_USERS_CREATE] =		op_user_create,
	[OP_USERS_LIST] =		op_user_list,
	[OP_USERS_GET] =		op_user_get,
	[OP_USERS_UPDATE] =		op_user_update,
	[OP_USERS_DELETE] =		op_user_delete,
	[OP_SYSTEM_ABOUT] =		op_system_about,
	[OP_SYSTEM_STATUS] =		op_system_status,
	[OP_SYSTEM_RELEASE] =		op_system_unavailable,
	[OP_SYSTEM_UPGRADE] =		op_system_unavailable,
	[OP_SYSTEM_UPGRADE_STATUS] =	op_system_unavailable,
	[OP_SETTINGS_GET] =		op_settings_get,
	[OP_SETTINGS_UPDATE] =		op_settings_update,
	[OP_APIKEYS_LIST] =		op_apikey_list,
	[OP_APIKEYS_CREATE] =		op_apikey_create,
	[OP_APIKEYS_DELETE] =		op_apikey_delete,
	[OP_CTL_USER_PASSWD] =		op_ctl_user_passwd,
	[OP_CTL_USER_ROLE] =		op_ctl_user_role,
	[OP_CTL_USER_DEL] =		op_ctl_user_del,
	[OP_CTL_APIKEY_CREATE] =	op_ctl_apikey_create,
	[OP_CTL_APIKEY_LIST] =		op_ctl_apikey_list,
	[OP_CTL_APIKEY_DEL] =		op_ctl_apikey_del,
	[OP_CTL_SETUP_TOKEN] =		op_ctl_setup_token,
};

static void	request_run(struct request *);
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

/* -1 means the api broke the protocol; the supervisor deals with it. */
int
request_from_api(struct imsg *imsg)
{
	struct request	*req;
	struct rbuf	 r;
	uint32_t	 op;

	if ((req = calloc(1, sizeof(*req))) == NULL) {
		log_warn("%s", __func__);
		return (0);
	}
	rbuf_init(&r, imsg->data, imsg->len);
	op = wire_get_u32(&r);
	wire_get_strbuf(&r, req->token_hash, sizeof(req->token_hash));
	wire_get_strbuf(&r, req->client, sizeof(req->client));
	req->id = imsg->hdr.peerid;
	req->op = op;
	req->api_gen = supervisor_generation(PROC_API);
	if (r.error || (req->spec = op_spec(op)) == NULL ||
	    req->spec->auth == AUTH_CTL ||
	    op_args_get(&r, req->spec, &req->args) == -1 ||
	    wire_done(&r) == -1) {
		request_free(req);
		return (-1);
	}
	request_run(req);
	return (0);
}

/* dkctl's requests act with the rights of root on the control socket. */
int
request_from_ctl(uint32_t conn, uid_t uid, struct rbuf *r)
{
	struct request	*req;
	uint32_t	 op;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return (-1);
	op = wire_get_u32(r);
	req->id = conn;
	req->op = op;
	req->from_ctl = 1;
	strlcpy(req->client, "dkctl", sizeof(req->client));
	if (r->error || (req->spec = op_spec(op)) == NULL ||
	    op_args_get(r, req->spec, &req->args) == -1 ||
	    wire_done(r) == -1) {
		request_free(req);
		return (-1);
	}
	if (uid != 0) {
		reply_error(req, 403, "Permission denied: dkctl needs root.");
		return (0);
	}
	req->authed = 1;
	strlcpy(req->user.role, "admin", sizeof(req->user.role));
	strlcpy(req->user.name, "dkctl", sizeof(req->user.name));
	request_run(req);
	return (0);
}

static void
request_run(struct request *req)
{
	if (!req->from_ctl) {
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
	struct wbuf	 wb;

	wbuf_init(&wb, REPLY_MAX);
	wire_put_u32(&wb, (uint32_t)status);
	wire_put_u32(&wb, retry_after != NULL ? 1 : 0);
	if (retry_after != NULL) {
		wire_put_str(&wb, "Retry-After");
		wire_put_str(&wb, retry_after);
	}
	if (tree != NULL) {
		if (tree->error)
			wb.error = tree->error;
		wire_put_raw(&wb, tree->buf, tree->len);
	}
	if (wb.error) {
		log_warnx("reply to %s too large or broken", req->spec->name);
		wbuf_free(&wb);
		wbuf_init(&wb, 64);
		wire_put_u32(&wb, 500);
		wire_put_u32(&wb, 0);
	}
	if (req->from_ctl)
		control_reply(req->id, IMSG_CTL_RESPONSE, &wb);
	else if (req->api_gen == supervisor_generation(PROC_API))
		(void)supervisor_send(PROC_API, IMSG_API_RESPONSE, req->id,
		    &wb);
	else
		log_debug("dropping a reply for a dkd-api that is gone");
	wbuf_free(&wb);
	request_free(req);
}

int
tree_new(struct wbuf *w)
{
	wbuf_init(w, REPLY_MAX - 64);
	return (0);
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
tree_user(struct wbuf *w, const struct user *u)
{
	tree_map(w);
	tree_kv_str(w, "id", u->id);
	tree_kv_str(w, "email", u->email);
	tree_kv_str(w, "name", u->name);
	tree_kv_str(w, "role", u->role);
	tree_time(w, "created_at", u->created_at);
	tree_time(w, "updated_at", u->updated_at);
	tree_end(w);
}

/* Effective paging: limit <= 0 is 20, above 100 is 100, offset >= 0. */
void
list_params(struct request *req, int offidx, int limidx, int64_t *offset,
    int64_t *limit)
{
	*offset = req->args.present[offidx] ? req->args.num[offidx] : 0;
	*limit = req->args.present[limidx] ? req->args.num[limidx] : 0;
	if (*offset < 0)
		*offset = 0;
	if (*limit <= 0)
		*limit = 20;
	if (*limit > 100)
		*limit = 100;
}

/* Close a paged list: the data array is open; echo what was asked. */
void
tree_list_end(struct wbuf *w, struct request *req, int offidx, int limidx,
    int64_t total)
{
	tree_end(w);
	tree_kv_int(w, "total_count", total);
	tree_kv_int(w, "offset", req->args.present[offidx] ?
	    req->args.num[offidx] : 0);
	tree_kv_int(w, "limit", req->args.present[limidx] ?
	    req->args.num[limidx] : 0);
	tree_end(w);
}
