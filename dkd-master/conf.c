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
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "conf.h"
#include "log.h"

enum conf_kind {
	K_LISTEN,
	K_PATH,
	K_SOCKET,
	K_DURATION,
	K_LOGLEVEL,
	K_STRING,
	K_PROXY,
	K_SIZE,
	K_RETENTION,		/* a size and an optional age */
};

struct conf_keyword {
	const char	*name;
	enum conf_kind	 kind;
	size_t		 off;		/* of the field in struct dkd_config */
	size_t		 size;
	uint64_t	 min_ms;
	uint64_t	 max_ms;
	int		 repeat;
};

#define F(f)	offsetof(struct dkd_config, f), \
		sizeof(((struct dkd_config *)0)->f)

#define SEC	1000ULL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

#define KIB	1024ULL
#define MIB	(1024 * KIB)
#define GIB	(1024 * MIB)
/* For sizes, min_ms and max_ms of a keyword are bytes. */
#define LOG_RETENTION_MIN	(256 * KIB)
#define LOG_BUDGET_MIN		(1 * MIB)
#define LOG_SIZE_MAX		(1024 * GIB)
#define LOG_AGE_MIN		60	/* seconds */
#define LOG_AGE_MAX		(3650 * 86400ULL)

/* Sorted by name; config_print writes them in this order too. */
static const struct conf_keyword keywords[] = {
	{ "control-socket",	K_SOCKET,	F(control_socket), 0, 0, 0 },
	{ "cors-origin",	K_STRING,	F(cors_origin), 0, 0, 0 },
	{ "database",		K_PATH,		F(database), 0, 0, 0 },
	{ "docker-socket",	K_SOCKET,	F(docker_socket), 0, 0, 0 },
	{ "listen",		K_LISTEN,	F(listen), 0, 0, 0 },
	{ "log-budget",		K_SIZE,		F(log_budget_bytes),
	    LOG_BUDGET_MIN, LOG_SIZE_MAX, 0 },
	{ "log-dir",		K_PATH,		F(log_dir), 0, 0, 0 },
	{ "log-level",		K_LOGLEVEL,	F(log_level), 0, 0, 0 },
	{ "log-retention",	K_RETENTION,	F(log_retention_bytes),
	    LOG_RETENTION_MIN, LOG_SIZE_MAX, 0 },
	{ "readiness-window",	K_DURATION,	F(readiness_window_ms),
	    SEC, 10 * MIN, 0 },
	{ "reconcile-interval",	K_DURATION,	F(reconcile_interval_ms),
	    SEC, 24 * HOUR, 0 },
	{ "trusted-proxy",	K_PROXY,	F(proxies), 0, 0, 1 },
	{ "www",		K_PATH,		F(www), 0, 0, 0 },
};

struct conf_parser {
	struct dkd_config	*conf;
	const char		*name;
	int			 lineno;
	char			*err;
	size_t			 errlen;
};

static int	conf_error(struct conf_parser *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static int	conf_line(struct conf_parser *, char *);
static int	conf_value(struct conf_parser *, char **, char *, size_t);
static int	conf_set(struct conf_parser *, const struct conf_keyword *,
		    const char *);
static int	conf_listen(struct dkd_config *, const char *);
static int	conf_set_number(struct conf_parser *,
		    const struct conf_keyword *, const char *,
		    int (*)(const char *, uint64_t *), const char *);
static int	conf_digits(const char **, uint64_t, uint64_t *);
static int	conf_duration(const char *, uint64_t *);
static int	conf_size(const char *, uint64_t *);
static int	conf_age(const char *, uint64_t *);
static void	conf_format_size(uint64_t, char *, size_t);

void
config_defaults(struct dkd_config *conf)
{
	memset(conf, 0, sizeof(*conf));
	(void)conf_listen(conf, "127.0.0.1:8080");
	strlcpy(conf->database, "/var/lib/deploykit/dkd.db",
	    sizeof(conf->database));
	strlcpy(conf->control_socket, "/run/deploykit/dkd.sock",
	    sizeof(conf->control_socket));
	strlcpy(conf->docker_socket, "/var/run/docker.sock",
	    sizeof(conf->docker_socket));
	strlcpy(conf->www, "/usr/share/deploykit/www", sizeof(conf->www));
	strlcpy(conf->log_dir, "/var/lib/deploykit/logs",
	    sizeof(conf->log_dir));
	conf->reconcile_interval_ms = 30 * SEC;
	conf->readiness_window_ms = 10 * SEC;
	conf->log_level = LOG_LEVEL_INFO;
	conf->log_retention_bytes = 16 * MIB;
	conf->log_retention_sec = 7 * 86400;
	conf->log_budget_bytes = 1 * GIB;
	strlcpy(conf->cors_origin, "*", sizeof(conf->cors_origin));
}

static int
conf_error(struct conf_parser *p, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->lineno > 0)
		(void)snprintf(p->err, p->errlen, "%s:%d: %s", p->name,
		    p->lineno, msg);
	else
		(void)snprintf(p->err, p->errlen, "%s: %s", p->name, msg);
	return (-1);
}

