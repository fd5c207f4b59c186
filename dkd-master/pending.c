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

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkd.h"
#include "log.h"
#include "store.h"

/*
 * The pending-change log (spec 8): deploy-impacting edits are staged in
 * an ordered per-project log and applied together by Deploy (apply.c).
 * Staging checks what can be checked now: the project exists, service
 * names stay unique (case-insensitively) once the log is replayed over
 * the applied names, and env var references do not turn into a cycle.
 */

void
fault_set(struct fault *f, int status, const char *fmt, ...)
{
	va_list	 ap;

	f->status = status;
	va_start(ap, fmt);
	(void)vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

/* Takes the request. */
void
reply_fault(struct request *req, const struct fault *f)
{
	if (f->status >= 500 || f->status == 0)
		reply_internal(req);
	else
		reply_error(req, f->status, "%s", f->msg);
}

/* The payload of an entry, decoded; an empty map if it does not. */
void
pending_payload(const struct pending *p, struct tval *v)
{
	blob_tval(&p->payload, v);
}

struct owner_name {
	char		 owner[NODE_ID_LEN + 1];
	char		 name[SERVICE_NAME_LEN + 1];
	int		 gone;
};

static struct owner_name *
owner_find(struct owner_name *set, size_t n, const char *owner)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!set[i].gone && strcmp(set[i].owner, owner) == 0)
			return (&set[i]);
	return (NULL);
}

/*
 * Who would own name once the log is applied: the applied services'
 * names, then the log replayed (creates claim a name under their temp
 * id, renames move their owner's name, deletes free it).  0 when name
 * is free for self (a service id or temp id, or ""), 1 when another
 * owner has it, ST_ERROR.
 */
int
pending_name_taken(const char *project_id, const char *self,
    const char *name, const struct pending *log, size_t nlog)
{
	struct service_ref	*refs;
	struct owner_name	*set, *o;
	struct tval		 v;
	const char		*n;
	size_t			 nrefs, nset = 0, i;
	int			 taken = 0;

	if (db_service_refs(project_id, &refs, &nrefs) != ST_OK)
		return (ST_ERROR);
	if ((set = calloc(nrefs + nlog + 1, sizeof(*set))) == NULL) {
		log_warn("%s", __func__);
		free(refs);
		return (ST_ERROR);
	}
	for (i = 0; i < nrefs; i++, nset++) {
		strlcpy(set[nset].owner, refs[i].id, sizeof(set[nset].owner));
		strlcpy(set[nset].name, refs[i].name, sizeof(set[nset].name));
	}
	free(refs);
	for (i = 0; i < nlog; i++) {
		pending_payload(&log[i], &v);
		if (strcmp(log[i].op, "service.create") == 0 &&
		    (n = tval_str(&v, "name")) != NULL) {
			o = &set[nset++];
			strlcpy(o->owner, log[i].target_temp_id,
			    sizeof(o->owner));
			strlcpy(o->name, n, sizeof(o->name));
		} else if (strcmp(log[i].op, "service.update") == 0 &&
		    (n = tval_str(&v, "name")) != NULL &&
		    (o = owner_find(set, nset, log[i].target_id)) != NULL)
			strlcpy(o->name, n, sizeof(o->name));
		else if (strcmp(log[i].op, "service.delete") == 0 &&
		    (o = owner_find(set, nset, log[i].target_id)) != NULL)
			o->gone = 1;
		tval_free(&v);
	}
	for (i = 0; i < nset && !taken; i++)
		if (!set[i].gone && strcmp(set[i].owner, self) != 0 &&
		    strcasecmp(set[i].name, name) == 0)
			taken = 1;
	free(set);
	return (taken);
}

/*
 * Would appending p make env var references go round in a cycle that
 * the applied state and the log do not have already?  0 no, 1 yes with
 * f set (422), ST_ERROR.
 */
