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

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "ops.h"
#include "util.h"

#define EMAIL_MAX	254
#define NAME_MAX_	255
#define PASSWORD_MAX	1024
#define ID_MAX		64
#define TIME_MAX	64
#define TOKEN_MAX	256
#define SERVICE_NAME_MAX	255
#define STATUS_MAX	32
#define ICON_URL_MAX	4096
#define IMAGE_MAX	1024
#define ENV_KEY_MAX	255
#define ENV_VALUE_MAX	65536
#define ENV_VARS_MAX	(512 * 1024)	/* the encoded tree of a map */
#define PORTS_MAX	16384
#define RESOURCES_MAX	1024
#define CANVAS_PAYLOAD_MAX	65536
#define LOGS_Q_MAX		256	/* msg.h MSG_LOGQ_MAX */

#define BODY(n, t, m)	{ (n), FS_BODY, (t), (m), 0 }
#define QUERY(n, t, m)	{ (n), FS_QUERY, (t), (m), 0 }
/* Fields only dkd-api fills in, always. */
#define BODY_REQ(n, t, m)	{ (n), FS_BODY, (t), (m), 1 }
/* The router always fills path parameters. */
#define PATH(n)		{ (n), FS_PATH, FT_STR, ID_MAX, 1 }

static const struct op_field f_register[] = {
	[REGISTER_EMAIL] = BODY("email", FT_STR, EMAIL_MAX),
	[REGISTER_NAME] = BODY("name", FT_STR, NAME_MAX_),
	[REGISTER_PASSWORD] = BODY("password", FT_STR, PASSWORD_MAX),
	[REGISTER_TOKEN] = BODY("setup_token", FT_TOKEN, TOKEN_MAX),
};
static const struct op_field f_login[] = {
	[LOGIN_EMAIL] = BODY("email", FT_STR, EMAIL_MAX),
	[LOGIN_PASSWORD] = BODY("password", FT_STR, PASSWORD_MAX),
};
static const struct op_field f_refresh[] = {
	[REFRESH_TOKEN] = BODY("refresh_token", FT_TOKEN, TOKEN_MAX),
};
static const struct op_field f_profile[] = {
	[PROFILE_EMAIL] = BODY("email", FT_STR, EMAIL_MAX),
	[PROFILE_NAME] = BODY("name", FT_STR, NAME_MAX_),
	[PROFILE_NEW_PASSWORD] = BODY("new_password", FT_STR, PASSWORD_MAX),
	[PROFILE_CURRENT_PASSWORD] = BODY("current_password", FT_STR,
	    PASSWORD_MAX),
};
static const struct op_field f_project[] = {
	[PROJECT_NAME] = BODY("name", FT_STR, NAME_MAX_),
};
static const struct op_field f_list[] = {
	[LIST_NAME] = QUERY("name", FT_STR, NAME_MAX_),
	[LIST_OFFSET] = QUERY("offset", FT_INT, 0),
	[LIST_LIMIT] = QUERY("limit", FT_INT, 0),
};
static const struct op_field f_by_id[] = {
	[BY_ID] = PATH("id"),
};
static const struct op_field f_user_create[] = {
	[USER_CREATE_EMAIL] = BODY("email", FT_STR, EMAIL_MAX),
	[USER_CREATE_NAME] = BODY("name", FT_STR, NAME_MAX_),
	[USER_CREATE_PASSWORD] = BODY("password", FT_STR, PASSWORD_MAX),
	[USER_CREATE_ROLE] = BODY("role", FT_STR, 16),
};
static const struct op_field f_users[] = {
	[USERS_EMAIL] = QUERY("email", FT_STR, EMAIL_MAX),
	[USERS_ROLE] = QUERY("role", FT_STR, 16),
	[USERS_OFFSET] = QUERY("offset", FT_INT, 0),
	[USERS_LIMIT] = QUERY("limit", FT_INT, 0),
};
static const struct op_field f_user_update[] = {
	[USER_UPDATE_ID] = PATH("id"),
	[USER_UPDATE_EMAIL] = BODY("email", FT_STR, EMAIL_MAX),
	[USER_UPDATE_NAME] = BODY("name", FT_STR, NAME_MAX_),
	[USER_UPDATE_PASSWORD] = BODY("password", FT_STR, PASSWORD_MAX),
	[USER_UPDATE_ROLE] = BODY("role", FT_STR, 16),
};
static const struct op_field f_settings[] = {
	[SETTINGS_AUTO_UPDATE] = BODY("auto_update", FT_BOOL, 0),
};
static const struct op_field f_release[] = {
	[RELEASE_REFRESH] = QUERY("refresh", FT_STR, 16),
};
static const struct op_field f_upgrade[] = {
	[UPGRADE_VERSION] = BODY("version", FT_STR, 64),
};
static const struct op_field f_apikey[] = {
	[APIKEY_DESCRIPTION] = BODY("description", FT_STR, NAME_MAX_),
	[APIKEY_EXPIRES_AT] = BODY("expires_at", FT_STR, TIME_MAX),
};
static const struct op_field f_ctl_user_value[] = {
	[CTL_EMAIL] = BODY("email", FT_STR, EMAIL_MAX),
	[CTL_VALUE] = BODY("value", FT_STR, PASSWORD_MAX),
};
static const struct op_field f_ctl_email[] = {
	[CTL_EMAIL] = BODY("email", FT_STR, EMAIL_MAX),
};
static const struct op_field f_ctl_apikey[] = {
	[CTL_APIKEY_EMAIL] = BODY("email", FT_STR, EMAIL_MAX),
	[CTL_APIKEY_DESCRIPTION] = BODY("description", FT_STR, NAME_MAX_),
	[CTL_APIKEY_EXPIRES_AT] = BODY("expires_at", FT_STR, TIME_MAX),
};
static const struct op_field f_ctl_id[] = {
	[CTL_ID] = BODY("id", FT_STR, ID_MAX),
};
static const struct op_field f_ctl_reconcile[] = {
	[CTL_RECONCILE_PROJECT] = BODY("project", FT_STR, NAME_MAX_),
	[CTL_RECONCILE_SERVICE] = BODY("service", FT_STR, SERVICE_NAME_MAX),
};
static const struct op_field f_project_update[] = {
	[PROJECT_UPDATE_ID] = PATH("id"),
	[PROJECT_UPDATE_NAME] = BODY("name", FT_STR, NAME_MAX_),
};
static const struct op_field f_pid[] = {
	[PID] = PATH("pid"),
};
static const struct op_field f_service_create[] = {
	[SERVICE_CREATE_PID] = PATH("pid"),
	[SERVICE_CREATE_NAME] = BODY("name", FT_STR, SERVICE_NAME_MAX),
};
static const struct op_field f_service_list[] = {
	[SERVICE_LIST_PID] = PATH("pid"),
	[SERVICE_LIST_NAME] = QUERY("name", FT_STR, SERVICE_NAME_MAX),
	[SERVICE_LIST_STATUS] = QUERY("status", FT_STR, STATUS_MAX),
	[SERVICE_LIST_OFFSET] = QUERY("offset", FT_INT, 0),
	[SERVICE_LIST_LIMIT] = QUERY("limit", FT_INT, 0),
};
static const struct op_field f_service[] = {
	[SERVICE_PID] = PATH("pid"),
	[SERVICE_SID] = PATH("sid"),
};
static const struct op_field f_service_update[] = {
	[SERVICE_UPDATE_PID] = PATH("pid"),
	[SERVICE_UPDATE_SID] = PATH("sid"),
	[SERVICE_UPDATE_NAME] = BODY("name", FT_STR, SERVICE_NAME_MAX),
	[SERVICE_UPDATE_ICON_URL] = BODY("icon_url", FT_STR, ICON_URL_MAX),
};
static const struct op_field f_rollback[] = {
	[ROLLBACK_PID] = PATH("pid"),
	[ROLLBACK_SID] = PATH("sid"),
	[ROLLBACK_DEPLOYMENT_ID] = BODY("deployment_id", FT_STR, ID_MAX),
};
static const struct op_field f_deployment_create[] = {
	[DEPLOY_PID] = PATH("pid"),
	[DEPLOY_SID] = PATH("sid"),
	[DEPLOY_IMAGE] = BODY("image", FT_STR, IMAGE_MAX),
	[DEPLOY_ENV_VARS] = BODY("env_vars", FT_JSON, ENV_VARS_MAX),
	[DEPLOY_PORTS] = BODY("ports", FT_JSON, PORTS_MAX),
	[DEPLOY_RESOURCES] = BODY("resources", FT_JSON, RESOURCES_MAX),
	[DEPLOY_REPLICAS] = BODY("replicas", FT_INT, 0),
};
static const struct op_field f_deployment_list[] = {
	[DEPLOYS_PID] = PATH("pid"),
	[DEPLOYS_SID] = PATH("sid"),
	[DEPLOYS_OFFSET] = QUERY("offset", FT_INT, 0),
	[DEPLOYS_LIMIT] = QUERY("limit", FT_INT, 0),
};
static const struct op_field f_deployment[] = {
	[DEPLOYMENT_PID] = PATH("pid"),
	[DEPLOYMENT_SID] = PATH("sid"),
	[DEPLOYMENT_ID] = PATH("id"),
};
/* Paging that does not parse is ignored here, not refused: strings. */
static const struct op_field f_container_list[] = {
	[CONTAINERS_PID] = PATH("pid"),
	[CONTAINERS_SID] = PATH("sid"),
	[CONTAINERS_DEPLOYMENT_ID] = QUERY("deployment_id", FT_STR, ID_MAX),
	[CONTAINERS_STATUS] = QUERY("status", FT_STR, STATUS_MAX),
	[CONTAINERS_OFFSET] = QUERY("offset", FT_STR, 32),
	[CONTAINERS_LIMIT] = QUERY("limit", FT_STR, 32),
};
/* Strings: "tail" that does not parse is the default, as it was. */
static const struct op_field f_logs[] = {
	[LOGS_PID] = PATH("pid"),
	[LOGS_SID] = PATH("sid"),
	[LOGS_TAIL] = QUERY("tail", FT_STR, 32),
	[LOGS_SINCE] = QUERY("since", FT_STR, TIME_MAX),
	[LOGS_UNTIL] = QUERY("until", FT_STR, TIME_MAX),
	[LOGS_Q] = QUERY("q", FT_STR, LOGS_Q_MAX),
	[LOGS_STREAM] = QUERY("stream", FT_STR, 16),
	[LOGS_FOLLOW] = QUERY("follow", FT_STR, 16),
};
static const struct op_field f_env_create[] = {
	[ENV_PID] = PATH("pid"),
	[ENV_KEY] = BODY("key", FT_STR, ENV_KEY_MAX),
	[ENV_VALUE] = BODY("value", FT_STR, ENV_VALUE_MAX),
};
static const struct op_field f_env_item[] = {
	[ENV_ITEM_PID] = PATH("pid"),
	[ENV_ITEM_ID] = PATH("id"),
	[ENV_ITEM_VALUE] = BODY("value", FT_STR, ENV_VALUE_MAX),
};
static const struct op_field f_env_item_delete[] = {
	[ENV_ITEM_PID] = PATH("pid"),
	[ENV_ITEM_ID] = PATH("id"),
};
static const struct op_field f_env_owner_create[] = {
	[ENVO_PID] = PATH("pid"),
	[ENVO_OWNER] = PATH("owner"),
	[ENVO_KEY] = BODY("key", FT_STR, ENV_KEY_MAX),
	[ENVO_VALUE] = BODY("value", FT_STR, ENV_VALUE_MAX),
};
static const struct op_field f_env_owner[] = {
	[ENVO_PID] = PATH("pid"),
	[ENVO_OWNER] = PATH("owner"),
};
static const struct op_field f_env_owner_item[] = {
	[ENVO_ITEM_PID] = PATH("pid"),
	[ENVO_ITEM_OWNER] = PATH("owner"),
	[ENVO_ITEM_ID] = PATH("id"),
	[ENVO_ITEM_VALUE] = BODY("value", FT_STR, ENV_VALUE_MAX),
};
static const struct op_field f_env_owner_item_delete[] = {
	[ENVO_ITEM_PID] = PATH("pid"),
	[ENVO_ITEM_OWNER] = PATH("owner"),
	[ENVO_ITEM_ID] = PATH("id"),
};
static const struct op_field f_pending_item[] = {
	[PENDING_PID] = PATH("pid"),
	[PENDING_ID] = PATH("id"),
};
static const struct op_field f_pending_env[] = {
	[PENDING_ENV_PID] = PATH("pid"),
	[PENDING_ENV_TEMP_ID] = PATH("tid"),
	[PENDING_ENV_KEY] = BODY("key", FT_STR, ENV_KEY_MAX),
	[PENDING_ENV_VALUE] = BODY("value", FT_STR, ENV_VALUE_MAX),
};
static const struct op_field f_canvas_open[] = {
	[CANVAS_PROJECT_ID] = PATH("project_id"),
};
static const struct op_field f_canvas_join[] = {
	[CANVAS_PROJECT_ID] = PATH("project_id"),
	[CANVAS_CONN] = BODY_REQ("conn", FT_INT, 0),
};
/* The client's payload as sent; JSON null when it had none. */
static const struct op_field f_canvas_payload[] = {
	[CANVAS_PAYLOAD] = BODY_REQ("payload", FT_JSON, CANVAS_PAYLOAD_MAX),
};

