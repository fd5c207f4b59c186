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

#include <string.h>

#include "db.h"
#include "log.h"
#include "store.h"

/*
 * Sessions in the database: the SHA-256 of their tokens, never the
 * tokens themselves.
 */

int
db_session_insert(const struct session *s)
{
	return (db_write("INSERT INTO sessions (id, user_id, "
	    "access_token_hash, refresh_token_hash, expires_at, "
	    "refresh_expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	    DB_ARGS(s->id, s->user_id, s->access_hash, s->refresh_hash,
	    s->expires_at, s->refresh_expires_at, s->created_at)));
}

/* The user of the session whose access token is still good at now. */
int
db_session_user(const char *access_hash, const char *now, struct user *u)
{
	return (db_get("SELECT u.id, u.email, u.name, u.role, u.created_at, "
	    "u.updated_at FROM sessions s JOIN users u ON u.id = s.user_id "
	    "WHERE s.access_token_hash = ? AND s.expires_at > ?",
	    DB_ARGS(access_hash, now), &db_user_kind, u));
}

/*
 * The session whose refresh token hash is refresh_hash now or was
 * before its last rotation: its id and refresh expiry into s, and
 * whether refresh_hash is the current one into *current.
 */
int
db_session_by_refresh(const char *refresh_hash, struct session *s,
    int *current)
{
	sqlite3_stmt	*st;
	int		 rc;

	memset(s, 0, sizeof(*s));
	if ((st = db_prepare("SELECT id, refresh_expires_at, "
	    "refresh_token_hash = ?1 FROM sessions WHERE "
	    "refresh_token_hash = ?1 OR previous_refresh_hash = ?1")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, refresh_hash);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (db_column_copy(st, 0, s->id, sizeof(s->id)) == -1 ||
		    db_column_copy(st, 1, s->refresh_expires_at,
		    sizeof(s->refresh_expires_at)) == -1)
			rc = SQLITE_CORRUPT;
		*current = sqlite3_column_int(st, 2);
	}
	sqlite3_reset(st);
	return (db_found(rc));
}

/*
 * New tokens and expiries for session s->id, if its refresh token hash
 * is still old_refresh: that makes a token good for one refresh.
 * ST_NONE when it is not.
 */
int
db_session_rotate(const struct session *s, const char *old_refresh)
{
	return (db_write("UPDATE sessions SET access_token_hash = ?, "
	    "refresh_token_hash = ?, previous_refresh_hash = "
	    "refresh_token_hash, expires_at = ?, refresh_expires_at = ? "
	    "WHERE id = ? AND refresh_token_hash = ?",
	    DB_ARGS(s->access_hash, s->refresh_hash, s->expires_at,
	    s->refresh_expires_at, s->id, old_refresh)));
}

int
db_session_delete(const char *id)
{
	return (db_run("DELETE FROM sessions WHERE id = ?", DB_ARGS(id)));
}

/*
 * End the sessions of user_id, all of them or all but the one whose
 * access token hash is keep (an API key's hash matches none, so then
 * every session ends); how many ended into *ended (may be NULL).
 */
int
db_sessions_delete_user(const char *user_id, const char *keep, int *ended)
{
	int	 rc;

	if ((rc = db_run("DELETE FROM sessions WHERE user_id = ?1 AND "
	    "(?2 IS NULL OR access_token_hash != ?2)",
	    DB_ARGS(user_id, keep))) == ST_OK && ended != NULL)
		*ended = db_changes();
	return (rc);
}

/* Sessions whose refresh token has expired by now go. */
int
db_sessions_expire(const char *now, int *removed)
{
	int	 rc;

	*removed = 0;
	if ((rc = db_run("DELETE FROM sessions WHERE refresh_expires_at < ?",
	    DB_ARGS(now))) == ST_OK)
		*removed = db_changes();
	return (rc);
}
