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
 * The WebSocket frame parser and encoder of dkd-api (ws_frame.c): what
 * RFC 6455 says a server must accept, refuse and answer, fed as a
 * whole, in two pieces and one byte at a time.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "compat.h"
#include "tap.h"

static const uint8_t	 key[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* A client frame: masked unless told otherwise; len may lie. */
static size_t
mkframe(uint8_t *out, int fin, int rsv, int op, int mask, const void *data,
    size_t n, uint64_t len)
{
	const uint8_t	*p = data;
	size_t		 o = 0, i;

	out[o++] = (fin ? 0x80 : 0) | (rsv << 4) | op;
	if (len < 126)
		out[o++] = (mask ? 0x80 : 0) | (uint8_t)len;
	else if (len <= 0xffff) {
		out[o++] = (mask ? 0x80 : 0) | 126;
		out[o++] = (uint8_t)(len >> 8);
		out[o++] = (uint8_t)len;
	} else {
		out[o++] = (mask ? 0x80 : 0) | 127;
		for (i = 0; i < 8; i++)
			out[o++] = (uint8_t)(len >> (56 - 8 * i));
	}
	if (mask) {
		memcpy(out + o, key, 4);
		o += 4;
	}
	for (i = 0; i < n; i++)
		out[o++] = mask ? p[i] ^ key[i & 3] : p[i];
	return (o);
}

static size_t
text(uint8_t *out, int fin, int op, const char *s)
{
	return (mkframe(out, fin, 0, op, 1, s, strlen(s), strlen(s)));
}

/*
 * Feed buf in pieces of step bytes (0: all at once) until an event;
 * the event, and in *rest what is left unused.
 */
static struct ws_event
feed(struct ws_parser *p, const uint8_t *buf, size_t len, size_t step,
    size_t *rest)
{
	struct ws_event	 ev;
	size_t		 off = 0, n, used;

	memset(&ev, 0, sizeof(ev));
	while (off < len) {
		n = step == 0 ? len - off : MINIMUM(step, len - off);
		used = ws_parse(p, buf + off, n, &ev);
		off += used;
		if (ev.type != WS_EV_NONE)
			break;
		if (used != n) {
			ev.type = -1;	/* input left over with no event */
			break;
		}
	}
	if (rest != NULL)
		*rest = len - off;
	return (ev);
}

/* The one event that the frames in buf make, fed whole and bytewise. */
static int
event_is(const uint8_t *buf, size_t len, enum ws_event_type type,
    uint16_t code, const void *data, size_t dlen, const char *what)
{
	struct ws_parser	 p;
	struct ws_event		 ev;
	size_t			 steps[] = { 0, 1, 3 };
	size_t			 i;
	int			 good = 1;

	for (i = 0; i < nitems(steps); i++) {
		ws_parser_init(&p, WS_MSG_MAX);
		ev = feed(&p, buf, len, steps[i], NULL);
		if (ev.type != type || (code != 0 && ev.code != code) ||
		    (data != NULL && (ev.len != dlen ||
		    memcmp(ev.data, data, dlen) != 0))) {
			diag("%s, fed %zu at a time: event %d code %u len %zu",
			    what, steps[i], ev.type, ev.code, ev.len);
			good = 0;
		}
		ws_parser_free(&p);
	}
	return (ok(good, "%s", what));
}

static void
test_lengths(void)
{
	uint8_t			*big, *buf;
	struct ws_parser	 p;
	struct ws_event		 ev;
	size_t			 n, i;

	buf = malloc(200000);
	big = malloc(100000);
	if (buf == NULL || big == NULL)
		bail("malloc");
	for (i = 0; i < 100000; i++)
		big[i] = 'a' + i % 26;
	n = text(buf, 1, WS_OP_TEXT, "hello");
	event_is(buf, n, WS_EV_MESSAGE, 0, "hello", 5, "a short text frame");
	n = mkframe(buf, 1, 0, WS_OP_TEXT, 1, big, 300, 300);
	event_is(buf, n, WS_EV_MESSAGE, 0, big, 300, "a 16-bit length");
	n = mkframe(buf, 1, 0, WS_OP_BINARY, 1, big, 65535, 65535);
	event_is(buf, n, WS_EV_MESSAGE, 0, big, 65535,
	    "65535 bytes, the largest 16-bit length");
	n = mkframe(buf, 1, 0, WS_OP_BINARY, 1, big, 70000, 70000);
	ws_parser_init(&p, 100000);
	ev = feed(&p, buf, n, 0, NULL);
	ok(ev.type == WS_EV_MESSAGE && ev.len == 70000 &&
	    memcmp(ev.data, big, 70000) == 0,
	    "a 64-bit length (70000 bytes, parser max 100000)");
	ws_parser_free(&p);
	n = mkframe(buf, 1, 0, WS_OP_TEXT, 1, "", 0, 0);
	event_is(buf, n, WS_EV_MESSAGE, 0, "", 0, "an empty text message");
	n = mkframe(buf, 1, 0, WS_OP_BINARY, 1, big, WS_MSG_MAX, WS_MSG_MAX);
	event_is(buf, n, WS_EV_MESSAGE, 0, big, WS_MSG_MAX,
	    "a message of exactly 64 KiB");

	/* Too big: refused on the header, before any payload is read. */
	n = mkframe(buf, 1, 0, WS_OP_TEXT, 1, big, 0, WS_MSG_MAX + 1);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_TOO_BIG, NULL, 0,
	    "a frame of 64 KiB + 1 is 1009 on its header alone");
	n = mkframe(buf, 1, 0, WS_OP_TEXT, 1, big, 0, (uint64_t)1 << 40);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_TOO_BIG, NULL, 0,
	    "a 1 TiB frame is 1009");
	n = mkframe(buf, 0, 0, WS_OP_TEXT, 1, big, 40000, 40000);
	n += mkframe(buf + n, 1, 0, WS_OP_CONT, 1, big, 30000, 30000);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_TOO_BIG, NULL, 0,
	    "fragments of 64 KiB + more in all are 1009");
	n = mkframe(buf, 1, 0, WS_OP_TEXT, 1, big, 0, 0);
	buf[1] = 0x80 | 127;
	memset(buf + 2, 0, 8);
	buf[2] = 0x80;
	memcpy(buf + 10, key, 4);
	event_is(buf, 14, WS_EV_FAIL, WS_CLOSE_PROTOCOL, NULL, 0,
	    "a 64-bit length with the top bit set is 1002");
	free(buf);
	free(big);
}

