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
 * dkd-api's WebSocket frame parser on bytes from anywhere.  The first
 * byte picks how the input is cut into reads, the second the largest
 * message.  The same bytes fed whole and cut up must give the same
 * events, and every event must be one a server may act on: messages
 * no larger than allowed, text that is UTF-8, close codes a peer may
 * send, and nothing at all after a close or a failure.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "compat.h"
#include "util.h"

#define EVENTS_MAX	256

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct seen {
	int		 type;
	uint16_t	 code;
	int		 opcode;
	size_t		 len;
	uint64_t	 sum;
};

static uint64_t
checksum(const uint8_t *p, size_t len)
{
	uint64_t	 h = 1469598103934665603ULL;
	size_t		 i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return (h);
}

static void
check_event(const struct ws_event *ev, size_t max)
{
	uint32_t	 u = 0;

	switch (ev->type) {
	case WS_EV_MESSAGE:
		if (ev->len > max || (ev->opcode != WS_OP_TEXT &&
		    ev->opcode != WS_OP_BINARY))
			__builtin_trap();
		if (ev->opcode == WS_OP_TEXT &&
		    !utf8_valid((const char *)ev->data, ev->len))
			__builtin_trap();
		break;
	case WS_EV_PING:
	case WS_EV_PONG:
		if (ev->len > WS_CONTROL_MAX)
			__builtin_trap();
		break;
	case WS_EV_CLOSE:
		if (ev->code != WS_CLOSE_NO_STATUS && (ev->code < 1000 ||
		    ev->code >= 5000))
			__builtin_trap();
		if (ev->len > WS_CONTROL_MAX - 2 ||
		    ws_utf8_step(&u, ev->data, ev->len) == -1 || u != 0)
			__builtin_trap();
		break;
	case WS_EV_FAIL:
		if (ev->code != WS_CLOSE_PROTOCOL &&
		    ev->code != WS_CLOSE_BAD_DATA &&
		    ev->code != WS_CLOSE_TOO_BIG &&
		    ev->code != WS_CLOSE_INTERNAL)
			__builtin_trap();
		break;
	case WS_EV_NONE:
		break;
	}
}

/* Feed data in reads of step bytes (0: whole); the events, in seen. */
static int
run(const uint8_t *data, size_t size, size_t step, size_t max,
    struct seen *seen)
{
	struct ws_parser	 p;
	struct ws_event		 ev;
	size_t			 off = 0, n, used;
	int			 nseen = 0, over = 0;

	ws_parser_init(&p, max);
	while (off < size && nseen < EVENTS_MAX) {
		n = step == 0 ? size - off : MINIMUM(step, size - off);
		/* A read is used until it is all used. */
		while (n > 0 && nseen < EVENTS_MAX) {
			used = ws_parse(&p, data + off, n, &ev);
			if (used > n || (ev.type == WS_EV_NONE && used != n))
				__builtin_trap();
			off += used;
			n -= used;
			if (ev.type == WS_EV_NONE)
				continue;
			check_event(&ev, max);
			if (over)
				__builtin_trap();
			if (ev.type == WS_EV_CLOSE || ev.type == WS_EV_FAIL)
				over = 1;
			seen[nseen].type = ev.type;
			seen[nseen].code = ev.code;
			seen[nseen].opcode = ev.opcode;
			seen[nseen].len = ev.len;
			seen[nseen].sum = checksum(ev.data, ev.len);
			nseen++;
		}
	}
	ws_parser_free(&p);
	return (nseen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen	 whole[EVENTS_MAX], cut[EVENTS_MAX];
	size_t			 step, max;
	int			 n, m;

	if (size < 2)
		return (0);
	step = 1 + data[0] % 17;
	max = data[1] == 0 ? WS_MSG_MAX : (size_t)data[1] * 8;
	n = run(data + 2, size - 2, 0, max, whole);
	m = run(data + 2, size - 2, step, max, cut);
	if (n < EVENTS_MAX && m < EVENTS_MAX &&
	    (n != m || memcmp(whole, cut, n * sizeof(whole[0])) != 0))
		__builtin_trap();
	return (0);
}