#define FIELDS(f)	(f), nitems(f)
#define NOFIELDS	NULL, 0
#define OP(id, name, method, path, auth, callers, fields, handler)	\
	[OP_##id] = { (name), M_##method, (path), AUTH_##auth,		\
	    (callers), fields },
#define API	CALLER_API
#define CTL	CALLER_CTL

static void	op_args_get_tree(struct rbuf *, const struct op_field *,
		    struct tval *);
static int	tval_utf8(const struct tval *);

static const struct op_spec specs[OP_MAX] = {
#include "ops.def"
};

#undef OP
#undef API
#undef CTL

const struct op_spec *
op_spec(uint32_t op)
{
	if (op == OP_NONE || op >= OP_MAX || specs[op].name == NULL)
		return (NULL);
	return (&specs[op]);
}

void
op_args_put(struct wbuf *w, const struct op_spec *spec,
    const struct op_args *a)
{
	int	 i;

	for (i = 0; i < spec->nfields; i++) {
		wire_put_u8(w, a->present[i] ? 1 : 0);
		if (!a->present[i])
			continue;
		switch (spec->fields[i].type) {
		case FT_STR:
		case FT_TOKEN:
			wire_put_str(w, a->str[i]);
			break;
		case FT_INT:
			wire_put_i64(w, a->num[i]);
			break;
		case FT_BOOL:
			wire_put_u8(w, a->num[i] ? 1 : 0);
			break;
		case FT_JSON:
			wire_put_bytes(w, a->str[i], a->len[i]);
			break;
		}
	}
}