/*
 * Read and check path as a configuration; on error return -1 with a
 * "file:line: message" in err.  conf is only written on success.
 */
int
config_parse_file(struct dkd_config *conf, const char *path, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		(void)snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return (-1);
	}
	if ((buf = malloc(CONF_FILE_MAX + 1)) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	for (;;) {
		n = read(fd, buf + len, CONF_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > CONF_FILE_MAX)
			break;
	}
	close(fd);
	if (n == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(buf);
		return (-1);
	}
	if (len > CONF_FILE_MAX) {
		(void)snprintf(err, errlen, "%s: larger than %d bytes", path,
		    CONF_FILE_MAX);
		free(buf);
		return (-1);
	}
	rv = config_parse_buffer(conf, path, buf, len, err, errlen);
	free(buf);
	return (rv);
}

int
config_parse_buffer(struct dkd_config *conf, const char *name,
    const char *buf, size_t len, char *err, size_t errlen)
{
	struct dkd_config	*new;
	struct conf_parser	 p;
	char			 line[CONF_LINE_MAX + 1];
	const char		*end, *nl;
	size_t			 ll;

	if ((new = malloc(sizeof(*new))) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return (-1);
	}
	config_defaults(new);
	memset(&p, 0, sizeof(p));
	p.conf = new;
	p.name = name;
	p.err = err;
	p.errlen = errlen;
	end = buf + len;
	while (buf < end) {
		p.lineno++;
		if ((nl = memchr(buf, '\n', (size_t)(end - buf))) == NULL)
			nl = end;
		ll = (size_t)(nl - buf);
		if (ll > CONF_LINE_MAX) {
			conf_error(&p, "line longer than %d bytes",
			    CONF_LINE_MAX);
			goto fail;
		}
		if (memchr(buf, '\0', ll) != NULL) {
			conf_error(&p, "NUL byte in line");
			goto fail;
		}
		memcpy(line, buf, ll);
		line[ll] = '\0';
		if (conf_line(&p, line) == -1)
			goto fail;
		buf = nl + 1;
	}
	memcpy(conf, new, sizeof(*conf));
	free(new);
	return (0);
fail:
	free(new);
	return (-1);
}

