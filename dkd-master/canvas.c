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

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkd.h"
#include "log.h"
#include "store.h"

/*
 * The canvas ops dkd-api asks for on behalf of WebSocket clients (spec
 * 9, CANVAS-PROTOCOL.md).  Joining gives a ticket; every other op acts
 * on the ticket's project only (Decision 7): a node or edge of another
 * project is "not found", never touched.  Payloads are the clients'
 * JSON as value trees; canvas data stays the client's text.  Events go
 * out before the reply, so dkd-api sees them first.
 */

#define NODE_MOVES_MAX	1000

/* A number at key: 1 and *d, 0 when absent or null, -1 not a number. */
static int
tval_num(const struct tval *v, const char *key, double *d)
{
	const struct tval	*n = tval_get(v, key);

	if (n == NULL || n->tag == TREE_NULL)
		return (0);
	if (n->tag == TREE_INT)
		*d = (double)n->i;
	else if (n->tag == TREE_DOUBLE)
		*d = n->d;
	else
		return (-1);
	return (isfinite(*d) ? 1 : -1);
}

/* A string at key that fits in len (with its NUL), or NULL. */
static const char *
tval_id(const struct tval *v, const char *key, size_t len)
{
	const char	*s = tval_str(v, key);

	if (s == NULL || *s == '\0' || strlen(s) >= len)
		return (NULL);
	return (s);
}

static void
reply_empty_map(struct request *req)
{
	struct wbuf	 w;

	tree_new(&w);
	tree_map(&w);
	tree_end(&w);
	reply_tree(req, 200, &w);
}

static void
publish_node(const struct canvas_node *n)
{
	events_publish_item(n->project_id, "node:upserted", NULL, tree_node, n);
}

static void
publish_id(const char *project_id, const char *type, const char *id)
{
	struct wbuf	 w;

	tree_new(&w);
	tree_map(&w);
	tree_kv_str(&w, "id", id);
	tree_end(&w);
	events_publish(project_id, type, &w, 0);
}

/* The node id of the ticket's project, or ST_NONE. */
static int
node_of_project(struct request *req, const char *id, struct canvas_node *n)
{
	int	 rc;

	if ((rc = db_node_get(id, n)) == ST_OK &&
	    strcmp(n->project_id, req->ticket.project_id) != 0) {
		canvas_node_free(n);
		rc = ST_NONE;
	}
	return (rc);
}

/* CANVAS_OPEN: may a WebSocket for this project be opened? */
void
op_canvas_open(struct request *req)
{
	struct project	 p;
	int		 rc;

	if ((rc = db_project_get(req->args.str[CANVAS_PROJECT_ID], &p)) !=
	    ST_OK) {
		reply_store(req, rc, "Project not found.");
		return;
	}
	reply_empty_map(req);
}

/* CANVAS_JOIN: a ticket for the connection, and the canvas as it is. */
void
op_canvas_join(struct request *req)
{
	struct op_args	*a = &req->args;
	struct project	 p;
	struct wbuf	 w;
	char		 ticket[TICKET_LEN + 1];
	int		 rc;

	if ((rc = db_project_get(a->str[CANVAS_PROJECT_ID], &p)) != ST_OK) {
		reply_store(req, rc, "Project not found.");
		return;
	}
	if (a->num[CANVAS_CONN] <= 0 || a->num[CANVAS_CONN] > UINT32_MAX) {
		reply_error(req, 400, "Invalid connection.");
		return;
	}
	tree_new(&w);
	tree_map(&w);
	if (tree_canvas(&w, p.id) != ST_OK) {
		wbuf_free(&w);
		reply_internal(req);
		return;
	}
	tree_key(&w, "changes");
	if (tree_pending_list(&w, p.id) != ST_OK) {
		wbuf_free(&w);
		reply_internal(req);
		return;
	}
	if (ticket_issue(req->user.id, p.id, (uint32_t)a->num[CANVAS_CONN],
	    ticket) == -1) {
		wbuf_free(&w);
		reply_error(req, 503, "Too many canvas connections.");
		return;
	}
	tree_kv_str(&w, "ticket", ticket);
	explicit_bzero(ticket, sizeof(ticket));
	tree_kv_str(&w, "user_id", req->user.id);
	tree_kv_str(&w, "user_name", req->user.name);
	tree_end(&w);
	reply_tree(req, 200, &w);
}

