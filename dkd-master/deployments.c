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

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dkd.h"
#include "log.h"
#include "store.h"

/*
 * Deployments (spec 10): an immutable snapshot of what a service runs
 * (image, resolved env vars, ports, resources, replicas) and its life
 * cycle.  A new one cancels those of the service still on their way;
 * a rollback makes an old one active again.  Either asks the reconciler
 * for a pass over the service.
 */

/*
 * PortMapping[] from a request, checked, written to w in the stored
 * form; NULL, or what is wrong.
 */
const char *
ports_encode(const struct tval *v, struct wbuf *w)
{
	const struct tval	*p, *cp, *hp, *proto;
	const char		*msg;
	size_t			 i;

	if (v == NULL || v->tag == TREE_NULL) {
		tree_array(w);
		tree_end(w);
		return (NULL);
	}
	if (v->tag != TREE_ARRAY)
		return ("Ports must be a list of port mappings.");
	if (v->n > 64)
		return ("At most 64 port mappings.");
	tree_array(w);
	for (i = 0; i < v->n; i++) {
		p = &v->items[i];
		if (p->tag != TREE_MAP)
			return ("Ports must be a list of port mappings.");
		cp = tval_get(p, "container_port");
		hp = tval_get(p, "host_port");
		proto = tval_get(p, "protocol");
		if (cp == NULL || cp->tag != TREE_INT || cp->i < 1 ||
		    cp->i > 65535)
			return ("container_port must be a port number "
			    "(1-65535).");
		if (hp != NULL && hp->tag != TREE_NULL && (hp->tag !=
		    TREE_INT || hp->i < 1 || hp->i > 65535))
			return ("host_port must be a port number (1-65535).");
		if (proto != NULL && proto->tag != TREE_NULL &&
		    (msg = protocol_invalid(proto->tag == TREE_STR ?
		    proto->s : NULL)) != NULL)
			return (msg);
		tree_map(w);
		tree_kv_int(w, "container_port", cp->i);
		if (hp != NULL && hp->tag == TREE_INT)
			tree_kv_int(w, "host_port", hp->i);
		if (proto != NULL && proto->tag == TREE_STR &&
		    proto->s[0] != '\0')
			tree_kv_str(w, "protocol", proto->s);
		tree_end(w);
	}
	tree_end(w);
	return (NULL);
}

/* ResourceLimits from a request, checked and written to w. */
static const char *
resources_encode(const struct tval *v, struct wbuf *w)
{
	const struct tval	*cpu, *mem;

	if (v->tag != TREE_MAP)
		return ("Resources must be an object.");
	cpu = tval_get(v, "cpu_shares");
	mem = tval_get(v, "memory_mb");
	if (cpu != NULL && cpu->tag != TREE_NULL && (cpu->tag != TREE_INT ||
	    cpu->i < 0 || cpu->i > 262144))
		return ("cpu_shares must be a number from 0 to 262144.");
	if (mem != NULL && mem->tag != TREE_NULL && (mem->tag != TREE_INT ||
	    mem->i < 0 || mem->i > 1024 * 1024 * 1024))
		return ("memory_mb must be a number of megabytes.");
	tree_map(w);
	if (cpu != NULL && cpu->tag == TREE_INT)
		tree_kv_int(w, "cpu_shares", cpu->i);
	if (mem != NULL && mem->tag == TREE_INT)
		tree_kv_int(w, "memory_mb", mem->i);
	tree_end(w);
	return (NULL);
}

/* A map of env var names to strings. */
static const char *
env_overlay_check(const struct tval *v)
{
	size_t	 i;

	if (v->tag != TREE_MAP)
		return ("Env vars must be an object of strings.");
	for (i = 0; i < v->n; i++) {
		if (v->items[i].tag != TREE_STR)
			return ("Env vars must be an object of strings.");
		if (env_key_invalid(v->keys[i]) != NULL)
			return ("Env var names must contain only letters, "
			    "digits and underscores, and cannot start with a "
			    "digit.");
	}
	return (NULL);
}

