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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "db.h"
#include "dkd.h"
#include "log.h"

/*
 * Sign-in: sessions, tokens, the first-run setup token, and resolving a
 * token hash to a user on every request.  Tokens are 32 random bytes
 * that only the client keeps; the database holds their SHA-256.
 */

#define ACCESS_TTL	(15 * 60)
#define REFRESH_TTL	(7 * 24 * 3600)
#define CLEANUP_EVERY	3600
#define HASH_MAX	128
/* Refresh last_used_at of an API key at most this often. */
#define LAST_USED_SLACK	60

/* A password check in flight: a login, or a profile change. */
struct login {
	struct request	*req;
	struct user	 user;
	int		 known;
	time_t		 when;		/* of the attempt, for the throttle */
};

static char		 setup_token[TOKEN_LEN + 1];
static char		 setup_hash[SHA256_HEX_LEN + 1];
static int		 setup_busy;
static char		 dummy_hash[HASH_MAX];
static struct event	*cleanup_ev;

static void	sessions_cleanup(int, short, void *);
static int	sessions_delete_others(const char *, const char *);
static int	hex_equal(const char *, const char *, size_t);
static int	session_create(const char *, char [TOKEN_LEN + 1],
		    char [TOKEN_LEN + 1], char [DBTIME_LEN + 1]);
static void	tree_tokens(struct wbuf *, const char *, const char *,
		    const char *);
static void	dummy_hashed(int, const char *, void *);
static void	login_verified(int, const char *, void *);
static void	register_hashed(int, const char *, void *);
static void	profile_verified(int, const char *, void *);
static void	profile_hashed(int, const char *, void *);

void
auth_init(void)
{
	struct timeval	 tv = { CLEANUP_EVERY, 0 };

	cleanup_ev = event_new(env->base, -1, EV_PERSIST, sessions_cleanup,
	    NULL);
	if (cleanup_ev == NULL || event_add(cleanup_ev, &tv) == -1)
		fatalx("%s: timer", __func__);
	sessions_cleanup(-1, 0, NULL);
	/* Unknown emails are checked against this, so timing tells nothing. */
	if (hasher_hash("deploykit-no-such-user", dummy_hashed, NULL) == -1)
		fatalx("%s: hasher", __func__);
	auth_setup_token_refresh();
}

static void
dummy_hashed(int result, const char *hash, void *arg)
{
	/* Without it, unknown emails would be answered faster. */
	if (result != 0 ||
	    strlcpy(dummy_hash, hash, sizeof(dummy_hash)) >= sizeof(dummy_hash))
		fatalx("%s: cannot hash the dummy password", __func__);
}

/* Where the setup wizard is, with the token filled in. */
static void
setup_url(char *buf, size_t len)
{
	const char	*host;
	int		 v6;

	host = env->conf.listen_host[0] == '\0' ? "localhost" :
	    env->conf.listen_host;
	v6 = strchr(host, ':') != NULL;
	(void)snprintf(buf, len, "http://%s%.64s%s:%s/setup?token=%s",
	    v6 ? "[" : "", host, v6 ? "]" : "", env->conf.listen_port,
	    setup_token);
}

/*
 * While nobody has an account, whoever knows the setup token may create
 * the first admin; it is printed in the log and by dkctl setup-token.
 */
void
auth_setup_token_refresh(void)
{
	char	 url[512];
	int	 n;

	/* On a database error keep what we have; the next call decides. */
	if ((n = user_count()) == -1)
		return;
	if (n != 0) {
		explicit_bzero(setup_token, sizeof(setup_token));
		explicit_bzero(setup_hash, sizeof(setup_hash));
		return;
	}
	if (setup_token[0] != '\0')
		return;
	token_new(setup_token);
	sha256_hex(setup_token, strlen(setup_token), setup_hash);
	setup_url(url, sizeof(url));
	log_info("no accounts yet: create the first admin at %s", url);
	explicit_bzero(url, sizeof(url));
}

/*
 * Do the first len bytes of a and b match?  The time taken depends on
 * len only, not on where they differ, so a guess learns nothing.
 */
