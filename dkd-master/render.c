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
 * The JSON shapes of spec section 4 as reply trees: one renderer per
 * type, shared by the handlers and the events.  Events are not replies:
 * they go to every canvas in the room and to "dkctl events", so their
 * renderings leave env var values out (Decision 14).
 */

/* A stored value tree, checked; what it should have been if it is not. */
void
tree_blob(struct wbuf *w, const struct blob *b, enum tree_tag fallback)
{
	struct tval	 v;
	struct rbuf	 r;

	if (b->p != NULL) {
		rbuf_init(&r, b->p, b->len);
		if (tval_decode_all(&r, &v, b->len) == 0) {
			tval_free(&v);
			wire_put_raw(w, b->p, b->len);
			return;
		}
	}
	if (fallback == TREE_MAP) {
		tree_map(w);
		tree_end(w);
	} else if (fallback == TREE_ARRAY) {
		tree_array(w);
		tree_end(w);
	} else
		tree_null(w);
}

/* A stored value tree into v; an empty map when it does not decode. */
void
blob_tval(const struct blob *b, struct tval *v)
{
	struct rbuf	 r;

	if (b->p != NULL) {
		rbuf_init(&r, b->p, b->len);
		if (tval_decode_all(&r, v, b->len) == 0)
			return;
	}
	memset(v, 0, sizeof(*v));
	v->tag = TREE_MAP;
}

static void
tree_kv_nstr(struct wbuf *w, const char *k, const char *v)
{
	tree_key(w, k);
	tree_nstr(w, v[0] != '\0' ? v : NULL);
}

void
tree_service(struct wbuf *w, const void *arg)
{
	const struct service	*s = arg;

	tree_map(w);
	tree_kv_str(w, "id", s->id);
	tree_kv_str(w, "project_id", s->project_id);
	tree_kv_str(w, "name", s->name);
	tree_kv_str(w, "status", s->status);
	tree_kv_nstr(w, "icon_url", s->icon_url);
	tree_kv_nstr(w, "active_deployment_id", s->active_id);
	tree_time(w, "created_at", s->created_at);
	tree_time(w, "updated_at", s->updated_at);
	if (s->active_found) {
		/* A minimal deployment, as the reference joins it. */
		tree_key(w, "active_deployment");
		tree_map(w);
		tree_kv_str(w, "id", s->active_id);
		tree_kv_str(w, "service_id", s->id);
		tree_kv_str(w, "image", s->active_image);
		tree_key(w, "env_vars");
		tree_null(w);
		tree_key(w, "ports");
		tree_null(w);
		tree_kv_int(w, "replicas", s->active_replicas);
		tree_kv_str(w, "status", "");
		tree_kv_int(w, "attempt_count", 0);
		tree_time(w, "created_at", s->active_created_at);
		tree_end(w);
	}
	tree_end(w);
}

static void
deployment_tree(struct wbuf *w, const struct deployment *d, int redact)
{
	tree_map(w);
	tree_kv_str(w, "id", d->id);
	tree_kv_str(w, "service_id", d->service_id);
	tree_kv_str(w, "image", d->image);
	if (!redact) {
		tree_key(w, "env_vars");
		tree_blob(w, &d->env_vars, TREE_MAP);
	}
	tree_key(w, "ports");
	tree_blob(w, &d->ports, TREE_ARRAY);
	if (d->resources.p != NULL) {
		tree_key(w, "resources");
		tree_blob(w, &d->resources, TREE_NULL);
	}
	tree_kv_int(w, "replicas", d->replicas);
	tree_kv_str(w, "status", d->status);
	if (d->failure_reason != NULL && d->failure_reason[0] != '\0')
		tree_kv_str(w, "failure_reason", d->failure_reason);
	if (d->has_exit_code)
		tree_kv_int(w, "exit_code", d->exit_code);
	if (d->log_tail != NULL && d->log_tail[0] != '\0')
		tree_kv_str(w, "log_tail", d->log_tail);
	tree_kv_int(w, "attempt_count", d->attempt_count);
	if (d->started_at[0] != '\0')
		tree_time(w, "started_at", d->started_at);
	if (d->healthy_at[0] != '\0')
		tree_time(w, "healthy_at", d->healthy_at);
	tree_time(w, "created_at", d->created_at);
	tree_end(w);
}

void
tree_deployment(struct wbuf *w, const void *arg)
{
	deployment_tree(w, arg, 0);
}

/* For events: without the env vars. */
void
tree_deployment_event(struct wbuf *w, const void *arg)
{
	deployment_tree(w, arg, 1);
}

void
tree_container(struct wbuf *w, const void *arg)
{
	const struct container	*c = arg;

	tree_map(w);
	tree_kv_str(w, "id", c->id);
	tree_kv_str(w, "service_id", c->service_id);
	tree_kv_str(w, "deployment_id", c->deployment_id);
	tree_kv_str(w, "docker_container_id", c->docker_id);
	tree_kv_str(w, "status", c->status[0] != '\0' ? c->status :
	    "created");
	tree_time(w, "created_at", c->created_at);
	tree_end(w);
}

void
tree_envvar(struct wbuf *w, const void *arg)
{
	const struct envvar	*e = arg;

	tree_map(w);
	tree_kv_str(w, "id", e->id);
	tree_kv_str(w, "scope", e->scope);
	tree_kv_str(w, "scope_id", e->scope_id);
	tree_kv_str(w, "key", e->key);
	tree_kv_str(w, "value", e->value);
	tree_time(w, "created_at", e->created_at);
	tree_time(w, "updated_at", e->updated_at);
	tree_end(w);
}