static int
conf_line(struct conf_parser *p, char *s)
{
	const struct conf_keyword	*kw = NULL;
	char				 value[CONF_VALUE_MAX];
	char				 age[CONF_VALUE_MAX];
	char				*word;
	size_t				 i;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	if (*s == '\0' || *s == '#')
		return (0);
	word = s;
	while (*s != '\0' && !isspace((unsigned char)*s) && *s != '#')
		s++;
	if (*s == '#')
		*s = '\0';
	else if (*s != '\0')
		*s++ = '\0';
	for (i = 0; i < nitems(keywords); i++)
		if (strcmp(keywords[i].name, word) == 0) {
			kw = &keywords[i];
			break;
		}
	if (kw == NULL)
		return (conf_error(p, "unknown setting \"%.64s\"", word));
	if (!kw->repeat && (p->conf->seen & (1U << i)))
		return (conf_error(p, "\"%s\" is set twice", kw->name));
	p->conf->seen |= 1U << i;
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	if (*s == '\0' || *s == '#')
		return (conf_error(p, "missing value for \"%s\"", kw->name));
	if (conf_value(p, &s, value, sizeof(value)) == -1)
		return (-1);
	if (value[0] == '\0' && kw->kind != K_STRING)
		return (conf_error(p, "empty value for \"%s\"", kw->name));
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	/* log-retention SIZE [AGE]: the age is the second word. */
	if (kw->kind == K_RETENTION) {
		if (*s != '\0' && *s != '#') {
			if (conf_value(p, &s, age, sizeof(age)) == -1)
				return (-1);
			if (conf_age(age, &p->conf->log_retention_sec) == -1)
				return (conf_error(p, "log-retention: \"%.64s\" "
				    "is not an age (e.g. 12h, 7d, or 0 for "
				    "none)", age));
			while (*s == ' ' || *s == '\t' || *s == '\r')
				s++;
		}
	}
	if (*s != '\0' && *s != '#')
		return (conf_error(p, "unexpected \"%.64s\" after the value "
		    "of \"%s\"", s, kw->name));
	return (conf_set(p, kw, value));
}

/* One bare word or one double-quoted string with \" and \\ escapes. */
static int
conf_value(struct conf_parser *p, char **sp, char *dst, size_t dstlen)
{
	char	*s = *sp;
	size_t	 n = 0;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	if (*s == '"') {
		s++;
		for (;;) {
			if (*s == '\0')
				return (conf_error(p, "unterminated string"));
			if (*s == '"')
				break;
			if (*s == '\\') {
				s++;
				if (*s != '"' && *s != '\\')
					return (conf_error(p, "unknown escape "
					    "in string (only \\\" and \\\\)"));
			}
			if ((unsigned char)*s < 0x20 && *s != '\t')
				return (conf_error(p, "control character in "
				    "string"));
			if (n + 1 >= dstlen)
				return (conf_error(p, "value too long"));
			dst[n++] = *s++;
		}
		s++;
	} else {
		while (*s != '\0' && !isspace((unsigned char)*s) &&
		    *s != '#') {
			if (*s == '"' || *s == '\\')
				return (conf_error(p, "quote or backslash in "
				    "a bare word; use a quoted string"));
			/* As in a quoted string, which config_print writes. */
			if ((unsigned char)*s < 0x20)
				return (conf_error(p, "control character in "
				    "value"));
			if (n + 1 >= dstlen)
				return (conf_error(p, "value too long"));
			dst[n++] = *s++;
		}
	}
	dst[n] = '\0';
	*sp = s;
	return (0);
}

static int
conf_set(struct conf_parser *p, const struct conf_keyword *kw,
    const char *value)
{
	char		*field = (char *)p->conf + kw->off;
	int		 level;

	switch (kw->kind) {
	case K_LISTEN:
		if (conf_listen(p->conf, value) == -1)
			return (conf_error(p, "listen: \"%.64s\" is not "
			    "address:port (e.g. 127.0.0.1:8080, [::1]:8080, "
			    "*:8080)", value));
		break;
	case K_PATH:
	case K_SOCKET:
		if (value[0] != '/')
			return (conf_error(p, "%s: \"%.64s\" is not an "
			    "absolute path", kw->name, value));
		if (strlcpy(field, value, kw->size) >= kw->size)
			return (conf_error(p, "%s: path longer than %zu bytes",
			    kw->name, kw->size - 1));
		break;
	case K_DURATION:
		return (conf_set_number(p, kw, value, conf_duration,
		    "a duration (e.g. 500ms, 30s, 5m, 1h)"));
	case K_LOGLEVEL:
		if ((level = log_level_byname(value)) == -1)
			return (conf_error(p, "log-level: \"%.64s\" is not one "
			    "of debug, info, warn, error", value));
		memcpy(field, &level, sizeof(level));
		break;
	case K_STRING:
		if (strlcpy(field, value, kw->size) >= kw->size)
			return (conf_error(p, "%s: value too long", kw->name));
		break;
	case K_SIZE:
	case K_RETENTION:
		return (conf_set_number(p, kw, value, conf_size,
		    "a size (e.g. 512K, 16M, 1G)"));
	case K_PROXY:
		if (p->conf->nproxies == CONF_PROXIES_MAX)
			return (conf_error(p, "more than %d trusted-proxy "
			    "settings", CONF_PROXIES_MAX));
		if (cidr_parse(value,
		    &p->conf->proxies[p->conf->nproxies]) == -1)
			return (conf_error(p, "trusted-proxy: \"%.64s\" is not "
			    "an address or address/prefix", value));
		p->conf->nproxies++;
		break;
	}
	return (0);
}

