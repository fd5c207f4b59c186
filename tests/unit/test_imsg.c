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
 * The imsg channel over real AF_UNIX stream sockets: framing, partial
 * reads and writes, descriptor passing and the ways a channel breaks.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "tap.h"

#define NMSGS		8
#define BIG_SIZE	(1024 * 1024 + 4099)

struct chan {
	int		 sv[2];
	struct imsgbuf	 w;	/* on sv[0] */
	struct imsgbuf	 r;	/* on sv[1] */
};

static void	chan_open(struct chan *, int);
static void	chan_close(struct chan *);
static int	pump(struct chan *, struct imsg *, int);
static void	free_all(struct imsg *, int);
static int	count_fds(void);
static int	fd_is_open(int);
static int	fd_says(int, const char *);
static void	xpipe(int [2], const char *);
static void	put_hdr(uint8_t *, uint32_t, uint32_t, uint32_t, uint32_t);
static uint8_t	pattern(int, size_t);
static size_t	msg_len(int);
static uint8_t	*encode_stream(size_t *, size_t *);
static int	check_msg(const struct imsg *, int);
static void	test_roundtrip(void);
static void	test_partial_read(void);
static void	test_partial_write(void);
static void	test_fdpass(void);
static int	mark_alone_refused(int);
static void	test_fdpass_refused(void);
static void	test_ctrunc(void);
static void	test_oversize(void);
static void	test_truncated(void);
static void	test_eof(void);

static void
chan_open(struct chan *c, int fdpass)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, c->sv) == -1)
		bail("socketpair");
	if (imsgbuf_init(&c->w, c->sv[0]) == -1 ||
	    imsgbuf_init(&c->r, c->sv[1]) == -1)
		bail("imsgbuf_init");
	/* As on our channels: the writer sends fds, the reader takes them. */
	if (fdpass) {
		imsgbuf_allow_fdpass(&c->w, IMSG_FDPASS_SEND);
		imsgbuf_allow_fdpass(&c->r, IMSG_FDPASS_RECV);
	}
}

static void
chan_close(struct chan *c)
{
	imsgbuf_clear(&c->w);
	imsgbuf_clear(&c->r);
	if (c->sv[0] != -1)
		close(c->sv[0]);
	if (c->sv[1] != -1)
		close(c->sv[1]);
}

/*
 * Move what c->w has queued over to c->r and take up to max messages out
 * of it.  The count, or -1 when the channel broke.
 */
static int
pump(struct chan *c, struct imsg *out, int max)
{
	struct pollfd	 pfd;
	struct imsg	 m;
	int		 n = 0, rounds, rv, got;

	for (rounds = 0; rounds < 1000000; rounds++) {
		if (imsgbuf_write(&c->w) == -1)
			return (-1);
		if ((rv = imsgbuf_read(&c->r)) == -1)
			return (-1);
		while ((got = imsg_get(&c->r, &m)) == 1) {
			if (n < max)
				out[n++] = m;
			else
				imsg_free(&m);
		}
		if (got == -1)
			return (-1);
		pfd.fd = c->sv[1];
		pfd.events = POLLIN;
		if (rv == 0 || (imsgbuf_queuelen(&c->w) == 0 &&
		    poll(&pfd, 1, 0) == 0))
			break;
	}
	return (n);
}

static void
free_all(struct imsg *m, int n)
{
	while (n-- > 0)
		imsg_free(&m[n]);
}

/* Open descriptors, not counting the one that reads the directory. */
static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		bail("opendir /proc/self/fd");
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n - 1);
}

static int
fd_is_open(int fd)
{
	return (fcntl(fd, F_GETFD) != -1);
}

/* Does fd (a pipe's read end) yield exactly s and then EOF? */
static int
fd_says(int fd, const char *s)
{
	char	 buf[64];
	ssize_t	 n;

	if (fd == -1)
		return (0);
	n = read(fd, buf, sizeof(buf));
	if (n != (ssize_t)strlen(s) || memcmp(buf, s, (size_t)n) != 0)
		return (0);
	return (read(fd, buf, sizeof(buf)) == 0);
}

/* A pipe holding s, write end closed. */
static void
xpipe(int p[2], const char *s)
{
	if (pipe(p) == -1)
		bail("pipe");
	if (write(p[1], s, strlen(s)) != (ssize_t)strlen(s))
		bail("write to pipe");
	close(p[1]);
	p[1] = -1;
}

static void
put_hdr(uint8_t *p, uint32_t type, uint32_t len, uint32_t peerid,
    uint32_t pid)
{
	struct imsg_hdr	 hdr;

	hdr.type = type;
	hdr.len = len;
	hdr.peerid = peerid;
	hdr.pid = pid;
	memcpy(p, &hdr, sizeof(hdr));
}

