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

#ifndef DKD_LOGD_H
#define DKD_LOGD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/tree.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "compat.h"
#include "msg.h"

/* A line longer than this is cut there and marked; the rest is lost. */
#define LOGD_LINE_MAX		(64 * 1024)
/* Container ids as stored and shown: the first 12 hex digits. */
#define LOGD_CID_LEN		12

/* ------------------------------------------------------------ demux.c */

/* Bytes of a timestamp token ("2026-01-02T03:04:05.123456789Z"). */
#define DEMUX_TS_MAX		40

struct demux_line {
	int		 stream;	/* 1 stdout, 2 stderr */
	int64_t		 ts;		/* ns since the epoch; 0: none */
	int		 cut;		/* longer than LOGD_LINE_MAX */
	const char	*data;
	size_t		 len;
};

typedef void	(*demux_cb)(const struct demux_line *, void *);

/* A line of one stream that is not finished yet. */
struct demux_part {
	char		*buf;
	size_t		 len, cap;
	int64_t		 ts;
	int		 cut;
};

struct demux {
	int		 tty;		/* raw bytes, no frames */
	int		 state;
	uint8_t		 hdr[8];
	size_t		 hdrlen;
	uint32_t	 left;		/* payload bytes left in the frame */
	int		 cur;		/* 0 stdout, 1 stderr */
	int		 want_ts;	/* a timestamp may come next */
	char		 ts[DEMUX_TS_MAX];
	size_t		 tslen;
	struct demux_part part[2];
	demux_cb	 cb;
	void		*arg;
};

void	 demux_init(struct demux *, int, demux_cb, void *);
int	 demux_feed(struct demux *, const void *, size_t);
void	 demux_end(struct demux *);
void	 demux_free(struct demux *);

/* ------------------------------------------------------------ store.c */

/*
 * A record on disk: u8 magic, u8 stream, u8 flags, u8 zero, u32 line
 * length (little-endian), i64 time in ns (little-endian), 12 bytes of
 * container id, then the line.
 */
#define REC_MAGIC		0xdc
#define REC_HDR_LEN		28
#define REC_CUT			0x01
#define REC_MAX			(REC_HDR_LEN + LOGD_LINE_MAX)

struct rec {
	int		 stream;	/* 1 stdout, 2 stderr */
	int		 flags;		/* REC_* */
	int64_t		 ts;
	char		 cid[LOGD_CID_LEN + 1];
	const char	*line;
	size_t		 len;
};

ssize_t	 rec_parse(const uint8_t *, size_t, struct rec *);
size_t	 rec_encode(uint8_t *, const struct rec *);

/* Reading the records of a segment file, block by block. */
struct segreader {
	int		 fd;
	uint64_t	 off;		/* file offset of buf[0] */
	uint64_t	 end;		/* read no further */
	uint8_t		*buf;
	size_t		 len, pos, cap;
	int		 error;		/* read failed or a record is bad */
};

int	 segreader_init(struct segreader *, int, uint64_t, uint64_t);
int	 segreader_next(struct segreader *, struct rec *, uint64_t *);
void	 segreader_free(struct segreader *);

struct seg {
	TAILQ_ENTRY(seg)	 entry;
	uint64_t		 seq;
	uint64_t		 size;
	time_t			 mtime;
	int64_t			 max_ts;	/* valid when scanned */
	int			 scanned;
};
TAILQ_HEAD(segq, seg);

struct mark {
	char		 cid[LOGD_CID_LEN + 1];
	int64_t		 last;
};

struct viewer;
TAILQ_HEAD(viewerq, viewer);

/* One service's history, and who reads and writes it. */
struct svc {
	RB_ENTRY(svc)	 entry;
	char		 id[MSG_SERVICE_ID_MAX + 1];
	struct segq	 segs;		/* oldest first; the last is written */
	uint64_t	 bytes;		/* of all segments */
	int		 dir;		/* its directory exists */
	int		 wfd;		/* the last segment, for appends */
	uint8_t		*wbuf;		/* records not written yet */
	size_t		 wlen, wcap;
	struct mark	*marks;
	size_t		 nmarks, capmarks;
	int		 marks_dirty;
	uint8_t		*ring;		/* the newest records */
	size_t		 ring_off, ring_len, ring_cap;
	struct viewerq	 viewers;
	int		 nviewers;
	int		 nstreams;
	int		 werr_logged;
};

struct store_limits {
	uint64_t	 svc_bytes;	/* per service */
	uint64_t	 max_age_sec;	/* 0: no limit */
	uint64_t	 budget;	/* all services */
};

void	 store_init(const struct store_limits *);
void	 store_set_limits(const struct store_limits *);
int	 store_load(void);
struct svc *store_svc(const char *, int);
int	 store_svc_id_valid(const char *);
int	 store_append(struct svc *, const struct rec *);
void	 store_flush(struct svc *);
void	 store_flush_all(void);
int64_t	 store_mark(struct svc *, const char *);
void	 store_marks_each(size_t, void (*)(const char *, int64_t));
void	 store_save_meta(struct svc *);
void	 store_save_all(void);
void	 store_forget(struct svc *);
void	 store_release(struct svc *);
int	 store_has_history(const struct svc *);
void	 store_expire(time_t);
struct seg *store_seg_after(struct svc *, uint64_t);
struct seg *store_seg_before(struct svc *, uint64_t);
struct seg *store_seg_last(struct svc *);
int	 store_seg_open(const struct svc *, const struct seg *);
void	 store_ring(const struct svc *, const uint8_t **, size_t *);
uint64_t store_total(void);
uint64_t store_seg_max(void);
void	 store_shutdown(void);

/* ------------------------------------------------------------- subs.c */

#define SUBS_VIEWERS_MAX	2048
/* Queued for one: over a second of the busiest stream measured. */
#define SUBS_QUEUE_MAX		(16 * 1024 * 1024)
#define SUBS_MEMORY_MAX		(64 * 1024 * 1024) /* queued for all */
#define SUBS_PING_SEC		15
#define SUBS_CLOSE_SEC		5	/* for a goodbye to get out */

enum subs_answer {
	SUBS_OK,
	SUBS_NONE,		/* the service never logged */
	SUBS_BUSY,		/* too many viewers */
};

void	 subs_init(struct event_base *);
enum subs_answer subs_open(int, const struct msg_logview *);
void	 subs_line(struct svc *, const struct rec *);
void	 subs_flush(struct svc *);
void	 subs_exited(struct svc *, const char *);
void	 subs_forget(struct svc *);
size_t	 subs_json_line(char *, size_t, const struct rec *);
int	 subs_match(const char *, size_t, const char *, size_t);
void	 subs_shutdown(void);

/* ------------------------------------------------------------- logd.c */

void	 logd_mark(const char *, int64_t);

#endif /* DKD_LOGD_H */