struct edge_want {
	char		 name[SERVICE_NAME_LEN + 1];
	char		 data[4096];
	char		 label[NODE_LABEL_LEN + 1];
};

struct edge_wants {
	struct edge_want *v;
	size_t		 n;
	int		 fault;
};

static void
edge_collect(const char *name, const char **keys, size_t nkeys, void *arg)
{
	struct edge_wants	*ew = arg;
	struct edge_want	*e;
	size_t			 i;

	if ((e = reallocarray(ew->v, ew->n + 1, sizeof(*e))) == NULL) {
		ew->fault = 1;
		return;
	}
	ew->v = e;
	e = &ew->v[ew->n++];
	memset(e, 0, sizeof(*e));
	strlcpy(e->name, name, sizeof(e->name));
	/* Keys are letters, digits and '_': nothing to escape. */
	strlcpy(e->data, "{\"managed\":\"env-ref\",\"keys\":[",
	    sizeof(e->data));
	for (i = 0; i < nkeys; i++) {
		if (env_key_invalid(keys[i]) != NULL)
			continue;
		if (e->label[0] != '\0') {
			strlcat(e->data, ",", sizeof(e->data));
			strlcat(e->label, ", ", sizeof(e->label));
		}
		strlcat(e->data, "\"", sizeof(e->data));
		strlcat(e->data, keys[i], sizeof(e->data));
		strlcat(e->data, "\"", sizeof(e->data));
		strlcat(e->label, keys[i], sizeof(e->label));
	}
	strlcat(e->data, "]}", sizeof(e->data));
}

/*
 * The env-ref edges of service_id (spec 8.6), after envmodel_resolve
 * of it: one edge from its node to the node of each service its
 * variables name, managed by the master.  In the caller's transaction.
 */
int
deploy_sync_edges(struct env_model *m, const char *project_id,
    const char *service_id)
{
	struct canvas_node	 node, target;
	struct canvas_edge	 e;
	struct service_ref	*refs = NULL;
	struct edge_wants	 ew = { 0 };
	size_t			 nrefs = 0, i, j;
	int			 rc;

	if ((rc = db_node_of_service(service_id, &node)) != ST_OK)
		return (rc == ST_NONE ? ST_OK : ST_ERROR);
	rc = ST_ERROR;
	if (db_edge_delete_managed(node.id) != ST_OK ||
	    envmodel_refs(m, service_id, edge_collect, &ew) != ST_OK ||
	    ew.fault || db_service_refs(project_id, &refs, &nrefs) != ST_OK)
		goto done;
	for (i = 0; i < ew.n; i++) {
		for (j = 0; j < nrefs; j++)
			if (strcmp(refs[j].name, ew.v[i].name) == 0)
				break;
		if (j == nrefs || strcmp(refs[j].id, service_id) == 0)
			continue;
		if ((rc = db_node_of_service(refs[j].id, &target)) == ST_NONE)
			continue;
		if (rc != ST_OK)
			goto done;
		memset(&e, 0, sizeof(e));
		uuid_new(e.id);
		strlcpy(e.project_id, project_id, sizeof(e.project_id));
		strlcpy(e.source_id, node.id, sizeof(e.source_id));
		strlcpy(e.target_id, target.id, sizeof(e.target_id));
		e.label = ew.v[i].label;
		e.data = ew.v[i].data;
		rc = db_edge_upsert(&e);
		canvas_node_free(&target);
		if (rc != ST_OK) {
			rc = ST_ERROR;
			goto done;
		}
	}
	rc = ST_OK;
done:
	canvas_node_free(&node);
	free(ew.v);
	free(refs);
	return (rc);
}

/* The resolved map res with the request's overlay on top, into w. */
static void
env_merge(const struct tval *res, const struct tval *overlay, struct wbuf *w)
{
	size_t	 i;

	tree_map(w);
	for (i = 0; i < res->n; i++) {
		if (overlay != NULL && tval_get(overlay, res->keys[i]) != NULL)
			continue;
		tree_key(w, res->keys[i]);
		tree_str(w, res->items[i].s != NULL ? res->items[i].s : "");
	}
	for (i = 0; overlay != NULL && i < overlay->n; i++) {
		tree_key(w, overlay->keys[i]);
		tree_str(w, overlay->items[i].s);
	}
	tree_end(w);
}