static uint8_t
pattern(int k, size_t i)
{
	return ((uint8_t)(k * 31 + (int)(i % 251) + (int)(i >> 8)));
}

/* Payload sizes of the stream: the edges of a header and of a read. */
static size_t
msg_len(int k)
{
	static const size_t	 lens[NMSGS] = {
		0, 1, 15, 16, 17, 1000, IMSG_READ_SIZE + 4464, 3
	};

	return (lens[k]);
}

/*
 * NMSGS messages as the library writes them, collected off a socket.
 * ends[k] is the offset of the last byte of message k.
 */
static uint8_t *
encode_stream(size_t *lenp, size_t *ends)
{
	struct imsgbuf	 ib;
	uint8_t		*stream, *payload;
	size_t		 total = 0, len = 0, i;
	ssize_t		 n;
	int		 sv[2], k;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		bail("socketpair");
	if (imsgbuf_init(&ib, sv[0]) == -1 ||
	    imsgbuf_set_maxsize(&ib, 128 * 1024) == -1)
		bail("imsgbuf_init");
	for (k = 0; k < NMSGS; k++) {
		if ((payload = malloc(msg_len(k) + 1)) == NULL)
			bail("malloc");
		for (i = 0; i < msg_len(k); i++)
			payload[i] = pattern(k, i);
		if (imsg_compose(&ib, 100 + (uint32_t)k, (uint32_t)k * 3,
		    1000 + k, -1, payload, msg_len(k)) != 1)
			bail("imsg_compose");
		free(payload);
		total += IMSG_HEADER_SIZE + msg_len(k);
		ends[k] = total - 1;
	}
	if ((stream = malloc(total)) == NULL)
		bail("malloc");
	for (k = 0; len < total; k++) {
		if (k > 100000 || imsgbuf_write(&ib) == -1)
			bail("imsgbuf_write");
		n = read(sv[1], stream + len, total - len);
		if (n == -1 && errno != EAGAIN)
			bail("read");
		if (n > 0)
			len += (size_t)n;
	}
	imsgbuf_clear(&ib);
	close(sv[0]);
	close(sv[1]);
	*lenp = total;
	return (stream);
}

/* Is m message k of encode_stream, header and payload? */
static int
check_msg(const struct imsg *m, int k)
{
	const uint8_t	*p = m->data;
	size_t		 i;

	if (k < 0 || k >= NMSGS || m->hdr.type != 100 + (uint32_t)k ||
	    m->hdr.peerid != (uint32_t)k * 3 ||
	    m->hdr.pid != 1000 + (uint32_t)k || m->len != msg_len(k) ||
	    m->hdr.len != IMSG_HEADER_SIZE + msg_len(k) || m->fd != -1)
		return (0);
	for (i = 0; i < m->len; i++)
		if (p[i] != pattern(k, i))
			return (0);
	return (1);
}

static void
test_roundtrip(void)
{
	struct chan	 c;
	struct imsg	 m;
	uint8_t		 big[3000], out[16];
	const char	*hello = "hello, world";
	size_t		 i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13);
	chan_open(&c, 0);
	ok(imsg_compose(&c.w, 42, 7, 1234, -1, hello, 12) == 1,
	    "roundtrip: compose returns 1");
	ok(imsg_compose(&c.w, 43, 8, 0, -1, NULL, 0) == 1,
	    "roundtrip: compose of an empty payload");
	ok(imsg_compose(&c.w, 44, UINT32_MAX, 99, -1, big, sizeof(big)) == 1,
	    "roundtrip: compose of 3000 bytes");
	ok(imsgbuf_queuelen(&c.w) == 3, "roundtrip: three messages queued");
	ok(imsgbuf_write(&c.w) == 0 && imsgbuf_queuelen(&c.w) == 0,
	    "roundtrip: one write sends the whole queue");
	ok(imsgbuf_read(&c.r) == 1 &&
	    c.r.rlen == 3 * IMSG_HEADER_SIZE + 12 + sizeof(big),
	    "roundtrip: one read takes all three messages");

	ok(imsg_get(&c.r, &m) == 1, "roundtrip: first message");
	ok(m.hdr.type == 42 && m.hdr.peerid == 7 && m.hdr.pid == 1234,
	    "roundtrip: type, peerid and pid intact");
	ok(m.len == 12 && m.hdr.len == IMSG_HEADER_SIZE + 12 &&
	    memcmp(m.data, hello, 12) == 0 &&
	    ((char *)m.data)[12] == '\0',
	    "roundtrip: payload intact and NUL-terminated");
	ok(m.fd == -1, "roundtrip: no fd on a message sent without one");
	ok(imsg_get_data(&m, out, 12) == 0 && memcmp(out, hello, 12) == 0,
	    "roundtrip: imsg_get_data with the exact size");
	errno = 0;
	ok(imsg_get_data(&m, out, 11) == -1 && errno == EBADMSG,
	    "roundtrip: imsg_get_data refuses another size (EBADMSG)");
	imsg_free(&m);

	ok(imsg_get(&c.r, &m) == 1 && m.hdr.type == 43 && m.hdr.peerid == 8,
	    "roundtrip: second message");
	ok(m.hdr.pid == (uint32_t)getpid(),
	    "roundtrip: pid 0 is sent as the sender's pid");
	ok(m.len == 0 && m.hdr.len == IMSG_HEADER_SIZE && m.data != NULL &&
	    ((char *)m.data)[0] == '\0',
	    "roundtrip: empty payload arrives empty");
	imsg_free(&m);

	ok(imsg_get(&c.r, &m) == 1 && m.hdr.type == 44 &&
	    m.hdr.peerid == UINT32_MAX && m.hdr.pid == 99,
	    "roundtrip: third message, peerid UINT32_MAX");
	ok(m.len == sizeof(big) && memcmp(m.data, big, sizeof(big)) == 0,
	    "roundtrip: 3000-byte payload intact");
	imsg_free(&m);
	ok(imsg_get(&c.r, &m) == 0, "roundtrip: then nothing more");
	ok(imsgbuf_read(&c.r) == 1 && c.r.rlen == 0,
	    "roundtrip: read with nothing to read returns 1");
	chan_close(&c);
}

