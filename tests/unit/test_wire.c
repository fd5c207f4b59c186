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
 * The field encoding: exact bytes, round trips at the edges, and a
 * reader that fails safely on anything short, long or malformed.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "settings.h"
#include "tap.h"
#include "wire.h"

static void	put_all(struct wbuf *);
static int	get_all(struct rbuf *);
static void	test_encoding(void);
static void	test_roundtrip(void);
static void	test_strings(void);
static void	test_truncation(void);
static void	test_reader_errors(void);
static void	test_writer_limits(void);
static void	test_settings(void);

static const uint8_t	 nulbytes[] = { 'a', 0, 'b', 0 };

/* One of every field, at its edges. */
static void
put_all(struct wbuf *w)
{
	wire_put_u8(w, 0);
	wire_put_u8(w, UINT8_MAX);
	wire_put_u32(w, 0);
	wire_put_u32(w, UINT32_MAX);
	wire_put_u64(w, 0);
	wire_put_u64(w, UINT64_MAX);
	wire_put_i64(w, INT64_MIN);
	wire_put_i64(w, INT64_MAX);
	wire_put_i64(w, -1);
	wire_put_u8(w, 1);			/* a bool */
	wire_put_u8(w, 0);			/* a bool */
	wire_put_str(w, "");
	wire_put_str(w, "hello");
	wire_put_str(w, NULL);			/* sent as "" */
	wire_put_nstr(w, NULL);
	wire_put_nstr(w, "");
	wire_put_nstr(w, "x");
	wire_put_bytes(w, nulbytes, sizeof(nulbytes));
	wire_put_bytes(w, NULL, 0);
	wire_put_str(w, "strbuf");
}

/* Read back what put_all wrote: 1 if every value is right. */
static int
get_all(struct rbuf *r)
{
	const uint8_t	*b;
	char		*s[7], sb[8];
	size_t		 blen, b2len;
	int		 good = 1, i;

	good &= wire_get_u8(r) == 0;
	good &= wire_get_u8(r) == UINT8_MAX;
	good &= wire_get_u32(r) == 0;
	good &= wire_get_u32(r) == UINT32_MAX;
	good &= wire_get_u64(r) == 0;
	good &= wire_get_u64(r) == UINT64_MAX;
	good &= wire_get_i64(r) == INT64_MIN;
	good &= wire_get_i64(r) == INT64_MAX;
	good &= wire_get_i64(r) == -1;
	good &= wire_get_bool(r) == 1;
	good &= wire_get_bool(r) == 0;
	s[0] = wire_get_str(r, 0);
	s[1] = wire_get_str(r, 5);
	s[2] = wire_get_str(r, 10);
	s[3] = wire_get_nstr(r, 10);
	s[4] = wire_get_nstr(r, 10);
	s[5] = wire_get_nstr(r, 10);
	b = wire_get_bytes(r, sizeof(nulbytes), &blen);
	(void)wire_get_bytes(r, 0, &b2len);
	good &= wire_get_strbuf(r, sb, sizeof(sb)) == 0;
	good &= s[0] != NULL && strcmp(s[0], "") == 0;
	good &= s[1] != NULL && strcmp(s[1], "hello") == 0;
	good &= s[2] != NULL && strcmp(s[2], "") == 0;
	good &= s[3] == NULL;
	good &= s[4] != NULL && strcmp(s[4], "") == 0;
	good &= s[5] != NULL && strcmp(s[5], "x") == 0;
	good &= b != NULL && blen == sizeof(nulbytes) &&
	    memcmp(b, nulbytes, blen) == 0;
	good &= b2len == 0;
	good &= strcmp(sb, "strbuf") == 0;
	for (i = 0; i < 6; i++)
		free(s[i]);
	return (good);
}

