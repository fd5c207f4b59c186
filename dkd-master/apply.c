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
#include <time.h>

#include "dkd.h"
#include "log.h"
#include "store.h"

/*
 * Apply (spec 8.4, POST /api/projects/{pid}/deploy): every staged change
 * of the project, in seq order, in one transaction.  Services created
 * get their first deployment and services whose variables changed are
 * redeployed from their latest good deployment, once all entries are
 * in (so a variable staged after its service's creation is there).
 * Any error rolls everything back and leaves the log as it was; its
 * message names the entry (Decision 4).
 */

struct apply_temp {
	char		 temp[NODE_ID_LEN + 1];
	char		 id[UUID_LEN + 1];
};

struct apply_mark {
	char		 id[UUID_LEN + 1];
	char		 name[SERVICE_NAME_LEN + 1];
	size_t		 entry;		/* that marked it */
	int		 created;	/* by this apply */
	int		 gone;		/* deleted by this apply */
	int		 ports;		/* first port of a new one */
};

struct apply {
	struct request		*req;
	struct project		 proj;
	struct pending		*log;
	size_t			 nlog;
	size_t			 cur;
	struct apply_temp	*temps;
	size_t			 ntemps;
	struct apply_mark	*marks;
	size_t			 nmarks;
	struct deployment	*deps;
	size_t			 ndeps;
	struct idlist		 redeployed;
	struct idlist		 updated;	/* services to publish */
	int			 had_cycle;
	struct fault		 f;
};

/* Fail the current entry: "Entry N (op): message". */
static int
entry_fail(struct apply *ap, int status, const char *fmt, ...)
    __attribute__((__format__ (printf, 3, 4)));

static int
entry_fail(struct apply *ap, int status, const char *fmt, ...)
{
	char		 msg[sizeof(ap->f.msg)];
	va_list		 vap;
	struct pending	*e = &ap->log[ap->cur];

	va_start(vap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, vap);
	va_end(vap);
	if (status >= 500)
		fault_set(&ap->f, status, "Internal error.");
	else
		fault_set(&ap->f, status, "Entry %lld (%s): %s",
		    (long long)e->seq, e->op, msg);
	return (-1);
}

static int
internal(struct apply *ap)
{
	return (entry_fail(ap, 500, "Internal error."));
}

static struct apply_mark *
mark_find(struct apply *ap, const char *id)
{
	size_t	 i;

	for (i = 0; i < ap->nmarks; i++)
		if (strcmp(ap->marks[i].id, id) == 0)
			return (&ap->marks[i]);
	return (NULL);
}

/* Mark service id for a new deployment, blaming the current entry. */
static struct apply_mark *
mark(struct apply *ap, const char *id)
{
	struct apply_mark	*m;
	struct service		 s;

	if ((m = mark_find(ap, id)) != NULL)
		return (m);
	if (db_service_get(ap->proj.id, id, &s) != ST_OK)
		return (NULL);
	if ((m = reallocarray(ap->marks, ap->nmarks + 1, sizeof(*m))) ==
	    NULL) {
		log_warn("%s", __func__);
		return (NULL);
	}
	ap->marks = m;
	m = &ap->marks[ap->nmarks++];
	memset(m, 0, sizeof(*m));
	strlcpy(m->id, id, sizeof(m->id));
	strlcpy(m->name, s.name, sizeof(m->name));
	m->entry = ap->cur;
	return (m);
}

/* Mark service id if it has been deployed; -1 on a fault. */
static int
mark_deployed(struct apply *ap, const char *id)
{
	int	 deployed;

	if (db_service_deployed(id, &deployed) != ST_OK)
		return (-1);
	if (deployed && mark(ap, id) == NULL)
		return (-1);
	return (0);
}

/*
 * The services a change of a variable in (scope, scope_id) reaches: the
 * service itself; the deployed members of a group; every deployed
 * service of the project.
 */