static void
test_partial_read(void)
{
	struct imsgbuf	 ib;
	struct imsg	 m;
	uint8_t		*stream;
	size_t		 len, i, ends[NMSGS];
	int		 sv[2], next, early, bad, errs, rv, pass;

	stream = encode_stream(&len, ends);
	for (pass = 0; pass < 2; pass++) {
		const char	*how = pass == 0 ? "feed" : "socket";

		sv[0] = sv[1] = -1;
		if (pass == 1 && socketpair(AF_UNIX,
		    SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
			bail("socketpair");
		if (imsgbuf_init(&ib, sv[1]) == -1 ||
		    imsgbuf_set_maxsize(&ib, 128 * 1024) == -1)
			bail("imsgbuf_init");
		next = early = bad = errs = 0;
		for (i = 0; i < len; i++) {
			if (pass == 0)
				rv = imsgbuf_feed(&ib, &stream[i], 1) == 0;
			else
				rv = write(sv[0], &stream[i], 1) == 1 &&
				    imsgbuf_read(&ib) == 1 && ib.rlen > 0;
			if (!rv) {
				errs++;
				break;
			}
			while ((rv = imsg_get(&ib, &m)) == 1) {
				if (next >= NMSGS || i != ends[next])
					early++;
				if (!check_msg(&m, next))
					bad++;
				next++;
				imsg_free(&m);
			}
			if (rv == -1)
				errs++;
		}
		ok(errs == 0, "partial read (%s): %zu single bytes, no error",
		    how, len);
		ok(next == NMSGS, "partial read (%s): %d messages out of %d",
		    how, next, NMSGS);
		ok(early == 0,
		    "partial read (%s): each one only at its last byte", how);
		ok(bad == 0, "partial read (%s): in order, intact", how);
		ok(ib.rlen == 0 && ib.rsize == IMSG_READ_SIZE,
		    "partial read (%s): buffer empty and back to its size",
		    how);
		imsgbuf_clear(&ib);
		if (pass == 1) {
			close(sv[0]);
			close(sv[1]);
		}
	}
	free(stream);
}

static void
test_partial_write(void)
{
	struct chan	 c;
	struct imsg	 m;
	uint8_t		*big;
	size_t		 i;
	int		 sndbuf = 4096, rounds, got_big = 0, got_tail = 0;
	int		 big_ok = 0, tail_ok = 0, rv;

	if ((big = malloc(BIG_SIZE)) == NULL)
		bail("malloc");
	for (i = 0; i < BIG_SIZE; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 12));
	chan_open(&c, 0);
	if (setsockopt(c.sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)) == -1)
		bail("SO_SNDBUF");
	ok(imsgbuf_set_maxsize(&c.w, 4 * 1024 * 1024) == 0 &&
	    imsgbuf_set_maxsize(&c.r, 4 * 1024 * 1024) == 0,
	    "partial write: maxsize 4 MiB");
	ok(imsg_compose(&c.w, 1, 0, 0, -1, big, BIG_SIZE) == 1 &&
	    imsg_compose(&c.w, 2, 0, 0, -1, "tail", 4) == 1,
	    "partial write: 1 MiB message and a small one queued");
	ok(imsgbuf_write(&c.w) == 0,
	    "partial write: write on a small socket buffer returns 0");
	ok(imsgbuf_queuelen(&c.w) == 2 && TAILQ_FIRST(&c.w.wq)->rpos > 0 &&
	    TAILQ_FIRST(&c.w.wq)->rpos < BIG_SIZE,
	    "partial write: part sent, both messages still queued");
	for (rounds = 0; rounds < 100000 && !got_tail; rounds++) {
		if ((rv = imsgbuf_read(&c.r)) != 1)
			break;
		while (imsg_get(&c.r, &m) == 1) {
			if (m.hdr.type == 1 && !got_big && !got_tail) {
				got_big = 1;
				big_ok = m.len == BIG_SIZE &&
				    memcmp(m.data, big, BIG_SIZE) == 0;
			} else if (m.hdr.type == 2 && got_big) {
				got_tail = 1;
				tail_ok = m.len == 4 &&
				    memcmp(m.data, "tail", 4) == 0;
			}
			imsg_free(&m);
		}
		if (imsgbuf_write(&c.w) == -1)
			break;
	}
	ok(rounds > 10, "partial write: took %d write/read rounds", rounds);
	ok(got_big && big_ok, "partial write: 1 MiB payload byte for byte");
	ok(got_tail && tail_ok, "partial write: next message after it");
	ok(imsgbuf_queuelen(&c.w) == 0, "partial write: queue empty");
	chan_close(&c);
	free(big);
}

