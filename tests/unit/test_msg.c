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

#include <string.h>

#include "msg.h"
#include "tap.h"
#include "wire.h"

/*
 * The request header and the reply that dkd-api, dkctl and the master
 * exchange, through their one encoder and one decoder (msg.c).
 */

static int
reply_of(const uint8_t *buf, size_t len, struct msg_reply *m)
{
	struct rbuf	 r;

	rbuf_init(&r, buf, len);
	return (msg_reply_get(&r, m));
}

int
main(void)
{
	static const uint8_t	 tree[] = { 1, 2, 3 };
	struct msg_request	 rq;
	struct msg_reply	 in, out;
	struct wbuf		 w;
	struct rbuf		 r;
	char			 long_token[MSG_TOKEN_MAX + 2];

	plan(10);

	wbuf_init(&w, 1024);
	msg_request_put(&w, 7, "abc", "192.0.2.1", UINT64_MAX - 1);
	wire_put_u32(&w, 99);		/* the op's fields follow */
	rbuf_init(&r, w.buf, w.len);
	ok(msg_request_get(&r, &rq) == 0 && rq.op == 7 &&
	    strcmp(rq.token, "abc") == 0 && strcmp(rq.client, "192.0.2.1") ==
	    0 && rq.cached == UINT64_MAX - 1 && wire_get_u32(&r) == 99 &&
	    wire_done(&r) == 0,
	    "a request header decodes as encoded, the fields after it");
	wbuf_free(&w);

	memset(long_token, 'a', sizeof(long_token) - 1);
	long_token[sizeof(long_token) - 1] = '\0';
	wbuf_init(&w, 1024);
	msg_request_put(&w, 7, long_token, "", 0);
	rbuf_init(&r, w.buf, w.len);
	ok(msg_request_get(&r, &rq) == -1, "a token too long is refused");
	wbuf_free(&w);

	memset(&in, 0, sizeof(in));
	in.status = 429;
	strlcpy(in.retry_after, "30", sizeof(in.retry_after));
	in.tree = tree;
	in.tree_len = sizeof(tree);
	wbuf_init(&w, 1024);
	msg_reply_put(&w, &in);
	ok(reply_of(w.buf, w.len, &out) == 0 && out.status == 429 &&
	    strcmp(out.retry_after, "30") == 0 && out.tree_len == 3 &&
	    memcmp(out.tree, tree, 3) == 0,
	    "a reply decodes with its Retry-After and its tree");
	ok(reply_of(w.buf, w.len - 3, &out) == 0 && out.tree_len == 0,
	    "without a tree it is a reply without a body");
	ok(reply_of(w.buf, 6, &out) == -1, "a cut header is refused");
	wbuf_free(&w);

	memset(&in, 0, sizeof(in));
	in.status = 204;
	wbuf_init(&w, 1024);
	msg_reply_put(&w, &in);
	ok(reply_of(w.buf, w.len, &out) == 0 && out.status == 204 &&
	    out.retry_after[0] == '\0' && out.tree_len == 0, "a bare 204");
	wbuf_free(&w);

	wbuf_init(&w, 1024);
	wire_put_u32(&w, 200);
	wire_put_u32(&w, 2);
	wire_put_str(&w, "X-Other");
	wire_put_str(&w, "1");
	wire_put_str(&w, "Retry-After");
	wire_put_str(&w, "5");
	ok(reply_of(w.buf, w.len, &out) == 0 &&
	    strcmp(out.retry_after, "5") == 0,
	    "other headers are passed over");
	wbuf_free(&w);

	memset(&in, 0, sizeof(in));
	in.status = 200;
	in.generation = 18446744073709551615ULL;
	wbuf_init(&w, 1024);
	msg_reply_put(&w, &in);
	ok(reply_of(w.buf, w.len, &out) == 0 &&
	    out.generation == in.generation && out.retry_after[0] == '\0',
	    "a generation travels as a header, to its last bit");
	wbuf_free(&w);

	wbuf_init(&w, 1024);
	wire_put_u32(&w, 200);
	wire_put_u32(&w, 1);
	wire_put_str(&w, "Generation");
	wire_put_str(&w, "0");
	ok(reply_of(w.buf, w.len, &out) == -1, "a generation of 0 (or not a "
	    "number) is refused");
	wbuf_free(&w);

	in.status = 600;
	wbuf_init(&w, 1024);
	msg_reply_put(&w, &in);
	ok(reply_of(w.buf, w.len, &out) == -1, "a status out of HTTP's "
	    "range is refused");
	wbuf_free(&w);

	return (done_testing());
}
