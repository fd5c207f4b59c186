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

#include "dkd.h"
#include "log.h"
#include "store.h"

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
static int	hex_equal(const char *, const char *, size_t);
static void	session_tokens(struct session *, time_t,
		    char [TOKEN_LEN + 1], char [TOKEN_LEN + 1]);
static int	session_create(const char *, struct session *,
		    char [TOKEN_LEN + 1], char [TOKEN_LEN + 1]);
static void	tree_tokens(struct wbuf *, const char *, const char *,
		    const char *);
static void	reply_tokens(struct request *, int, const struct session *,
		    char [TOKEN_LEN + 1], char [TOKEN_LEN + 1]);
static void	dummy_hashed(int, const char *, void *);
static void	password_check(struct request *, const char *, const char *,
		    int, const char *, hasher_cb);
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
	int64_t	 n;

	/* On a database error keep what we have; the next call decides. */
	if (db_user_count(&n) != ST_OK)
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
	char	 now[DBTIME_LEN + 1];
	int	 n;

	dbtime(time(NULL), now);
	if (db_sessions_expire(now, &n) == ST_OK && n > 0)
		log_debug("removed %d expired sessions", n);
}

/*
 * Who is calling?  Sets req->authed and req->user from a session's
 * access token or an API key; -1 only on a database error.
 */
int
auth_resolve(struct request *req)
{
	struct apikey	 k;
	char		 now[DBTIME_LEN + 1];
	time_t		 t, lt;
	int		 rc;

	if (req->token_hash[0] == '\0')
		return (0);
	t = time(NULL);
	dbtime(t, now);
	if ((rc = db_session_user(req->token_hash, now, &req->user)) == ST_OK) {
		req->authed = 1;
		return (0);
	}
	if (rc != ST_NONE)
		return (-1);
	if ((rc = db_apikey_user(req->token_hash, now, &req->user, &k)) !=
	    ST_OK)
		return (rc == ST_NONE ? 0 : -1);
	req->authed = 1;
	/* Best effort: a failure here does not fail the request. */
	if (k.last_used_at[0] == '\0' ||
	    dbtime_parse(k.last_used_at, &lt) == -1 ||
	    t - lt >= LAST_USED_SLACK)
		db_apikey_touch(k.id, now);
	return (0);
}

/* Fresh tokens for s from time t; the plaintext goes to the caller. */
static void
session_tokens(struct session *s, time_t t, char access[TOKEN_LEN + 1],
    char refresh[TOKEN_LEN + 1])
{
	token_new(access);
	token_new(refresh);
	sha256_hex(access, strlen(access), s->access_hash);
	sha256_hex(refresh, strlen(refresh), s->refresh_hash);
	dbtime(t + ACCESS_TTL, s->expires_at);
	dbtime(t + REFRESH_TTL, s->refresh_expires_at);
}