static int
mark_affected(struct apply *ap, const char *scope, const char *scope_id)
{
	struct service_ref	*refs;
	struct canvas_node	*nodes;
	size_t			 n, i;
	int			 rv = 0;

	if (strcmp(scope, "service") == 0)
		return (db_service_get(ap->proj.id, scope_id,
		    &(struct service){ 0 }) == ST_OK && mark(ap, scope_id) ==
		    NULL ? -1 : 0);
	if (strcmp(scope, "group") == 0) {
		if (db_node_list(ap->proj.id, &nodes, &n) != ST_OK)
			return (-1);
		for (i = 0; i < n && rv == 0; i++)
			if (nodes[i].service_id[0] != '\0' &&
			    strcmp(nodes[i].parent_id, scope_id) == 0)
				rv = mark_deployed(ap, nodes[i].service_id);
		canvas_nodes_free(nodes, n);
		return (rv);
	}
	if (db_service_refs(ap->proj.id, &refs, &n) != ST_OK)
		return (-1);
	for (i = 0; i < n && rv == 0; i++)
		rv = mark_deployed(ap, refs[i].id);
	free(refs);
	return (rv);
}

static const char *
temp_map(struct apply *ap, const char *temp)
{
	size_t	 i;

	for (i = 0; i < ap->ntemps; i++)
		if (strcmp(ap->temps[i].temp, temp) == 0)
			return (ap->temps[i].id);
	return (NULL);
}

/* Is the variable (scope, scope_id) one of this project's? */
static int
scope_in_project(struct apply *ap, const char *scope, const char *scope_id)
{
	struct canvas_node	 n;
	struct service		 s;
	int			 rc;

	if (strcmp(scope, "project") == 0)
		return (strcmp(scope_id, ap->proj.id) == 0 ? ST_OK : ST_NONE);
	if (strcmp(scope, "service") == 0)
		return (db_service_get(ap->proj.id, scope_id, &s));
	if (strcmp(scope, "group") != 0)
		return (ST_NONE);
	if ((rc = db_node_get(scope_id, &n)) != ST_OK)
		return (rc);
	rc = strcmp(n.project_id, ap->proj.id) == 0 &&
	    strcmp(n.type, "group") == 0 ? ST_OK : ST_NONE;
	canvas_node_free(&n);
	return (rc);
}

static int
apply_project_update(struct apply *ap, const struct tval *pl)
{
	const char	*name, *msg;

	if (!tval_is(tval_get(pl, "name"), TREE_STR))
		return (0);
	name = tval_str(pl, "name");
	if ((msg = name_invalid(name)) != NULL)
		return (entry_fail(ap, 422, "%s", msg));
	if (db_project_rename(ap->proj.id, name) != ST_OK)
		return (internal(ap));
	return (0);
}

static int
apply_service_create(struct apply *ap, const struct pending *e,
    const struct tval *pl)
{
	const struct tval	*envs, *ports;
	struct apply_temp	*t;
	struct apply_mark	*m;
	struct service		 s;
	struct envvar		 v;
	const char		*name, *image, *icon, *key, *value, *msg;
	char			 data[IMAGE_LEN + 16];
	size_t			 i;
	int			 rc;

	if (e->target_temp_id[0] == '\0')
		return (entry_fail(ap, 422, "The change has no temp id."));
	name = tval_str(pl, "name");
	image = tval_str(pl, "image");
	icon = tval_str(pl, "icon_url");
	if ((msg = service_name_invalid(name)) != NULL ||
	    (msg = image_invalid(image)) != NULL)
		return (entry_fail(ap, 422, "%s", msg));
	memset(&s, 0, sizeof(s));
	uuid_new(s.id);
	strlcpy(s.project_id, ap->proj.id, sizeof(s.project_id));
	strlcpy(s.name, name, sizeof(s.name));
	strlcpy(s.status, "created", sizeof(s.status));
	if (icon != NULL)
		strlcpy(s.icon_url, icon, sizeof(s.icon_url));
	dbtime(time(NULL), s.created_at);
	strlcpy(s.updated_at, s.created_at, sizeof(s.updated_at));
	if ((rc = db_service_insert(&s)) == ST_EXISTS)
		return (entry_fail(ap, 409, "A service named \"%s\" already "
		    "exists in the project.", name));
	if (rc != ST_OK)
		return (internal(ap));
	if ((envs = tval_get(pl, "env_vars")) != NULL &&
	    envs->tag == TREE_ARRAY)
		for (i = 0; i < envs->n; i++) {
			key = tval_str(&envs->items[i], "key");
			value = tval_str(&envs->items[i], "value");
			if ((msg = env_key_invalid(key)) != NULL)
				return (entry_fail(ap, 422, "%s", msg));
			memset(&v, 0, sizeof(v));
			uuid_new(v.id);
			strlcpy(v.scope, "service", sizeof(v.scope));
			strlcpy(v.scope_id, s.id, sizeof(v.scope_id));
			strlcpy(v.key, key, sizeof(v.key));
			v.value = (char *)(value != NULL ? value : "");
			if ((rc = db_envvar_insert(&v)) == ST_EXISTS)
				return (entry_fail(ap, 409, "Env var \"%s\" "
				    "already exists.", key));
			if (rc != ST_OK)
				return (internal(ap));
		}
	/* The placeholder node becomes the service's; no node, no matter. */
	(void)snprintf(data, sizeof(data), "{\"image\":\"%s\"}", image);
	if (db_node_link_service(e->target_temp_id, s.id, name, data) ==
	    ST_ERROR)
		return (internal(ap));
	if ((t = reallocarray(ap->temps, ap->ntemps + 1, sizeof(*t))) == NULL)
		return (internal(ap));
	ap->temps = t;
	t = &ap->temps[ap->ntemps++];
	strlcpy(t->temp, e->target_temp_id, sizeof(t->temp));
	strlcpy(t->id, s.id, sizeof(t->id));
	if ((m = mark(ap, s.id)) == NULL)
		return (internal(ap));
	m->created = 1;
	ports = tval_get(pl, "ports");
	if (ports != NULL && ports->tag == TREE_ARRAY && ports->n > 0 &&
	    tval_is(tval_get(&ports->items[0], "container_port"), TREE_INT))
		m->ports = (int)tval_get(&ports->items[0],
		    "container_port")->i;
	if (idlist_add(&ap->updated, s.id) != ST_OK)
		return (internal(ap));
	return (0);
}