/* A duration or a size: parsed, in the keyword's range, stored. */
static int
conf_set_number(struct conf_parser *p, const struct conf_keyword *kw,
    const char *value, int (*parse)(const char *, uint64_t *),
    const char *what)
{
	char		*field = (char *)p->conf + kw->off;
	uint64_t	 v;

	if (parse(value, &v) == -1)
		return (conf_error(p, "%s: \"%.64s\" is not %s", kw->name,
		    value, what));
	if (v < kw->min_ms || v > kw->max_ms)
		return (conf_error(p, "%s: %.64s is out of range", kw->name,
		    value));
	memcpy(field, &v, sizeof(v));
	return (0);
}

/* "host:port", "[v6]:port" or "*:port"; the host must be numeric. */
static int
conf_listen(struct dkd_config *conf, const char *value)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	const char	*colon, *errstr;
	char		 host[CONF_VALUE_MAX];
	size_t		 hl;

	if ((colon = strrchr(value, ':')) == NULL)
		return (-1);
	(void)strtonum(colon + 1, 1, 65535, &errstr);
	if (errstr != NULL || strlen(colon + 1) > 5)
		return (-1);
	hl = (size_t)(colon - value);
	if (hl >= sizeof(host))
		return (-1);
	memcpy(host, value, hl);
	host[hl] = '\0';
	if (strcmp(host, "*") == 0)
		host[0] = '\0';
	else if (host[0] == '[') {
		if (hl < 3 || host[hl - 1] != ']')
			return (-1);
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return (-1);
	} else if (inet_pton(AF_INET, host, &a4) != 1)
		return (-1);
	strlcpy(conf->listen, value, sizeof(conf->listen));
	strlcpy(conf->listen_host, host, sizeof(conf->listen_host));
	strlcpy(conf->listen_port, colon + 1, sizeof(conf->listen_port));
	return (0);
}

/*
 * The number that *pp starts with, *pp then past its digits; -1 when
 * there is none, or it grows past limit before its last digit.
 */
static int
conf_digits(const char **pp, uint64_t limit, uint64_t *v)
{
	const char	*p = *pp;

	*v = 0;
	if (!isdigit((unsigned char)*p))
		return (-1);
	while (isdigit((unsigned char)*p)) {
		if (*v > limit)
			return (-1);
		*v = *v * 10 + (uint64_t)(*p++ - '0');
	}
	*pp = p;
	return (0);
}

static int
conf_duration(const char *s, uint64_t *ms)
{
	uint64_t	 v, mul;
	const char	*p = s;

	if (conf_digits(&p, 1000000000ULL, &v) == -1)
		return (-1);
	if (strcmp(p, "ms") == 0)
		mul = 1;
	else if (*p == '\0' || strcmp(p, "s") == 0)
		mul = SEC;
	else if (strcmp(p, "m") == 0)
		mul = MIN;
	else if (strcmp(p, "h") == 0)
		mul = HOUR;
	else
		return (-1);
	*ms = v * mul;
	return (0);
}