static void
test_fdpass(void)
{
	struct chan	 c;
	struct imsgbuf	 plain;
	struct imsg	 m[4];
	uint8_t		*big;
	int		 p1[2], p2[2], q[2], fd, n, n0, sndbuf = 4096;

	chan_open(&c, 1);
	xpipe(p1, "first pipe");
	xpipe(p2, "second pipe");
	ok(imsg_compose(&c.w, 1, 0, 0, -1, "a", 1) == 1 &&
	    imsg_compose(&c.w, 2, 0, 0, p1[0], "b", 1) == 1 &&
	    imsg_compose(&c.w, 3, 0, 0, -1, "c", 1) == 1 &&
	    imsg_compose(&c.w, 4, 0, 0, p2[0], NULL, 0) == 1,
	    "fdpass: four messages, two with an fd, queued");
	ok(imsgbuf_write(&c.w) == 0 && imsgbuf_queuelen(&c.w) == 0,
	    "fdpass: all written");
	ok(!fd_is_open(p1[0]) && !fd_is_open(p2[0]),
	    "fdpass: the sender's copies are closed once sent");
	n = pump(&c, m, 4);
	ok(n == 4, "fdpass: four messages received");
	if (n != 4)
		bail("fdpass: cannot go on");
	ok(m[0].fd == -1 && m[2].fd == -1,
	    "fdpass: messages sent without an fd have fd -1");
	ok(m[1].hdr.type == 2 && fd_says(m[1].fd, "first pipe"),
	    "fdpass: the first pipe arrives on its own message");
	ok(m[3].hdr.type == 4 && fd_says(m[3].fd, "second pipe"),
	    "fdpass: the second pipe arrives on its own message");
	fd = imsg_get_fd(&m[1]);
	ok(fd >= 0 && m[1].fd == -1 && imsg_get_fd(&m[1]) == -1,
	    "fdpass: imsg_get_fd hands the fd over once");
	imsg_free(&m[1]);
	ok(fd_is_open(fd), "fdpass: imsg_free leaves a claimed fd open");
	close(fd);
	fd = m[3].fd;
	n0 = count_fds();
	imsg_free(&m[3]);
	ok(count_fds() == n0 - 1 && !fd_is_open(fd),
	    "fdpass: imsg_free closes an unclaimed fd");
	free_all(m, 3);

	/* A compose that fails leaves the fd with the caller. */
	xpipe(q, "q");
	errno = 0;
	ok(imsg_compose(&c.w, 5, 0, 0, q[0], NULL,
	    c.w.maxsize - IMSG_HEADER_SIZE + 1) == -1 && errno == ERANGE &&
	    fd_is_open(q[0]),
	    "fdpass: an oversize compose fails (ERANGE), fd still open");
	imsgbuf_set_maxqueue(&c.w, 8);
	errno = 0;
	ok(imsg_compose(&c.w, 5, 0, 0, q[0], NULL, 0) == -1 &&
	    errno == ENOBUFS && fd_is_open(q[0]),
	    "fdpass: a compose on a full queue fails (ENOBUFS), fd open");
	imsgbuf_set_maxqueue(&c.w, 4 * 1024 * 1024);
	if (imsgbuf_init(&plain, -1) == -1)
		bail("imsgbuf_init");
	errno = 0;
	ok(imsg_compose(&plain, 5, 0, 0, q[0], NULL, 0) == -1 &&
	    errno == EINVAL && fd_is_open(q[0]),
	    "fdpass: compose with an fd on a channel without fd passing "
	    "fails (EINVAL), fd open");
	imsgbuf_clear(&plain);

	/* imsgbuf_clear closes fds still queued or received unclaimed. */
	ok(imsg_compose(&c.w, 6, 0, 0, q[0], NULL, 0) == 1,
	    "fdpass: fd queued");
	n0 = count_fds();
	imsgbuf_clear(&c.w);
	ok(count_fds() == n0 - 1 && !fd_is_open(q[0]),
	    "fdpass: imsgbuf_clear closes a queued fd");
	if (imsgbuf_init(&c.w, c.sv[0]) == -1)
		bail("imsgbuf_init");
	imsgbuf_allow_fdpass(&c.w, IMSG_FDPASS_SEND);
	xpipe(q, "q");
	if (imsg_compose(&c.w, 7, 0, 0, q[0], NULL, 0) != 1 ||
	    imsgbuf_write(&c.w) == -1)
		bail("compose");
	ok(imsgbuf_read(&c.r) == 1 && c.r.nrfds == 1,
	    "fdpass: fd received, not yet taken");
	n0 = count_fds();
	imsgbuf_clear(&c.r);
	ok(count_fds() == n0 - 1,
	    "fdpass: imsgbuf_clear closes a received, unclaimed fd");
	if (imsgbuf_init(&c.r, c.sv[1]) == -1)
		bail("imsgbuf_init");
	imsgbuf_allow_fdpass(&c.r, IMSG_FDPASS_RECV);

	/* Several fds received before any message is taken: FIFO. */
	xpipe(p1, "one");
	xpipe(p2, "two");
	xpipe(q, "three");
	if (imsg_compose(&c.w, 11, 0, 0, p1[0], NULL, 0) != 1 ||
	    imsg_compose(&c.w, 12, 0, 0, p2[0], NULL, 0) != 1 ||
	    imsg_compose(&c.w, 13, 0, 0, q[0], NULL, 0) != 1 ||
	    imsgbuf_write(&c.w) == -1)
		bail("compose");
	for (n = 0; n < 10 && c.r.nrfds < 3; n++)
		if (imsgbuf_read(&c.r) != 1)
			break;
	ok(c.r.nrfds == 3, "fdpass: three fds pending at once");
	for (n = 0; n < 3 && imsg_get(&c.r, &m[n]) == 1; n++)
		;
	ok(n == 3 && fd_says(m[0].fd, "one") && fd_says(m[1].fd, "two") &&
	    fd_says(m[2].fd, "three"),
	    "fdpass: they go to their messages in order");
	free_all(m, n);

	/* Each fd goes out with its message even when writes are partial. */
	if ((big = calloc(1, 300000)) == NULL)
		bail("calloc");
	if (setsockopt(c.sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)) == -1)
		bail("SO_SNDBUF");
	imsgbuf_set_maxsize(&c.w, 512 * 1024);
	imsgbuf_set_maxsize(&c.r, 512 * 1024);
	xpipe(p1, "big one");
	xpipe(p2, "small one");
	ok(imsg_compose(&c.w, 8, 0, 0, p1[0], big, 300000) == 1 &&
	    imsg_compose(&c.w, 9, 0, 0, -1, big, 50000) == 1 &&
	    imsg_compose(&c.w, 10, 0, 0, p2[0], "s", 1) == 1,
	    "fdpass: 300 KB message with an fd, 50 KB without, 1 byte with");
	n = pump(&c, m, 3);
	ok(n == 3 && m[0].hdr.type == 8 && m[0].len == 300000 &&
	    m[1].hdr.type == 9 && m[1].len == 50000 && m[2].hdr.type == 10,
	    "fdpass: all three arrive over partial writes");
	ok(n == 3 && fd_says(m[0].fd, "big one") && m[1].fd == -1 &&
	    fd_says(m[2].fd, "small one"),
	    "fdpass: each fd on its own message");
	free_all(m, n > 0 ? n : 0);
	free(big);
	chan_close(&c);
}

