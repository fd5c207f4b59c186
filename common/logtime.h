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

#ifndef DK_LOGTIME_H
#define DK_LOGTIME_H

/*
 * Log line times: nanoseconds since the epoch, UTC.  Docker stamps each
 * line with RFC 3339 and up to nine digits of fraction; the logs API
 * wants "seconds.nanoseconds" for its since parameter.
 */

#include <stddef.h>
#include <stdint.h>

/* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" and a NUL. */
#define LOGTIME_LEN		30
/* "-ssssssssssssssssssss.nnnnnnnnn" and a NUL. */
#define LOGTIME_UNIX_LEN	32

int	 logtime_parse(const char *, size_t, int64_t *);
void	 logtime_format(int64_t, char [LOGTIME_LEN + 1]);
void	 logtime_unix(int64_t, char [LOGTIME_UNIX_LEN + 1]);
int64_t	 logtime_now(void);

#endif /* DK_LOGTIME_H */
