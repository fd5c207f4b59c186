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
#include <sys/queue.h>
#include <sys/tree.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "compat.h"
#include "log.h"
#include "msg.h"
#include "tree_json.h"

/*
 * Canvas rooms: one per project with a live connection.  A room knows
 * its connections, who is present (a user with two tabs is one user,
 * who leaves with the last tab), the drafts of services being placed,
 * and sends to everyone, to everyone but one connection, or to one.
 * What the master publishes for a project goes to its room as it is.
 * Nothing here is persistent: the master has the canvas.
 */

struct draft {
	TAILQ_ENTRY(draft)	 entry;
	char			 id[CANVAS_DRAFT_ID_MAX + 1];
	struct room_user	*owner;
	double			 x, y;
};

struct room {
	RB_ENTRY(room)		 entry;
	char			 project_id[CANVAS_ID_MAX + 1];
	TAILQ_HEAD(, ws_conn)	 conns;
	TAILQ_HEAD(, room_user)	 users;
	TAILQ_HEAD(, draft)	 drafts;
};

static int	room_cmp(struct room *, struct room *);
RB_HEAD(rooms, room);
RB_PROTOTYPE_STATIC(rooms, room, entry, room_cmp)
RB_GENERATE_STATIC(rooms, room, entry, room_cmp)

static struct rooms	 rooms = RB_INITIALIZER(&rooms);

static int
room_cmp(struct room *a, struct room *b)
{
	return (strcmp(a->project_id, b->project_id));
}

static struct room *
room_find(const char *project_id)
{
	struct room	 key;

	if (strlcpy(key.project_id, project_id, sizeof(key.project_id)) >=
	    sizeof(key.project_id))
		return (NULL);
	return (RB_FIND(rooms, &rooms, &key));
}

/* To every live connection of the room but the one numbered except. */
static void
room_broadcast(struct room *rm, struct ws_msg *m, uint32_t except)
{
	struct ws_conn	*c;

	if (m == NULL)
		return;
	TAILQ_FOREACH(c, &rm->conns, room_entry)
		if (c->id != except)
			ws_send(c, m);
}

/* Send and let go of m, which may be NULL (it could not be built). */
static void
room_send_msg(struct room *rm, struct ws_conn *to, struct ws_msg *m,
    uint32_t except)
{
	if (m == NULL)
		return;
	if (to != NULL)
		ws_send(to, m);
	else
		room_broadcast(rm, m, except);
	ws_msg_unref(m);
}