static int
stage_cycle(const struct project *proj, const struct pending *log,
    size_t nlog, const struct pending *p, struct fault *f)
{
	struct env_model	*m;
	struct tval		 v;
	char			 msg[sizeof(f->msg)];
	size_t			 i;
	int			 rc, before;

	if (envmodel_load(proj->id, proj->slug, &m) != ST_OK)
		return (ST_ERROR);
	for (i = 0, rc = ST_OK; i < nlog && rc == ST_OK; i++) {
		pending_payload(&log[i], &v);
		rc = envmodel_stage(m, &log[i], &v);
		tval_free(&v);
	}
	if (rc != ST_OK || (before = envmodel_check(m, msg,
	    sizeof(msg))) == ST_ERROR) {
		envmodel_free(m);
		return (ST_ERROR);
	}
	pending_payload(p, &v);
	rc = envmodel_stage(m, p, &v);
	tval_free(&v);
	if (rc == ST_OK)
		rc = envmodel_check(m, msg, sizeof(msg));
	envmodel_free(m);
	if (rc == ST_ERROR)
		return (ST_ERROR);
	/* A cycle that is there already is Apply's to report. */
	if (rc == 1 && before == 0) {
		fault_set(f, 422, "%s", msg);
		return (1);
	}
	return (0);
}

/*
 * Append p (project_id, op, targets and payload filled in) to the log,
 * inside the caller's transaction, after the checks of spec 8.2.  The
 * user is req's.  0 with p complete, or -1 with f set.
 */
int
pending_stage_tx(struct request *req, struct pending *p, struct fault *f)
{
	struct project	 proj;
	struct pending	*log = NULL;
	struct tval	 v;
	const char	*name, *self;
	size_t		 nlog = 0;
	int		 rc;

	memset(f, 0, sizeof(*f));
	if ((rc = db_project_get(p->project_id, &proj)) != ST_OK) {
		fault_set(f, rc == ST_NONE ? 404 : 500, "Project not found.");
		return (-1);
	}
	strlcpy(p->user_id, req->user.id, sizeof(p->user_id));
	if (db_pending_list(p->project_id, &log, &nlog) != ST_OK)
		goto fault;
	pending_payload(p, &v);
	name = tval_str(&v, "name");
	if (name != NULL && (strcmp(p->op, "service.create") == 0 ||
	    strcmp(p->op, "service.update") == 0)) {
		self = strcmp(p->op, "service.create") == 0 ?
		    p->target_temp_id : p->target_id;
		rc = pending_name_taken(p->project_id, self, name, log, nlog);
		if (rc == 1)
			fault_set(f, 409, "A service named \"%s\" already "
			    "exists in the project.", name);
	} else
		rc = 0;
	tval_free(&v);
	if (rc == ST_ERROR)
		goto fault;
	if (rc == 1)
		goto fail;
	if (strcmp(p->op, "project.update") != 0 &&
	    strcmp(p->op, "service.delete") != 0 &&
	    (rc = stage_cycle(&proj, log, nlog, p, f)) != 0) {
		if (rc == ST_ERROR)
			goto fault;
		goto fail;
	}
	if (db_pending_append(p) != ST_OK)
		goto fault;
	pendings_free(log, nlog);
	return (0);
fault:
	fault_set(f, 500, "Internal error.");
fail:
	pendings_free(log, nlog);
	return (-1);
}

/* The same, in a transaction of its own, and the event when it is in. */
int
pending_stage(struct request *req, struct pending *p, struct fault *f)
{
	if (store_begin() != ST_OK) {
		fault_set(f, 500, "Internal error.");
		return (-1);
	}
	if (pending_stage_tx(req, p, f) == -1) {
		store_rollback();
		return (-1);
	}
	if (store_commit() != ST_OK) {
		fault_set(f, 500, "Internal error.");
		return (-1);
	}
	publish_pending_added(p);
	return (0);
}