/* CANVAS_LEAVE: the connection is gone, and so is its ticket. */
void
op_canvas_leave(struct request *req)
{
	ticket_release(req->token_hash);
	reply_empty(req, 204);
}

/* The node a node:upsert payload describes; NULL or the problem. */
static const char *
node_from_payload(struct request *req, const struct tval *pl,
    struct canvas_node *n)
{
	static const char	*bad = "Failed to save node.";
	const char		*id, *type, *label, *sid, *parent, *data;
	int			 rc;

	memset(n, 0, sizeof(*n));
	if (pl->tag != TREE_MAP ||
	    (id = tval_id(pl, "id", sizeof(n->id))) == NULL ||
	    (type = tval_str(pl, "type")) == NULL ||
	    node_type_invalid(type) != NULL)
		return (bad);
	label = tval_str(pl, "label");
	if (tval_get(pl, "label") != NULL && !tval_is(tval_get(pl, "label"),
	    TREE_NULL) && label == NULL)
		return (bad);
	if (label != NULL && strlen(label) > NODE_LABEL_LEN)
		return (bad);
	if (tval_num(pl, "position_x", &n->x) == -1 ||
	    tval_num(pl, "position_y", &n->y) == -1 ||
	    (rc = tval_num(pl, "width", &n->width)) == -1)
		return (bad);
	n->has_width = rc;
	if ((rc = tval_num(pl, "height", &n->height)) == -1)
		return (bad);
	n->has_height = rc;
	sid = tval_str(pl, "service_id");
	parent = tval_str(pl, "parent_id");
	data = tval_str(pl, "data");
	if ((tval_get(pl, "data") != NULL && !tval_is(tval_get(pl, "data"),
	    TREE_NULL) && data == NULL) ||
	    (sid != NULL && strlen(sid) >= sizeof(n->service_id)) ||
	    (parent != NULL && strlen(parent) >= sizeof(n->parent_id)))
		return (bad);
	strlcpy(n->id, id, sizeof(n->id));
	strlcpy(n->project_id, req->ticket.project_id, sizeof(n->project_id));
	strlcpy(n->type, type, sizeof(n->type));
	strlcpy(n->label, label != NULL ? label : "", sizeof(n->label));
	if (sid != NULL)
		strlcpy(n->service_id, sid, sizeof(n->service_id));
	if (parent != NULL)
		strlcpy(n->parent_id, parent, sizeof(n->parent_id));
	if ((n->data = strdup(data != NULL && *data != '\0' ? data : "{}")) ==
	    NULL)
		return (bad);
	if (strcmp(n->parent_id, n->id) == 0 ||
	    (strcmp(n->type, "group") == 0 && n->parent_id[0] != '\0'))
		return (bad);
	return (NULL);
}

