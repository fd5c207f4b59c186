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
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

static int	ibuf_rfd_push(struct imsgbuf *, int);
static int	ibuf_rfd_pop(struct imsgbuf *);
static void	ibuf_free(struct ibuf *);
static void	ibuf_drain(struct imsgbuf *, size_t);

int
imsgbuf_init(struct imsgbuf *ib, int fd)
{
	memset(ib, 0, sizeof(*ib));
	ib->fd = fd;
	ib->pid = getpid();
	ib->maxsize = IMSG_MAXSIZE_DEFAULT;
	ib->maxqueue = 4 * 1024 * 1024;
	TAILQ_INIT(&ib->wq);
	ib->rsize = IMSG_READ_SIZE;
	if ((ib->rbuf = malloc(ib->rsize)) == NULL)
		return (-1);
	return (0);
}

/*
 * A channel refuses descriptors in both directions until told otherwise,
 * so one that no message needs an fd on cannot be used to smuggle one.
 */
void
imsgbuf_allow_fdpass(struct imsgbuf *ib, int dirs)
{
	ib->fdpass = dirs & (IMSG_FDPASS_SEND | IMSG_FDPASS_RECV);
}

int
imsgbuf_set_maxsize(struct imsgbuf *ib, size_t max)
{
	if (max < IMSG_HEADER_SIZE || max > (IMSG_FD_MARK - 1)) {
		errno = EINVAL;
		return (-1);
	}
	ib->maxsize = max;
	return (0);
}

void
imsgbuf_set_maxqueue(struct imsgbuf *ib, size_t max)
{
	ib->maxqueue = max;
}

uint32_t
imsgbuf_queuelen(struct imsgbuf *ib)
{
	return (ib->wq_len);
}

static int
ibuf_rfd_push(struct imsgbuf *ib, int fd)
{
	if (ib->nrfds == IMSG_MAX_PENDING_FDS) {
		close(fd);
		errno = EBADMSG;
		return (-1);
	}
	ib->rfds[ib->nrfds++] = fd;
	return (0);
}

static int
ibuf_rfd_pop(struct imsgbuf *ib)
{
	int	 fd;

	if (ib->nrfds == 0)
		return (-1);
	fd = ib->rfds[0];
	memmove(&ib->rfds[0], &ib->rfds[1],
	    (size_t)(ib->nrfds - 1) * sizeof(int));
	ib->nrfds--;
	return (fd);
}

/*
 * Read what the socket has.  1: progress or nothing yet (EAGAIN), 0: the
 * peer closed, -1: error.  Linux drops a passed descriptor silently when
 * we are out of descriptor slots and only says so with MSG_CTRUNC, so
 * that is an error on the channel, never a lost fd.  A channel that does
 * not receive descriptors offers no room for them: the kernel closes any
 * that come, says MSG_CTRUNC, and the channel is broken (EBADMSG).
 */
int
imsgbuf_read(struct imsgbuf *ib)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	ssize_t		 n;
	size_t		 i;
	int		 fd;

	if (ib->rlen == ib->rsize) {
		/* imsg_get grows the buffer for a long message first. */
		errno = ENOBUFS;
		return (-1);
	}
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = ib->rbuf + ib->rlen;
	iov.iov_len = ib->rsize - ib->rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (ib->fdpass & IMSG_FDPASS_RECV) {
		msg.msg_control = &cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
	}

again:
	if ((n = recvmsg(ib->fd, &msg, MSG_CMSG_CLOEXEC)) == -1) {
		if (errno == EINTR)
			goto again;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return (1);
		return (-1);
	}
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		if (cmsg->cmsg_len != CMSG_LEN(sizeof(int))) {
			/* More than one fd: close them all, keep none. */
			for (i = 0; CMSG_LEN((i + 1) * sizeof(int)) <=
			    cmsg->cmsg_len; i++) {
				memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
				    sizeof(fd));
				close(fd);
			}
			errno = EBADMSG;
			return (-1);
		}
		memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
		if (ibuf_rfd_push(ib, fd) == -1)
			return (-1);
	}
	if (msg.msg_flags & MSG_CTRUNC) {
		errno = (ib->fdpass & IMSG_FDPASS_RECV) ? EMSGSIZE : EBADMSG;
		return (-1);
	}
	if (n == 0)
		return (0);
	ib->rlen += (size_t)n;
	return (1);
}

