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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "dkd.h"
#include "log.h"
#include "store.h"

/*
 * The database: one connection, owned by the master alone.  The file is
 * root's and 0600, so no worker could open it even if it linked SQLite.
 */

#define STMT_CACHE_SIZE	256

/* Prepared statements, keyed by the address of their SQL text. */
struct stmt_slot {
	const char	*sql;
	sqlite3_stmt	*stmt;
};

static sqlite3		*db;
/* Changes with every row written: see db_generation(). */
static uint64_t		 generation;
static char		 db_path[CONF_VALUE_MAX];
static struct stmt_slot	 stmt_cache[STMT_CACHE_SIZE];

/*
 * synchronous=FULL: a client told "done" must find the write after a
 * power cut; in WAL mode NORMAL syncs only at checkpoints.  The busy
 * timeout is short because nothing but the master should hold a lock
 * (at most an admin's sqlite3 shell or a backup) and every millisecond
 * spent waiting stalls the whole event loop: 100 ms rides out a brief
 * foreign transaction, a longer one is an error the client sees.
 * locking_mode=EXCLUSIVE would save the shm locks but lock out those
 * read-only inspections too (and the tests that use them).
 */
static const char *pragmas =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA foreign_keys = ON;"
    "PRAGMA busy_timeout = 100;"
    "PRAGMA synchronous = FULL;"
    "PRAGMA temp_store = MEMORY;"
    "PRAGMA cache_size = -64000;"
    "PRAGMA mmap_size = 134217728;";

static int	db_migrate(char *, size_t);
static int	db_applied(const char *, int *);

/* Any row inserted, updated or deleted, committed or not. */
static void
db_row_changed(void *arg, int op, const char *dbname, const char *table,
    sqlite3_int64 rowid)
{
	if (++generation == 0)
		generation = 1;
}

/*
 * The database's generation: an answer read at generation G is still
 * the answer while the generation is G, so dkd-api may keep it (a rolled
 * back change moves the generation too, which costs a miss, no more).
 * Our own writes move it through the update hook; a commit by another
 * connection (an admin's sqlite3, a test) shows in data_version.
 */
uint64_t
db_generation(void)
{
	static int64_t	 last_version = -1;
	sqlite3_stmt	*st;
	int64_t		 v;

	if ((st = db_prepare("PRAGMA data_version")) == NULL ||
	    (v = db_scalar(st)) == -1 || v != last_version) {
		if (++generation == 0)
			generation = 1;
		if (st != NULL && v != -1)
			last_version = v;
	}
	return (generation);
}

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
	/* A random start: no copy from an earlier run can look current. */
	arc4random_buf(&generation, sizeof(generation));
	generation |= 1;
	sqlite3_update_hook(db, db_row_changed, NULL);
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
	size_t	 i;

	for (i = 0; i < STMT_CACHE_SIZE; i++) {
		if (stmt_cache[i].stmt != NULL)
			sqlite3_finalize(stmt_cache[i].stmt);
		stmt_cache[i].sql = NULL;
		stmt_cache[i].stmt = NULL;
	}
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

	if ((st = db_prepare("SELECT count(*) FROM _migrations")) == NULL)
		return (-1);
	return ((int)db_scalar(st));
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

/*
 * A ready statement for sql, which must be a string constant: the
 * cache is keyed by its address.  It comes back reset, bindings cleared.
 */
sqlite3_stmt *
db_prepare(const char *sql)
{
	struct stmt_slot	*slot;
	size_t			 h, i;

	h = ((uintptr_t)sql >> 4) % STMT_CACHE_SIZE;
	for (i = 0; i < STMT_CACHE_SIZE; i++) {
		slot = &stmt_cache[(h + i) % STMT_CACHE_SIZE];
		if (slot->sql == sql) {
			sqlite3_reset(slot->stmt);
			sqlite3_clear_bindings(slot->stmt);
			return (slot->stmt);
		}
		if (slot->sql == NULL)
			break;
	}
	if (i == STMT_CACHE_SIZE)
		fatalx("%s: statement cache full", __func__);
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &slot->stmt, NULL) != SQLITE_OK) {
		log_warnx("%s: %s: %s", __func__, sqlite3_errmsg(db), sql);
		slot->stmt = NULL;
		return (NULL);
	}
	slot->sql = sql;
	return (slot->stmt);
}

/* Run a statement that returns no rows; SQLITE_DONE or an error code. */
int
db_step_done(sqlite3_stmt *st)
{
	int	 rc;

	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_CONSTRAINT &&
	    (rc & 0xff) != SQLITE_CONSTRAINT)
		log_warnx("database: %s", sqlite3_errmsg(db));
	sqlite3_reset(st);
	return (rc == SQLITE_DONE ? SQLITE_DONE : (rc & 0xff));
}

int
db_exec(const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("database: %s: %s", sql, msg);
		sqlite3_free(msg);
		return (-1);
	}
	return (0);
}

int
db_begin(void)
{
	return (db_exec("BEGIN IMMEDIATE"));
}

int
db_commit(void)
{
	return (db_exec("COMMIT"));
}

void
db_rollback(void)
{
	if (!sqlite3_get_autocommit(db))
		(void)db_exec("ROLLBACK");
}

int
db_changes(void)
{
	return (sqlite3_changes(db));
}

/* Column i as text, "" when NULL. */
const char *
db_text(sqlite3_stmt *st, int i)
{
	const unsigned char	*s;

	if ((s = sqlite3_column_text(st, i)) == NULL)
		return ("");
	return ((const char *)s);
}

/* Column i as text, NULL when NULL. */
const char *
db_ntext(sqlite3_stmt *st, int i)
{
	return ((const char *)sqlite3_column_text(st, i));
}