static void
test_encoding(void)
{
	static const uint8_t	 want[] = {
		0x2a,					/* u8 */
		0x04, 0x03, 0x02, 0x01,			/* u32 */
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* u64 */
		0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* i64 -2 */
		0x02, 0x00, 0x00, 0x00, 'h', 'i',	/* str "hi" */
		0x00, 0x00, 0x00, 0x00,			/* str "" */
		0xff, 0xff, 0xff, 0xff,			/* nstr NULL */
		0x03, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, /* bytes */
	};
	static const uint8_t	 three[] = { 0, 1, 0 };
	struct wbuf		 w;

	wbuf_init(&w, 1024);
	wire_put_u8(&w, 0x2a);
	wire_put_u32(&w, 0x01020304);
	wire_put_u64(&w, 0x0102030405060708ULL);
	wire_put_i64(&w, -2);
	wire_put_str(&w, "hi");
	wire_put_str(&w, "");
	wire_put_nstr(&w, NULL);
	wire_put_bytes(&w, three, sizeof(three));
	ok(w.error == 0 && w.len == sizeof(want) &&
	    memcmp(w.buf, want, sizeof(want)) == 0,
	    "encoding: little-endian integers, 32-bit length prefixes, "
	    "NULL as 0xffffffff");
	wbuf_free(&w);
	ok(w.buf == NULL && w.len == 0, "encoding: wbuf_free resets");
}

static void
test_roundtrip(void)
{
	struct wbuf	 w;
	struct rbuf	 r;

	wbuf_init(&w, 4096);
	put_all(&w);
	ok(w.error == 0, "roundtrip: every field written");
	rbuf_init(&r, w.buf, w.len);
	ok(get_all(&r), "roundtrip: every value read back at its edges");
	ok(wire_done(&r) == 0 && r.off == r.len,
	    "roundtrip: wire_done accepts, nothing left");
	wbuf_free(&w);
}

static void
test_strings(void)
{
	struct wbuf	 w;
	struct rbuf	 r;
	char		*s, buf[6], guard[2] = { 'x', 'y' };

	wbuf_init(&w, 4096);
	wire_put_str(&w, "hello");
	rbuf_init(&r, w.buf, w.len);
	s = wire_get_str(&r, 4);
	ok(s == NULL && r.error == EMSGSIZE,
	    "strings: a 5-byte string with max 4 is refused");
	ok(wire_get_u8(&r) == 0 && r.error == EMSGSIZE,
	    "strings: the error is sticky");
	errno = 0;
	ok(wire_done(&r) == -1 && errno == EMSGSIZE,
	    "strings: wire_done reports it");
	rbuf_init(&r, w.buf, w.len);
	s = wire_get_str(&r, 5);
	ok(s != NULL && strcmp(s, "hello") == 0 && wire_done(&r) == 0,
	    "strings: max equal to the length is fine");
	free(s);

	rbuf_init(&r, w.buf, w.len);
	ok(wire_get_strbuf(&r, buf, 5) == -1 && buf[0] == '\0' &&
	    r.error != 0, "strings: strbuf into 5 bytes refuses 5 chars");
	rbuf_init(&r, w.buf, w.len);
	ok(wire_get_strbuf(&r, buf, 6) == 0 && strcmp(buf, "hello") == 0 &&
	    wire_done(&r) == 0, "strings: strbuf into 6 bytes takes them");
	rbuf_init(&r, w.buf, w.len);
	ok(wire_get_strbuf(&r, guard, 0) == -1 && guard[0] == 'x' &&
	    wire_done(&r) == -1,
	    "strings: strbuf into 0 bytes fails, writes nothing, sticks");
	wbuf_free(&w);

	/* A C string cannot carry a NUL. */
	wbuf_init(&w, 4096);
	wire_put_bytes(&w, nulbytes, sizeof(nulbytes));
	rbuf_init(&r, w.buf, w.len);
	ok(wire_get_str(&r, 100) == NULL && r.error == EBADMSG,
	    "strings: wire_get_str refuses an embedded NUL");
	rbuf_init(&r, w.buf, w.len);
	ok(wire_get_nstr(&r, 100) == NULL && r.error == EBADMSG,
	    "strings: wire_get_nstr refuses an embedded NUL");
	rbuf_init(&r, w.buf, w.len);
	ok(wire_get_strbuf(&r, buf, sizeof(buf)) == -1 && r.error != 0,
	    "strings: wire_get_strbuf refuses an embedded NUL");
	wbuf_free(&w);

	/* NULL is only a value for nstr. */
	wbuf_init(&w, 4096);
	wire_put_nstr(&w, NULL);
	rbuf_init(&r, w.buf, w.len);
	ok(wire_get_nstr(&r, 100) == NULL && wire_done(&r) == 0,
	    "strings: nstr NULL reads back as NULL without error");
	rbuf_init(&r, w.buf, w.len);
	ok(wire_get_str(&r, 100) == NULL && wire_done(&r) == -1,
	    "strings: a NULL string read with wire_get_str is an error");
	rbuf_init(&r, w.buf, w.len);
	ok(wire_get_strbuf(&r, buf, sizeof(buf)) == -1 && wire_done(&r) == -1,
	    "strings: a NULL string read with wire_get_strbuf is an error");
	wbuf_free(&w);
}

