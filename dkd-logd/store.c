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
#include <sys/tree.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "logd.h"

/*
 * Log history on disk, one directory per service below logd's data
 * directory (its working directory in the jail):
 *
 *	<service id>/<sequence, 16 hex digits>.seg	records, appended
 *	<service id>/meta				the newest time of
 *							each container
 *
 * Segments are only ever appended to, and only the newest is; history
 * goes a segment at a time, oldest first, when a service holds more
 * than its share (log-retention), when it is older than the age limit,
 * or when all services together hold more than the budget.  Each
 * segment is an eighth of a service's share, so a service keeps at
 * least seven eighths of it.
 *
 * "meta" is written whenever a segment is started and when a stream
 * ends, so after a crash the newest time of every container is meta
 * plus whatever the newest segment holds, which is read at start.
 * That is what keeps a reattached stream from storing lines twice.
 *
 * The newest records of each service are also kept in memory (the
 * ring), which serves the common "last few hundred lines" without a
 * read.
 */

#define SEG_SUFFIX	".seg"
#define SEG_NAME_LEN	(16 + sizeof(SEG_SUFFIX) - 1)
#define SEG_MIN		(64 * 1024)
#define SEG_MAX		(8 * 1024 * 1024)
#define META_FILE	"meta"
#define META_TMP	"meta.tmp"
#define META_MAGIC	"dklogmeta 1"
#define META_MAX	(128 * 1024)
#define MARKS_MAX	1024		/* containers remembered per service */
#define WBUF_MAX	(64 * 1024)
#define RING_MAX	(64 * 1024)
#define READ_BLOCK	(128 * 1024)

static int	svc_cmp(struct svc *, struct svc *);
RB_HEAD(svcs, svc);
RB_PROTOTYPE_STATIC(svcs, svc, entry, svc_cmp)
RB_GENERATE_STATIC(svcs, svc, entry, svc_cmp)

static struct svcs		 svcs = RB_INITIALIZER(&svcs);
static struct store_limits	 limits;
static uint64_t			 total;	/* bytes of every segment */

static struct svc *svc_new(const char *);
static void	svc_free(struct svc *);
static int	svc_load(const char *);
static void	svc_scan_last(struct svc *);
static int	svc_roll(struct svc *);
static void	svc_drop_oldest(struct svc *);
static int	store_drop_global(void);
static void	meta_load(struct svc *);
static void	mark_update(struct svc *, const char *, int64_t);
static void	ring_push(struct svc *, const uint8_t *, size_t);
static size_t	ring_max(void);
static void	seg_path(char *, size_t, const struct svc *, uint64_t);

static int
svc_cmp(struct svc *a, struct svc *b)
{
	return (strcmp(a->id, b->id));
}

static uint32_t
le32(const uint8_t *p)
{
	return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24);
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/* ------------------------------------------------------------ records */

/*
 * One record at p: its size, 0 if more bytes are needed, -1 if these
 * are not a record.  rec->line points into p.
 */
ssize_t
rec_parse(const uint8_t *p, size_t avail, struct rec *rec)
{
	uint32_t	 len;
	uint64_t	 ts = 0;
	int		 i;

	if (avail < REC_HDR_LEN)
		return (avail > 0 && p[0] != REC_MAGIC ? -1 : 0);
	if (p[0] != REC_MAGIC || p[1] < 1 || p[1] > 2 ||
	    (p[2] & ~REC_CUT) != 0 || p[3] != 0)
		return (-1);
	if ((len = le32(p + 4)) > LOGD_LINE_MAX)
		return (-1);
	for (i = 0; i < LOGD_CID_LEN; i++) {
		if (strchr("0123456789abcdef", p[16 + i]) == NULL ||
		    p[16 + i] == '\0')
			return (-1);
		rec->cid[i] = (char)p[16 + i];
	}
	rec->cid[LOGD_CID_LEN] = '\0';
	if (avail < REC_HDR_LEN + (size_t)len)
		return (0);
	for (i = 7; i >= 0; i--)
		ts = ts << 8 | p[8 + i];
	rec->stream = p[1];
	rec->flags = p[2];
	rec->ts = (int64_t)ts;
	rec->line = (const char *)p + REC_HDR_LEN;
	rec->len = len;
	return ((ssize_t)(REC_HDR_LEN + len));
}

