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

#ifndef DKD_STORE_H
#define DKD_STORE_H

/*
 * The storage layer: the db_*.c files hold every SQL statement, return
 * plain structs and never reply.  Handlers include this, never db.h.
 *
 * One convention for every storage function that can fail:
 */
#define ST_OK		0	/* done, or found */
#define ST_NONE		1	/* no such row */
#define ST_EXISTS	2	/* a uniqueness rule said no */
#define ST_ERROR	(-1)	/* the database failed; already logged */

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define PROJECT_NAME_LEN	255
#define PROJECT_SLUG_LEN	160	/* a 128-byte base, "-" and 6 hex */

struct project {
	char		 id[UUID_LEN + 1];
	char		 name[PROJECT_NAME_LEN + 1];
	char		 slug[PROJECT_SLUG_LEN + 1];
	char		 created_at[DBTIME_LEN + 1];
	char		 updated_at[DBTIME_LEN + 1];
};

/* db_projects.c */
int	 db_project_get(const char *, struct project *);
int	 db_project_insert(const struct project *);
int	 db_project_list(const char *, int64_t, int64_t, struct project **,
	    size_t *, int64_t *);
int	 db_project_services(const char *, int64_t *);
int	 db_project_delete(const char *);
int	 db_project_find(const char *, struct project *);

/* db_settings.c */
int	 db_setting_get(const char *, char *, size_t);
int	 db_setting_set(const char *, const char *);

#endif /* DKD_STORE_H */