/*
 * Decode against spec; strings are bounded by each field's max and must
 * be UTF-8, and a required field must be there.
 */
int
op_args_get(struct rbuf *r, const struct op_spec *spec, struct op_args *a)
{
	int	 i;
	size_t	 max;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < spec->nfields && i < OP_FIELDS_MAX; i++) {
		a->present[i] = wire_get_bool(r);
		if (!a->present[i] && spec->fields[i].required)
			r->error = 1;
		if (r->error)
			break;
		if (!a->present[i])
			continue;
		switch (spec->fields[i].type) {
		case FT_STR:
		case FT_TOKEN:
			/* A token arrives as its 64-digit hash. */
			max = spec->fields[i].type == FT_TOKEN ? 64 :
			    spec->fields[i].max;
			a->str[i] = wire_get_str(r, max);
			/* Strings end up in JSON: UTF-8 or nothing. */
			if (a->str[i] != NULL &&
			    !utf8_valid(a->str[i], strlen(a->str[i])))
				r->error = EILSEQ;
			break;
		case FT_INT:
			a->num[i] = wire_get_i64(r);
			break;
		case FT_BOOL:
			a->num[i] = wire_get_bool(r);
			break;
		case FT_JSON:
			op_args_get_tree(r, &spec->fields[i], &a->val[i]);
			break;
		}
		if (r->error)
			break;
	}
	if (r->error) {
		op_args_clear(a);
		return (-1);
	}
	return (0);
}

