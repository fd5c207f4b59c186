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
#include <sys/prctl.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "worker.h"

/* How long a new worker waits for its configuration. */
#define WORKER_CONFIG_TIMEOUT_MS	10000

struct worker	*worker;

static void	worker_dispatch_master(int, short, void *);
static int	worker_config_imsg(struct imsg *);
static void	worker_signal(int, short, void *);

/*
 * Common start: argv is "name [-d]" from the master.  Nothing here
 * trusts the environment; the master gave us a clean one.
 */
void
worker_init(struct worker *w, enum dkd_proc_id id, const char *name,
    int argc, char **argv)
{
	int	 ch, foreground = 0;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->name = name;
	w->listen_fd = -1;
	worker = w;

	while ((ch = getopt(argc, argv, "d")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		default:
			break;
		}
	}
	log_init(foreground, LOG_DAEMON);
	log_procinit(name);
	setproctitle_init(argc, argv, environ);
	setproctitle("-dkd: %s", name);

	/* The master is root, so are we until the sandbox. */
	if (fcntl(DKD_CHANNEL_FD, F_GETFD) == -1)
		fatalx("%s: no channel to the master on fd %d; "
		    "workers are started by dkd", name, DKD_CHANNEL_FD);
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);
	(void)signal(SIGUSR1, SIG_IGN);
	(void)signal(SIGCHLD, SIG_DFL);
}

/*
 * Block until the master has sent our whole configuration.  The master
 * speaks first and only once per start, so a plain blocking loop is fine.
 */
