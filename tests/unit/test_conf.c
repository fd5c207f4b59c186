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
 * dkd.conf: what parses, what it parses to, what fails and where, and
 * that config_print writes what config_parse_buffer reads back.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "tap.h"

#define NAME	"test.conf"

struct dur_case {
	const char	*line;
	uint64_t	 ms;		/* 0: must fail */
};

struct bad_case {
	const char	*text;
	int		 line;
	const char	*msg;
};

struct cidr_case {
	const char	*cidr;
	const char	*addr;
	int		 match;
};

static int	parse(const char *, struct dkd_config *, char *, size_t);
static int	bad_buffer(const char *, size_t, int, const char *);
static int	roundtrip(const struct dkd_config *);
static char	*repeat(const char *, const char *, size_t, const char *);
static void	test_defaults(void);
static void	test_full(void);
static void	test_listen(void);
static void	test_durations(void);
static void	test_values(void);
static void	test_proxies(void);
static void	test_bad(void);
static void	test_untouched(void);
static void	test_roundtrip(void);
static void	test_cidr(void);
static void	test_file(void);

static int
parse(const char *text, struct dkd_config *c, char *err, size_t errlen)
{
	err[0] = '\0';
	return (config_parse_buffer(c, NAME, text, strlen(text), err,
	    errlen));
}

/*
 * Must fail with "test.conf:line: ...msg..." and leave the output as it
 * was.  Says why not in a diag line.
 */
static int
bad_buffer(const char *text, size_t len, int line, const char *msg)
{
	struct dkd_config	*c, *before;
	char			 err[1024], want[32];
	int			 rv, untouched;

	if ((c = malloc(sizeof(*c))) == NULL ||
	    (before = malloc(sizeof(*before))) == NULL)
		bail("malloc");
	memset(c, 0xa5, sizeof(*c));
	memcpy(before, c, sizeof(*c));
	err[0] = '\0';
	rv = config_parse_buffer(c, NAME, text, len, err, sizeof(err));
	untouched = memcmp(c, before, sizeof(*c)) == 0;
	free(c);
	free(before);
	(void)snprintf(want, sizeof(want), NAME ":%d: ", line);
	if (rv != -1 || strncmp(err, want, strlen(want)) != 0 ||
	    strstr(err + strlen(want), msg) == NULL || !untouched) {
		diag("rv %d, error \"%s\", output %s", rv, err,
		    untouched ? "untouched" : "changed");
		return (0);
	}
	return (1);
}

/* config_print, then parse that: the same settings? */
static int
roundtrip(const struct dkd_config *c)
{
	struct dkd_config	*again;
	FILE			*fp;
	char			*text = NULL, err[1024];
	size_t			 len = 0;
	int			 same;

	if ((again = malloc(sizeof(*again))) == NULL)
		bail("malloc");
	if ((fp = open_memstream(&text, &len)) == NULL)
		bail("open_memstream");
	config_print(c, fp);
	if (fclose(fp) != 0)
		bail("fclose");
	err[0] = '\0';
	same = config_parse_buffer(again, NAME, text, len, err,
	    sizeof(err)) == 0 && config_equal(c, again);
	if (!same)
		diag("printed config: %s", err[0] ? err : "differs");
	free(text);
	free(again);
	return (same);
}

/* pre + n times rep + post, allocated. */
static char *
repeat(const char *pre, const char *rep, size_t n, const char *post)
{
	char	*s;
	size_t	 len, i;

	len = strlen(pre) + n * strlen(rep) + strlen(post) + 1;
	if ((s = malloc(len)) == NULL)
		bail("malloc");
	strlcpy(s, pre, len);
	for (i = 0; i < n; i++)
		strlcat(s, rep, len);
	strlcat(s, post, len);
	return (s);
}

