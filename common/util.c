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

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sha2.h>

#include "util.h"

void
sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
	SHA256Data(data, len, out);
}

/* Base64url without padding; out must hold 4 * ceil(len / 3) + 1. */
void
base64url_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	static const char	 tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_";
	size_t			 i, o = 0;
	uint32_t		 v;

	for (i = 0; i + 2 < len && o + 4 < outlen; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (i < len && o + 3 < outlen) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		if (i + 1 < len)
			out[o++] = tab[(v >> 6) & 63];
	}
	out[o] = '\0';
}

/* 32 random bytes as base64url: what users hold, never what we store. */
void
token_new(char out[TOKEN_LEN + 1])
{
	uint8_t	 raw[TOKEN_BYTES];

	arc4random_buf(raw, sizeof(raw));
	base64url_encode(raw, sizeof(raw), out, TOKEN_LEN + 1);
	explicit_bzero(raw, sizeof(raw));
}

/* A random (version 4) UUID in its usual text form. */
void
uuid_new(char out[UUID_LEN + 1])
{
	uint8_t	 b[16];

	arc4random_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	(void)snprintf(out, UUID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* The database's time format, as SQLite's datetime('now') writes it. */
void
dbtime(time_t t, char out[DBTIME_LEN + 1])
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(out, DBTIME_LEN + 1, "%Y-%m-%d %H:%M:%S", &tm);
}

int
dbtime_parse(const char *s, time_t *t)
{
	struct tm	 tm;
	const char	*end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm)) == NULL ||
	    *end != '\0')
		return (-1);
	*t = timegm(&tm);
	return (0);
}

int
dbtime_to_rfc3339(const char *db, char out[RFC3339_LEN + 1])
{
	if (strlen(db) != DBTIME_LEN || db[10] != ' ')
		return (-1);
	memcpy(out, db, 10);
	out[10] = 'T';
	memcpy(out + 11, db + 11, 8);
	out[19] = 'Z';
	out[20] = '\0';
	return (0);
}

/*
 * RFC 3339: YYYY-MM-DDTHH:MM:SS, optional fraction, then Z or +hh:mm /
 * -hh:mm.  't' and 'z' are accepted as the RFC allows.
 */
int
rfc3339_parse(const char *s, time_t *t)
{
	struct tm	 tm;
	const char	*p;
	int		 sign, hh, mm;
	long		 off = 0;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) < 20 || (s[10] != 'T' && s[10] != 't'))
		return (-1);
	if ((p = strptime(s, "%Y-%m-%d", &tm)) == NULL || p != s + 10)
		return (-1);
	if ((p = strptime(s + 11, "%H:%M:%S", &tm)) == NULL || p != s + 19)
		return (-1);
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return (-1);
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (!isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]) || p[3] != ':' ||
		    !isdigit((unsigned char)p[4]) ||
		    !isdigit((unsigned char)p[5]))
			return (-1);
		hh = (p[1] - '0') * 10 + (p[2] - '0');
		mm = (p[4] - '0') * 10 + (p[5] - '0');
		if (hh > 23 || mm > 59)
			return (-1);
		off = sign * (hh * 3600L + mm * 60L);
		p += 6;
	} else
		return (-1);
	if (*p != '\0')
		return (-1);
	*t = timegm(&tm) - off;
	return (0);
}

/*
 * The characters of UTF-8 text, not its bytes: what a password's
 * length and a column's width count.
 */
size_t
utf8_chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return (n);
}

/* Strict UTF-8: no overlongs, no surrogates, nothing past U+10FFFF. */
int
utf8_valid(const char *str, size_t len)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 i = 0, n, k;
	uint32_t		 cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return (0);
		if (n >= len - i)
			return (0);
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (0);
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		i += n + 1;
	}
	return (1);
}