void
worker_config(void)
{
	struct imsgbuf	 ib;
	struct imsg	 imsg;
	struct pollfd	 pfd;
	int		 n, done = 0;

	if (imsgbuf_init(&ib, DKD_CHANNEL_FD) == -1 ||
	    imsgbuf_set_maxsize(&ib, DKD_IMSG_MAX_INTERNAL) == -1)
		fatal("%s: imsgbuf", __func__);
	imsgbuf_allow_fdpass(&ib, proc_fdpass(worker->id, worker->id));
	while (!done) {
		pfd.fd = DKD_CHANNEL_FD;
		pfd.events = POLLIN;
		if ((n = poll(&pfd, 1, WORKER_CONFIG_TIMEOUT_MS)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("%s: poll", __func__);
		}
		if (n == 0)
			fatalx("no configuration from the master");
		if ((n = imsgbuf_read(&ib)) == -1)
			fatal("%s: read", __func__);
		if (n == 0)
			fatalx("master went away during start");
		while (!done) {
			if ((n = imsg_get(&ib, &imsg)) == -1)
				fatal("%s: bad message from the master",
				    __func__);
			if (n == 0)
				break;
			if (imsg.hdr.type == IMSG_CFG_DONE)
				done = 1;
			else if (worker_config_imsg(&imsg) == -1)
				fatalx("%s: unexpected message type %u during "
				    "configuration", __func__, imsg.hdr.type);
			imsg_free(&imsg);
		}
	}
	/*
	 * The master may already have sent more (a ping, new settings after
	 * a reload): keep those bytes for the event loop.  No fd may come
	 * after the configuration.
	 */
	if (ib.nrfds != 0)
		fatalx("%s: unexpected descriptor after the configuration",
		    __func__);
	if (ib.rlen > 0) {
		if ((worker->early = malloc(ib.rlen)) == NULL)
			fatal("%s", __func__);
		memcpy(worker->early, ib.rbuf, ib.rlen);
		worker->nearly = ib.rlen;
	}
	imsgbuf_clear(&ib);
	if (!worker->sandbox.received)
		fatalx("%s: configuration without sandbox settings",
		    __func__);
}

static int
worker_config_imsg(struct imsg *imsg)
{
	struct sandbox_cfg	*sc = &worker->sandbox;
	struct rbuf		 r;

	rbuf_init(&r, imsg->data, imsg->len);
	switch (imsg->hdr.type) {
	case IMSG_CFG_SANDBOX:
		if (msg_sandbox_get(&r, sc) == -1)
			fatalx("%s: bad IMSG_CFG_SANDBOX", __func__);
		sc->received = 1;
		return (0);
	case IMSG_CFG_SETTINGS:
		if (settings_get(&r, &worker->settings) == -1)
			fatalx("%s: bad IMSG_CFG_SETTINGS", __func__);
		log_setlevel(worker->settings.log_level);
		return (0);
	case IMSG_CFG_LISTEN:
		if (imsg->len != 0 || imsg->fd == -1 || worker->listen_fd != -1)
			fatalx("%s: bad IMSG_CFG_LISTEN", __func__);
		worker->listen_fd = imsg_get_fd(imsg);
		return (0);
	}
	return (-1);
}

/* The event loop, once the role has set itself up and is sandboxed. */
void
worker_run(void)
{
	struct worker	*w = worker;
	int		 fl;

	if ((fl = fcntl(DKD_CHANNEL_FD, F_GETFL)) == -1 ||
	    fcntl(DKD_CHANNEL_FD, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("%s: fcntl", __func__);
	if (imsgev_init(&w->iev, w->base, DKD_CHANNEL_FD,
	    DKD_IMSG_MAX_INTERNAL, DKD_QUEUE_MAX_INTERNAL,
	    proc_fdpass(w->id, w->id), worker_dispatch_master, w) == -1)
		fatal("%s: imsgev_init", __func__);
	w->sigterm = evsignal_new(w->base, SIGTERM, worker_signal, w);
	w->sigint = evsignal_new(w->base, SIGINT, worker_signal, w);
	if (w->sigterm == NULL || w->sigint == NULL ||
	    evsignal_add(w->sigterm, NULL) == -1 ||
	    evsignal_add(w->sigint, NULL) == -1)
		fatalx("%s: signal events", __func__);
	if (w->nearly > 0) {
		if (imsgbuf_feed(&w->iev.ibuf, w->early, w->nearly) == -1)
			fatal("%s: imsgbuf_feed", __func__);
		free(w->early);
		w->early = NULL;
		w->nearly = 0;
		event_active(&w->iev.ev, EV_READ, 1);
	}
	if (imsgev_compose(&w->iev, IMSG_READY, 0, -1, NULL, 0) == -1)
		fatal("%s: compose", __func__);
	log_debug("%s: ready", w->name);
	event_base_dispatch(w->base);
	worker_exit(0);
}

__dead void
worker_exit(int status)
{
	if (worker->shutdown != NULL)
		worker->shutdown();
	exit(status);
}

static void
worker_signal(int sig, short event, void *arg)
{
	log_debug("%s: signal %d, exiting", worker->name, sig);
	worker_exit(0);
}

int
worker_send(uint32_t type, uint32_t peerid, int fd, struct wbuf *w)
{
	if (imsgev_compose_wire(&worker->iev, type, peerid, fd, w) == -1) {
		/* A master that cannot take our messages is lost to us. */
		if (errno == ENOBUFS)
			fatalx("channel to the master is full");
		return (-1);
	}
	return (0);
}

static void
worker_dispatch_master(int fd, short event, void *arg)
{
	struct worker	*w = arg;
	struct imsg	 imsg;
	struct rbuf	 r;
	struct wbuf	 wb;
	uint32_t	 seq, level;
	int		 n;

	if ((n = imsgev_io(&w->iev, event)) == -1)
		fatal("%s: channel to the master", __func__);
	if (n == 0) {
		/* Workers live only as long as their master. */
		log_debug("%s: master closed the channel", w->name);
		worker_exit(0);
	}
	for (;;) {
		if ((n = imsg_get(&w->iev.ibuf, &imsg)) == -1)
			fatal("%s: bad message from the master", __func__);
		if (n == 0)
			break;
		rbuf_init(&r, imsg.data, imsg.len);
		switch (imsg.hdr.type) {
		case IMSG_PING:
			seq = wire_get_u32(&r);
			if (wire_done(&r) == -1)
				fatalx("%s: bad IMSG_PING", __func__);
			wbuf_init(&wb, 8);
			wire_put_u32(&wb, seq);
			if (worker_send(IMSG_PONG, 0, -1, &wb) == -1)
				fatal("%s: compose", __func__);
			wbuf_free(&wb);
			break;
		case IMSG_LOG_LEVEL:
			level = wire_get_u32(&r);
			if (wire_done(&r) == -1 || level > LOG_LEVEL_DEBUG)
				fatalx("%s: bad IMSG_LOG_LEVEL", __func__);
			log_setlevel((int)level);
			break;
		case IMSG_CFG_SETTINGS:
			if (settings_get(&r, &w->settings) == -1)
				fatalx("%s: bad IMSG_CFG_SETTINGS", __func__);
			log_setlevel(w->settings.log_level);
			if (w->reconfigure != NULL)
				w->reconfigure();
			break;
		default:
			if (w->dispatch == NULL || w->dispatch(&imsg) == -1)
				fatalx("%s: unexpected message type %u from "
				    "the master", __func__, imsg.hdr.type);
			break;
		}
		imsg_free(&imsg);
	}
	imsgev_add(&w->iev);
}