/* Every prefix of a valid message must fail, within its bytes. */
static void
test_truncation(void)
{
	struct wbuf	 w;
	struct rbuf	 r;
	uint8_t		*copy;
	size_t		 cut;
	int		 fails = 0;

	wbuf_init(&w, 4096);
	put_all(&w);
	for (cut = 0; cut < w.len; cut++) {
		/* An exact-size copy, so a sanitizer sees any over-read. */
		if ((copy = malloc(cut > 0 ? cut : 1)) == NULL)
			bail("malloc");
		memcpy(copy, w.buf, cut);
		rbuf_init(&r, copy, cut);
		(void)get_all(&r);
		if (wire_done(&r) == 0 || r.off > cut)
			fails++;
		free(copy);
	}
	ok(fails == 0, "truncation: all %zu prefixes are refused", w.len);

	if ((copy = malloc(w.len + 1)) == NULL)
		bail("malloc");
	memcpy(copy, w.buf, w.len);
	copy[w.len] = 0;
	rbuf_init(&r, copy, w.len + 1);
	ok(get_all(&r), "truncation: one trailing byte: values still right");
	errno = 0;
	ok(wire_done(&r) == -1 && errno == EBADMSG,
	    "truncation: but wire_done refuses the trailing byte");
	free(copy);
	wbuf_free(&w);
}

static void
test_reader_errors(void)
{
	static const uint8_t	 bools[] = { 0, 1, 2, 0xff };
	static const uint8_t	 huge[] = { 0xfe, 0xff, 0xff, 0xff, 'a' };
	struct rbuf		 r;
	const uint8_t		*p;
	size_t			 len, i;
	int			 bad = 0;

	for (i = 0; i < sizeof(bools); i++) {
		rbuf_init(&r, &bools[i], 1);
		(void)wire_get_bool(&r);
		if ((wire_done(&r) == 0) != (bools[i] <= 1))
			bad++;
	}
	ok(bad == 0, "bool: 0 and 1 accepted, 2 and 255 refused");

	rbuf_init(&r, huge, sizeof(huge));
	p = wire_get_bytes(&r, SIZE_MAX, &len);
	ok(p == NULL && len == 0 && r.error == EBADMSG,
	    "bytes: a length past the end of the buffer is refused");
	rbuf_init(&r, huge, sizeof(huge));
	p = wire_get_bytes(&r, 16, &len);
	ok(p == NULL && len == 0 && r.error == EMSGSIZE,
	    "bytes: a length over max is refused");
	rbuf_init(&r, huge, sizeof(huge));
	ok(wire_get_str(&r, SIZE_MAX) == NULL && wire_done(&r) == -1,
	    "strings: a length past the end is refused even with no max");

	rbuf_init(&r, NULL, 0);
	ok(wire_get_u64(&r) == 0 && wire_get_u32(&r) == 0 &&
	    wire_done(&r) == -1, "empty buffer: reads fail, return 0");
	rbuf_init(&r, NULL, 0);
	ok(wire_done(&r) == 0, "empty buffer: nothing read is fine");
}

static void
test_writer_limits(void)
{
	struct wbuf	 w;

	wbuf_init(&w, 12);
	wire_put_u64(&w, 1);
	wire_put_u32(&w, 2);
	ok(w.error == 0 && w.len == 12, "wbuf: exactly max bytes fit");
	wire_put_u8(&w, 3);
	ok(w.error == ERANGE && w.len == 12, "wbuf: one more is ERANGE");
	wbuf_free(&w);

	wbuf_init(&w, 10);
	wire_put_u64(&w, 1);
	wire_put_u32(&w, 2);
	wire_put_u8(&w, 3);
	ok(w.error == ERANGE && w.len == 8,
	    "wbuf: the error is sticky: a field that fits is not added");
	wbuf_free(&w);

	wbuf_init(&w, 1000);
	wire_put_str(&w, "0123456789");
	ok(w.error == 0, "wbuf: a short string fits");
	wire_put_bytes(&w, "", (size_t)UINT32_MAX);
	ok(w.error == ERANGE, "wbuf: a byte string of 2^32 - 1 is refused");
	wbuf_free(&w);

	wbuf_init(&w, 300 * 1024);
	while (w.error == 0)
		wire_put_str(&w, "a longer string, to grow the buffer");
	ok(w.error == ERANGE && w.len <= 300 * 1024 && w.cap <= 300 * 1024,
	    "wbuf: growing stops at max");
	wbuf_free(&w);
}

