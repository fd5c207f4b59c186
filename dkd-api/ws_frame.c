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

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "compat.h"

/*
 * RFC 6455 framing, inbound and outbound, with no I/O: the parser is a
 * state machine fed with whatever bytes have arrived, so a frame may
 * come in one piece or one byte at a time.  It gives one event at a
 * time: a whole message (fragments put together, text checked as UTF-8
 * as it arrives), a ping, a pong, a close, or the reason to fail the
 * connection (the close code to send).  After a close or a failure it
 * swallows everything.
 */

enum {
	PS_HEADER,
	PS_PAYLOAD,
	PS_DONE,
};

/* A buffer kept between messages is at most this big. */
#define WS_MSG_KEEP	4096

void
ws_parser_init(struct ws_parser *p, size_t max)
{
	memset(p, 0, sizeof(*p));
	p->state = PS_HEADER;
	p->hdrneed = 2;
	p->max = max;
}

void
ws_parser_free(struct ws_parser *p)
{
	free(p->msg);
	memset(p, 0, sizeof(*p));
	p->state = PS_DONE;
}

/*
 * UTF-8, one byte after the other: *state is 0 between characters, else
 * the bytes still wanted (low byte) and the range of the next one.  -1
 * on a byte that cannot come next: overlong forms, surrogates and code
 * points above U+10FFFF included.
 */
int
ws_utf8_step(uint32_t *state, const uint8_t *s, size_t len)
{
	uint32_t	 need = *state & 0xff;
	uint8_t		 lo = (*state >> 8) & 0xff, hi = (*state >> 16) & 0xff;
	size_t		 i;
	uint8_t		 b;

	for (i = 0; i < len; i++) {
		b = s[i];
		if (need > 0) {
			if (b < lo || b > hi)
				return (-1);
			need--;
			lo = 0x80;
			hi = 0xbf;
			continue;
		}
		if (b < 0x80)
			continue;
		lo = 0x80;
		hi = 0xbf;
		if (b >= 0xc2 && b <= 0xdf)
			need = 1;
		else if (b >= 0xe0 && b <= 0xef) {
			need = 2;
			if (b == 0xe0)
				lo = 0xa0;
			else if (b == 0xed)
				hi = 0x9f;
		} else if (b >= 0xf0 && b <= 0xf4) {
			need = 3;
			if (b == 0xf0)
				lo = 0x90;
			else if (b == 0xf4)
				hi = 0x8f;
		} else
			return (-1);
	}
	*state = need == 0 ? 0 : need | (uint32_t)lo << 8 | (uint32_t)hi << 16;
	return (0);
}

static int
parse_fail(struct ws_parser *p, struct ws_event *ev, uint16_t code,
    const char *reason)
{
	ev->type = WS_EV_FAIL;
	ev->code = code;
	ev->reason = reason;
	p->state = PS_DONE;
	return (-1);
}

/* Codes a peer may send (RFC 6455 7.4 and the IANA registry). */
static int
close_code_valid(uint16_t code)
{
	return ((code >= 1000 && code <= 1003) ||
	    (code >= 1007 && code <= 1014) ||
	    (code >= 3000 && code <= 4999));
}

/* The first two bytes: what the frame is, and how long its header. */
static int
header_start(struct ws_parser *p, struct ws_event *ev)
{
	int	 len7;

	p->fin = (p->hdr[0] & 0x80) != 0;
	p->opcode = p->hdr[0] & 0x0f;
	len7 = p->hdr[1] & 0x7f;
	if (p->hdr[0] & 0x70)
		return (parse_fail(p, ev, WS_CLOSE_PROTOCOL,
		    "Reserved bits set."));
	switch (p->opcode) {
	case WS_OP_CONT:
		if (p->msgop == 0)
			return (parse_fail(p, ev, WS_CLOSE_PROTOCOL,
			    "Continuation outside a message."));
		break;
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (p->msgop != 0)
			return (parse_fail(p, ev, WS_CLOSE_PROTOCOL,
			    "Message inside a fragmented message."));
		break;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!p->fin || len7 > WS_CONTROL_MAX)
			return (parse_fail(p, ev, WS_CLOSE_PROTOCOL,
			    "Fragmented or long control frame."));
		break;
	default:
		return (parse_fail(p, ev, WS_CLOSE_PROTOCOL,
		    "Reserved opcode."));
	}
	if ((p->hdr[1] & 0x80) == 0)
		return (parse_fail(p, ev, WS_CLOSE_PROTOCOL,
		    "Client frames must be masked."));
	p->hdrneed = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
	return (0);
}