/* Append bytes as if read from the socket: for tests and fuzzing. */
int
imsgbuf_feed(struct imsgbuf *ib, const void *data, size_t len)
{
	uint8_t	*p;
	size_t	 want;

	if (len > ib->rsize - ib->rlen) {
		want = ib->rlen + len;
		if (want > ib->maxsize + IMSG_READ_SIZE) {
			errno = ENOBUFS;
			return (-1);
		}
		if ((p = realloc(ib->rbuf, want)) == NULL)
			return (-1);
		ib->rbuf = p;
		ib->rsize = want;
	}
	memcpy(ib->rbuf + ib->rlen, data, len);
	ib->rlen += len;
	return (0);
}

/*
 * Take the next whole message out of the read buffer.  1: got one,
 * 0: need more bytes, -1: the stream is broken (bad length, missing fd).
 * The length is checked before anything is allocated.
 */
int
imsg_get(struct imsgbuf *ib, struct imsg *imsg)
{
	struct imsg_hdr	 hdr;
	uint8_t		*p;
	size_t		 len;

	memset(imsg, 0, sizeof(*imsg));
	imsg->fd = -1;
	if (ib->rlen < IMSG_HEADER_SIZE)
		return (0);
	memcpy(&hdr, ib->rbuf, sizeof(hdr));
	len = hdr.len & ~IMSG_FD_MARK;
	if (len < IMSG_HEADER_SIZE || len > ib->maxsize) {
		errno = ERANGE;
		return (-1);
	}
	if ((hdr.len & IMSG_FD_MARK) && !(ib->fdpass & IMSG_FDPASS_RECV)) {
		errno = EBADMSG;
		return (-1);
	}
	if (ib->rlen < len) {
		if (len > ib->rsize) {
			if ((p = realloc(ib->rbuf, len)) == NULL)
				return (-1);
			ib->rbuf = p;
			ib->rsize = len;
		}
		return (0);
	}
	if (hdr.len & IMSG_FD_MARK) {
		if ((imsg->fd = ibuf_rfd_pop(ib)) == -1) {
			errno = EBADMSG;
			return (-1);
		}
	}
	imsg->len = len - IMSG_HEADER_SIZE;
	/* One spare byte, so a payload read as a string is terminated. */
	if ((imsg->data = malloc(imsg->len + 1)) == NULL) {
		if (imsg->fd != -1)
			close(imsg->fd);
		imsg->fd = -1;
		return (-1);
	}
	memcpy(imsg->data, ib->rbuf + IMSG_HEADER_SIZE, imsg->len);
	((uint8_t *)imsg->data)[imsg->len] = '\0';
	imsg->hdr = hdr;
	imsg->hdr.len = (uint32_t)len;
	memmove(ib->rbuf, ib->rbuf + len, ib->rlen - len);
	ib->rlen -= len;
	/* Give back the memory of a long message once it is consumed. */
	if (ib->rsize > IMSG_READ_SIZE && ib->rlen <= IMSG_READ_SIZE) {
		if ((p = realloc(ib->rbuf, IMSG_READ_SIZE)) != NULL) {
			ib->rbuf = p;
			ib->rsize = IMSG_READ_SIZE;
		}
	}
	return (1);
}

/*
 * Queue a message.  On success the fd belongs to the queue and is closed
 * once sent; on failure the caller still owns it.  A full queue means the
 * peer does not keep up: ENOBUFS, and the caller decides.
 */
