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

#ifndef DK_WIRE_H
#define DK_WIRE_H

/*
 * The field encoding inside imsg payloads, used on every channel: a
 * payload is a sequence of fields written and read in a fixed order.
 * Integers are fixed-width little-endian; strings and byte strings are a
 * 32-bit length followed by the bytes (no terminator).  Readers keep a
 * sticky error, so a decoder reads all fields and checks once at the end
 * with wire_done(), which also refuses trailing bytes.
 */

#include <stddef.h>
#include <stdint.h>

struct wbuf {
	uint8_t		*buf;
	size_t		 len;
	size_t		 cap;
	size_t		 max;
	int		 error;
};

struct rbuf {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	int		 error;
};

void	 wbuf_init(struct wbuf *, size_t);
void	 wbuf_free(struct wbuf *);
void	 wire_put_u8(struct wbuf *, uint8_t);
void	 wire_put_u32(struct wbuf *, uint32_t);
void	 wire_put_u64(struct wbuf *, uint64_t);
void	 wire_put_i64(struct wbuf *, int64_t);
void	 wire_put_bytes(struct wbuf *, const void *, size_t);
void	 wire_put_raw(struct wbuf *, const void *, size_t);
void	 wire_put_str(struct wbuf *, const char *);
void	 wire_put_nstr(struct wbuf *, const char *);

void	 rbuf_init(struct rbuf *, const void *, size_t);
uint8_t	 wire_get_u8(struct rbuf *);
uint32_t wire_get_u32(struct rbuf *);
uint64_t wire_get_u64(struct rbuf *);
int64_t	 wire_get_i64(struct rbuf *);
int	 wire_get_bool(struct rbuf *);
const uint8_t *wire_get_bytes(struct rbuf *, size_t, size_t *);
char	*wire_get_str(struct rbuf *, size_t);
char	*wire_get_nstr(struct rbuf *, size_t);
int	 wire_get_strbuf(struct rbuf *, char *, size_t);
int	 wire_done(struct rbuf *);

#endif /* DK_WIRE_H */
