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

#ifndef DK_IMSG_H
#define DK_IMSG_H

/*
 * An imsg-style message channel: OpenBSD's names and return conventions,
 * our own code.  A message is a 16-byte header followed by its payload;
 * at most one file descriptor travels with a message, attached to the
 * first byte sent of it.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#define IMSG_HEADER_SIZE	16
#define IMSG_FD_MARK		0x80000000U
#define IMSG_MAXSIZE_DEFAULT	16384
#define IMSG_READ_SIZE		65536
#define IMSG_MAX_PENDING_FDS	16

/* Which way descriptors may travel on a channel: none unless allowed. */
#define IMSG_FDPASS_SEND	0x01
#define IMSG_FDPASS_RECV	0x02

struct imsg_hdr {
	uint32_t	 type;
	uint32_t	 len;		/* header included; top bit: has fd */
	uint32_t	 peerid;
	uint32_t	 pid;
};

struct ibuf {
	TAILQ_ENTRY(ibuf)	 entry;
	uint8_t			*buf;
	size_t			 size;
	size_t			 rpos;	/* bytes already written */
	int			 fd;
};

struct imsgbuf {
	int			 fd;
	int			 fdpass;	/* IMSG_FDPASS_* */
	pid_t			 pid;
	size_t			 maxsize;	/* largest message, header included */
	size_t			 maxqueue;	/* largest write queue in bytes */
	TAILQ_HEAD(, ibuf)	 wq;
	size_t			 wq_bytes;
	uint32_t		 wq_len;
	uint8_t			*rbuf;
	size_t			 rlen;
	size_t			 rsize;
	int			 rfds[IMSG_MAX_PENDING_FDS];
	int			 nrfds;
};

struct imsg {
	struct imsg_hdr		 hdr;
	int			 fd;
	void			*data;
	size_t			 len;	/* payload bytes */
};

int	 imsgbuf_init(struct imsgbuf *, int);
void	 imsgbuf_allow_fdpass(struct imsgbuf *, int);
int	 imsgbuf_set_maxsize(struct imsgbuf *, size_t);
void	 imsgbuf_set_maxqueue(struct imsgbuf *, size_t);
int	 imsgbuf_read(struct imsgbuf *);
int	 imsgbuf_feed(struct imsgbuf *, const void *, size_t);
int	 imsgbuf_write(struct imsgbuf *);
int	 imsgbuf_flush(struct imsgbuf *);
void	 imsgbuf_clear(struct imsgbuf *);
uint32_t imsgbuf_queuelen(struct imsgbuf *);
int	 imsg_get(struct imsgbuf *, struct imsg *);
int	 imsg_compose(struct imsgbuf *, uint32_t, uint32_t, pid_t, int,
	    const void *, size_t);
int	 imsg_get_data(struct imsg *, void *, size_t);
int	 imsg_get_fd(struct imsg *);
void	 imsg_free(struct imsg *);

#endif /* DK_IMSG_H */
