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

/*
 * The master's canvas ops (CANVAS-PROTOCOL.md) driven as dkd-api drives
 * them: a JSON body decoded by dkd-api's decoder, encoded on the wire,
 * decoded and run by the master against a real database in a temporary
 * directory.  Checks the replies and what the database holds after:
 * tickets, confinement to the ticket's project (Decision 7), the
 * validation messages of spec 9.2-9.3, and reparent coalescing (8.3).
 * The master's main() is not linked: this file stands in for dkd.c.
 */

#include <sys/types.h>

#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>
#include <yajl/yajl_gen.h>

#include "api.h"
#include "db.h"
#include "dkd.h"
#include "log.h"
#include "master_stubs.h"
#include "tap.h"
#include "tree_json.h"

#define TOKEN_MEMBER	"canvas-member-token"

static struct dkd	 test_env;
struct dkd		*env = &test_env;

static char		 dir[] = "/tmp/dkd-test-canvas.XXXXXX";
static int		 status;
static char		 body[256 * 1024];
static char		 member_hash[SHA256_HEX_LEN + 1];

static void
sql(const char *q)
{
	char	*msg = NULL;

	if (sqlite3_exec(db_handle(), q, NULL, NULL, &msg) != SQLITE_OK)
		errx(1, "%s: %s", q, msg);
}

/* The first column of the first row of q, as text ("" for none). */
static const char *
sql_text(const char *q)
{
	static char	 out[4096];
	sqlite3_stmt	*st;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db_handle(), q, -1, &st, NULL) != SQLITE_OK)
		errx(1, "%s", q);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		strlcpy(out, (const char *)sqlite3_column_text(st, 0),
		    sizeof(out));
	sqlite3_finalize(st);
	return (out);
}

static int
sql_int(const char *q)
{
	return (atoi(sql_text(q)));
}

static void
reply_cb(struct request *req, struct wbuf *wb)
{
	struct msg_reply	 m;
	yajl_gen		 g;
	struct rbuf		 r;
	const unsigned char	*buf;
	size_t			 len;

	rbuf_init(&r, wb->buf, wb->len);
	body[0] = '\0';
	if (msg_reply_get(&r, &m) == -1) {
		status = 0;
		return;
	}
	status = m.status;
	if (m.tree_len == 0)
		return;
	rbuf_init(&r, m.tree, m.tree_len);
	if ((g = yajl_gen_alloc(NULL)) == NULL)
		abort();
	if (tree_to_json(&r, g) == -1)
		strlcpy(body, "(does not render)", sizeof(body));
	else if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		(void)snprintf(body, sizeof(body), "%.*s", (int)len, buf);
	yajl_gen_free(g);
}

/*
 * Run op as dkd-api would: token (a hash, or a ticket as is), the path
 * field if any, the JSON body.  The status ends up in status, the JSON
 * reply in body.
 */
static int
run(enum api_op op, const char *token, const char *path, const char *json)
{
	const struct op_spec	*spec = op_spec(op);
	struct op_args		 a;
	struct body_error	 berr;
	struct request		*req;
	struct wbuf		 w;
	struct rbuf		 r;

	memset(&a, 0, sizeof(a));
	status = 0;
	body[0] = '\0';
	if (path != NULL && op_args_set_str(&a, 0, path) == -1)
		abort();
	if (json != NULL && body_decode((const unsigned char *)json,
	    strlen(json), spec, &a, &berr) == -1)
		errx(1, "body %s: %s", json, berr.message);
	wbuf_init(&w, DKD_IMSG_MAX_INTERNAL);
	op_args_put(&w, spec, &a);
	op_args_clear(&a);
	if ((req = request_new(CALLER_API, 1, reply_cb, NULL)) == NULL)
		abort();
	strlcpy(req->client, "192.0.2.1", sizeof(req->client));
	strlcpy(req->token_hash, token, sizeof(req->token_hash));
	rbuf_init(&r, w.buf, w.len);
	if (request_decode(req, op, &r) == -1)
		errx(1, "%s does not decode", spec->name);
	wbuf_free(&w);
	request_run(req);
	if (status == 0)
		errx(1, "%s: no reply", spec->name);
	return (status);
}