/* ${{old.X}} becomes ${{new.X}} in every variable of the project. */
static int
rewrite_refs(struct apply *ap, const char *from, const char *to)
{
	struct envvar	*vars;
	char		*nv;
	size_t		 n, i;
	int		 rv = 0;

	if (db_envvar_project(ap->proj.id, &vars, &n) != ST_OK)
		return (-1);
	for (i = 0; i < n && rv == 0; i++) {
		if (envref_rename(vars[i].value, from, to, &nv) == -1) {
			rv = -1;
			break;
		}
		if (nv == NULL)
			continue;
		if (db_envvar_set_value(vars[i].id, nv) != ST_OK ||
		    mark_affected(ap, vars[i].scope, vars[i].scope_id) == -1)
			rv = -1;
		explicit_bzero(nv, strlen(nv));
		free(nv);
	}
	envvars_free(vars, n);
	return (rv);
}

static int
apply_service_update(struct apply *ap, const struct pending *e,
    const struct tval *pl)
{
	struct service	 s;
	const char	*id, *name, *icon, *msg;
	char		 old[SERVICE_NAME_LEN + 1];
	int		 rc;

	id = e->target_id[0] != '\0' ? e->target_id :
	    temp_map(ap, e->target_temp_id);
	/* Deleted by now, here or out of band: nothing to update. */
	if (id == NULL || (rc = db_service_get(ap->proj.id, id, &s)) ==
	    ST_NONE)
		return (0);
	if (rc != ST_OK)
		return (internal(ap));
	name = tval_str(pl, "name");
	icon = tval_str(pl, "icon_url");
	if (name != NULL && strcmp(name, s.name) != 0) {
		if ((msg = service_name_invalid(name)) != NULL)
			return (entry_fail(ap, 422, "%s", msg));
		if ((rc = db_service_rename(s.id, name)) == ST_EXISTS)
			return (entry_fail(ap, 409, "A service named \"%s\" "
			    "already exists in the project.", name));
		if (rc != ST_OK)
			return (internal(ap));
		strlcpy(old, s.name, sizeof(old));
		if (rewrite_refs(ap, old, name) == -1 ||
		    db_node_relabel_service(s.id, name) != ST_OK ||
		    mark(ap, s.id) == NULL)
			return (internal(ap));
		strlcpy(mark_find(ap, s.id)->name, name,
		    sizeof(ap->marks[0].name));
	}
	if (icon != NULL && db_service_set_icon(s.id, icon) != ST_OK)
		return (internal(ap));
	if (tval_is(tval_get(pl, "reparented"), TREE_TRUE) &&
	    tval_get(pl, "reparented")->tag == TREE_TRUE &&
	    mark(ap, s.id) == NULL)
		return (internal(ap));
	if ((name != NULL || icon != NULL) &&
	    idlist_add(&ap->updated, s.id) != ST_OK)
		return (internal(ap));
	return (0);
}