/* CANVAS_NODE_UPSERT */
void
op_canvas_node_upsert(struct request *req)
{
	struct canvas_node	 n, old, parent, saved;
	struct service		 s;
	struct pending		 p;
	struct idlist		 removed = { 0 };
	struct fault		 f = { 0 };
	const char		*msg;
	int			 rc, had_old = 0, added = 0;

	memset(&old, 0, sizeof(old));
	if ((msg = node_from_payload(req, &req->args.val[CANVAS_PAYLOAD],
	    &n)) != NULL) {
		canvas_node_free(&n);
		reply_error(req, 422, "%s", msg);
		return;
	}
	if ((rc = db_node_get(n.id, &old)) == ST_OK) {
		had_old = 1;
		if (strcmp(old.project_id, n.project_id) != 0) {
			fault_set(&f, 404, "Node not found.");
			goto fail;
		}
		/* A service's node stays its node. */
		if (n.service_id[0] == '\0')
			strlcpy(n.service_id, old.service_id,
			    sizeof(n.service_id));
	} else if (rc != ST_NONE)
		goto fault;
	if (n.service_id[0] != '\0' && (strcmp(n.type, "service") != 0 ||
	    (rc = db_service_get(n.project_id, n.service_id, &s)) != ST_OK)) {
		if (rc == ST_ERROR)
			goto fault;
		fault_set(&f, 422, "Failed to save node.");
		goto fail;
	}
	if (n.parent_id[0] != '\0') {
		if ((rc = node_of_project(req, n.parent_id, &parent)) !=
		    ST_OK) {
			if (rc == ST_ERROR)
				goto fault;
			fault_set(&f, 404, "Parent group not found.");
			goto fail;
		}
		rc = strcmp(parent.type, "group") == 0;
		canvas_node_free(&parent);
		if (!rc) {
			fault_set(&f, 422, "Parent must be a group node.");
			goto fail;
		}
	}
	if (store_begin() != ST_OK)
		goto fault;
	if ((rc = db_node_upsert(&n)) != ST_OK) {
		store_rollback();
		if (rc == ST_ERROR)
			goto fault;
		fault_set(&f, 422, "Failed to save node.");
		goto fail;
	}
	if (n.service_id[0] != '\0' && strcmp(old.parent_id,
	    n.parent_id) != 0 && pending_coalesce_reparent(req, n.project_id,
	    n.service_id, old.parent_id, n.parent_id, &removed, &p, &added,
	    &f) == -1) {
		store_rollback();
		goto fail;
	}
	if (store_commit() != ST_OK)
		goto fault;
	if (db_node_get(n.id, &saved) == ST_OK) {
		publish_node(&saved);
		canvas_node_free(&saved);
	}
	publish_pending_removed(n.project_id, &removed);
	if (added) {
		publish_pending_added(&p);
		pending_free(&p);
	}
	idlist_free(&removed);
	canvas_node_free(&n);
	if (had_old)
		canvas_node_free(&old);
	reply_empty_map(req);
	return;
fault:
	store_rollback();
	fault_set(&f, 500, "Internal error.");
fail:
	idlist_free(&removed);
	canvas_node_free(&n);
	if (had_old)
		canvas_node_free(&old);
	reply_fault(req, &f);
}

/*
 * CANVAS_NODE_DELETE: a service's node stages the service's deletion
 * and stays; any other node goes, with what was staged on it.
 */
void
op_canvas_node_delete(struct request *req)
{
	const struct tval	*pl = &req->args.val[CANVAS_PAYLOAD];
	struct canvas_node	 n;
	struct pending		 p;
	struct idlist		 removed = { 0 };
	struct fault		 f;
	struct wbuf		 w;
	const char		*id;
	int			 rc;

	if ((id = tval_id(pl, "id", sizeof(n.id))) == NULL) {
		reply_error(req, 400, "Invalid node delete payload.");
		return;
	}
	if ((rc = node_of_project(req, id, &n)) != ST_OK) {
		reply_store(req, rc, "Node not found.");
		return;
	}
	if (n.service_id[0] != '\0') {
		rc = pending_find_delete(n.project_id, n.service_id, &p);
		if (rc == ST_OK)
			pending_free(&p);
		else if (rc == ST_NONE) {
			tree_new(&w);
			tree_map(&w);
			tree_end(&w);
			if (pending_init(&p, n.project_id, "service.delete",
			    "service", &w) == -1) {
				canvas_node_free(&n);
				reply_internal(req);
				return;
			}
			strlcpy(p.target_id, n.service_id, sizeof(p.target_id));
			if (pending_stage(req, &p, &f) == -1) {
				pending_free(&p);
				canvas_node_free(&n);
				reply_fault(req, &f);
				return;
			}
			pending_free(&p);
		}
		canvas_node_free(&n);
		if (rc == ST_ERROR)
			reply_internal(req);
		else
			reply_empty_map(req);
		return;
	}
	if (store_begin() != ST_OK ||
	    db_pending_remove_temp(n.project_id, n.id, &removed) != ST_OK ||
	    (strcmp(n.type, "group") == 0 &&
	    db_pending_remove_group(n.project_id, n.id, &removed) != ST_OK) ||
	    db_node_delete(n.id) != ST_OK || store_commit() != ST_OK) {
		store_rollback();
		idlist_free(&removed);
		canvas_node_free(&n);
		reply_internal(req);
		return;
	}
	publish_id(n.project_id, "node:deleted", n.id);
	publish_pending_removed(n.project_id, &removed);
	idlist_free(&removed);
	canvas_node_free(&n);
	reply_empty_map(req);
}