/*
 * Decision 8: a service whose image is a database preset's keeps the
 * preset's data directories on named volumes, recorded on the service
 * the first time and kept, under names that never change, until the
 * service is deleted.  In the caller's transaction.
 */
#define SERVICE_VOLUMES_MAX	8

static int
service_volumes_record(const char *service_id, const char *image)
{
	const char	*paths[SERVICE_VOLUMES_MAX], *path;
	struct blob	 old, b;
	struct tval	 v;
	struct wbuf	 w;
	char		 name[32];
	size_t		 i, have;
	int		 n, k, rc, added = 0;

	if ((n = presets_image_volumes(image, paths, nitems(paths))) == 0)
		return (ST_OK);
	if ((rc = db_service_volumes(service_id, &old)) != ST_OK)
		return (rc);
	memset(&v, 0, sizeof(v));
	if (old.p != NULL)
		blob_tval(&old, &v);
	have = v.tag == TREE_ARRAY ? v.n : 0;
	wbuf_init(&w, DKD_IMSG_MAX_INTERNAL);
	tree_array(&w);
	for (i = 0; i < have; i++)
		tval_encode(&w, &v.items[i]);
	for (k = 0; k < n; k++) {
		for (i = 0; i < have; i++)
			if ((path = tval_str(&v.items[i], "path")) != NULL &&
			    strcmp(path, paths[k]) == 0)
				break;
		if (i < have || have + added >= SERVICE_VOLUMES_MAX)
			continue;
		if (have + added == 0)
			strlcpy(name, "data", sizeof(name));
		else
			(void)snprintf(name, sizeof(name), "data-%zu",
			    have + added + 1);
		tree_map(&w);
		tree_kv_str(&w, "name", name);
		tree_kv_str(&w, "path", paths[k]);
		tree_end(&w);
		added++;
	}
	tree_end(&w);
	rc = ST_OK;
	if (added > 0) {
		b.p = w.buf;
		b.len = w.len;
		rc = w.error ? ST_ERROR : db_service_set_volumes(service_id,
		    &b);
	}
	tval_free(&v);
	blob_free(&old);
	wbuf_free(&w);
	return (rc == ST_NONE ? ST_OK : rc);
}

/*
 * A new pending deployment of service s (spec 10.2), in the caller's
 * transaction: env vars resolved with model m (and overlay on top),
 * ports and resources as stored trees (resources may be NULL), at
 * least one replica.  Other deployments on their way are cancelled; a
 * service with nothing active is deploying.  The env-ref edges follow.
 * 0 with d filled in (free it), or -1 with f set.
 */
int
deploy_create_tx(struct env_model *m, const struct service *s,
    const char *image, const struct tval *overlay, const struct blob *ports,
    const struct blob *resources, int64_t replicas, struct deployment *d,
    struct fault *f)
{
	struct wbuf	 envw, merged;
	struct tval	 res;
	struct rbuf	 r;
	int		 rc;

