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

#include "db.h"
#include "dkd.h"
#include "log.h"

/*
 * API keys: long-lived tokens for scripts.  The token is shown once, at
 * creation; the database keeps its SHA-256 and its first 8 characters,
 * so a user can tell keys apart.
 */

#define KEY_COLS	"id, user_id, description, prefix, expires_at, " \
			"last_used_at, created_at"
#define PREFIX_LEN	8
/* Enough for every script a person runs; bounds the table per user. */
#define APIKEYS_MAX	100

/* One key from KEY_COLS; dkctl's listing adds the owner's email. */
static void
tree_apikey(struct wbuf *w, sqlite3_stmt *st, const char *token)
{
	tree_map(w);
	tree_kv_str(w, "id", db_text(st, 0));
	tree_kv_str(w, "user_id", db_text(st, 1));
	tree_kv_str(w, "description", db_text(st, 2));
	tree_kv_str(w, "prefix", db_text(st, 3));
	tree_time(w, "expires_at", db_ntext(st, 4));
	tree_time(w, "last_used_at", db_ntext(st, 5));
	tree_time(w, "created_at", db_ntext(st, 6));
	if (token != NULL)
		tree_kv_str(w, "token", token);
	if (sqlite3_column_count(st) > 7)
		tree_kv_str(w, "user_email", db_text(st, 7));
	tree_end(w);
}

/* Reply {"data": [...]} with the keys st selects. */
static void
apikeys_reply(struct request *req, sqlite3_stmt *st)
{
	struct wbuf	 w;
	int		 rc;

	tree_new(&w);
	tree_map(&w);
	tree_key(&w, "data");
	tree_array(&w);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		tree_apikey(&w, st, NULL);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		wbuf_free(&w);
		reply_internal(req);
		return;
	}
	tree_end(&w);
	tree_end(&w);
	reply_tree(req, 200, &w);
}

static void
apikeys_of(struct request *req, const char *user_id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("SELECT " KEY_COLS " FROM api_keys WHERE "
	    "user_id = ? ORDER BY created_at DESC, rowid DESC")) == NULL) {
		reply_internal(req);
		return;
	}
	db_bind(st, 1, user_id);
	apikeys_reply(req, st);
}

/* How many keys user_id has (expired ones too); -1 on error. */
static int
apikeys_count(const char *user_id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("SELECT count(*) FROM api_keys WHERE "
	    "user_id = ?")) == NULL)
		return (-1);
	db_bind(st, 1, user_id);
	return ((int)db_scalar(st));
}

/* Create a key for u and reply 201 with its token. */
static void
apikey_create(struct request *req, const struct user *u, const char *desc,
    const char *expires_in)
{
	struct verrors	 ve = { 0 };
	sqlite3_stmt	*st;
	struct wbuf	 w;
	char		 id[UUID_LEN + 1], token[TOKEN_LEN + 1];
	char		 hash[SHA256_HEX_LEN + 1], prefix[PREFIX_LEN + 1];
	char		 now[DBTIME_LEN + 1], expires[DBTIME_LEN + 1];
	time_t		 t = time(NULL), e = 0;
	int		 n;

	verror_check(&ve, "description", description_invalid(desc));
	verror_check(&ve, "expires_at", expiry_invalid(expires_in, t, &e));
	if (ve.n > 0) {
		reply_invalid(req, &ve);
		return;
	}
	if ((n = apikeys_count(u->id)) == -1) {
		reply_internal(req);
		return;
	}
	if (n >= APIKEYS_MAX) {
		if (req->caller == CALLER_CTL)
			reply_error(req, 409, "%s has %d API keys; delete one "
			    "before creating another.", u->email, n);
		else
			reply_error(req, 409, "You have %d API keys; delete "
			    "one before creating another.", n);
		return;
	}
	uuid_new(id);
	token_new(token);
	sha256_hex(token, strlen(token), hash);
	strlcpy(prefix, token, sizeof(prefix));
	dbtime(t, now);
	if (e != 0)
		dbtime(e, expires);
	if ((st = db_prepare("INSERT INTO api_keys (id, user_id, "
	    "description, prefix, token_hash, expires_at, created_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)")) == NULL) {
		reply_internal(req);
		goto done;
	}
	db_bind(st, 1, id);
	db_bind(st, 2, u->id);
	db_bind(st, 3, desc);
	db_bind(st, 4, prefix);
	db_bind(st, 5, hash);
	db_bind(st, 6, e != 0 ? expires : NULL);
	db_bind(st, 7, now);
	if (db_step_done(st) != SQLITE_DONE) {
		reply_internal(req);
		goto done;
	}
	if ((st = db_prepare("SELECT " KEY_COLS " FROM api_keys WHERE "
	    "id = ?")) == NULL || (db_bind(st, 1, id),
	    sqlite3_step(st)) != SQLITE_ROW) {
		if (st != NULL)
			sqlite3_reset(st);
		reply_internal(req);
		goto done;
	}
	tree_new(&w);
	tree_apikey(&w, st, token);
	sqlite3_reset(st);
	reply_tree(req, 201, &w);
done:
	explicit_bzero(token, sizeof(token));
}