static void
test_protocol_errors(void)
{
	uint8_t	 buf[512];
	size_t	 n;

	n = mkframe(buf, 1, 0, WS_OP_TEXT, 0, "hi", 2, 2);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_PROTOCOL, NULL, 0,
	    "an unmasked client frame is 1002");
	n = mkframe(buf, 1, 4, WS_OP_TEXT, 1, "hi", 2, 2);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_PROTOCOL, NULL, 0,
	    "RSV1 set is 1002");
	n = mkframe(buf, 1, 1, WS_OP_PING, 1, "", 0, 0);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_PROTOCOL, NULL, 0,
	    "RSV3 on a ping is 1002");
	n = mkframe(buf, 1, 0, 0x3, 1, "hi", 2, 2);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_PROTOCOL, NULL, 0,
	    "opcode 3 (reserved) is 1002");
	n = mkframe(buf, 1, 0, 0xb, 1, "", 0, 0);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_PROTOCOL, NULL, 0,
	    "opcode 0xB (reserved control) is 1002");
	n = mkframe(buf, 0, 0, WS_OP_PING, 1, "x", 1, 1);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_PROTOCOL, NULL, 0,
	    "a fragmented ping is 1002");
	memset(buf + 300, 'p', 126);
	n = mkframe(buf, 1, 0, WS_OP_PING, 1, buf + 300, 126, 126);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_PROTOCOL, NULL, 0,
	    "a ping of 126 bytes is 1002");
	n = text(buf, 1, WS_OP_CONT, "lo");
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_PROTOCOL, NULL, 0,
	    "a continuation outside a message is 1002");
	n = text(buf, 0, WS_OP_TEXT, "Hel");
	n += text(buf + n, 1, WS_OP_TEXT, "lo");
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_PROTOCOL, NULL, 0,
	    "a new text frame inside a fragmented message is 1002");
}

