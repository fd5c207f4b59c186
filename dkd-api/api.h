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

#ifndef DKD_API_H
#define DKD_API_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdint.h>

#include <event2/http.h>
#include <yajl/yajl_gen.h>

#include "dkd_imsg.h"
#include "imsg.h"
#include "msg.h"
#include "ops.h"
#include "tval.h"
#include "util.h"
#include "wire.h"

#define API_MAX_BODY		(1024 * 1024)
#define API_MAX_HEADERS		(16 * 1024)
#define API_MAX_CONNS		1000
#define API_MIN_CONNS		16	/* however low the descriptor limit */
#define API_FD_RESERVE		64	/* descriptors not for connections */
/*
 * One client address (IPv6: one /64) may hold a quarter of the
 * connections, 250 of 1,000.  A browser opens up to 6 connections to a
 * host, so that is room for some 40 busy users behind one NAT, while it
 * takes four addresses to fill the server; and a full server still lets
 * a fresh client in by closing the slowest (see http.c).  Trusted
 * proxies, which carry everyone, are not capped.
 */
#define API_CONNS_ADDR_SHARE	4
#define API_TIMEOUT_SEC		20	/* idle, header and body reads */
/*
 * A whole request, body included, from accept or the end of the previous
 * reply, however slowly its bytes arrive.  As long as the idle timeout,
 * so that a 1 MiB body still fits at 50 KiB/s.
 */
#define API_REQUEST_SEC		20
/* Waiting longer than this for a request, a connection may be evicted. */
#define API_EVICT_MSEC		1000
#define API_ACCEPT_PAUSE_SEC	1	/* after EMFILE and the like */
#define API_CALL_TIMEOUT_SEC	10	/* waiting for the master */

struct api_call;
struct route_ctx;

/* Called with the master's reply, or with status 0 if none came. */
typedef void	(*api_call_cb)(struct evhttp_request *,
		    const struct msg_reply *, void *);

#define API_JSON_MAX_DEPTH	32

/* api.c */
int	 api_call_master(struct evhttp_request *, struct wbuf *, api_call_cb,
	    void *);
int	 api_call_take_fd(void);

/* sse.c: the log stream (spec 11) */
void	 sse_open_done(struct evhttp_request *, const struct msg_reply *,
	    void *);
void	 sse_shutdown(void);

/* The canvas WebSocket (ws.c, ws_frame.c, rooms.c, canvas_msg.c). */
#define WS_MSG_MAX		(64 * 1024)	/* an inbound message */
#define WS_CONTROL_MAX		125
#define WS_HEADER_MAX		14
#define WS_QUEUE_MAX		256	/* messages waiting for one client */
#define WS_AUTH_SEC		5	/* for the auth message */
#define WS_PING_SEC		54
#define WS_READ_SEC		60	/* silence, pongs included */
#define WS_WRITE_SEC		10	/* a client that does not read */
#define WS_CLOSE_SEC		5	/* for the peer's close frame */
#define WS_INFLIGHT_MAX		8	/* ops of one client at the master */

#define WS_OP_CONT		0x0
#define WS_OP_TEXT		0x1
#define WS_OP_BINARY		0x2
#define WS_OP_CLOSE		0x8
#define WS_OP_PING		0x9
#define WS_OP_PONG		0xa

#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001
#define WS_CLOSE_PROTOCOL	1002
#define WS_CLOSE_NO_STATUS	1005	/* received only: no code given */
#define WS_CLOSE_BAD_DATA	1007
#define WS_CLOSE_POLICY		1008
#define WS_CLOSE_TOO_BIG	1009
#define WS_CLOSE_INTERNAL	1011
#define WS_CLOSE_AUTH		4001
#define WS_CLOSE_NOT_FOUND	4004