static int
hex_equal(const char *a, const char *b, size_t len)
{
	volatile unsigned char	 diff = 0;
	size_t			 i;

	for (i = 0; i < len; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return (diff == 0);
}

static void
sessions_cleanup(int fd, short event, void *arg)
{
	sqlite3_stmt	*st;
	char		 now[DBTIME_LEN + 1];

	dbtime(time(NULL), now);
	if ((st = db_prepare("DELETE FROM sessions WHERE "
	    "refresh_expires_at < ?")) == NULL)
		return;
	db_bind(st, 1, now);
	if (db_step_done(st) == SQLITE_DONE && db_changes() > 0)
		log_debug("removed %d expired sessions", db_changes());
}

int
sessions_delete_user(const char *user_id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("DELETE FROM sessions WHERE user_id = ?")) ==
	    NULL)
		return (-1);
	db_bind(st, 1, user_id);
	return (db_step_done(st) == SQLITE_DONE ? 0 : -1);
}

/*
 * End every session of user_id but the one whose access token hash is
 * keep (the caller's; an API key's hash matches no session, so then
 * every session ends).  -> how many ended, or -1.
 */
static int
sessions_delete_others(const char *user_id, const char *keep)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("DELETE FROM sessions WHERE user_id = ? AND "
	    "access_token_hash != ?")) == NULL)
		return (-1);
	db_bind(st, 1, user_id);
	db_bind(st, 2, keep);
	return (db_step_done(st) == SQLITE_DONE ? db_changes() : -1);
}

/*
 * Who is calling?  Sets req->authed and req->user from a session's
 * access token or an API key; -1 only on a database error.
 */
int
auth_resolve(struct request *req)
{
	sqlite3_stmt	*st;
	char		 now[DBTIME_LEN + 1], key_id[UUID_LEN + 1];
	const char	*last;
	time_t		 t, lt;
	int		 rc, bad = 0;

	if (req->token_hash[0] == '\0')
		return (0);
	t = time(NULL);
	dbtime(t, now);
	if ((st = db_prepare("SELECT u.id, u.email, u.name, u.role, "
	    "u.created_at, u.updated_at FROM sessions s JOIN users u ON "
	    "u.id = s.user_id WHERE s.access_token_hash = ? AND "
	    "s.expires_at > ?")) == NULL)
		return (-1);
	db_bind(st, 1, req->token_hash);
	db_bind(st, 2, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && user_from_row(st, 0, &req->user) == 0)
		req->authed = 1;
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return (req->authed ? 0 : -1);
	if (rc != SQLITE_DONE)
		return (-1);

	if ((st = db_prepare("SELECT u.id, u.email, u.name, u.role, "
	    "u.created_at, u.updated_at, k.id, k.last_used_at FROM api_keys k "
	    "JOIN users u ON u.id = k.user_id WHERE k.token_hash = ? AND "
	    "(k.expires_at IS NULL OR k.expires_at > ?)")) == NULL)
		return (-1);
	db_bind(st, 1, req->token_hash);
	db_bind(st, 2, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (user_from_row(st, 0, &req->user) == -1 ||
		    strlcpy(key_id, db_text(st, 6), sizeof(key_id)) >=
		    sizeof(key_id))
			bad = 1;
		last = db_ntext(st, 7);
		if (last == NULL || dbtime_parse(last, &lt) == -1 ||
		    t - lt >= LAST_USED_SLACK)
			lt = 0;
		req->authed = !bad;
	}
	sqlite3_reset(st);
	if (bad)
		return (-1);
	if (rc == SQLITE_ROW && lt == 0) {
		/* Best effort: a failure here does not fail the request. */
		if ((st = db_prepare("UPDATE api_keys SET last_used_at = ? "
		    "WHERE id = ?")) != NULL) {
			db_bind(st, 1, now);
			db_bind(st, 2, key_id);
			(void)db_step_done(st);
		}
	}
	return (rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1);
}

/* A new session for user_id; the plaintext tokens go to the caller. */
static int
session_create(const char *user_id, char access[TOKEN_LEN + 1],
    char refresh[TOKEN_LEN + 1], char expires[DBTIME_LEN + 1])
{
	sqlite3_stmt	*st;
	char		 id[UUID_LEN + 1], ah[SHA256_HEX_LEN + 1];
	char		 rh[SHA256_HEX_LEN + 1], rexp[DBTIME_LEN + 1];
	char		 now[DBTIME_LEN + 1];
	time_t		 t = time(NULL);

	uuid_new(id);
	token_new(access);
	token_new(refresh);
	sha256_hex(access, strlen(access), ah);
	sha256_hex(refresh, strlen(refresh), rh);
	dbtime(t, now);
	dbtime(t + ACCESS_TTL, expires);
	dbtime(t + REFRESH_TTL, rexp);
	if ((st = db_prepare("INSERT INTO sessions (id, user_id, "
	    "access_token_hash, refresh_token_hash, expires_at, "
	    "refresh_expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"))
	    == NULL)
		return (-1);
	db_bind(st, 1, id);
	db_bind(st, 2, user_id);
	db_bind(st, 3, ah);
	db_bind(st, 4, rh);
	db_bind(st, 5, expires);
	db_bind(st, 6, rexp);
	db_bind(st, 7, now);
	return (db_step_done(st) == SQLITE_DONE ? 0 : -1);
}