static void
test_defaults(void)
{
	struct dkd_config	 c, d;
	char			 err[256];

	config_defaults(&d);
	ok(parse("", &c, err, sizeof(err)) == 0 && config_equal(&c, &d),
	    "defaults: an empty file gives the defaults");
	ok(strcmp(c.listen, "127.0.0.1:8080") == 0 &&
	    strcmp(c.listen_host, "127.0.0.1") == 0 &&
	    strcmp(c.listen_port, "8080") == 0,
	    "defaults: listen 127.0.0.1:8080");
	ok(strcmp(c.database, "/var/lib/deploykit/dkd.db") == 0 &&
	    strcmp(c.control_socket, "/run/deploykit/dkd.sock") == 0 &&
	    strcmp(c.docker_socket, "/var/run/docker.sock") == 0 &&
	    strcmp(c.www, "/usr/share/deploykit/www") == 0 &&
	    strcmp(c.log_dir, "/var/lib/deploykit/logs") == 0,
	    "defaults: the paths of dkd.conf(5)");
	ok(c.reconcile_interval_ms == 30000 &&
	    c.readiness_window_ms == 10000 &&
	    c.log_level == LOG_LEVEL_INFO &&
	    strcmp(c.cors_origin, "*") == 0 && c.nproxies == 0,
	    "defaults: 30s, 10s, info, \"*\", no proxies");
	ok(c.log_retention_bytes == 16ULL << 20 &&
	    c.log_retention_sec == 7 * 86400 &&
	    c.log_budget_bytes == 1ULL << 30,
	    "defaults: log-retention 16M 7d, log-budget 1G");
	ok(parse("\n# only a comment\n\t  \r\n   # indented\r\n\n", &c, err,
	    sizeof(err)) == 0 && config_equal(&c, &d),
	    "defaults: blank lines, comments, tabs and CRLF only");
}

static void
test_full(void)
{
	static const char	*text =
	    "# every setting\r\n"
	    "\tlisten\t\"[::1]:9090\"\t# loopback v6\r\n"
	    "database /srv/dk/dkd.db\r\n"
	    "control-socket   \"/run/dk/ctl.sock\"\r\n"
	    "docker-socket /run/docker.sock#no space before the hash\r\n"
	    "www \"/srv/dk/www dir\"\r\n"
	    "\r\n"
	    "log-dir /srv/dk/logs\r\n"
	    "reconcile-interval 5m\r\n"
	    "readiness-window 1500ms\r\n"
	    "log-level debug\r\n"
	    "cors-origin \"say \\\"hi\\\" \\\\ # not a comment\"  # one\r\n"
	    "trusted-proxy 10.0.0.0/8\r\n"
	    "trusted-proxy \"fd00::/8\"\r\n"
	    "trusted-proxy 192.168.1.7\r\n"
	    "log-retention 64M 12h\r\n"
	    "log-budget 2G";
	struct dkd_config	 c;
	char			 err[256];
	int			 rv;

	rv = parse(text, &c, err, sizeof(err));
	if (!ok(rv == 0, "full: every setting, CRLF, tabs, comments"))
		diag("%s", err);
	ok(strcmp(c.listen, "[::1]:9090") == 0 &&
	    strcmp(c.listen_host, "::1") == 0 &&
	    strcmp(c.listen_port, "9090") == 0, "full: listen");
	ok(strcmp(c.database, "/srv/dk/dkd.db") == 0 &&
	    strcmp(c.control_socket, "/run/dk/ctl.sock") == 0 &&
	    strcmp(c.docker_socket, "/run/docker.sock") == 0 &&
	    strcmp(c.www, "/srv/dk/www dir") == 0 &&
	    strcmp(c.log_dir, "/srv/dk/logs") == 0, "full: paths");
	ok(c.reconcile_interval_ms == 300000 &&
	    c.readiness_window_ms == 1500, "full: durations");
	ok(c.log_level == LOG_LEVEL_DEBUG, "full: log-level");
	ok(strcmp(c.cors_origin, "say \"hi\" \\ # not a comment") == 0,
	    "full: quoted string with \\\" and \\\\ and a hash");
	ok(c.nproxies == 3 && c.proxies[0].af == AF_INET &&
	    c.proxies[0].prefixlen == 8 && c.proxies[1].af == AF_INET6 &&
	    c.proxies[1].prefixlen == 8 && c.proxies[2].af == AF_INET &&
	    c.proxies[2].prefixlen == 32, "full: three trusted proxies");
	ok(c.log_retention_bytes == 64ULL << 20 &&
	    c.log_retention_sec == 12 * 3600 &&
	    c.log_budget_bytes == 2ULL << 30, "full: log retention and budget");
	ok(roundtrip(&c), "full: config_print reads back the same");
}