	memset(d, 0, sizeof(*d));
	wbuf_init(&envw, DKD_IMSG_MAX_INTERNAL);
	rc = envmodel_resolve(m, s->id, &envw, f->msg, sizeof(f->msg));
	if (rc == 1) {
		f->status = 422;
		wbuf_free(&envw);
		return (-1);
	}
	if (rc != 0 || envw.error) {
		wbuf_free(&envw);
		fault_set(f, 500, "Internal error.");
		return (-1);
	}
	if (overlay != NULL) {
		rbuf_init(&r, envw.buf, envw.len);
		if (tval_decode(&r, &res, envw.len) == -1) {
			wbuf_free(&envw);
			fault_set(f, 500, "Internal error.");
			return (-1);
		}
		wbuf_init(&merged, DKD_IMSG_MAX_INTERNAL);
		env_merge(&res, overlay, &merged);
		tval_free(&res);
		explicit_bzero(envw.buf, envw.len);
		wbuf_free(&envw);
		envw = merged;
	}
	uuid_new(d->id);
	strlcpy(d->service_id, s->id, sizeof(d->service_id));
	strlcpy(d->image, image, sizeof(d->image));
	strlcpy(d->status, "pending", sizeof(d->status));
	dbtime(time(NULL), d->created_at);
	d->replicas = replicas > 0 ? replicas : 1;
	rc = envw.error ? ST_ERROR : blob_copy(&d->env_vars, envw.buf,
	    envw.len);
	explicit_bzero(envw.buf, envw.len);
	wbuf_free(&envw);
	if (rc != ST_OK ||
	    blob_copy(&d->ports, ports->p, ports->len) != ST_OK ||
	    (resources != NULL && resources->p != NULL &&
	    blob_copy(&d->resources, resources->p, resources->len) != ST_OK) ||
	    db_deployment_insert(d) != ST_OK ||
	    db_deployment_cancel_inflight(s->id, d->id) != ST_OK ||
	    service_volumes_record(s->id, image) != ST_OK ||
	    (s->active_id[0] == '\0' &&
	    db_service_set_status(s->id, "deploying") == ST_ERROR) ||
	    deploy_sync_edges(m, s->project_id, s->id) != ST_OK) {
		deployment_free(d);
		fault_set(f, 500, "Internal error.");
		return (-1);
	}
	return (0);
}

void
publish_deployment(const char *project_id, const struct deployment *d)
{
	events_publish_item(project_id, "deployment:created", "deployment",
	    tree_deployment_event, d);
}

static int
deploy_args_check(struct request *req, struct wbuf *ports,
    struct wbuf *resources, const struct tval **overlay)
{
	struct op_args		*a = &req->args;
	struct verrors		 ve = { 0 };
	const char		*msg;

	*overlay = NULL;
	if ((msg = image_invalid(a->present[DEPLOY_IMAGE] ?
	    a->str[DEPLOY_IMAGE] : NULL)) != NULL)
		verror_add(&ve, "image", msg);
	if (a->present[DEPLOY_REPLICAS] &&
	    (msg = replicas_invalid(a->num[DEPLOY_REPLICAS])) != NULL)
		verror_add(&ve, "replicas", msg);
	if (a->present[DEPLOY_ENV_VARS] &&
	    a->val[DEPLOY_ENV_VARS].tag != TREE_NULL) {
		if ((msg = env_overlay_check(&a->val[DEPLOY_ENV_VARS])) !=
		    NULL)
			verror_add(&ve, "env_vars", msg);
		else
			*overlay = &a->val[DEPLOY_ENV_VARS];
	}
	if ((msg = ports_encode(a->present[DEPLOY_PORTS] ?
	    &a->val[DEPLOY_PORTS] : NULL, ports)) != NULL)
		verror_add(&ve, "ports", msg);
	if (a->present[DEPLOY_RESOURCES] &&
	    a->val[DEPLOY_RESOURCES].tag != TREE_NULL &&
	    (msg = resources_encode(&a->val[DEPLOY_RESOURCES], resources)) !=
	    NULL)
		verror_add(&ve, "resources", msg);
	if (ve.n > 0) {
		reply_invalid(req, &ve);
		return (-1);
	}
	return (0);
}

