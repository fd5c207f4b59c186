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
	sqlite3_stmt	*st;

	if ((st = db_prepare("INSERT INTO sessions (id, user_id, "
	    "access_token_hash, refresh_token_hash, expires_at, "
	    "refresh_expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"))
	    == NULL)
		return (ST_ERROR);
	db_bind(st, 1, s->id);
	db_bind(st, 2, s->user_id);
	db_bind(st, 3, s->access_hash);
	db_bind(st, 4, s->refresh_hash);
	db_bind(st, 5, s->expires_at);
	db_bind(st, 6, s->refresh_expires_at);
	db_bind(st, 7, s->created_at);
	return (db_written(db_step_done(st)));
}

/* The user of the session whose access token is still good at now. */
int
db_session_user(const char *access_hash, const char *now, struct user *u)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("SELECT u.id, u.email, u.name, u.role, "
	    "u.created_at, u.updated_at FROM sessions s JOIN users u ON "
	    "u.id = s.user_id WHERE s.access_token_hash = ? AND "
	    "s.expires_at > ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, access_hash);
	db_bind(st, 2, now);
	return (db_one(st, &db_user_kind, u));
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
	sqlite3_stmt	*st;

	if ((st = db_prepare("UPDATE sessions SET access_token_hash = ?, "
	    "refresh_token_hash = ?, previous_refresh_hash = "
	    "refresh_token_hash, expires_at = ?, refresh_expires_at = ? "
	    "WHERE id = ? AND refresh_token_hash = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, s->access_hash);
	db_bind(st, 2, s->refresh_hash);
	db_bind(st, 3, s->expires_at);
	db_bind(st, 4, s->refresh_expires_at);
	db_bind(st, 5, s->id);
	db_bind(st, 6, old_refresh);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	return (db_changes() == 1 ? ST_OK : ST_NONE);
}

int
db_session_delete(const char *id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("DELETE FROM sessions WHERE id = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, id);
	return (db_step_done(st) == SQLITE_DONE ? ST_OK : ST_ERROR);
}

/*
 * End the sessions of user_id, all of them or all but the one whose
 * access token hash is keep (an API key's hash matches none, so then
 * every session ends); how many ended into *ended (may be NULL).
 */
int
db_sessions_delete_user(const char *user_id, const char *keep, int *ended)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("DELETE FROM sessions WHERE user_id = ?1 AND "
	    "(?2 IS NULL OR access_token_hash != ?2)")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, user_id);
	db_bind(st, 2, keep);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	if (ended != NULL)
		*ended = db_changes();
	return (ST_OK);
}

/* Sessions whose refresh token has expired by now go. */
int
db_sessions_expire(const char *now, int *removed)
{
	sqlite3_stmt	*st;

	*removed = 0;
	if ((st = db_prepare("DELETE FROM sessions WHERE "
	    "refresh_expires_at < ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, now);
	if (db_step_done(st) != SQLITE_DONE)
		return (ST_ERROR);
	*removed = db_changes();
	return (ST_OK);
}
