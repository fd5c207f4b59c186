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
 * dkd-logd's demultiplexer: Docker's framed and raw (TTY) log streams,
 * fed whole and cut at every byte, into lines with their stream and
 * time; long lines cut and marked; a broken frame header stops it.
 * Also the RFC 3339 times it reads and writes.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logd.h"
#include "logtime.h"
#include "tap.h"

#define T0	1767225600000000000LL	/* 2026-01-01T00:00:00Z */

struct got {
	int		 n;
	int		 stream[64];
	int64_t		 ts[64];
	int		 cut[64];
	size_t		 len[64];
	char		*line[64];
};

static void
collect(const struct demux_line *l, void *arg)
{
	struct got	*g = arg;

	if (g->n == 64)
		return;
	g->stream[g->n] = l->stream;
	g->ts[g->n] = l->ts;
	g->cut[g->n] = l->cut;
	g->len[g->n] = l->len;
	if ((g->line[g->n] = malloc(l->len + 1)) == NULL)
		bail("malloc");
	memcpy(g->line[g->n], l->data, l->len);
	g->line[g->n][l->len] = '\0';
	g->n++;
}

static void
got_free(struct got *g)
{
	int	 i;

	for (i = 0; i < g->n; i++)
		free(g->line[i]);
	memset(g, 0, sizeof(*g));
}

/* A frame: header and payload. */
static size_t
frame(uint8_t *out, int stream, const char *payload, size_t len)
{
	out[0] = (uint8_t)stream;
	out[1] = out[2] = out[3] = 0;
	out[4] = (uint8_t)(len >> 24);
	out[5] = (uint8_t)(len >> 16);
	out[6] = (uint8_t)(len >> 8);
	out[7] = (uint8_t)len;
	memcpy(out + 8, payload, len);
	return (8 + len);
}

/* Run buf through a demux in pieces of step bytes (0: whole). */
static int
run(int tty, const uint8_t *buf, size_t len, size_t step, struct got *g)
{
	struct demux	 d;
	size_t		 off, n;
	int		 rv = 0;

	memset(g, 0, sizeof(*g));
	demux_init(&d, tty, collect, g);
	for (off = 0; off < len && rv == 0; off += n) {
		n = step == 0 ? len - off : step;
		if (n > len - off)
			n = len - off;
		rv = demux_feed(&d, buf + off, n);
	}
	demux_end(&d);
	demux_free(&d);
	return (rv);
}

static uint8_t	 sample[4096];
static size_t	 sample_len;

/* Three lines as Docker frames them, a line split over two messages. */
static void
make_sample(void)
{
	char	 p[256];
	int	 n;

	sample_len = 0;
	n = snprintf(p, sizeof(p), "2026-01-01T00:00:00.5Z hello\n");
	sample_len += frame(sample + sample_len, 1, p, (size_t)n);
	n = snprintf(p, sizeof(p), "2026-01-01T00:00:01Z oops\n");
	sample_len += frame(sample + sample_len, 2, p, (size_t)n);
	n = snprintf(p, sizeof(p), "2026-01-01T00:00:02.000000001Z par");
	sample_len += frame(sample + sample_len, 1, p, (size_t)n);
	/* A stderr line between the two halves of a stdout line. */
	n = snprintf(p, sizeof(p), "2026-01-01T00:00:02.5Z between\n");
	sample_len += frame(sample + sample_len, 2, p, (size_t)n);
	n = snprintf(p, sizeof(p), "2026-01-01T00:00:02.000000001Z tial\n");
	sample_len += frame(sample + sample_len, 1, p, (size_t)n);
	/* An app that logs its own time: that stays in the line. */
	n = snprintf(p, sizeof(p),
	    "2026-01-01T00:00:03Z 2020-02-02T02:02:02Z app\n");
	sample_len += frame(sample + sample_len, 1, p, (size_t)n);
}

static int
sample_ok(const struct got *g)
{
	return (g->n == 5 &&
	    strcmp(g->line[0], "hello") == 0 && g->stream[0] == 1 &&
	    g->ts[0] == T0 + 500000000LL &&
	    strcmp(g->line[1], "oops") == 0 && g->stream[1] == 2 &&
	    g->ts[1] == T0 + 1000000000LL &&
	    strcmp(g->line[2], "between") == 0 && g->stream[2] == 2 &&
	    strcmp(g->line[3], "partial") == 0 && g->stream[3] == 1 &&
	    g->ts[3] == T0 + 2000000001LL &&
	    strcmp(g->line[4], "2020-02-02T02:02:02Z app") == 0 &&
	    g->ts[4] == T0 + 3000000000LL);
}

