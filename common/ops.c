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

#define BODY(n, t, m)	{ (n), FS_BODY, (t), (m), 0 }
#define QUERY(n, t, m)	{ (n), FS_QUERY, (t), (m), 0 }
/* The router always fills path parameters. */
#define PATH(n)		{ (n), FS_PATH, FT_STR, ID_MAX, 1 }
#define SPEC(name, auth, f)	{ (name), (auth), (f), nitems(f) }
#define BARE(name, auth)	{ (name), (auth), NULL, 0 }

static const struct op_field f_register[] = {
	BODY("email", FT_STR, EMAIL_MAX),
	BODY("name", FT_STR, NAME_MAX_),
	BODY("password", FT_STR, PASSWORD_MAX),
	BODY("setup_token", FT_TOKEN, TOKEN_MAX),
};
static const struct op_field f_login[] = {
	BODY("email", FT_STR, EMAIL_MAX),
	BODY("password", FT_STR, PASSWORD_MAX),
};
static const struct op_field f_refresh[] = {
	BODY("refresh_token", FT_TOKEN, TOKEN_MAX),
};
static const struct op_field f_profile[] = {
	BODY("email", FT_STR, EMAIL_MAX),
	BODY("name", FT_STR, NAME_MAX_),
	BODY("new_password", FT_STR, PASSWORD_MAX),
	BODY("current_password", FT_STR, PASSWORD_MAX),
};
static const struct op_field f_project[] = {
	BODY("name", FT_STR, NAME_MAX_),
};
static const struct op_field f_list[] = {
	QUERY("name", FT_STR, NAME_MAX_),
	QUERY("offset", FT_INT, 0),
	QUERY("limit", FT_INT, 0),
};
static const struct op_field f_by_id[] = {
	PATH("id"),
};
static const struct op_field f_user_create[] = {
	BODY("email", FT_STR, EMAIL_MAX),
	BODY("name", FT_STR, NAME_MAX_),
	BODY("password", FT_STR, PASSWORD_MAX),
	BODY("role", FT_STR, 16),
};
static const struct op_field f_users[] = {
	QUERY("email", FT_STR, EMAIL_MAX),
	QUERY("role", FT_STR, 16),
	QUERY("offset", FT_INT, 0),
	QUERY("limit", FT_INT, 0),
};
static const struct op_field f_user_update[] = {
	PATH("id"),
	BODY("email", FT_STR, EMAIL_MAX),
	BODY("name", FT_STR, NAME_MAX_),
	BODY("password", FT_STR, PASSWORD_MAX),
	BODY("role", FT_STR, 16),
};
static const struct op_field f_settings[] = {
	BODY("auto_update", FT_BOOL, 0),
};
static const struct op_field f_release[] = {
	QUERY("refresh", FT_STR, 16),
};
static const struct op_field f_upgrade[] = {
	BODY("version", FT_STR, 64),
};
static const struct op_field f_apikey[] = {
	BODY("description", FT_STR, NAME_MAX_),
	BODY("expires_at", FT_STR, TIME_MAX),
};
static const struct op_field f_ctl_user_value[] = {
	BODY("email", FT_STR, EMAIL_MAX),
	BODY("value", FT_STR, PASSWORD_MAX),
};
static const struct op_field f_ctl_email[] = {
	BODY("email", FT_STR, EMAIL_MAX),
};
static const struct op_field f_ctl_apikey[] = {
	BODY("email", FT_STR, EMAIL_MAX),
	BODY("description", FT_STR, NAME_MAX_),
	BODY("expires_at", FT_STR, TIME_MAX),
};
static const struct op_field f_ctl_id[] = {
	BODY("id", FT_STR, ID_MAX),
};

