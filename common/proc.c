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
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "dkd_imsg.h"
#include "proc.h"

/* Which way descriptors travel on a worker's channel. */
#define FD_TO_WORKER	0x01
#define FD_TO_MASTER	0x02

/*
 * One table for both ends of every worker channel, so they cannot
 * disagree.  A channel not listed here carries no descriptor either way.
 */
static const int proc_fd_dirs[PROC_MAX] = {
	[PROC_API] =		FD_TO_WORKER,	/* IMSG_CFG_LISTEN,
						   IMSG_API_LOGS */
	[PROC_RECONCILER] =	FD_TO_MASTER,	/* IMSG_REC_LOGSTREAM */
	[PROC_LOGD] =		FD_TO_WORKER,	/* IMSG_LOGD_STREAM,
						   IMSG_LOGD_VIEW */
};

/*
 * The IMSG_FDPASS_* flags of one end of worker's channel: self is
 * PROC_MASTER for the master's end, the worker's own id for its end.
 */
int
proc_fdpass(enum dkd_proc_id worker, enum dkd_proc_id self)
{
	int	 dirs, out;

	if (worker <= PROC_MASTER || worker >= PROC_MAX)
		return (0);
	dirs = proc_fd_dirs[worker];
	out = self == PROC_MASTER ? FD_TO_WORKER : FD_TO_MASTER;
	return (((dirs & out) ? IMSG_FDPASS_SEND : 0) |
	    ((dirs & ~out) ? IMSG_FDPASS_RECV : 0));
}

/* fdpass: IMSG_FDPASS_* flags, 0 for a channel that carries no fd. */
int
imsgev_init(struct imsgev *iev, struct event_base *base, int fd,
    size_t maxsize, size_t maxqueue, int fdpass,
    void (*handler)(int, short, void *), void *data)
{
	memset(iev, 0, sizeof(*iev));
	if (imsgbuf_init(&iev->ibuf, fd) == -1)
		return (-1);
	if (imsgbuf_set_maxsize(&iev->ibuf, maxsize) == -1)
		return (-1);
	imsgbuf_set_maxqueue(&iev->ibuf, maxqueue);
	imsgbuf_allow_fdpass(&iev->ibuf, fdpass);
	iev->base = base;
	iev->handler = handler;
	iev->data = data;
	iev->events = EV_READ;
	iev->active = 1;
	event_assign(&iev->ev, base, fd, iev->events, handler, data);
	event_add(&iev->ev, NULL);
	return (0);
}

/* Re-arm: always readable, writable too while something is queued. */
void
imsgev_add(struct imsgev *iev)
{
	short	 events = EV_READ;

	if (!iev->active)
		return;
	if (imsgbuf_queuelen(&iev->ibuf) > 0)
		events |= EV_WRITE;
	if (events == iev->events && event_pending(&iev->ev, events, NULL))
		return;
	event_del(&iev->ev);
	iev->events = events;
	event_assign(&iev->ev, iev->base, iev->ibuf.fd, events, iev->handler,
	    iev->data);
	event_add(&iev->ev, NULL);
}

int
imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	if (!iev->active) {
		errno = EPIPE;
		return (-1);
	}
	if (imsg_compose(&iev->ibuf, type, peerid, 0, fd, data, len) == -1)
		return (-1);
	imsgev_add(iev);
	return (0);
}

int
imsgev_compose_wire(struct imsgev *iev, uint32_t type, uint32_t peerid,
    int fd, struct wbuf *w)
{
	if (w->error) {
		errno = w->error;
		return (-1);
	}
	return (imsgev_compose(iev, type, peerid, fd, w->buf, w->len));
}

/*
 * The I/O half of a dispatch callback.  1: go on and take messages,
 * 0: the peer closed the channel, -1: error (errno set).
 */
int
imsgev_io(struct imsgev *iev, short event)
{
	int	 n;

	if (event & EV_READ) {
		if ((n = imsgbuf_read(&iev->ibuf)) == -1)
			return (-1);
		if (n == 0)
			return (0);
	}
	if (event & EV_WRITE) {
		if (imsgbuf_write(&iev->ibuf) == -1) {
			if (errno == EPIPE || errno == ECONNRESET)
				return (0);
			return (-1);
		}
	}
	return (1);
}

void
imsgev_clear(struct imsgev *iev)
{
	if (!iev->active)
		return;
	event_del(&iev->ev);
	imsgbuf_clear(&iev->ibuf);
	close(iev->ibuf.fd);
	iev->ibuf.fd = -1;
	iev->active = 0;
}

/*
 * Start path with its channel on DKD_CHANNEL_FD and nothing else open
 * above stderr.  Between fork and exec only async-signal-safe calls.
 */
pid_t
proc_spawn(const char *path, char *const argv[], char *const envp[],
    int *fdp)
{
	struct sigaction sa;
	sigset_t	 set;
	pid_t		 pid;
	int		 sv[2], sig, fd;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) == -1)
		return (-1);
	switch ((pid = fork())) {
	case -1:
		close(sv[0]);
		close(sv[1]);
		return (-1);
	case 0:
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (sig = 1; sig < NSIG; sig++)
			(void)sigaction(sig, &sa, NULL);
		sigemptyset(&set);
		(void)sigprocmask(SIG_SETMASK, &set, NULL);
		if (sv[1] == DKD_CHANNEL_FD) {
			if (fcntl(sv[1], F_SETFD, 0) == -1)
				_exit(127);
		} else if (dup2(sv[1], DKD_CHANNEL_FD) == -1)
			_exit(127);
		/* The channel is blocking on the worker side until it asks. */
		if ((fd = fcntl(DKD_CHANNEL_FD, F_GETFL)) == -1 ||
		    fcntl(DKD_CHANNEL_FD, F_SETFL, fd & ~O_NONBLOCK) == -1)
			_exit(127);
		if (syscall(SYS_close_range, DKD_CHANNEL_FD + 1, ~0U, 0) == -1)
			for (fd = DKD_CHANNEL_FD + 1; fd < 1024; fd++)
				(void)close(fd);
		execve(path, argv, envp);
		_exit(127);
	}
	close(sv[1]);
	*fdp = sv[0];
	return (pid);
}