/* Fill the identity of a change to stage; payload is a finished tree. */
int
pending_init(struct pending *p, const char *project_id, const char *op,
    const char *target_type, struct wbuf *payload)
{
	memset(p, 0, sizeof(*p));
	strlcpy(p->project_id, project_id, sizeof(p->project_id));
	strlcpy(p->op, op, sizeof(p->op));
	strlcpy(p->target_type, target_type, sizeof(p->target_type));
	if (payload->error) {
		wbuf_free(payload);
		return (-1);
	}
	if (blob_copy(&p->payload, payload->buf, payload->len) != ST_OK) {
		wbuf_free(payload);
		return (-1);
	}
	wbuf_free(payload);
	return (0);
}

/* Stage p and answer with it (status on success), or with the fault. */
void
reply_staged(struct request *req, struct pending *p, int status)
{
	struct fault	 f;
	struct wbuf	 w;

	if (pending_stage(req, p, &f) == -1) {
		pending_free(p);
		reply_fault(req, &f);
		return;
	}
	tree_new(&w);
	tree_pending(&w, p);
	pending_free(p);
	reply_tree(req, status, &w);
}

/*
 * Stage op on target_id (NULL: none) of project_id, with the payload w,
 * and answer with the entry and status.  Takes w.
 */
void
stage_reply(struct request *req, const char *project_id, const char *op,
    const char *target_type, const char *target_id, struct wbuf *w,
    int status)
{
	struct pending	 p;

	if (pending_init(&p, project_id, op, target_type, w) == -1) {
		reply_internal(req);
		return;
	}
	if (target_id != NULL)
		strlcpy(p.target_id, target_id, sizeof(p.target_id));
	reply_staged(req, &p, status);
}

void
publish_pending_added(const struct pending *p)
{
	events_publish_item(p->project_id, "pending-change:added", NULL,
	    tree_pending_event, p);
}

void
publish_pending_removed(const char *project_id, const struct idlist *ids)
{
	struct wbuf	 w;
	size_t		 i;

	if (ids->n == 0)
		return;
	tree_new(&w);
	tree_map(&w);
	tree_key(&w, "ids");
	tree_array(&w);
	for (i = 0; i < ids->n; i++)
		tree_str(&w, ids->ids[i]);
	tree_end(&w);
	tree_end(&w);
	events_publish(project_id, "pending-changes:removed", &w, 0);
}

/* canvas:state {nodes, edges}: the whole canvas, fresh. */
void
publish_canvas_state(const char *project_id)
{
	struct wbuf	 w;

	tree_new(&w);
	tree_map(&w);
	if (tree_canvas(&w, project_id) != ST_OK) {
		wbuf_free(&w);
		return;
	}
	tree_end(&w);
	events_publish(project_id, "canvas:state", &w, 0);
}

/* GET /api/projects/{pid}/pending-changes */
void
op_pending_list(struct request *req)
{
	struct project	 proj;
	struct pending	*rows;
	size_t		 n;

	if (project_or_reply(req, req->args.str[PID], &proj) == -1)
		return;
	if (db_pending_list(proj.id, &rows, &n) != ST_OK) {
		reply_internal(req);
		return;
	}
	reply_list(req, rows, n, sizeof(*rows), tree_pending);
	pendings_free(rows, n);
}

/*
 * DELETE /api/projects/{pid}/pending-changes: the whole log, and the
 * canvas nodes that stood for services it would have created.
 */
void
op_pending_discard(struct request *req)
{
	struct project	 proj;
	struct wbuf	 w;

	if (project_or_reply(req, req->args.str[PID], &proj) == -1)
		return;
	if (store_begin() != ST_OK ||
	    db_node_delete_placeholders(proj.id) != ST_OK ||
	    db_pending_clear(proj.id) != ST_OK ||
	    store_commit() != ST_OK) {
		store_rollback();
		reply_internal(req);
		return;
	}
	log_info("pending changes of project %s discarded by %s", proj.id,
	    req->user.email[0] != '\0' ? req->user.email : req->user.name);
	publish_canvas_state(proj.id);
	tree_new(&w);
	tree_map(&w);
	tree_end(&w);
	events_publish(proj.id, "pending-changes:cleared", &w, 0);
	reply_empty(req, 204);
}

