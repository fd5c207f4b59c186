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
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "dkd.h"
#include "log.h"

/*
 * The database: one connection, owned by the master alone.  The file is
 * root's and 0600, so no worker could open it even if it linked SQLite.
 */

static sqlite3		*db;
static char		 db_path[CONF_VALUE_MAX];

static const char *pragmas =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA foreign_keys = ON;"
    "PRAGMA busy_timeout = 5000;"
    "PRAGMA synchronous = NORMAL;"
    "PRAGMA temp_store = MEMORY;"
    "PRAGMA cache_size = -64000;"
    "PRAGMA mmap_size = 134217728;";

static int	db_migrate(char *, size_t);
static int	db_applied(const char *, int *);

sqlite3 *
db_handle(void)
{
	return (db);
}

int
db_open(const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	char		*msg = NULL;
	int		 fresh;

	strlcpy(db_path, path, sizeof(db_path));
	fresh = stat(path, &st) == -1 && errno == ENOENT;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		(void)snprintf(err, errlen, "database %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		return (-1);
	}
	if (sqlite3_exec(db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
		(void)snprintf(err, errlen, "database %s: %s", path, msg);
		sqlite3_free(msg);
		return (-1);
	}
	/* Whatever made the file, it is root's alone from now on. */
	if (chown(path, 0, 0) == -1 || chmod(path, 0600) == -1) {
		(void)snprintf(err, errlen, "database %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	if (!fresh && (st.st_mode & 077))
		log_warnx("database %s was readable by others; now 0600", path);
	if (db_migrate(err, errlen) == -1)
		return (-1);
	log_debug("database %s open, schema version %d", path,
	    db_schema_version());
	return (0);
}

void
db_close(void)
{
	if (db != NULL) {
		sqlite3_close_v2(db);
		db = NULL;
	}
}

static int
db_applied(const char *name, int *applied)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM _migrations WHERE name = ?",
	    -1, &st, NULL) != SQLITE_OK)
		return (-1);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (-1);
	*applied = rc == SQLITE_ROW;
	return (0);
}

/* Apply what is missing, each migration in one transaction. */
static int
db_migrate(char *err, size_t errlen)
{
	sqlite3_stmt	*st;
	char		*msg = NULL;
	size_t		 i;
	int		 applied;

	if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS _migrations ("
	    "name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT "
	    "(datetime('now')))", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	for (i = 0; i < db_nmigrations; i++) {
		if (db_applied(db_migrations[i].name, &applied) == -1)
			goto fail;
		if (applied)
			continue;
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL,
		    &msg) != SQLITE_OK)
			goto fail;
		if (sqlite3_exec(db, db_migrations[i].sql, NULL, NULL,
		    &msg) != SQLITE_OK) {
			(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			(void)snprintf(err, errlen, "database %s: migration "
			    "%s: %s", db_path, db_migrations[i].name, msg);
			sqlite3_free(msg);
			return (-1);
		}
		if (sqlite3_prepare_v2(db, "INSERT INTO _migrations (name) "
		    "VALUES (?)", -1, &st, NULL) != SQLITE_OK)
			goto rollback;
		sqlite3_bind_text(st, 1, db_migrations[i].name, -1,
		    SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			goto rollback;
		}
		sqlite3_finalize(st);
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
		log_info("database: applied migration %s",
		    db_migrations[i].name);
	}
	return (0);
rollback:
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
fail:
	(void)snprintf(err, errlen, "database %s: %s", db_path,
	    msg != NULL ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return (-1);
}

/* The number of migrations applied; -1 if that cannot be read. */
int
db_schema_version(void)
{
	sqlite3_stmt	*st;
	int		 n = -1;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM _migrations", -1,
	    &st, NULL) != SQLITE_OK)
		return (-1);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return (n);
}

int64_t
db_size(void)
{
	struct stat	 st;

	if (stat(db_path, &st) == -1)
		return (0);
	return ((int64_t)st.st_size);
}

/* A query that touches the file: is the database usable right now? */
int
db_ping(void)
{
	return (db_schema_version() >= 0 ? 0 : -1);
}
