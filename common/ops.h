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

#ifndef DK_OPS_H
#define DK_OPS_H

/*
 * The operations dkd-api and dkctl ask the master for, with the fields
 * each carries.  Both ends share these tables, so a request is encoded
 * and decoded by the same description: for each field in order, a u8
 * "present" and, when present, the value (str, i64 or bool).  dkd-api
 * fills the fields from the JSON body, the query and the path; it turns
 * FT_TOKEN fields into the SHA-256 of their value, so secrets that the
 * master only compares never cross the boundary in clear.
 */

#include <stddef.h>
#include <stdint.h>

#include "tval.h"
#include "wire.h"

#define OP_FIELDS_MAX	8

enum api_op {
	OP_NONE = 0,
#define OP(id, ...)	OP_##id,
#include "ops.def"
#undef OP
	OP_MAX
};

enum op_method {
	M_NONE = 0,
	M_GET,
	M_POST,
	M_PATCH,
	M_DELETE,
};

enum op_auth {
	AUTH_PUBLIC,		/* no token needed */
	AUTH_USER,		/* any signed-in user */
	AUTH_ADMIN,		/* admins only */
	AUTH_TICKET,		/* a canvas ticket from CANVAS_JOIN */
};

/* Who may ask for an op: a bit per channel. */
#define CALLER_API	0x1
#define CALLER_CTL	0x2

enum field_src {
	FS_BODY,
	FS_QUERY,
	FS_PATH,
};

enum field_type {
	FT_STR,
	FT_INT,
	FT_BOOL,
	FT_TOKEN,		/* a string the api replaces by its SHA-256 */
	FT_JSON,		/* any JSON value, as a value tree; max
				   bounds its encoding in bytes */
};

struct op_field {
	const char	*name;
	enum field_src	 src;
	enum field_type	 type;
	size_t		 max;		/* bytes, for strings */
	int		 required;	/* absent: the sender is broken */
};

struct op_spec {
	const char		*name;
	enum op_method		 method;
	const char		*path;		/* ":x" segments: FS_PATH */
	enum op_auth		 auth;
	int			 callers;	/* CALLER_* */
	const struct op_field	*fields;
	int			 nfields;
};

/*
 * The fields of one request.  An FT_JSON field is its encoded tree in
 * str/len on the sending side and the tree read into val on the master.
 */
struct op_args {
	int		 present[OP_FIELDS_MAX];
	char		*str[OP_FIELDS_MAX];
	size_t		 len[OP_FIELDS_MAX];
	int64_t		 num[OP_FIELDS_MAX];
	struct tval	 val[OP_FIELDS_MAX];
};

/* Field indexes, per operation; ops.c keys its arrays by them. */
enum { REGISTER_EMAIL, REGISTER_NAME, REGISTER_PASSWORD, REGISTER_TOKEN };
enum { LOGIN_EMAIL, LOGIN_PASSWORD };
enum { REFRESH_TOKEN };
enum { PROFILE_EMAIL, PROFILE_NAME, PROFILE_NEW_PASSWORD,
    PROFILE_CURRENT_PASSWORD };
enum { PROJECT_NAME };
enum { LIST_NAME, LIST_OFFSET, LIST_LIMIT };
enum { BY_ID };
enum { PRESET_ID };
enum { USER_CREATE_EMAIL, USER_CREATE_NAME, USER_CREATE_PASSWORD,
    USER_CREATE_ROLE };
enum { USERS_EMAIL, USERS_ROLE, USERS_OFFSET, USERS_LIMIT };
enum { USER_UPDATE_ID, USER_UPDATE_EMAIL, USER_UPDATE_NAME,
    USER_UPDATE_PASSWORD, USER_UPDATE_ROLE };
enum { SETTINGS_AUTO_UPDATE };
enum { RELEASE_REFRESH };
enum { UPGRADE_VERSION };
enum { APIKEY_DESCRIPTION, APIKEY_EXPIRES_AT };
enum { CTL_EMAIL, CTL_VALUE };
enum { CTL_APIKEY_EMAIL, CTL_APIKEY_DESCRIPTION, CTL_APIKEY_EXPIRES_AT };
enum { CTL_ID };
enum { CTL_RECONCILE_PROJECT, CTL_RECONCILE_SERVICE };
enum { PROJECT_UPDATE_ID, PROJECT_UPDATE_NAME };
enum { PID };
enum { SERVICE_CREATE_PID, SERVICE_CREATE_NAME };
enum { SERVICE_LIST_PID, SERVICE_LIST_NAME, SERVICE_LIST_STATUS,
    SERVICE_LIST_OFFSET, SERVICE_LIST_LIMIT };
enum { SERVICE_PID, SERVICE_SID };
enum { SERVICE_UPDATE_PID, SERVICE_UPDATE_SID, SERVICE_UPDATE_NAME,
    SERVICE_UPDATE_ICON_URL };
enum { ROLLBACK_PID, ROLLBACK_SID, ROLLBACK_DEPLOYMENT_ID };
enum { DEPLOY_PID, DEPLOY_SID, DEPLOY_IMAGE, DEPLOY_ENV_VARS, DEPLOY_PORTS,
    DEPLOY_RESOURCES, DEPLOY_REPLICAS };
enum { DEPLOYS_PID, DEPLOYS_SID, DEPLOYS_OFFSET, DEPLOYS_LIMIT };
enum { DEPLOYMENT_PID, DEPLOYMENT_SID, DEPLOYMENT_ID };
enum { CONTAINERS_PID, CONTAINERS_SID, CONTAINERS_DEPLOYMENT_ID,
    CONTAINERS_STATUS, CONTAINERS_OFFSET, CONTAINERS_LIMIT };
enum { LOGS_PID, LOGS_SID, LOGS_TAIL, LOGS_SINCE, LOGS_UNTIL, LOGS_Q,
    LOGS_STREAM, LOGS_FOLLOW };
/* Project-scope env vars: the project is the owner. */
enum { ENV_PID, ENV_KEY, ENV_VALUE };
enum { ENV_ITEM_PID, ENV_ITEM_ID, ENV_ITEM_VALUE };
/* Service and group scopes: the owner is in the path. */
enum { ENVO_PID, ENVO_OWNER, ENVO_KEY, ENVO_VALUE };
enum { ENVO_ITEM_PID, ENVO_ITEM_OWNER, ENVO_ITEM_ID, ENVO_ITEM_VALUE };
enum { PENDING_PID, PENDING_ID };
enum { PENDING_ENV_PID, PENDING_ENV_TEMP_ID, PENDING_ENV_KEY,
    PENDING_ENV_VALUE };
enum { CANVAS_PROJECT_ID, CANVAS_CONN };
enum { CANVAS_PAYLOAD };

const struct op_spec *op_spec(uint32_t);
void	 op_args_put(struct wbuf *, const struct op_spec *,
	    const struct op_args *);
int	 op_args_get(struct rbuf *, const struct op_spec *, struct op_args *);
void	 op_args_clear(struct op_args *);
int	 op_args_set_str(struct op_args *, int, const char *);
int	 op_args_set_tree(struct op_args *, int, struct wbuf *);
int	 op_args_hash_tokens(const struct op_spec *, struct op_args *);
const char *op_error_code(int);

#endif /* DK_OPS_H */
