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
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <sha1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api.h"
#include "log.h"
#include "tree.h"
#include "tree_json.h"
#include "worker.h"

/*
 * The canvas WebSocket at /api/projects/{id}/canvas/ws.  The master
 * first says the project exists (CANVAS_OPEN); then the evhttp
 * connection is taken over as reference/tech-notes.md 1 describes:
 * its bufferevent gets our callbacks before anything is enabled, the
 * request stays on the connection, and the connection is freed (with
 * the request) when the WebSocket ends.  The client proves who it is
 * with its first message; CANVAS_JOIN gives a ticket that every later
 * op of this connection carries instead of a token.
 *
 * Writes go through a queue of shared frames, at most WS_QUEUE_MAX
 * per client; only WS_OUT_HIGH bytes at a time go to the bufferevent.
 * A client whose queue is full, or whose socket takes nothing for
 * WS_WRITE_SEC, is dropped: nobody waits for it.  Connections are
 * freed by a deferred event, so a drop inside a broadcast never
 * changes the room being walked.
 */

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN	24
#define WS_ACCEPT_LEN	28
#define WS_OUT_HIGH	(64 * 1024)
#define WS_OUT_LOW	(16 * 1024)
#define WS_IN_HIGH	(128 * 1024)
#define WS_SNDBUF	(128 * 1024)	/* the kernel's share of a client */

/* What a call to the master needs to find its connection again. */
struct ws_call {
	uint32_t	 conn;
	uint32_t	 op;
	char		 draft_id[CANVAS_DRAFT_ID_MAX + 1];
};

/* The project of a handshake, while the master looks it up. */
struct ws_open {
	char		 project_id[CANVAS_ID_MAX + 1];
};

static int	ws_conn_cmp(struct ws_conn *, struct ws_conn *);
RB_HEAD(ws_conns, ws_conn);
RB_PROTOTYPE_STATIC(ws_conns, ws_conn, entry, ws_conn_cmp)
RB_GENERATE_STATIC(ws_conns, ws_conn, entry, ws_conn_cmp)

static struct ws_conns	 conns = RB_INITIALIZER(&conns);
static uint32_t		 last_conn_id;
static int		 shutting_down;

static void	ws_open_done(struct evhttp_request *,
		    const struct msg_reply *, void *);
static void	ws_handshake(struct evhttp_request *, const char *);
static void	ws_input(struct ws_conn *);
static void	ws_close(struct ws_conn *, uint16_t, const char *);
static void	ws_drop(struct ws_conn *, const char *);
static void	ws_conn_free(struct ws_conn *, int);
static void	ws_leave(struct ws_conn *);

static int
ws_conn_cmp(struct ws_conn *a, struct ws_conn *b)
{
	return (a->id < b->id ? -1 : a->id > b->id);
}

static struct ws_conn *
ws_conn_find(uint32_t id)
{
	struct ws_conn	 key;

	key.id = id;
	return (RB_FIND(ws_conns, &conns, &key));
}

/* ---------------------------------------------------------- messages */

static struct ws_msg *
ws_msg_frame(int opcode, const void *payload, size_t len)
{
	struct ws_msg	*m;
	uint8_t		 hdr[WS_HEADER_MAX];
	size_t		 hlen;

	hlen = ws_frame_header(hdr, opcode, len);
	if ((m = malloc(sizeof(*m) + hlen + len)) == NULL)
		return (NULL);
	m->refs = 1;
	m->len = hlen + len;
	memcpy(m->data, hdr, hlen);
	if (len > 0)
		memcpy(m->data + hlen, payload, len);
	return (m);
}

void
ws_msg_unref(struct ws_msg *m)
{
	if (m != NULL && --m->refs == 0)
		free(m);
}

/* {"type": type, "payload": ...: the caller writes the payload. */
yajl_gen
ws_msg_begin(const char *type)
{
	yajl_gen	 g;

	if ((g = json_new()) == NULL)
		return (NULL);
	yajl_gen_map_open(g);
	json_kv_str(g, "type", type);
	json_str(g, "payload");
	return (g);
}