/* POST /api/projects/{pid}/services/{sid}/deployments DeploymentCreate */
void
op_deployment_create(struct request *req)
{
	struct op_args		*a = &req->args;
	const struct tval	*overlay;
	struct project		 proj;
	struct service		 s;
	struct deployment	 d;
	struct env_model	*m = NULL;
	struct wbuf		 ports, res, w;
	struct blob		 bports, bres = { 0 };
	struct fault		 f = { 0 };

	if (project_or_reply(req, a->str[DEPLOY_PID], &proj) == -1 ||
	    service_or_reply(req, &proj, a->str[DEPLOY_SID], &s) == -1)
		return;
	wbuf_init(&ports, DKD_IMSG_MAX_INTERNAL);
	wbuf_init(&res, DKD_IMSG_MAX_INTERNAL);
	if (deploy_args_check(req, &ports, &res, &overlay) == -1)
		goto free;
	bports.p = ports.buf;
	bports.len = ports.len;
	if (res.len > 0) {
		bres.p = res.buf;
		bres.len = res.len;
	}
	if (store_begin() != ST_OK)
		goto fault;
	if (envmodel_load(proj.id, proj.slug, &m) != ST_OK)
		goto fault;
	if (deploy_create_tx(m, &s, a->str[DEPLOY_IMAGE], overlay, &bports,
	    &bres, a->present[DEPLOY_REPLICAS] ? a->num[DEPLOY_REPLICAS] : 1,
	    &d, &f) == -1) {
		store_rollback();
		reply_fault(req, &f);
		goto free;
	}
	if (store_commit() != ST_OK) {
		deployment_free(&d);
		goto fault;
	}
	log_info("deployment %s of service %s (%s) created by %s", d.id,
	    s.name, s.id, req->user.email[0] != '\0' ? req->user.email :
	    req->user.name);
	publish_deployment(proj.id, &d);
	publish_canvas_state(proj.id);
	rec_push(s.id);
	tree_new(&w);
	tree_deployment(&w, &d);
	deployment_free(&d);
	reply_tree(req, 201, &w);
	goto free;
fault:
	store_rollback();
	reply_internal(req);
free:
	envmodel_free(m);
	wbuf_free(&ports);
	wbuf_free(&res);
}

/* GET .../services/{sid}/deployments?offset&limit, newest first. */
void
op_deployment_list(struct request *req)
{
	struct op_args		*a = &req->args;
	struct project		 proj;
	struct service		 s;
	struct deployment	*rows;
	struct page		 pg;
	size_t			 n;
	int64_t			 total;

	if (project_or_reply(req, a->str[DEPLOYS_PID], &proj) == -1 ||
	    service_or_reply(req, &proj, a->str[DEPLOYS_SID], &s) == -1)
		return;
	page_from_args(req, DEPLOYS_OFFSET, DEPLOYS_LIMIT, &pg);
	if (db_deployment_list(s.id, pg.offset, pg.limit, &rows, &n,
	    &total) != ST_OK) {
		reply_internal(req);
		return;
	}
	reply_page(req, &pg, total, rows, n, sizeof(*rows), tree_deployment);
	deployments_free(rows, n);
}

/* GET .../services/{sid}/deployments/{id}: of that service only. */
void
op_deployment_get(struct request *req)
{
	struct op_args		*a = &req->args;
	struct project		 proj;
	struct service		 s;
	struct deployment	 d;
	int			 rc;

	if (project_or_reply(req, a->str[DEPLOYMENT_PID], &proj) == -1 ||
	    service_or_reply(req, &proj, a->str[DEPLOYMENT_SID], &s) == -1)
		return;
	if ((rc = db_deployment_get(s.id, a->str[DEPLOYMENT_ID], &d)) !=
	    ST_OK) {
		reply_store(req, rc, "Deployment not found.");
		return;
	}
	reply_item(req, 200, tree_deployment, &d);
	deployment_free(&d);
}

/*
 * POST .../services/{sid}/rollback {deployment_id} (spec 10.4): that
 * deployment is active and healthy again, the one it replaces is
 * superseded, the service is deploying and the reconciler is asked for
 * a pass (Decision 6).
 */
