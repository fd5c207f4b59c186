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
 * The worker side of the configuration handshake (common/worker.c), in
 * a child process with a socketpair standing in for the master: the
 * worker must take its configuration, become ready, answer pings, and
 * keep messages that arrive together with the configuration instead of
 * losing them or dying.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "dkd_imsg.h"
#include "imsg.h"
#include "log.h"
#include "msg.h"
#include "sandbox.h"
#include "settings.h"
#include "tap.h"
#include "wire.h"
#include "worker.h"

static void
compose_wire(struct imsgbuf *ib, uint32_t type, struct wbuf *w)
{
	if (imsg_compose(ib, type, 0, 0, -1, w->buf, w->len) == -1)
		abort();
	wbuf_free(w);
}

/* The configuration a master sends, and what it may send right after. */
static void
send_config(struct imsgbuf *ib, pid_t master)
{
	struct dkd_config	 conf;
	struct dkd_settings	 s;
	struct sandbox_cfg	 sc;
	struct wbuf		 w;

	memset(&sc, 0, sizeof(sc));
	sc.uid = getuid();
	sc.gid = getgid();
	sc.extra_gid = (gid_t)-1;
	sc.master_pid = master;
	wbuf_init(&w, 4096);
	msg_sandbox_put(&w, &sc);
	compose_wire(ib, IMSG_CFG_SANDBOX, &w);
	config_defaults(&conf);
	settings_from_config(&s, &conf);
	wbuf_init(&w, 65536);
	settings_put(&w, &s);
	compose_wire(ib, IMSG_CFG_SETTINGS, &w);
	if (imsg_compose(ib, IMSG_CFG_DONE, 0, 0, -1, NULL, 0) == -1)
		abort();
	/* In the same write: a ping that must not be lost. */
	wbuf_init(&w, 16);
	wire_put_u32(&w, 4242);
	compose_wire(ib, IMSG_PING, &w);
}

/* IMSG_CFG_SANDBOX through its encoder and decoder (msg.c). */
static void
sandbox_codec(void)
{
	struct sandbox_cfg	 in, out;
	struct wbuf		 w;
	struct rbuf		 r;

	memset(&in, 0, sizeof(in));
	in.uid = 101;
	in.gid = 102;
	in.extra_gid = 103;
	strlcpy(in.chroot, "/var/lib/deploykit/logs", sizeof(in.chroot));
	in.master_pid = 4711;
	wbuf_init(&w, 4096);
	msg_sandbox_put(&w, &in);
	rbuf_init(&r, w.buf, w.len);
	ok(msg_sandbox_get(&r, &out) == 0 && out.uid == 101 &&
	    out.gid == 102 && out.extra_gid == 103 && out.master_pid == 4711 &&
	    strcmp(out.chroot, in.chroot) == 0 && !out.received,
	    "the sandbox configuration decodes as it was encoded");
	rbuf_init(&r, w.buf, w.len - 1);
	ok(msg_sandbox_get(&r, &out) == -1, "a cut one does not decode");
	wbuf_free(&w);
}

static int
next_msg(struct imsgbuf *ib, struct imsg *imsg)
{
	struct pollfd	 pfd;
	int		 n;

	for (;;) {
		if ((n = imsg_get(ib, imsg)) != 0)
			return (n);
		pfd.fd = ib->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 5000) <= 0)
			return (-1);
		if ((n = imsgbuf_read(ib)) <= 0)
			return (-1);
	}
}

static void
child(int fd)
{
	static struct worker	 w;
	static char		 a0[] = "test-worker", a1[] = "-d";
	char			*argv[] = { a0, a1, NULL };

	if (dup2(fd, DKD_CHANNEL_FD) == -1)
		_exit(90);
	worker_init(&w, PROC_LOGD, "test", 2, argv);
	worker_config();
	/* The jail as the master described it. */
	if (w.sandbox.uid != getuid() || w.sandbox.gid != getgid() ||
	    w.sandbox.extra_gid != (gid_t)-1 || w.sandbox.chroot[0] != '\0' ||
	    w.sandbox.master_pid != getppid())
		_exit(93);
	if ((w.base = event_base_new()) == NULL)
		_exit(91);
	worker_run();
	_exit(92);
}

int
main(void)
{
	struct imsgbuf	 ib;
	struct imsg	 imsg;
	struct rbuf	 r;
	pid_t		 pid;
	int		 sv[2], status, got_ready = 0, got_pong = 0;
	uint32_t	 seq = 0;

	plan(7);
	signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		bail("socketpair");
	fflush(stdout);
	if ((pid = fork()) == -1)
		bail("fork");
	if (pid == 0) {
		close(sv[0]);
		child(sv[1]);
	}
	close(sv[1]);
	if (imsgbuf_init(&ib, sv[0]) == -1 ||
	    imsgbuf_set_maxsize(&ib, DKD_IMSG_MAX_INTERNAL) == -1)
		bail("imsgbuf_init");
	send_config(&ib, getpid());
	ok(imsgbuf_flush(&ib) == 0, "configuration and a ping sent in one go");

	while ((!got_ready || !got_pong) && next_msg(&ib, &imsg) == 1) {
		if (imsg.hdr.type == IMSG_READY)
			got_ready = 1;
		else if (imsg.hdr.type == IMSG_PONG) {
			rbuf_init(&r, imsg.data, imsg.len);
			seq = wire_get_u32(&r);
			got_pong = wire_done(&r) == 0;
		}
		imsg_free(&imsg);
	}
	ok(got_ready, "the worker reports ready");
	ok(got_pong && seq == 4242, "the ping sent with the configuration is "
	    "answered (sequence %u)", seq);

	/* Closing the channel is how the master says goodbye. */
	close(sv[0]);
	imsgbuf_clear(&ib);
	ok(waitpid(pid, &status, 0) == pid, "the worker exits when the "
	    "master goes away");
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "with status 0, its jail as sent (status %d)", status);

	sandbox_codec();
	return (done_testing());
}