/* Bind text that outlives the statement's next step. */
void
db_bind(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Bind v[0] to parameter 1, and so on. */
void
db_bind_all(sqlite3_stmt *st, const char *const *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		db_bind(st, (int)i + 1, v[i]);
}

/*
 * Step a bound statement that yields one integer (a count) and reset
 * it: the value, or -1 on a database error or no row.
 */
int64_t
db_scalar(sqlite3_stmt *st)
{
	int64_t	 v = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return (v);
}

/* A lookup's last sqlite3_step as ST_OK, ST_NONE or ST_ERROR. */
int
db_found(int rc)
{
	if (rc == SQLITE_ROW)
		return (ST_OK);
	return (rc == SQLITE_DONE ? ST_NONE : ST_ERROR);
}

/* db_step_done's answer as ST_OK, ST_EXISTS (a constraint) or ST_ERROR. */
int
db_written(int rc)
{
	if (rc == SQLITE_DONE)
		return (ST_OK);
	return (rc == SQLITE_CONSTRAINT ? ST_EXISTS : ST_ERROR);
}

/* As db_written, for a write that must touch a row: ST_NONE if none. */
int
db_changed(int rc)
{
	if (rc != SQLITE_DONE)
		return (db_written(rc));
	return (db_changes() > 0 ? ST_OK : ST_NONE);
}

/* The row a bound statement selects, into item: ST_OK, ST_NONE or ST_ERROR. */
static int
db_one(sqlite3_stmt *st, const struct db_kind *k, void *item)
{
	int	 rc, rv;

	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		rv = k->row(st, item);
	else
		rv = db_found(rc);
	sqlite3_reset(st);
	return (rv);
}

/* sql with its text parameters bound; NULL if it does not prepare. */
static sqlite3_stmt *
db_prepare_args(const char *sql, const char *const *v, size_t n)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(sql)) != NULL)
		db_bind_all(st, v, n);
	return (st);
}

/* An array of n items of kind k, and what each holds. */
void
db_rows_free(const struct db_kind *k, void *rows, size_t n)
{
	size_t	 i;

	for (i = 0; k->clear != NULL && i < n; i++)
		k->clear((uint8_t *)rows + i * k->size);
	free(rows);
}

/*
 * Every row a bound statement selects, into a new array at out (a
 * pointer to the caller's array pointer) and its length into *n.
 */
static int
db_rows(sqlite3_stmt *st, const struct db_kind *k, void *out, size_t *n)
{
	uint8_t	*rows = NULL, *r;
	size_t	 cap = 0;
	int	 rc;

	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((r = reallocarray(rows, cap, k->size)) == NULL) {
				log_warn("%s", __func__);
				rc = SQLITE_NOMEM;
				break;
			}
			rows = r;
		}
		if (k->row(st, rows + *n * k->size) != ST_OK) {
			rc = SQLITE_NOMEM;
			break;
		}
		(*n)++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db_rows_free(k, rows, *n);
		rows = NULL;
		*n = 0;
	}
	memcpy(out, &rows, sizeof(rows));
	return (rc == SQLITE_DONE ? ST_OK : ST_ERROR);
}

/* The one row sql selects, into item. */
int
db_get(const char *sql, const char *const *v, size_t n,
    const struct db_kind *k, void *item)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare_args(sql, v, n)) == NULL)
		return (ST_ERROR);
	return (db_one(st, k, item));
}

/* Every row sql selects, as db_rows. */
int
db_list(const char *sql, const char *const *v, size_t n,
    const struct db_kind *k, void *out, size_t *nout)
{
	sqlite3_stmt	*st;
	void		*none = NULL;

	if ((st = db_prepare_args(sql, v, n)) == NULL) {
		memcpy(out, &none, sizeof(none));
		*nout = 0;
		return (ST_ERROR);
	}
	return (db_rows(st, k, out, nout));
}

/*
 * A page of a list: count_sql counts every row, sql selects the page
 * and has LIMIT and OFFSET as two more parameters after v's.  As
 * db_list, and how many rows there are in all.
 */
int
db_page(const char *count_sql, const char *sql, const char *const *v,
    size_t n, int64_t offset, int64_t limit, const struct db_kind *k,
    void *out, size_t *nout, int64_t *total)
{
	sqlite3_stmt	*st;
	void		*none = NULL;

	memcpy(out, &none, sizeof(none));
	*nout = 0;
	if (db_count(count_sql, v, n, total) != ST_OK ||
	    (st = db_prepare_args(sql, v, n)) == NULL)
		return (ST_ERROR);
	sqlite3_bind_int64(st, (int)n + 1, limit);
	sqlite3_bind_int64(st, (int)n + 2, offset);
	return (db_rows(st, k, out, nout));
}

/* The one integer sql yields (a count). */
int
db_count(const char *sql, const char *const *v, size_t n, int64_t *count)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare_args(sql, v, n)) == NULL)
		return (ST_ERROR);
	return ((*count = db_scalar(st)) == -1 ? ST_ERROR : ST_OK);
}

/*
 * A write that must touch a row (an INSERT, or an UPDATE or DELETE of
 * a row that must be there), as db_changed.
 */
int
db_write(const char *sql, const char *const *v, size_t n)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare_args(sql, v, n)) == NULL)
		return (ST_ERROR);
	return (db_changed(db_step_done(st)));
}

/* A write that may touch no row at all: ST_OK or ST_ERROR. */
int
db_run(const char *sql, const char *const *v, size_t n)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare_args(sql, v, n)) == NULL)
		return (ST_ERROR);
	return (db_step_done(st) == SQLITE_DONE ? ST_OK : ST_ERROR);
}
