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
#define API_TIMEOUT_SEC		20	/* idle, header and body reads */
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
void	 http_init(struct event_base *, int);
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
