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

#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "logd.h"
#include "logtime.h"

/*
 * Docker's log streams, as the reconciler hands them over: the bytes of
 * GET /containers/{id}/logs?follow=1&stdout=1&stderr=1&timestamps=1.
 *
 * Without a TTY the stream is multiplexed: frames of an 8-byte header
 * (stream byte, three zeros, big-endian length) and a payload.  Each
 * frame is one message of the container, which starts with its time
 * and a space; a line longer than 16 KiB comes as several messages, all
 * but the last without a newline.  With a TTY the stream is the raw
 * output, "time line\r\n" after "time line\r\n".
 *
 * The input arrives in chunks cut anywhere, so this is a state machine
 * that never needs more than one chunk: a frame header is gathered byte
 * by byte, and a line is copied only when it spans chunks.  A line
 * longer than LOGD_LINE_MAX is cut there and marked; the rest of it, up
 * to its newline, is dropped.
 */

enum {
	DS_HEADER,		/* gathering a frame header */
	DS_BODY,		/* in a frame's payload, or raw bytes */
	DS_BROKEN,		/* a bad header: nothing more is read */
};

/* A partial line keeps at most this much memory once it is done. */
#define DEMUX_PART_KEEP		4096

static void	demux_text(struct demux *, const char *, size_t);
static size_t	demux_ts(struct demux *, const char *, size_t);
static void	demux_append(struct demux *, const char *, size_t);
static void	demux_emit(struct demux *, const char *, size_t, int64_t,
		    int);
static void	demux_flush(struct demux *, int);

void
demux_init(struct demux *d, int tty, demux_cb cb, void *arg)
{
	memset(d, 0, sizeof(*d));
	d->tty = tty;
	d->state = tty ? DS_BODY : DS_HEADER;
	d->want_ts = tty;
	d->cb = cb;
	d->arg = arg;
}

void
demux_free(struct demux *d)
{
	free(d->part[0].buf);
	free(d->part[1].buf);
	d->part[0].buf = d->part[1].buf = NULL;
}

/* The stream is over: what is left of a line is a line. */
void
demux_end(struct demux *d)
{
	if (d->tslen > 0) {
		demux_append(d, d->ts, d->tslen);
		d->tslen = 0;
	}
	demux_flush(d, 0);
	demux_flush(d, 1);
}

/* -1 once the framing is broken; the rest of the stream is ignored. */
int
demux_feed(struct demux *d, const void *data, size_t len)
{
	const uint8_t	*p = data;
	size_t		 n;

	while (len > 0) {
		switch (d->state) {
		case DS_BROKEN:
			return (-1);
		case DS_HEADER:
			n = MINIMUM(len, sizeof(d->hdr) - d->hdrlen);
			memcpy(d->hdr + d->hdrlen, p, n);
			d->hdrlen += n;
			p += n;
			len -= n;
			if (d->hdrlen < sizeof(d->hdr))
				break;
			d->hdrlen = 0;
			/* stdin and stdout, stderr and Docker's "system". */
			if (d->hdr[0] > 3 || d->hdr[1] != 0 || d->hdr[2] != 0 ||
			    d->hdr[3] != 0) {
				d->state = DS_BROKEN;
				return (-1);
			}
			d->cur = d->hdr[0] >= 2;
			d->left = (uint32_t)d->hdr[4] << 24 |
			    (uint32_t)d->hdr[5] << 16 |
			    (uint32_t)d->hdr[6] << 8 | d->hdr[7];
			if (d->left > 0) {
				d->state = DS_BODY;
				d->want_ts = 1;
			}
			break;
		case DS_BODY:
			n = d->tty ? len : MINIMUM(len, d->left);
			demux_text(d, (const char *)p, n);
			p += n;
			len -= n;
			if (d->tty)
				break;
			d->left -= (uint32_t)n;
			if (d->left == 0) {
				/* A time that never ended is text. */
				if (d->tslen > 0) {
					demux_append(d, d->ts, d->tslen);
					d->tslen = 0;
				}
				d->want_ts = 0;
				d->state = DS_HEADER;
			}
			break;
		}
	}
	return (d->state == DS_BROKEN ? -1 : 0);
}

/*
 * Bytes of the current stream: a timestamp where one may start, then
 * text up to each newline.
 */