static int
has(const char *needle)
{
	return (strstr(body, needle) != NULL);
}

/* CANVAS_JOIN for project pid; the ticket into t. */
static int
join(const char *pid, uint32_t conn, char t[TICKET_LEN + 1])
{
	char	 json[64];
	char	*p;

	(void)snprintf(json, sizeof(json), "{\"conn\": %u}", conn);
	if (run(OP_CANVAS_JOIN, member_hash, pid, json) != 200 ||
	    (p = strstr(body, "\"ticket\":\"")) == NULL)
		return (-1);
	strlcpy(t, p + 10, TICKET_LEN + 1);
	return (0);
}

/* A canvas op with payload json (the client's payload value). */
static int
op(enum api_op o, const char *ticket, const char *payload)
{
	char	 json[8192];

	(void)snprintf(json, sizeof(json), "{\"payload\": %s}", payload);
	return (run(o, ticket, NULL, json));
}

static int
count_changes(const char *pid)
{
	char	 q[256];

	(void)snprintf(q, sizeof(q), "SELECT count(*) FROM pending_changes "
	    "WHERE project_id = '%s'", pid);
	return (sql_int(q));
}

int
main(void)
{
	char	 path[256], errbuf[1024], t[TICKET_LEN + 1];
	char	 t2[TICKET_LEN + 1], q[512], temp[64];
	char	*p;

	plan(44);
	log_init(1, 0);
	log_setlevel(LOG_LEVEL_WARN);
	log_procinit("test");
	if (mkdtemp(dir) == NULL)
		bail("mkdtemp");
	scratch_remove_at_exit(dir);
	config_defaults(&env->conf);
	(void)snprintf(path, sizeof(path), "%s/dkd.db", dir);
	if ((env->base = event_base_new()) == NULL)
		bail("event_base_new");
	if (db_open(path, errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
	sha256_hex(TOKEN_MEMBER, strlen(TOKEN_MEMBER), member_hash);
	(void)snprintf(q, sizeof(q),
	    "INSERT INTO users (id, email, name, password_hash) VALUES "
	    "('u1', 'm@test', 'Member', 'x'), ('u2', 'gone@test', 'Gone', "
	    "'x');"
	    "INSERT INTO sessions (id, user_id, access_token_hash, "
	    "refresh_token_hash, expires_at, refresh_expires_at) VALUES "
	    "('s1', 'u1', '%s', 'r1', '2999-01-01 00:00:00', "
	    "'2999-01-01 00:00:00');", member_hash);
	sql(q);
	sql("INSERT INTO projects (id, name, slug) VALUES ('pa', 'A', 'a-1'), "
	    "('pb', 'B', 'b-1');"
	    "INSERT INTO services (id, project_id, name) VALUES "
	    "('sa', 'pa', 'web'), ('sb', 'pb', 'other');"
	    "INSERT INTO canvas_nodes (id, project_id, type, label, "
	    "service_id) VALUES ('na', 'pa', 'service', 'web', 'sa');"
	    "INSERT INTO canvas_nodes (id, project_id, type, label) VALUES "
	    "('ga', 'pa', 'group', 'g1'), ('ga2', 'pa', 'group', 'g2'), "
	    "('nota', 'pa', 'note', 'n'), ('nb', 'pb', 'note', 'theirs'), "
	    "('gb', 'pb', 'group', 'theirs');"
	    "INSERT INTO canvas_edges (id, project_id, source_id, target_id, "
	    "data) VALUES ('eb', 'pb', 'nb', 'gb', '{}'), ('em', 'pa', 'na', "
	    "'nota', '{\"managed\":\"env-ref\",\"keys\":[\"A\"]}');");

	/* Opening and joining. */
	ok(run(OP_CANVAS_OPEN, "", "nope", NULL) == 404 &&
	    has("Project not found."), "open: unknown project 404 (%s)", body);
	ok(run(OP_CANVAS_OPEN, "", "pa", NULL) == 200, "open: 200");
	ok(run(OP_CANVAS_JOIN, "", "pa", "{\"conn\": 1}") == 401,
	    "join without a token: 401");
	ok(run(OP_CANVAS_JOIN, member_hash, "nope", "{\"conn\": 1}") == 404,
	    "join an unknown project: 404");
	ok(run(OP_CANVAS_JOIN, member_hash, "pa", "{\"conn\": 0}") == 400,
	    "join with conn 0: 400");
	ok(join("pa", 7, t) == 0 && strlen(t) == TICKET_LEN &&
	    strspn(t, "0123456789abcdef") == TICKET_LEN,
	    "join: a ticket of 64 hex digits");
	ok(has("\"user_id\":\"u1\"") && has("\"user_name\":\"Member\"") &&
	    has("\"nodes\":[") && has("\"edges\":[") && has("\"changes\":[]") &&
	    !has("\"theirs\""), "join: the user, and this project's canvas only"
	    " (%.200s)", body);
	ok(op(OP_CANVAS_NODE_MOVE, member_hash, "{\"positions\": []}") == 401,
	    "an access token is no ticket: 401");

	/* Nodes. */
	ok(op(OP_CANVAS_NODE_UPSERT, t, "{\"id\": \"n1\", \"type\": \"note\", "
	    "\"label\": \"hello\", \"position_x\": 10.5, \"position_y\": 20, "
	    "\"data\": \"{\\\"backgroundColor\\\":\\\"#ffee00\\\"}\"}") ==
	    200 &&
	    strcmp(sql_text("SELECT data FROM canvas_nodes WHERE id = 'n1' AND "
	    "project_id = 'pa' AND position_x = 10.5"),
	    "{\"backgroundColor\":\"#ffee00\"}") == 0,
	    "node upsert: stored in the ticket's project, data as sent");
	ok(op(OP_CANVAS_NODE_UPSERT, t, "{\"id\": \"nb\", \"type\": \"note\", "
	    "\"label\": \"mine now\"}") == 404 && has("Node not found.") &&
	    strcmp(sql_text("SELECT label FROM canvas_nodes WHERE id = 'nb'"),
	    "theirs") == 0, "node upsert of another project's node: 404, "
	    "untouched");
	ok(op(OP_CANVAS_NODE_UPSERT, t, "{\"id\": \"n2\", \"type\": \"note\", "
	    "\"parent_id\": \"gb\"}") == 404 && has("Parent group not found."),
	    "node upsert into another project's group: Parent group not "
	    "found.");
	ok(op(OP_CANVAS_NODE_UPSERT, t, "{\"id\": \"n2\", \"type\": \"note\", "
	    "\"parent_id\": \"nota\"}") == 422 &&
	    has("Parent must be a group node."), "parent that is no group");
	ok(op(OP_CANVAS_NODE_UPSERT, t, "{\"id\": \"g3\", \"type\": \"group\", "
	    "\"parent_id\": \"ga\"}") == 422 && has("Failed to save node."),
	    "a group in a group: refused");
	ok(op(OP_CANVAS_NODE_UPSERT, t, "{\"id\": \"n3\", \"type\": \"moon\"}")
	    == 422 && op(OP_CANVAS_NODE_UPSERT, t, "[1]") == 422 &&
	    op(OP_CANVAS_NODE_UPSERT, t, "{\"type\": \"note\"}") == 422 &&
	    op(OP_CANVAS_NODE_UPSERT, t, "{\"id\": \"n3\", \"type\": \"note\", "
	    "\"data\": {\"a\": 1}}") == 422,
	    "bad type, no payload, no id, data not a string: refused");
	ok(op(OP_CANVAS_NODE_UPSERT, t, "{\"id\": \"n3\", \"type\": \"note\", "
	    "\"service_id\": \"sb\"}") == 422 && sql_int("SELECT count(*) FROM "
	    "canvas_nodes WHERE id = 'n3'") == 0,
	    "a node for another project's service: refused");

	/* Moves. */
	ok(op(OP_CANVAS_NODE_MOVE, t, "{\"positions\": [{\"id\": \"n1\", "
	    "\"position_x\": 1, \"position_y\": 2}, {\"id\": \"nb\", "
	    "\"position_x\": 5, \"position_y\": 5}]}") == 200 &&
	    sql_int("SELECT position_x FROM canvas_nodes WHERE id = 'n1'") ==
	    1 && sql_int("SELECT position_x FROM canvas_nodes WHERE id = 'nb'")
	    == 0, "move: this project's node moves, another's does not");
	ok(op(OP_CANVAS_NODE_MOVE, t, "{\"positions\": []}") == 400 &&
	    has("Invalid node move payload.") && op(OP_CANVAS_NODE_MOVE, t,
	    "{\"positions\": [{\"id\": \"n1\"}]}") == 400 &&
	    op(OP_CANVAS_NODE_MOVE, t, "{}") == 400, "move: bad payloads");

	/* Edges. */
	ok(op(OP_CANVAS_EDGE_UPSERT, t, "{\"id\": \"e1\", \"source_id\": "
	    "\"n1\", \"target_id\": \"nota\", \"label\": \"uses\"}") == 200 &&
	    sql_int("SELECT count(*) FROM canvas_edges WHERE id = 'e1' AND "
	    "project_id = 'pa' AND data = '{}'") == 1, "edge upsert");
	ok(op(OP_CANVAS_EDGE_UPSERT, t, "{\"id\": \"e2\", \"source_id\": "
	    "\"n1\", \"target_id\": \"nb\"}") == 404 && has("Node not found."),
	    "an edge to another project's node: 404");
	ok(op(OP_CANVAS_EDGE_UPSERT, t, "{\"id\": \"eb\", \"source_id\": "
	    "\"n1\", \"target_id\": \"nota\"}") == 404 &&
	    strcmp(sql_text("SELECT source_id FROM canvas_edges WHERE "
	    "id = 'eb'"), "nb") == 0, "another project's edge: 404, untouched");
	ok(op(OP_CANVAS_EDGE_UPSERT, t, "{\"id\": \"e3\", \"source_id\": "
	    "\"n1\", \"target_id\": \"nota\", \"data\": \"{\\\"managed\\\":"
	    "\\\"env-ref\\\"}\"}") == 422 && has("This edge is managed by the "
	    "system and cannot be edited."), "a client edge that says managed");
	ok(op(OP_CANVAS_EDGE_UPSERT, t, "{\"id\": \"em\", \"source_id\": "
	    "\"n1\", \"target_id\": \"nota\"}") == 422 && has("cannot be "
	    "edited."), "editing a managed edge");
	ok(op(OP_CANVAS_EDGE_DELETE, t, "{\"id\": \"em\"}") == 422 &&
	    has("This edge is managed by the system and cannot be deleted.") &&
	    sql_int("SELECT count(*) FROM canvas_edges WHERE id = 'em'") == 1,
	    "deleting a managed edge: refused");
	ok(op(OP_CANVAS_EDGE_DELETE, t, "{\"id\": \"eb\"}") == 404 &&
	    has("Failed to delete edge.") && sql_int("SELECT count(*) FROM "
	    "canvas_edges WHERE id = 'eb'") == 1,
	    "deleting another project's edge: refused");
	ok(op(OP_CANVAS_EDGE_DELETE, t, "{\"id\": \"e1\"}") == 200 &&
	    sql_int("SELECT count(*) FROM canvas_edges WHERE id = 'e1'") == 0,
	    "edge delete");

	/* service:create */
	ok(op(OP_CANVAS_SERVICE_CREATE, t, "{\"name\": \"api\"}") == 400 &&
	    has("Invalid service create payload."), "service:create without a "
	    "draft id");
	ok(op(OP_CANVAS_SERVICE_CREATE, t, "{\"draft_id\": \"d\", \"image\": "
	    "\"x\"}") == 422 && has("Name is required.") &&
	    op(OP_CANVAS_SERVICE_CREATE, t, "{\"draft_id\": \"d\", \"name\": "
	    "\"api\"}") == 422 && has("Image is required."),
	    "service:create: name and image required");
	ok(op(OP_CANVAS_SERVICE_CREATE, t, "{\"draft_id\": \"d\", \"name\": "
	    "\"api\", \"image\": \"x\", \"env_vars\": [{\"key\": \"A\", "
	    "\"value\": \"1\"}, {\"key\": \"A\", \"value\": \"2\"}]}") == 422 &&
	    has("Duplicate env var key: A") && op(OP_CANVAS_SERVICE_CREATE, t,
	    "{\"draft_id\": \"d\", \"name\": \"api\", \"image\": \"x\", "
	    "\"env_vars\": [{\"key\": \"9A\", \"value\": \"1\"}]}") == 422 &&
	    has("cannot start with a digit"), "service:create: env key checks");
	ok(op(OP_CANVAS_SERVICE_CREATE, t, "{\"draft_id\": \"d\", \"name\": "
	    "\"WEB\", \"image\": \"x\"}") == 409 && has("A service named "
	    "\\\"WEB\\\" already exists in the project.") &&
	    sql_int("SELECT count(*) FROM canvas_nodes WHERE project_id = 'pa' "
	    "AND service_id IS NULL AND type = 'service'") == 0,
	    "service:create: a taken name is 409, and no node is left (%s)",
	    body);
	ok(op(OP_CANVAS_SERVICE_CREATE, t, "{\"draft_id\": \"d1\", \"name\": "
	    "\"api\", \"image\": \"ghcr.io/x/api:1\", \"x\": 100, \"y\": 50.5, "
	    "\"env_vars\": [{\"key\": \"DB\", \"value\": \"${{web.HOST}}\"}], "
	    "\"ports\": [{\"container_port\": 8080}]}") == 200 &&
	    has("\"node\":{") && has("\"pending_change\":{") &&
	    has("\"op\":\"service.create\"") &&
	    has("\"data\":\"{\\\"image\\\":\\\"ghcr.io/x/api:1\\\"}\""),
	    "service:create: node and pending change (%.300s)", body);
	strlcpy(temp, sql_text("SELECT id FROM canvas_nodes WHERE label = 'api'"
	    " AND project_id = 'pa'"), sizeof(temp));
	(void)snprintf(q, sizeof(q), "SELECT count(*) FROM pending_changes "
	    "WHERE target_temp_id = '%s' AND op = 'service.create'", temp);
	ok(temp[0] != '\0' && sql_int(q) == 1, "the entry names the node");

	/* Deleting nodes. */
	(void)snprintf(q, sizeof(q), "INSERT INTO pending_changes (id, "
	    "project_id, seq, op, target_type, parent_temp_id, payload) VALUES "
	    "('pe', 'pa', 99, 'env_var.create', 'env_var', '%s', x'07')", temp);
	sql(q);
	(void)snprintf(path, sizeof(path), "{\"id\": \"%s\"}", temp);
	ok(op(OP_CANVAS_NODE_DELETE, t, path) == 200 && count_changes("pa") ==
	    0 && sql_int("SELECT count(*) FROM canvas_nodes WHERE label = "
	    "'api'") == 0, "deleting a placeholder removes it and what was "
	    "staged on it");
	ok(op(OP_CANVAS_NODE_DELETE, t, "{\"id\": \"na\"}") == 200 &&
	    sql_int("SELECT count(*) FROM pending_changes WHERE op = "
	    "'service.delete' AND target_id = 'sa'") == 1 &&
	    sql_int("SELECT count(*) FROM canvas_nodes WHERE id = 'na'") == 1,
	    "deleting a service's node stages the deletion; the node stays");
	ok(op(OP_CANVAS_NODE_DELETE, t, "{\"id\": \"na\"}") == 200 &&
	    count_changes("pa") == 1, "twice: staged once");
	ok(op(OP_CANVAS_NODE_DELETE, t, "{\"id\": \"nb\"}") == 404 &&
	    has("Node not found.") && sql_int("SELECT count(*) FROM "
	    "canvas_nodes WHERE id = 'nb'") == 1,
	    "deleting another project's node: 404, it stays");
	ok(op(OP_CANVAS_NODE_DELETE, t, "{}") == 400 &&
	    has("Invalid node delete payload."), "node delete without an id");
	sql("DELETE FROM pending_changes");

	/* Reparenting an applied service: staged, coalesced to net zero. */
	ok(op(OP_CANVAS_NODE_UPSERT, t, "{\"id\": \"na\", \"type\": "
	    "\"service\", \"label\": \"web\", \"parent_id\": \"ga\"}") == 200 &&
	    count_changes("pa") == 1 && strcmp(sql_text("SELECT service_id "
	    "FROM canvas_nodes WHERE id = 'na'"), "sa") == 0,
	    "into a group: one service.update; the node keeps its service");
	strlcpy(temp, sql_text("SELECT id FROM pending_changes"), sizeof(temp));
	ok(op(OP_CANVAS_NODE_UPSERT, t, "{\"id\": \"na\", \"type\": "
	    "\"service\", \"label\": \"web\", \"parent_id\": \"ga2\"}") ==
	    200 &&
	    count_changes("pa") == 1, "into another group: still one entry");
	ok(strcmp(sql_text("SELECT id FROM pending_changes"), temp) != 0 &&
	    strstr(sql_text("SELECT hex(payload) FROM pending_changes"),
	    "0600000000") != NULL,
	    "the new entry replaced the old, from the top level (\"\")");
	/* A rename of the service ({"name": "web2"}) is no plain reparent. */
	sql("INSERT INTO pending_changes (id, project_id, seq, op, "
	    "target_type, target_id, payload) VALUES ('rn', 'pa', 3, "
	    "'service.update', 'service', 'sa', "
	    "x'0706040000006E616D65060400000077656232" "09')");
	ok(op(OP_CANVAS_NODE_UPSERT, t, "{\"id\": \"na\", \"type\": "
	    "\"service\", \"label\": \"web\"}") == 200 &&
	    count_changes("pa") == 1 && sql_int("SELECT count(*) FROM "
	    "pending_changes WHERE id = 'rn'") == 1,
	    "back to the top level: net zero, the rename stays");
	sql("DELETE FROM pending_changes");
	ok(op(OP_CANVAS_NODE_UPSERT, t, "{\"id\": \"na\", \"type\": "
	    "\"service\", \"label\": \"web\", \"parent_id\": \"ga\"}") == 200 &&
	    (p = strstr(sql_text("SELECT hex(payload) FROM pending_changes"),
	    "70726576696F75735F706172656E745F6964")) != NULL,
	    "the staged reparent says where it came from");

	/* Tickets come and go. */
	ok(join("pa", 8, t2) == 0 && strcmp(t, t2) != 0,
	    "a second connection gets its own ticket");
	ok(run(OP_CANVAS_LEAVE, t2, NULL, NULL) == 204 &&
	    op(OP_CANVAS_NODE_MOVE, t2, "{\"positions\": [{\"id\": \"n1\", "
	    "\"position_x\": 1, \"position_y\": 2}]}") == 401,
	    "after leave, the ticket is void");
	sql("UPDATE sessions SET user_id = 'u2'; DELETE FROM users WHERE "
	    "id = 'u1'");
	ok(op(OP_CANVAS_NODE_MOVE, t, "{\"positions\": [{\"id\": \"n1\", "
	    "\"position_x\": 1, \"position_y\": 2}]}") == 401,
	    "the ticket of a deleted user is void");
	return (done_testing());
}