/* A header with the fd mark and no fd: does an end with dirs refuse it? */
static int
mark_alone_refused(int dirs)
{
	struct imsgbuf	 ib;
	struct imsg	 m;
	uint8_t		 hdr[IMSG_HEADER_SIZE];
	int		 refused;

	if (imsgbuf_init(&ib, -1) == -1)
		bail("imsgbuf_init");
	imsgbuf_allow_fdpass(&ib, dirs);
	put_hdr(hdr, 1, IMSG_HEADER_SIZE | IMSG_FD_MARK, 0, 0);
	imsgbuf_feed(&ib, hdr, sizeof(hdr));
	errno = 0;
	refused = imsg_get(&ib, &m) == -1 && errno == EBADMSG;
	imsgbuf_clear(&ib);
	return (refused);
}

static void
test_fdpass_refused(void)
{
	struct chan	 c;
	struct imsgbuf	 ib;
	char		 ch;
	int		 p[2], sp[2], n0;

	ok(mark_alone_refused(0),
	    "fd refused: the fd mark without fd passing is an error");
	ok(mark_alone_refused(IMSG_FDPASS_RECV),
	    "fd refused: the fd mark with no fd received is an error");
	ok(mark_alone_refused(IMSG_FDPASS_SEND),
	    "fd refused: the fd mark on a send-only end is an error");

	/* A real fd sent to a receiver that does not take fds. */
	chan_open(&c, 0);
	imsgbuf_allow_fdpass(&c.w, IMSG_FDPASS_SEND);
	xpipe(p, "unwanted");
	if (imsg_compose(&c.w, 1, 0, 0, p[0], NULL, 0) != 1 ||
	    imsgbuf_write(&c.w) == -1)
		bail("compose");
	n0 = count_fds();
	errno = 0;
	ok(imsgbuf_read(&c.r) == -1 && errno == EBADMSG,
	    "fd refused: a receiver without fd passing fails the read");
	ok(count_fds() == n0, "fd refused: and does not keep the fd");
	chan_close(&c);

	/*
	 * Sending is not receiving: an end that may send fds still refuses
	 * one that arrives.  The fd is one end of a socketpair; once the
	 * receiver has refused it, nobody holds it and the other end sees
	 * EOF, so it was closed and not parked anywhere.
	 */
	chan_open(&c, 0);
	imsgbuf_allow_fdpass(&c.w, IMSG_FDPASS_SEND);
	imsgbuf_allow_fdpass(&c.r, IMSG_FDPASS_SEND);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) == -1)
		bail("socketpair");
	if (imsg_compose(&c.w, 1, 0, 0, sp[0], "x", 1) != 1 ||
	    imsgbuf_write(&c.w) == -1)
		bail("compose");
	ok(!fd_is_open(sp[0]), "fd refused: the sender's copy went out");
	n0 = count_fds();
	errno = 0;
	ok(imsgbuf_read(&c.r) == -1 && errno == EBADMSG,
	    "fd refused: a send-only end fails the read of an fd (EBADMSG)");
	ok(count_fds() == n0 && c.r.nrfds == 0,
	    "fd refused: no descriptor added to the process (%d, %d)",
	    n0, count_fds());
	ok(read(sp[1], &ch, 1) == 0,
	    "fd refused: the refused fd is closed for good (peer sees EOF)");
	close(sp[1]);
	chan_close(&c);

	/* Receiving is not sending: a receive-only end cannot send one. */
	if (imsgbuf_init(&ib, -1) == -1)
		bail("imsgbuf_init");
	imsgbuf_allow_fdpass(&ib, IMSG_FDPASS_RECV);
	xpipe(p, "kept");
	n0 = count_fds();
	errno = 0;
	ok(imsg_compose(&ib, 1, 0, 0, p[0], NULL, 0) == -1 &&
	    errno == EINVAL && imsgbuf_queuelen(&ib) == 0,
	    "fd refused: compose with an fd on a receive-only end fails "
	    "(EINVAL), nothing queued");
	ok(fd_says(p[0], "kept") && count_fds() == n0,
	    "fd refused: and the caller still owns the fd");
	close(p[0]);
	imsgbuf_clear(&ib);
}

