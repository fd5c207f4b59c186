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
 * dkd-logd's demultiplexer on bytes from anywhere, as a log stream
 * (framed, or raw when the first byte is odd).  The first byte also
 * picks how the rest is cut into reads.  Fed whole and fed cut up, the
 * same lines must come out, each within bounds, and each must render
 * as an event whose data is valid JSON.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "logd.h"

#define SSE_MAX		(LOGD_LINE_MAX * 6 + 256)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct seen {
	size_t		 n;
	uint64_t	 sum;
	int		 check;		/* render each line */
};

static char	*sse;

static void
line(const struct demux_line *l, void *arg)
{
	struct seen	*s = arg;
	struct rec	 r;
	yajl_val	 v;
	size_t		 i, n;
	char		 ebuf[64];

	if ((l->stream != 1 && l->stream != 2) || l->len > LOGD_LINE_MAX ||
	    (l->len == 0 && !l->cut) || memchr(l->data, '\n', l->len) !=
	    NULL || l->ts < 0)
		__builtin_trap();
	s->n++;
	s->sum = s->sum * 31 + (uint64_t)l->stream * 7 + (uint64_t)l->ts +
	    (uint64_t)l->cut;
	for (i = 0; i < l->len; i++)
		s->sum = (s->sum ^ (uint8_t)l->data[i]) * 1099511628211ULL;
	if (!s->check)
		return;
	memset(&r, 0, sizeof(r));
	r.stream = l->stream;
	r.flags = l->cut ? REC_CUT : 0;
	r.ts = l->ts;
	memcpy(r.cid, "0123456789ab", LOGD_CID_LEN);
	r.line = l->data;
	r.len = l->len;
	n = subs_json_line(sse, SSE_MAX, &r);
	if (n < 8 || strncmp(sse, "data: ", 6) != 0 ||
	    strcmp(sse + n - 2, "\n\n") != 0)
		__builtin_trap();
	sse[n - 2] = '\0';
	if ((v = yajl_tree_parse(sse + 6, ebuf, sizeof(ebuf))) == NULL)
		__builtin_trap();
	yajl_tree_free(v);
}

static int
run(int tty, const uint8_t *p, size_t len, size_t step, struct seen *s)
{
	struct demux	 d;
	size_t		 off, n;
	int		 rv = 0;

	demux_init(&d, tty, line, s);
	for (off = 0; off < len && rv == 0; off += n) {
		n = step == 0 || step > len - off ? len - off : step;
		rv = demux_feed(&d, p + off, n);
	}
	demux_end(&d);
	demux_free(&d);
	return (rv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen	 a, b;
	int		 tty, ra, rb;
	size_t		 step;

	if (size < 1)
		return (0);
	if (sse == NULL && (sse = malloc(SSE_MAX)) == NULL)
		return (0);
	tty = data[0] & 1;
	step = (data[0] >> 1) + 1;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.check = 1;
	ra = run(tty, data + 1, size - 1, 0, &a);
	rb = run(tty, data + 1, size - 1, step, &b);
	if (ra != rb || a.n != b.n || a.sum != b.sum)
		__builtin_trap();
	return (0);
}