static void
test_fragments(void)
{
	struct ws_parser	 p;
	struct ws_event		 ev;
	uint8_t			 buf[512];
	size_t			 n, rest, steps[] = { 0, 1, 2 }, i;
	int			 good;

	n = text(buf, 0, WS_OP_TEXT, "Hel");
	n += text(buf + n, 0, WS_OP_CONT, "");
	n += text(buf + n, 1, WS_OP_CONT, "lo");
	event_is(buf, n, WS_EV_MESSAGE, 0, "Hello", 5,
	    "three fragments, one empty, make one message");

	/* A ping between fragments is answered before the message. */
	for (i = 0; i < nitems(steps); i++) {
		n = text(buf, 0, WS_OP_TEXT, "Hel");
		n += text(buf + n, 1, WS_OP_PING, "p!");
		n += text(buf + n, 1, WS_OP_CONT, "lo");
		ws_parser_init(&p, WS_MSG_MAX);
		ev = feed(&p, buf, n, steps[i], &rest);
		good = ev.type == WS_EV_PING && ev.len == 2 &&
		    memcmp(ev.data, "p!", 2) == 0;
		ev = feed(&p, buf + n - rest, rest, steps[i], &rest);
		good = good && ev.type == WS_EV_MESSAGE && ev.len == 5 &&
		    memcmp(ev.data, "Hello", 5) == 0 && rest == 0;
		ok(good, "a ping inside a fragmented message, fed %zu at a "
		    "time: the ping, then the message", steps[i]);
		ws_parser_free(&p);
	}

	/* Two messages in one buffer: one event per call, in order. */
	n = text(buf, 1, WS_OP_TEXT, "one");
	n += text(buf + n, 1, WS_OP_TEXT, "two");
	ws_parser_init(&p, WS_MSG_MAX);
	ev = feed(&p, buf, n, 0, &rest);
	good = ev.type == WS_EV_MESSAGE && ev.len == 3 &&
	    memcmp(ev.data, "one", 3) == 0 && rest > 0;
	ev = feed(&p, buf + n - rest, rest, 0, &rest);
	ok(good && ev.type == WS_EV_MESSAGE && ev.len == 3 &&
	    memcmp(ev.data, "two", 3) == 0 && rest == 0,
	    "two messages in one read come out one after the other");
	ws_parser_free(&p);

	/* Pong and binary pass; a binary message need not be UTF-8. */
	n = text(buf, 1, WS_OP_PONG, "x");
	event_is(buf, n, WS_EV_PONG, 0, "x", 1, "a pong");
	n = mkframe(buf, 1, 0, WS_OP_BINARY, 1, "\xff\xfe", 2, 2);
	event_is(buf, n, WS_EV_MESSAGE, 0, "\xff\xfe", 2,
	    "a binary message that is not UTF-8");
}

static void
test_utf8(void)
{
	static const struct {
		const char	*s;
		int		 valid;
		const char	*what;
	} cases[] = {
		{ "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 1,
		    "UTF-8 of 1 to 4 bytes" },
		{ "\xc0\x80", 0, "overlong NUL (C0 80)" },
		{ "\xe0\x80\xaf", 0, "overlong slash (E0 80 AF)" },
		{ "\xed\xa0\x80", 0, "a surrogate (ED A0 80)" },
		{ "\xf4\x90\x80\x80", 0, "above U+10FFFF (F4 90 80 80)" },
		{ "\xf5\x80\x80\x80", 0, "F5" },
		{ "\x80", 0, "a lone continuation byte" },
		{ "abc\xe2\x82", 0, "a sequence cut at the end" },
		{ "\xef\xbf\xbf", 1, "U+FFFF" },
		{ "\xf4\x8f\xbf\xbf", 1, "U+10FFFF" },
	};
	uint8_t	 buf[128];
	size_t	 n, i;
	char	 what[128];

	for (i = 0; i < nitems(cases); i++) {
		n = text(buf, 1, WS_OP_TEXT, cases[i].s);
		(void)snprintf(what, sizeof(what), "text with %s: %s",
		    cases[i].what, cases[i].valid ? "accepted" : "1007");
		if (cases[i].valid)
			event_is(buf, n, WS_EV_MESSAGE, 0, cases[i].s,
			    strlen(cases[i].s), what);
		else
			event_is(buf, n, WS_EV_FAIL, WS_CLOSE_BAD_DATA, NULL,
			    0, what);
	}
	/* A character split between fragments is fine... */
	n = text(buf, 0, WS_OP_TEXT, "\xe2\x82");
	n += text(buf + n, 1, WS_OP_CONT, "\xac!");
	event_is(buf, n, WS_EV_MESSAGE, 0, "\xe2\x82\xac!", 4,
	    "a euro sign split between two fragments");
	/* ...a bad byte is refused in the fragment it comes in. */
	n = text(buf, 0, WS_OP_TEXT, "ok\xff");
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_BAD_DATA, NULL, 0,
	    "a bad byte fails its fragment, before the message ends");
	n = text(buf, 0, WS_OP_TEXT, "ok\xe2");
	n += text(buf + n, 1, WS_OP_CONT, "");
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_BAD_DATA, NULL, 0,
	    "a message ending inside a character is 1007");
}

