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
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "compat.h"
#include "dkctl.h"
#include "dkd_imsg.h"
#include "imsg.h"
#include "logtime.h"
#include "ops.h"
#include "tval.h"
#include "util.h"
#include "wire.h"

/*
 * dkctl logs, in the manner of docker logs: the master checks the
 * service and hands us, over the control socket, a socket that
 * dkd-logd writes the service's log events into (the same events that
 * dkd-api sends browsers).  The lines go to our standard output or
 * standard error, as they went to the container's.
 *
 * Passing the socket rather than having the master relay the lines
 * keeps the master, which is root and runs everything else, out of
 * the way of a stream of any size; the control socket carries one
 * descriptor, one way, in answer to one request of root.
 */

#define LOGS_EVENT_MAX	(1024 * 1024)	/* logd's are well below */

__dead static void	logs_usage(void);
static int		logs_since(const char *, char *, size_t);
static int		logs_open(const char *, struct op_args *);
static int		logs_copy(int, int);

__dead static void
logs_usage(void)
{
	fprintf(stderr, "usage: %s logs [-ft] [-n lines] [-q text] "
	    "[-s since] project/service\n", getprogname());
	exit(1);
}

/*
 * RFC 3339, Unix seconds, or a duration back from now (30s, 10m, 2h,
 * 1d), as docker logs --since takes it: into RFC 3339.
 */
static int
logs_since(const char *s, char *out, size_t len)
{
	const char	*errstr;
	char		*end;
	int64_t		 ns;
	long long	 n;
	int64_t		 mul;

	if (logtime_parse(s, strlen(s), &ns) == 0) {
		strlcpy(out, s, len);
		return (0);
	}
	n = strtonum(s, 0, 1LL << 40, &errstr);
	if (errstr == NULL)
		ns = n * 1000000000LL;
	else {
		errno = 0;
		n = strtoll(s, &end, 10);
		if (errno != 0 || end == s || n < 0 || n > 1LL << 30 ||
		    end[0] == '\0' || end[1] != '\0')
			return (-1);
		switch (*end) {
		case 's':
			mul = 1;
			break;
		case 'm':
			mul = 60;
			break;
		case 'h':
			mul = 3600;
			break;
		case 'd':
			mul = 86400;
			break;
		default:
			return (-1);
		}
		ns = logtime_now() - n * mul * 1000000000LL;
	}
	if (ns <= 0)
		return (-1);
	logtime_format(ns, out);
	return (0);
}

