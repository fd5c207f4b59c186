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
#include <time.h>

#include "db.h"
#include "store.h"

/* system_settings: a few named values, written as text. */

int
db_setting_get(const char *key, char *buf, size_t len)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare("SELECT value FROM system_settings WHERE "
	    "key = ?")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, key);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strlcpy(buf, db_text(st, 0), len);
	sqlite3_reset(st);
	return (db_found(rc));
}

int
db_setting_set(const char *key, const char *value)
{
	char	 now[DBTIME_LEN + 1];

	dbtime(time(NULL), now);
	return (db_write("INSERT INTO system_settings (key, value, "
	    "updated_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET "
	    "value = ?2, updated_at = ?3", DB_ARGS(key, value, now)));
}