/* The whole header: the length and the mask; room for the payload. */
static int
header_done(struct ws_parser *p, struct ws_event *ev)
{
	uint64_t	 len = p->hdr[1] & 0x7f;
	size_t		 off = 2, i, need, cap;
	uint8_t		*m;

	if (len == 126) {
		len = (uint64_t)p->hdr[2] << 8 | p->hdr[3];
		off = 4;
	} else if (len == 127) {
		if (p->hdr[2] & 0x80)
			return (parse_fail(p, ev, WS_CLOSE_PROTOCOL,
			    "Frame length out of range."));
		len = 0;
		for (i = 0; i < 8; i++)
			len = len << 8 | p->hdr[2 + i];
		off = 10;
	}
	memcpy(p->mask, p->hdr + off, sizeof(p->mask));
	p->plen = len;
	p->pgot = 0;
	if ((p->opcode & 0x8) == 0) {
		/* Refuse as soon as the length says so, not at the end. */
		if (len > p->max - p->msglen)
			return (parse_fail(p, ev, WS_CLOSE_TOO_BIG,
			    "Message too big."));
		if (p->opcode != WS_OP_CONT) {
			p->msgop = p->opcode;
			p->utf8 = 0;
		}
		/* Many small fragments: grow by doubling, up to max. */
		need = p->msglen + (size_t)len;
		if (need > p->msgcap) {
			cap = MAXIMUM(need, MINIMUM(p->msgcap * 2, p->max));
			if ((m = realloc(p->msg, cap)) == NULL)
				return (parse_fail(p, ev, WS_CLOSE_INTERNAL,
				    "Out of memory."));
			p->msg = m;
			p->msgcap = cap;
		}
	}
	p->state = PS_PAYLOAD;
	return (0);
}

static void
close_event(struct ws_parser *p, struct ws_event *ev)
{
	uint16_t	 code;
	uint32_t	 u = 0;

	if (p->plen == 0) {
		ev->type = WS_EV_CLOSE;
		ev->code = WS_CLOSE_NO_STATUS;
		p->state = PS_DONE;
		return;
	}
	if (p->plen == 1) {
		(void)parse_fail(p, ev, WS_CLOSE_PROTOCOL,
		    "Close frame of one byte.");
		return;
	}
	code = (uint16_t)(p->ctl[0] << 8 | p->ctl[1]);
	if (!close_code_valid(code)) {
		(void)parse_fail(p, ev, WS_CLOSE_PROTOCOL,
		    "Invalid close code.");
		return;
	}
	if (ws_utf8_step(&u, p->ctl + 2, p->plen - 2) == -1 || u != 0) {
		(void)parse_fail(p, ev, WS_CLOSE_BAD_DATA,
		    "Close reason is not UTF-8.");
		return;
	}
	ev->type = WS_EV_CLOSE;
	ev->code = code;
	ev->data = p->ctl + 2;
	ev->len = p->plen - 2;
	p->state = PS_DONE;
}

/* A frame is complete: an event for a control frame or a last fragment. */
static void
frame_done(struct ws_parser *p, struct ws_event *ev)
{
	p->state = PS_HEADER;
	p->hdrlen = 0;
	p->hdrneed = 2;
	switch (p->opcode) {
	case WS_OP_CLOSE:
		close_event(p, ev);
		return;
	case WS_OP_PING:
	case WS_OP_PONG:
		ev->type = p->opcode == WS_OP_PING ? WS_EV_PING : WS_EV_PONG;
		ev->data = p->ctl;
		ev->len = p->plen;
		return;
	}
	if (!p->fin)
		return;
	if (p->msgop == WS_OP_TEXT && p->utf8 != 0) {
		(void)parse_fail(p, ev, WS_CLOSE_BAD_DATA,
		    "Text is not UTF-8.");
		return;
	}
	ev->type = WS_EV_MESSAGE;
	ev->opcode = p->msgop;
	ev->data = p->msg != NULL ? p->msg : (const uint8_t *)"";
	ev->len = p->msglen;
	p->delivered = 1;
}

