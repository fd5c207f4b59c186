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

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>
#include <wctype.h>

#include "db.h"
#include "dkd.h"
#include "log.h"

/*
 * Projects.  Each gets a slug at creation that never changes: it names
 * the project's Docker network and its containers' hostnames.
 */

#define SLUG_BASE_MAX	40	/* characters before the random suffix */
#define SLUG_MAX	128	/* bytes, room for multibyte letters */
#define SLUG_TRIES	3

static void
tree_project(struct wbuf *w, sqlite3_stmt *st)
{
	tree_map(w);
	tree_kv_str(w, "id", db_text(st, 0));
	tree_kv_str(w, "name", db_text(st, 1));
	tree_kv_str(w, "slug", db_text(st, 2));
	tree_time(w, "created_at", db_ntext(st, 3));
	tree_time(w, "updated_at", db_ntext(st, 4));
	tree_end(w);
}

/*
 * Lower-case the name, keep letters and digits, turn every other run
 * into one '-', trim dashes, cut at 40 characters, "project" if nothing
 * is left; then "-" and 6 random hex digits.  The master runs with a
 * UTF-8 character type, so letters beyond ASCII survive.
 */
void
project_slug(const char *name, char *out, size_t outlen)
{
	mbstate_t	 ps;
	wchar_t		 wc;
	char		 mb[MB_LEN_MAX], base[SLUG_MAX];
	size_t		 n, len = 0, chars = 0, k;
	int		 dash = 0;
	uint32_t	 rnd;

	memset(&ps, 0, sizeof(ps));
	while (*name != '\0' && chars < SLUG_BASE_MAX) {
		n = mbrtowc(&wc, name, MB_LEN_MAX, &ps);
		if (n == (size_t)-1 || n == (size_t)-2) {
			/* Not UTF-8: treat the byte as a separator. */
			memset(&ps, 0, sizeof(ps));
			n = 1;
			wc = L' ';
		}
		name += n;
		if (iswalnum((wint_t)wc)) {
			if (dash && len > 0 && len + 1 < sizeof(base)) {
				base[len++] = '-';
				chars++;
			}
			dash = 0;
			if (chars >= SLUG_BASE_MAX)
				break;
			k = wcrtomb(mb, (wchar_t)towlower((wint_t)wc), NULL);
			if (k == (size_t)-1 || len + k >= sizeof(base))
				break;
			memcpy(base + len, mb, k);
			len += k;
			chars++;
		} else
			dash = 1;
	}
	while (len > 0 && base[len - 1] == '-')
		len--;
	base[len] = '\0';
	if (len == 0)
		strlcpy(base, "project", sizeof(base));
	rnd = arc4random() & 0xffffff;
	(void)snprintf(out, outlen, "%s-%06x", base, rnd);
}

