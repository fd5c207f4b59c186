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

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dkd.h"
#include "log.h"
#include "store.h"

/*
 * User accounts: the admin routes and dkctl's user commands.  Emails
 * are kept normalised (validate.c), so that "Ann@Example.org" and
 * "ann@example.org" are one account.
 */

static void	user_create_hashed(int, const char *, void *);
static void	user_update_hashed(int, const char *, void *);

/* Hash password for cb (with req); -1 once answered 503 instead. */
int
hash_or_reply(struct request *req, const char *password, hasher_cb cb)
{
	if (hasher_hash(password, cb, req) == -1) {
		reply_error(req, 503, "Too busy, try again.");
		return (-1);
	}
	return (0);
}

/* A new user, not stored yet. */
void
user_init(struct user *u, const char *email, const char *name,
    const char *role)
{
	memset(u, 0, sizeof(*u));
	uuid_new(u->id);
	strlcpy(u->email, email, sizeof(u->email));
	strlcpy(u->name, name, sizeof(u->name));
	strlcpy(u->role, role, sizeof(u->role));
	dbtime(time(NULL), u->created_at);
	strlcpy(u->updated_at, u->created_at, sizeof(u->updated_at));
}

void
reply_email_taken(struct request *req)
{
	reply_error(req, 409, "A user with that email already exists.");
}

/* User id into u; -1 once answered (404 when there is none). */
static int
user_or_reply(struct request *req, const char *id, struct user *u)
{
	int	 rc;

	if ((rc = db_user_get(id, u)) != ST_OK) {
		reply_store(req, rc, "User not found.");
		return (-1);
	}
	return (0);
}

/* Reply with the user as stored now. */
static void
user_reply(struct request *req, const char *id, int status)
{
	struct user	 u;

	if (db_user_get(id, &u) != ST_OK) {
		reply_internal(req);
		return;
	}
	reply_item(req, status, tree_user, &u);
}

/*
 * May u stop being an admin?  Not if it is the last one: -1 once
 * answered, with msg (or 500: not knowing is no permission).
 */
static int
last_admin_or_reply(struct request *req, const struct user *u,
    const char *msg)
{
	int64_t	 others;

	if (strcmp(u->role, "admin") != 0)
		return (0);
	if (db_user_admins_besides(u->id, &others) != ST_OK) {
		reply_internal(req);
		return (-1);
	}
	if (others == 0) {
		reply_error(req, 409, "%s", msg);
		return (-1);
	}
	return (0);
}

/*
 * Write the fields of c.  Enforces one email per account and that an
 * admin remains.  0, or -1 once answered.
 */
static int
user_apply(struct request *req, const char *id, const struct user_change *c)
{
	struct user	 u;
	int		 rc;

	if (user_or_reply(req, id, &u) == -1)
		return (-1);
	if (c->role != NULL && strcmp(c->role, "admin") != 0 &&
	    last_admin_or_reply(req, &u, "Cannot demote the last admin.") == -1)
		return (-1);
	if ((rc = db_user_update(id, c)) == ST_EXISTS) {
		reply_email_taken(req);
		return (-1);
	}
	if (rc != ST_OK) {
		reply_store(req, rc, "User not found.");
		return (-1);
	}
	return (0);
}

/*
 * Apply c and, with a new password, end every session of the user in
 * the same transaction: whoever knew the old password must not keep a
 * way in.  That includes an admin's own sessions when the admin sets
 * their own password here.  0, or -1 once answered.
 */
static int
user_apply_all(struct request *req, const char *id,
    const struct user_change *c)
{
	if (store_begin() != ST_OK) {
		reply_internal(req);
		return (-1);
	}
	if (user_apply(req, id, c) == -1) {
		store_rollback();
		return (-1);
	}
	if ((c->password_hash != NULL &&
	    db_sessions_delete_user(id, NULL, NULL) != ST_OK) ||
	    store_commit() != ST_OK) {
		store_rollback();
		reply_internal(req);
		return (-1);
	}
	return (0);
}

/* POST /api/users and dkctl user add. */
void
op_user_create(struct request *req)
{
	struct op_args	*a = &req->args;
	struct verrors	 ve = { 0 };
	struct user	 u;
	const char	*role;
	int		 rc;

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
	if ((rc = db_user_by_email(a->str[USER_CREATE_EMAIL], &u, NULL, 0)) !=
	    ST_NONE) {
		if (rc == ST_OK)
			reply_email_taken(req);
		else
			reply_internal(req);
		return;
	}
	if (!a->present[USER_CREATE_ROLE] ||
	    *a->str[USER_CREATE_ROLE] == '\0')
		op_args_set_str(a, USER_CREATE_ROLE, "member");
	(void)hash_or_reply(req, a->str[USER_CREATE_PASSWORD],
	    user_create_hashed);
}

