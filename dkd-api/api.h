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
#include <sys/tree.h>

#include <stdint.h>

#include <event2/http.h>
#include <yajl/yajl_gen.h>

#include "dkd_imsg.h"
#include "ops.h"
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

/* Called with the master's reply, or with status 0 if none came. */
typedef void	(*api_call_cb)(struct evhttp_request *, uint32_t,
		    struct rbuf *, void *);

#define API_JSON_MAX_DEPTH	32

/* api.c */
int	 api_call_master(struct evhttp_request *, struct wbuf *, api_call_cb,
	    void *);

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

/* routes.c */
void	 routes_dispatch(struct evhttp_request *, const char *);

/* http.c */
void	 http_init(struct event_base *, int, long);
void	 http_invalid_field(struct evhttp_request *, const char *,
	    const char *);
void	 http_shutdown(void);
void	 http_error(struct evhttp_request *, int, const char *,
	    const char *);
void	 http_send_json(struct evhttp_request *, int, yajl_gen);

/* static.c */
void	 static_serve(struct evhttp_request *, const char *);

/* json.c */
yajl_gen json_new(void);
void	 json_str(yajl_gen, const char *);
void	 json_kv_str(yajl_gen, const char *, const char *);

#endif /* DKD_API_H */