int
imsg_compose(struct imsgbuf *ib, uint32_t type, uint32_t peerid, pid_t pid,
    int fd, const void *data, size_t datalen)
{
	struct imsg_hdr	 hdr;
	struct ibuf	*buf;
	size_t		 len;

	if (datalen > ib->maxsize - IMSG_HEADER_SIZE) {
		errno = ERANGE;
		return (-1);
	}
	len = IMSG_HEADER_SIZE + datalen;
	if (fd != -1 && !(ib->fdpass & IMSG_FDPASS_SEND)) {
		errno = EINVAL;
		return (-1);
	}
	if (ib->wq_bytes + len > ib->maxqueue) {
		errno = ENOBUFS;
		return (-1);
	}
	if ((buf = calloc(1, sizeof(*buf))) == NULL)
		return (-1);
	if ((buf->buf = malloc(len)) == NULL) {
		free(buf);
		return (-1);
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = (uint32_t)len | (fd != -1 ? IMSG_FD_MARK : 0);
	hdr.peerid = peerid;
	hdr.pid = pid == 0 ? (uint32_t)ib->pid : (uint32_t)pid;
	memcpy(buf->buf, &hdr, sizeof(hdr));
	if (datalen > 0)
		memcpy(buf->buf + IMSG_HEADER_SIZE, data, datalen);
	buf->size = len;
	buf->fd = fd;
	TAILQ_INSERT_TAIL(&ib->wq, buf, entry);
	ib->wq_bytes += len;
	ib->wq_len++;
	return (1);
}

static void
ibuf_free(struct ibuf *buf)
{
	if (buf->fd != -1)
		close(buf->fd);
	free(buf->buf);
	free(buf);
}

static void
ibuf_drain(struct imsgbuf *ib, size_t n)
{
	struct ibuf	*buf;
	size_t		 left;

	while (n > 0 && (buf = TAILQ_FIRST(&ib->wq)) != NULL) {
		left = buf->size - buf->rpos;
		if (n < left) {
			buf->rpos += n;
			return;
		}
		n -= left;
		TAILQ_REMOVE(&ib->wq, buf, entry);
		ib->wq_bytes -= buf->size;
		ib->wq_len--;
		ibuf_free(buf);
	}
}

/*
 * Write as much of the queue as the socket takes.  0: fine (including a
 * partial write or a full socket buffer), -1: error (EPIPE: peer gone).
 * Batching stops before the next message that carries an fd, so every fd
 * goes out with the first byte of its own message and only once.
 */
int
imsgbuf_write(struct imsgbuf *ib)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct iovec	 iov[IOV_MAX];
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct ibuf	*buf, *first;
	ssize_t		 n;
	int		 i = 0, sendfd = -1;

	while ((first = TAILQ_FIRST(&ib->wq)) != NULL) {
		memset(&msg, 0, sizeof(msg));
		i = 0;
		sendfd = -1;
		TAILQ_FOREACH(buf, &ib->wq, entry) {
			if (i == IOV_MAX)
				break;
			if (buf != first && buf->fd != -1)
				break;
			iov[i].iov_base = buf->buf + buf->rpos;
			iov[i].iov_len = buf->size - buf->rpos;
			i++;
		}
		if (first->fd != -1) {
			sendfd = first->fd;
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = &cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			memcpy(CMSG_DATA(cmsg), &sendfd, sizeof(int));
		}
		msg.msg_iov = iov;
		msg.msg_iovlen = i;
		if ((n = sendmsg(ib->fd, &msg, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS)
				return (0);
			return (-1);
		}
		if (sendfd != -1) {
			/* The descriptor went out with these bytes: done. */
			close(first->fd);
			first->fd = -1;
		}
		ibuf_drain(ib, (size_t)n);
	}
	return (0);
}

/* Write everything, waiting as needed: for dkctl and at shutdown only. */
int
imsgbuf_flush(struct imsgbuf *ib)
{
	struct pollfd	 pfd;

	while (ib->wq_len > 0) {
		if (imsgbuf_write(ib) == -1)
			return (-1);
		if (ib->wq_len == 0)
			break;
		pfd.fd = ib->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			return (-1);
	}
	return (0);
}

void
imsgbuf_clear(struct imsgbuf *ib)
{
	struct ibuf	*buf;
	int		 fd;

	while ((buf = TAILQ_FIRST(&ib->wq)) != NULL) {
		TAILQ_REMOVE(&ib->wq, buf, entry);
		ibuf_free(buf);
	}
	ib->wq_bytes = 0;
	ib->wq_len = 0;
	while ((fd = ibuf_rfd_pop(ib)) != -1)
		close(fd);
	free(ib->rbuf);
	ib->rbuf = NULL;
	ib->rlen = ib->rsize = 0;
}

/* Copy the payload out only if it has exactly the expected size. */
int
imsg_get_data(struct imsg *imsg, void *data, size_t len)
{
	if (imsg->len != len) {
		errno = EBADMSG;
		return (-1);
	}
	if (len > 0)
		memcpy(data, imsg->data, len);
	return (0);
}

/* Hand the received fd to the caller, who now owns it. */
int
imsg_get_fd(struct imsg *imsg)
{
	int	 fd = imsg->fd;

	imsg->fd = -1;
	return (fd);
}

void
imsg_free(struct imsg *imsg)
{
	if (imsg->fd != -1)
		close(imsg->fd);
	imsg->fd = -1;
	free(imsg->data);
	imsg->data = NULL;
}
