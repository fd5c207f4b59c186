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

#include <readpassphrase.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "compat.h"
#include "dkctl.h"
#include "dkd_imsg.h"
#include "imsg.h"
#include "msg.h"
#include "ops.h"
#include "tree_json.h"
#include "util.h"
#include "wire.h"

#define DKCTL_SOCKET	"/run/deploykit/dkd.sock"

__dead static void	usage(void);
static void		 ctl_open(const char *);
static int		 handle_status(struct imsg *, struct ctl_status *);
static void		 read_password(char *, size_t);
static enum api_op	 build_request(struct parse_result *, struct op_args *);
static int		 request_output(struct parse_result *, struct reply *);

int			 json_output;
static struct imsgbuf	 ctl_ib;
static int		 ctl_fd = -1;

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
	struct parse_result	*res;
	struct imsg		 imsg;
	struct ctl_status	 st;
	struct op_args		 a;
	struct reply		 rep;
	struct wbuf		 wb;
	struct rbuf		 r;
	const char		*sockname = DKCTL_SOCKET;
	char			*msg;
	enum api_op		 op;
	int			 ch, n, done = 0, rv = 0;
	uint32_t		 type = 0;

	/* "+": options after the command are the command's (dkctl logs). */
	while ((ch = getopt(argc, argv, "+js:")) != -1) {
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
	/* Not in the keyword table: "lo" stays short for "log". */
	if (argc > 0 && strcmp(argv[0], "logs") == 0)
		return (logs_main(argc, argv, sockname));
	if ((res = parse(argc, argv)) == NULL)
		exit(1);

	/*
	 * Whatever has to be read from the user is read before connecting:
	 * dkd hangs up on a connection that stays idle.
	 */
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
	case EVENTS:
		type = IMSG_CTL_EVENTS;
		wire_put_str(&wb, res->nargs > 0 ? res->args[0] : "");
		break;
	case NONE:
		usage();
	case SHOW_SERVICES:
	case SHOW_DEPLOYMENTS:
	case SHOW_CONTAINERS:
	case PENDING:
	case APPLY:
	case DISCARD:
	case ENV_LIST:
	case ENV_SET:
	case ENV_UNSET:
	case ROLLBACK:
		wbuf_free(&wb);
		project_prepare(res);
		ctl_open(sockname);
		rv = project_run(res);
		imsgbuf_clear(&ctl_ib);
		close(ctl_fd);
		return (rv);
	default:
		/* One request, one answer. */
		wbuf_free(&wb);
		op = build_request(res, &a);
		args_check(op, &a);
		ctl_open(sockname);
		ctl_call(op, &a, &rep);
		op_args_clear(&a);
		rv = request_output(res, &rep);
		reply_free(&rep);
		imsgbuf_clear(&ctl_ib);
		close(ctl_fd);
		return (rv);
	}
	if (wb.error)
		errx(1, "request too large");

	ctl_open(sockname);
	if (imsg_compose(&ctl_ib, type, DKD_CTL_VERSION, 0, -1, wb.buf,
	    wb.len) == -1)
		err(1, "imsg_compose");
	wbuf_free(&wb);
	if (imsgbuf_flush(&ctl_ib) == -1)
		err(1, "write");

	memset(&st, 0, sizeof(st));
	while (!done) {
		if ((n = imsgbuf_read(&ctl_ib)) == -1)
			err(1, "read");
		if (n == 0)
			errx(1, "dkd closed the connection");
		for (;;) {
			if ((n = imsg_get(&ctl_ib, &imsg)) == -1)
				errx(1, "malformed reply from dkd");
			if (n == 0)
				break;
			rbuf_init(&r, imsg.data, imsg.len);
			switch (imsg.hdr.type) {
			case IMSG_CTL_OK:
				/* dkctl events: subscribed; now follow. */
				if (res->action == EVENTS)
					break;
				if (!json_output)
					printf("command succeeded\n");
				done = 1;
				break;
			case IMSG_CTL_EVENT:
				if (res->action != EVENTS ||
				    output_event(imsg.data, imsg.len,
				    json_output) == -1)
					errx(1, "malformed event from dkd");
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
	imsgbuf_clear(&ctl_ib);
	close(ctl_fd);
	return (rv);
}

static void
ctl_open(const char *sockname)
{
	struct sockaddr_un	 sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sockname, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "socket name too long: %s", sockname);
	if ((ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(ctl_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "connect: %s", sockname);
	if (imsgbuf_init(&ctl_ib, ctl_fd) == -1 ||
	    imsgbuf_set_maxsize(&ctl_ib, DKD_IMSG_MAX_CONTROL) == -1)
		err(1, "imsgbuf_init");
}

void
arg_set(struct op_args *a, int i, const char *s)
{
	if (op_args_set_str(a, i, s) == -1)
		err(1, "strdup");
}

/* Every string the daemon bounds or checks, dkctl checks first. */
void
args_check(enum api_op op, const struct op_args *a)
{
	const struct op_spec	*spec;
	int			 i;

	if ((spec = op_spec(op)) == NULL)
		errx(1, "no such request");
	for (i = 0; i < spec->nfields; i++) {
		if (!a->present[i] || a->str[i] == NULL)
			continue;
		if (strlen(a->str[i]) > spec->fields[i].max)
			errx(1, "%s is too long (at most %zu bytes)",
			    spec->fields[i].name, spec->fields[i].max);
		if (!utf8_valid(a->str[i], strlen(a->str[i])))
			errx(1, "%s is not valid UTF-8", spec->fields[i].name);
	}
}

/*
 * One IMSG_CTL_REQUEST (the op, then its fields in the order of ops.c)
 * and its answer, on the open connection.  A refusal of the control
 * socket itself ends dkctl; an HTTP-style error is the caller's.
 */
void
ctl_call(enum api_op op, struct op_args *a, struct reply *rep)
{
	const struct op_spec	*spec;
	const unsigned char	*buf;
	struct imsg		 imsg;
	struct wbuf		 wb;
	struct rbuf		 r;
	yajl_gen		 g;
	struct msg_reply	 m;
	char			 ebuf[256], *msg;
	size_t			 len;
	int			 got;

	memset(rep, 0, sizeof(*rep));
	args_check(op, a);
	spec = op_spec(op);
	wbuf_init(&wb, DKD_IMSG_MAX_CONTROL);
	wire_put_u32(&wb, op);
	op_args_put(&wb, spec, a);
	if (wb.error)
		errx(1, "request too large");
	if (imsg_compose(&ctl_ib, IMSG_CTL_REQUEST, DKD_CTL_VERSION, 0, -1,
	    wb.buf, wb.len) == -1)
		err(1, "imsg_compose");
	wbuf_free(&wb);
	if (imsgbuf_flush(&ctl_ib) == -1)
		err(1, "write");

	for (;;) {
		if ((got = imsg_get(&ctl_ib, &imsg)) == -1)
			errx(1, "malformed reply from dkd");
		if (got == 1)
			break;
		if ((got = imsgbuf_read(&ctl_ib)) == -1)
			err(1, "read");
		if (got == 0)
			errx(1, "dkd closed the connection");
	}
	rbuf_init(&r, imsg.data, imsg.len);
	if (imsg.hdr.type == IMSG_CTL_FAIL) {
		msg = wire_get_str(&r, DKD_STR_MAX);
		fprintf(stderr, "command failed: %s\n",
		    msg != NULL ? msg : "(no reason)");
		exit(1);
	}
	if (imsg.hdr.type != IMSG_CTL_RESPONSE)
		errx(1, "unexpected reply from dkd (type %u)", imsg.hdr.type);

	if (msg_reply_get(&r, &m) == -1)
		errx(1, "malformed reply from dkd");
	rep->status = m.status;
	if (m.tree_len == 0) {
		imsg_free(&imsg);
		return;
	}
	rbuf_init(&r, m.tree, m.tree_len);
	if ((g = yajl_gen_alloc(NULL)) == NULL)
		err(1, "yajl_gen_alloc");
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	if (json_output)
		yajl_gen_config(g, yajl_gen_beautify, 1);
	if (tree_to_json(&r, g) == -1 ||
	    yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
		errx(1, "malformed reply from dkd");
	imsg_free(&imsg);
	if ((rep->json = malloc(len + 1)) == NULL)
		err(1, "malloc");
	memcpy(rep->json, buf, len);
	rep->json[len] = '\0';
	rep->len = len;
	yajl_gen_free(g);
	if ((rep->v = yajl_tree_parse(rep->json, ebuf, sizeof(ebuf))) == NULL)
		errx(1, "malformed reply from dkd");
}

void
reply_free(struct reply *rep)
{
	if (rep->v != NULL)
		yajl_tree_free(rep->v);
	if (rep->json != NULL) {
		/* Env var values come this way. */
		explicit_bzero(rep->json, rep->len);
		free(rep->json);
	}
	memset(rep, 0, sizeof(*rep));
}

void
reply_print_json(const struct reply *rep)
{
	if (rep->json != NULL)
		fwrite(rep->json, 1, rep->len, stdout);
}

/* The daemon said no: its message and the fields it names, exit 1. */
__dead void
reply_fail(const struct reply *rep)
{
	yajl_val	 errs, l;
	const char	*msg;
	size_t		 k, j;

	if (rep->v == NULL)
		errx(1, "command failed (status %u)", rep->status);
	msg = json_str(rep->v, "message");
	fprintf(stderr, "command failed: %s\n", msg != NULL ? msg :
	    "(no reason given)");
	if ((errs = json_get(rep->v, "errors", yajl_t_object)) != NULL)
		for (k = 0; k < YAJL_GET_OBJECT(errs)->len; k++) {
			l = YAJL_GET_OBJECT(errs)->values[k];
			for (j = 0; YAJL_IS_ARRAY(l) &&
			    j < YAJL_GET_ARRAY(l)->len; j++)
				if (YAJL_IS_STRING(
				    YAJL_GET_ARRAY(l)->values[j]))
					fprintf(stderr, "  %s: %s\n",
					    YAJL_GET_OBJECT(errs)->keys[k],
					    YAJL_GET_STRING(
					    YAJL_GET_ARRAY(l)->values[j]));
		}
	exit(1);
}

static int
handle_status(struct imsg *imsg, struct ctl_status *st)
{
	struct rbuf	 r;

	rbuf_init(&r, imsg->data, imsg->len);
	switch (imsg->hdr.type) {
	case IMSG_CTL_PROC:
		if (st->nprocs == (int)(sizeof(st->procs) /
		    sizeof(st->procs[0])))
			return (-1);
		return (msg_proc_get(&r, &st->procs[st->nprocs++]));
	case IMSG_CTL_DB:
		return (msg_db_get(&r, &st->db));
	case IMSG_CTL_DOCKER:
		return (msg_docker_get(&r, &st->docker));
	case IMSG_CTL_QUEUE:
		st->queue_known = 1;
		return (msg_rec_queue_get(&r, &st->queue));
	default:
		return (-1);
	}
}

/* From the terminal, asked twice; else one line of standard input. */
static void
read_password(char *buf, size_t len)
{
	char	 again[1024];
	size_t	 n;

	if (isatty(STDIN_FILENO)) {
		if (readpassphrase("Password: ", buf, len, RPP_REQUIRE_TTY) ==
		    NULL ||
		    readpassphrase("Again: ", again, sizeof(again),
		    RPP_REQUIRE_TTY) == NULL)
			errx(1, "cannot read the password");
		if (strcmp(buf, again) != 0)
			errx(1, "the passwords differ");
		explicit_bzero(again, sizeof(again));
		return;
	}
	if (fgets(buf, (int)len, stdin) == NULL)
		errx(1, "no password on standard input");
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
}

/* The op and fields of a command that is a single request. */
static enum api_op
build_request(struct parse_result *res, struct op_args *a)
{
	char			*slash;
	char			 pw[1024];
	enum api_op		 op = OP_NONE;
	int			 i;

	memset(a, 0, sizeof(*a));
	switch (res->action) {
	case USER_ADD:
		op = OP_USERS_CREATE;
		read_password(pw, sizeof(pw));
		arg_set(a, USER_CREATE_EMAIL, res->args[0]);
		arg_set(a, USER_CREATE_NAME, res->args[1]);
		arg_set(a, USER_CREATE_PASSWORD, pw);
		if (res->nargs > 2)
			arg_set(a, USER_CREATE_ROLE, res->args[2]);
		explicit_bzero(pw, sizeof(pw));
		break;
	case USER_LIST:
		op = OP_USERS_LIST;
		a->present[USERS_LIMIT] = 1;
		a->num[USERS_LIMIT] = 100;
		break;
	case USER_PASSWD:
		op = OP_CTL_USER_PASSWD;
		read_password(pw, sizeof(pw));
		arg_set(a, CTL_EMAIL, res->args[0]);
		arg_set(a, CTL_VALUE, pw);
		explicit_bzero(pw, sizeof(pw));
		break;
	case USER_ROLE:
		op = OP_CTL_USER_ROLE;
		arg_set(a, CTL_EMAIL, res->args[0]);
		arg_set(a, CTL_VALUE, res->args[1]);
		break;
	case USER_DEL:
		op = OP_CTL_USER_DEL;
		arg_set(a, CTL_EMAIL, res->args[0]);
		break;
	case APIKEY_CREATE:
		op = OP_CTL_APIKEY_CREATE;
		for (i = 0; i < res->nargs && i < 3; i++)
			arg_set(a, CTL_APIKEY_EMAIL + i, res->args[i]);
		break;
	case APIKEY_LIST:
		op = OP_CTL_APIKEY_LIST;
		if (res->nargs > 0)
			arg_set(a, CTL_EMAIL, res->args[0]);
		break;
	case APIKEY_DEL:
		op = OP_CTL_APIKEY_DEL;
		arg_set(a, 0, res->args[0]);
		break;
	case SHOW_PROJECTS:
		op = OP_PROJECTS_LIST;
		a->present[LIST_LIMIT] = 1;
		a->num[LIST_LIMIT] = 100;
		break;
	case SETUP_TOKEN:
		op = OP_CTL_SETUP_TOKEN;
		break;
	case RECONCILE:
		/* [PROJECT[/SERVICE]], split at the last slash. */
		op = OP_CTL_RECONCILE;
		if (res->nargs == 0)
			break;
		if ((slash = strrchr(res->args[0], '/')) == NULL) {
			arg_set(a, CTL_RECONCILE_PROJECT, res->args[0]);
			break;
		}
		*slash++ = '\0';
		if (*res->args[0] == '\0' || *slash == '\0')
			errx(1, "expected PROJECT or PROJECT/SERVICE");
		arg_set(a, CTL_RECONCILE_PROJECT, res->args[0]);
		arg_set(a, CTL_RECONCILE_SERVICE, slash);
		break;
	default:
		break;
	}
	if (op_spec(op) == NULL)
		errx(1, "no such request");
	return (op);
}

/* Print the reply; 0 on success, 1 when the daemon said no. */
static int
request_output(struct parse_result *res, struct reply *rep)
{
	if (rep->status >= 400)
		reply_fail(rep);
	if (json_output && rep->json != NULL)
		reply_print_json(rep);
	else
		output_reply(res->action, rep->v, res);
	return (0);
}
