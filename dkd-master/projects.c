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

#include "dkd.h"
#include "log.h"
#include "store.h"

/*
 * Projects.  Each gets a slug at creation that never changes: it names
 * the project's Docker network and its containers' hostnames.
 */

#define SLUG_BASE_MAX	40	/* characters before the random suffix */
#define SLUG_MAX	128	/* bytes of the base, room for multibyte letters */
#define SLUG_TRIES	3

static void
tree_project(struct wbuf *w, const void *arg)
{
	const struct project	*p = arg;

	tree_map(w);
	tree_kv_str(w, "id", p->id);
	tree_kv_str(w, "name", p->name);
	tree_kv_str(w, "slug", p->slug);
	tree_time(w, "created_at", p->created_at);
	tree_time(w, "updated_at", p->updated_at);
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

/* POST /api/projects {name} */
void
op_project_create(struct request *req)
{
	struct op_args	*a = &req->args;
	struct verrors	 ve = { 0 };
	struct project	 p;
	int		 i, rc = ST_EXISTS;

	verror_check(&ve, "name", name_invalid(a->present[PROJECT_NAME] ?
	    a->str[PROJECT_NAME] : NULL));
	if (ve.n > 0) {
		reply_invalid(req, &ve);
		return;
	}
	memset(&p, 0, sizeof(p));
	uuid_new(p.id);
	strlcpy(p.name, a->str[PROJECT_NAME], sizeof(p.name));
	dbtime(time(NULL), p.created_at);
	strlcpy(p.updated_at, p.created_at, sizeof(p.updated_at));
	/* A slug that is taken already: draw another suffix. */
	for (i = 0; i < SLUG_TRIES && rc == ST_EXISTS; i++) {
		project_slug(p.name, p.slug, sizeof(p.slug));
		rc = db_project_insert(&p);
	}
	if (rc != ST_OK) {
		reply_internal(req);
		return;
	}
	log_info("project \"%s\" (%s) created by %s", p.name, p.slug,
	    req->user.email);
	/* The reconciler makes its network. */
	rec_trigger(NULL);
	reply_item(req, 201, tree_project, &p);
}

/* GET /api/projects?name&offset&limit, newest first. */
void
op_project_list(struct request *req)
{
	struct op_args	*a = &req->args;
	struct project	*rows;
	struct page	 pg;
	size_t		 n;
	int64_t		 total;

	page_from_args(req, LIST_OFFSET, LIST_LIMIT, &pg);
	if (db_project_list(a->present[LIST_NAME] ? a->str[LIST_NAME] : "",
	    pg.offset, pg.limit, &rows, &n, &total) != ST_OK) {
		reply_internal(req);
		return;
	}
	reply_page(req, &pg, total, rows, n, sizeof(*rows), tree_project);
	free(rows);
}

void
op_project_get(struct request *req)
{
	struct project	 p;
	int		 rc;

	if ((rc = db_project_get(req->args.str[BY_ID], &p)) != ST_OK) {
		reply_store(req, rc, "Project not found.");
		return;
	}
	reply_item(req, 200, tree_project, &p);
}

/* DELETE /api/projects/{id}: only once it has no services. */
void
op_project_delete(struct request *req)
{
	const char	*id = req->args.str[BY_ID];
	int64_t		 n;
	int		 rc;

	/* The count and the delete in one go: nothing comes in between. */
	if (store_begin() != ST_OK) {
		reply_internal(req);
		return;
	}
	if ((rc = db_project_services(id, &n)) != ST_OK) {
		store_rollback();
		reply_store(req, rc, "Project not found.");
		return;
	}
	if (n > 0) {
		store_rollback();
		reply_error(req, 409, "Project has %lld service(s); delete "
		    "them before deleting the project.", (long long)n);
		return;
	}
	if ((rc = db_project_delete(id)) != ST_OK ||
	    (rc = store_commit()) != ST_OK) {
		store_rollback();
		reply_store(req, rc, "Project not found.");
		return;
	}
	log_info("project %s deleted by %s", id, req->user.email);
	/* Its network goes as an orphan. */
	rec_trigger(NULL);
	reply_empty(req, 204);
}

/*
 * The project of the path into p; dkctl may name it by slug or name
 * too.  -1 once answered (404 when it is not there).
 */
int
project_or_reply(struct request *req, const char *ref, struct project *p)
{
	int	 rc;

	if (req->caller == CALLER_CTL)
		rc = db_project_find(ref, p);
	else
		rc = db_project_get(ref, p);
	if (rc == ST_EXISTS) {
		reply_error(req, 409, "More than one project is named \"%s\"; "
		    "use its id or slug.", ref);
		return (-1);
	}
	if (rc != ST_OK) {
		reply_store(req, rc, "Project not found.");
		return (-1);
	}
	return (0);
}

/* PATCH /api/projects/{id} {name?}: the rename is staged. */
void
op_project_update(struct request *req)
{
	struct op_args	*a = &req->args;
	struct project	 proj;
	struct verrors	 ve = { 0 };
	struct wbuf	 w;

	if (project_or_reply(req, a->str[PROJECT_UPDATE_ID], &proj) == -1)
		return;
	if (a->present[PROJECT_UPDATE_NAME])
		verror_check(&ve, "name",
		    name_invalid(a->str[PROJECT_UPDATE_NAME]));
	if (ve.n > 0) {
		reply_invalid(req, &ve);
		return;
	}
	tree_new(&w);
	tree_map(&w);
	if (a->present[PROJECT_UPDATE_NAME])
		tree_kv_str(&w, "name", a->str[PROJECT_UPDATE_NAME]);
	tree_end(&w);
	stage_reply(req, proj.id, "project.update", "project", proj.id, &w,
	    200);
}
