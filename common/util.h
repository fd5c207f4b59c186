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

#ifndef DK_UTIL_H
#define DK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SHA256_HEX_LEN		64
#define UUID_LEN		36
#define TOKEN_BYTES		32
#define TOKEN_LEN		43	/* base64url of 32 bytes, no padding */
#define DBTIME_LEN		19	/* YYYY-MM-DD HH:MM:SS */
#define RFC3339_LEN		20	/* YYYY-MM-DDTHH:MM:SSZ */

void	 sha256_hex(const void *, size_t, char [SHA256_HEX_LEN + 1]);
void	 base64url_encode(const uint8_t *, size_t, char *, size_t);
void	 token_new(char [TOKEN_LEN + 1]);
void	 uuid_new(char [UUID_LEN + 1]);
void	 dbtime(time_t, char [DBTIME_LEN + 1]);
int	 dbtime_to_rfc3339(const char *, char [RFC3339_LEN + 1]);
int	 rfc3339_parse(const char *, time_t *);
int	 dbtime_parse(const char *, time_t *);
int	 utf8_valid(const char *, size_t);
size_t	 utf8_chars(const char *);

#endif /* DK_UTIL_H */
