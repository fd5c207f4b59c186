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

#include "dkd.h"
#include "log.h"
#include "store.h"

/*
 * Env vars over HTTP, in three scopes that behave alike: a project's
 * (/projects/{pid}/env-vars), a service's (.../services/{sid}/env-vars)
 * and a group's (.../groups/{gid}/env-vars, a group node of the canvas).
 * Lists show what is applied; every change is staged (spec 7.2).  Keys
 * may appear in messages and logs, values never.
 */

struct env_req {
	const char	*scope;
	const char	*pid;
	const char	*owner;		/* NULL: the project */
	const char	*id;		/* the env var */
	const char	*key;
	const char	*value;
	char		 owner_id[NODE_ID_LEN + 1];	/* as checked */
	struct project	 proj;
};

/* Which fields an op has where. */
static void
env_req_fill(struct request *req, struct env_req *e)
{
	struct op_args	*a = &req->args;
	int		 key = -1, value = -1, id = -1;

	memset(e, 0, sizeof(*e));
	switch (req->op) {
	case OP_ENV_PROJECT_CREATE:
	case OP_ENV_PROJECT_LIST:
	case OP_ENV_PROJECT_UPDATE:
	case OP_ENV_PROJECT_DELETE:
		e->scope = "project";
		e->pid = a->str[ENV_PID];
		if (req->op == OP_ENV_PROJECT_CREATE) {
			key = ENV_KEY;
			value = ENV_VALUE;
		} else if (req->op != OP_ENV_PROJECT_LIST) {
			id = ENV_ITEM_ID;
			value = ENV_ITEM_VALUE;
		}
		break;
	default:
		e->scope = req->op == OP_ENV_SERVICE_CREATE ||
		    req->op == OP_ENV_SERVICE_LIST ||
		    req->op == OP_ENV_SERVICE_UPDATE ||
		    req->op == OP_ENV_SERVICE_DELETE ? "service" : "group";
		e->pid = a->str[ENVO_PID];
		e->owner = a->str[ENVO_OWNER];
		if (req->op == OP_ENV_SERVICE_CREATE ||
		    req->op == OP_ENV_GROUP_CREATE) {
			key = ENVO_KEY;
			value = ENVO_VALUE;
		} else if (req->op != OP_ENV_SERVICE_LIST &&
		    req->op != OP_ENV_GROUP_LIST) {
			id = ENVO_ITEM_ID;
			value = ENVO_ITEM_VALUE;
		}
		break;
	}
	/* Delete has no value field. */
	if (value != -1 && value >= req->spec->nfields)
		value = -1;
	if (key != -1 && a->present[key])
		e->key = a->str[key];
	if (value != -1 && a->present[value])
		e->value = a->str[value];
	if (id != -1)
		e->id = a->str[id];
}

/* The project, and the owner of the scope in it; -1 once answered. */
static int
env_owner(struct request *req, struct env_req *e)
{
	struct service		 s;
	struct canvas_node	 n;
	int			 rc;

	if (project_or_reply(req, e->pid, &e->proj) == -1)
		return (-1);
	if (e->owner == NULL) {
		strlcpy(e->owner_id, e->proj.id, sizeof(e->owner_id));
		return (0);
	}
	if (strcmp(e->scope, "service") == 0) {
		if (service_or_reply(req, &e->proj, e->owner, &s) == -1)
			return (-1);
		strlcpy(e->owner_id, s.id, sizeof(e->owner_id));
		return (0);
	}
	if ((rc = db_node_get(e->owner, &n)) == ST_OK) {
		if (strcmp(n.project_id, e->proj.id) != 0 ||
		    strcmp(n.type, "group") != 0)
			rc = ST_NONE;
		canvas_node_free(&n);
	}
	if (rc != ST_OK) {
		reply_store(req, rc, "Group not found.");
		return (-1);
	}
	strlcpy(e->owner_id, e->owner, sizeof(e->owner_id));
	return (0);
}

/* The env var of the path, in the scope of the path; -1 once answered. */
static int
env_item(struct request *req, struct env_req *e, struct envvar *v)
{
	int	 rc;

	if ((rc = db_envvar_get(e->id, v)) == ST_OK &&
	    (strcmp(v->scope, e->scope) != 0 ||
	    strcmp(v->scope_id, e->owner_id) != 0)) {
		envvar_clear(v);
		rc = ST_NONE;
	}
	if (rc != ST_OK) {
		reply_store(req, rc, "Env var not found.");
		return (-1);
	}
	return (0);
}

/*
 * Is key taken in the scope: applied and not staged for deletion, or
 * staged for creation?  0, 1, or ST_ERROR.
 */
