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

#ifndef DK_TAP_H
#define DK_TAP_H

/* Just enough TAP for the unit tests: plan, ok, skip, diag, done. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	 tap_planned, tap_run, tap_failed;

/* The rest of a line: the caller's format and arguments. */
#define TAP_REST(fmt) do {						\
	va_list	 ap_;							\
	va_start(ap_, fmt);						\
	vprintf((fmt), ap_);						\
	va_end(ap_);							\
	putchar('\n');							\
	fflush(stdout);		/* before any fork() */			\
} while (0)

static inline void
plan(int n)
{
	printf("1..%d\n", tap_planned = n);
}

static inline __attribute__((__format__ (printf, 2, 3))) int
ok(int cond, const char *fmt, ...)
{
	printf("%sok %d - ", cond ? "" : "not ", ++tap_run);
	TAP_REST(fmt);
	tap_failed += !cond;
	return (cond);
}

/* A check that cannot run here: passed, with the reason. */
static inline __attribute__((__format__ (printf, 1, 2))) void
skip(const char *fmt, ...)
{
	printf("ok %d # SKIP ", ++tap_run);
	TAP_REST(fmt);
}

static inline __attribute__((__format__ (printf, 1, 2))) void
diag(const char *fmt, ...)
{
	fputs("# ", stdout);
	TAP_REST(fmt);
}

/* Set-up failed: nothing after this can be trusted. */
static inline __attribute__((__noreturn__)) void
bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The exit status: 0 only if every planned check ran and passed. */
static inline int
done_testing(void)
{
	if (tap_run != tap_planned)
		diag("planned %d checks, ran %d", tap_planned, tap_run);
	if (tap_failed > 0)
		diag("%d of %d checks failed", tap_failed, tap_run);
	return (tap_failed > 0 || tap_run != tap_planned);
}

#endif /* DK_TAP_H */