/* A new session s for user_id. */
static int
session_create(const char *user_id, struct session *s,
    char access[TOKEN_LEN + 1], char refresh[TOKEN_LEN + 1])
{
	time_t	 t = time(NULL);

	memset(s, 0, sizeof(*s));
	uuid_new(s->id);
	strlcpy(s->user_id, user_id, sizeof(s->user_id));
	dbtime(t, s->created_at);
	session_tokens(s, t, access, refresh);
	return (db_session_insert(s));
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

/*
 * The answer to a login or a refresh, by the outcome rc of storing the
 * session s: its tokens, 401 for a refresh token used already (ST_NONE)
 * or 500.  The plaintext tokens are wiped either way.
 */
static void
reply_tokens(struct request *req, int rc, const struct session *s,
    char access[TOKEN_LEN + 1], char refresh[TOKEN_LEN + 1])
{
	struct wbuf	 w;

	if (rc == ST_OK) {
		tree_new(&w);
		tree_tokens(&w, access, refresh, s->expires_at);
		reply_tree(req, 200, &w);
	} else if (rc == ST_NONE)
		reply_error(req, 401, "Invalid refresh token.");
	else
		reply_internal(req);
	explicit_bzero(access, TOKEN_LEN + 1);
	explicit_bzero(refresh, TOKEN_LEN + 1);
}

/* GET /api/auth/register */
void
op_can_register(struct request *req)
{
	struct wbuf	 w;
	int64_t		 n;

	if (db_user_count(&n) != ST_OK) {
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
	int64_t		 n;

	if (db_user_count(&n) != ST_OK) {
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
	if (hash_or_reply(req, a->str[REGISTER_PASSWORD], register_hashed) ==
	    0)
		setup_busy = 1;
}

static void
register_hashed(int result, const char *hash, void *arg)
{
	struct request	*req = arg;
	struct op_args	*a = &req->args;
	struct session	 s;
	struct wbuf	 w;
	struct user	 u;
	char		 access[TOKEN_LEN + 1], refresh[TOKEN_LEN + 1];
	int64_t		 n;
	int		 rc;

	setup_busy = 0;
	if (result != 0 || store_begin() != ST_OK) {
		reply_internal(req);
		return;
	}
	if ((rc = db_user_count(&n)) != ST_OK || n != 0) {
		store_rollback();
		if (rc != ST_OK)
			reply_internal(req);
		else
			reply_error(req, 409, "Registration is closed.");
		return;
	}
	user_init(&u, a->str[REGISTER_EMAIL], a->str[REGISTER_NAME], "admin");
	if (db_user_insert(&u, hash) != ST_OK ||
	    session_create(u.id, &s, access, refresh) != ST_OK ||
	    store_commit() != ST_OK) {
		store_rollback();
		reply_internal(req);
		goto done;
	}
	auth_setup_token_refresh();
	log_info("first admin %s registered", u.email);
	tree_new(&w);
	tree_map(&w);
	tree_key(&w, "user");
	tree_user(&w, &u);
	tree_key(&w, "tokens");
	tree_tokens(&w, access, refresh, s.expires_at);
	tree_end(&w);
	reply_tree(req, 201, &w);
done:
	explicit_bzero(access, sizeof(access));
	explicit_bzero(refresh, sizeof(refresh));
}

/*
 * Check password against the account of email, counted by the throttle
 * under email and the client's address; cb gets a struct login.  An
 * unknown email is checked against the dummy hash, so that timing
 * tells nothing, when unknown_ok; else it is an internal error.
 */
static void
password_check(struct request *req, const char *email, const char *password,
    int unknown_ok, const char *too_many, hasher_cb cb)
{
	struct login	*l;
	char		 hash[HASH_MAX];
	int		 wait, rc;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		reply_internal(req);
		return;
	}
	l->req = req;
	if ((wait = throttle_try(email, req->client, &l->when)) > 0) {
		free(l);
		reply_retry(req, 429, wait, too_many);
		return;
	}
	rc = db_user_by_email(email, &l->user, hash, sizeof(hash));
	l->known = rc == ST_OK;
	if (rc == ST_ERROR || (rc == ST_NONE && !unknown_ok)) {
		throttle_forget(email, req->client, l->when);
		free(l);
		reply_internal(req);
	} else if (hasher_verify(l->known ? hash : dummy_hash, password, cb,
	    l) == -1) {
		throttle_forget(email, req->client, l->when);
		free(l);
		reply_error(req, 503, "Too busy, try again.");
	}
	explicit_bzero(hash, sizeof(hash));
}

/* POST /api/auth/login */
void
op_login(struct request *req)
{
	struct op_args	*a = &req->args;
	struct verrors	 ve = { 0 };

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
	password_check(req, a->str[LOGIN_EMAIL], a->str[LOGIN_PASSWORD], 1,
	    "Too many login attempts. Try again later.", login_verified);
}

/* A failed check stays counted by the throttle; a success clears it. */
static void
login_verified(int result, const char *unused, void *arg)
{
	struct login	*l = arg;
	struct request	*req = l->req;
	struct op_args	*a = &req->args;
	struct session	 s;
	char		 access[TOKEN_LEN + 1], refresh[TOKEN_LEN + 1];
	int		 rc;

	if (result != 0 || !l->known) {
		free(l);
		reply_error(req, 401, "Invalid email or password.");
		return;
	}
	throttle_success(a->str[LOGIN_EMAIL], req->client, l->when);
	rc = session_create(l->user.id, &s, access, refresh);
	free(l);
	reply_tokens(req, rc, &s, access, refresh);
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
	struct session	 s;
	char		 now[DBTIME_LEN + 1], access[TOKEN_LEN + 1];
	char		 refresh[TOKEN_LEN + 1];
	const char	*gone = NULL;
	time_t		 t = time(NULL);
	int		 rc, current = 0;

	if (!a->present[REFRESH_TOKEN] || *a->str[REFRESH_TOKEN] == '\0') {
		reply_error(req, 401, "Refresh token is required.");
		return;
	}
	if ((rc = db_session_by_refresh(a->str[REFRESH_TOKEN], &s,
	    &current)) != ST_OK) {
		if (rc == ST_NONE)
			reply_error(req, 401, "Invalid refresh token.");
		else
			reply_internal(req);
		return;
	}
	dbtime(t, now);
	if (!current)
		gone = "Invalid refresh token.";
	else if (strcmp(s.refresh_expires_at, now) <= 0)
		gone = "Refresh token has expired.";
	if (gone != NULL) {
		if (db_session_delete(s.id) != ST_OK) {
			reply_internal(req);
			return;
		}
		if (!current)
			log_warnx("a rotated refresh token was presented "
			    "again (from %s): session %s ended", req->client,
			    s.id);
		reply_error(req, 401, "%s", gone);
		return;
	}
	session_tokens(&s, t, access, refresh);
	reply_tokens(req, db_session_rotate(&s, a->str[REFRESH_TOKEN]), &s,
	    access, refresh);
}

/* POST /api/auth/logout: every session of the caller ends. */
void
op_logout(struct request *req)
{
	if (db_sessions_delete_user(req->user.id, NULL, NULL) != ST_OK)
		reply_internal(req);
	else
		reply_empty(req, 204);
}

void
op_me(struct request *req)
{
	reply_item(req, 200, tree_user, &req->user);
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
	int		 new_email = 0;

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
	password_check(req, req->user.email,
	    a->str[PROFILE_CURRENT_PASSWORD], 0,
	    "Too many password attempts. Try again later.", profile_verified);
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
	(void)hash_or_reply(req, req->args.str[PROFILE_NEW_PASSWORD],
	    profile_hashed);
}

/* Write the profile; a new password (hash) ends the other sessions. */
static void
profile_hashed(int result, const char *hash, void *arg)
{
	struct request		*req = arg;
	struct op_args		*a = &req->args;
	struct user_change	 c = { 0 };
	struct user		 u;
	int			 rc, ended = 0;

	if (result != 0 || store_begin() != ST_OK) {
		reply_internal(req);
		return;
	}
	c.email = a->present[PROFILE_EMAIL] ? a->str[PROFILE_EMAIL] : NULL;
	c.name = a->present[PROFILE_NAME] ? a->str[PROFILE_NAME] : NULL;
	c.password_hash = hash;
	if ((rc = db_user_update(req->user.id, &c)) == ST_EXISTS) {
		store_rollback();
		reply_email_taken(req);
		return;
	}
	if (rc != ST_OK || (hash != NULL && db_sessions_delete_user(
	    req->user.id, req->token_hash, &ended) != ST_OK) ||
	    store_commit() != ST_OK) {
		store_rollback();
		reply_internal(req);
		return;
	}
	if (hash != NULL)
		log_info("%s changed their password; %d other sessions ended",
		    req->user.email, ended);
	if (db_user_get(req->user.id, &u) != ST_OK) {
		reply_internal(req);
		return;
	}
	reply_item(req, 200, tree_user, &u);
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