static void
test_ctrunc(void)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(2 * sizeof(int))];
	} cmsgbuf;
	struct chan	 c;
	struct rlimit	 old, low;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	uint8_t		 hdr[IMSG_HEADER_SIZE];
	int		 p[2], fds[2], lowest, rv, e, n0, n1;

	chan_open(&c, 1);
	xpipe(p, "lost?");
	if (imsg_compose(&c.w, 1, 0, 0, p[0], NULL, 0) != 1 ||
	    imsgbuf_write(&c.w) == -1)
		bail("compose");

	/* No free slot below the limit: the kernel cannot install it. */
	if ((lowest = fcntl(c.sv[0], F_DUPFD, 0)) == -1)
		bail("F_DUPFD");
	close(lowest);
	if (getrlimit(RLIMIT_NOFILE, &old) == -1)
		bail("getrlimit");
	low = old;
	low.rlim_cur = (rlim_t)lowest;
	ok(setrlimit(RLIMIT_NOFILE, &low) == 0,
	    "ctrunc: RLIMIT_NOFILE lowered to %d", lowest);
	errno = 0;
	rv = imsgbuf_read(&c.r);
	e = errno;
	if (setrlimit(RLIMIT_NOFILE, &old) == -1)
		bail("setrlimit");
	ok(rv == -1 && e == EMSGSIZE,
	    "ctrunc: read fails (EMSGSIZE) rather than lose the fd");
	chan_close(&c);

	/* A peer that sends two fds at once with one message. */
	chan_open(&c, 1);
	if (pipe(fds) == -1)
		bail("pipe");
	n0 = count_fds();
	put_hdr(hdr, 1, IMSG_HEADER_SIZE | IMSG_FD_MARK, 0, 0);
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = hdr;
	iov.iov_len = sizeof(hdr);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_len = CMSG_LEN(2 * sizeof(int));
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
	if (sendmsg(c.sv[0], &msg, 0) != (ssize_t)sizeof(hdr))
		bail("sendmsg");
	errno = 0;
	ok(imsgbuf_read(&c.r) == -1,
	    "ctrunc: two fds with one message fail the read");
	imsgbuf_clear(&c.r);
	n1 = count_fds();
	ok(n1 == n0, "ctrunc: and leak no fd (%d open before, %d after)",
	    n0, n1);
	close(fds[0]);
	close(fds[1]);
	chan_close(&c);
}