static void
tree_tokens(struct wbuf *w, const char *access, const char *refresh,
    const char *expires)
{
	tree_map(w);
	tree_kv_str(w, "access_token", access);
	tree_kv_str(w, "refresh_token", refresh);
	tree_time(w, "expires_at", expires);
	tree_end(w);
}

/* GET /api/auth/register */
void
op_can_register(struct request *req)
{
	struct wbuf	 w;
	int		 n;

	if ((n = user_count()) == -1) {
		reply_internal(req);
		return;
	}
	tree_new(&w);
	tree_map(&w);
	tree_kv_bool(&w, "can_register", n == 0);
	tree_end(&w);
	reply_tree(req, 200, &w);
}

/* POST /api/auth/register: the first account, with the setup token. */
void
op_register(struct request *req)
{
	struct op_args	*a = &req->args;
	struct verrors	 ve = { 0 };
	int		 n;

	if ((n = user_count()) == -1) {
		reply_internal(req);
		return;
	}
	if (n > 0) {
		reply_error(req, 409, "Registration is closed.");
		return;
	}
	/* Both are SHA-256 in hex; only their length may be compared fast. */
	if (!a->present[REGISTER_TOKEN] || setup_hash[0] == '\0' ||
	    strlen(a->str[REGISTER_TOKEN]) != SHA256_HEX_LEN ||
	    !hex_equal(a->str[REGISTER_TOKEN], setup_hash, SHA256_HEX_LEN)) {
		reply_error(req, 401, a->present[REGISTER_TOKEN] &&
		    *a->str[REGISTER_TOKEN] != '\0' ?
		    "Invalid setup token." : "A setup token is required; "
		    "see the dkd log or run dkctl setup-token.");
		return;
	}
	verror_check(&ve, "email", email_check(a->present[REGISTER_EMAIL] ?
	    a->str[REGISTER_EMAIL] : NULL));
	verror_check(&ve, "name", name_invalid(a->present[REGISTER_NAME] ?
	    a->str[REGISTER_NAME] : NULL));
	verror_check(&ve, "password", password_invalid(
	    a->present[REGISTER_PASSWORD] ? a->str[REGISTER_PASSWORD] : NULL));
	if (ve.n > 0) {
		reply_invalid(req, &ve);
		return;
	}
	/* One registration at a time may hold the token. */
	if (setup_busy) {
		reply_error(req, 409, "Registration is in progress.");
		return;
	}
	if (hasher_hash(a->str[REGISTER_PASSWORD], register_hashed,
	    req) == -1) {
		reply_error(req, 503, "Too busy, try again.");
		return;
	}
	setup_busy = 1;
}

static void
register_hashed(int result, const char *hash, void *arg)
{
	struct request	*req = arg;
	struct op_args	*a = &req->args;
	struct wbuf	 w;
	struct user	 u;
	char		 id[UUID_LEN + 1], access[TOKEN_LEN + 1];
	char		 refresh[TOKEN_LEN + 1], expires[DBTIME_LEN + 1];
	int		 n, status;

	setup_busy = 0;
	if (result != 0 || db_begin() == -1) {
		reply_internal(req);
		return;
	}
	if ((n = user_count()) != 0) {
		db_rollback();
		if (n == -1)
			reply_internal(req);
		else
			reply_error(req, 409, "Registration is closed.");
		return;
	}
	status = user_insert(a->str[REGISTER_EMAIL], a->str[REGISTER_NAME],
	    hash, "admin", id);
	if (status != 201 || session_create(id, access, refresh,
	    expires) == -1 || db_commit() == -1) {
		db_rollback();
		reply_internal(req);
		goto done;
	}
	auth_setup_token_refresh();
	log_info("first admin %s registered", a->str[REGISTER_EMAIL]);
	if (user_by_id(id, &u) != 1) {
		reply_internal(req);
		goto done;
	}
	tree_new(&w);
	tree_map(&w);
	tree_key(&w, "user");
	tree_user(&w, &u);
	tree_key(&w, "tokens");
	tree_tokens(&w, access, refresh, expires);
	tree_end(&w);
	reply_tree(req, 201, &w);
done:
	explicit_bzero(access, sizeof(access));
	explicit_bzero(refresh, sizeof(refresh));
}

