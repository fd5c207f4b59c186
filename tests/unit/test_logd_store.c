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
 * dkd-logd's store, in a temporary directory: records written and read
 * back, across a restart; the bounds per service, by age and across
 * services, newest kept; a torn end cut at start; marks that survive;
 * a forgotten service gone from disk; records that are not.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/tree.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "logd.h"
#include "tap.h"

#define SVC	"11111111-2222-4333-8444-555555555555"
#define SVC2	"svc-two"
#define CID	"0123456789ab"
#define CID2	"ba9876543210"
#define T0	1767225600000000000LL

static struct store_limits	 lim;

static void
restart(void)
{
	store_shutdown();
	store_init(&lim);
	if (store_load() == -1)
		bail("store_load");
}

/* A record "line <n>" and pad bytes of padding. */
static void
put(const char *svc, const char *cid, int64_t ts, int n, int pad)
{
	struct svc	*s;
	struct rec	 r;
	char		 line[512];

	if ((s = store_svc(svc, 1)) == NULL)
		bail("store_svc");
	memset(&r, 0, sizeof(r));
	r.stream = 1 + (n % 2);
	r.ts = ts;
	memcpy(r.cid, cid, LOGD_CID_LEN);
	r.len = (size_t)snprintf(line, sizeof(line), "line %d %.*s", n, pad,
	    "................................................................"
	    "................................................................");
	r.line = line;
	if (store_append(s, &r) == -1)
		bail("store_append");
}

/* Every record of a service, in order, through the segment reader. */
static int
read_all(const char *svc, int *first, int *last, int64_t *lastts)
{
	struct svc	*s;
	struct seg	*g;
	struct segreader sr;
	struct rec	 r;
	uint64_t	 seq = 0;
	int		 n = 0, fd, v;

	*first = *last = -1;
	if ((s = store_svc(svc, 0)) == NULL)
		return (0);
	store_flush(s);
	while ((g = store_seg_after(s, seq)) != NULL) {
		seq = g->seq;
		if ((fd = store_seg_open(s, g)) == -1)
			return (-1);
		if (segreader_init(&sr, fd, 0, g->size) == -1)
			bail("segreader_init");
		while (segreader_next(&sr, &r, NULL) == 1) {
			if (sscanf(r.line, "line %d", &v) != 1)
				return (-1);
			if (*first == -1)
				*first = v;
			else if (v != *last + 1)
				return (-1);
			*last = v;
			*lastts = r.ts;
			n++;
		}
		if (sr.error)
			return (-1);
		segreader_free(&sr);
		close(fd);
	}
	return (n);
}