/* The record into buf, which holds REC_HDR_LEN + rec->len bytes. */
size_t
rec_encode(uint8_t *buf, const struct rec *rec)
{
	uint64_t	 ts = (uint64_t)rec->ts;
	int		 i;

	buf[0] = REC_MAGIC;
	buf[1] = (uint8_t)rec->stream;
	buf[2] = (uint8_t)(rec->flags & REC_CUT);
	buf[3] = 0;
	put_le32(buf + 4, (uint32_t)rec->len);
	for (i = 0; i < 8; i++)
		buf[8 + i] = (ts >> (8 * i)) & 0xff;
	memcpy(buf + 16, rec->cid, LOGD_CID_LEN);
	memcpy(buf + REC_HDR_LEN, rec->line, rec->len);
	return (REC_HDR_LEN + rec->len);
}

/* ------------------------------------------------------ segment reader */

/* Read records of fd from start to end.  The fd stays the caller's. */
int
segreader_init(struct segreader *sr, int fd, uint64_t start, uint64_t end)
{
	memset(sr, 0, sizeof(*sr));
	sr->fd = fd;
	sr->off = start;
	sr->end = end;
	sr->cap = READ_BLOCK;
	if ((sr->buf = malloc(sr->cap)) == NULL)
		return (-1);
	return (0);
}

void
segreader_free(struct segreader *sr)
{
	free(sr->buf);
	sr->buf = NULL;
}

/*
 * The next record and its offset in the file: 1, 0 at the end, -1 when
 * the file cannot be read or what is there is no record.  A record cut
 * short by the end of the file is the end: the file may have been
 * written only that far.
 */
int
segreader_next(struct segreader *sr, struct rec *rec, uint64_t *recoff)
{
	ssize_t		 n;
	size_t		 want;
	uint8_t		*nbuf;

	for (;;) {
		n = rec_parse(sr->buf + sr->pos, sr->len - sr->pos, rec);
		if (n > 0) {
			if (recoff != NULL)
				*recoff = sr->off + sr->pos;
			sr->pos += (size_t)n;
			return (1);
		}
		if (n == -1) {
			sr->error = 1;
			return (-1);
		}
		if (sr->off + sr->len >= sr->end)
			return (0);
		/* Keep the partial record and read more behind it. */
		if (sr->pos > 0) {
			memmove(sr->buf, sr->buf + sr->pos, sr->len - sr->pos);
			sr->off += sr->pos;
			sr->len -= sr->pos;
			sr->pos = 0;
		}
		if (sr->len == sr->cap) {
			want = MINIMUM(sr->cap * 2, REC_MAX + READ_BLOCK);
			if (want <= sr->cap ||
			    (nbuf = realloc(sr->buf, want)) == NULL) {
				sr->error = 1;
				return (-1);
			}
			sr->buf = nbuf;
			sr->cap = want;
		}
		want = MINIMUM(sr->cap - sr->len,
		    sr->end - (sr->off + sr->len));
		n = pread(sr->fd, sr->buf + sr->len, want,
		    (off_t)(sr->off + sr->len));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			sr->error = 1;
			return (-1);
		}
		if (n == 0)
			return (0);
		sr->len += (size_t)n;
	}
}

/* ------------------------------------------------------------- limits */

void
store_init(const struct store_limits *l)
{
	limits = *l;
}

void
store_set_limits(const struct store_limits *l)
{
	limits = *l;
	store_expire(time(NULL));
}

/* Segments are an eighth of a service's share, within bounds. */
uint64_t
store_seg_max(void)
{
	uint64_t	 n = limits.svc_bytes / 8;

	return (MAXIMUM(SEG_MIN, MINIMUM(SEG_MAX, n)));
}

static size_t
ring_max(void)
{
	return (MINIMUM(RING_MAX, limits.svc_bytes / 4));
}

uint64_t
store_total(void)
{
	return (total);
}

/* ----------------------------------------------------------- services */

/* A service id that is a plain directory name: see msg.c. */
int
store_svc_id_valid(const char *id)
{
	return (msg_service_id_valid(id));
}

static struct svc *
svc_new(const char *id)
{
	struct svc	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	strlcpy(s->id, id, sizeof(s->id));
	TAILQ_INIT(&s->segs);
	TAILQ_INIT(&s->viewers);
	s->wfd = -1;
	RB_INSERT(svcs, &svcs, s);
	return (s);
}