static int
apply_service_delete(struct apply *ap, const struct pending *e)
{
	struct apply_mark	*m;
	struct service		 s;
	int			 rc;

	if ((rc = db_service_get(ap->proj.id, e->target_id, &s)) == ST_NONE)
		return (0);
	if (rc != ST_OK)
		return (internal(ap));
	/* Its teardown goes to the reconciler once this commits. */
	if ((m = mark(ap, s.id)) == NULL ||
	    rec_gone_stage(s.id) != ST_OK ||
	    db_node_delete_service(s.id) != ST_OK ||
	    db_service_delete(s.id) != ST_OK)
		return (internal(ap));
	m->gone = 1;
	return (0);
}

static int
apply_env_create(struct apply *ap, const struct pending *e,
    const struct tval *pl)
{
	struct envvar	 v;
	const char	*scope, *key, *value, *owner, *msg;
	int		 rc;

	scope = tval_str(pl, "scope");
	key = tval_str(pl, "key");
	value = tval_str(pl, "value");
	if ((msg = env_scope_invalid(scope)) != NULL ||
	    (msg = env_key_invalid(key)) != NULL)
		return (entry_fail(ap, 422, "%s", msg));
	if (e->parent_temp_id[0] != '\0') {
		if ((owner = temp_map(ap, e->parent_temp_id)) == NULL)
			return (entry_fail(ap, 422, "Pending env var "
			    "references a service (%s) that was never staged "
			    "for creation.", e->parent_temp_id));
	} else if (e->target_id[0] != '\0')
		owner = e->target_id;
	else
		return (entry_fail(ap, 422, "The env var has no scope."));
	/* Its service or group is gone: nothing to set. */
	if ((rc = scope_in_project(ap, scope, owner)) == ST_NONE)
		return (0);
	if (rc != ST_OK)
		return (internal(ap));
	memset(&v, 0, sizeof(v));
	uuid_new(v.id);
	strlcpy(v.scope, scope, sizeof(v.scope));
	strlcpy(v.scope_id, owner, sizeof(v.scope_id));
	strlcpy(v.key, key, sizeof(v.key));
	v.value = (char *)(value != NULL ? value : "");
	if ((rc = db_envvar_insert(&v)) == ST_EXISTS)
		return (entry_fail(ap, 409, "Env var \"%s\" already exists.",
		    key));
	if (rc != ST_OK || mark_affected(ap, scope, owner) == -1)
		return (internal(ap));
	return (0);
}

static int
apply_env_change(struct apply *ap, const struct pending *e,
    const struct tval *pl, int delete)
{
	struct envvar	 v;
	const char	*value;
	int		 rc;

	if ((rc = db_envvar_get(e->target_id, &v)) == ST_OK &&
	    (rc = scope_in_project(ap, v.scope, v.scope_id)) != ST_OK)
		envvar_clear(&v);
	if (rc == ST_NONE)
		return (entry_fail(ap, 404, "Env var not found."));
	if (rc != ST_OK)
		return (internal(ap));
	if (delete)
		rc = db_envvar_delete(v.id);
	else if ((value = tval_str(pl, "value")) == NULL)
		rc = -2;
	else
		rc = db_envvar_set_value(v.id, value);
	if (rc == ST_OK && mark_affected(ap, v.scope, v.scope_id) == -1)
		rc = ST_ERROR;
	envvar_clear(&v);
	if (rc == -2)
		return (entry_fail(ap, 422, "value is required."));
	if (rc != ST_OK)
		return (internal(ap));
	return (0);
}

/* After an entry that touches variables: no new reference cycle. */
static int
check_cycles(struct apply *ap)
{
	struct env_model	*m;
	char			 msg[sizeof(ap->f.msg)];
	int			 rc;

	if (ap->had_cycle)
		return (0);
	if (envmodel_load(ap->proj.id, ap->proj.slug, &m) != ST_OK)
		return (internal(ap));
	rc = envmodel_check(m, msg, sizeof(msg));
	envmodel_free(m);
	if (rc == 1)
		return (entry_fail(ap, 422, "%s", msg));
	if (rc != 0)
		return (internal(ap));
	return (0);
}