static void
test_close(void)
{
	struct ws_parser	 p;
	struct ws_event		 ev;
	uint8_t			 buf[256], pl[WS_CONTROL_MAX];
	size_t			 n, rest;

	n = mkframe(buf, 1, 0, WS_OP_CLOSE, 1, "", 0, 0);
	event_is(buf, n, WS_EV_CLOSE, WS_CLOSE_NO_STATUS, NULL, 0,
	    "an empty close is 1005 (no status)");
	n = mkframe(buf, 1, 0, WS_OP_CLOSE, 1, "\x03", 1, 1);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_PROTOCOL, NULL, 0,
	    "a close of one byte is 1002");
	n = mkframe(buf, 1, 0, WS_OP_CLOSE, 1, "\x03\xe8" "bye", 5, 5);
	event_is(buf, n, WS_EV_CLOSE, WS_CLOSE_NORMAL, "bye", 3,
	    "close 1000 \"bye\"");
	n = mkframe(buf, 1, 0, WS_OP_CLOSE, 1, "\x0f\xa1", 2, 2);
	event_is(buf, n, WS_EV_CLOSE, 4001, NULL, 0,
	    "close 4001 (application range)");
	n = mkframe(buf, 1, 0, WS_OP_CLOSE, 1, "\x03\xe7", 2, 2);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_PROTOCOL, NULL, 0,
	    "close code 999 is 1002");
	n = mkframe(buf, 1, 0, WS_OP_CLOSE, 1, "\x03\xed", 2, 2);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_PROTOCOL, NULL, 0,
	    "close code 1005 on the wire is 1002");
	n = mkframe(buf, 1, 0, WS_OP_CLOSE, 1, "\x07\xd0", 2, 2);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_PROTOCOL, NULL, 0,
	    "close code 2000 is 1002");
	n = mkframe(buf, 1, 0, WS_OP_CLOSE, 1, "\x03\xe8\xff", 3, 3);
	event_is(buf, n, WS_EV_FAIL, WS_CLOSE_BAD_DATA, NULL, 0,
	    "a close reason that is not UTF-8 is 1007");

	/* After a close, nothing else comes out. */
	n = mkframe(buf, 1, 0, WS_OP_CLOSE, 1, "\x03\xe8", 2, 2);
	n += text(buf + n, 1, WS_OP_TEXT, "late");
	ws_parser_init(&p, WS_MSG_MAX);
	ev = feed(&p, buf, n, 0, &rest);
	ok(ev.type == WS_EV_CLOSE, "close first");
	ev = feed(&p, buf + n - rest, rest, 0, &rest);
	ok(ev.type == WS_EV_NONE && rest == 0,
	    "a message after the close is swallowed");
	ws_parser_free(&p);

	n = ws_close_payload(pl, 4001, "Authentication failed.");
	ok(n == 24 && pl[0] == 0x0f && pl[1] == 0xa1 &&
	    memcmp(pl + 2, "Authentication failed.", 22) == 0,
	    "the close payload of 4001");
	memset(buf, 'r', 200);
	buf[200] = '\0';
	n = ws_close_payload(pl + 0, 1000, (char *)buf);
	ok(n == WS_CONTROL_MAX, "a long reason is cut to fit 125 bytes");
}

static void
test_encoder(void)
{
	static const struct {
		uint64_t	 len;
		size_t		 hlen;
	} cases[] = {
		{ 0, 2 }, { 125, 2 }, { 126, 4 }, { 65535, 4 }, { 65536, 10 },
		{ (uint64_t)1 << 33, 10 },
	};
	uint8_t		 h[WS_HEADER_MAX], payload[70000];
	uint8_t		*f;
	struct ws_parser p;
	struct ws_event	 ev;
	size_t		 n, i;
	int		 good = 1;

	for (i = 0; i < nitems(cases); i++) {
		n = ws_frame_header(h, WS_OP_TEXT, cases[i].len);
		if (n != cases[i].hlen || h[0] != 0x81 || (h[1] & 0x80))
			good = 0;
	}
	n = ws_frame_header(h, WS_OP_BINARY, 65536);
	good = good && h[1] == 127 && h[7] == 1 && h[8] == 0 && h[9] == 0;
	n = ws_frame_header(h, WS_OP_CLOSE, 300);
	good = good && h[0] == 0x88 && h[1] == 126 && h[2] == 1 &&
	    h[3] == 44;
	ok(good, "server headers: FIN, no mask, 7/16/64-bit lengths");

	/* What we encode, masked as a client would, parses back. */
	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	if ((f = malloc(sizeof(payload) + 32)) == NULL)
		bail("malloc");
	n = ws_frame_header(f, WS_OP_BINARY, sizeof(payload));
	f[1] |= 0x80;
	memcpy(f + n, key, 4);
	for (i = 0; i < sizeof(payload); i++)
		f[n + 4 + i] = payload[i] ^ key[i & 3];
	ws_parser_init(&p, sizeof(payload));
	ev = feed(&p, f, n + 4 + sizeof(payload), 7, NULL);
	ok(ev.type == WS_EV_MESSAGE && ev.len == sizeof(payload) &&
	    memcmp(ev.data, payload, sizeof(payload)) == 0,
	    "an encoded 70000-byte frame, masked, parses back 7 bytes at a "
	    "time");
	ws_parser_free(&p);
	free(f);
}

int
main(void)
{
	plan(53);
	test_lengths();
	test_protocol_errors();
	test_fragments();
	test_utf8();
	test_close();
	test_encoder();
	return (done_testing());
}