/* Bytes, or a number with K, M or G (powers of 1024). */
static int
conf_size(const char *s, uint64_t *bytes)
{
	uint64_t	 v, mul = 1;
	const char	*p = s;

	if (conf_digits(&p, 1000000000000ULL, &v) == -1)
		return (-1);
	if (*p == 'K' || *p == 'k')
		mul = KIB;
	else if (*p == 'M' || *p == 'm')
		mul = MIB;
	else if (*p == 'G' || *p == 'g')
		mul = GIB;
	else if (*p != '\0')
		return (-1);
	if (*p != '\0' && p[1] != '\0')
		return (-1);
	if (v > LOG_SIZE_MAX / mul)
		return (-1);
	*bytes = v * mul;
	return (0);
}

/* Seconds: a number with s, m, h or d; 0 alone means no limit. */
static int
conf_age(const char *s, uint64_t *sec)
{
	uint64_t	 v, mul;
	const char	*p = s;

	if (strcmp(s, "0") == 0) {
		*sec = 0;
		return (0);
	}
	if (conf_digits(&p, 1000000000ULL, &v) == -1)
		return (-1);
	if (strcmp(p, "s") == 0)
		mul = 1;
	else if (strcmp(p, "m") == 0)
		mul = 60;
	else if (strcmp(p, "h") == 0)
		mul = 3600;
	else if (strcmp(p, "d") == 0)
		mul = 86400;
	else
		return (-1);
	if (v * mul < LOG_AGE_MIN || v * mul > LOG_AGE_MAX)
		return (-1);
	*sec = v * mul;
	return (0);
}

static void
conf_format_size(uint64_t n, char *buf, size_t len)
{
	if (n != 0 && n % GIB == 0)
		(void)snprintf(buf, len, "%lluG", (unsigned long long)(n / GIB));
	else if (n != 0 && n % MIB == 0)
		(void)snprintf(buf, len, "%lluM", (unsigned long long)(n / MIB));
	else if (n != 0 && n % KIB == 0)
		(void)snprintf(buf, len, "%lluK", (unsigned long long)(n / KIB));
	else
		(void)snprintf(buf, len, "%llu", (unsigned long long)n);
}

static void
conf_format_age(uint64_t sec, char *buf, size_t len)
{
	if (sec == 0)
		(void)snprintf(buf, len, "0");
	else if (sec % 86400 == 0)
		(void)snprintf(buf, len, "%llud", (unsigned long long)(sec /
		    86400));
	else if (sec % 3600 == 0)
		(void)snprintf(buf, len, "%lluh", (unsigned long long)(sec /
		    3600));
	else if (sec % 60 == 0)
		(void)snprintf(buf, len, "%llum", (unsigned long long)(sec /
		    60));
	else
		(void)snprintf(buf, len, "%llus", (unsigned long long)sec);
}

void
config_format_duration(uint64_t ms, char *buf, size_t len)
{
	if (ms % HOUR == 0)
		(void)snprintf(buf, len, "%lluh", (unsigned long long)(ms / HOUR));
	else if (ms % MIN == 0)
		(void)snprintf(buf, len, "%llum", (unsigned long long)(ms / MIN));
	else if (ms % SEC == 0)
		(void)snprintf(buf, len, "%llus", (unsigned long long)(ms / SEC));
	else
		(void)snprintf(buf, len, "%llums", (unsigned long long)ms);
}

/* Every setting the same; "seen" only records how they were written. */
int
config_equal(const struct dkd_config *a, const struct dkd_config *b)
{
	int	 i;

	if (strcmp(a->listen, b->listen) != 0 ||
	    strcmp(a->listen_host, b->listen_host) != 0 ||
	    strcmp(a->listen_port, b->listen_port) != 0 ||
	    strcmp(a->database, b->database) != 0 ||
	    strcmp(a->control_socket, b->control_socket) != 0 ||
	    strcmp(a->docker_socket, b->docker_socket) != 0 ||
	    strcmp(a->www, b->www) != 0 ||
	    strcmp(a->log_dir, b->log_dir) != 0 ||
	    strcmp(a->cors_origin, b->cors_origin) != 0 ||
	    a->reconcile_interval_ms != b->reconcile_interval_ms ||
	    a->readiness_window_ms != b->readiness_window_ms ||
	    a->log_level != b->log_level || a->nproxies != b->nproxies ||
	    a->log_retention_bytes != b->log_retention_bytes ||
	    a->log_retention_sec != b->log_retention_sec ||
	    a->log_budget_bytes != b->log_budget_bytes)
		return (0);
	for (i = 0; i < a->nproxies; i++)
		if (a->proxies[i].af != b->proxies[i].af ||
		    a->proxies[i].prefixlen != b->proxies[i].prefixlen ||
		    memcmp(a->proxies[i].addr, b->proxies[i].addr,
		    sizeof(a->proxies[i].addr)) != 0)
			return (0);
	return (1);
}

