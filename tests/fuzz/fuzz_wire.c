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
 * libFuzzer: the field decoder.  The input is read twice: as an
 * IMSG_CFG_SETTINGS payload, and as a stream of one-byte opcodes each
 * followed by the field it names.  The encoding has one form for each
 * value, so whatever decodes must encode back to the same bytes.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	fuzz_settings(const uint8_t *, size_t);
static void	fuzz_fields(const uint8_t *, size_t);
static void	field(struct rbuf *, struct wbuf *, uint8_t);

static void
fuzz_settings(const uint8_t *data, size_t size)
{
	struct dkd_settings	 s;
	struct rbuf		 r;
	struct wbuf		 w;

	rbuf_init(&r, data, size);
	if (settings_get(&r, &s) == -1)
		return;
	if (s.nproxies < 0 || s.nproxies > CONF_PROXIES_MAX ||
	    memchr(s.cors_origin, '\0', sizeof(s.cors_origin)) == NULL ||
	    memchr(s.docker_socket, '\0', sizeof(s.docker_socket)) == NULL)
		__builtin_trap();
	wbuf_init(&w, size + 1);
	settings_put(&w, &s);
	if (w.error || w.len != size || memcmp(w.buf, data, size) != 0)
		__builtin_trap();
	wbuf_free(&w);
}

/* Decode the field op names, and if it decoded, write it again. */
static void
field(struct rbuf *r, struct wbuf *w, uint8_t op)
{
	const uint8_t	*b;
	char		*s, *dst;
	size_t		 max = (size_t)(op / 10) * 3, len, before = r->off;
	uint64_t	 v;
	int		 bv;

	switch (op % 10) {
	case 0:
		v = wire_get_u8(r);
		if (!r->error)
			wire_put_u8(w, (uint8_t)v);
		break;
	case 1:
		v = wire_get_u32(r);
		if (!r->error)
			wire_put_u32(w, (uint32_t)v);
		break;
	case 2:
		v = wire_get_u64(r);
		if (!r->error)
			wire_put_u64(w, v);
		break;
	case 3:
		v = (uint64_t)wire_get_i64(r);
		if (!r->error)
			wire_put_i64(w, (int64_t)v);
		break;
	case 4:
		bv = wire_get_bool(r);
		if (!r->error)
			wire_put_u8(w, (uint8_t)bv);
		break;
	case 5:
	case 9:
		b = wire_get_bytes(r, op % 10 == 9 ? SIZE_MAX : max, &len);
		if (r->error) {
			if (b != NULL || len != 0)
				__builtin_trap();
			break;
		}
		if (b != r->p + before + 4 || len > r->len - before - 4 ||
		    (op % 10 == 5 && len > max))
			__builtin_trap();
		wire_put_bytes(w, b, len);
		break;
	case 6:
	case 7:
		s = op % 10 == 6 ? wire_get_str(r, max) :
		    wire_get_nstr(r, max);
		if (r->error) {
			if (s != NULL)
				__builtin_trap();
			break;
		}
		if (s == NULL) {
			if (op % 10 == 6)
				__builtin_trap();
			wire_put_nstr(w, NULL);
			break;
		}
		if (strlen(s) > max || strlen(s) != r->off - before - 4)
			__builtin_trap();
		wire_put_str(w, s);
		free(s);
		break;
	case 8:
		/* Exactly the size asked for, so an overrun is seen. */
		if ((dst = malloc(max + 1)) == NULL)
			abort();
		if (wire_get_strbuf(r, dst, max + 1) == 0) {
			if (r->error || strlen(dst) > max)
				__builtin_trap();
			wire_put_str(w, dst);
		} else if (!r->error)
			__builtin_trap();
		free(dst);
		break;
	}
	if (r->off > r->len)
		__builtin_trap();
}

static void
fuzz_fields(const uint8_t *data, size_t size)
{
	struct rbuf	 r;
	struct wbuf	 w;
	uint8_t		 op;

	rbuf_init(&r, data, size);
	wbuf_init(&w, size + 1);
	while (r.error == 0 && r.off < r.len) {
		op = wire_get_u8(&r);
		wire_put_u8(&w, op);
		field(&r, &w, op);
	}
	if (r.error == 0) {
		if (wire_done(&r) != 0 || w.error || w.len != size ||
		    (size > 0 && memcmp(w.buf, data, size) != 0))
			__builtin_trap();
	} else if (wire_done(&r) != -1 || wire_get_u8(&r) != 0)
		__builtin_trap();	/* errors stick */
	wbuf_free(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_settings(data, size);
	fuzz_fields(data, size);
	return (0);
}