static const struct op_spec specs[OP_MAX] = {
	[OP_HEALTH] =		BARE("health", AUTH_PUBLIC),
	[OP_AUTH_CAN_REGISTER] = BARE("can-register", AUTH_PUBLIC),
	[OP_AUTH_REGISTER] =	SPEC("register", AUTH_PUBLIC, f_register),
	[OP_AUTH_LOGIN] =	SPEC("login", AUTH_PUBLIC, f_login),
	[OP_AUTH_REFRESH] =	SPEC("refresh", AUTH_PUBLIC, f_refresh),
	[OP_AUTH_LOGOUT] =	BARE("logout", AUTH_USER),
	[OP_AUTH_ME] =		BARE("me", AUTH_USER),
	[OP_AUTH_PROFILE] =	SPEC("profile", AUTH_USER, f_profile),
	[OP_PROJECTS_CREATE] =	SPEC("project-create", AUTH_USER, f_project),
	[OP_PROJECTS_LIST] =	SPEC("project-list", AUTH_USER, f_list),
	[OP_PROJECTS_GET] =	SPEC("project-get", AUTH_USER, f_by_id),
	[OP_PROJECTS_DELETE] =	SPEC("project-delete", AUTH_USER, f_by_id),
	[OP_PRESETS_LIST] =	BARE("preset-list", AUTH_USER),
	[OP_PRESETS_GET] =	SPEC("preset-get", AUTH_USER, f_by_id),
	[OP_USERS_CREATE] =	SPEC("user-create", AUTH_ADMIN, f_user_create),
	[OP_USERS_LIST] =	SPEC("user-list", AUTH_ADMIN, f_users),
	[OP_USERS_GET] =	SPEC("user-get", AUTH_ADMIN, f_by_id),
	[OP_USERS_UPDATE] =	SPEC("user-update", AUTH_ADMIN, f_user_update),
	[OP_USERS_DELETE] =	SPEC("user-delete", AUTH_ADMIN, f_by_id),
	[OP_SYSTEM_ABOUT] =	BARE("system-about", AUTH_ADMIN),
	[OP_SYSTEM_STATUS] =	BARE("system-status", AUTH_ADMIN),
	[OP_SYSTEM_RELEASE] =	SPEC("system-release", AUTH_ADMIN, f_release),
	[OP_SYSTEM_UPGRADE] =	SPEC("system-upgrade", AUTH_ADMIN, f_upgrade),
	[OP_SYSTEM_UPGRADE_STATUS] = BARE("system-upgrade-status", AUTH_ADMIN),
	[OP_SETTINGS_GET] =	BARE("settings-get", AUTH_ADMIN),
	[OP_SETTINGS_UPDATE] =	SPEC("settings-update", AUTH_ADMIN, f_settings),
	[OP_APIKEYS_LIST] =	BARE("apikey-list", AUTH_USER),
	[OP_APIKEYS_CREATE] =	SPEC("apikey-create", AUTH_USER, f_apikey),
	[OP_APIKEYS_DELETE] =	SPEC("apikey-delete", AUTH_USER, f_by_id),
	[OP_CTL_USER_PASSWD] =	SPEC("ctl-user-passwd", AUTH_CTL,
				    f_ctl_user_value),
	[OP_CTL_USER_ROLE] =	SPEC("ctl-user-role", AUTH_CTL,
				    f_ctl_user_value),
	[OP_CTL_USER_DEL] =	SPEC("ctl-user-del", AUTH_CTL, f_ctl_email),
	[OP_CTL_APIKEY_CREATE] = SPEC("ctl-apikey-create", AUTH_CTL,
				    f_ctl_apikey),
	[OP_CTL_APIKEY_LIST] =	SPEC("ctl-apikey-list", AUTH_CTL,
				    f_ctl_email),
	[OP_CTL_APIKEY_DEL] =	SPEC("ctl-apikey-del", AUTH_CTL, f_ctl_id),
	[OP_CTL_SETUP_TOKEN] =	BARE("ctl-setup-token", AUTH_CTL),
};

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
		}
	}
}

/*
 * Decode against spec; strings are bounded by each field's max, and a
 * required field must be there.
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
			break;
		case FT_INT:
			a->num[i] = wire_get_i64(r);
			break;
		case FT_BOOL:
			a->num[i] = wire_get_bool(r);
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

void
op_args_clear(struct op_args *a)
{
	int	 i;

	for (i = 0; i < OP_FIELDS_MAX; i++) {
		if (a->str[i] != NULL) {
			/* Passwords travel here: leave nothing behind. */
			explicit_bzero(a->str[i], strlen(a->str[i]));
			free(a->str[i]);
		}
	}
	memset(a, 0, sizeof(*a));
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