static void
conf_print_string(FILE *fp, const char *name, const char *value)
{
	const char	*v;
	size_t		 len = strlen(name) + 3;	/* space, quotes */

	for (v = value; *v != '\0'; v++)
		len += (*v == '"' || *v == '\\') ? 2 : 1;
	/*
	 * A value given as a bare word can be too long to fit on a line
	 * once quoted; it needs no quotes, so write it back bare.
	 */
	if (len > CONF_LINE_MAX &&
	    value[strcspn(value, " \t\"\\#")] == '\0') {
		fprintf(fp, "%s %s\n", name, value);
		return;
	}
	fprintf(fp, "%s \"", name);
	for (; *value != '\0'; value++) {
		if (*value == '"' || *value == '\\')
			fputc('\\', fp);
		fputc(*value, fp);
	}
	fputs("\"\n", fp);
}

/* Every setting, in a form config_parse_buffer reads back. */
void
config_print(const struct dkd_config *conf, FILE *fp)
{
	char	 buf[64], age[32];
	int	 i;

	conf_print_string(fp, "control-socket", conf->control_socket);
	conf_print_string(fp, "cors-origin", conf->cors_origin);
	conf_print_string(fp, "database", conf->database);
	conf_print_string(fp, "docker-socket", conf->docker_socket);
	conf_print_string(fp, "listen", conf->listen);
	conf_print_string(fp, "log-dir", conf->log_dir);
	conf_format_size(conf->log_budget_bytes, buf, sizeof(buf));
	fprintf(fp, "log-budget %s\n", buf);
	fprintf(fp, "log-level %s\n", log_level_name(conf->log_level));
	conf_format_size(conf->log_retention_bytes, buf, sizeof(buf));
	conf_format_age(conf->log_retention_sec, age, sizeof(age));
	fprintf(fp, "log-retention %s %s\n", buf, age);
	config_format_duration(conf->readiness_window_ms, buf, sizeof(buf));
	fprintf(fp, "readiness-window %s\n", buf);
	config_format_duration(conf->reconcile_interval_ms, buf, sizeof(buf));
	fprintf(fp, "reconcile-interval %s\n", buf);
	for (i = 0; i < conf->nproxies; i++) {
		cidr_format(&conf->proxies[i], buf, sizeof(buf));
		conf_print_string(fp, "trusted-proxy", buf);
	}
	conf_print_string(fp, "www", conf->www);
}

/* The part of the configuration the workers get. */
void
settings_from_config(struct dkd_settings *s, const struct dkd_config *conf)
{
	memset(s, 0, sizeof(*s));
	s->log_level = conf->log_level;
	strlcpy(s->cors_origin, conf->cors_origin, sizeof(s->cors_origin));
	s->reconcile_interval_ms = conf->reconcile_interval_ms;
	s->readiness_window_ms = conf->readiness_window_ms;
	strlcpy(s->docker_socket, conf->docker_socket,
	    sizeof(s->docker_socket));
	memcpy(s->proxies, conf->proxies, sizeof(s->proxies));
	s->nproxies = conf->nproxies;
	s->log_retention_bytes = conf->log_retention_bytes;
	s->log_retention_sec = conf->log_retention_sec;
	s->log_budget_bytes = conf->log_budget_bytes;
}