/* CANVAS_NODE_MOVE {positions: [{id, position_x, position_y}]} */
void
op_canvas_node_move(struct request *req)
{
	const struct tval	*pl = &req->args.val[CANVAS_PAYLOAD];
	const struct tval	*pos, *e;
	struct wbuf		 w;
	const char		*id;
	double			 x, y;
	size_t			 i, moved = 0;
	int			 rc;

	pos = tval_get(pl, "positions");
	if (pos == NULL || pos->tag != TREE_ARRAY || pos->n == 0 ||
	    pos->n > NODE_MOVES_MAX) {
		reply_error(req, 400, "Invalid node move payload.");
		return;
	}
	for (i = 0; i < pos->n; i++) {
		e = &pos->items[i];
		if (tval_id(e, "id", NODE_ID_LEN + 1) == NULL ||
		    tval_num(e, "position_x", &x) != 1 ||
		    tval_num(e, "position_y", &y) != 1) {
			reply_error(req, 400, "Invalid node move payload.");
			return;
		}
	}
	tree_new(&w);
	tree_map(&w);
	tree_key(&w, "positions");
	tree_array(&w);
	if (store_begin() != ST_OK)
		goto fault;
	for (i = 0; i < pos->n; i++) {
		e = &pos->items[i];
		id = tval_str(e, "id");
		(void)tval_num(e, "position_x", &x);
		(void)tval_num(e, "position_y", &y);
		/* Another project's node is none of this one's: skipped. */
		if ((rc = db_node_move(req->ticket.project_id, id, x, y)) ==
		    ST_NONE)
			continue;
		if (rc != ST_OK)
			goto fault;
		moved++;
		tree_map(&w);
		tree_kv_str(&w, "id", id);
		tree_kv_double(&w, "position_x", x);
		tree_kv_double(&w, "position_y", y);
		tree_end(&w);
	}
	if (store_commit() != ST_OK)
		goto fault;
	tree_end(&w);
	tree_kv_str(&w, "user_id", req->user.id);
	tree_end(&w);
	if (moved > 0)
		events_publish(req->ticket.project_id, "node:moved", &w,
		    req->ticket.conn);
	else
		wbuf_free(&w);
	reply_empty_map(req);
	return;
fault:
	store_rollback();
	wbuf_free(&w);
	reply_internal(req);
}

/* Edges the master draws (env-ref) say so in their data. */
static int
edge_managed(const char *data)
{
	return (data != NULL && strstr(data, "managed") != NULL);
}

/* CANVAS_EDGE_UPSERT {id, source_id, target_id, label?, data} */
void
op_canvas_edge_upsert(struct request *req)
{
	const struct tval	*pl = &req->args.val[CANVAS_PAYLOAD];
	static const char	*bad = "Failed to save edge.";
	struct canvas_edge	 e, old, saved;
	struct canvas_node	 n;
	const char		*id, *src, *dst, *label, *data;
	int			 rc;

	memset(&e, 0, sizeof(e));
	if ((id = tval_id(pl, "id", sizeof(e.id))) == NULL ||
	    (src = tval_id(pl, "source_id", sizeof(e.source_id))) == NULL ||
	    (dst = tval_id(pl, "target_id", sizeof(e.target_id))) == NULL) {
		reply_error(req, 422, "%s", bad);
		return;
	}
	label = tval_str(pl, "label");
	data = tval_str(pl, "data");
	if ((tval_get(pl, "data") != NULL && !tval_is(tval_get(pl, "data"),
	    TREE_NULL) && data == NULL) ||
	    (tval_get(pl, "label") != NULL && !tval_is(tval_get(pl, "label"),
	    TREE_NULL) && label == NULL) ||
	    (label != NULL && strlen(label) > NODE_LABEL_LEN)) {
		reply_error(req, 422, "%s", bad);
		return;
	}
	/* Clients cannot make an edge look like one of the master's. */
	if (edge_managed(data)) {
		reply_error(req, 422, "This edge is managed by the system and "
		    "cannot be edited.");
		return;
	}
	if ((rc = db_edge_get(id, &old)) == ST_OK) {
		rc = strcmp(old.project_id, req->ticket.project_id) != 0 ? 1 :
		    edge_managed(old.data) ? 2 : 0;
		canvas_edge_free(&old);
		if (rc == 1) {
			reply_error(req, 404, "Edge not found.");
			return;
		}
		if (rc == 2) {
			reply_error(req, 422, "This edge is managed by the "
			    "system and cannot be edited.");
			return;
		}
	} else if (rc != ST_NONE) {
		reply_internal(req);
		return;
	}
	if ((rc = node_of_project(req, src, &n)) == ST_OK) {
		canvas_node_free(&n);
		rc = node_of_project(req, dst, &n);
		if (rc == ST_OK)
			canvas_node_free(&n);
	}
	if (rc != ST_OK) {
		reply_store(req, rc, "Node not found.");
		return;
	}
	strlcpy(e.id, id, sizeof(e.id));
	strlcpy(e.project_id, req->ticket.project_id, sizeof(e.project_id));
	strlcpy(e.source_id, src, sizeof(e.source_id));
	strlcpy(e.target_id, dst, sizeof(e.target_id));
	e.label = (char *)label;
	e.data = (char *)(data != NULL && *data != '\0' ? data : "{}");
	if ((rc = db_edge_upsert(&e)) != ST_OK) {
		if (rc == ST_ERROR)
			reply_internal(req);
		else
			reply_error(req, 422, "%s", bad);
		return;
	}
	if (db_edge_get(e.id, &saved) == ST_OK) {
		events_publish_item(saved.project_id, "edge:upserted", NULL,
		    tree_edge, &saved);
		canvas_edge_free(&saved);
	}
	reply_empty_map(req);
}