/* POST /api/auth/login */
void
op_login(struct request *req)
{
	struct op_args	*a = &req->args;
	struct verrors	 ve = { 0 };
	struct login	*l;
	char		 hash[HASH_MAX];
	int		 wait, rc;

	if (a->present[LOGIN_EMAIL])
		email_normalize(a->str[LOGIN_EMAIL]);
	if (!a->present[LOGIN_EMAIL] || *a->str[LOGIN_EMAIL] == '\0')
		verror_add(&ve, "email", "Email is required.");
	if (!a->present[LOGIN_PASSWORD] || *a->str[LOGIN_PASSWORD] == '\0')
		verror_add(&ve, "password", "Password is required.");
	if (ve.n > 0) {
		reply_invalid(req, &ve);
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		reply_internal(req);
		return;
	}
	l->req = req;
	if ((wait = throttle_try(a->str[LOGIN_EMAIL], req->client,
	    &l->when)) > 0) {
		free(l);
		reply_retry(req, 429, wait,
		    "Too many login attempts. Try again later.");
		return;
	}
	rc = user_by_email(a->str[LOGIN_EMAIL], &l->user, hash, sizeof(hash));
	if (rc == -1) {
		throttle_forget(a->str[LOGIN_EMAIL], req->client, l->when);
		free(l);
		reply_internal(req);
		return;
	}
	l->known = rc == 1;
	if (hasher_verify(l->known ? hash : dummy_hash,
	    a->str[LOGIN_PASSWORD], login_verified, l) == -1) {
		throttle_forget(a->str[LOGIN_EMAIL], req->client, l->when);
		free(l);
		reply_error(req, 503, "Too busy, try again.");
	}
	explicit_bzero(hash, sizeof(hash));
}

/* A failed check stays counted by the throttle; a success clears it. */
static void
login_verified(int result, const char *unused, void *arg)
{
	struct login	*l = arg;
	struct request	*req = l->req;
	struct op_args	*a = &req->args;
	struct wbuf	 w;
	char		 access[TOKEN_LEN + 1], refresh[TOKEN_LEN + 1];
	char		 expires[DBTIME_LEN + 1];

	if (result != 0 || !l->known) {
		free(l);
		reply_error(req, 401, "Invalid email or password.");
		return;
	}
	throttle_success(a->str[LOGIN_EMAIL], req->client, l->when);
	if (session_create(l->user.id, access, refresh, expires) == -1) {
		free(l);
		reply_internal(req);
		goto done;
	}
	free(l);
	tree_new(&w);
	tree_tokens(&w, access, refresh, expires);
	reply_tree(req, 200, &w);
done:
	explicit_bzero(access, sizeof(access));
	explicit_bzero(refresh, sizeof(refresh));
}

static int
session_delete(const char *id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("DELETE FROM sessions WHERE id = ?")) == NULL)
		return (-1);
	db_bind(st, 1, id);
	return (db_step_done(st) == SQLITE_DONE ? 0 : -1);
}

/*
 * POST /api/auth/refresh: rotate both tokens of the session.  A refresh
 * token that was already rotated away is a copy in someone else's hands
 * (the owner only ever holds the newest): the session ends for both.
 */