void
op_service_rollback(struct request *req)
{
	struct op_args		*a = &req->args;
	struct project		 proj;
	struct service		 s, after;
	struct deployment	 d;
	struct verrors		 ve = { 0 };
	const char		*id;
	int			 rc;

	if (project_or_reply(req, a->str[ROLLBACK_PID], &proj) == -1 ||
	    service_or_reply(req, &proj, a->str[ROLLBACK_SID], &s) == -1)
		return;
	id = a->present[ROLLBACK_DEPLOYMENT_ID] ?
	    a->str[ROLLBACK_DEPLOYMENT_ID] : "";
	if (blank(id)) {
		verror_add(&ve, "deployment_id", "Deployment ID is required.");
		reply_invalid(req, &ve);
		return;
	}
	/* Another service's deployment is none of this one's (Decision 7). */
	if ((rc = db_deployment_get(s.id, id, &d)) != ST_OK) {
		reply_store(req, rc, "Deployment not found.");
		return;
	}
	if (store_begin() != ST_OK)
		goto fault;
	if (db_deployment_make_healthy(d.id) != ST_OK)
		goto fault;
	if (deployment_supersede_active(&s, d.id) != ST_OK ||
	    db_service_set_active(s.id, d.id, "deploying") != ST_OK ||
	    store_commit() != ST_OK)
		goto fault;
	deployment_free(&d);
	if (db_service_get(proj.id, s.id, &after) != ST_OK ||
	    db_deployment_get(s.id, id, &d) != ST_OK) {
		reply_internal(req);
		return;
	}
	log_info("service %s (%s) rolled back to deployment %s by %s",
	    s.name, s.id, d.id, req->user.email[0] != '\0' ?
	    req->user.email : req->user.name);
	publish_deployment(proj.id, &d);
	deployment_free(&d);
	if (strcmp(s.status, after.status) != 0)
		publish_status(&after, s.status);
	publish_service(&after);
	rec_push(s.id);
	reply_item(req, 200, tree_service, &after);
	return;
fault:
	store_rollback();
	deployment_free(&d);
	reply_internal(req);
}

/*
 * In the caller's transaction: the service's active deployment, when
 * it is not new_id and is healthy, is superseded.  ST_OK or ST_ERROR.
 */
int
deployment_supersede_active(const struct service *s, const char *new_id)
{
	struct deployment	 prev;
	int			 rc;

	if (s->active_id[0] == '\0' || strcmp(s->active_id, new_id) == 0)
		return (ST_OK);
	if ((rc = db_deployment_get(s->id, s->active_id, &prev)) == ST_OK) {
		if (strcmp(prev.status, "healthy") == 0)
			rc = db_deployment_set_status(prev.id, "superseded");
		deployment_free(&prev);
	}
	return (rc == ST_ERROR ? ST_ERROR : ST_OK);
}

void
publish_status(const struct service *s, const char *old_status)
{
	struct wbuf	 w;

	tree_new(&w);
	tree_map(&w);
	tree_kv_str(&w, "service_id", s->id);
	tree_kv_str(&w, "old_status", old_status);
	tree_kv_str(&w, "new_status", s->status);
	tree_end(&w);
	events_publish(s->project_id, "service:status-changed", &w, 0);
}

/* A paging value that does not parse is no value (spec 7.2). */
static int
lenient_int(struct request *req, int i, int64_t *v)
{
	char		*end;
	long long	 n;

	*v = 0;
	if (!req->args.present[i])
		return (0);
	errno = 0;
	n = strtoll(req->args.str[i], &end, 10);
	if (*req->args.str[i] == '\0' || *end != '\0' || errno != 0)
		return (0);
	*v = n;
	return (1);
}

/* GET .../services/{sid}/containers?deployment_id&status&offset&limit */
void
op_container_list(struct request *req)
{
	struct op_args		*a = &req->args;
	struct project		 proj;
	struct service		 s;
	struct container	*rows;
	struct page		 pg;
	size_t			 n;
	int64_t			 total, offset, limit;

	if (project_or_reply(req, a->str[CONTAINERS_PID], &proj) == -1 ||
	    service_or_reply(req, &proj, a->str[CONTAINERS_SID], &s) == -1)
		return;
	(void)lenient_int(req, CONTAINERS_OFFSET, &offset);
	(void)lenient_int(req, CONTAINERS_LIMIT, &limit);
	page_set(&pg, offset, limit);
	if (db_container_list(s.id, a->present[CONTAINERS_DEPLOYMENT_ID] ?
	    a->str[CONTAINERS_DEPLOYMENT_ID] : "",
	    a->present[CONTAINERS_STATUS] ? a->str[CONTAINERS_STATUS] : "",
	    pg.offset, pg.limit, &rows, &n, &total) != ST_OK) {
		reply_internal(req);
		return;
	}
	reply_page(req, &pg, total, rows, n, sizeof(*rows), tree_container);
	free(rows);
}