static void
svc_free(struct svc *s)
{
	struct seg	*g;

	while ((g = TAILQ_FIRST(&s->segs)) != NULL) {
		TAILQ_REMOVE(&s->segs, g, entry);
		free(g);
	}
	if (s->wfd != -1)
		close(s->wfd);
	RB_REMOVE(svcs, &svcs, s);
	free(s->wbuf);
	free(s->marks);
	free(s->ring);
	free(s);
}

/* The service's state, made (in memory only) if asked to. */
struct svc *
store_svc(const char *id, int create)
{
	struct svc	 key, *s;

	if (!store_svc_id_valid(id))
		return (NULL);
	strlcpy(key.id, id, sizeof(key.id));
	if ((s = RB_FIND(svcs, &svcs, &key)) != NULL || !create)
		return (s);
	if ((s = svc_new(id)) == NULL)
		log_warn("%s", __func__);
	return (s);
}

/* Nobody uses it and it has nothing on disk: let it go. */
void
store_release(struct svc *s)
{
	if (s->nstreams > 0 || s->nviewers > 0)
		return;
	store_flush(s);
	if (s->wfd != -1) {
		close(s->wfd);
		s->wfd = -1;
	}
	free(s->wbuf);
	s->wbuf = NULL;
	s->wcap = 0;
	if (s->marks_dirty)
		store_save_meta(s);
	if (!s->dir)
		svc_free(s);
}

int
store_has_history(const struct svc *s)
{
	return (s->bytes > 0);
}

static void
seg_path(char *buf, size_t len, const struct svc *s, uint64_t seq)
{
	(void)snprintf(buf, len, "%s/%016" PRIx64 SEG_SUFFIX, s->id, seq);
}

static int
seg_cmp(const void *a, const void *b)
{
	const struct seg	*x = *(struct seg * const *)a;
	const struct seg	*y = *(struct seg * const *)b;

	return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/* Every service directory below the data directory. */
int
store_load(void)
{
	DIR		*dp;
	struct dirent	*de;
	int		 n = 0;

	if ((dp = opendir(".")) == NULL) {
		log_warn("%s: opendir", __func__);
		return (-1);
	}
	while ((de = readdir(dp)) != NULL) {
		if (!store_svc_id_valid(de->d_name))
			continue;
		if (svc_load(de->d_name) == 0)
			n++;
	}
	closedir(dp);
	log_debug("history of %d service%s, %" PRIu64 " bytes", n,
	    n == 1 ? "" : "s", total);
	return (0);
}

static int
svc_load(const char *id)
{
	struct svc	*s;
	struct seg	**v = NULL, **nv, *g;
	struct stat	 st;
	DIR		*dp;
	struct dirent	*de;
	char		 path[MSG_SERVICE_ID_MAX + 64], *end;
	size_t		 n = 0, cap = 0, i;
	uint64_t	 seq;

	if ((dp = opendir(id)) == NULL) {
		if (errno != ENOTDIR)
			log_warn("%s: opendir %s", __func__, id);
		return (-1);
	}
	if ((s = svc_new(id)) == NULL) {
		closedir(dp);
		return (-1);
	}
	s->dir = 1;
	while ((de = readdir(dp)) != NULL) {
		if (strlen(de->d_name) != SEG_NAME_LEN ||
		    strcmp(de->d_name + 16, SEG_SUFFIX) != 0 ||
		    strspn(de->d_name, "0123456789abcdef") != 16)
			continue;
		seq = strtoull(de->d_name, &end, 16);
		(void)snprintf(path, sizeof(path), "%s/%s", id, de->d_name);
		if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		if ((g = calloc(1, sizeof(*g))) == NULL)
			break;
		g->seq = seq;
		g->size = (uint64_t)st.st_size;
		g->mtime = st.st_mtime;
		v[n++] = g;
	}
	closedir(dp);
	if (n > 0)
		qsort(v, n, sizeof(*v), seg_cmp);
	for (i = 0; i < n; i++) {
		TAILQ_INSERT_TAIL(&s->segs, v[i], entry);
		s->bytes += v[i]->size;
	}
	free(v);
	total += s->bytes;
	(void)snprintf(path, sizeof(path), "%s/" META_TMP, id);
	(void)unlink(path);
	meta_load(s);
	svc_scan_last(s);
	return (0);
}

/*
 * The newest segment after a restart: what it holds may be newer than
 * meta says, and a crash may have left half a record at its end (not
 * with a kill, which cannot split a write, but with a power cut).
 */
static void
svc_scan_last(struct svc *s)
{
	struct segreader sr;
	struct seg	*g;
	struct rec	 rec;
	char		 path[MSG_SERVICE_ID_MAX + 64];
	uint64_t	 off, good = 0;
	int		 fd, rv;

	if ((g = TAILQ_LAST(&s->segs, segq)) == NULL)
		return;
	seg_path(path, sizeof(path), s, g->seq);
	if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		log_warn("%s: %s", __func__, path);
		return;
	}
	if (segreader_init(&sr, fd, 0, g->size) == -1) {
		close(fd);
		return;
	}
	while ((rv = segreader_next(&sr, &rec, &off)) == 1) {
		good = off + REC_HDR_LEN + rec.len;
		mark_update(s, rec.cid, rec.ts);
		if (rec.ts > g->max_ts)
			g->max_ts = rec.ts;
		ring_push(s, sr.buf + (off - sr.off), REC_HDR_LEN + rec.len);
	}
	segreader_free(&sr);
	g->scanned = 1;
	if (good < g->size) {
		log_warnx("%s: %" PRIu64 " bytes after the last whole "
		    "record; cut", path, g->size - good);
		if (ftruncate(fd, (off_t)good) == -1)
			log_warn("%s: ftruncate", path);
		else {
			s->bytes -= g->size - good;
			total -= g->size - good;
			g->size = good;
		}
	}
	close(fd);
}

