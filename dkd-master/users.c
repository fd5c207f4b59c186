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
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "dkd.h"
#include "log.h"

/*
 * User accounts: lookups shared with authentication, and the admin
 * routes.  Emails are kept trimmed and in lower case, so that
 * "Ann@Example.org" and "ann@example.org" are one account.
 */

#define USER_COLS	"id, email, name, role, created_at, updated_at"

static int	user_apply(struct request *, const char *, const char *,
		    const char *, const char *, const char *);
static int	user_apply_all(struct request *, const char *, const char *,
		    const char *, const char *, const char *);
static void	user_create_hashed(int, const char *, void *);
static void	user_update_hashed(int, const char *, void *);
static int	admins_other_than(const char *);

/* Copy column c of st into buf; -1 if it does not fit. */
static int
column_copy(sqlite3_stmt *st, int c, char *buf, size_t len)
{
	if (strlcpy(buf, db_text(st, c), len) >= len) {
		log_warnx("database: column %s of a row is too long",
		    sqlite3_column_name(st, c));
		return (-1);
	}
	return (0);
}

/*
 * Six columns from c on: id, email, name, role, created_at, updated_at.
 * -1 if one does not fit: a cut id or email would name another user.
 */
int
user_from_row(sqlite3_stmt *st, int c, struct user *u)
{
	memset(u, 0, sizeof(*u));
	if (column_copy(st, c, u->id, sizeof(u->id)) == -1 ||
	    column_copy(st, c + 1, u->email, sizeof(u->email)) == -1 ||
	    column_copy(st, c + 2, u->name, sizeof(u->name)) == -1 ||
	    column_copy(st, c + 3, u->role, sizeof(u->role)) == -1 ||
	    column_copy(st, c + 4, u->created_at,
	    sizeof(u->created_at)) == -1 ||
	    column_copy(st, c + 5, u->updated_at,
	    sizeof(u->updated_at)) == -1)
		return (-1);
	return (0);
}

/* 1: found, 0: no such user, -1: database error. */
int
user_by_id(const char *id, struct user *u)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare("SELECT " USER_COLS " FROM users WHERE id = ?"))
	    == NULL)
		return (-1);
	db_bind(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    user_from_row(st, 0, u) == -1)
		rc = SQLITE_CORRUPT;
	sqlite3_reset(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

/* As user_by_id; hash (may be NULL) gets the password hash. */
int
user_by_email(const char *email, struct user *u, char *hash, size_t hlen)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare("SELECT " USER_COLS ", password_hash FROM users "
	    "WHERE email = ?")) == NULL)
		return (-1);
	db_bind(st, 1, email);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    (user_from_row(st, 0, u) == -1 ||
	    (hash != NULL && column_copy(st, 6, hash, hlen) == -1)))
		rc = SQLITE_CORRUPT;
	sqlite3_reset(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

int
user_count(void)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("SELECT count(*) FROM users")) == NULL)
		return (-1);
	return ((int)db_scalar(st));
}

/* How many admins besides id; -1 on a database error. */
static int
admins_other_than(const char *id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("SELECT count(*) FROM users WHERE role = 'admin'"
	    " AND id != ?")) == NULL)
		return (-1);
	db_bind(st, 1, id);
	return ((int)db_scalar(st));
}

/*
 * Write the given fields of a user (NULL: keep).  Enforces one email per
 * account and that an admin remains.  Returns an HTTP status.
 */
static int
user_apply(struct request *req, const char *id, const char *email,
    const char *name, const char *hash, const char *role)
{
	sqlite3_stmt	*st;
	struct user	 u;
	char		 now[DBTIME_LEN + 1];
	int		 rc, others;

	if ((rc = user_by_id(id, &u)) <= 0) {
		if (rc == 0)
			reply_error(req, 404, "User not found.");
		else
			reply_internal(req);
		return (-1);
	}
	if (role != NULL && strcmp(u.role, "admin") == 0 &&
	    strcmp(role, "admin") != 0) {
		if ((others = admins_other_than(id)) == -1) {
			reply_internal(req);
			return (-1);
		}
		if (others == 0) {
			reply_error(req, 409, "Cannot demote the last admin.");
			return (-1);
		}
	}
	dbtime(time(NULL), now);
	if ((st = db_prepare("UPDATE users SET email = coalesce(?, email), "
	    "name = coalesce(?, name), password_hash = coalesce(?, "
	    "password_hash), role = coalesce(?, role), updated_at = ? "
	    "WHERE id = ?")) == NULL) {
		reply_internal(req);
		return (-1);
	}
	db_bind(st, 1, email);
	db_bind(st, 2, name);
	db_bind(st, 3, hash);
	db_bind(st, 4, role);
	db_bind(st, 5, now);
	db_bind(st, 6, id);
	if ((rc = db_step_done(st)) == SQLITE_CONSTRAINT) {
		reply_error(req, 409, "A user with that email already exists.");
		return (-1);
	}
	if (rc != SQLITE_DONE) {
		reply_internal(req);
		return (-1);
	}
	return (0);
}