int
logs_main(int argc, char *argv[], const char *sockname)
{
	struct op_args	 a;
	char		 since[LOGTIME_LEN + 1], tail[32], *slash;
	const char	*errstr;
	int		 ch, fd, follow = 0, timestamps = 0, rv;

	memset(&a, 0, sizeof(a));
	strlcpy(tail, "all", sizeof(tail));
	optind = 0;
	while ((ch = getopt(argc, argv, "+fn:q:s:t")) != -1) {
		switch (ch) {
		case 'f':
			follow = 1;
			break;
		case 'n':
			(void)strtonum(optarg, 1, 1000000000, &errstr);
			if (errstr != NULL && strcmp(optarg, "all") != 0)
				errx(1, "-n %s: a number of lines, or all",
				    optarg);
			strlcpy(tail, optarg, sizeof(tail));
			break;
		case 'q':
			if (op_args_set_str(&a, LOGS_Q, optarg) == -1)
				err(1, "%s", __func__);
			break;
		case 's':
			if (logs_since(optarg, since, sizeof(since)) == -1)
				errx(1, "-s %s: a time (RFC 3339 or Unix "
				    "seconds) or a duration (30s, 10m, 2h, 1d)",
				    optarg);
			if (op_args_set_str(&a, LOGS_SINCE, since) == -1)
				err(1, "%s", __func__);
			break;
		case 't':
			timestamps = 1;
			break;
		default:
			logs_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1 || (slash = strrchr(argv[0], '/')) == NULL ||
	    slash == argv[0] || slash[1] == '\0')
		logs_usage();
	*slash = '\0';
	if (op_args_set_str(&a, LOGS_PID, argv[0]) == -1 ||
	    op_args_set_str(&a, LOGS_SID, slash + 1) == -1 ||
	    op_args_set_str(&a, LOGS_TAIL, tail) == -1 ||
	    op_args_set_str(&a, LOGS_FOLLOW, follow ? "1" : "0") == -1)
		err(1, "%s", __func__);
	if ((fd = logs_open(sockname, &a)) == -1)
		return (1);
	rv = logs_copy(fd, timestamps);
	close(fd);
	return (rv);
}

/* The failure the master answered with: its message. */
static void
logs_refused(uint32_t status, struct rbuf *r)
{
	struct tval	 v;
	const char	*msg = NULL;
	uint32_t	 n, i;

	n = wire_get_u32(r);
	for (i = 0; i < n && !r->error; i++) {
		free(wire_get_str(r, DKD_STR_MAX));
		free(wire_get_str(r, DKD_STR_MAX));
	}
	memset(&v, 0, sizeof(v));
	if (!r->error && r->off < r->len &&
	    tval_decode(r, &v, 64) == 0)
		msg = tval_str(&v, "message");
	fprintf(stderr, "command failed: %s\n", msg != NULL ? msg :
	    "(no reason given)");
	tval_free(&v);
	(void)status;
}

/* LOGS_OPEN over the control socket: the viewer's socket, or -1. */
static int
logs_open(const char *sockname, struct op_args *a)
{
	const struct op_spec	*spec = op_spec(OP_LOGS_OPEN);
	struct sockaddr_un	 sun;
	struct imsgbuf		 ib;
	struct imsg		 imsg;
	struct wbuf		 wb;
	struct rbuf		 r;
	uint32_t		 status;
	int			 s, n, i, fd = -1, done = 0, ok = 0;

	for (i = 0; i < spec->nfields; i++)
		if (a->present[i] && (strlen(a->str[i]) >
		    spec->fields[i].max ||
		    !utf8_valid(a->str[i], strlen(a->str[i]))))
			errx(1, "%s is too long or not UTF-8",
			    spec->fields[i].name);
	wbuf_init(&wb, DKD_IMSG_MAX_CONTROL);
	wire_put_u32(&wb, OP_LOGS_OPEN);
	op_args_put(&wb, spec, a);
	op_args_clear(a);
	if (wb.error)
		errx(1, "request too large");

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sockname, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "socket name too long: %s", sockname);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "connect: %s", sockname);
	if (imsgbuf_init(&ib, s) == -1 ||
	    imsgbuf_set_maxsize(&ib, DKD_IMSG_MAX_CONTROL) == -1)
		err(1, "imsgbuf_init");
	/* The one descriptor that may come our way. */
	imsgbuf_allow_fdpass(&ib, IMSG_FDPASS_RECV);
	if (imsg_compose(&ib, IMSG_CTL_REQUEST, DKD_CTL_VERSION, 0, -1,
	    wb.buf, wb.len) == -1 || imsgbuf_flush(&ib) == -1)
		err(1, "write");
	wbuf_free(&wb);
	while (!done) {
		if ((n = imsgbuf_read(&ib)) == -1)
			err(1, "read");
		if (n == 0)
			errx(1, "dkd closed the connection");
		for (;;) {
			if ((n = imsg_get(&ib, &imsg)) == -1)
				errx(1, "malformed reply from dkd");
			if (n == 0)
				break;
			rbuf_init(&r, imsg.data, imsg.len);
			switch (imsg.hdr.type) {
			case IMSG_CTL_LOGS:
				if (imsg.fd == -1 || fd != -1)
					errx(1, "malformed reply from dkd");
				fd = imsg_get_fd(&imsg);
				break;
			case IMSG_CTL_RESPONSE:
				status = wire_get_u32(&r);
				if (status == 200 && fd != -1)
					ok = 1;
				else if (status == 200)
					errx(1, "no log stream from dkd");
				else
					logs_refused(status, &r);
				done = 1;
				break;
			case IMSG_CTL_FAIL:
				free(wire_get_str(&r, DKD_STR_MAX));
				fprintf(stderr, "command failed\n");
				done = 1;
				break;
			default:
				errx(1, "unexpected reply from dkd (type %u)",
				    imsg.hdr.type);
			}
			imsg_free(&imsg);
			if (done)
				break;
		}
	}
	imsgbuf_clear(&ib);
	close(s);
	if (!ok && fd != -1) {
		close(fd);
		fd = -1;
	}
	return (fd);
}