/* CANVAS_EDGE_DELETE {id} */
void
op_canvas_edge_delete(struct request *req)
{
	const struct tval	*pl = &req->args.val[CANVAS_PAYLOAD];
	struct canvas_edge	 e;
	const char		*id;
	int			 rc, managed;

	if ((id = tval_id(pl, "id", sizeof(e.id))) == NULL) {
		reply_error(req, 400, "Failed to delete edge.");
		return;
	}
	if ((rc = db_edge_get(id, &e)) == ST_OK &&
	    strcmp(e.project_id, req->ticket.project_id) != 0) {
		canvas_edge_free(&e);
		rc = ST_NONE;
	}
	if (rc != ST_OK) {
		reply_store(req, rc, "Failed to delete edge.");
		return;
	}
	managed = edge_managed(e.data);
	canvas_edge_free(&e);
	if (managed) {
		reply_error(req, 422, "This edge is managed by the system and "
		    "cannot be deleted.");
		return;
	}
	if ((rc = db_edge_delete(id)) != ST_OK) {
		reply_store(req, rc, "Failed to delete edge.");
		return;
	}
	publish_id(req->ticket.project_id, "edge:deleted", id);
	reply_empty_map(req);
}

/*
 * The service a service:create payload describes, checked, as the
 * payload of its service.create entry into w; NULL or the problem.
 */
static const char *
service_create_payload(const struct tval *pl, struct wbuf *w, char *msg,
    size_t len)
{
	const struct tval	*envs, *e, *ports;
	const char		*name, *image, *icon, *key, *value, *bad;
	struct wbuf		 pw;
	size_t			 i, j;

	name = tval_str(pl, "name");
	image = tval_str(pl, "image");
	icon = tval_str(pl, "icon_url");
	if ((bad = service_name_invalid(name)) != NULL ||
	    (bad = image_invalid(image)) != NULL ||
	    (bad = icon_url_invalid(icon)) != NULL)
		return (bad);
	envs = tval_get(pl, "env_vars");
	if (envs != NULL && envs->tag != TREE_NULL && envs->tag != TREE_ARRAY)
		return ("Env vars must be a list.");
	for (i = 0; envs != NULL && envs->tag == TREE_ARRAY && i < envs->n;
	    i++) {
		e = &envs->items[i];
		key = tval_str(e, "key");
		value = tval_str(e, "value");
		if ((bad = env_key_invalid(key)) != NULL)
			return (bad);
		if (tval_get(e, "value") != NULL && value == NULL &&
		    !tval_is(tval_get(e, "value"), TREE_NULL))
			return ("Env var values must be strings.");
		for (j = 0; j < i; j++)
			if (tval_str(&envs->items[j], "key") != NULL &&
			    strcmp(tval_str(&envs->items[j], "key"), key) ==
			    0) {
				(void)snprintf(msg, len, "Duplicate env var "
				    "key: %s", key);
				return (msg);
			}
	}
	ports = tval_get(pl, "ports");
	wbuf_init(&pw, DKD_IMSG_MAX_INTERNAL);
	if ((bad = ports_encode(ports, &pw)) != NULL) {
		wbuf_free(&pw);
		return (bad);
	}
	tree_map(w);
	tree_kv_str(w, "name", name);
	tree_kv_str(w, "image", image);
	if (icon != NULL && *icon != '\0')
		tree_kv_str(w, "icon_url", icon);
	if (ports != NULL && ports->tag == TREE_ARRAY && ports->n > 0) {
		tree_key(w, "ports");
		wire_put_raw(w, pw.buf, pw.len);
	}
	wbuf_free(&pw);
	if (envs != NULL && envs->tag == TREE_ARRAY && envs->n > 0) {
		tree_key(w, "env_vars");
		tree_array(w);
		for (i = 0; i < envs->n; i++) {
			value = tval_str(&envs->items[i], "value");
			tree_map(w);
			tree_kv_str(w, "scope", "service");
			tree_kv_str(w, "key", tval_str(&envs->items[i],
			    "key"));
			tree_kv_str(w, "value", value != NULL ? value : "");
			tree_end(w);
		}
		tree_end(w);
	}
	tree_end(w);
	return (NULL);
}