static int
env_key_taken(struct env_req *e, const char *key)
{
	struct envvar	 v;
	struct pending	*log;
	struct tval	 pl;
	const char	*k, *scope;
	size_t		 nlog, i;
	int		 rc, applied = 0, taken = 0;

	if ((rc = db_envvar_find(e->scope, e->owner_id, key, &v)) ==
	    ST_ERROR)
		return (ST_ERROR);
	applied = rc == ST_OK;
	if (db_pending_list(e->proj.id, &log, &nlog) != ST_OK) {
		if (applied)
			envvar_clear(&v);
		return (ST_ERROR);
	}
	for (i = 0; i < nlog; i++) {
		if (applied && strcmp(log[i].op, "env_var.delete") == 0 &&
		    strcmp(log[i].target_id, v.id) == 0)
			applied = 0;
		if (strcmp(log[i].op, "env_var.create") != 0 ||
		    strcmp(log[i].target_id, e->owner_id) != 0)
			continue;
		pending_payload(&log[i], &pl);
		if ((k = tval_str(&pl, "key")) != NULL &&
		    (scope = tval_str(&pl, "scope")) != NULL &&
		    strcmp(k, key) == 0 && strcmp(scope, e->scope) == 0)
			taken = 1;
		tval_free(&pl);
	}
	pendings_free(log, nlog);
	if (rc == ST_OK)
		envvar_clear(&v);
	return (taken || applied);
}

/* POST .../env-vars {key, value}: stage a new variable. */
void
op_env_create(struct request *req)
{
	struct env_req	 e;
	struct verrors	 ve = { 0 };
	struct wbuf	 w;
	const char	*msg;
	int		 rc;

	env_req_fill(req, &e);
	if (env_owner(req, &e) == -1)
		return;
	if ((msg = env_key_invalid(e.key)) != NULL) {
		verror_add(&ve, "key", msg);
		reply_invalid(req, &ve);
		return;
	}
	if ((rc = env_key_taken(&e, e.key)) != 0) {
		if (rc == ST_ERROR)
			reply_internal(req);
		else
			reply_error(req, 409, "Env var \"%s\" already exists.",
			    e.key);
		return;
	}
	tree_new(&w);
	tree_map(&w);
	tree_kv_str(&w, "scope", e.scope);
	tree_kv_str(&w, "key", e.key);
	tree_kv_str(&w, "value", e.value != NULL ? e.value : "");
	tree_end(&w);
	stage_reply(req, e.proj.id, "env_var.create", "env_var", e.owner_id,
	    &w, 201);
}

/* GET .../env-vars: what is applied, by key. */
void
op_env_list(struct request *req)
{
	struct env_req	 e;
	struct envvar	*rows;
	size_t		 n;

	env_req_fill(req, &e);
	if (env_owner(req, &e) == -1)
		return;
	if (db_envvar_list(e.scope, e.owner_id, &rows, &n) != ST_OK) {
		reply_internal(req);
		return;
	}
	reply_list(req, rows, n, sizeof(*rows), tree_envvar);
	envvars_free(rows, n);
}

/* PATCH .../env-vars/{id} {value}: stage a new value. */
/*
 * Stage the update (with the new value) or the removal of the env var
 * of the path; the payload keeps the old value for the Apply.
 */
static void
env_stage_change(struct request *req, int update)
{
	struct env_req	 e;
	struct envvar	 v;
	struct wbuf	 w;

	env_req_fill(req, &e);
	if (env_owner(req, &e) == -1 || env_item(req, &e, &v) == -1)
		return;
	if (update && e.value == NULL) {
		envvar_clear(&v);
		reply_error(req, 400, "value is required.");
		return;
	}
	tree_new(&w);
	tree_map(&w);
	if (update) {
		tree_kv_str(&w, "value", e.value);
		tree_kv_str(&w, "old_value", v.value);
	}
	tree_kv_str(&w, "scope", v.scope);
	tree_kv_str(&w, "scope_id", v.scope_id);
	tree_kv_str(&w, "key", v.key);
	if (!update)
		tree_kv_str(&w, "old_value", v.value);
	tree_end(&w);
	envvar_clear(&v);
	stage_reply(req, e.proj.id, update ? "env_var.update" :
	    "env_var.delete", "env_var", v.id, &w, 200);
}

void
op_env_update(struct request *req)
{
	env_stage_change(req, 1);
}

/* DELETE .../env-vars/{id}: stage its removal. */
void
op_env_delete(struct request *req)
{
	env_stage_change(req, 0);
}