/* Payload bytes: unmasked into the message or the control buffer. */
static size_t
payload(struct ws_parser *p, const uint8_t *buf, size_t len,
    struct ws_event *ev)
{
	uint64_t	 left = p->plen - p->pgot;
	size_t		 n = left < len ? (size_t)left : len, i;
	uint8_t		*dst;

	if (n > 0) {
		dst = (p->opcode & 0x8) ? p->ctl + p->pgot :
		    p->msg + p->msglen;
		for (i = 0; i < n; i++)
			dst[i] = buf[i] ^ p->mask[(p->pgot + i) & 3];
		if (p->msgop == WS_OP_TEXT && (p->opcode & 0x8) == 0 &&
		    ws_utf8_step(&p->utf8, dst, n) == -1) {
			(void)parse_fail(p, ev, WS_CLOSE_BAD_DATA,
			    "Text is not UTF-8.");
			return (n);
		}
	}
	if ((p->opcode & 0x8) == 0)
		p->msglen += n;
	p->pgot += n;
	if (p->pgot == p->plen)
		frame_done(p, ev);
	return (n);
}

/*
 * Use bytes of buf until an event is complete or buf is used up; the
 * number of bytes used.  ev->type is WS_EV_NONE when more bytes are
 * needed.  A message's data stays valid until the next call.
 */
size_t
ws_parse(struct ws_parser *p, const uint8_t *buf, size_t len,
    struct ws_event *ev)
{
	size_t	 used = 0, n;

	memset(ev, 0, sizeof(*ev));
	if (p->delivered) {
		p->delivered = 0;
		p->msgop = 0;
		p->msglen = 0;
		if (p->msgcap > WS_MSG_KEEP) {
			free(p->msg);
			p->msg = NULL;
			p->msgcap = 0;
		}
	}
	while (ev->type == WS_EV_NONE) {
		if (p->state == PS_DONE)
			return (len);
		if (p->state == PS_PAYLOAD) {
			/* A frame without payload ends with its header. */
			if (used == len && p->plen > 0)
				break;
			used += payload(p, buf != NULL ? buf + used : NULL,
			    len - used, ev);
			continue;
		}
		if (used == len)
			break;
		n = MINIMUM(p->hdrneed - p->hdrlen, len - used);
		memcpy(p->hdr + p->hdrlen, buf + used, n);
		p->hdrlen += n;
		used += n;
		if (p->hdrlen < p->hdrneed)
			continue;
		if (p->hdrlen == 2) {
			if (header_start(p, ev) == -1)
				break;
		} else if (header_done(p, ev) == -1)
			break;
	}
	return (used);
}

/* The header of an unmasked frame with FIN set, as a server sends. */
size_t
ws_frame_header(uint8_t h[WS_HEADER_MAX], int opcode, uint64_t len)
{
	int	 i;

	h[0] = 0x80 | (opcode & 0x0f);
	if (len < 126) {
		h[1] = (uint8_t)len;
		return (2);
	}
	if (len <= 0xffff) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		return (4);
	}
	h[1] = 127;
	for (i = 0; i < 8; i++)
		h[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return (10);
}

/* The payload of a close frame; the reason is cut to fit. */
size_t
ws_close_payload(uint8_t out[WS_CONTROL_MAX], uint16_t code,
    const char *reason)
{
	size_t	 n = reason != NULL ? strlen(reason) : 0;

	if (n > WS_CONTROL_MAX - 2)
		n = WS_CONTROL_MAX - 2;
	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	if (n > 0)
		memcpy(out + 2, reason, n);
	return (2 + n);
}