static void
t_mux(void)
{
	struct got	 g;
	size_t		 step, cut;
	int		 all = 1;

	make_sample();
	ok(run(0, sample, sample_len, 0, &g) == 0 && sample_ok(&g),
	    "framed stream, whole: lines, streams, times, a joined line");
	got_free(&g);
	for (step = 1; step <= 17; step++) {
		if (run(0, sample, sample_len, step, &g) != 0 ||
		    !sample_ok(&g))
			all = 0;
		got_free(&g);
	}
	ok(all, "framed stream in pieces of 1 to 17 bytes");
	/* Cut in two at every offset, headers and times included. */
	for (cut = 1; cut < sample_len && all; cut++) {
		struct demux	 d;

		memset(&g, 0, sizeof(g));
		demux_init(&d, 0, collect, &g);
		if (demux_feed(&d, sample, cut) != 0 ||
		    demux_feed(&d, sample + cut, sample_len - cut) != 0)
			all = 0;
		demux_end(&d);
		demux_free(&d);
		if (!sample_ok(&g))
			all = 0;
		got_free(&g);
	}
	ok(all, "framed stream cut in two at each of its %zu offsets",
	    sample_len - 1);
}

static void
t_tty(void)
{
	static const char	 raw[] =
	    "2026-01-01T00:00:00Z one\r\n"
	    "2026-01-01T00:00:01Z two\r\n"
	    "\r\n"
	    "2026-01-01T00:00:02Z \x1b[31mred\x1b[0m\r\n"
	    "2026-01-01T00:00:03Z last, no newline";
	struct got		 g;
	size_t			 step;
	int			 all = 1;

	for (step = 0; step <= 5; step++) {
		if (run(1, (const uint8_t *)raw, sizeof(raw) - 1, step,
		    &g) != 0 || g.n != 4 || strcmp(g.line[0], "one") != 0 ||
		    strcmp(g.line[1], "two") != 0 ||
		    strcmp(g.line[2], "\x1b[31mred\x1b[0m") != 0 ||
		    strcmp(g.line[3], "last, no newline") != 0 ||
		    g.ts[3] != T0 + 3000000000LL || g.stream[0] != 1)
			all = 0;
		got_free(&g);
	}
	ok(all, "TTY stream: \\r\\n, times, an empty line dropped, the last "
	    "line without a newline at the end");
}

static void
t_no_times(void)
{
	uint8_t		 buf[256];
	size_t		 len = 0;
	struct got	 g;

	len += frame(buf, 1, "plain line\n", 11);
	len += frame(buf + len, 3, "x\n", 2);
	len += frame(buf + len, 0, "2026-13-01T00:00:00Z no\n", 24);
	ok(run(0, buf, len, 0, &g) == 0 && g.n == 3 &&
	    strcmp(g.line[0], "plain line") == 0 && g.ts[0] == 0 &&
	    g.stream[1] == 2 && strcmp(g.line[2],
	    "2026-13-01T00:00:00Z no") == 0 && g.ts[2] == 0 &&
	    g.stream[2] == 1,
	    "lines without times; stream bytes 0 and 3; a time that is no "
	    "time stays text");
	got_free(&g);
}

static void
t_cut(void)
{
	uint8_t		*buf;
	char		*line;
	size_t		 len = 0, i, want = LOGD_LINE_MAX + 5000;
	struct got	 g;
	int		 step;

	if ((buf = malloc(want + 1024)) == NULL ||
	    (line = malloc(want + 64)) == NULL)
		bail("malloc");
	/* Unframed: a TTY stream with a long line, then a short one. */
	memcpy(line, "2026-01-01T00:00:00Z ", 21);
	memset(line + 21, 'x', want);
	memcpy(line + 21 + want, "\nok\n", 4);
	for (step = 0; step <= 1; step++) {
		ok(run(1, (uint8_t *)line, 21 + want + 4,
		    step ? 4000 : 0, &g) == 0 && g.n == 2 &&
		    g.len[0] == LOGD_LINE_MAX && g.cut[0] &&
		    strcmp(g.line[1], "ok") == 0 && !g.cut[1],
		    "a line of %zu bytes is cut at %d and marked (%s)", want,
		    LOGD_LINE_MAX, step ? "in pieces" : "whole");
		got_free(&g);
	}
	/* Framed as Docker does: 16 KiB messages with the same time. */
	for (i = 0; i < want; i += 16384) {
		size_t	 n = i + 16384 < want ? 16384 : want - i;
		char	 msg[16384 + 64];

		memcpy(msg, "2026-01-01T00:00:09Z ", 21);
		memset(msg + 21, 'y', n);
		if (i + n == want)
			msg[21 + n++] = '\n';
		len += frame(buf + len, 1, msg, 21 + n);
	}
	len += frame(buf + len, 1, "2026-01-01T00:00:10Z next\n", 26);
	ok(run(0, buf, len, 999, &g) == 0 && g.n == 2 &&
	    g.len[0] == LOGD_LINE_MAX && g.cut[0] &&
	    g.ts[0] == T0 + 9000000000LL && memchr(g.line[0], '2',
	    g.len[0]) == NULL && strcmp(g.line[1], "next") == 0,
	    "a long line in 16 KiB messages: times stripped from each, cut, "
	    "marked");
	got_free(&g);
	free(buf);
	free(line);
}

