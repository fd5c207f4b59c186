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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "dkctl.h"
#include "dkd_imsg.h"
#include "imsg.h"
#include "wire.h"

#define DKCTL_SOCKET	"/run/deploykit/dkd.sock"

__dead static void	usage(void);
static int		 handle_status(struct imsg *, struct ctl_status *);

static int	 json_output;

__dead static void
usage(void)
{
	fprintf(stderr, "usage: %s [-j] [-s socket] command [argument ...]\n",
	    getprogname());
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	struct parse_result	*res;
	struct imsgbuf		 ib;
	struct imsg		 imsg;
	struct ctl_status	 st;
	struct wbuf		 wb;
	struct rbuf		 r;
	const char		*sockname = DKCTL_SOCKET;
	char			*msg;
	int			 ch, fd, n, done = 0, rv = 0;
	uint32_t		 type = 0;

	while ((ch = getopt(argc, argv, "js:")) != -1) {
		switch (ch) {
		case 'j':
			json_output = 1;
			break;
		case 's':
			sockname = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if ((res = parse(argc, argv)) == NULL)
		exit(1);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sockname, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "socket name too long: %s", sockname);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "connect: %s", sockname);
	if (imsgbuf_init(&ib, fd) == -1 ||
	    imsgbuf_set_maxsize(&ib, DKD_IMSG_MAX_CONTROL) == -1)
		err(1, "imsgbuf_init");

	wbuf_init(&wb, DKD_IMSG_MAX_CONTROL);
	switch (res->action) {
	case STATUS:
		type = IMSG_CTL_STATUS;
		break;
	case RELOAD:
		type = IMSG_CTL_RELOAD;
		break;
	case LOG_VERBOSE:
	case LOG_BRIEF:
		type = IMSG_CTL_LOG;
		wire_put_u8(&wb, res->action == LOG_VERBOSE);
		break;
	case NONE:
		usage();
	}
	if (imsg_compose(&ib, type, DKD_CTL_VERSION, 0, -1, wb.buf,
	    wb.len) == -1)
		err(1, "imsg_compose");
	wbuf_free(&wb);
	if (imsgbuf_flush(&ib) == -1)
		err(1, "write");

	memset(&st, 0, sizeof(st));
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
			case IMSG_CTL_OK:
				if (!json_output)
					printf("command succeeded\n");
				done = 1;
				break;
			case IMSG_CTL_FAIL:
				msg = wire_get_str(&r, DKD_STR_MAX);
				fprintf(stderr, "command failed: %s\n",
				    msg != NULL ? msg : "(no reason)");
				free(msg);
				rv = 1;
				done = 1;
				break;
			case IMSG_CTL_END:
				if (res->action == STATUS) {
					if (json_output)
						output_status_json(&st,
						    time(NULL));
					else
						output_status(&st, time(NULL));
				}
				done = 1;
				break;
			default:
				if (handle_status(&imsg, &st) == -1)
					errx(1, "unexpected reply from dkd "
					    "(type %u)", imsg.hdr.type);
				break;
			}
			imsg_free(&imsg);
			if (done)
				break;
		}
	}
	close(fd);
	return (rv);
}

static int
handle_status(struct imsg *imsg, struct ctl_status *st)
{
	struct ctl_proc	*p;
	struct rbuf	 r;

	rbuf_init(&r, imsg->data, imsg->len);
	switch (imsg->hdr.type) {
	case IMSG_CTL_PROC:
		if (st->nprocs == (int)(sizeof(st->procs) /
		    sizeof(st->procs[0])))
			return (-1);
		p = &st->procs[st->nprocs++];
		wire_get_strbuf(&r, p->name, sizeof(p->name));
		p->pid = wire_get_i64(&r);
		p->started = wire_get_i64(&r);
		p->restarts = wire_get_u32(&r);
		wire_get_strbuf(&r, p->state, sizeof(p->state));
		break;
	case IMSG_CTL_DB:
		wire_get_strbuf(&r, st->db_path, sizeof(st->db_path));
		st->db_size = wire_get_i64(&r);
		st->db_version = wire_get_u32(&r);
		break;
	case IMSG_CTL_DOCKER:
		st->docker_reachable = wire_get_bool(&r);
		wire_get_strbuf(&r, st->docker_server,
		    sizeof(st->docker_server));
		wire_get_strbuf(&r, st->docker_api, sizeof(st->docker_api));
		wire_get_strbuf(&r, st->docker_error,
		    sizeof(st->docker_error));
		st->docker_checked = wire_get_i64(&r);
		break;
	default:
		return (-1);
	}
	return (wire_done(&r));
}
