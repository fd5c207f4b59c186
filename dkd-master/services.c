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

#include "dkd.h"
#include "log.h"
#include "store.h"

/*
 * Services over HTTP (spec 7.2).  Create makes the row at once; rename,
 * icon changes and deletion are staged and happen on Deploy.  A service
 * is always looked up under the project of the path (Decision 7).
 */

/*
 * Service ref of project p, into s.  dkctl may name it too.  -1 once
 * answered (404 when it is not there).
 */
int
service_or_reply(struct request *req, const struct project *p,
    const char *ref, struct service *s)
{
	struct service_ref	*refs;
	size_t			 n, i;
	int			 rc;

	rc = db_service_get(p->id, ref, s);
	if (rc == ST_NONE && req->caller == CALLER_CTL &&
	    db_service_refs(p->id, &refs, &n) == ST_OK) {
		for (i = 0; i < n; i++)
			if (strcmp(refs[i].name, ref) == 0)
				break;
		if (i < n)
			rc = db_service_get(p->id, refs[i].id, s);
		free(refs);
	}
	if (rc != ST_OK) {
		reply_store(req, rc, "Service not found.");
		return (-1);
	}
	return (0);
}

void
publish_service(const struct service *s)
{
	events_publish_item(s->project_id, "service:upserted", "service",
	    tree_service, s);
}

/* POST /api/projects/{pid}/services {name}: a service row, at once. */
void
op_service_create(struct request *req)
{
	struct op_args	*a = &req->args;
	struct project	 proj;
	struct service	 s;
	struct verrors	 ve = { 0 };
	struct pending	*log;
	const char	*name, *msg;
	size_t		 nlog;
	int		 rc;

	if (project_or_reply(req, a->str[SERVICE_CREATE_PID], &proj) == -1)
		return;
	name = a->present[SERVICE_CREATE_NAME] ? a->str[SERVICE_CREATE_NAME] :
	    "";
	if ((msg = service_name_invalid(name)) != NULL) {
		verror_add(&ve, "name", msg);
		reply_invalid(req, &ve);
		return;
	}
	memset(&s, 0, sizeof(s));
	uuid_new(s.id);
	strlcpy(s.project_id, proj.id, sizeof(s.project_id));
	strlcpy(s.name, name, sizeof(s.name));
	strlcpy(s.status, "created", sizeof(s.status));
	dbtime(time(NULL), s.created_at);
	strlcpy(s.updated_at, s.created_at, sizeof(s.updated_at));
	/* Staged names count: Deploy would fail on them later. */
	if (store_begin() != ST_OK)
		goto fault;
	if (db_pending_list(proj.id, &log, &nlog) != ST_OK)
		goto fault;
	rc = pending_name_taken(proj.id, "", name, log, nlog);
	pendings_free(log, nlog);
	if (rc == 0 && (rc = db_service_insert(&s)) == ST_EXISTS)
		rc = 1;
	if (rc == ST_ERROR || (rc == ST_OK && store_commit() != ST_OK))
		goto fault;
	if (rc == 1) {
		store_rollback();
		reply_error(req, 409, "A service with this name already exists "
		    "in the project.");
		return;
	}
	log_info("service \"%s\" (%s) created in project %s by %s", s.name,
	    s.id, proj.id, req->user.email[0] != '\0' ? req->user.email :
	    req->user.name);
	publish_service(&s);
	reply_item(req, 201, tree_service, &s);
	return;
fault:
	store_rollback();
	reply_internal(req);
}

/* GET /api/projects/{pid}/services?name&status&offset&limit */
void
op_service_list(struct request *req)
{
	struct op_args	*a = &req->args;
	struct project	 proj;
	struct service	*rows;
	struct page	 pg;
	size_t		 n;
	int64_t		 total;

	if (project_or_reply(req, a->str[SERVICE_LIST_PID], &proj) == -1)
		return;
	page_from_args(req, SERVICE_LIST_OFFSET, SERVICE_LIST_LIMIT, &pg);
	if (db_service_list(proj.id, a->present[SERVICE_LIST_NAME] ?
	    a->str[SERVICE_LIST_NAME] : "", a->present[SERVICE_LIST_STATUS] ?
	    a->str[SERVICE_LIST_STATUS] : "", pg.offset, pg.limit, &rows, &n,
	    &total) != ST_OK) {
		reply_internal(req);
		return;
	}
	reply_page(req, &pg, total, rows, n, sizeof(*rows), tree_service);
	free(rows);
}

void
op_service_get(struct request *req)
{
	struct project	 proj;
	struct service	 s;

	if (project_or_reply(req, req->args.str[SERVICE_PID], &proj) == -1 ||
	    service_or_reply(req, &proj, req->args.str[SERVICE_SID], &s) == -1)
		return;
	reply_item(req, 200, tree_service, &s);
}

/* PATCH /api/projects/{pid}/services/{sid} {name?, icon_url?}: staged. */
void
op_service_update(struct request *req)
{
	struct op_args	*a = &req->args;
	struct project	 proj;
	struct service	 s;
	struct verrors	 ve = { 0 };
	struct wbuf	 w;
	const char	*msg;

	if (project_or_reply(req, a->str[SERVICE_UPDATE_PID], &proj) == -1 ||
	    service_or_reply(req, &proj, a->str[SERVICE_UPDATE_SID], &s) ==
	    -1)
		return;
	if (a->present[SERVICE_UPDATE_NAME] &&
	    (msg = service_name_invalid(a->str[SERVICE_UPDATE_NAME])) != NULL)
		verror_add(&ve, "name", msg);
	if (a->present[SERVICE_UPDATE_ICON_URL] &&
	    (msg = icon_url_invalid(a->str[SERVICE_UPDATE_ICON_URL])) != NULL)
		verror_add(&ve, "icon_url", msg);
	if (ve.n > 0) {
		reply_invalid(req, &ve);
		return;
	}
	tree_new(&w);
	tree_map(&w);
	if (a->present[SERVICE_UPDATE_NAME])
		tree_kv_str(&w, "name", a->str[SERVICE_UPDATE_NAME]);
	/* An empty icon_url is there on purpose: it clears the icon. */
	if (a->present[SERVICE_UPDATE_ICON_URL])
		tree_kv_str(&w, "icon_url", a->str[SERVICE_UPDATE_ICON_URL]);
	tree_end(&w);
	stage_reply(req, proj.id, "service.update", "service", s.id, &w, 200);
}

/*
 * DELETE /api/projects/{pid}/services/{sid}: staged; the service runs
 * until Deploy.  Staging it twice gives the entry already there.
 */
void
op_service_delete(struct request *req)
{
	struct project	 proj;
	struct service	 s;
	struct pending	 p;
	struct wbuf	 w;
	int		 rc;

	if (project_or_reply(req, req->args.str[SERVICE_PID], &proj) == -1 ||
	    service_or_reply(req, &proj, req->args.str[SERVICE_SID], &s) == -1)
		return;
	if ((rc = pending_find_delete(proj.id, s.id, &p)) == ST_OK) {
		tree_new(&w);
		tree_pending(&w, &p);
		pending_free(&p);
		reply_tree(req, 200, &w);
		return;
	}
	if (rc == ST_ERROR) {
		reply_internal(req);
		return;
	}
	tree_new(&w);
	tree_map(&w);
	tree_end(&w);
	stage_reply(req, proj.id, "service.delete", "service", s.id, &w, 200);
}