/* v without its "value" and "old_value" keys, at any depth. */
static void
tval_encode_redacted(struct wbuf *w, const struct tval *v)
{
	size_t	 i;

	if (v->tag != TREE_MAP && v->tag != TREE_ARRAY) {
		tval_encode(w, v);
		return;
	}
	if (v->tag == TREE_MAP)
		tree_map(w);
	else
		tree_array(w);
	for (i = 0; i < v->n; i++) {
		if (v->tag == TREE_MAP) {
			if (strcmp(v->keys[i], "value") == 0 ||
			    strcmp(v->keys[i], "old_value") == 0)
				continue;
			tree_key(w, v->keys[i]);
		}
		tval_encode_redacted(w, &v->items[i]);
	}
	tree_end(w);
}

static void
pending_tree(struct wbuf *w, const struct pending *p, int redact)
{
	struct tval	 v;

	tree_map(w);
	tree_kv_str(w, "id", p->id);
	tree_kv_str(w, "project_id", p->project_id);
	tree_kv_int(w, "seq", p->seq);
	tree_kv_str(w, "op", p->op);
	tree_kv_str(w, "target_type", p->target_type);
	if (p->target_id[0] != '\0')
		tree_kv_str(w, "target_id", p->target_id);
	if (p->target_temp_id[0] != '\0')
		tree_kv_str(w, "target_temp_id", p->target_temp_id);
	if (p->parent_temp_id[0] != '\0')
		tree_kv_str(w, "parent_temp_id", p->parent_temp_id);
	tree_key(w, "payload");
	if (redact) {
		blob_tval(&p->payload, &v);
		tval_encode_redacted(w, &v);
		tval_free(&v);
	} else
		tree_blob(w, &p->payload, TREE_MAP);
	if (p->user_id[0] != '\0')
		tree_kv_str(w, "user_id", p->user_id);
	tree_time(w, "created_at", p->created_at);
	tree_end(w);
}

void
tree_pending(struct wbuf *w, const void *arg)
{
	pending_tree(w, arg, 0);
}

/* For events: without env var values. */
void
tree_pending_event(struct wbuf *w, const void *arg)
{
	pending_tree(w, arg, 1);
}

void
tree_node(struct wbuf *w, const void *arg)
{
	const struct canvas_node	*n = arg;

	tree_map(w);
	tree_kv_str(w, "id", n->id);
	tree_kv_str(w, "project_id", n->project_id);
	tree_kv_str(w, "type", n->type);
	tree_kv_str(w, "label", n->label);
	tree_kv_double(w, "position_x", n->x);
	tree_kv_double(w, "position_y", n->y);
	if (n->has_width)
		tree_kv_double(w, "width", n->width);
	if (n->has_height)
		tree_kv_double(w, "height", n->height);
	if (n->service_id[0] != '\0')
		tree_kv_str(w, "service_id", n->service_id);
	if (n->parent_id[0] != '\0')
		tree_kv_str(w, "parent_id", n->parent_id);
	tree_kv_str(w, "data", n->data != NULL && n->data[0] != '\0' ?
	    n->data : "{}");
	tree_time(w, "created_at", n->created_at);
	tree_time(w, "updated_at", n->updated_at);
	tree_end(w);
}

void
tree_edge(struct wbuf *w, const void *arg)
{
	const struct canvas_edge	*e = arg;

	tree_map(w);
	tree_kv_str(w, "id", e->id);
	tree_kv_str(w, "project_id", e->project_id);
	tree_kv_str(w, "source_id", e->source_id);
	tree_kv_str(w, "target_id", e->target_id);
	if (e->label != NULL && e->label[0] != '\0')
		tree_kv_str(w, "label", e->label);
	tree_kv_str(w, "data", e->data != NULL && e->data[0] != '\0' ?
	    e->data : "{}");
	tree_time(w, "created_at", e->created_at);
	tree_time(w, "updated_at", e->updated_at);
	tree_end(w);
}

/* "nodes": [...], "edges": [...] of the project, into an open map. */
int
tree_canvas(struct wbuf *w, const char *project_id)
{
	struct canvas_node	*nodes;
	struct canvas_edge	*edges;
	size_t			 nn, ne, i;

	if (db_node_list(project_id, &nodes, &nn) != ST_OK)
		return (ST_ERROR);
	if (db_edge_list(project_id, &edges, &ne) != ST_OK) {
		canvas_nodes_free(nodes, nn);
		return (ST_ERROR);
	}
	tree_key(w, "nodes");
	tree_array(w);
	for (i = 0; i < nn; i++)
		tree_node(w, &nodes[i]);
	tree_end(w);
	tree_key(w, "edges");
	tree_array(w);
	for (i = 0; i < ne; i++)
		tree_edge(w, &edges[i]);
	tree_end(w);
	canvas_nodes_free(nodes, nn);
	canvas_edges_free(edges, ne);
	return (ST_OK);
}

/* The project's changes, oldest first, as an array. */
int
tree_pending_list(struct wbuf *w, const char *project_id)
{
	struct pending	*rows;
	size_t		 n, i;

	if (db_pending_list(project_id, &rows, &n) != ST_OK)
		return (ST_ERROR);
	tree_array(w);
	for (i = 0; i < n; i++)
		tree_pending(w, &rows[i]);
	tree_end(w);
	pendings_free(rows, n);
	return (ST_OK);
}