#define CANVAS_ID_MAX		64
#define CANVAS_NAME_MAX		255
#define CANVAS_PAYLOAD_MAX	65536
#define CANVAS_TOKEN_MAX	256
#define CANVAS_DRAFT_ID_MAX	128
#define CANVAS_DRAFTS_MAX	64	/* per user in a room */

enum ws_event_type {
	WS_EV_NONE,		/* all input used, no event yet */
	WS_EV_MESSAGE,		/* a whole text or binary message */
	WS_EV_PING,
	WS_EV_PONG,
	WS_EV_CLOSE,		/* the peer's close frame */
	WS_EV_FAIL,		/* the peer broke the protocol */
};

struct ws_event {
	enum ws_event_type	 type;
	int			 opcode;	/* a message's */
	const uint8_t		*data;		/* close: the reason */
	size_t			 len;
	uint16_t		 code;		/* close: the peer's; fail:
						   the one to send */
	const char		*reason;	/* fail: for the close frame */
};

struct ws_parser {
	int		 state;
	size_t		 max;		/* bytes in a message */
	uint8_t		 hdr[WS_HEADER_MAX];
	size_t		 hdrlen, hdrneed;
	int		 fin, opcode;
	uint8_t		 mask[4];
	uint64_t	 plen, pgot;	/* the frame's payload */
	int		 msgop;		/* message in progress, or 0 */
	uint8_t		*msg;
	size_t		 msglen, msgcap;
	uint32_t	 utf8;		/* ws_utf8_step() */
	int		 delivered;	/* msg went out with the last event */
	uint8_t		 ctl[WS_CONTROL_MAX];
};

/* A frame ready to send, shared by every client it goes to. */
struct ws_msg {
	int		 refs;
	size_t		 len;
	uint8_t		 data[];
};

struct ws_qent {
	STAILQ_ENTRY(ws_qent)	 entry;
	struct ws_msg		*msg;
};

enum ws_state {
	WS_AUTH,		/* waiting for the auth message */
	WS_JOINING,		/* CANVAS_JOIN at the master */
	WS_OPEN,		/* in its room */
	WS_CLOSING,		/* close frame sent */
};

struct room;
struct room_user;

struct ws_conn {
	RB_ENTRY(ws_conn)	 entry;
	TAILQ_ENTRY(ws_conn)	 room_entry;
	uint32_t		 id;		/* > 0, the master's "conn" */
	enum ws_state		 state;
	int			 dead;		/* freed by the reaper */
	int			 close_rcvd;
	int			 shut_wr;	/* our side half-closed */
	struct evhttp_connection *evcon;
	struct bufferevent	*bev;
	struct ws_parser	 parser;
	struct event		*timer;		/* auth, then close */
	struct event		*ping;
	struct event		*reap;
	STAILQ_HEAD(, ws_qent)	 queue;
	int			 nqueue;
	int			 inflight;
	char			 project_id[CANVAS_ID_MAX + 1];
	char			 client[64];
	char			 ticket[SHA256_HEX_LEN + 1];
	struct room		*room;
	struct room_user	*user;
};

struct room_user {
	TAILQ_ENTRY(room_user)	 entry;
	char			 id[CANVAS_ID_MAX + 1];
	char			 name[CANVAS_NAME_MAX + 1];
	int			 nconns;
	int			 ndrafts;
};

/* canvas_msg.c */
enum cmsg_kind {
	CMSG_ERROR,		/* answer with error */
	CMSG_IGNORE,		/* drop without a word (a bad cursor) */
	CMSG_AUTH,
	CMSG_CURSOR,
	CMSG_DRAFT_START,
	CMSG_DRAFT_CANCEL,
	CMSG_OP,		/* for the master: op and payload */
};