void
op_refresh(struct request *req)
{
	struct op_args	*a = &req->args;
	sqlite3_stmt	*st;
	struct wbuf	 w;
	char		 id[UUID_LEN + 1], rexp[DBTIME_LEN + 1];
	char		 now[DBTIME_LEN + 1], access[TOKEN_LEN + 1];
	char		 refresh[TOKEN_LEN + 1], expires[DBTIME_LEN + 1];
	char		 ah[SHA256_HEX_LEN + 1], rh[SHA256_HEX_LEN + 1];
	time_t		 t = time(NULL);
	int		 rc, current = 0, bad = 0;

	if (!a->present[REFRESH_TOKEN] || *a->str[REFRESH_TOKEN] == '\0') {
		reply_error(req, 401, "Refresh token is required.");
		return;
	}
	if ((st = db_prepare("SELECT id, refresh_expires_at, "
	    "refresh_token_hash = ?1 FROM sessions WHERE "
	    "refresh_token_hash = ?1 OR previous_refresh_hash = ?1")) ==
	    NULL) {
		reply_internal(req);
		return;
	}
	db_bind(st, 1, a->str[REFRESH_TOKEN]);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (strlcpy(id, db_text(st, 0), sizeof(id)) >= sizeof(id) ||
		    strlcpy(rexp, db_text(st, 1), sizeof(rexp)) >=
		    sizeof(rexp))
			bad = 1;
		current = sqlite3_column_int(st, 2);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW || bad) {
		if (rc == SQLITE_DONE)
			reply_error(req, 401, "Invalid refresh token.");
		else
			reply_internal(req);
		return;
	}
	if (!current) {
		if (session_delete(id) == -1) {
			reply_internal(req);
			return;
		}
		log_warnx("a rotated refresh token was presented again (from "
		    "%s): session %s ended", req->client, id);
		reply_error(req, 401, "Invalid refresh token.");
		return;
	}
	dbtime(t, now);
	if (strcmp(rexp, now) <= 0) {
		if (session_delete(id) == -1) {
			reply_internal(req);
			return;
		}
		reply_error(req, 401, "Refresh token has expired.");
		return;
	}
	token_new(access);
	token_new(refresh);
	sha256_hex(access, strlen(access), ah);
	sha256_hex(refresh, strlen(refresh), rh);
	dbtime(t + ACCESS_TTL, expires);
	dbtime(t + REFRESH_TTL, rexp);
	/* The old hash in the WHERE makes a token good for one refresh. */
	if ((st = db_prepare("UPDATE sessions SET access_token_hash = ?, "
	    "refresh_token_hash = ?, previous_refresh_hash = "
	    "refresh_token_hash, expires_at = ?, refresh_expires_at = ? "
	    "WHERE id = ? AND refresh_token_hash = ?")) == NULL) {
		reply_internal(req);
		goto done;
	}
	db_bind(st, 1, ah);
	db_bind(st, 2, rh);
	db_bind(st, 3, expires);
	db_bind(st, 4, rexp);
	db_bind(st, 5, id);
	db_bind(st, 6, a->str[REFRESH_TOKEN]);
	if ((rc = db_step_done(st)) != SQLITE_DONE) {
		reply_internal(req);
		goto done;
	}
	if (db_changes() != 1) {
		reply_error(req, 401, "Invalid refresh token.");
		goto done;
	}
	tree_new(&w);
	tree_tokens(&w, access, refresh, expires);
	reply_tree(req, 200, &w);
done:
	explicit_bzero(access, sizeof(access));
	explicit_bzero(refresh, sizeof(refresh));
}

/* POST /api/auth/logout: every session of the caller ends. */
void
op_logout(struct request *req)
{
	if (sessions_delete_user(req->user.id) == -1)
		reply_internal(req);
	else
		reply_empty(req, 204);
}

void
op_me(struct request *req)
{
	struct wbuf	 w;

	tree_new(&w);
	tree_user(&w, &req->user);
	reply_tree(req, 200, &w);
}

/*
 * PATCH /api/auth/profile: email, name and a new password.  A new
 * password or a new email needs the current password, so that a stolen
 * access token cannot take the account over; its checks count against
 * the login throttle.  The role cannot be changed here.
 */