static void
test_listen(void)
{
	static const struct {
		const char	*value, *host, *port;
	} good[] = {
		{ "127.0.0.1:8080", "127.0.0.1", "8080" },
		{ "[::1]:8080", "::1", "8080" },
		{ "*:8080", "", "8080" },
		{ "0.0.0.0:1", "0.0.0.0", "1" },
		{ "[::]:65535", "::", "65535" },
		{ "\"[fe80::1:2]:443\"", "fe80::1:2", "443" },
	};
	struct dkd_config	 c;
	char			 text[128], err[256];
	size_t			 i;
	int			 rv;

	for (i = 0; i < nitems(good); i++) {
		(void)snprintf(text, sizeof(text), "listen %s\n",
		    good[i].value);
		rv = parse(text, &c, err, sizeof(err));
		ok(rv == 0 && strcmp(c.listen_host, good[i].host) == 0 &&
		    strcmp(c.listen_port, good[i].port) == 0,
		    "listen %s: host \"%s\", port %s", good[i].value,
		    good[i].host, good[i].port);
	}
}

static void
test_durations(void)
{
	static const struct dur_case	 cases[] = {
		{ "reconcile-interval 1s", 1000 },
		{ "reconcile-interval 30s", 30000 },
		{ "reconcile-interval 5m", 300000 },
		{ "reconcile-interval 1h", 3600000 },
		{ "reconcile-interval 24h", 86400000 },
		{ "reconcile-interval 1440m", 86400000 },
		{ "reconcile-interval 86400", 86400000 },
		{ "reconcile-interval 45", 45000 },
		{ "reconcile-interval 1000ms", 1000 },
		{ "reconcile-interval 999ms", 0 },
		{ "reconcile-interval 500ms", 0 },
		{ "reconcile-interval 0", 0 },
		{ "reconcile-interval 0s", 0 },
		{ "reconcile-interval 25h", 0 },
		{ "reconcile-interval 86401", 0 },
		{ "reconcile-interval 1441m", 0 },
		{ "readiness-window 1s", 1000 },
		{ "readiness-window 1500ms", 1500 },
		{ "readiness-window 10m", 600000 },
		{ "readiness-window 600", 600000 },
		{ "readiness-window 500ms", 0 },
		{ "readiness-window 601", 0 },
		{ "readiness-window 11m", 0 },
		{ "readiness-window 1h", 0 },
	};
	struct dkd_config	 c;
	char			 text[128], err[256];
	size_t			 i;
	uint64_t		 got;
	int			 rv;

	for (i = 0; i < nitems(cases); i++) {
		(void)snprintf(text, sizeof(text), "\n%s\n", cases[i].line);
		rv = parse(text, &c, err, sizeof(err));
		got = strncmp(cases[i].line, "readiness", 9) == 0 ?
		    c.readiness_window_ms : c.reconcile_interval_ms;
		if (cases[i].ms != 0)
			ok(rv == 0 && got == cases[i].ms,
			    "duration: %s = %llu ms", cases[i].line,
			    (unsigned long long)cases[i].ms);
		else
			ok(rv == -1 && strncmp(err, NAME ":2: ", 12) == 0 &&
			    strstr(err, "out of range") != NULL,
			    "duration: %s is out of range (%s)", cases[i].line,
			    err);
	}
}

