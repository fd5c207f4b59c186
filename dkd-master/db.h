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

#ifndef DKD_DB_H
#define DKD_DB_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "compat.h"

struct db_migration {
	const char	*name;
	const char	*sql;
};

extern const struct db_migration db_migrations[];
extern const size_t db_nmigrations;

sqlite3	*db_handle(void);
sqlite3_stmt *db_prepare(const char *);
int	 db_step_done(sqlite3_stmt *);
int64_t	 db_scalar(sqlite3_stmt *);
int	 db_exec(const char *);
int	 db_begin(void);
int	 db_commit(void);
void	 db_rollback(void);
int	 db_changes(void);
const char *db_text(sqlite3_stmt *, int);
const char *db_ntext(sqlite3_stmt *, int);
void	 db_bind(sqlite3_stmt *, int, const char *);
void	 db_bind_all(sqlite3_stmt *, const char *const *, size_t);
int	 db_found(int);
int	 db_written(int);
int	 db_changed(int);

/*
 * How storage files read rows into their structs: row fills one item
 * from the current row (ST_OK or ST_ERROR); clear frees what an item
 * holds, not the item (NULL: nothing to free).
 */
struct db_kind {
	size_t		 size;
	int		(*row)(sqlite3_stmt *, void *);
	void		(*clear)(void *);
};

/*
 * Statements whose parameters are all text: sql is a string constant
 * (see db_prepare), DB_ARGS(a, b, ...) gives ?1, ?2, ...; NULL binds
 * NULL.
 */
#define DB_ARGS(...)	(const char *const []){ __VA_ARGS__ },		\
			nitems(((const char *const []){ __VA_ARGS__ }))

void	 db_rows_free(const struct db_kind *, void *, size_t);
int	 db_get(const char *, const char *const *, size_t,
	    const struct db_kind *, void *);
int	 db_list(const char *, const char *const *, size_t,
	    const struct db_kind *, void *, size_t *);
int	 db_page(const char *, const char *, const char *const *, size_t,
	    int64_t, int64_t, const struct db_kind *, void *, size_t *,
	    int64_t *);
int	 db_count(const char *, const char *const *, size_t, int64_t *);
int	 db_write(const char *, const char *const *, size_t);
int	 db_run(const char *, const char *const *, size_t);

/* db_users.c, for the storage files that join users */
struct user;
int	 db_column_copy(sqlite3_stmt *, int, char *, size_t);
int	 db_user_row(sqlite3_stmt *, int, struct user *);
extern const struct db_kind db_user_kind;

#endif /* DKD_DB_H */