/* ...}: the message as a text frame; frees g.  NULL on failure. */
struct ws_msg *
ws_msg_end(yajl_gen g)
{
	struct ws_msg		*m = NULL;
	const unsigned char	*buf;
	size_t			 len;

	if (yajl_gen_map_close(g) == yajl_gen_status_ok &&
	    yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		m = ws_msg_frame(WS_OP_TEXT, buf, len);
	else
		log_warnx("%s: a canvas message does not render", __func__);
	yajl_gen_free(g);
	return (m);
}

/* A value of the master's reply, as JSON; -1 if it is NULL or bad. */
int
ws_json_tval(yajl_gen g, const struct tval *v)
{
	struct wbuf	 w;
	struct rbuf	 r;
	int		 rv = -1;

	if (v == NULL)
		return (-1);
	wbuf_init(&w, DKD_IMSG_MAX_INTERNAL);
	tval_encode(&w, v);
	if (!w.error) {
		rbuf_init(&r, w.buf, w.len);
		rv = tree_to_json(&r, g);
	}
	wbuf_free(&w);
	return (rv);
}

/* Move queued frames to the bufferevent while it has room. */
static void
ws_flush(struct ws_conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct ws_qent	*e;
	int		 rv;

	while ((e = STAILQ_FIRST(&c->queue)) != NULL &&
	    evbuffer_get_length(out) < WS_OUT_HIGH) {
		STAILQ_REMOVE_HEAD(&c->queue, entry);
		c->nqueue--;
		rv = evbuffer_add(out, e->msg->data, e->msg->len);
		ws_msg_unref(e->msg);
		free(e);
		if (rv == -1) {
			ws_drop(c, "out of memory");
			return;
		}
	}
}

static void
ws_queue_clear(struct ws_conn *c)
{
	struct ws_qent	*e;

	while ((e = STAILQ_FIRST(&c->queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->queue, entry);
		ws_msg_unref(e->msg);
		free(e);
	}
	c->nqueue = 0;
}

/* Queue m (the caller keeps its reference); a full queue drops c. */
void
ws_send(struct ws_conn *c, struct ws_msg *m)
{
	struct ws_qent	*e;

	if (shutting_down || c->dead || c->state == WS_CLOSING || m == NULL)
		return;
	if (c->nqueue >= WS_QUEUE_MAX) {
		ws_drop(c, "too slow, its queue is full");
		return;
	}
	if ((e = malloc(sizeof(*e))) == NULL) {
		ws_drop(c, "out of memory");
		return;
	}
	e->msg = m;
	m->refs++;
	STAILQ_INSERT_TAIL(&c->queue, e, entry);
	c->nqueue++;
	ws_flush(c);
}

static void
ws_send_frame(struct ws_conn *c, int opcode, const void *data, size_t len)
{
	struct ws_msg	*m;

	if ((m = ws_msg_frame(opcode, data, len)) == NULL) {
		ws_drop(c, "out of memory");
		return;
	}
	ws_send(c, m);
	ws_msg_unref(m);
}

/* error {message}, or service:create-error {draft_id, message}. */
static void
ws_send_error(struct ws_conn *c, const char *draft_id, const char *message)
{
	struct ws_msg	*m;
	yajl_gen	 g;

	g = ws_msg_begin(draft_id != NULL ? "service:create-error" : "error");
	if (g == NULL)
		return;
	yajl_gen_map_open(g);
	if (draft_id != NULL)
		json_kv_str(g, "draft_id", draft_id);
	json_kv_str(g, "message", message);
	yajl_gen_map_close(g);
	m = ws_msg_end(g);
	ws_send(c, m);
	ws_msg_unref(m);
}

/* ------------------------------------------------------------ master */

/* Send a request built by ws_request; the call (if any) is taken. */
static int
ws_call_master(struct wbuf *wb, api_call_cb cb, struct ws_call *call)
{
	int	 rv;

	rv = api_call_master(NULL, wb, cb, call);
	explicit_bzero(wb->buf, wb->len);
	wbuf_free(wb);
	if (rv == -1)
		free(call);
	return (rv);
}

/* The reply's tree; a 204 reads as null. */
static int
ws_reply_tree(const struct msg_reply *m, struct tval *v)
{
	struct rbuf	 r;

	memset(v, 0, sizeof(*v));
	v->tag = TREE_NULL;
	if (m->tree_len == 0)
		return (0);
	rbuf_init(&r, m->tree, m->tree_len);
	return (tval_decode_all(&r, v, m->tree_len));
}

static void
ws_ignore_reply(struct evhttp_request *req, const struct msg_reply *m,
    void *arg)
{
}

/* The connection is over for the master: its ticket dies. */
static void
ws_send_leave(const char *ticket, const char *client)
{
	struct wbuf	 wb;

	if (shutting_down || ticket[0] == '\0')
		return;
	if (canvas_request(&wb, OP_CANVAS_LEAVE, ticket, client, NULL, 0,
	    NULL) == -1 || ws_call_master(&wb, ws_ignore_reply, NULL) == -1)
		log_warnx("%s: cannot tell the master", __func__);
}

static int
ticket_valid(const char *s)
{
	size_t	 i;

	if (s == NULL || strlen(s) != SHA256_HEX_LEN)
		return (0);
	for (i = 0; i < SHA256_HEX_LEN; i++)
		if (!isdigit((unsigned char)s[i]) &&
		    (s[i] < 'a' || s[i] > 'f'))
			return (0);
	return (1);
}

static void
ws_join_done(struct evhttp_request *req, const struct msg_reply *m,
    void *arg)
{
	struct ws_call	*call = arg;
	struct ws_conn	*c;
	struct tval	 v;
	const char	*ticket = NULL;
	uint32_t	 status = m->status;

	c = ws_conn_find(call->conn);
	free(call);
	memset(&v, 0, sizeof(v));
	if (status == 200) {
		if (ws_reply_tree(m, &v) == -1)
			status = 500;
		else if (!ticket_valid(ticket = tval_str(&v, "ticket")))
			status = 500;
	}
	if (c == NULL || c->dead || c->state != WS_JOINING) {
		/* Gone while the master looked: give the ticket back. */
		if (status == 200)
			ws_send_leave(ticket, "");
		tval_free(&v);
		return;
	}
	switch (status) {
	case 200:
		strlcpy(c->ticket, ticket, sizeof(c->ticket));
		c->state = WS_OPEN;
		if (rooms_join(c, &v) == -1) {
			ws_close(c, WS_CLOSE_INTERNAL, "Internal error.");
			break;
		}
		/* Messages that came after auth wait until now. */
		ws_input(c);
		break;
	case 401:
	case 403:
		ws_close(c, WS_CLOSE_AUTH, "Authentication failed.");
		break;
	case 404:
		ws_close(c, WS_CLOSE_NOT_FOUND, "Project not found.");
		break;
	default:
		ws_close(c, WS_CLOSE_INTERNAL, "Internal error.");
		break;
	}
	tval_free(&v);
}

/* The auth message: the token's hash goes to CANVAS_JOIN. */
static void
ws_join(struct ws_conn *c, const char *token)
{
	struct ws_call	*call;
	struct wbuf	 wb;
	char		 hash[SHA256_HEX_LEN + 1];

	if (*token == '\0') {
		ws_close(c, WS_CLOSE_AUTH, "Authentication failed.");
		return;
	}
	sha256_hex(token, strlen(token), hash);
	if ((call = calloc(1, sizeof(*call))) == NULL ||
	    canvas_request(&wb, OP_CANVAS_JOIN, hash, c->client, c->project_id,
	    c->id, NULL) == -1) {
		free(call);
		ws_close(c, WS_CLOSE_INTERNAL, "Internal error.");
		return;
	}
	call->conn = c->id;
	call->op = OP_CANVAS_JOIN;
	if (ws_call_master(&wb, ws_join_done, call) == -1) {
		ws_close(c, WS_CLOSE_INTERNAL, "Internal error.");
		return;
	}
	explicit_bzero(hash, sizeof(hash));
	c->state = WS_JOINING;
	evtimer_del(c->timer);
}

static void
ws_op_done(struct evhttp_request *req, const struct msg_reply *m,
    void *arg)
{
	struct ws_call	*call = arg;
	struct ws_conn	*c;
	struct tval	 v;
	const char	*msg, *draft;
	uint32_t	 status = m->status;

	memset(&v, 0, sizeof(v));
	if ((c = ws_conn_find(call->conn)) == NULL || c->dead ||
	    c->state != WS_OPEN) {
		free(call);
		return;
	}
	c->inflight--;
	if (status != 0 && ws_reply_tree(m, &v) == -1)
		status = 500;
	draft = call->op == OP_CANVAS_SERVICE_CREATE ? call->draft_id : NULL;
	if (status == 200 || status == 204) {
		if (draft != NULL)
			rooms_service_created(c, draft, &v);
	} else if (status == 401)
		ws_close(c, WS_CLOSE_AUTH, "Authentication failed.");
	else if (status >= 400 && status < 500) {
		if ((msg = tval_str(&v, "message")) == NULL)
			msg = "Internal error.";
		ws_send_error(c, draft, msg);
	} else
		ws_send_error(c, draft, "Internal error.");
	tval_free(&v);
	free(call);
	ws_input(c);
}

/* A message for the master, on c's ticket. */
static void
ws_op(struct ws_conn *c, struct canvas_msg *m)
{
	struct ws_call	*call;
	struct wbuf	 wb;
	const char	*draft = m->op == OP_CANVAS_SERVICE_CREATE ?
			    m->draft_id : NULL;

	if ((call = calloc(1, sizeof(*call))) == NULL) {
		wbuf_free(&m->payload);
		ws_send_error(c, draft, "Internal error.");
		return;
	}
	call->conn = c->id;
	call->op = m->op;
	strlcpy(call->draft_id, m->draft_id, sizeof(call->draft_id));
	if (canvas_request(&wb, m->op, c->ticket, c->client, NULL, 0,
	    &m->payload) == -1) {
		free(call);
		ws_send_error(c, draft, "Invalid message format.");
		return;
	}
	if (ws_call_master(&wb, ws_op_done, call) == -1) {
		ws_send_error(c, draft, "Internal error.");
		return;
	}
	c->inflight++;
}

/* ---------------------------------------------------------- messages */

static void
ws_message(struct ws_conn *c, const uint8_t *data, size_t len)
{
	struct canvas_msg	 m;

	(void)canvas_msg_decode(data, len, &m);
	if (c->state == WS_AUTH) {
		if (m.kind == CMSG_AUTH)
			ws_join(c, m.token);
		else
			ws_close(c, WS_CLOSE_AUTH, "Authentication failed.");
		canvas_msg_clear(&m);
		return;
	}
	switch (m.kind) {
	case CMSG_ERROR:
		ws_send_error(c, NULL, m.error != NULL ? m.error :
		    "Internal error.");
		break;
	case CMSG_IGNORE:
	case CMSG_AUTH:
		/* Authenticated already: a repeated auth changes nothing. */
		break;
	case CMSG_CURSOR:
		rooms_cursor(c, m.x, m.y);
		break;
	case CMSG_DRAFT_START:
		if (rooms_draft_start(c, m.draft_id, m.x, m.y) == -1)
			ws_send_error(c, NULL, "Too many drafts.");
		break;
	case CMSG_DRAFT_CANCEL:
		rooms_draft_cancel(c, m.draft_id);
		break;
	case CMSG_OP:
		ws_op(c, &m);
		break;
	}
	canvas_msg_clear(&m);
}

static void
ws_event(struct ws_conn *c, const struct ws_event *ev)
{
	switch (ev->type) {
	case WS_EV_NONE:
		break;
	case WS_EV_MESSAGE:
		if (c->state != WS_CLOSING)
			ws_message(c, ev->data, ev->len);
		break;
	case WS_EV_PING:
		ws_send_frame(c, WS_OP_PONG, ev->data, ev->len);
		break;
	case WS_EV_PONG:
		break;
	case WS_EV_CLOSE:
		c->close_rcvd = 1;
		if (c->state != WS_CLOSING)
			ws_close(c, ev->code == WS_CLOSE_NO_STATUS ? 0 :
			    ev->code, NULL);
		else if (evbuffer_get_length(bufferevent_get_output(c->bev))
		    == 0)
			ws_drop(c, NULL);
		break;
	case WS_EV_FAIL:
		log_debug("canvas: client %u: %s", c->id, ev->reason);
		ws_close(c, ev->code, ev->reason);
		break;
	}
}

/* Until it joined, or while it waits for many answers, c is not read. */
static int
ws_paused(struct ws_conn *c)
{
	if (c->state == WS_CLOSING)
		return (0);
	return (c->state == WS_JOINING || c->inflight >= WS_INFLIGHT_MAX);
}

/* Parse what has arrived, one event at a time. */
static void
ws_input(struct ws_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec	 v;
	struct ws_event		 ev;
	size_t			 used;

	while (!c->dead && !ws_paused(c) &&
	    evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		used = ws_parse(&c->parser, v.iov_base, v.iov_len, &ev);
		evbuffer_drain(in, used);
		ws_event(c, &ev);
	}
}

/* --------------------------------------------------------- callbacks */

static void
ws_read_cb(struct bufferevent *bev, void *arg)
{
	ws_input(arg);
}

static void
ws_write_cb(struct bufferevent *bev, void *arg)
{
	struct ws_conn	*c = arg;

	if (c->dead)
		return;
	if (c->state != WS_CLOSING) {
		ws_flush(c);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	/* Our close frame is out: done if the peer's came. */
	if (c->close_rcvd) {
		ws_drop(c, NULL);
		return;
	}
	/*
	 * Else half-close and read on until the peer's close frame or its
	 * EOF: closing with its bytes unread would reset the connection,
	 * and a reset can destroy our close frame before it is read.
	 */
	if (!c->shut_wr) {
		c->shut_wr = 1;
		(void)shutdown(bufferevent_getfd(bev), SHUT_WR);
	}
	ws_input(c);
}

static void
ws_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ws_conn	*c = arg;

	if (what & BEV_EVENT_TIMEOUT)
		ws_drop(c, what & BEV_EVENT_WRITING ?
		    "it did not read for too long" : "it was silent too long");
	else if (what & BEV_EVENT_EOF)
		ws_drop(c, c->state == WS_CLOSING ? NULL :
		    "it went away without a close frame");
	else
		ws_drop(c, "connection error");
}

/* Auth time is up, or the peer never answered our close. */
static void
ws_timer_cb(int fd, short event, void *arg)
{
	struct ws_conn	*c = arg;

	if (c->state == WS_AUTH)
		ws_close(c, WS_CLOSE_AUTH, "Authentication failed.");
	else if (c->state == WS_CLOSING)
		ws_drop(c, NULL);
}

static void
ws_ping_cb(int fd, short event, void *arg)
{
	ws_send_frame(arg, WS_OP_PING, NULL, 0);
}

static void
ws_reap_cb(int fd, short event, void *arg)
{
	ws_conn_free(arg, 1);
}

/* evhttp frees the connection itself (evhttp_free): let go of c. */
static void
ws_evcon_closed(struct evhttp_connection *evcon, void *arg)
{
	ws_conn_free(arg, 0);
}

/* ------------------------------------------------------- life cycle */

/* Leave the room and give the ticket back, once. */
static void
ws_leave(struct ws_conn *c)
{
	rooms_leave(c);
	ws_send_leave(c->ticket, c->client);
	explicit_bzero(c->ticket, sizeof(c->ticket));
}

/*
 * Start the close handshake: what is queued is dropped, the close frame
 * goes out, and we read on until the peer's close frame, its EOF or
 * WS_CLOSE_SEC.  code 0 sends a close frame without a code.
 */
static void
ws_close(struct ws_conn *c, uint16_t code, const char *reason)
{
	struct evbuffer	*out;
	struct timeval	 tv = { WS_CLOSE_SEC, 0 };
	uint8_t		 hdr[WS_HEADER_MAX], payload[WS_CONTROL_MAX];
	size_t		 hlen, plen = 0;

	if (c->dead || c->state == WS_CLOSING)
		return;
	ws_leave(c);
	ws_queue_clear(c);
	if (code != 0)
		plen = ws_close_payload(payload, code, reason);
	hlen = ws_frame_header(hdr, WS_OP_CLOSE, plen);
	out = bufferevent_get_output(c->bev);
	if (evbuffer_add(out, hdr, hlen) == -1 ||
	    evbuffer_add(out, payload, plen) == -1) {
		ws_drop(c, "out of memory");
		return;
	}
	c->state = WS_CLOSING;
	/* The write callback must see the output empty. */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	evtimer_del(c->ping);
	evtimer_del(c->timer);
	evtimer_add(c->timer, &tv);
}

/* End c now, without a close frame; it is freed from the event loop. */
static void
ws_drop(struct ws_conn *c, const char *why)
{
	if (c->dead)
		return;
	if (why != NULL)
		log_info("canvas: client %u dropped: %s", c->id, why);
	c->dead = 1;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	event_active(c->reap, EV_TIMEOUT, 0);
}

/* Free c; also its evhttp connection unless evhttp is freeing it. */
static void
ws_conn_free(struct ws_conn *c, int free_evcon)
{
	RB_REMOVE(ws_conns, &conns, c);
	ws_leave(c);
	ws_queue_clear(c);
	ws_parser_free(&c->parser);
	event_free(c->timer);
	event_free(c->ping);
	event_free(c->reap);
	http_conn_release(c->evcon);
	if (free_evcon) {
		evhttp_connection_set_closecb(c->evcon, NULL, NULL);
		evhttp_connection_free(c->evcon);
	}
	free(c);
}

static struct ws_conn *
ws_conn_new(struct evhttp_request *req, const char *project_id)
{
	struct ws_conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->timer = evtimer_new(worker->base, ws_timer_cb, c);
	c->ping = event_new(worker->base, -1, EV_PERSIST, ws_ping_cb, c);
	c->reap = evtimer_new(worker->base, ws_reap_cb, c);
	if (c->timer == NULL || c->ping == NULL || c->reap == NULL) {
		if (c->timer != NULL)
			event_free(c->timer);
		if (c->ping != NULL)
			event_free(c->ping);
		if (c->reap != NULL)
			event_free(c->reap);
		free(c);
		return (NULL);
	}
	/* Numbers are reused only after 2^32 connections, never 0. */
	do {
		if (++last_conn_id == 0)
			last_conn_id = 1;
	} while (ws_conn_find(last_conn_id) != NULL);
	c->id = last_conn_id;
	c->state = WS_AUTH;
	STAILQ_INIT(&c->queue);
	ws_parser_init(&c->parser, WS_MSG_MAX);
	strlcpy(c->project_id, project_id, sizeof(c->project_id));
	client_address(req, c->client, sizeof(c->client));
	RB_INSERT(ws_conns, &conns, c);
	return (c);
}

/* At exit: every WebSocket goes, before evhttp frees what is left. */
void
ws_shutdown(void)
{
	struct ws_conn	*c;

	shutting_down = 1;
	while ((c = RB_ROOT(&conns)) != NULL)
		ws_conn_free(c, 1);
}

/* -------------------------------------------------------- handshake */

/* Is token in the comma-separated list h (case-insensitive)? */
static int
header_has_token(const char *h, const char *token)
{
	size_t	 n, tlen = strlen(token);

	while (h != NULL && *h != '\0') {
		h += strspn(h, " \t,");
		n = strcspn(h, ",");
		while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
			n--;
		if (n == tlen && strncasecmp(h, token, n) == 0)
			return (1);
		h += strcspn(h, ",");
	}
	return (0);
}

/* 24 characters of base64: 16 bytes, as RFC 6455 4.1 asks. */
static int
key_valid(const char *k)
{
	size_t	 i;

	if (k == NULL || strlen(k) != WS_KEY_LEN || strcmp(k + 22, "==") != 0)
		return (0);
	for (i = 0; i < 22; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '+' &&
		    k[i] != '/')
			return (0);
	return (1);
}

static void
base64(const uint8_t *in, size_t len, char *out)
{
	static const char	 b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t		 v;
	size_t			 i;

	for (i = 0; i < len; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*out++ = b64[v >> 18 & 0x3f];
		*out++ = b64[v >> 12 & 0x3f];
		*out++ = i + 1 < len ? b64[v >> 6 & 0x3f] : '=';
		*out++ = i + 2 < len ? b64[v & 0x3f] : '=';
	}
	*out = '\0';
}

/* Sec-WebSocket-Accept: base64(SHA-1(key + GUID)). */
static void
accept_key(const char *key, char out[WS_ACCEPT_LEN + 1])
{
	SHA1_CTX	 ctx;
	uint8_t		 digest[SHA1_DIGEST_LENGTH];

	SHA1Init(&ctx);
	SHA1Update(&ctx, (const uint8_t *)key, strlen(key));
	SHA1Update(&ctx, (const uint8_t *)WS_GUID, strlen(WS_GUID));
	SHA1Final(digest, &ctx);
	base64(digest, sizeof(digest), out);
}

/*
 * GET /api/projects/{id}/canvas/ws: the master says whether the
 * project exists before anything else is looked at, as the reference
 * does (a plain 404 for an unknown project).
 */
void
ws_upgrade(struct evhttp_request *req, const char *project_id)
{
	struct ws_open	*o;
	struct wbuf	 wb;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		http_error(req, 405, "invalid", "Method not allowed.");
		return;
	}
	if (strlen(project_id) > CANVAS_ID_MAX) {
		http_error(req, 404, "not_found", "Project not found.");
		return;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    canvas_request(&wb, OP_CANVAS_OPEN, "", "", project_id, 0,
	    NULL) == -1) {
		free(o);
		http_error(req, 500, "internal", "Internal error.");
		return;
	}
	strlcpy(o->project_id, project_id, sizeof(o->project_id));
	if (api_call_master(req, &wb, ws_open_done, o) == -1) {
		free(o);
		http_error(req, 503, "internal", "Service unavailable.");
	}
	wbuf_free(&wb);
}

static void
ws_open_done(struct evhttp_request *req, const struct msg_reply *m,
    void *arg)
{
	struct ws_open	*o = arg;

	if (m->status == 200)
		ws_handshake(req, o->project_id);
	else
		route_done(req, m, NULL);
	free(o);
}

/* Check the upgrade request, then take the connection over. */
static void
ws_handshake(struct evhttp_request *req, const char *project_id)
{
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	struct evhttp_connection *evcon;
	struct bufferevent	*bev;
	struct ws_conn		*c;
	struct timeval		 rtv = { WS_READ_SEC, 0 };
	struct timeval		 wtv = { WS_WRITE_SEC, 0 };
	struct timeval		 atv = { WS_AUTH_SEC, 0 };
	struct timeval		 ptv = { WS_PING_SEC, 0 };
	const char		*key, *ver;
	char			 accept[WS_ACCEPT_LEN + 1];
	int			 sndbuf, one = 1;

	key = evhttp_find_header(in, "Sec-WebSocket-Key");
	ver = evhttp_find_header(in, "Sec-WebSocket-Version");
	if (!header_has_token(evhttp_find_header(in, "Upgrade"),
	    "websocket") ||
	    !header_has_token(evhttp_find_header(in, "Connection"),
	    "upgrade") ||
	    ver == NULL || strcmp(ver, "13") != 0 || !key_valid(key)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Sec-WebSocket-Version", "13");
		http_error(req, 400, "invalid", "Bad WebSocket handshake.");
		return;
	}
	/* A client that left while the master looked: evhttp frees it. */
	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL) {
		http_error(req, 500, "internal", "Internal error.");
		return;
	}
	if ((c = ws_conn_new(req, project_id)) == NULL) {
		http_error(req, 503, "internal", "Service unavailable.");
		return;
	}
	c->evcon = evcon;
	c->bev = bev;
	accept_key(key, accept);

	/* tech-notes 1: all three callbacks before anything is enabled. */
	bufferevent_setcb(bev, ws_read_cb, ws_write_cb, ws_event_cb, c);
	bufferevent_set_timeouts(bev, NULL, NULL);
	evhttp_connection_set_closecb(evcon, ws_evcon_closed, c);
	if (evbuffer_add_printf(bufferevent_get_output(bev),
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept) == -1) {
		ws_drop(c, "out of memory");
		return;
	}
	/*
	 * A fixed send buffer: the kernel would grow it to megabytes for
	 * one client that does not read, before our queue ever fills.
	 */
	sndbuf = WS_SNDBUF;
	(void)setsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_SNDBUF,
	    &sndbuf, sizeof(sndbuf));
	/* Small messages that must not wait for the peer's delayed ACK. */
	(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
	    &one, sizeof(one));
	bufferevent_setwatermark(bev, EV_READ, 0, WS_IN_HIGH);
	bufferevent_setwatermark(bev, EV_WRITE, WS_OUT_LOW, 0);
	bufferevent_set_timeouts(bev, &rtv, &wtv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	evtimer_add(c->timer, &atv);
	evtimer_add(c->ping, &ptv);
	log_debug("canvas: client %u of %s opened project %s", c->id,
	    c->client, c->project_id);
	/* Bytes that came right after the request. */
	ws_input(c);
}