/* log-retention SIZE [AGE] and log-budget SIZE. */
static void
test_log_sizes(void)
{
	static const struct {
		const char	*line;
		uint64_t	 bytes, sec;	/* bytes 0: refused */
	} cases[] = {
		{ "log-retention 16M 7d", 16ULL << 20, 7 * 86400 },
		{ "log-retention 512K", 512ULL << 10, 7 * 86400 },
		{ "log-retention 1g 0", 1ULL << 30, 0 },
		{ "log-retention 1048576 90m", 1ULL << 20, 5400 },
		{ "log-retention \"2M\" \"3h\"", 2ULL << 20, 3 * 3600 },
		{ "log-retention 100K", 0, 0 },
		{ "log-retention 16M 30s", 0, 0 },
		{ "log-retention 16M 7w", 0, 0 },
		{ "log-retention 16MB", 0, 0 },
		{ "log-retention -1M", 0, 0 },
		{ "log-retention 2000G", 0, 0 },
		{ "log-retention 16M 7d extra", 0, 0 },
		{ "log-budget 512K", 0, 0 },
		{ "log-budget 2M", 2ULL << 20, 0 },
		{ "log-budget 1T", 0, 0 },
	};
	struct dkd_config	 c;
	char			 text[128], err[256];
	size_t			 i;
	uint64_t		 got;
	int			 rv, budget;

	for (i = 0; i < nitems(cases); i++) {
		(void)snprintf(text, sizeof(text), "%s\n", cases[i].line);
		rv = parse(text, &c, err, sizeof(err));
		budget = strncmp(cases[i].line, "log-budget", 10) == 0;
		got = budget ? c.log_budget_bytes : c.log_retention_bytes;
		if (cases[i].bytes != 0)
			ok(rv == 0 && got == cases[i].bytes && (budget ||
			    c.log_retention_sec == cases[i].sec) &&
			    roundtrip(&c), "%s: %llu bytes, %llu s, and read "
			    "back", cases[i].line,
			    (unsigned long long)cases[i].bytes,
			    (unsigned long long)cases[i].sec);
		else
			ok(rv == -1 && strncmp(err, NAME ":1: ", 12) == 0,
			    "%s is refused (%s)", cases[i].line, err);
	}
}

static void
test_values(void)
{
	static const char	*levels[] = {
		"error", "warn", "info", "debug"
	};
	struct dkd_config	 c;
	char			 text[128], err[256], *s;
	size_t			 i;
	int			 good = 1;

	for (i = 0; i < nitems(levels); i++) {
		(void)snprintf(text, sizeof(text), "log-level %s\n",
		    levels[i]);
		if (parse(text, &c, err, sizeof(err)) != 0 ||
		    c.log_level != (int)i)
			good = 0;
	}
	ok(good, "log-level: error, warn, info, debug");
	ok(parse("cors-origin \"\"\n", &c, err, sizeof(err)) == 0 &&
	    c.cors_origin[0] == '\0', "string: an empty quoted string");
	ok(parse("cors-origin \"a\tb\"\n", &c, err, sizeof(err)) == 0 &&
	    strcmp(c.cors_origin, "a\tb") == 0,
	    "string: a tab inside quotes is kept");
	ok(parse("cors-origin \"\\\\\"\n", &c, err, sizeof(err)) == 0 &&
	    strcmp(c.cors_origin, "\\") == 0,
	    "string: \"\\\\\" is a backslash");
	ok(parse("cors-origin https://x.example:8443/\n", &c, err,
	    sizeof(err)) == 0 &&
	    strcmp(c.cors_origin, "https://x.example:8443/") == 0,
	    "string: a bare word with colons and slashes");

	s = repeat("control-socket /", "s", CONF_SOCKET_MAX - 2, "\n");
	ok(parse(s, &c, err, sizeof(err)) == 0 &&
	    strlen(c.control_socket) == CONF_SOCKET_MAX - 1,
	    "socket: a path of 107 bytes fits");
	free(s);
	s = repeat("# ", "x", CONF_LINE_MAX - 2, "\nlog-level warn\n");
	ok(parse(s, &c, err, sizeof(err)) == 0 &&
	    c.log_level == LOG_LEVEL_WARN, "a line of exactly 1024 bytes");
	free(s);
}

static void
test_proxies(void)
{
	struct dkd_config	 c;
	char			 err[256], *s;
	int			 rv;

	s = repeat("", "trusted-proxy 10.1.2.3/32\n", CONF_PROXIES_MAX, "");
	rv = parse(s, &c, err, sizeof(err));
	ok(rv == 0 && c.nproxies == CONF_PROXIES_MAX,
	    "trusted-proxy: %d of them are fine", CONF_PROXIES_MAX);
	free(s);
	s = repeat("", "trusted-proxy ::1\n", CONF_PROXIES_MAX + 1, "");
	ok(bad_buffer(s, strlen(s), CONF_PROXIES_MAX + 1, "more than 32"),
	    "trusted-proxy: number %d fails on its line",
	    CONF_PROXIES_MAX + 1);
	free(s);
	ok(parse("trusted-proxy ::1\ntrusted-proxy 0.0.0.0/0\n", &c, err,
	    sizeof(err)) == 0 && c.nproxies == 2 &&
	    c.proxies[0].af == AF_INET6 && c.proxies[0].prefixlen == 128 &&
	    c.proxies[1].af == AF_INET && c.proxies[1].prefixlen == 0,
	    "trusted-proxy: ::1 is /128, 0.0.0.0/0 is /0");
}