/* DELETE /api/projects/{pid}/pending-changes/{id} */
void
op_pending_remove(struct request *req)
{
	struct project	 proj;
	struct pending	 p;
	struct idlist	 ids = { 0 };
	int		 rc;

	if (project_or_reply(req, req->args.str[PENDING_PID], &proj) == -1)
		return;
	if ((rc = db_pending_get(proj.id, req->args.str[PENDING_ID], &p)) !=
	    ST_OK) {
		reply_store(req, rc, "Pending change not found.");
		return;
	}
	if (strcmp(p.op, "service.create") == 0) {
		pending_free(&p);
		reply_error(req, 400, "Delete the service's canvas node to "
		    "cancel its creation.");
		return;
	}
	if (strcmp(p.op, "service.delete") == 0) {
		pending_free(&p);
		reply_error(req, 400, "Discard all pending changes to cancel "
		    "this service deletion.");
		return;
	}
	rc = db_pending_delete(p.id);
	pending_free(&p);
	if (rc != ST_OK) {
		reply_store(req, rc, "Pending change not found.");
		return;
	}
	if (idlist_add(&ids, req->args.str[PENDING_ID]) == ST_OK)
		publish_pending_removed(proj.id, &ids);
	idlist_free(&ids);
	reply_empty(req, 204);
}

/* Is key staged for the pending service temp_id, inline or later? */
static int
pending_env_staged(const struct pending *log, size_t nlog,
    const char *temp_id, const char *key)
{
	struct tval		 v;
	const struct tval	*envs;
	const char		*k;
	size_t			 i, j;
	int			 found = 0;

	for (i = 0; i < nlog && !found; i++) {
		pending_payload(&log[i], &v);
		if (strcmp(log[i].op, "service.create") == 0 &&
		    strcmp(log[i].target_temp_id, temp_id) == 0 &&
		    (envs = tval_get(&v, "env_vars")) != NULL &&
		    envs->tag == TREE_ARRAY) {
			for (j = 0; j < envs->n; j++)
				if ((k = tval_str(&envs->items[j], "key")) !=
				    NULL && strcmp(k, key) == 0)
					found = 1;
		} else if (strcmp(log[i].op, "env_var.create") == 0 &&
		    strcmp(log[i].parent_temp_id, temp_id) == 0 &&
		    (k = tval_str(&v, "key")) != NULL && strcmp(k, key) == 0)
			found = 1;
		tval_free(&v);
	}
	return (found);
}

/* Is temp_id the temp id of a staged service.create? */
static int
pending_service_staged(const struct pending *log, size_t nlog,
    const char *temp_id)
{
	size_t	 i;

	for (i = 0; i < nlog; i++)
		if (strcmp(log[i].op, "service.create") == 0 &&
		    strcmp(log[i].target_temp_id, temp_id) == 0)
			return (1);
	return (0);
}

/* POST /api/projects/{pid}/pending-services/{tid}/env-vars {key, value} */
void
op_pending_service_env(struct request *req)
{
	struct op_args	*a = &req->args;
	const char	*tid = a->str[PENDING_ENV_TEMP_ID], *key, *msg;
	struct project	 proj;
	struct pending	*log, p;
	struct verrors	 ve = { 0 };
	struct wbuf	 w;
	size_t		 nlog;
	int		 staged, dup;

	if (project_or_reply(req, a->str[PENDING_ENV_PID], &proj) == -1)
		return;
	if (db_pending_list(proj.id, &log, &nlog) != ST_OK) {
		reply_internal(req);
		return;
	}
	key = a->present[PENDING_ENV_KEY] ? a->str[PENDING_ENV_KEY] : "";
	staged = pending_service_staged(log, nlog, tid);
	dup = staged && pending_env_staged(log, nlog, tid, key);
	pendings_free(log, nlog);
	if (!staged) {
		reply_error(req, 404, "Pending service not found.");
		return;
	}
	if ((msg = env_key_invalid(key)) != NULL) {
		verror_add(&ve, "key", msg);
		reply_invalid(req, &ve);
		return;
	}
	if (dup) {
		reply_error(req, 409, "Env var \"%s\" already staged on this "
		    "service.", key);
		return;
	}
	tree_new(&w);
	tree_map(&w);
	tree_kv_str(&w, "scope", "service");
	tree_kv_str(&w, "key", key);
	tree_kv_str(&w, "value", a->present[PENDING_ENV_VALUE] ?
	    a->str[PENDING_ENV_VALUE] : "");
	tree_end(&w);
	if (pending_init(&p, proj.id, "env_var.create", "env_var", &w) == -1) {
		reply_internal(req);
		return;
	}
	strlcpy(p.parent_temp_id, tid, sizeof(p.parent_temp_id));
	reply_staged(req, &p, 201);
}