static int
apply_entry(struct apply *ap, const struct pending *e)
{
	struct tval	 pl;
	int		 rv = 0, touches_env = 1;

	pending_payload(e, &pl);
	if (strcmp(e->op, "project.update") == 0) {
		rv = apply_project_update(ap, &pl);
		touches_env = 0;
	} else if (strcmp(e->op, "service.create") == 0)
		rv = apply_service_create(ap, e, &pl);
	else if (strcmp(e->op, "service.update") == 0)
		rv = apply_service_update(ap, e, &pl);
	else if (strcmp(e->op, "service.delete") == 0) {
		rv = apply_service_delete(ap, e);
		touches_env = 0;
	} else if (strcmp(e->op, "env_var.create") == 0)
		rv = apply_env_create(ap, e, &pl);
	else if (strcmp(e->op, "env_var.update") == 0)
		rv = apply_env_change(ap, e, &pl, 0);
	else if (strcmp(e->op, "env_var.delete") == 0)
		rv = apply_env_change(ap, e, &pl, 1);
	else
		rv = entry_fail(ap, 422, "Unknown operation.");
	tval_free(&pl);
	if (rv == 0 && touches_env)
		rv = check_cycles(ap);
	return (rv);
}

struct dependents {
	struct apply	*ap;
	int		 hit;
};

static void
dependents_cb(const char *name, const char **keys, size_t nkeys, void *arg)
{
	struct dependents	*d = arg;
	size_t			 i;

	for (i = 0; i < d->ap->nmarks; i++)
		if (strcmp(d->ap->marks[i].name, name) == 0)
			d->hit = 1;
}

/*
 * Is the env service id resolves to now not what its latest good
 * deployment has?  0 no (or nothing deployed), 1 yes, -1 on a fault.
 */
static int
env_changed(struct env_model *m, const char *id)
{
	struct deployment	 last;
	struct wbuf		 w;
	int			 rc, changed;

	if ((rc = db_deployment_latest_live(id, &last)) == ST_NONE)
		return (0);
	if (rc != ST_OK)
		return (-1);
	wbuf_init(&w, DKD_IMSG_MAX_INTERNAL);
	rc = envmodel_resolve(m, id, &w, NULL, 0);
	changed = rc == 0 && !w.error && (last.env_vars.p == NULL ||
	    last.env_vars.len != w.len ||
	    memcmp(last.env_vars.p, w.buf, w.len) != 0);
	if (w.buf != NULL)
		explicit_bzero(w.buf, w.len);
	wbuf_free(&w);
	deployment_free(&last);
	/* A service that does not resolve is Apply's error, not ours. */
	return (rc == ST_ERROR ? -1 : changed);
}

/*
 * Deployed services whose variables name a service this apply creates,
 * changes or deletes (${{name.KEY}}, .HOST, .PORT) are redeployed too
 * when what they resolve to is not what they run: until no more.
 */
static int
mark_dependents(struct apply *ap, struct env_model *m)
{
	struct service_ref	*refs;
	struct dependents	 d = { ap, 0 };
	size_t			 n, i;
	int			 more = 1, rc;

	if (db_service_refs(ap->proj.id, &refs, &n) != ST_OK)
		return (-1);
	while (more) {
		more = 0;
		for (i = 0; i < n; i++) {
			if (mark_find(ap, refs[i].id) != NULL)
				continue;
			d.hit = 0;
			if (envmodel_resolve(m, refs[i].id, NULL, NULL, 0) ==
			    ST_ERROR || envmodel_refs(m, refs[i].id,
			    dependents_cb, &d) != ST_OK)
				goto fault;
			if (!d.hit)
				continue;
			if ((rc = env_changed(m, refs[i].id)) == -1)
				goto fault;
			if (rc == 0)
				continue;
			/* Blame the last change: it is all of them. */
			ap->cur = ap->nlog - 1;
			if (mark(ap, refs[i].id) == NULL)
				goto fault;
			more = 1;
		}
	}
	free(refs);
	return (0);
fault:
	free(refs);
	return (-1);
}