static void
test_bad(void)
{
	static const struct bad_case	 cases[] = {
		{ "log-level info\n\nfoo bar\n", 3,
		    "unknown setting \"foo\"" },
		{ "listen *:80\nlisten *:81\n", 2,
		    "\"listen\" is set twice" },
		{ "# x\n database\n", 2, "missing value for \"database\"" },
		{ "database   # nothing\n", 1,
		    "missing value for \"database\"" },
		{ "\n\ncors-origin \"abc\n", 3, "unterminated string" },
		{ "cors-origin \"abc\\\n", 1, "" },
		{ "cors-origin \"a\\nb\"\n", 1, "unknown escape" },
		{ "cors-origin \"a\001b\"\n", 1, "control character" },
		{ "cors-origin a\001b\n", 1, "control character" },
		{ "cors-origin a\"b\n", 1, "quote or backslash" },
		{ "cors-origin a\\b\n", 1, "quote or backslash" },
		{ "log-level info\ndatabase var/db\n", 2,
		    "not an absolute path" },
		{ "www \"\"\n", 1, "empty value for \"www\"" },
		{ "listen 127.0.0.1\n", 1, "is not address:port" },
		{ "listen 127.0.0.1:\n", 1, "is not address:port" },
		{ "listen 127.0.0.1:0\n", 1, "is not address:port" },
		{ "listen 127.0.0.1:65536\n", 1, "is not address:port" },
		{ "listen *:100000\n", 1, "is not address:port" },
		{ "listen localhost:8080\n", 1, "is not address:port" },
		{ "listen ::1:8080\n", 1, "is not address:port" },
		{ "listen [::1]\n", 1, "is not address:port" },
		{ "listen []:80\n", 1, "is not address:port" },
		{ "listen [127.0.0.1]:80\n", 1, "is not address:port" },
		{ "listen 1.2.3.256:80\n", 1, "is not address:port" },
		{ "listen *:http\n", 1, "is not address:port" },
		{ "\n\n\n\nreadiness-window 5x\n", 5, "is not a duration" },
		{ "readiness-window 1.5s\n", 1, "is not a duration" },
		{ "readiness-window -1s\n", 1, "is not a duration" },
		{ "readiness-window ms\n", 1, "is not a duration" },
		{ "readiness-window 5S\n", 1, "is not a duration" },
		{ "readiness-window 5 s\n", 1, "unexpected \"s\"" },
		{ "reconcile-interval 99999999999999s\n", 1,
		    "is not a duration" },
		{ "reconcile-interval 48h\n", 1, "out of range" },
		{ "log-level loud\n", 1, "is not one of" },
		{ "log-level INFO\n", 1, "is not one of" },
		{ "log-level info extra\n", 1,
		    "unexpected \"extra\" after the value of \"log-level\"" },
		{ "cors-origin \"a\"b\n", 1, "unexpected \"b\"" },
		{ "trusted-proxy 10.0.0.0/33\n", 1, "is not an address" },
		{ "trusted-proxy 10.0.0.0/\n", 1, "is not an address" },
		{ "trusted-proxy fd00::/129\n", 1, "is not an address" },
		{ "trusted-proxy proxy.example\n", 1, "is not an address" },
		{ "trusted-proxy 10.0.0.0/-1\n", 1, "is not an address" },
	};
	size_t	 i;
	char	*s;

	for (i = 0; i < nitems(cases); i++)
		ok(bad_buffer(cases[i].text, strlen(cases[i].text),
		    cases[i].line, cases[i].msg), "bad: line %d: %s",
		    cases[i].line, cases[i].msg[0] ? cases[i].msg : "error");

	s = repeat("log-level info\ncontrol-socket /", "s",
	    CONF_SOCKET_MAX - 1, "\n");
	ok(bad_buffer(s, strlen(s), 2, "path longer than 107 bytes"),
	    "bad: line 2: a socket path of 108 bytes");
	free(s);
	s = repeat("log-level info\n# ", "x", CONF_LINE_MAX - 1, "\n");
	ok(bad_buffer(s, strlen(s), 2, "line longer than 1024 bytes"),
	    "bad: line 2: a line of 1025 bytes");
	free(s);
	ok(bad_buffer("log-level info\nlog\0-level info\n", 31, 2,
	    "NUL byte"), "bad: line 2: a NUL byte");
	ok(bad_buffer("log-level info\n\0", 16, 2, "NUL byte"),
	    "bad: line 2: a NUL byte as the last byte");
}