/*
 * CANVAS_SERVICE_CREATE (spec 9.3): a placeholder node and the
 * service.create entry that will make it a service, in one go.
 */
void
op_canvas_service_create(struct request *req)
{
	const struct tval	*pl = &req->args.val[CANVAS_PAYLOAD];
	struct canvas_node	 n;
	struct pending		 p;
	struct fault		 f;
	struct wbuf		 w;
	const char		*msg, *image;
	char			 buf[256];
	double			 x = 0, y = 0;

	memset(&n, 0, sizeof(n));
	if (tval_id(pl, "draft_id", 256) == NULL) {
		reply_error(req, 400, "Invalid service create payload.");
		return;
	}
	tree_new(&w);
	if ((msg = service_create_payload(pl, &w, buf, sizeof(buf))) != NULL ||
	    tval_num(pl, "x", &x) == -1 || tval_num(pl, "y", &y) == -1) {
		wbuf_free(&w);
		reply_error(req, 422, "%s", msg != NULL ? msg :
		    "Invalid service create payload.");
		return;
	}
	if (pending_init(&p, req->ticket.project_id, "service.create",
	    "service", &w) == -1) {
		reply_internal(req);
		return;
	}
	image = tval_str(pl, "image");
	uuid_new(n.id);
	strlcpy(n.project_id, req->ticket.project_id, sizeof(n.project_id));
	strlcpy(n.type, "service", sizeof(n.type));
	strlcpy(n.label, tval_str(pl, "name"), sizeof(n.label));
	n.x = x;
	n.y = y;
	/* The image is a plain reference (image_invalid): no escaping. */
	(void)snprintf(buf, sizeof(buf), "{\"image\":\"%s\"}", image);
	if (strlen(image) + 12 >= sizeof(buf) || (n.data = strdup(buf)) ==
	    NULL)
		n.data = strdup("{}");
	strlcpy(p.target_temp_id, n.id, sizeof(p.target_temp_id));
	if (n.data == NULL || store_begin() != ST_OK) {
		fault_set(&f, 500, "Internal error.");
		goto fail;
	}
	if (db_node_upsert(&n) != ST_OK) {
		store_rollback();
		fault_set(&f, 500, "Failed to place service on canvas.");
		goto fail;
	}
	/* Refused: the node goes with the transaction. */
	if (pending_stage_tx(req, &p, &f) == -1 || store_commit() != ST_OK) {
		store_rollback();
		if (f.status == 0)
			fault_set(&f, 500, "Failed to create service.");
		goto fail;
	}
	canvas_node_free(&n);
	if (db_node_get(p.target_temp_id, &n) != ST_OK) {
		pending_free(&p);
		reply_internal(req);
		return;
	}
	publish_node(&n);
	publish_pending_added(&p);
	tree_new(&w);
	tree_map(&w);
	tree_key(&w, "node");
	tree_node(&w, &n);
	tree_key(&w, "pending_change");
	tree_pending(&w, &p);
	tree_end(&w);
	canvas_node_free(&n);
	pending_free(&p);
	reply_tree(req, 200, &w);
	return;
fail:
	canvas_node_free(&n);
	pending_free(&p);
	reply_fault(req, &f);
}