/* Every string and key of v is UTF-8, as JSON wants it. */
static int
tval_utf8(const struct tval *v)
{
	size_t	 i;

	if (v->tag == TREE_STR)
		return (utf8_valid(v->s, strlen(v->s)));
	for (i = 0; i < v->n; i++)
		if ((v->keys != NULL &&
		    !utf8_valid(v->keys[i], strlen(v->keys[i]))) ||
		    !tval_utf8(&v->items[i]))
			return (0);
	return (1);
}

/*
 * An FT_JSON field: a byte string that holds exactly one value tree of
 * no more than f->max bytes, its strings UTF-8.
 */
static void
op_args_get_tree(struct rbuf *r, const struct op_field *f, struct tval *v)
{
	const uint8_t	*p;
	struct rbuf	 t;
	size_t		 len;

	if ((p = wire_get_bytes(r, f->max, &len)) == NULL)
		return;
	rbuf_init(&t, p, len);
	/* Every item takes a byte at least. */
	if (tval_decode_all(&t, v, len) == -1 || !tval_utf8(v)) {
		tval_free(v);
		r->error = EBADMSG;
	}
}

void
op_args_clear(struct op_args *a)
{
	int	 i;

	for (i = 0; i < OP_FIELDS_MAX; i++) {
		if (a->str[i] != NULL) {
			/* Passwords travel here: leave nothing behind. */
			explicit_bzero(a->str[i], a->len[i] > 0 ? a->len[i] :
			    strlen(a->str[i]));
			free(a->str[i]);
		}
		tval_free(&a->val[i]);
	}
	memset(a, 0, sizeof(*a));
}