static void
test_untouched(void)
{
	struct dkd_config	 c, before;
	char			 err[256];

	if (parse("log-level warn\nlisten *:81\n", &c, err, sizeof(err)) != 0)
		bail("parse");
	before = c;
	ok(parse("log-level debug\nlisten *:82\nbogus 1\n", &c, err,
	    sizeof(err)) == -1 && memcmp(&c, &before, sizeof(c)) == 0,
	    "untouched: a failed parse keeps the previous configuration");
}

static void
test_roundtrip(void)
{
	struct dkd_config	 c;
	char			 err[256], *s;

	config_defaults(&c);
	ok(roundtrip(&c), "print: the defaults read back the same");
	ok(parse("cors-origin \"\"\nreadiness-window 1001ms\n"
	    "reconcile-interval 7200\nlisten *:1\n", &c, err,
	    sizeof(err)) == 0 && roundtrip(&c),
	    "print: empty string, odd durations, listen on all");
	ok(parse("trusted-proxy 10.1.2.3/7\ntrusted-proxy ::ffff:1.2.3.4\n"
	    "trusted-proxy fe80::1/127\n", &c, err, sizeof(err)) == 0 &&
	    roundtrip(&c), "print: proxies with host bits and v4-mapped");

	/* Bare words come back quoted; they must still fit on a line. */
	s = repeat("cors-origin ", "o", CONF_LINE_MAX - 12, "\n");
	ok(parse(s, &c, err, sizeof(err)) == 0 && roundtrip(&c),
	    "print: a bare word that fills a line reads back the same");
	free(s);
	s = repeat("www /", "w", CONF_LINE_MAX - 5, "\n");
	ok(parse(s, &c, err, sizeof(err)) == 0 && roundtrip(&c),
	    "print: a bare path that fills a line reads back the same");
	free(s);
	s = repeat("cors-origin \"", "\\\"", (CONF_LINE_MAX - 14) / 2, "\"\n");
	ok(parse(s, &c, err, sizeof(err)) == 0 && roundtrip(&c),
	    "print: a quoted string of escapes that fills a line");
	free(s);
}