/* Delete key id if user_id owns it (any owner when user_id is NULL). */
static void
apikey_delete(struct request *req, const char *id, const char *user_id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("DELETE FROM api_keys WHERE id = ?1 AND "
	    "(?2 IS NULL OR user_id = ?2)")) == NULL) {
		reply_internal(req);
		return;
	}
	db_bind(st, 1, id);
	db_bind(st, 2, user_id);
	if (db_step_done(st) != SQLITE_DONE)
		reply_internal(req);
	else if (db_changes() == 0)
		reply_error(req, 404, "API key not found.");
	else
		reply_empty(req, 204);
}

void
op_apikey_list(struct request *req)
{
	apikeys_of(req, req->user.id);
}

void
op_apikey_create(struct request *req)
{
	struct op_args	*a = &req->args;

	apikey_create(req, &req->user,
	    a->present[APIKEY_DESCRIPTION] ? a->str[APIKEY_DESCRIPTION] : NULL,
	    a->present[APIKEY_EXPIRES_AT] ? a->str[APIKEY_EXPIRES_AT] : NULL);
}

void
op_apikey_delete(struct request *req)
{
	apikey_delete(req, req->args.str[BY_ID], req->user.id);
}

void
op_ctl_apikey_create(struct request *req)
{
	struct op_args	*a = &req->args;
	struct user	 u;

	if (user_by_email_or_404(req, a->present[CTL_APIKEY_EMAIL] ?
	    a->str[CTL_APIKEY_EMAIL] : NULL, &u) == -1)
		return;
	apikey_create(req, &u, a->present[CTL_APIKEY_DESCRIPTION] ?
	    a->str[CTL_APIKEY_DESCRIPTION] : NULL,
	    a->present[CTL_APIKEY_EXPIRES_AT] ?
	    a->str[CTL_APIKEY_EXPIRES_AT] : NULL);
}

/* Every key, or one user's keys, with their owners' emails. */
void
op_ctl_apikey_list(struct request *req)
{
	sqlite3_stmt	*st;
	struct user	 u;

	u.id[0] = '\0';
	if (req->args.present[CTL_EMAIL] &&
	    user_by_email_or_404(req, req->args.str[CTL_EMAIL], &u) == -1)
		return;
	if ((st = db_prepare("SELECT k.id, k.user_id, k.description, "
	    "k.prefix, k.expires_at, k.last_used_at, k.created_at, u.email "
	    "FROM api_keys k JOIN users u ON u.id = k.user_id "
	    "WHERE ?1 = '' OR k.user_id = ?1 "
	    "ORDER BY k.created_at DESC, k.rowid DESC")) == NULL) {
		reply_internal(req);
		return;
	}
	db_bind(st, 1, u.id);
	apikeys_reply(req, st);
}

void
op_ctl_apikey_del(struct request *req)
{
	if (!req->args.present[0]) {
		reply_error(req, 400, "An API key id is required.");
		return;
	}
	apikey_delete(req, req->args.str[0], NULL);
}