/* Deployments for what was created and for what changed. */
static int
apply_deploy(struct apply *ap)
{
	struct env_model	*m;
	struct apply_mark	*mk;
	struct service		 s;
	struct deployment	 last, *d;
	struct pending		*e;
	struct tval		 pl;
	struct wbuf		 ports;
	struct blob		 bports;
	const char		*msg;
	size_t			 i;
	int			 pass, rc, rv = -1;

	if (envmodel_load(ap->proj.id, ap->proj.slug, &m) != ST_OK)
		return (internal(ap));
	for (i = 0; i < ap->nmarks; i++)
		if (ap->marks[i].created)
			envmodel_set_port(m, ap->marks[i].id,
			    ap->marks[i].ports);
	if (ap->nlog > 0 && mark_dependents(ap, m) == -1) {
		internal(ap);
		goto done;
	}
	/* Created services first, in the order of their entries. */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < ap->nmarks; i++) {
			mk = &ap->marks[i];
			if (mk->gone || mk->created != (pass == 0))
				continue;
			ap->cur = mk->entry;
			if ((rc = db_service_get(ap->proj.id, mk->id, &s)) ==
			    ST_NONE)
				continue;
			if (rc != ST_OK) {
				internal(ap);
				goto done;
			}
			if ((d = reallocarray(ap->deps, ap->ndeps + 1,
			    sizeof(*d))) == NULL) {
				internal(ap);
				goto done;
			}
			ap->deps = d;
			d = &ap->deps[ap->ndeps];
			if (mk->created) {
				e = &ap->log[mk->entry];
				pending_payload(e, &pl);
				wbuf_init(&ports, DKD_IMSG_MAX_INTERNAL);
				msg = ports_encode(tval_get(&pl, "ports"),
				    &ports);
				bports.p = ports.buf;
				bports.len = ports.len;
				if (msg != NULL)
					rc = entry_fail(ap, 422, "%s", msg);
				else
					rc = deploy_create_tx(m, &s,
					    tval_str(&pl, "image"), NULL,
					    &bports, NULL, 1, d, &ap->f);
				wbuf_free(&ports);
				tval_free(&pl);
			} else {
				if ((rc = db_deployment_latest_live(s.id,
				    &last)) == ST_NONE)
					continue;
				if (rc != ST_OK) {
					internal(ap);
					goto done;
				}
				rc = deploy_create_tx(m, &s, last.image, NULL,
				    &last.ports, &last.resources,
				    last.replicas, d, &ap->f);
				deployment_free(&last);
				if (rc == 0 && idlist_add(&ap->redeployed,
				    s.id) != ST_OK) {
					ap->ndeps++;
					internal(ap);
					goto done;
				}
			}
			if (rc == -1) {
				/* Its words, with the entry named. */
				if (ap->f.status > 0 && ap->f.status < 500 &&
				    strncmp(ap->f.msg, "Entry ", 6) != 0) {
					char	 m2[sizeof(ap->f.msg)];

					strlcpy(m2, ap->f.msg, sizeof(m2));
					entry_fail(ap, ap->f.status, "%s", m2);
				}
				goto done;
			}
			ap->ndeps++;
		}
	rv = 0;
done:
	envmodel_free(m);
	return (rv);
}

static void
apply_free(struct apply *ap)
{
	pendings_free(ap->log, ap->nlog);
	free(ap->temps);
	free(ap->marks);
	deployments_free(ap->deps, ap->ndeps);
	idlist_free(&ap->redeployed);
	idlist_free(&ap->updated);
}

/* ApplyResult; events leave env var values out. */
static void
tree_apply_result(struct wbuf *w, struct apply *ap, int event)
{
	size_t	 i;

	tree_map(w);
	tree_kv_int(w, "applied_count", (int64_t)ap->nlog);
	tree_key(w, "temp_id_to_service_id");
	tree_map(w);
	for (i = 0; i < ap->ntemps; i++)
		tree_kv_str(w, ap->temps[i].temp, ap->temps[i].id);
	tree_end(w);
	tree_key(w, "redeployed_service_ids");
	tree_array(w);
	for (i = 0; i < ap->redeployed.n; i++)
		tree_str(w, ap->redeployed.ids[i]);
	tree_end(w);
	tree_key(w, "created_deployments");
	tree_array(w);
	for (i = 0; i < ap->ndeps; i++)
		if (event)
			tree_deployment_event(w, &ap->deps[i]);
		else
			tree_deployment(w, &ap->deps[i]);
	tree_end(w);
	tree_end(w);
}