/* ------------------------------------------------------------- writes */

/* Start the next segment; the previous one is done. */
static int
svc_roll(struct svc *s)
{
	struct seg	*last, *g;
	char		 path[MSG_SERVICE_ID_MAX + 64];
	int		 fd;

	store_flush(s);
	if (s->wfd != -1) {
		close(s->wfd);
		s->wfd = -1;
	}
	last = TAILQ_LAST(&s->segs, segq);
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return (-1);
	g->seq = last != NULL ? last->seq + 1 : 1;
	g->mtime = time(NULL);
	g->scanned = 1;
	seg_path(path, sizeof(path), s, g->seq);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		if (!s->werr_logged)
			log_warn("%s: %s", __func__, path);
		s->werr_logged = 1;
		free(g);
		return (-1);
	}
	s->wfd = fd;
	TAILQ_INSERT_TAIL(&s->segs, g, entry);
	/* What meta says now covers every segment but this new one. */
	store_save_meta(s);
	return (0);
}

static void
svc_drop_oldest(struct svc *s)
{
	struct seg	*g;
	char		 path[MSG_SERVICE_ID_MAX + 64];

	if ((g = TAILQ_FIRST(&s->segs)) == NULL)
		return;
	if (g == TAILQ_LAST(&s->segs, segq) && s->wfd != -1) {
		store_flush(s);
		close(s->wfd);
		s->wfd = -1;
	}
	seg_path(path, sizeof(path), s, g->seq);
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("%s: unlink %s", __func__, path);
	TAILQ_REMOVE(&s->segs, g, entry);
	s->bytes -= g->size;
	total -= g->size;
	free(g);
}

/*
 * Over the budget of all services: the oldest segment of anybody goes,
 * never the one a service is writing.  0 when there is none to drop.
 */
static int
store_drop_global(void)
{
	struct svc	*s, *victim = NULL;
	struct seg	*g;
	time_t		 oldest = 0;

	RB_FOREACH(s, svcs, &svcs) {
		g = TAILQ_FIRST(&s->segs);
		if (g == NULL || g == TAILQ_LAST(&s->segs, segq))
			continue;
		if (victim == NULL || g->mtime < oldest) {
			victim = s;
			oldest = g->mtime;
		}
	}
	if (victim == NULL)
		return (0);
	svc_drop_oldest(victim);
	return (1);
}

