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

#include "db.h"
#include "log.h"
#include "store.h"

/* API keys in the database: the SHA-256 of the token, and its prefix. */

/* A key and its owner's email, as db_apikey_list selects them. */
static int
apikey_row(sqlite3_stmt *st, void *arg)
{
	struct apikey	*k = arg;

	memset(k, 0, sizeof(*k));
	strlcpy(k->id, db_text(st, 0), sizeof(k->id));
	strlcpy(k->user_id, db_text(st, 1), sizeof(k->user_id));
	strlcpy(k->description, db_text(st, 2), sizeof(k->description));
	strlcpy(k->prefix, db_text(st, 3), sizeof(k->prefix));
	strlcpy(k->expires_at, db_text(st, 4), sizeof(k->expires_at));
	strlcpy(k->last_used_at, db_text(st, 5), sizeof(k->last_used_at));
	strlcpy(k->created_at, db_text(st, 6), sizeof(k->created_at));
	strlcpy(k->user_email, db_text(st, 7), sizeof(k->user_email));
	return (ST_OK);
}

static const struct db_kind apikey_kind = {
	sizeof(struct apikey), apikey_row, NULL
};

int
db_apikey_insert(const struct apikey *k)
{
	return (db_write("INSERT INTO api_keys (id, user_id, description, "
	    "prefix, token_hash, expires_at, created_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)", DB_ARGS(k->id, k->user_id,
	    k->description, k->prefix, k->token_hash,
	    k->expires_at[0] != '\0' ? k->expires_at : NULL, k->created_at)));
}

/* How many keys user_id has, expired ones too. */
int
db_apikey_count(const char *user_id, int64_t *n)
{
	return (db_count("SELECT count(*) FROM api_keys WHERE user_id = ?",
	    DB_ARGS(user_id), n));
}

/* The keys of user_id ("" for every user's), newest first. */
int
db_apikey_list(const char *user_id, struct apikey **out, size_t *n)
{
	return (db_list("SELECT k.id, k.user_id, k.description, k.prefix, "
	    "k.expires_at, k.last_used_at, k.created_at, u.email "
	    "FROM api_keys k JOIN users u ON u.id = k.user_id "
	    "WHERE ?1 = '' OR k.user_id = ?1 "
	    "ORDER BY k.created_at DESC, k.rowid DESC", DB_ARGS(user_id),
	    &apikey_kind, out, n));
}

/* Key id, if user_id owns it (any owner's when user_id is NULL). */
int
db_apikey_delete(const char *id, const char *user_id)
{
	return (db_write("DELETE FROM api_keys WHERE id = ?1 AND "
	    "(?2 IS NULL OR user_id = ?2)", DB_ARGS(id, user_id)));
}

/*
 * The owner of the key whose token hash is token_hash and that has not
 * expired by now; the key's id and last use into k.
 */
int
db_apikey_user(const char *token_hash, const char *now, struct user *u,
    struct apikey *k)
{
	sqlite3_stmt	*st;
	int		 rc;

	memset(k, 0, sizeof(*k));
	if ((st = db_prepare("SELECT u.id, u.email, u.name, u.role, "
	    "u.created_at, u.updated_at, k.id, k.last_used_at FROM api_keys k "
	    "JOIN users u ON u.id = k.user_id WHERE k.token_hash = ? AND "
	    "(k.expires_at IS NULL OR k.expires_at > ?)")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, token_hash);
	db_bind(st, 2, now);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (db_user_row(st, 0, u) == -1 ||
		    db_column_copy(st, 6, k->id, sizeof(k->id)) == -1)
			rc = SQLITE_CORRUPT;
		strlcpy(k->last_used_at, db_text(st, 7),
		    sizeof(k->last_used_at));
	}
	sqlite3_reset(st);
	return (db_found(rc));
}

/* When key id was last used; best effort, a failure is only logged. */
void
db_apikey_touch(const char *id, const char *now)
{
	(void)db_run("UPDATE api_keys SET last_used_at = ? WHERE id = ?",
	    DB_ARGS(now, id));
}
