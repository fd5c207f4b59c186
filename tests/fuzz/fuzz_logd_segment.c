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
 * dkd-logd's history as it finds it on disk after anything: the input
 * is a segment file and a meta file (the first two bytes say how much
 * of the rest is meta).  The store loads them as at start, cutting what
 * is not whole records; the segment reader then reads the segment, and
 * the records it gives must be within bounds and the same as a plain
 * walk with rec_parse over what the file keeps.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logd.h"

#define SVC	"fuzz-svc"
#define SEG	SVC "/0000000000000001.seg"
#define META	SVC "/meta"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	 ready;

static void
setup(void)
{
	char	 dir[] = "/tmp/dkd-fuzz-segment-XXXXXX";

	if (mkdtemp(dir) == NULL || chdir(dir) == -1)
		abort();
	ready = 1;
}

static void
put(const char *path, const uint8_t *p, size_t len)
{
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	if (len > 0 && write(fd, p, len) != (ssize_t)len)
		abort();
	close(fd);
}

static void
check(const struct rec *r)
{
	size_t	 i;

	if (r->stream < 1 || r->stream > 2 || r->len > LOGD_LINE_MAX ||
	    (r->flags & ~REC_CUT) != 0 || strlen(r->cid) != LOGD_CID_LEN)
		__builtin_trap();
	for (i = 0; i < LOGD_CID_LEN; i++)
		if (strchr("0123456789abcdef", r->cid[i]) == NULL)
			__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_limits	 l = { 16 * 1024 * 1024, 0,
	    1024 * 1024 * 1024 };
	struct segreader	 sr;
	struct svc		*s;
	struct seg		*g;
	struct rec		 r;
	struct stat		 st;
	uint8_t			*file;
	size_t			 mlen, off, n1 = 0, n2 = 0;
	ssize_t			 n;
	int			 fd;

	if (!ready)
		setup();
	if (size < 2)
		return (0);
	mlen = ((size_t)data[0] << 8 | data[1]) % (size - 1);
	(void)mkdir(SVC, 0700);
	put(META, data + 2, mlen);
	put(SEG, data + 2 + mlen, size - 2 - mlen);

	store_init(&l);
	if (store_load() == -1)
		abort();
	if ((s = store_svc(SVC, 0)) == NULL ||
	    (g = store_seg_last(s)) == NULL)
		__builtin_trap();
	/* What the store kept is whole records, all the way. */
	if (stat(SEG, &st) == -1 || (uint64_t)st.st_size != g->size)
		__builtin_trap();
	if ((file = malloc(g->size + 1)) == NULL ||
	    (fd = open(SEG, O_RDONLY)) == -1)
		abort();
	if (g->size > 0 && read(fd, file, g->size) != (ssize_t)g->size)
		abort();
	for (off = 0; off < g->size; off += (size_t)n) {
		if ((n = rec_parse(file + off, g->size - off, &r)) <= 0)
			__builtin_trap();
		check(&r);
		n1++;
	}
	if (segreader_init(&sr, fd, 0, g->size) == -1)
		abort();
	while (segreader_next(&sr, &r, NULL) == 1) {
		check(&r);
		n2++;
	}
	if (sr.error || n1 != n2)
		__builtin_trap();
	segreader_free(&sr);
	close(fd);
	free(file);
	store_shutdown();
	(void)unlink(SEG);
	(void)unlink(META);
	(void)unlink(SVC "/meta.tmp");
	return (0);
}