void
op_profile(struct request *req)
{
	struct op_args	*a = &req->args;
	struct verrors	 ve = { 0 };
	struct login	*l;
	char		 hash[HASH_MAX];
	int		 new_email = 0, wait, rc;

	if (a->present[PROFILE_EMAIL]) {
		verror_check(&ve, "email", email_check(a->str[PROFILE_EMAIL]));
		new_email = ve.n == 0 &&
		    strcmp(a->str[PROFILE_EMAIL], req->user.email) != 0;
	}
	if (a->present[PROFILE_NAME])
		verror_check(&ve, "name", name_invalid(a->str[PROFILE_NAME]));
	if (a->present[PROFILE_NEW_PASSWORD])
		verror_check(&ve, "new_password",
		    password_invalid(a->str[PROFILE_NEW_PASSWORD]));
	if ((a->present[PROFILE_NEW_PASSWORD] || new_email) &&
	    (!a->present[PROFILE_CURRENT_PASSWORD] ||
	    *a->str[PROFILE_CURRENT_PASSWORD] == '\0'))
		verror_add(&ve, "current_password",
		    "Current password is required.");
	if (ve.n > 0) {
		reply_invalid(req, &ve);
		return;
	}
	if (!a->present[PROFILE_NEW_PASSWORD] && !new_email) {
		profile_hashed(0, NULL, req);
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		reply_internal(req);
		return;
	}
	l->req = req;
	if ((wait = throttle_try(req->user.email, req->client,
	    &l->when)) > 0) {
		free(l);
		reply_retry(req, 429, wait,
		    "Too many password attempts. Try again later.");
		return;
	}
	if ((rc = user_by_email(req->user.email, &l->user, hash,
	    sizeof(hash))) != 1 || hasher_verify(hash,
	    a->str[PROFILE_CURRENT_PASSWORD], profile_verified, l) == -1) {
		throttle_forget(req->user.email, req->client, l->when);
		free(l);
		if (rc != 1)
			reply_internal(req);
		else
			reply_error(req, 503, "Too busy, try again.");
	}
	explicit_bzero(hash, sizeof(hash));
}

static void
profile_verified(int result, const char *unused, void *arg)
{
	struct login	*l = arg;
	struct request	*req = l->req;
	struct verrors	 ve = { 0 };

	if (result != 0) {
		free(l);
		verror_add(&ve, "current_password",
		    "Current password is incorrect.");
		reply_invalid(req, &ve);
		return;
	}
	throttle_success(req->user.email, req->client, l->when);
	free(l);
	if (!req->args.present[PROFILE_NEW_PASSWORD]) {
		profile_hashed(0, NULL, req);
		return;
	}
	if (hasher_hash(req->args.str[PROFILE_NEW_PASSWORD], profile_hashed,
	    req) == -1)
		reply_error(req, 503, "Too busy, try again.");
}

/* Write the profile; a new password (hash) ends the other sessions. */
static void
profile_hashed(int result, const char *hash, void *arg)
{
	struct request	*req = arg;
	struct op_args	*a = &req->args;
	sqlite3_stmt	*st;
	struct wbuf	 w;
	struct user	 u;
	char		 now[DBTIME_LEN + 1];
	int		 rc, ended = 0;

	if (result != 0 || db_begin() == -1) {
		reply_internal(req);
		return;
	}
	dbtime(time(NULL), now);
	if ((st = db_prepare("UPDATE users SET email = coalesce(?, email), "
	    "name = coalesce(?, name), password_hash = coalesce(?, "
	    "password_hash), updated_at = ? WHERE id = ?")) == NULL)
		goto fail;
	db_bind(st, 1, a->present[PROFILE_EMAIL] ? a->str[PROFILE_EMAIL] :
	    NULL);
	db_bind(st, 2, a->present[PROFILE_NAME] ? a->str[PROFILE_NAME] :
	    NULL);
	db_bind(st, 3, hash);
	db_bind(st, 4, now);
	db_bind(st, 5, req->user.id);
	if ((rc = db_step_done(st)) == SQLITE_CONSTRAINT) {
		db_rollback();
		reply_error(req, 409, "A user with that email already exists.");
		return;
	}
	if (rc != SQLITE_DONE || (hash != NULL && (ended =
	    sessions_delete_others(req->user.id, req->token_hash)) == -1) ||
	    db_commit() == -1)
		goto fail;
	if (hash != NULL)
		log_info("%s changed their password; %d other sessions ended",
		    req->user.email, ended);
	if (user_by_id(req->user.id, &u) != 1) {
		reply_internal(req);
		return;
	}
	tree_new(&w);
	tree_user(&w, &u);
	reply_tree(req, 200, &w);
	return;
fail:
	db_rollback();
	reply_internal(req);
}

/* dkctl setup-token */
void
op_ctl_setup_token(struct request *req)
{
	struct wbuf	 w;
	char		 url[512];

	if (setup_token[0] == '\0') {
		reply_error(req, 409, "An account exists already; the setup "
		    "token is gone.  Use dkctl user add.");
		return;
	}
	setup_url(url, sizeof(url));
	tree_new(&w);
	tree_map(&w);
	tree_kv_str(&w, "setup_token", setup_token);
	tree_kv_str(&w, "url", url);
	tree_end(&w);
	explicit_bzero(url, sizeof(url));
	reply_tree(req, 200, &w);
}