static void
demux_text(struct demux *d, const char *p, size_t len)
{
	struct demux_part	*pt;
	const char		*nl;
	size_t			 n;

	while (len > 0) {
		if (d->want_ts) {
			n = demux_ts(d, p, len);
			p += n;
			len -= n;
			continue;
		}
		pt = &d->part[d->cur];
		if ((nl = memchr(p, '\n', len)) == NULL) {
			demux_append(d, p, len);
			return;
		}
		n = (size_t)(nl - p);
		if (pt->len == 0 && !pt->cut) {
			/* The whole line is here: no copy. */
			demux_emit(d, p, MINIMUM(n, LOGD_LINE_MAX), pt->ts,
			    n > LOGD_LINE_MAX);
			pt->ts = 0;
		} else {
			demux_append(d, p, n);
			demux_flush(d, d->cur);
		}
		p += n + 1;
		len -= n + 1;
		/* Docker starts each message with its time. */
		d->want_ts = 1;
	}
}

/*
 * Gather a timestamp token.  Returns the bytes used.  At the space that
 * ends it, a valid time becomes the line's (the first of a line cut in
 * several messages); anything else turns out to be text.
 */
static size_t
demux_ts(struct demux *d, const char *p, size_t len)
{
	struct demux_part	*pt = &d->part[d->cur];
	int64_t			 ts;
	size_t			 i;
	char			 c;

	for (i = 0; i < len; i++) {
		c = p[i];
		if (c == ' ') {
			if (logtime_parse(d->ts, d->tslen, &ts) == 0) {
				if (pt->len == 0 && !pt->cut && pt->ts == 0)
					pt->ts = ts;
			} else {
				demux_append(d, d->ts, d->tslen);
				demux_append(d, " ", 1);
			}
			d->tslen = 0;
			d->want_ts = 0;
			return (i + 1);
		}
		if (d->tslen == sizeof(d->ts) ||
		    strchr("0123456789-:.+TZtz", c) == NULL || c == '\0') {
			/* Not a time: what was gathered is text, and c too. */
			demux_append(d, d->ts, d->tslen);
			d->tslen = 0;
			d->want_ts = 0;
			return (i);
		}
		d->ts[d->tslen++] = c;
	}
	return (len);
}

/* Add text to the current stream's unfinished line, within bounds. */
static void
demux_append(struct demux *d, const char *p, size_t len)
{
	struct demux_part	*pt = &d->part[d->cur];
	size_t			 room, want;
	char			*nbuf;

	if (len == 0 || pt->cut)
		return;
	room = LOGD_LINE_MAX - pt->len;
	if (len > room) {
		len = room;
		pt->cut = 1;
	}
	if (pt->len + len > pt->cap) {
		want = pt->cap == 0 ? 256 : pt->cap;
		while (want < pt->len + len)
			want *= 2;
		want = MINIMUM(want, LOGD_LINE_MAX);
		if ((nbuf = realloc(pt->buf, want)) == NULL) {
			/* Out of memory: what fits is the line. */
			pt->cut = 1;
			return;
		}
		pt->buf = nbuf;
		pt->cap = want;
	}
	memcpy(pt->buf + pt->len, p, len);
	pt->len += len;
}

/* The unfinished line of stream s is finished. */
static void
demux_flush(struct demux *d, int s)
{
	struct demux_part	*pt = &d->part[s];
	int			 cur = d->cur;

	d->cur = s;
	if (pt->len > 0 || pt->cut)
		demux_emit(d, pt->buf, pt->len, pt->ts, pt->cut);
	d->cur = cur;
	pt->len = 0;
	pt->cut = 0;
	pt->ts = 0;
	if (pt->cap > DEMUX_PART_KEEP) {
		free(pt->buf);
		pt->buf = NULL;
		pt->cap = 0;
	}
}

/* A TTY ends lines with \r\n; empty lines are dropped. */
static void
demux_emit(struct demux *d, const char *p, size_t len, int64_t ts, int cut)
{
	struct demux_line	 l;

	if (!cut && len > 0 && p[len - 1] == '\r')
		len--;
	if (len == 0 && !cut)
		return;
	l.stream = d->cur + 1;
	l.ts = ts;
	l.cut = cut;
	l.data = p;
	l.len = len;
	d->cb(&l, d->arg);
}