/* A number as JSON: integers without a fraction, others as %.15g. */
static void
json_number(yajl_gen g, double d)
{
	char	 buf[32];
	int	 n;

	if (d == trunc(d) && fabs(d) < 1e15) {
		yajl_gen_integer(g, (long long)d);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%.15g", d);
	if (n > 0 && (size_t)n < sizeof(buf))
		yajl_gen_number(g, buf, (size_t)n);
	else
		yajl_gen_null(g);
}

/* The array at key of the master's reply, or [] if it has none. */
static void
json_list(yajl_gen g, const char *key, const struct tval *reply)
{
	const struct tval	*v = tval_get(reply, key);

	json_str(g, key);
	if (tval_is(v, TREE_ARRAY) && ws_json_tval(g, v) == 0)
		return;
	yajl_gen_array_open(g);
	yajl_gen_array_close(g);
}

static void
json_draft(yajl_gen g, const struct draft *d)
{
	yajl_gen_map_open(g);
	json_kv_str(g, "draft_id", d->id);
	json_kv_str(g, "user_id", d->owner->id);
	json_kv_str(g, "user_name", d->owner->name);
	json_str(g, "x");
	json_number(g, d->x);
	json_str(g, "y");
	json_number(g, d->y);
	yajl_gen_map_close(g);
}

/* {"type": type, "payload": {key: value}} with one string. */
static struct ws_msg *
msg_one_str(const char *type, const char *key, const char *value)
{
	yajl_gen	 g;

	if ((g = ws_msg_begin(type)) == NULL)
		return (NULL);
	yajl_gen_map_open(g);
	json_kv_str(g, key, value);
	yajl_gen_map_close(g);
	return (ws_msg_end(g));
}

static struct draft *
draft_find(struct room *rm, const char *id)
{
	struct draft	*d;

	TAILQ_FOREACH(d, &rm->drafts, entry)
		if (strcmp(d->id, id) == 0)
			return (d);
	return (NULL);
}

static void
draft_remove(struct room *rm, struct draft *d)
{
	TAILQ_REMOVE(&rm->drafts, d, entry);
	d->owner->ndrafts--;
	free(d);
}

static struct room_user *
user_find(struct room *rm, const char *id)
{
	struct room_user	*u;

	TAILQ_FOREACH(u, &rm->users, entry)
		if (strcmp(u->id, id) == 0)
			return (u);
	return (NULL);
}

/* The join sequence of spec 9.1, for c alone. */
static void
join_sequence(struct ws_conn *c, const struct tval *reply)
{
	struct room		*rm = c->room;
	struct room_user	*u;
	struct draft		*d;
	yajl_gen		 g;

	if ((g = ws_msg_begin("canvas:state")) != NULL) {
		yajl_gen_map_open(g);
		json_list(g, "nodes", reply);
		json_list(g, "edges", reply);
		yajl_gen_map_close(g);
		room_send_msg(rm, c, ws_msg_end(g), 0);
	}
	if ((g = ws_msg_begin("users:list")) != NULL) {
		yajl_gen_map_open(g);
		json_str(g, "users");
		yajl_gen_array_open(g);
		TAILQ_FOREACH(u, &rm->users, entry) {
			yajl_gen_map_open(g);
			json_kv_str(g, "user_id", u->id);
			json_kv_str(g, "user_name", u->name);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
		room_send_msg(rm, c, ws_msg_end(g), 0);
	}
	if ((g = ws_msg_begin("service:drafts")) != NULL) {
		yajl_gen_map_open(g);
		json_str(g, "drafts");
		yajl_gen_array_open(g);
		TAILQ_FOREACH(d, &rm->drafts, entry)
			json_draft(g, d);
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
		room_send_msg(rm, c, ws_msg_end(g), 0);
	}
	if ((g = ws_msg_begin("pending-changes:state")) != NULL) {
		yajl_gen_map_open(g);
		json_list(g, "changes", reply);
		yajl_gen_map_close(g);
		room_send_msg(rm, c, ws_msg_end(g), 0);
	}
}

/*
 * c joined at the master: put it in its project's room, as its user
 * (user_id and user_name of the reply), send it the room's state and
 * tell the others if its user is new here.  -1 without memory.
 */
int
rooms_join(struct ws_conn *c, const struct tval *reply)
{
	struct room		*rm;
	struct room_user	*u;
	yajl_gen		 g;
	const char		*uid, *uname;
	int			 fresh = 0;

	uid = tval_str(reply, "user_id");
	uname = tval_str(reply, "user_name");
	if (uid == NULL || uname == NULL || strlen(uid) > CANVAS_ID_MAX ||
	    strlen(uname) > CANVAS_NAME_MAX)
		return (-1);
	if ((rm = room_find(c->project_id)) == NULL) {
		if ((rm = calloc(1, sizeof(*rm))) == NULL)
			return (-1);
		strlcpy(rm->project_id, c->project_id, sizeof(rm->project_id));
		TAILQ_INIT(&rm->conns);
		TAILQ_INIT(&rm->users);
		TAILQ_INIT(&rm->drafts);
		RB_INSERT(rooms, &rooms, rm);
	}
	if ((u = user_find(rm, uid)) == NULL) {
		if ((u = calloc(1, sizeof(*u))) == NULL) {
			if (TAILQ_EMPTY(&rm->conns)) {
				RB_REMOVE(rooms, &rooms, rm);
				free(rm);
			}
			return (-1);
		}
		strlcpy(u->id, uid, sizeof(u->id));
		strlcpy(u->name, uname, sizeof(u->name));
		TAILQ_INSERT_TAIL(&rm->users, u, entry);
		fresh = 1;
	}
	u->nconns++;
	c->room = rm;
	c->user = u;
	TAILQ_INSERT_TAIL(&rm->conns, c, room_entry);
	join_sequence(c, reply);
	if (fresh) {
		if ((g = ws_msg_begin("user:joined")) != NULL) {
			yajl_gen_map_open(g);
			json_kv_str(g, "user_id", u->id);
			json_kv_str(g, "user_name", u->name);
			yajl_gen_map_close(g);
			room_send_msg(rm, NULL, ws_msg_end(g), c->id);
		}
	}
	return (0);
}

/*
 * c leaves its room.  The last connection of a user takes the user
 * and the user's drafts with it; the last of the room, the room.
 */
void
rooms_leave(struct ws_conn *c)
{
	struct room		*rm = c->room;
	struct room_user	*u = c->user;
	struct draft		*d, *dn;

	if (rm == NULL)
		return;
	TAILQ_REMOVE(&rm->conns, c, room_entry);
	c->room = NULL;
	c->user = NULL;
	if (--u->nconns == 0) {
		room_send_msg(rm, NULL, msg_one_str("user:left", "user_id",
		    u->id), 0);
		TAILQ_FOREACH_SAFE(d, &rm->drafts, entry, dn) {
			if (d->owner != u)
				continue;
			room_send_msg(rm, NULL, msg_one_str(
			    "service:draft-cancelled", "draft_id", d->id), 0);
			draft_remove(rm, d);
		}
		TAILQ_REMOVE(&rm->users, u, entry);
		free(u);
	}
	if (TAILQ_EMPTY(&rm->conns)) {
		/* No users without connections, no drafts without users. */
		RB_REMOVE(rooms, &rooms, rm);
		free(rm);
	}
}

/* cursor:move: the others see where c's user points. */
void
rooms_cursor(struct ws_conn *c, double x, double y)
{
	yajl_gen	 g;

	if (c->room == NULL || (g = ws_msg_begin("cursor:updated")) == NULL)
		return;
	yajl_gen_map_open(g);
	json_kv_str(g, "user_id", c->user->id);
	json_kv_str(g, "user_name", c->user->name);
	json_str(g, "x");
	json_number(g, x);
	json_str(g, "y");
	json_number(g, y);
	yajl_gen_map_close(g);
	room_send_msg(c->room, NULL, ws_msg_end(g), c->id);
}

/*
 * service:draft-start: keep or move c's user's draft and show it to the
 * others.  A draft of another user is left alone.  -1 when the user
 * has too many drafts already.
 */
int
rooms_draft_start(struct ws_conn *c, const char *id, double x, double y)
{
	struct room	*rm = c->room;
	struct draft	*d;
	yajl_gen	 g;

	if (rm == NULL)
		return (0);
	if ((d = draft_find(rm, id)) != NULL && d->owner != c->user)
		return (0);
	if (d == NULL) {
		if (c->user->ndrafts >= CANVAS_DRAFTS_MAX ||
		    (d = calloc(1, sizeof(*d))) == NULL)
			return (-1);
		strlcpy(d->id, id, sizeof(d->id));
		d->owner = c->user;
		d->owner->ndrafts++;
		TAILQ_INSERT_TAIL(&rm->drafts, d, entry);
	}
	d->x = x;
	d->y = y;
	if ((g = ws_msg_begin("service:drafting")) != NULL) {
		json_draft(g, d);
		room_send_msg(rm, NULL, ws_msg_end(g), c->id);
	}
	return (0);
}

/* service:draft-cancel: only its owner cancels a draft. */
void
rooms_draft_cancel(struct ws_conn *c, const char *id)
{
	struct room	*rm = c->room;
	struct draft	*d;

	if (rm == NULL || (d = draft_find(rm, id)) == NULL ||
	    d->owner != c->user)
		return;
	draft_remove(rm, d);
	room_send_msg(rm, NULL, msg_one_str("service:draft-cancelled",
	    "draft_id", id), c->id);
}

/*
 * The master staged c's service: c hears service:created with the
 * reply's node and pending change; the draft is gone for everyone.
 */
void
rooms_service_created(struct ws_conn *c, const char *draft_id,
    const struct tval *reply)
{
	struct room	*rm = c->room;
	struct draft	*d;
	yajl_gen	 g;

	if (rm == NULL)
		return;
	if ((d = draft_find(rm, draft_id)) != NULL && d->owner == c->user)
		draft_remove(rm, d);
	room_send_msg(rm, NULL, msg_one_str("service:draft-cancelled",
	    "draft_id", draft_id), c->id);
	if ((g = ws_msg_begin("service:created")) == NULL)
		return;
	yajl_gen_map_open(g);
	json_kv_str(g, "draft_id", draft_id);
	json_str(g, "node");
	if (ws_json_tval(g, tval_get(reply, "node")) == -1)
		yajl_gen_null(g);
	json_str(g, "pending_change");
	if (ws_json_tval(g, tval_get(reply, "pending_change")) == -1)
		yajl_gen_null(g);
	yajl_gen_map_close(g);
	room_send_msg(rm, c, ws_msg_end(g), 0);
}

/*
 * IMSG_API_EVENT (msg.h): the room of the project hears {"type",
 * "payload"}, but for the connection numbered except_conn.  An event
 * for a room that is gone is dropped; a malformed one means a broken
 * master.
 */
int
rooms_event(struct imsg *imsg)
{
	struct msg_event	 ev;
	struct room		*rm;
	struct rbuf		 r;
	yajl_gen		 g;

	rbuf_init(&r, imsg->data, imsg->len);
	if (msg_event_get(&r, &ev) == -1) {
		log_warnx("%s: malformed event from the master", __func__);
		return (-1);
	}
	if ((rm = room_find(ev.project_id)) == NULL ||
	    (g = ws_msg_begin(ev.type)) == NULL)
		return (0);
	rbuf_init(&r, ev.payload, ev.payload_len);
	if (tree_to_json(&r, g) == -1) {
		yajl_gen_free(g);
		log_warnx("%s: event %s does not render as JSON", __func__,
		    ev.type);
		return (-1);
	}
	room_send_msg(rm, NULL, ws_msg_end(g), ev.except_conn);
	return (0);
}
