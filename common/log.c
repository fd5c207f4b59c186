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

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int		 log_to_stderr = 1;
static int		 log_level = LOG_LEVEL_INFO;
static const char	*log_procname;

static void	vfatalc(int, const char *, va_list)
		    __attribute__((__format__ (printf, 2, 0)));

static const char *level_names[] = { "error", "warn", "info", "debug" };
static const int level_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

/*
 * Call before any chroot: openlog with LOG_NDELAY connects /dev/log now
 * and tzset reads the zone file while it can still be reached.
 */
void
log_init(int to_stderr, int facility)
{
	log_to_stderr = to_stderr;
	if (!to_stderr)
		openlog(getprogname(), LOG_PID | LOG_NDELAY, facility);
	tzset();
}

void
log_procinit(const char *name)
{
	if (name != NULL)
		log_procname = name;
}

void
log_setlevel(int level)
{
	if (level < LOG_LEVEL_ERROR)
		level = LOG_LEVEL_ERROR;
	if (level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	log_level = level;
}

const char *
log_level_name(int level)
{
	if (level < 0 || (size_t)level >= nitems(level_names))
		return ("?");
	return (level_names[level]);
}

int
log_level_byname(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(level_names); i++)
		if (strcmp(level_names[i], name) == 0)
			return ((int)i);
	return (-1);
}

/*
 * Control characters become \n, \r, \t or \xNN, so that a name or
 * an email from a request can never start a forged log line or steer a
 * terminal.  Other bytes, UTF-8 included, pass.
 */
static void
log_escape(const char *in, char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 c;
	size_t			 o = 0;

	for (; *in != '\0' && o + 5 < outlen; in++) {
		c = (unsigned char)*in;
		if (c >= 0x20 && c != 0x7f) {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '\\';
		if (c == '\n')
			out[o++] = 'n';
		else if (c == '\r')
			out[o++] = 'r';
		else if (c == '\t')
			out[o++] = 't';
		else {
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

void
vlog(int level, const char *fmt, va_list ap)
{
	char		 ts[32], msg[BUFSIZ], safe[BUFSIZ];
	struct tm	 tm;
	struct timespec	 now;
	int		 saved_errno = errno;

	if (level > log_level)
		return;
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	log_escape(msg, safe, sizeof(safe));
	if (log_to_stderr) {
		/* UTC, so no zone file is needed inside a chroot. */
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s[%d]: %s: %s\n", ts,
		    now.tv_nsec / 1000000, getprogname(), (int)getpid(),
		    level_names[level], safe);
		fflush(stderr);
	} else
		syslog(level_prio[level], "%s", safe);
	errno = saved_errno;
}

void
logit(int level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *emsg, ...)
{
	char	 msg[BUFSIZ];
	va_list	 ap;
	int	 saved_errno = errno;

	if (emsg == NULL)
		logit(LOG_LEVEL_ERROR, "%s", strerror(saved_errno));
	else {
		/* Not a format built at run time: clang refuses those. */
		va_start(ap, emsg);
		(void)vsnprintf(msg, sizeof(msg), emsg, ap);
		va_end(ap);
		logit(LOG_LEVEL_ERROR, "%s: %s", msg, strerror(saved_errno));
	}
	errno = saved_errno;
}

void
log_warnx(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vlog(LOG_LEVEL_ERROR, emsg, ap);
	va_end(ap);
}

void
log_info(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vlog(LOG_LEVEL_INFO, emsg, ap);
	va_end(ap);
}

void
log_debug(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vlog(LOG_LEVEL_DEBUG, emsg, ap);
	va_end(ap);
}

static void
vfatalc(int code, const char *emsg, va_list ap)
{
	static char	 s[BUFSIZ];
	const char	*sep;

	if (emsg != NULL) {
		(void)vsnprintf(s, sizeof(s), emsg, ap);
		sep = ": ";
	} else {
		s[0] = '\0';
		sep = "";
	}
	if (code)
		logit(LOG_LEVEL_ERROR, "fatal in %s: %s%s%s",
		    log_procname != NULL ? log_procname : getprogname(),
		    s, sep, strerror(code));
	else
		logit(LOG_LEVEL_ERROR, "fatal in %s%s%s",
		    log_procname != NULL ? log_procname : getprogname(),
		    sep, s);
}

void
fatal(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vfatalc(errno, emsg, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *emsg, ...)
{
	va_list	 ap;

	va_start(ap, emsg);
	vfatalc(0, emsg, ap);
	va_end(ap);
	exit(1);
}
