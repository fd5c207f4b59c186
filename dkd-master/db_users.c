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
#include "log.h"
#include "store.h"

/* User accounts in the database. */

#define USER_COLS	"id, email, name, role, created_at, updated_at"

/* Copy column c of st into buf; -1 if it does not fit. */
int
db_column_copy(sqlite3_stmt *st, int c, char *buf, size_t len)
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
db_user_row(sqlite3_stmt *st, int c, struct user *u)
{
	memset(u, 0, sizeof(*u));
	if (db_column_copy(st, c, u->id, sizeof(u->id)) == -1 ||
	    db_column_copy(st, c + 1, u->email, sizeof(u->email)) == -1 ||
	    db_column_copy(st, c + 2, u->name, sizeof(u->name)) == -1 ||
	    db_column_copy(st, c + 3, u->role, sizeof(u->role)) == -1 ||
	    db_column_copy(st, c + 4, u->created_at,
	    sizeof(u->created_at)) == -1 ||
	    db_column_copy(st, c + 5, u->updated_at,
	    sizeof(u->updated_at)) == -1)
		return (-1);
	return (0);
}

static int
user_row(sqlite3_stmt *st, void *u)
{
	return (db_user_row(st, 0, u) == 0 ? ST_OK : ST_ERROR);
}

/* Users from the first six columns on, as db_user_row reads them. */
const struct db_kind db_user_kind = {
	sizeof(struct user), user_row, NULL
};

int
db_user_get(const char *id, struct user *u)
{
	return (db_get("SELECT " USER_COLS " FROM users WHERE id = ?",
	    DB_ARGS(id), &db_user_kind, u));
}

/* As db_user_get; hash (may be NULL) gets the password hash. */
int
db_user_by_email(const char *email, struct user *u, char *hash,
    size_t hlen)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare("SELECT " USER_COLS ", password_hash FROM users "
	    "WHERE email = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, email);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    (db_user_row(st, 0, u) == -1 ||
	    (hash != NULL && db_column_copy(st, 6, hash, hlen) == -1)))
		rc = SQLITE_CORRUPT;
	sqlite3_reset(st);
	return (db_found(rc));
}

int
db_user_count(int64_t *n)
{
	return (db_count("SELECT count(*) FROM users", NULL, 0, n));
}

/* How many admins there are besides id. */
int
db_user_admins_besides(const char *id, int64_t *n)
{
	return (db_count("SELECT count(*) FROM users WHERE role = 'admin' AND "
	    "id != ?", DB_ARGS(id), n));
}

/* ST_EXISTS when the email is taken. */
int
db_user_insert(const struct user *u, const char *hash)
{
	return (db_write("INSERT INTO users (id, email, name, password_hash, "
	    "role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	    DB_ARGS(u->id, u->email, u->name, hash, u->role, u->created_at,
	    u->updated_at)));
}

/*
 * Write the fields of c that are not NULL.  ST_EXISTS when the new
 * email is taken, ST_NONE when there is no such user.
 */
int
db_user_update(const char *id, const struct user_change *c)
{
	char	 now[DBTIME_LEN + 1];

	dbtime(time(NULL), now);
	return (db_write("UPDATE users SET email = coalesce(?, email), "
	    "name = coalesce(?, name), password_hash = coalesce(?, "
	    "password_hash), role = coalesce(?, role), updated_at = ? "
	    "WHERE id = ?", DB_ARGS(c->email, c->name, c->password_hash,
	    c->role, now, id)));
}

/*
 * A page of the users whose email contains email (any case) and whose
 * role is role ("" for any), newest first, and how many there are.
 */
int
db_user_list(const char *email, const char *role, int64_t offset,
    int64_t limit, struct user **out, size_t *n, int64_t *total)
{
	return (db_page("SELECT count(*) FROM users WHERE "
	    "instr(lower(email), lower(?1)) > 0 AND (?2 = '' OR role = ?2)",
	    "SELECT " USER_COLS " FROM users WHERE "
	    "instr(lower(email), lower(?1)) > 0 AND (?2 = '' OR role = ?2) "
	    "ORDER BY created_at DESC, rowid DESC LIMIT ?3 OFFSET ?4",
	    DB_ARGS(email, role), offset, limit, &db_user_kind, out, n, total));
}

int
db_user_delete(const char *id)
{
	return (db_write("DELETE FROM users WHERE id = ?", DB_ARGS(id)));
}