static uint64_t
disk_bytes(const char *svc)
{
	DIR		*dp;
	struct dirent	*de;
	struct stat	 st;
	char		 path[512];
	uint64_t	 total = 0;

	if ((dp = opendir(svc)) == NULL)
		return (0);
	while ((de = readdir(dp)) != NULL) {
		if (strstr(de->d_name, ".seg") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", svc, de->d_name);
		if (stat(path, &st) == 0)
			total += (uint64_t)st.st_size;
	}
	closedir(dp);
	return (total);
}

static void
t_roundtrip(void)
{
	struct svc	*s;
	int		 first, last, i;
	int64_t		 lastts = 0;

	for (i = 0; i < 1000; i++)
		put(SVC, i % 3 ? CID : CID2, T0 + i, i, 0);
	ok(read_all(SVC, &first, &last, &lastts) == 1000 && first == 0 &&
	    last == 999 && lastts == T0 + 999, "1,000 records read back");
	restart();
	ok(read_all(SVC, &first, &last, &lastts) == 1000 && first == 0 &&
	    last == 999, "and after a restart");
	s = store_svc(SVC, 0);
	ok(s != NULL && store_mark(s, CID) == T0 + 998 &&
	    store_mark(s, CID2) == T0 + 999, "the newest time of each "
	    "container, after a restart");
	ok(s != NULL && store_has_history(s), "the service has history");
}

static void
t_torn(void)
{
	struct svc	*s;
	struct seg	*g;
	char		 path[512];
	int		 fd, first, last;
	int64_t		 lastts;
	static const uint8_t half[] = { REC_MAGIC, 1, 0, 0, 200, 0, 0, 0 };

	s = store_svc(SVC, 0);
	g = store_seg_last(s);
	snprintf(path, sizeof(path), "%s/%016llx.seg", SVC,
	    (unsigned long long)g->seq);
	if ((fd = open(path, O_WRONLY | O_APPEND)) == -1 ||
	    write(fd, half, sizeof(half)) != sizeof(half))
		bail(path);
	close(fd);
	restart();
	ok(read_all(SVC, &first, &last, &lastts) == 1000 && last == 999,
	    "half a record at the end: cut at start, the rest kept");
	put(SVC, CID, T0 + 1000, 1000, 0);
	ok(read_all(SVC, &first, &last, &lastts) == 1001 && last == 1000,
	    "and appended to after it");
}

static void
t_meta(void)
{
	struct svc	*s;
	char		 path[512];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/meta", SVC);
	if ((fp = fopen(path, "w")) == NULL)
		bail(path);
	fprintf(fp, "dklogmeta 1\nmark %s 5\nmark zz oops\n", CID2);
	fclose(fp);
	restart();
	s = store_svc(SVC, 0);
	/* CID2's last line is in the newest segment, which is read. */
	ok(s != NULL && store_mark(s, CID) == T0 + 1000 &&
	    store_mark(s, CID2) == T0 + 999,
	    "a meta file with a bad line: marks from the newest segment");
	if ((fp = fopen(path, "w")) == NULL)
		bail(path);
	fprintf(fp, "garbage\n");
	fclose(fp);
	restart();
	s = store_svc(SVC, 0);
	ok(s != NULL && store_mark(s, CID) == T0 + 1000,
	    "a meta file that is not one is ignored");
}

static void
t_retention(void)
{
	struct svc	*s;
	int		 i, first, last, n;
	int64_t		 lastts;
	uint64_t	 b1, b2;

	lim.svc_bytes = 256 * 1024;
	lim.budget = 1024 * 1024 * 1024;
	store_set_limits(&lim);
	for (i = 0; i < 20000; i++)
		put(SVC2, CID, T0 + i, i, 80);
	s = store_svc(SVC2, 0);
	store_flush(s);
	n = read_all(SVC2, &first, &last, &lastts);
	b1 = disk_bytes(SVC2);
	ok(b1 <= lim.svc_bytes && s->bytes == b1,
	    "20,000 lines kept within the share: %llu bytes",
	    (unsigned long long)b1);
	ok(last == 19999 && n == last - first + 1 &&
	    b1 >= lim.svc_bytes * 7 / 8 - store_seg_max(),
	    "the newest %d lines, in order (%d to %d)", n, first, last);
	/* The budget of all services: the oldest segment of anyone goes. */
	lim.budget = disk_bytes(SVC) + 128 * 1024;
	store_set_limits(&lim);
	for (i = 20000; i < 30000; i++)
		put(SVC2, CID, T0 + i, i, 80);
	store_flush(s);
	b1 = disk_bytes(SVC);
	b2 = disk_bytes(SVC2);
	ok(b1 + b2 <= lim.budget && store_total() == b1 + b2,
	    "all services within the budget: %llu + %llu <= %llu",
	    (unsigned long long)b1, (unsigned long long)b2,
	    (unsigned long long)lim.budget);
	n = read_all(SVC2, &first, &last, &lastts);
	ok(last == 29999 && n > 0, "the newest lines of the busy service");
	lim.budget = 1024 * 1024 * 1024;
	lim.svc_bytes = 16 * 1024 * 1024;
	store_set_limits(&lim);
}

static void
t_age(void)
{
	struct svc	*s;
	struct seg	*g;

	lim.max_age_sec = 3600;
	store_set_limits(&lim);
	s = store_svc(SVC2, 0);
	/* Make all but the newest segment look two hours old. */
	TAILQ_FOREACH(g, &s->segs, entry)
		if (g != store_seg_last(s))
			g->mtime = time(NULL) - 7200;
	store_expire(time(NULL));
	ok(TAILQ_FIRST(&s->segs) == store_seg_last(s),
	    "segments older than the age limit are gone");
	store_seg_last(s)->mtime = time(NULL) - 7200;
	store_expire(time(NULL));
	ok(TAILQ_FIRST(&s->segs) == NULL && disk_bytes(SVC2) == 0,
	    "the newest too, once it is that old");
	lim.max_age_sec = 0;
	store_set_limits(&lim);
}

static void
t_forget(void)
{
	struct svc	*s;
	struct stat	 st;

	s = store_svc(SVC, 0);
	store_forget(s);
	ok(store_svc(SVC, 0) == NULL && stat(SVC, &st) == -1,
	    "a forgotten service is gone from memory and disk");
	restart();
	ok(store_svc(SVC, 0) == NULL, "and stays gone after a restart");
}

static void
t_records(void)
{
	uint8_t		 buf[REC_HDR_LEN + 16];
	struct rec	 r, in;

	memset(&in, 0, sizeof(in));
	in.stream = 2;
	in.flags = REC_CUT;
	in.ts = T0;
	memcpy(in.cid, CID, LOGD_CID_LEN);
	in.line = "abc";
	in.len = 3;
	ok(rec_encode(buf, &in) == REC_HDR_LEN + 3 &&
	    rec_parse(buf, REC_HDR_LEN + 3, &r) == REC_HDR_LEN + 3 &&
	    r.stream == 2 && r.flags == REC_CUT && r.ts == T0 &&
	    strcmp(r.cid, CID) == 0 && r.len == 3 &&
	    memcmp(r.line, "abc", 3) == 0, "a record, encoded and parsed");
	ok(rec_parse(buf, REC_HDR_LEN + 2, &r) == 0 &&
	    rec_parse(buf, 5, &r) == 0, "a short one needs more bytes");
	buf[1] = 3;
	ok(rec_parse(buf, sizeof(buf), &r) == -1, "stream 3 is no record");
	buf[1] = 1;
	buf[16] = 'G';
	ok(rec_parse(buf, sizeof(buf), &r) == -1, "nor a container id "
	    "that is not hex");
	buf[16] = '0';
	buf[7] = 0x7f;
	ok(rec_parse(buf, sizeof(buf), &r) == -1, "nor a length over the "
	    "line bound");
	buf[7] = 0;
	buf[0] = 0;
	ok(rec_parse(buf, 3, &r) == -1, "nor a wrong first byte, however "
	    "short");
}

int
main(void)
{
	char	 dir[] = "/tmp/dkd-logd-store-XXXXXX";
	char	 cmd[128];

	plan(22);
	if (mkdtemp(dir) == NULL || chdir(dir) == -1)
		bail("mkdtemp");
	lim.svc_bytes = 16 * 1024 * 1024;
	lim.budget = 1024 * 1024 * 1024;
	store_init(&lim);
	if (store_load() == -1)
		bail("store_load");
	t_roundtrip();
	t_torn();
	t_meta();
	t_retention();
	t_age();
	t_forget();
	t_records();
	store_shutdown();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (chdir("/") == -1 || system(cmd) != 0)
		diag("could not remove %s", dir);
	return (done_testing());
}
