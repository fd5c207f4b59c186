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

#include "db.h"
#include "log.h"
#include "store.h"

/*
 * The canvas in the database: nodes (services, notes, groups, labels)
 * and edges.  Their data is the client's text, stored as it came.
 */

#define NODE_COLS	"id, project_id, type, label, position_x, " \
	"position_y, width, height, service_id, parent_id, data, created_at, " \
	"updated_at"
#define EDGE_COLS	"id, project_id, source_id, target_id, label, data, " \
	"created_at, updated_at"

static int
node_row(sqlite3_stmt *st, void *arg)
{
	struct canvas_node	*n = arg;

	memset(n, 0, sizeof(*n));
	strlcpy(n->id, db_text(st, 0), sizeof(n->id));
	strlcpy(n->project_id, db_text(st, 1), sizeof(n->project_id));
	strlcpy(n->type, db_text(st, 2), sizeof(n->type));
	strlcpy(n->label, db_text(st, 3), sizeof(n->label));
	n->x = sqlite3_column_double(st, 4);
	n->y = sqlite3_column_double(st, 5);
	if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
		n->has_width = 1;
		n->width = sqlite3_column_double(st, 6);
	}
	if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
		n->has_height = 1;
		n->height = sqlite3_column_double(st, 7);
	}
	strlcpy(n->service_id, db_text(st, 8), sizeof(n->service_id));
	strlcpy(n->parent_id, db_text(st, 9), sizeof(n->parent_id));
	strlcpy(n->created_at, db_text(st, 11), sizeof(n->created_at));
	strlcpy(n->updated_at, db_text(st, 12), sizeof(n->updated_at));
	if ((n->data = strdup(db_text(st, 10))) == NULL) {
		log_warn("%s", __func__);
		return (ST_ERROR);
	}
	return (ST_OK);
}

static void
node_clear(void *n)
{
	canvas_node_free(n);
}

static const struct db_kind node_kind = {
	sizeof(struct canvas_node), node_row, node_clear
};

void
canvas_nodes_free(struct canvas_node *rows, size_t n)
{
	db_rows_free(&node_kind, rows, n);
}

void
canvas_node_free(struct canvas_node *n)
{
	free(n->data);
	n->data = NULL;
}

/* Node id, whichever project it is in: the caller checks. */
int
db_node_get(const char *id, struct canvas_node *n)
{
	return (db_get("SELECT " NODE_COLS " FROM canvas_nodes WHERE id = ?",
	    DB_ARGS(id), &node_kind, n));
}

int
db_node_of_service(const char *service_id, struct canvas_node *n)
{
	return (db_get("SELECT " NODE_COLS " FROM canvas_nodes WHERE "
	    "service_id = ?", DB_ARGS(service_id), &node_kind, n));
}

/* The project's nodes: top-level ones first, then oldest first. */
int
db_node_list(const char *project_id, struct canvas_node **out, size_t *n)
{
	return (db_list("SELECT " NODE_COLS " FROM canvas_nodes WHERE "
	    "project_id = ? ORDER BY parent_id IS NOT NULL, created_at, rowid",
	    DB_ARGS(project_id), &node_kind, out, n));
}

static void
bind_double_or_null(sqlite3_stmt *st, int i, int has, double v)
{
	if (has)
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/*
 * Insert node n, or update the node of that id (never its project).
 * ST_EXISTS when a rule says no (a service with a node already, a
 * parent that does not exist).
 */
int
db_node_upsert(const struct canvas_node *n)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("INSERT INTO canvas_nodes (" NODE_COLS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
	    "datetime('now'), datetime('now')) ON CONFLICT (id) DO UPDATE SET "
	    "type = ?3, label = ?4, position_x = ?5, position_y = ?6, "
	    "width = ?7, height = ?8, service_id = ?9, parent_id = ?10, "
	    "data = ?11, updated_at = datetime('now') "
	    "WHERE project_id = ?2")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, n->id);
	db_bind(st, 2, n->project_id);
	db_bind(st, 3, n->type);
	db_bind(st, 4, n->label);
	sqlite3_bind_double(st, 5, n->x);
	sqlite3_bind_double(st, 6, n->y);
	bind_double_or_null(st, 7, n->has_width, n->width);
	bind_double_or_null(st, 8, n->has_height, n->height);
	db_bind(st, 9, n->service_id[0] != '\0' ? n->service_id : NULL);
	db_bind(st, 10, n->parent_id[0] != '\0' ? n->parent_id : NULL);
	db_bind(st, 11, n->data);
	return (db_written(db_step_done(st)));
}

/* ST_NONE when project_id has no such node. */
int
db_node_move(const char *project_id, const char *id, double x, double y)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("UPDATE canvas_nodes SET position_x = ?, "
	    "position_y = ?, updated_at = datetime('now') WHERE id = ? AND "
	    "project_id = ?")) == NULL)
		return (ST_ERROR);
	sqlite3_bind_double(st, 1, x);
	sqlite3_bind_double(st, 2, y);
	db_bind(st, 3, id);
	db_bind(st, 4, project_id);
	return (db_changed(db_step_done(st)));
}