/* Store one record: it goes out with the next flush. */
int
store_append(struct svc *s, const struct rec *rec)
{
	struct seg	*last;
	uint8_t		*nbuf;
	size_t		 len = REC_HDR_LEN + rec->len, want;
	char		 path[MSG_SERVICE_ID_MAX + 64];
	int		 fd;

	if (!s->dir) {
		if (mkdir(s->id, 0700) == -1 && errno != EEXIST) {
			if (!s->werr_logged)
				log_warn("%s: mkdir %s", __func__, s->id);
			s->werr_logged = 1;
			return (-1);
		}
		s->dir = 1;
	}
	last = TAILQ_LAST(&s->segs, segq);
	if (last == NULL || (last->size > 0 &&
	    last->size + len > store_seg_max())) {
		if (svc_roll(s) == -1)
			return (-1);
		last = TAILQ_LAST(&s->segs, segq);
	} else if (s->wfd == -1) {
		seg_path(path, sizeof(path), s, last->seq);
		if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT |
		    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
			if (!s->werr_logged)
				log_warn("%s: %s", __func__, path);
			s->werr_logged = 1;
			return (-1);
		}
		s->wfd = fd;
	}
	while (s->bytes + len > limits.svc_bytes &&
	    TAILQ_FIRST(&s->segs) != last)
		svc_drop_oldest(s);
	while (total + len > limits.budget && store_drop_global())
		;
	if (s->wlen > 0 && s->wlen + len > WBUF_MAX)
		store_flush(s);
	if (s->wlen + len > s->wcap) {
		want = s->wcap == 0 ? 4096 : s->wcap;
		while (want < s->wlen + len)
			want *= 2;
		if ((nbuf = realloc(s->wbuf, want)) == NULL)
			return (-1);
		s->wbuf = nbuf;
		s->wcap = want;
	}
	rec_encode(s->wbuf + s->wlen, rec);
	ring_push(s, s->wbuf + s->wlen, len);
	s->wlen += len;
	last->size += len;
	last->mtime = time(NULL);
	if (rec->ts > last->max_ts)
		last->max_ts = rec->ts;
	s->bytes += len;
	total += len;
	mark_update(s, rec->cid, rec->ts);
	return (0);
}

