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

#include "wire.h"

#define OP_FIELDS_MAX	8

enum api_op {
	OP_NONE = 0,
	OP_HEALTH,
	OP_AUTH_CAN_REGISTER,
	OP_AUTH_REGISTER,
	OP_AUTH_LOGIN,
	OP_AUTH_REFRESH,
	OP_AUTH_LOGOUT,
	OP_AUTH_ME,
	OP_AUTH_PROFILE,
	OP_PROJECTS_CREATE,
	OP_PROJECTS_LIST,
	OP_PROJECTS_GET,
	OP_PROJECTS_DELETE,
	OP_PRESETS_LIST,
	OP_PRESETS_GET,
	OP_USERS_CREATE,
	OP_USERS_LIST,
	OP_USERS_GET,
	OP_USERS_UPDATE,
	OP_USERS_DELETE,
	OP_SYSTEM_ABOUT,
	OP_SYSTEM_STATUS,
	OP_SYSTEM_RELEASE,
	OP_SYSTEM_UPGRADE,
	OP_SYSTEM_UPGRADE_STATUS,
	OP_SETTINGS_GET,
	OP_SETTINGS_UPDATE,
	OP_APIKEYS_LIST,
	OP_APIKEYS_CREATE,
	OP_APIKEYS_DELETE,
	/* dkctl only */
	OP_CTL_USER_PASSWD,
	OP_CTL_USER_ROLE,
	OP_CTL_USER_DEL,
	OP_CTL_APIKEY_CREATE,
	OP_CTL_APIKEY_LIST,
	OP_CTL_APIKEY_DEL,
	OP_CTL_SETUP_TOKEN,
	OP_MAX
};

enum op_auth {
	AUTH_PUBLIC,		/* no token needed */
	AUTH_USER,		/* any signed-in user */
	AUTH_ADMIN,		/* admins only */
	AUTH_CTL,		/* the control socket only */
};

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
	enum op_auth		 auth;
	const struct op_field	*fields;
	int			 nfields;
};

struct op_args {
	int		 present[OP_FIELDS_MAX];
	char		*str[OP_FIELDS_MAX];
	int64_t		 num[OP_FIELDS_MAX];
};

/* Field indexes, per operation, in the order of ops.c. */
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
enum { APIKEY_DESCRIPTION, APIKEY_EXPIRES_AT };
enum { CTL_EMAIL, CTL_VALUE };
enum { CTL_APIKEY_EMAIL, CTL_APIKEY_DESCRIPTION, CTL_APIKEY_EXPIRES_AT };

const struct op_spec *op_spec(uint32_t);
void	 op_args_put(struct wbuf *, const struct op_spec *,
	    const struct op_args *);
int	 op_args_get(struct rbuf *, const struct op_spec *, struct op_args *);
void	 op_args_clear(struct op_args *);
int	 op_args_set_str(struct op_args *, int, const char *);
int	 op_args_hash_tokens(const struct op_spec *, struct op_args *);
const char *op_error_code(int);

#endif /* DK_OPS_H */