/* Reply with the user as stored now. */
static void
user_reply(struct request *req, const char *id, int status)
{
	struct wbuf	 w;
	struct user	 u;

	if (user_by_id(id, &u) != 1) {
		reply_internal(req);
		return;
	}
	tree_new(&w);
	tree_user(&w, &u);
	reply_tree(req, status, &w);
}

/* POST /api/users and dkctl user add. */
void
op_user_create(struct request *req)
{
	struct op_args	*a = &req->args;
	struct verrors	 ve = { 0 };
	struct user	 u;
	const char	*role;

	verror_check(&ve, "email", email_check(a->present[USER_CREATE_EMAIL] ?
	    a->str[USER_CREATE_EMAIL] : NULL));
	verror_check(&ve, "name", name_invalid(a->present[USER_CREATE_NAME] ?
	    a->str[USER_CREATE_NAME] : NULL));
	verror_check(&ve, "password", password_invalid(
	    a->present[USER_CREATE_PASSWORD] ? a->str[USER_CREATE_PASSWORD] :
	    NULL));
	role = a->present[USER_CREATE_ROLE] && *a->str[USER_CREATE_ROLE] !=
	    '\0' ? a->str[USER_CREATE_ROLE] : "member";
	verror_check(&ve, "role", role_invalid(role));
	if (ve.n > 0) {
		reply_invalid(req, &ve);
		return;
	}
	switch (user_by_email(a->str[USER_CREATE_EMAIL], &u, NULL, 0)) {
	case 1:
		reply_error(req, 409, "A user with that email already exists.");
		return;
	case -1:
		reply_internal(req);
		return;
	}
	if (!a->present[USER_CREATE_ROLE] ||
	    *a->str[USER_CREATE_ROLE] == '\0')
		op_args_set_str(a, USER_CREATE_ROLE, "member");
	if (hasher_hash(a->str[USER_CREATE_PASSWORD], user_create_hashed,
	    req) == -1)
		reply_error(req, 503, "Too busy, try again.");
}

/* Insert a user; the caller chose the role.  Returns an HTTP status. */
int
user_insert(const char *email, const char *name, const char *hash,
    const char *role, char id[UUID_LEN + 1])
{
	sqlite3_stmt	*st;
	char		 now[DBTIME_LEN + 1];
	int		 rc;

	uuid_new(id);
	dbtime(time(NULL), now);
	if ((st = db_prepare("INSERT INTO users (id, email, name, "
	    "password_hash, role, created_at, updated_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)")) == NULL)
		return (500);
	db_bind(st, 1, id);
	db_bind(st, 2, email);
	db_bind(st, 3, name);
	db_bind(st, 4, hash);
	db_bind(st, 5, role);
	db_bind(st, 6, now);
	db_bind(st, 7, now);
	rc = db_step_done(st);
	if (rc == SQLITE_CONSTRAINT)
		return (409);
	return (rc == SQLITE_DONE ? 201 : 500);
}

static void
user_create_hashed(int result, const char *hash, void *arg)
{
	struct request	*req = arg;
	struct op_args	*a = &req->args;
	char		 id[UUID_LEN + 1];
	int		 status;

	if (result != 0) {
		reply_internal(req);
		return;
	}
	status = user_insert(a->str[USER_CREATE_EMAIL],
	    a->str[USER_CREATE_NAME], hash, a->str[USER_CREATE_ROLE], id);
	if (status == 409)
		reply_error(req, 409, "A user with that email already exists.");
	else if (status != 201)
		reply_internal(req);
	else {
		log_info("user %s created (%s) by %s", a->str[USER_CREATE_EMAIL],
		    a->str[USER_CREATE_ROLE], req->user.name);
		user_reply(req, id, 201);
	}
}