static void
test_oversize(void)
{
	struct chan	 c;
	struct imsgbuf	 ib;
	struct imsg	 m;
	uint8_t		*buf;
	int		 i;

	if ((buf = calloc(1, IMSG_MAXSIZE_DEFAULT + IMSG_READ_SIZE + 1)) ==
	    NULL)
		bail("calloc");

	if (imsgbuf_init(&ib, -1) == -1)
		bail("imsgbuf_init");
	put_hdr(buf, 1, IMSG_MAXSIZE_DEFAULT + 1, 0, 0);
	imsgbuf_feed(&ib, buf, IMSG_HEADER_SIZE);
	errno = 0;
	ok(imsg_get(&ib, &m) == -1 && errno == ERANGE,
	    "oversize: a header announcing maxsize + 1 is refused (ERANGE)");
	imsgbuf_clear(&ib);

	if (imsgbuf_init(&ib, -1) == -1)
		bail("imsgbuf_init");
	put_hdr(buf, 1, IMSG_FD_MARK - 1, 0, 0);
	imsgbuf_feed(&ib, buf, IMSG_HEADER_SIZE);
	errno = 0;
	ok(imsg_get(&ib, &m) == -1 && errno == ERANGE &&
	    ib.rsize == IMSG_READ_SIZE,
	    "oversize: a 2 GiB header is refused before any allocation");
	imsgbuf_clear(&ib);

	for (i = 0; i < 2; i++) {
		if (imsgbuf_init(&ib, -1) == -1)
			bail("imsgbuf_init");
		put_hdr(buf, 1, i == 0 ? IMSG_HEADER_SIZE - 1 : 0, 0, 0);
		imsgbuf_feed(&ib, buf, IMSG_HEADER_SIZE);
		errno = 0;
		ok(imsg_get(&ib, &m) == -1 && errno == ERANGE,
		    "oversize: a length of %d (less than the header) is "
		    "refused", i == 0 ? IMSG_HEADER_SIZE - 1 : 0);
		imsgbuf_clear(&ib);
	}

	if (imsgbuf_init(&ib, -1) == -1)
		bail("imsgbuf_init");
	put_hdr(buf, 9, IMSG_MAXSIZE_DEFAULT, 0, 0);
	ok(imsgbuf_feed(&ib, buf, IMSG_MAXSIZE_DEFAULT) == 0 &&
	    imsg_get(&ib, &m) == 1 && m.hdr.type == 9 &&
	    m.len == IMSG_MAXSIZE_DEFAULT - IMSG_HEADER_SIZE,
	    "oversize: a message of exactly maxsize is taken");
	imsg_free(&m);
	errno = 0;
	ok(imsgbuf_feed(&ib, buf, IMSG_MAXSIZE_DEFAULT + IMSG_READ_SIZE + 1) ==
	    -1 && errno == ENOBUFS,
	    "oversize: feeding more than maxsize + a read fails (ENOBUFS)");

	/* The sending side. */
	errno = 0;
	ok(imsg_compose(&ib, 1, 0, 0, -1, buf,
	    IMSG_MAXSIZE_DEFAULT - IMSG_HEADER_SIZE + 1) == -1 &&
	    errno == ERANGE && imsgbuf_queuelen(&ib) == 0,
	    "oversize: compose of maxsize - 16 + 1 bytes fails (ERANGE)");
	ok(imsg_compose(&ib, 1, 0, 0, -1, buf,
	    IMSG_MAXSIZE_DEFAULT - IMSG_HEADER_SIZE) == 1,
	    "oversize: compose of maxsize - 16 bytes works");
	errno = 0;
	ok(imsgbuf_set_maxsize(&ib, IMSG_HEADER_SIZE - 1) == -1 &&
	    errno == EINVAL && imsgbuf_set_maxsize(&ib, IMSG_FD_MARK) == -1,
	    "oversize: maxsize below the header or with the fd bit refused");
	ok(imsgbuf_set_maxsize(&ib, IMSG_HEADER_SIZE) == 0 &&
	    imsg_compose(&ib, 1, 0, 0, -1, NULL, 0) == 1 &&
	    imsg_compose(&ib, 1, 0, 0, -1, buf, 1) == -1 && errno == ERANGE,
	    "oversize: maxsize 16 allows exactly an empty message");
	imsgbuf_clear(&ib);

	/* The queue cap. */
	chan_open(&c, 0);
	imsgbuf_set_maxqueue(&c.w, 100);
	ok(imsg_compose(&c.w, 1, 0, 0, -1, buf, 34) == 1 &&
	    imsg_compose(&c.w, 2, 0, 0, -1, buf, 34) == 1,
	    "maxqueue: two 50-byte messages fit in 100 bytes");
	errno = 0;
	ok(imsg_compose(&c.w, 3, 0, 0, -1, NULL, 0) == -1 &&
	    errno == ENOBUFS && imsgbuf_queuelen(&c.w) == 2,
	    "maxqueue: the next one fails (ENOBUFS), queue unchanged");
	ok(imsgbuf_write(&c.w) == 0 && imsgbuf_queuelen(&c.w) == 0 &&
	    imsg_compose(&c.w, 3, 0, 0, -1, buf, 34) == 1,
	    "maxqueue: once written, there is room again");
	chan_close(&c);
	free(buf);
}