/* Its edges go too; its children move to the top level. */
int
db_node_delete(const char *id)
{
	return (db_write("DELETE FROM canvas_nodes WHERE id = ?",
	    DB_ARGS(id)));
}

/* The nodes that stand for services staged for creation. */
int
db_node_delete_placeholders(const char *project_id)
{
	return (db_run("DELETE FROM canvas_nodes WHERE project_id = ?1 "
	    "AND service_id IS NULL AND id IN (SELECT target_temp_id FROM "
	    "pending_changes WHERE project_id = ?1 AND "
	    "op = 'service.create')", DB_ARGS(project_id)));
}

/* A placeholder becomes the node of the service it stood for. */
int
db_node_link_service(const char *id, const char *service_id,
    const char *label, const char *data)
{
	return (db_write("UPDATE canvas_nodes SET service_id = ?, "
	    "label = ?, data = ?, updated_at = datetime('now') WHERE id = ?",
	    DB_ARGS(service_id, label, data, id)));
}

int
db_node_delete_service(const char *service_id)
{
	return (db_run("DELETE FROM canvas_nodes WHERE service_id = ?",
	    DB_ARGS(service_id)));
}

static int
edge_row(sqlite3_stmt *st, void *arg)
{
	struct canvas_edge	*e = arg;

	memset(e, 0, sizeof(*e));
	strlcpy(e->id, db_text(st, 0), sizeof(e->id));
	strlcpy(e->project_id, db_text(st, 1), sizeof(e->project_id));
	strlcpy(e->source_id, db_text(st, 2), sizeof(e->source_id));
	strlcpy(e->target_id, db_text(st, 3), sizeof(e->target_id));
	strlcpy(e->created_at, db_text(st, 6), sizeof(e->created_at));
	strlcpy(e->updated_at, db_text(st, 7), sizeof(e->updated_at));
	if ((e->data = strdup(db_text(st, 5))) == NULL ||
	    (db_ntext(st, 4) != NULL &&
	    (e->label = strdup(db_text(st, 4))) == NULL)) {
		log_warn("%s", __func__);
		canvas_edge_free(e);
		return (ST_ERROR);
	}
	return (ST_OK);
}

void
canvas_edge_free(struct canvas_edge *e)
{
	free(e->data);
	free(e->label);
	e->data = e->label = NULL;
}

static void
edge_clear(void *e)
{
	canvas_edge_free(e);
}

static const struct db_kind edge_kind = {
	sizeof(struct canvas_edge), edge_row, edge_clear
};

void
canvas_edges_free(struct canvas_edge *rows, size_t n)
{
	db_rows_free(&edge_kind, rows, n);
}

int
db_edge_get(const char *id, struct canvas_edge *e)
{
	return (db_get("SELECT " EDGE_COLS " FROM canvas_edges WHERE id = ?",
	    DB_ARGS(id), &edge_kind, e));
}

/* The project's edges, oldest first. */
int
db_edge_list(const char *project_id, struct canvas_edge **out, size_t *n)
{
	return (db_list("SELECT " EDGE_COLS " FROM canvas_edges WHERE "
	    "project_id = ? ORDER BY created_at, rowid", DB_ARGS(project_id),
	    &edge_kind, out, n));
}

/* Insert or update edge e (never its project); ST_EXISTS: a rule said no. */
int
db_edge_upsert(const struct canvas_edge *e)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare("INSERT INTO canvas_edges (" EDGE_COLS ") "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, datetime('now'), "
	    "datetime('now')) ON CONFLICT (id) DO UPDATE SET source_id = ?3, "
	    "target_id = ?4, label = ?5, data = ?6, updated_at = "
	    "datetime('now') WHERE project_id = ?2")) == NULL)
		return (ST_ERROR);
	db_bind(st, 1, e->id);
	db_bind(st, 2, e->project_id);
	db_bind(st, 3, e->source_id);
	db_bind(st, 4, e->target_id);
	db_bind(st, 5, e->label);
	db_bind(st, 6, e->data);
	return (db_written(db_step_done(st)));
}

int
db_edge_delete(const char *id)
{
	return (db_write("DELETE FROM canvas_edges WHERE id = ?",
	    DB_ARGS(id)));
}

/* The env-ref edges the master drew from node source_id. */
int
db_edge_delete_managed(const char *source_id)
{
	return (db_run("DELETE FROM canvas_edges WHERE source_id = ? AND "
	    "instr(data, '\"managed\"') > 0", DB_ARGS(source_id)));
}

/* A renamed service's node shows its new name. */
int
db_node_relabel_service(const char *service_id, const char *label)
{
	return (db_run("UPDATE canvas_nodes SET label = ?, updated_at = "
	    "datetime('now') WHERE service_id = ?",
	    DB_ARGS(label, service_id)));
}