/* GET /api/users?email&role&offset&limit */
void
op_user_list(struct request *req)
{
	struct op_args	*a = &req->args;
	sqlite3_stmt	*st;
	struct wbuf	 w;
	struct user	 u;
	int64_t		 offset, limit, total;
	const char	*email, *role;
	int		 rc;

	list_params(req, USERS_OFFSET, USERS_LIMIT, &offset, &limit);
	email = a->present[USERS_EMAIL] ? a->str[USERS_EMAIL] : "";
	role = a->present[USERS_ROLE] ? a->str[USERS_ROLE] : "";
	if ((st = db_prepare("SELECT count(*) FROM users WHERE "
	    "instr(lower(email), lower(?1)) > 0 AND (?2 = '' OR role = ?2)"))
	    == NULL) {
		reply_internal(req);
		return;
	}
	db_bind(st, 1, email);
	db_bind(st, 2, role);
	if ((total = db_scalar(st)) == -1) {
		reply_internal(req);
		return;
	}
	if ((st = db_prepare("SELECT " USER_COLS " FROM users WHERE "
	    "instr(lower(email), lower(?1)) > 0 AND (?2 = '' OR role = ?2) "
	    "ORDER BY created_at DESC, rowid DESC LIMIT ?3 OFFSET ?4")) ==
	    NULL) {
		reply_internal(req);
		return;
	}
	db_bind(st, 1, email);
	db_bind(st, 2, role);
	sqlite3_bind_int64(st, 3, limit);
	sqlite3_bind_int64(st, 4, offset);
	tree_new(&w);
	tree_map(&w);
	tree_key(&w, "data");
	tree_array(&w);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (user_from_row(st, 0, &u) == -1)
			break;
		tree_user(&w, &u);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		wbuf_free(&w);
		reply_internal(req);
		return;
	}
	tree_list_end(&w, req, USERS_OFFSET, USERS_LIMIT, total);
	reply_tree(req, 200, &w);
}

void
op_user_get(struct request *req)
{
	struct user	 u;
	int		 rc;

	if ((rc = user_by_id(req->args.str[BY_ID], &u)) == 1)
		user_reply(req, u.id, 200);
	else if (rc == 0)
		reply_error(req, 404, "User not found.");
	else
		reply_internal(req);
}

/* PATCH /api/users/{id}: any of email, name, password, role. */
void
op_user_update(struct request *req)
{
	struct op_args	*a = &req->args;
	struct verrors	 ve = { 0 };
	struct user	 u;
	int		 rc;

	if ((rc = user_by_id(a->str[USER_UPDATE_ID], &u)) != 1) {
		if (rc == 0)
			reply_error(req, 404, "User not found.");
		else
			reply_internal(req);
		return;
	}
	if (a->present[USER_UPDATE_EMAIL])
		verror_check(&ve, "email",
		    email_check(a->str[USER_UPDATE_EMAIL]));
	if (a->present[USER_UPDATE_NAME])
		verror_check(&ve, "name", name_invalid(a->str[USER_UPDATE_NAME]));
	if (a->present[USER_UPDATE_PASSWORD])
		verror_check(&ve, "password",
		    password_invalid(a->str[USER_UPDATE_PASSWORD]));
	if (a->present[USER_UPDATE_ROLE])
		verror_check(&ve, "role",
		    role_invalid(a->str[USER_UPDATE_ROLE]));
	if (ve.n > 0) {
		reply_invalid(req, &ve);
		return;
	}
	if (a->present[USER_UPDATE_PASSWORD]) {
		if (hasher_hash(a->str[USER_UPDATE_PASSWORD],
		    user_update_hashed, req) == -1)
			reply_error(req, 503, "Too busy, try again.");
		return;
	}
	user_update_hashed(0, NULL, req);
}

/*
 * Apply the fields and, with a new password (hash), end every session of
 * the user in the same transaction: whoever knew the old password must
 * not keep a way in.  That includes an admin's own sessions when the
 * admin sets their own password here.  0, or -1 once answered.
 */
static int
user_apply_all(struct request *req, const char *id, const char *email,
    const char *name, const char *hash, const char *role)
{
	if (db_begin() == -1) {
		reply_internal(req);
		return (-1);
	}
	if (user_apply(req, id, email, name, hash, role) == -1) {
		db_rollback();
		return (-1);
	}
	if ((hash != NULL && sessions_delete_user(id) == -1) ||
	    db_commit() == -1) {
		db_rollback();
		reply_internal(req);
		return (-1);
	}
	return (0);
}