static void
test_truncated(void)
{
	struct chan	 c;
	struct imsg	 m;
	uint8_t		 buf[100];
	int		 i;

	memset(buf, 'x', sizeof(buf));
	put_hdr(buf, 5, sizeof(buf), 1, 2);
	for (i = 0; i < 2; i++) {
		chan_open(&c, 0);
		ok(write(c.sv[0], buf, 60) == 60 && imsgbuf_read(&c.r) == 1 &&
		    imsg_get(&c.r, &m) == 0,
		    "truncated: 60 of 100 bytes: need more");
		if (i == 0) {
			close(c.sv[0]);
			c.sv[0] = -1;
			ok(imsgbuf_read(&c.r) == 0,
			    "truncated: then EOF: read returns 0");
			ok(imsg_get(&c.r, &m) == 0,
			    "truncated: and there is still no message");
		} else {
			ok(write(c.sv[0], buf + 60, 40) == 40 &&
			    imsgbuf_read(&c.r) == 1,
			    "truncated: the other 40 bytes arrive");
			ok(imsg_get(&c.r, &m) == 1 && m.hdr.type == 5 &&
			    m.len == 84, "truncated: now the message is whole");
			imsg_free(&m);
		}
		chan_close(&c);
	}
}

static void
test_eof(void)
{
	struct chan	 c;

	chan_open(&c, 0);
	close(c.sv[0]);
	c.sv[0] = -1;
	ok(imsgbuf_read(&c.r) == 0, "eof: peer closed: read returns 0");
	chan_close(&c);

	chan_open(&c, 0);
	close(c.sv[1]);
	c.sv[1] = -1;
	if (imsg_compose(&c.w, 1, 0, 0, -1, "x", 1) != 1)
		bail("compose");
	errno = 0;
	ok(imsgbuf_write(&c.w) == -1 && errno == EPIPE,
	    "eof: write to a closed peer fails (EPIPE), no SIGPIPE");
	errno = 0;
	ok(imsgbuf_flush(&c.w) == -1 && errno == EPIPE,
	    "eof: so does flush");
	chan_close(&c);
}

int
main(void)
{
	/* A write without MSG_NOSIGNAL must kill this test, not pass. */
	signal(SIGPIPE, SIG_DFL);
	plan(96);
	test_roundtrip();
	test_partial_read();
	test_partial_write();
	test_fdpass();
	test_fdpass_refused();
	test_ctrunc();
	test_oversize();
	test_truncated();
	test_eof();
	return (done_testing());
}