static void
test_cidr(void)
{
	static const struct cidr_case	 cases[] = {
		{ "0.0.0.0/0", "1.2.3.4", 1 },
		{ "0.0.0.0/0", "255.255.255.255", 1 },
		{ "0.0.0.0/0", "::1", 0 },
		{ "10.0.0.0/8", "10.255.0.1", 1 },
		{ "10.0.0.0/8", "11.0.0.0", 0 },
		{ "10.0.0.0/8", "9.255.255.255", 0 },
		{ "192.168.1.128/25", "192.168.1.200", 1 },
		{ "192.168.1.128/25", "192.168.1.127", 0 },
		{ "192.168.1.7/32", "192.168.1.7", 1 },
		{ "192.168.1.7", "192.168.1.6", 0 },
		{ "192.168.1.7", "192.168.1.8", 0 },
		{ "192.168.1.7", "::ffff:192.168.1.7", 0 },
		{ "::/0", "2001:db8::1", 1 },
		{ "::/0", "0.0.0.0", 0 },
		{ "fd00::/8", "fdff:ffff::1", 1 },
		{ "fd00::/8", "fe00::", 0 },
		{ "fd00::/127", "fd00::", 1 },
		{ "fd00::/127", "fd00::1", 1 },
		{ "fd00::/127", "fd00::2", 0 },
		{ "::1/128", "::1", 1 },
		{ "::1", "::", 0 },
		{ "::1", "::3", 0 },
		{ "::1", "8000::1", 0 },
	};
	struct cidr	 c;
	uint8_t			 addr[16];
	char			 buf[64];
	size_t			 i;
	int			 af;

	for (i = 0; i < nitems(cases); i++) {
		af = strchr(cases[i].addr, ':') ? AF_INET6 : AF_INET;
		if (cidr_parse(cases[i].cidr, &c) == -1 ||
		    inet_pton(af, cases[i].addr, addr) != 1)
			bail(cases[i].cidr);
		ok(cidr_match(&c, af, addr) == cases[i].match,
		    "cidr: %s %s %s", cases[i].addr,
		    cases[i].match ? "in" : "not in", cases[i].cidr);
	}
	ok(cidr_parse("10.0.0.0/8/8", &c) == -1 &&
	    cidr_parse("/8", &c) == -1 &&
	    cidr_parse("", &c) == -1 &&
	    cidr_parse("10.0.0.0/1234", &c) == -1,
	    "cidr: malformed prefixes refused");
	if (cidr_parse("fd00::1/127", &c) == -1)
		bail("cidr");
	cidr_format(&c, buf, sizeof(buf));
	ok(strcmp(buf, "fd00::1/127") == 0, "cidr: formats as %s", buf);
	config_format_duration(1500, buf, sizeof(buf));
	ok(strcmp(buf, "1500ms") == 0, "duration: 1500 formats as %s", buf);
	config_format_duration(7200000, buf, sizeof(buf));
	ok(strcmp(buf, "2h") == 0, "duration: 7200000 formats as %s", buf);
}

static void
test_file(void)
{
	struct dkd_config	 c, before;
	char			 dir[] = "/tmp/dk-test-conf.XXXXXX";
	char			 path[64], err[512], *big;
	FILE			 *fp;

	if (mkdtemp(dir) == NULL)
		bail("mkdtemp");
	(void)snprintf(path, sizeof(path), "%s/dkd.conf", dir);
	config_defaults(&c);
	before = c;
	ok(config_parse_file(&c, path, err, sizeof(err)) == -1 &&
	    strncmp(err, path, strlen(path)) == 0 &&
	    strstr(err, strerror(ENOENT)) != NULL &&
	    memcmp(&c, &before, sizeof(c)) == 0,
	    "file: a missing file: \"%s\"", err);
	ok(config_parse_file(&c, dir, err, sizeof(err)) == -1 &&
	    strncmp(err, dir, strlen(dir)) == 0 &&
	    memcmp(&c, &before, sizeof(c)) == 0,
	    "file: a directory: \"%s\"", err);

	if ((fp = fopen(path, "w")) == NULL)
		bail("fopen");
	fputs("log-level warn\nbogus\n", fp);
	fclose(fp);
	ok(config_parse_file(&c, path, err, sizeof(err)) == -1 &&
	    strncmp(err, path, strlen(path)) == 0 &&
	    strncmp(err + strlen(path), ":2: unknown setting \"bogus\"",
	    27) == 0, "file: errors carry the path and line: \"%s\"", err);

	/* 15 + 2 * 32760 + 1 bytes */
	big = repeat("log-level warn\n", "#\n", (CONF_FILE_MAX - 16) / 2, "#");
	if ((fp = fopen(path, "w")) == NULL)
		bail("fopen");
	fputs(big, fp);
	fclose(fp);
	ok(config_parse_file(&c, path, err, sizeof(err)) == 0 &&
	    c.log_level == LOG_LEVEL_WARN, "file: 64 KiB exactly is fine");
	if ((fp = fopen(path, "a")) == NULL)
		bail("fopen");
	fputc('\n', fp);
	fclose(fp);
	ok(config_parse_file(&c, path, err, sizeof(err)) == -1 &&
	    strstr(err, "larger than") != NULL,
	    "file: one byte more is refused: \"%s\"", err);
	free(big);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	plan(155);
	test_defaults();
	test_full();
	test_listen();
	test_durations();
	test_log_sizes();
	test_values();
	test_proxies();
	test_bad();
	test_untouched();
	test_roundtrip();
	test_cidr();
	test_file();
	return (done_testing());
}
