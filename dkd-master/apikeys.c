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
 * API keys: long-lived tokens for scripts.  The token is shown once, at
 * creation; the database keeps its SHA-256 and its first 8 characters,
 * so a user can tell keys apart.
 */

/* Enough for every script a person runs; bounds the table per user. */
#define APIKEYS_MAX	100

/* A key's fields, into an open map. */
static void
apikey_fields(struct wbuf *w, const struct apikey *k)
{
	tree_kv_str(w, "id", k->id);
	tree_kv_str(w, "user_id", k->user_id);
	tree_kv_str(w, "description", k->description);
	tree_kv_str(w, "prefix", k->prefix);
	tree_time(w, "expires_at", k->expires_at);
	tree_time(w, "last_used_at", k->last_used_at);
	tree_time(w, "created_at", k->created_at);
}

static void
tree_apikey(struct wbuf *w, const void *arg)
{
	tree_map(w);
	apikey_fields(w, arg);
	tree_end(w);
}

/* dkctl's listing: with the owner's email. */
static void
tree_apikey_owned(struct wbuf *w, const void *arg)
{
	const struct apikey	*k = arg;

	tree_map(w);
	apikey_fields(w, k);
	tree_kv_str(w, "user_email", k->user_email);
	tree_end(w);
}

/* {"data": [...]}: the keys of user_id ("": everyone's), rendered. */
static void
apikeys_reply(struct request *req, const char *user_id,
    tree_render_fn render)
{
	struct apikey	*rows;
	size_t		 n;

	if (db_apikey_list(user_id, &rows, &n) != ST_OK) {
		reply_internal(req);
		return;
	}
	reply_list(req, rows, n, sizeof(*rows), render);
	free(rows);
}

/* Create a key for u and reply 201 with its token. */
static void
apikey_create(struct request *req, const struct user *u, const char *desc,
    const char *expires_in)
{
	struct verrors	 ve = { 0 };
	struct apikey	 k;
	struct wbuf	 w;
	char		 token[TOKEN_LEN + 1];
	time_t		 t = time(NULL), e;
	int64_t		 n;

	verror_check(&ve, "description", description_invalid(desc));
	verror_check(&ve, "expires_at", expiry_invalid(expires_in, t, &e));
	if (ve.n > 0) {
		reply_invalid(req, &ve);
		return;
	}
	if (db_apikey_count(u->id, &n) != ST_OK) {
		reply_internal(req);
		return;
	}
	if (n >= APIKEYS_MAX) {
		if (req->caller == CALLER_CTL)
			reply_error(req, 409, "%s has %lld API keys; delete "
			    "one before creating another.", u->email,
			    (long long)n);
		else
			reply_error(req, 409, "You have %lld API keys; delete "
			    "one before creating another.", (long long)n);
		return;
	}
	memset(&k, 0, sizeof(k));
	uuid_new(k.id);
	strlcpy(k.user_id, u->id, sizeof(k.user_id));
	strlcpy(k.description, desc, sizeof(k.description));
	token_new(token);
	sha256_hex(token, strlen(token), k.token_hash);
	strlcpy(k.prefix, token, sizeof(k.prefix));
	dbtime(t, k.created_at);
	if (e != 0)
		dbtime(e, k.expires_at);
	if (db_apikey_insert(&k) != ST_OK) {
		reply_internal(req);
		goto done;
	}
	tree_new(&w);
	tree_map(&w);
	apikey_fields(&w, &k);
	tree_kv_str(&w, "token", token);
	tree_end(&w);
	reply_tree(req, 201, &w);
done:
	explicit_bzero(token, sizeof(token));
}

/* Delete key id if user_id owns it (any owner when user_id is NULL). */
static void
apikey_delete(struct request *req, const char *id, const char *user_id)
{
	int	 rc;

	if ((rc = db_apikey_delete(id, user_id)) != ST_OK)
		reply_store(req, rc, "API key not found.");
	else
		reply_empty(req, 204);
}

void
op_apikey_list(struct request *req)
{
	apikeys_reply(req, req->user.id, tree_apikey);
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
	struct user	 u;

	u.id[0] = '\0';
	if (req->args.present[CTL_EMAIL] &&
	    user_by_email_or_404(req, req->args.str[CTL_EMAIL], &u) == -1)
		return;
	apikeys_reply(req, u.id, tree_apikey_owned);
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