static void
test_settings(void)
{
	struct dkd_settings	 a, b;
	struct wbuf		 w;
	struct rbuf		 r;
	uint8_t			*copy;
	size_t			 cut;
	int			 fails = 0;

	memset(&a, 0, sizeof(a));
	a.log_level = LOG_LEVEL_DEBUG;
	strlcpy(a.cors_origin, "https://deploy.example.com",
	    sizeof(a.cors_origin));
	a.reconcile_interval_ms = 86400000;
	a.readiness_window_ms = 1500;
	strlcpy(a.docker_socket, "/var/run/docker.sock",
	    sizeof(a.docker_socket));
	if (cidr_parse("10.0.0.0/8", &a.proxies[0]) == -1 ||
	    cidr_parse("fd00::1/127", &a.proxies[1]) == -1)
		bail("cidr_parse");
	a.nproxies = 2;
	wbuf_init(&w, 65536);
	settings_put(&w, &a);
	rbuf_init(&r, w.buf, w.len);
	ok(w.error == 0 && settings_get(&r, &b) == 0,
	    "settings: encoded and decoded");
	ok(memcmp(&a, &b, sizeof(a)) == 0, "settings: identical after");

	for (cut = 0; cut < w.len; cut++) {
		if ((copy = malloc(cut > 0 ? cut : 1)) == NULL)
			bail("malloc");
		memcpy(copy, w.buf, cut);
		rbuf_init(&r, copy, cut);
		if (settings_get(&r, &b) != -1)
			fails++;
		free(copy);
	}
	ok(fails == 0, "settings: all %zu prefixes refused", w.len);
	wbuf_free(&w);

	b = a;
	b.log_level = LOG_LEVEL_DEBUG + 1;
	wbuf_init(&w, 65536);
	settings_put(&w, &b);
	rbuf_init(&r, w.buf, w.len);
	ok(settings_get(&r, &b) == -1, "settings: unknown log level refused");
	wbuf_free(&w);

	b = a;
	b.proxies[0].prefixlen = 33;
	wbuf_init(&w, 65536);
	settings_put(&w, &b);
	rbuf_init(&r, w.buf, w.len);
	ok(settings_get(&r, &b) == -1, "settings: IPv4 prefix /33 refused");
	wbuf_free(&w);

	b = a;
	b.proxies[1].prefixlen = 129;
	wbuf_init(&w, 65536);
	settings_put(&w, &b);
	rbuf_init(&r, w.buf, w.len);
	ok(settings_get(&r, &b) == -1, "settings: IPv6 prefix /129 refused");
	wbuf_free(&w);

	b = a;
	b.proxies[1].af = AF_UNIX;
	wbuf_init(&w, 65536);
	settings_put(&w, &b);
	rbuf_init(&r, w.buf, w.len);
	ok(settings_get(&r, &b) == -1, "settings: unknown family refused");
	wbuf_free(&w);

	wbuf_init(&w, 65536);
	settings_put(&w, &a);
	wire_put_u8(&w, 0);
	rbuf_init(&r, w.buf, w.len);
	ok(settings_get(&r, &b) == -1, "settings: trailing byte refused");
	wbuf_free(&w);

	b = a;
	b.nproxies = CONF_PROXIES_MAX + 1;
	wbuf_init(&w, 65536);
	wire_put_u32(&w, (uint32_t)b.log_level);
	wire_put_str(&w, b.cors_origin);
	wire_put_u64(&w, b.reconcile_interval_ms);
	wire_put_u64(&w, b.readiness_window_ms);
	wire_put_str(&w, b.docker_socket);
	wire_put_u32(&w, (uint32_t)b.nproxies);
	rbuf_init(&r, w.buf, w.len);
	ok(settings_get(&r, &b) == -1 && b.nproxies == 0,
	    "settings: %d proxies refused before reading them",
	    CONF_PROXIES_MAX + 1);
	wbuf_free(&w);
}

int
main(void)
{
	plan(42);
	test_encoding();
	test_roundtrip();
	test_strings();
	test_truncation();
	test_reader_errors();
	test_writer_limits();
	test_settings();
	return (done_testing());
}