/*
 * An applied service's node moved from one group to another (spec 8.3,
 * CoalesceServiceReparent), in the caller's transaction: the staged
 * plain reparents of the service are replaced by one from the parent
 * it has applied to new_parent, or by nothing when that is where it is
 * now.  ("" is the top level.)  The removed ids go to removed; *added
 * says whether p was appended.
 */
int
pending_coalesce_reparent(struct request *req, const char *project_id,
    const char *service_id, const char *old_parent, const char *new_parent,
    struct idlist *removed, struct pending *p, int *added, struct fault *f)
{
	struct pending	*log;
	struct tval	 v;
	struct wbuf	 w;
	const struct tval *r;
	char		 applied[NODE_ID_LEN + 1];
	size_t		 nlog, i;
	int		 found = 0, plain;

	*added = 0;
	strlcpy(applied, old_parent, sizeof(applied));
	if (db_pending_list(project_id, &log, &nlog) != ST_OK)
		goto fault;
	for (i = 0; i < nlog; i++) {
		if (strcmp(log[i].op, "service.update") != 0 ||
		    strcmp(log[i].target_id, service_id) != 0)
			continue;
		pending_payload(&log[i], &v);
		r = tval_get(&v, "reparented");
		plain = r != NULL && r->tag == TREE_TRUE &&
		    tval_get(&v, "name") == NULL &&
		    tval_get(&v, "icon_url") == NULL;
		if (plain && !found) {
			found = 1;
			strlcpy(applied, tval_str(&v, "previous_parent_id") !=
			    NULL ? tval_str(&v, "previous_parent_id") : "",
			    sizeof(applied));
		}
		tval_free(&v);
		if (!plain)
			continue;
		if (db_pending_delete(log[i].id) != ST_OK ||
		    idlist_add(removed, log[i].id) != ST_OK) {
			pendings_free(log, nlog);
			goto fault;
		}
	}
	pendings_free(log, nlog);
	if (strcmp(applied, new_parent) == 0)
		return (0);
	tree_new(&w);
	tree_map(&w);
	tree_kv_bool(&w, "reparented", 1);
	tree_kv_str(&w, "previous_parent_id", applied);
	tree_end(&w);
	if (pending_init(p, project_id, "service.update", "service", &w) ==
	    -1)
		goto fault;
	strlcpy(p->target_id, service_id, sizeof(p->target_id));
	if (pending_stage_tx(req, p, f) == -1) {
		pending_free(p);
		return (-1);
	}
	*added = 1;
	return (0);
fault:
	fault_set(f, 500, "Internal error.");
	return (-1);
}

/* Is there a staged service.delete of service_id?  Its entry into p. */
int
pending_find_delete(const char *project_id, const char *service_id,
    struct pending *p)
{
	struct pending	*log;
	size_t		 nlog, i;
	int		 rc = ST_NONE;

	if (db_pending_list(project_id, &log, &nlog) != ST_OK)
		return (ST_ERROR);
	for (i = 0; i < nlog && rc == ST_NONE; i++)
		if (strcmp(log[i].op, "service.delete") == 0 &&
		    strcmp(log[i].target_id, service_id) == 0)
			rc = db_pending_get(project_id, log[i].id, p);
	pendings_free(log, nlog);
	return (rc);
}
