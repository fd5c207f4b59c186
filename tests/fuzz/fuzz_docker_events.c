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
 * dkd-reconciler: the GET /events stream, cut into pieces the way the
 * socket might deliver it (sizes from the first byte), split into
 * lines by lines_feed() and each read by dparse_event().  The lines
 * are the same whatever the cut.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct seen {
	uint64_t	 hash;
	size_t		 n;
};

static int
one_line(const char *line, size_t len, void *arg)
{
	struct seen		*s = arg;
	struct drv_event	 ev;
	size_t			 i;

	for (i = 0; i < len; i++)
		s->hash = (s->hash ^ (unsigned char)line[i]) * 1099511628211ULL;
	s->hash = (s->hash ^ 0x100) * 1099511628211ULL;
	s->n++;
	if (dparse_event(line, len, &ev) == 0 && (ev.id[0] == '\0' ||
	    strlen(ev.action) >= sizeof(ev.action)))
		__builtin_trap();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lines	 a, b;
	struct seen		 whole = { 1469598103934665603ULL, 0 };
	struct seen		 cut = { 1469598103934665603ULL, 0 };
	size_t			 off = 0, step, piece;

	if (size < 1)
		return (0);
	step = (size_t)data[0] % 7 + 1;
	data++;
	size--;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	(void)lines_feed(&a, (const char *)data, size, one_line, &whole);
	for (piece = step; off < size; piece = piece * 3 % 17 + 1) {
		piece = piece > size - off ? size - off : piece;
		(void)lines_feed(&b, (const char *)data + off, piece, one_line,
		    &cut);
		off += piece;
	}
	if (whole.hash != cut.hash || whole.n != cut.n)
		__builtin_trap();
	return (0);
}