static int
project_fetch(const char *id, struct wbuf *w)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare("SELECT id, name, slug, created_at, updated_at "
	    "FROM projects WHERE id = ?")) == NULL)
		return (-1);
	db_bind(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		tree_project(w, st);
	sqlite3_reset(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

/* POST /api/projects {name} */
void
op_project_create(struct request *req)
{
	struct op_args	*a = &req->args;
	struct verrors	 ve = { 0 };
	sqlite3_stmt	*st;
	struct wbuf	 w;
	char		 id[UUID_LEN + 1], slug[SLUG_MAX + 16];
	char		 now[DBTIME_LEN + 1];
	int		 i, rc = SQLITE_CONSTRAINT;

	if (!a->present[PROJECT_NAME] || blank(a->str[PROJECT_NAME]))
		verror_add(&ve, "name", "Name is required.");
	if (ve.n > 0) {
		reply_invalid(req, &ve);
		return;
	}
	uuid_new(id);
	dbtime(time(NULL), now);
	for (i = 0; i < SLUG_TRIES && rc == SQLITE_CONSTRAINT; i++) {
		project_slug(a->str[PROJECT_NAME], slug, sizeof(slug));
		if ((st = db_prepare("INSERT INTO projects (id, name, slug, "
		    "created_at, updated_at) VALUES (?, ?, ?, ?, ?)")) == NULL)
			break;
		db_bind(st, 1, id);
		db_bind(st, 2, a->str[PROJECT_NAME]);
		db_bind(st, 3, slug);
		db_bind(st, 4, now);
		db_bind(st, 5, now);
		rc = db_step_done(st);
	}
	tree_new(&w);
	if (rc != SQLITE_DONE || project_fetch(id, &w) != 1) {
		wbuf_free(&w);
		reply_internal(req);
		return;
	}
	log_info("project \"%s\" (%s) created by %s", a->str[PROJECT_NAME],
	    slug, req->user.email);
	reply_tree(req, 201, &w);
}

/* GET /api/projects?name&offset&limit, newest first. */
void
op_project_list(struct request *req)
{
	struct op_args	*a = &req->args;
	sqlite3_stmt	*st;
	struct wbuf	 w;
	const char	*name;
	int64_t		 offset, limit, total;

	list_params(req, LIST_OFFSET, LIST_LIMIT, &offset, &limit);
	name = a->present[LIST_NAME] ? a->str[LIST_NAME] : "";
	if ((st = db_prepare("SELECT count(*) FROM projects WHERE "
	    "?1 = '' OR instr(lower(name), lower(?1)) > 0")) == NULL) {
		reply_internal(req);
		return;
	}
	db_bind(st, 1, name);
	if ((total = db_scalar(st)) == -1) {
		reply_internal(req);
		return;
	}
	if ((st = db_prepare("SELECT id, name, slug, created_at, updated_at "
	    "FROM projects WHERE ?1 = '' OR instr(lower(name), lower(?1)) > 0 "
	    "ORDER BY created_at DESC, rowid DESC LIMIT ?2 OFFSET ?3")) ==
	    NULL) {
		reply_internal(req);
		return;
	}
	db_bind(st, 1, name);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, offset);
	tree_new(&w);
	tree_map(&w);
	tree_key(&w, "data");
	tree_array(&w);
	while (sqlite3_step(st) == SQLITE_ROW)
		tree_project(&w, st);
	sqlite3_reset(st);
	tree_list_end(&w, req, LIST_OFFSET, LIST_LIMIT, total);
	reply_tree(req, 200, &w);
}

void
op_project_get(struct request *req)
{
	struct wbuf	 w;
	int		 rc;

	tree_new(&w);
	if ((rc = project_fetch(req->args.str[BY_ID], &w)) == 1) {
		reply_tree(req, 200, &w);
		return;
	}
	wbuf_free(&w);
	if (rc == 0)
		reply_error(req, 404, "Project not found.");
	else
		reply_internal(req);
}

/* DELETE /api/projects/{id}: only once it has no services. */
void
op_project_delete(struct request *req)
{
	sqlite3_stmt	*st;
	const char	*id = req->args.str[BY_ID];
	int		 n = -1, rc;

	if ((st = db_prepare("SELECT (SELECT count(*) FROM projects WHERE "
	    "id = ?1), (SELECT count(*) FROM services WHERE project_id = ?1)"))
	    == NULL) {
		reply_internal(req);
		return;
	}
	db_bind(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = sqlite3_column_int(st, 1);
		if (sqlite3_column_int(st, 0) == 0)
			n = -1;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		reply_internal(req);
		return;
	}
	if (n == -1) {
		reply_error(req, 404, "Project not found.");
		return;
	}
	if (n > 0) {
		reply_error(req, 409, "Project has %d service(s); delete them "
		    "before deleting the project.", n);
		return;
	}
	if ((st = db_prepare("DELETE FROM projects WHERE id = ?")) == NULL) {
		reply_internal(req);
		return;
	}
	db_bind(st, 1, id);
	if (db_step_done(st) != SQLITE_DONE) {
		reply_internal(req);
		return;
	}
	log_info("project %s deleted by %s", id, req->user.email);
	reply_empty(req, 204);
}