struct canvas_msg {
	enum cmsg_kind	 kind;
	uint32_t	 op;
	char		*error;		/* NULL: out of memory */
	char		 token[CANVAS_TOKEN_MAX + 1];
	char		 draft_id[CANVAS_DRAFT_ID_MAX + 1];
	double		 x, y;
	struct wbuf	 payload;	/* the payload as a value tree */
};
int	 canvas_msg_decode(const uint8_t *, size_t, struct canvas_msg *);
void	 canvas_msg_clear(struct canvas_msg *);
int	 canvas_request(struct wbuf *, uint32_t, const char *, const char *,
	    const char *, uint32_t, struct wbuf *);

/* rooms.c */
int	 rooms_join(struct ws_conn *, const struct tval *);
void	 rooms_leave(struct ws_conn *);
void	 rooms_cursor(struct ws_conn *, double, double);
int	 rooms_draft_start(struct ws_conn *, const char *, double, double);
void	 rooms_draft_cancel(struct ws_conn *, const char *);
void	 rooms_service_created(struct ws_conn *, const char *,
	    const struct tval *);
int	 rooms_event(struct imsg *);

/* ws.c */
void	 ws_upgrade(struct evhttp_request *, const char *);
void	 ws_send(struct ws_conn *, struct ws_msg *);
yajl_gen ws_msg_begin(const char *);
struct ws_msg *ws_msg_end(yajl_gen);
void	 ws_msg_unref(struct ws_msg *);
int	 ws_json_tval(yajl_gen, const struct tval *);
void	 ws_shutdown(void);

/* ws_frame.c */
void	 ws_parser_init(struct ws_parser *, size_t);
void	 ws_parser_free(struct ws_parser *);
size_t	 ws_parse(struct ws_parser *, const uint8_t *, size_t,
	    struct ws_event *);
int	 ws_utf8_step(uint32_t *, const uint8_t *, size_t);
size_t	 ws_frame_header(uint8_t [WS_HEADER_MAX], int, uint64_t);
size_t	 ws_close_payload(uint8_t [WS_CONTROL_MAX], uint16_t,
	    const char *);

/* body.c */
struct body_error {
	int		 status;	/* 400 or 422 */
	char		 field[64];
	char		 message[128];
};
int	 body_decode(const unsigned char *, size_t, const struct op_spec *,
	    struct op_args *, struct body_error *);

/* client.c */
void	 client_address(struct evhttp_request *, char *, size_t);

/* cache.c */
struct rcache_entry {
	RB_ENTRY(rcache_entry)	 entry;
	TAILQ_ENTRY(rcache_entry) lru;
	uint8_t			*key;		/* op and fields */
	size_t			 keylen;
	uint64_t		 generation;
	uint8_t			*body;		/* the JSON sent */
	size_t			 bodylen;
	int			 refs;		/* calls holding it */
	int			 live;		/* still in the cache */
};
TAILQ_HEAD(rcache_lru, rcache_entry);
struct rcache_entry *rcache_hold(const void *, size_t);
void	 rcache_release(struct rcache_entry *);
void	 rcache_store(const void *, size_t, uint64_t, const void *,
	    size_t);

/* routes.c */
void	 routes_dispatch(struct evhttp_request *, const char *);
void	 route_ctx_free(struct route_ctx *);
void	 route_done(struct evhttp_request *, const struct msg_reply *,
	    void *);

/* http.c */
void	 http_init(struct event_base *, int, long);
void	 http_conn_release(struct evhttp_connection *);
int	 http_conn_on_close(struct evhttp_connection *, void (*)(void *),
	    void *);
void	 http_invalid_field(struct evhttp_request *, const char *,
	    const char *);
void	 http_shutdown(void);
void	 http_error(struct evhttp_request *, int, const char *,
	    const char *);
void	 http_send_json(struct evhttp_request *, int, yajl_gen);
void	 http_send_body(struct evhttp_request *, int, const void *, size_t);

/* static.c */
void	 static_serve(struct evhttp_request *, const char *);

/* json.c */
yajl_gen json_new(void);
void	 json_str(yajl_gen, const char *);
void	 json_kv_str(yajl_gen, const char *, const char *);

#endif /* DKD_API_H */