static void
user_create_hashed(int result, const char *hash, void *arg)
{
	struct request	*req = arg;
	struct op_args	*a = &req->args;
	struct user	 u;
	int		 rc;

	if (result != 0) {
		reply_internal(req);
		return;
	}
	user_init(&u, a->str[USER_CREATE_EMAIL], a->str[USER_CREATE_NAME],
	    a->str[USER_CREATE_ROLE]);
	if ((rc = db_user_insert(&u, hash)) == ST_EXISTS)
		reply_email_taken(req);
	else if (rc != ST_OK)
		reply_internal(req);
	else {
		log_info("user %s created (%s) by %s", u.email, u.role,
		    req->user.name);
		reply_item(req, 201, tree_user, &u);
	}
}

/* GET /api/users?email&role&offset&limit */
void
op_user_list(struct request *req)
{
	struct op_args	*a = &req->args;
	struct user	*rows;
	struct page	 pg;
	size_t		 n;
	int64_t		 total;

	page_from_args(req, USERS_OFFSET, USERS_LIMIT, &pg);
	if (db_user_list(a->present[USERS_EMAIL] ? a->str[USERS_EMAIL] : "",
	    a->present[USERS_ROLE] ? a->str[USERS_ROLE] : "", pg.offset,
	    pg.limit, &rows, &n, &total) != ST_OK) {
		reply_internal(req);
		return;
	}
	reply_page(req, &pg, total, rows, n, sizeof(*rows), tree_user);
	free(rows);
}

void
op_user_get(struct request *req)
{
	struct user	 u;

	if (user_or_reply(req, req->args.str[BY_ID], &u) == 0)
		reply_item(req, 200, tree_user, &u);
}

/* PATCH /api/users/{id}: any of email, name, password, role. */
void
op_user_update(struct request *req)
{
	struct op_args	*a = &req->args;
	struct verrors	 ve = { 0 };
	struct user	 u;

	if (user_or_reply(req, a->str[USER_UPDATE_ID], &u) == -1)
		return;
	if (a->present[USER_UPDATE_EMAIL])
		verror_check(&ve, "email",
		    email_check(a->str[USER_UPDATE_EMAIL]));
	if (a->present[USER_UPDATE_NAME])
		verror_check(&ve, "name",
		    name_invalid(a->str[USER_UPDATE_NAME]));
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
		(void)hash_or_reply(req, a->str[USER_UPDATE_PASSWORD],
		    user_update_hashed);
		return;
	}
	user_update_hashed(0, NULL, req);
}

static void
user_update_hashed(int result, const char *hash, void *arg)
{
	struct request		*req = arg;
	struct op_args		*a = &req->args;
	struct user_change	 c;
	char			 id[UUID_LEN + 1];

	if (result != 0 || strlcpy(id, a->str[USER_UPDATE_ID], sizeof(id)) >=
	    sizeof(id)) {
		reply_internal(req);
		return;
	}
	c.email = a->present[USER_UPDATE_EMAIL] ? a->str[USER_UPDATE_EMAIL] :
	    NULL;
	c.name = a->present[USER_UPDATE_NAME] ? a->str[USER_UPDATE_NAME] :
	    NULL;
	c.password_hash = hash;
	c.role = a->present[USER_UPDATE_ROLE] ? a->str[USER_UPDATE_ROLE] :
	    NULL;
	if (user_apply_all(req, id, &c) == -1)
		return;
	user_reply(req, id, 200);
}

/* Delete a user unless it is the last admin.  Replies. */
static void
user_delete(struct request *req, const char *id)
{
	struct user	 u;
	int		 rc;

	if (user_or_reply(req, id, &u) == -1 ||
	    last_admin_or_reply(req, &u, "Cannot delete the last admin.") == -1)
		return;
	if ((rc = db_user_delete(u.id)) != ST_OK) {
		reply_store(req, rc, "User not found.");
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
	if ((rc = db_user_by_email(email, u, NULL, 0)) != ST_OK) {
		if (rc == ST_NONE)
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
	struct user_change	 c = { 0 };
	struct user		 u;
	const char		*msg;

	if (ctl_user(req, &u) == -1)
		return;
	c.role = req->args.present[CTL_VALUE] ? req->args.str[CTL_VALUE] : "";
	if ((msg = role_invalid(c.role)) != NULL) {
		reply_error(req, 422, "%s", msg);
		return;
	}
	if (user_apply(req, u.id, &c) == 0)
		user_reply(req, u.id, 200);
}

static void
ctl_passwd_hashed(int result, const char *hash, void *arg)
{
	struct request		*req = arg;
	struct user_change	 c = { 0 };
	struct user		 u;

	if (result != 0) {
		reply_internal(req);
		return;
	}
	if (ctl_user(req, &u) == -1)
		return;
	c.password_hash = hash;
	if (user_apply_all(req, u.id, &c) == -1)
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
	(void)hash_or_reply(req, req->args.str[CTL_VALUE], ctl_passwd_hashed);
}