/* One event of logd: print a line; 1 at the end, -1 when dropped. */
static int
logs_event(char *ev, int timestamps)
{
	const char	*p_line[] = { "line", NULL };
	const char	*p_stream[] = { "stream", NULL };
	const char	*p_ts[] = { "timestamp", NULL };
	const char	*p_reason[] = { "reason", NULL };
	yajl_val	 v, line, stream, ts, reason;
	const char	*s;
	char		*data = NULL, *event = NULL, *l, *next, ebuf[128];
	FILE		*out;
	int		 rv = 0;

	for (l = ev; l != NULL; l = next) {
		if ((next = strchr(l, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(l, "data: ", 6) == 0)
			data = l + 6;
		else if (strncmp(l, "event: ", 7) == 0)
			event = l + 7;
	}
	if (event != NULL && strcmp(event, "end") == 0)
		return (1);
	if (data == NULL)
		return (0);
	if ((v = yajl_tree_parse(data, ebuf, sizeof(ebuf))) == NULL)
		errx(1, "malformed event from dkd");
	if (event != NULL && strcmp(event, "dropped") == 0) {
		reason = yajl_tree_get(v, p_reason, yajl_t_string);
		s = reason != NULL ? YAJL_GET_STRING(reason) : NULL;
		warnx("cut off by dkd: %s", s != NULL ? s : "too slow");
		rv = -1;
	} else if ((line = yajl_tree_get(v, p_line, yajl_t_string)) !=
	    NULL) {
		stream = yajl_tree_get(v, p_stream, yajl_t_string);
		s = stream != NULL ? YAJL_GET_STRING(stream) : NULL;
		out = s != NULL && strcmp(s, "stderr") == 0 ? stderr : stdout;
		ts = yajl_tree_get(v, p_ts, yajl_t_string);
		s = ts != NULL ? YAJL_GET_STRING(ts) : NULL;
		if (timestamps && s != NULL)
			fprintf(out, "%s ", s);
		s = YAJL_GET_STRING(line);
		fprintf(out, "%s\n", s != NULL ? s : "");
	}
	yajl_tree_free(v);
	return (rv);
}

/* logd's events until it ends them (0) or cuts us off (1). */
static int
logs_copy(int fd, int timestamps)
{
	char	*buf, *nbuf, *ev, *sep;
	size_t	 len = 0, cap = 65536;
	ssize_t	 n;
	int	 rv;

	if ((buf = malloc(cap + 1)) == NULL)
		err(1, "malloc");
	for (;;) {
		if (len == cap) {
			if (cap >= LOGS_EVENT_MAX)
				errx(1, "an event from dkd is too long");
			if ((nbuf = realloc(buf, cap * 2 + 1)) == NULL)
				err(1, "realloc");
			buf = nbuf;
			cap *= 2;
		}
		if ((n = read(fd, buf + len, cap - len)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "read");
		}
		if (n == 0) {
			free(buf);
			fflush(stdout);
			return (0);
		}
		len += (size_t)n;
		buf[len] = '\0';
		ev = buf;
		while ((sep = strstr(ev, "\n\n")) != NULL) {
			*sep = '\0';
			rv = logs_event(ev, timestamps);
			ev = sep + 2;
			if (rv != 0) {
				fflush(stdout);
				free(buf);
				return (rv == 1 ? 0 : 1);
			}
		}
		len -= (size_t)(ev - buf);
		memmove(buf, ev, len);
		fflush(stdout);
	}
}