static void
user_update_hashed(int result, const char *hash, void *arg)
{
	struct request	*req = arg;
	struct op_args	*a = &req->args;
	char		 id[UUID_LEN + 1];

	if (result != 0 || strlcpy(id, a->str[USER_UPDATE_ID], sizeof(id)) >=
	    sizeof(id)) {
		reply_internal(req);
		return;
	}
	if (user_apply_all(req, id,
	    a->present[USER_UPDATE_EMAIL] ? a->str[USER_UPDATE_EMAIL] : NULL,
	    a->present[USER_UPDATE_NAME] ? a->str[USER_UPDATE_NAME] : NULL,
	    hash,
	    a->present[USER_UPDATE_ROLE] ? a->str[USER_UPDATE_ROLE] : NULL)
	    == -1)
		return;
	user_reply(req, id, 200);
}

/* Delete a user unless it is the last admin.  Replies. */
static void
user_delete(struct request *req, const char *id)
{
	sqlite3_stmt	*st;
	struct user	 u;
	int		 rc, others;

	if ((rc = user_by_id(id, &u)) != 1) {
		if (rc == 0)
			reply_error(req, 404, "User not found.");
		else
			reply_internal(req);
		return;
	}
	if (strcmp(u.role, "admin") == 0 &&
	    (others = admins_other_than(u.id)) <= 0) {
		/* Not knowing is no permission to delete. */
		if (others == -1)
			reply_internal(req);
		else
			reply_error(req, 409, "Cannot delete the last admin.");
		return;
	}
	if ((st = db_prepare("DELETE FROM users WHERE id = ?")) == NULL) {
		reply_internal(req);
		return;
	}
	db_bind(st, 1, u.id);
	if (db_step_done(st) != SQLITE_DONE) {
		reply_internal(req);
		return;
	}
	log_info("user %s deleted by %s", u.email, req->user.name);
	reply_empty(req, 204);
}

void
op_user_delete(struct request *req)
{
	user_delete(req, req->args.str[BY_ID]);
}

/*
 * dkctl names users by email.  0 with *u filled, or -1 once the request
 * has been answered (no email, no such user, database error).
 */
int
user_by_email_or_404(struct request *req, char *email, struct user *u)
{
	int	 rc;

	if (email == NULL) {
		reply_error(req, 400, "An email is required.");
		return (-1);
	}
	email_normalize(email);
	if ((rc = user_by_email(email, u, NULL, 0)) != 1) {
		if (rc == 0)
			reply_error(req, 404, "No user with email %s.", email);
		else
			reply_internal(req);
		return (-1);
	}
	return (0);
}

static int
ctl_user(struct request *req, struct user *u)
{
	return (user_by_email_or_404(req, req->args.present[CTL_EMAIL] ?
	    req->args.str[CTL_EMAIL] : NULL, u));
}

void
op_ctl_user_del(struct request *req)
{
	struct user	 u;

	if (ctl_user(req, &u) == 0)
		user_delete(req, u.id);
}

void
op_ctl_user_role(struct request *req)
{
	struct user	 u;
	const char	*role, *msg;

	if (ctl_user(req, &u) == -1)
		return;
	role = req->args.present[CTL_VALUE] ? req->args.str[CTL_VALUE] : "";
	if ((msg = role_invalid(role)) != NULL) {
		reply_error(req, 422, "%s", msg);
		return;
	}
	if (user_apply(req, u.id, NULL, NULL, NULL, role) == 0)
		user_reply(req, u.id, 200);
}

static void
ctl_passwd_hashed(int result, const char *hash, void *arg)
{
	struct request	*req = arg;
	struct user	 u;

	if (result != 0) {
		reply_internal(req);
		return;
	}
	if (ctl_user(req, &u) == -1)
		return;
	if (user_apply_all(req, u.id, NULL, NULL, hash, NULL) == -1)
		return;
	log_info("password of %s changed with dkctl", u.email);
	user_reply(req, u.id, 200);
}

void
op_ctl_user_passwd(struct request *req)
{
	struct user	 u;
	const char	*msg;

	if (ctl_user(req, &u) == -1)
		return;
	if ((msg = password_invalid(req->args.present[CTL_VALUE] ?
	    req->args.str[CTL_VALUE] : NULL)) != NULL) {
		reply_error(req, 422, "%s", msg);
		return;
	}
	if (hasher_hash(req->args.str[CTL_VALUE], ctl_passwd_hashed,
	    req) == -1)
		reply_error(req, 503, "Too busy, try again.");
}