/* Write what is buffered.  A failure loses it, and says so once. */
void
store_flush(struct svc *s)
{
	struct seg	*last;
	struct stat	 st;
	ssize_t		 n;
	size_t		 off = 0;

	if (s->wlen == 0)
		return;
	while (s->wfd != -1 && off < s->wlen) {
		if ((n = write(s->wfd, s->wbuf + off, s->wlen - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	if (off < s->wlen) {
		if (!s->werr_logged)
			log_warn("%s: writing the history of %s", __func__,
			    s->id);
		s->werr_logged = 1;
		/* Count what is really there. */
		last = TAILQ_LAST(&s->segs, segq);
		if (last != NULL && s->wfd != -1 && fstat(s->wfd, &st) == 0 &&
		    (uint64_t)st.st_size <= last->size) {
			s->bytes -= last->size - (uint64_t)st.st_size;
			total -= last->size - (uint64_t)st.st_size;
			last->size = (uint64_t)st.st_size;
		}
	} else
		s->werr_logged = 0;
	s->wlen = 0;
}

void
store_flush_all(void)
{
	struct svc	*s;

	RB_FOREACH(s, svcs, &svcs)
		store_flush(s);
}

/* ---------------------------------------------------------------- ring */

static void
ring_push(struct svc *s, const uint8_t *p, size_t len)
{
	struct rec	 rec;
	size_t		 max = ring_max(), want;
	ssize_t		 n;
	uint8_t		*nbuf;

	if (len > max)
		return;
	while (s->ring_len + len > max) {
		n = rec_parse(s->ring + s->ring_off, s->ring_len, &rec);
		if (n <= 0) {
			s->ring_off = s->ring_len = 0;
			break;
		}
		s->ring_off += (size_t)n;
		s->ring_len -= (size_t)n;
	}
	if (s->ring_off + s->ring_len + len > s->ring_cap) {
		if (s->ring_off > 0) {
			memmove(s->ring, s->ring + s->ring_off, s->ring_len);
			s->ring_off = 0;
		}
		if (s->ring_len + len > s->ring_cap) {
			want = s->ring_cap == 0 ? 4096 : s->ring_cap;
			while (want < s->ring_len + len)
				want *= 2;
			if ((nbuf = realloc(s->ring, want)) == NULL)
				return;
			s->ring = nbuf;
			s->ring_cap = want;
		}
	}
	memcpy(s->ring + s->ring_off + s->ring_len, p, len);
	s->ring_len += len;
}

/* The newest records, oldest first, as they are on disk. */
void
store_ring(const struct svc *s, const uint8_t **p, size_t *len)
{
	*p = s->ring != NULL ? s->ring + s->ring_off : NULL;
	*len = s->ring_len;
}

/* --------------------------------------------------------------- marks */

static void
mark_update(struct svc *s, const char *cid, int64_t ts)
{
	struct mark	*m, *nm;
	size_t		 i, old = 0;

	for (i = 0; i < s->nmarks; i++) {
		m = &s->marks[s->nmarks - 1 - i];
		if (memcmp(m->cid, cid, LOGD_CID_LEN) == 0) {
			if (ts > m->last) {
				m->last = ts;
				s->marks_dirty = 1;
			}
			return;
		}
	}
	if (s->nmarks == MARKS_MAX) {
		/* Forget the container that logged least recently. */
		for (i = 1; i < s->nmarks; i++)
			if (s->marks[i].last < s->marks[old].last)
				old = i;
		memmove(&s->marks[old], &s->marks[old + 1],
		    (s->nmarks - old - 1) * sizeof(*m));
		s->nmarks--;
	}
	if (s->nmarks == s->capmarks) {
		if ((nm = reallocarray(s->marks, s->capmarks == 0 ? 4 :
		    s->capmarks * 2, sizeof(*nm))) == NULL)
			return;
		s->marks = nm;
		s->capmarks = s->capmarks == 0 ? 4 : s->capmarks * 2;
	}
	m = &s->marks[s->nmarks++];
	memcpy(m->cid, cid, LOGD_CID_LEN);
	m->cid[LOGD_CID_LEN] = '\0';
	m->last = ts;
	s->marks_dirty = 1;
}

/*
 * Each service's newest marks, at most per_svc of it, newest first, to
 * cb: after logd starts, where the reconciler should go on.
 */
void
store_marks_each(size_t per_svc, void (*cb)(const char *, int64_t))
{
	struct svc	*s;
	struct mark	*best;
	int64_t		 below;
	size_t		 i, k;

	RB_FOREACH(s, svcs, &svcs) {
		below = INT64_MAX;
		for (k = 0; k < per_svc; k++) {
			best = NULL;
			for (i = 0; i < s->nmarks; i++)
				if (s->marks[i].last < below && (best == NULL ||
				    s->marks[i].last > best->last))
					best = &s->marks[i];
			if (best == NULL)
				break;
			cb(best->cid, best->last);
			below = best->last;
		}
	}
}

/* The newest time stored for a container (its first 12 digits), or 0. */
int64_t
store_mark(struct svc *s, const char *cid)
{
	size_t	 i;

	for (i = 0; i < s->nmarks; i++)
		if (memcmp(s->marks[i].cid, cid, LOGD_CID_LEN) == 0)
			return (s->marks[i].last);
	return (0);
}

/*
 * meta: "dklogmeta 1", then "mark <12 hex> <ns>" lines.  Anything else
 * makes the whole file count as missing: marks are an optimisation of
 * correctness that a reattached stream can live without.
 */
static void
meta_load(struct svc *s)
{
	char		 path[MSG_SERVICE_ID_MAX + 64], *buf, *line, *next;
	char		 cid[LOGD_CID_LEN + 1];
	struct stat	 st;
	ssize_t		 n;
	int64_t		 ts;
	int		 fd, end;

	(void)snprintf(path, sizeof(path), "%s/" META_FILE, s->id);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > META_MAX ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return;
	}
	buf[n] = '\0';
	line = buf;
	if ((next = strchr(line, '\n')) == NULL ||
	    (size_t)(next - line) != strlen(META_MAGIC) ||
	    strncmp(line, META_MAGIC, strlen(META_MAGIC)) != 0) {
		log_warnx("%s: not a meta file; ignored", path);
		free(buf);
		return;
	}
	for (line = next + 1; *line != '\0'; line = next + 1) {
		if ((next = strchr(line, '\n')) == NULL)
			break;
		*next = '\0';
		end = 0;
		if (sscanf(line, "mark %12[0-9a-f] %" SCNd64 "%n", cid, &ts,
		    &end) != 2 || end == 0 || line[end] != '\0' ||
		    strlen(cid) != LOGD_CID_LEN || ts < 0) {
			log_warnx("%s: bad line; the rest is ignored", path);
			break;
		}
		mark_update(s, cid, ts);
	}
	s->marks_dirty = 0;
	free(buf);
}

void
store_save_meta(struct svc *s)
{
	char		 path[MSG_SERVICE_ID_MAX + 64];
	char		 tmp[MSG_SERVICE_ID_MAX + 64];
	FILE		*fp;
	size_t		 i;
	int		 fd, ok;

	if (!s->dir)
		return;
	(void)snprintf(tmp, sizeof(tmp), "%s/" META_TMP, s->id);
	(void)snprintf(path, sizeof(path), "%s/" META_FILE, s->id);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		log_warn("%s: %s", __func__, tmp);
		return;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		(void)unlink(tmp);
		return;
	}
	fprintf(fp, META_MAGIC "\n");
	for (i = 0; i < s->nmarks; i++)
		fprintf(fp, "mark %s %" PRId64 "\n", s->marks[i].cid,
		    s->marks[i].last);
	ok = fflush(fp) == 0 && !ferror(fp);
	if (fclose(fp) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) == -1) {
		log_warn("%s: %s", __func__, path);
		(void)unlink(tmp);
		return;
	}
	s->marks_dirty = 0;
}

void
store_save_all(void)
{
	struct svc	*s;

	RB_FOREACH(s, svcs, &svcs)
		if (s->marks_dirty)
			store_save_meta(s);
}

/* ------------------------------------------------------------ removal */

/* Age limit: whole segments older than it go, the newest one too. */
void
store_expire(time_t now)
{
	struct svc	*s;
	struct seg	*g;

	if (limits.max_age_sec == 0)
		return;
	RB_FOREACH(s, svcs, &svcs)
		while ((g = TAILQ_FIRST(&s->segs)) != NULL &&
		    g->mtime + (time_t)limits.max_age_sec < now)
			svc_drop_oldest(s);
	while (total > limits.budget && store_drop_global())
		;
}

/* The service is gone: so is its history.  Nobody may use s any more. */
void
store_forget(struct svc *s)
{
	char	 path[MSG_SERVICE_ID_MAX + 64];

	if (s->wfd != -1) {
		close(s->wfd);
		s->wfd = -1;
	}
	s->wlen = 0;
	while (TAILQ_FIRST(&s->segs) != NULL)
		svc_drop_oldest(s);
	if (s->dir) {
		(void)snprintf(path, sizeof(path), "%s/" META_FILE, s->id);
		(void)unlink(path);
		(void)snprintf(path, sizeof(path), "%s/" META_TMP, s->id);
		(void)unlink(path);
		if (rmdir(s->id) == -1 && errno != ENOENT)
			log_warn("%s: rmdir %s", __func__, s->id);
	}
	svc_free(s);
}

/* ------------------------------------------------------------ reading */

/* The last segment before seq, or NULL. */
struct seg *
store_seg_before(struct svc *s, uint64_t seq)
{
	struct seg	*g;

	TAILQ_FOREACH_REVERSE(g, &s->segs, segq, entry)
		if (g->seq < seq)
			return (g);
	return (NULL);
}

/* The first segment after seq (0: the first of all), or NULL. */
struct seg *
store_seg_after(struct svc *s, uint64_t seq)
{
	struct seg	*g;

	TAILQ_FOREACH(g, &s->segs, entry)
		if (g->seq > seq)
			return (g);
	return (NULL);
}

struct seg *
store_seg_last(struct svc *s)
{
	return (TAILQ_LAST(&s->segs, segq));
}

int
store_seg_open(const struct svc *s, const struct seg *g)
{
	char	 path[MSG_SERVICE_ID_MAX + 64];
	int	 fd;

	seg_path(path, sizeof(path), s, g->seq);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 &&
	    errno != ENOENT)
		log_warn("%s: %s", __func__, path);
	return (fd);
}

void
store_shutdown(void)
{
	struct svc	*s, *next;

	RB_FOREACH_SAFE(s, svcs, &svcs, next) {
		store_flush(s);
		if (s->marks_dirty)
			store_save_meta(s);
		svc_free(s);
	}
	total = 0;
}
