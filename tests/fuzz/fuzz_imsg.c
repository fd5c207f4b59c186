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
 * libFuzzer: a byte stream into an imsgbuf, cut into chunks.
 *
 * Input: byte 0 picks the channel (bit 0: fd passing; bit 7: a small
 * maxsize from bits 1-6, else bit 6: 128 KiB, else the default), byte 1
 * seeds the chunk sizes, the rest is the stream.  Every message that
 * comes out must be exactly the bytes that went in, and composing it
 * again must give those bytes back.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "imsg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	whole_missing(struct imsgbuf *);
static size_t	next_chunk(uint32_t *);
static void	check(struct imsgbuf *, const struct imsg *, const uint8_t *,
		    size_t, struct ibuf **);

/* After imsg_get said 0: is the next message really not all here? */
static int
whole_missing(struct imsgbuf *ib)
{
	struct imsg_hdr	 hdr;
	size_t		 len;

	if (ib->rlen < IMSG_HEADER_SIZE)
		return (1);
	memcpy(&hdr, ib->rbuf, sizeof(hdr));
	len = hdr.len & ~IMSG_FD_MARK;
	return (len > ib->rlen && len <= ib->maxsize && ib->rsize >= len);
}

/* Mostly small chunks, sometimes large ones. */
static size_t
next_chunk(uint32_t *seed)
{
	*seed = *seed * 1103515245U + 12345U;
	if (((*seed >> 8) & 3) == 0)
		return (1 + (*seed >> 16) % 4096);
	return (1 + (*seed >> 16) % 32);
}

/* m came from the len bytes at msg; compose it again on out. */
static void
check(struct imsgbuf *out, const struct imsg *m, const uint8_t *msg,
    size_t len, struct ibuf **prev)
{
	struct imsg_hdr	 hdr;
	struct ibuf	*b;

	memcpy(&hdr, msg, sizeof(hdr));
	if (m->hdr.len < IMSG_HEADER_SIZE || m->hdr.len > out->maxsize ||
	    m->hdr.len != len || m->len != len - IMSG_HEADER_SIZE ||
	    m->fd != -1 || m->data == NULL ||
	    ((const uint8_t *)m->data)[m->len] != '\0')
		__builtin_trap();
	if (hdr.type != m->hdr.type || hdr.len != m->hdr.len ||
	    hdr.peerid != m->hdr.peerid || hdr.pid != m->hdr.pid ||
	    memcmp(m->data, msg + IMSG_HEADER_SIZE, m->len) != 0)
		__builtin_trap();
	/* pid 0 would be replaced by ours. */
	if (m->hdr.pid == 0 || imsg_compose(out, m->hdr.type, m->hdr.peerid,
	    (pid_t)m->hdr.pid, -1, m->data, m->len) != 1)
		return;
	b = *prev == NULL ? TAILQ_FIRST(&out->wq) : TAILQ_NEXT(*prev, entry);
	if (b == NULL || b->size != len || memcmp(b->buf, msg, len) != 0)
		__builtin_trap();
	*prev = b;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imsgbuf	 in, out;
	struct imsg	 m;
	struct ibuf	*prev = NULL;
	const uint8_t	*stream;
	size_t		 len, off = 0, done = 0, chunk, maxsize;
	uint32_t	 seed;
	int		 rv = 0;

	if (size < 2)
		return (0);
	if (data[0] & 0x80)
		maxsize = IMSG_HEADER_SIZE + 4 * ((data[0] >> 1) & 0x3f);
	else if (data[0] & 0x40)
		maxsize = 128 * 1024;
	else
		maxsize = IMSG_MAXSIZE_DEFAULT;
	seed = data[1];
	stream = data + 2;
	len = size - 2;

	if (imsgbuf_init(&in, -1) == -1)
		return (0);
	if (imsgbuf_init(&out, -1) == -1) {
		imsgbuf_clear(&in);
		return (0);
	}
	if (imsgbuf_set_maxsize(&in, maxsize) == -1 ||
	    imsgbuf_set_maxsize(&out, maxsize) == -1)
		__builtin_trap();
	if (data[0] & 1)
		imsgbuf_allow_fdpass(&in, IMSG_FDPASS_RECV);

	while (off < len && rv != -1) {
		chunk = next_chunk(&seed);
		if (chunk > len - off)
			chunk = len - off;
		if (imsgbuf_feed(&in, stream + off, chunk) == -1)
			break;
		off += chunk;
		while ((rv = imsg_get(&in, &m)) == 1) {
			if (m.hdr.len > off - done)
				__builtin_trap();	/* not all here yet */
			check(&out, &m, stream + done, m.hdr.len, &prev);
			done += m.hdr.len;
			imsg_free(&m);
		}
		if (rv == -1 && errno != ERANGE && errno != EBADMSG &&
		    errno != ENOMEM)
			__builtin_trap();
		if (rv == 0 && !whole_missing(&in))
			__builtin_trap();
	}
	imsgbuf_clear(&in);
	imsgbuf_clear(&out);
	return (0);
}