/* Take the encoded tree of w as field i; w is emptied either way. */
int
op_args_set_tree(struct op_args *a, int i, struct wbuf *w)
{
	if (i < 0 || i >= OP_FIELDS_MAX || w->error) {
		wbuf_free(w);
		return (-1);
	}
	free(a->str[i]);
	a->str[i] = (char *)w->buf;
	a->len[i] = w->len;
	a->present[i] = 1;
	memset(w, 0, sizeof(*w));
	return (0);
}

int
op_args_set_str(struct op_args *a, int i, const char *s)
{
	char	*p;

	if (i < 0 || i >= OP_FIELDS_MAX || (p = strdup(s)) == NULL)
		return (-1);
	if (a->str[i] != NULL) {
		explicit_bzero(a->str[i], strlen(a->str[i]));
		free(a->str[i]);
	}
	a->str[i] = p;
	a->len[i] = 0;
	a->present[i] = 1;
	return (0);
}

/*
 * Replace every non-empty FT_TOKEN value by its SHA-256 in hex, as the
 * master expects it.  An empty value stays empty: "missing" is an answer
 * of its own.
 */
int
op_args_hash_tokens(const struct op_spec *spec, struct op_args *a)
{
	char	 hash[SHA256_HEX_LEN + 1];
	int	 i;

	for (i = 0; i < spec->nfields && i < OP_FIELDS_MAX; i++) {
		if (spec->fields[i].type != FT_TOKEN || !a->present[i] ||
		    *a->str[i] == '\0')
			continue;
		sha256_hex(a->str[i], strlen(a->str[i]), hash);
		if (op_args_set_str(a, i, hash) == -1)
			return (-1);
	}
	return (0);
}

/* The "error" string of the JSON envelope for an HTTP status. */
const char *
op_error_code(int status)
{
	switch (status) {
	case 400:
	case 405:
	case 413:
	case 422:
		return ("invalid");
	case 401:
		return ("unauthorized");
	case 403:
		return ("forbidden");
	case 404:
		return ("not_found");
	case 409:
		return ("conflict");
	case 429:
		return ("rate_limited");
	case 501:
		return ("not_implemented");
	default:
		return ("internal");
	}
}