static void
apply_publish(struct apply *ap)
{
	struct service	 s;
	struct wbuf	 w;
	size_t		 i;

	for (i = 0; i < ap->ndeps; i++)
		publish_deployment(ap->proj.id, &ap->deps[i]);
	for (i = 0; i < ap->nmarks; i++) {
		if (!ap->marks[i].gone)
			continue;
		logs_forget(ap->marks[i].id);
		tree_new(&w);
		tree_map(&w);
		tree_kv_str(&w, "service_id", ap->marks[i].id);
		tree_end(&w);
		events_publish(ap->proj.id, "service:deleted", &w, 0);
	}
	for (i = 0; i < ap->updated.n; i++)
		if (db_service_get(ap->proj.id, ap->updated.ids[i], &s) ==
		    ST_OK)
			publish_service(&s);
	publish_canvas_state(ap->proj.id);
	tree_new(&w);
	tree_apply_result(&w, ap, 1);
	events_publish(ap->proj.id, "pending-changes:applied", &w, 0);
}

/* Each service the apply changed, once: its desired state. */
static void
apply_push(struct apply *ap)
{
	size_t	 i, j;

	for (i = 0; i < ap->ndeps; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(ap->deps[j].service_id,
			    ap->deps[i].service_id) == 0)
				break;
		if (j == i)
			rec_push(ap->deps[i].service_id);
	}
	for (i = 0; i < ap->updated.n; i++) {
		for (j = 0; j < ap->ndeps; j++)
			if (strcmp(ap->deps[j].service_id,
			    ap->updated.ids[i]) == 0)
				break;
		if (j == ap->ndeps)
			rec_push(ap->updated.ids[i]);
	}
}

/* POST /api/projects/{pid}/deploy */
void
op_apply(struct request *req)
{
	struct apply	 ap;
	struct wbuf	 w;
	char		 msg[sizeof(ap.f.msg)];
	size_t		 i;

	memset(&ap, 0, sizeof(ap));
	ap.req = req;
	if (project_or_reply(req, req->args.str[PID], &ap.proj) == -1)
		return;
	if (store_begin() != ST_OK) {
		reply_internal(req);
		return;
	}
	if (db_pending_list(ap.proj.id, &ap.log, &ap.nlog) != ST_OK)
		goto fault;
	/* A cycle that was there before (out of band) is not ours. */
	if (ap.nlog > 0) {
		struct env_model	*m;

		if (envmodel_load(ap.proj.id, ap.proj.slug, &m) != ST_OK)
			goto fault;
		ap.had_cycle = envmodel_check(m, msg, sizeof(msg)) != 0;
		envmodel_free(m);
	}
	for (i = 0; i < ap.nlog; i++) {
		ap.cur = i;
		if (apply_entry(&ap, &ap.log[i]) == -1)
			goto fail;
	}
	if (apply_deploy(&ap) == -1)
		goto fail;
	if (db_pending_clear(ap.proj.id) != ST_OK || store_commit() != ST_OK)
		goto fault;
	log_info("project %s: %zu change%s applied by %s, %zu deployment%s",
	    ap.proj.id, ap.nlog, ap.nlog == 1 ? "" : "s",
	    req->user.email[0] != '\0' ? req->user.email : req->user.name,
	    ap.ndeps, ap.ndeps == 1 ? "" : "s");
	apply_publish(&ap);
	rec_gone_flush();
	apply_push(&ap);
	tree_new(&w);
	tree_apply_result(&w, &ap, 0);
	apply_free(&ap);
	reply_tree(req, 200, &w);
	return;
fail:
	store_rollback();
	rec_gone_drop();
	if (ap.f.status >= 500 || ap.f.status == 0)
		log_warnx("project %s: apply failed on entry %zu", ap.proj.id,
		    ap.cur + 1);
	reply_fault(req, &ap.f);
	apply_free(&ap);
	return;
fault:
	store_rollback();
	rec_gone_drop();
	apply_free(&ap);
	reply_internal(req);
}