static void
t_broken(void)
{
	static const uint8_t	 bad[] = { 1, 0, 0, 0, 0, 0, 0, 3, 'a', 'b',
	    '\n', 7, 0, 0, 0, 0, 0, 0, 1, 'z' };
	static const uint8_t	 bad2[] = { 2, 0, 1, 0, 0, 0, 0, 1, 'q' };
	struct demux		 d;
	struct got		 g;

	memset(&g, 0, sizeof(g));
	demux_init(&d, 0, collect, &g);
	ok(demux_feed(&d, bad, sizeof(bad)) == -1 && g.n == 1 &&
	    strcmp(g.line[0], "ab") == 0,
	    "a frame header with stream byte 7: the lines before it, then "
	    "-1");
	ok(demux_feed(&d, "\n", 1) == -1, "and -1 for all that follows");
	demux_end(&d);
	demux_free(&d);
	got_free(&g);
	ok(run(0, bad2, sizeof(bad2), 1, &g) == -1 && g.n == 0,
	    "a header with a byte that must be zero");
	got_free(&g);
}

static void
t_empty_and_frames(void)
{
	uint8_t		 buf[256];
	size_t		 len = 0;
	struct got	 g;

	len += frame(buf, 1, "", 0);
	len += frame(buf + len, 1, "2026-01-01T00:00:00Z \n", 22);
	len += frame(buf + len, 1, "\n\n\na\n", 5);
	ok(run(0, buf, len, 1, &g) == 0 && g.n == 1 &&
	    strcmp(g.line[0], "a") == 0,
	    "empty frames and empty lines are dropped");
	got_free(&g);
}

static void
t_times(void)
{
	char		 out[LOGTIME_LEN + 1], u[LOGTIME_UNIX_LEN + 1];
	int64_t		 ns;
	static const char *bad[] = {
		"2026-02-29T00:00:00Z", "2026-01-01T24:00:00Z",
		"2026-01-01T00:00:00", "2026-01-01T00:00:00.Z",
		"2026-01-01T00:00:00.1234567890Z", "1969-12-31T23:59:59Z",
		"2263-01-01T00:00:00Z", "2026-01-01 00:00:00Z",
		"2026-01-01T00:00:00+0100", "2026-01-01T00:00:00ZZ", "",
	};
	size_t		 i;
	int		 all = 1;

	ok(logtime_parse("2026-01-01T00:00:00Z", 20, &ns) == 0 && ns == T0,
	    "parse a whole second");
	ok(logtime_parse("2026-01-01T01:00:00.123+01:00", 29, &ns) == 0 &&
	    ns == T0 + 123000000LL, "parse a fraction and an offset");
	ok(logtime_parse("2024-02-29T12:34:56.999999999Z", 30, &ns) == 0 &&
	    ns == 1709210096999999999LL, "parse a leap day, nine digits");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (logtime_parse(bad[i], strlen(bad[i]), &ns) != -1) {
			diag("accepted %s", bad[i]);
			all = 0;
		}
	ok(all, "%zu malformed or out-of-range times refused",
	    sizeof(bad) / sizeof(bad[0]));
	logtime_format(T0 + 5, out);
	ok(strcmp(out, "2026-01-01T00:00:00.000000005Z") == 0,
	    "format: %s", out);
	logtime_format(1709210096999999999LL, out);
	ok(logtime_parse(out, strlen(out), &ns) == 0 &&
	    ns == 1709210096999999999LL, "format and parse back: %s", out);
	logtime_unix(T0 + 42, u);
	ok(strcmp(u, "1767225600.000000042") == 0,
	    "Docker's since= form: %s", u);
}

int
main(void)
{
	plan(19);
	t_mux();
	t_tty();
	t_no_times();
	t_cut();
	t_broken();
	t_empty_and_frames();
	t_times();
	return (done_testing());
}
