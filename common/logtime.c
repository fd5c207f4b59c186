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

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "logtime.h"

#define NSEC	1000000000LL

/*
 * Days since 1970-01-01 of a proleptic Gregorian date (the civil
 * algorithm of H. Hinnant's date library, written out from its
 * description): no time zone files, which a jail does not have.
 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	 era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
digits(const char *s, size_t n, int *out)
{
	size_t	 i;
	int	 v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return (0);
}

static int
month_days(int64_t y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return (29);
	return (days[m - 1]);
}

/*
 * RFC 3339 of exactly len bytes (no NUL needed): a date, 'T', a time,
 * an optional fraction of up to nine digits, then 'Z' or +hh:mm.
 * Years 1970 to 2262, which is what fits in signed nanoseconds.
 */
int
logtime_parse(const char *s, size_t len, int64_t *ns)
{
	int	 year, mon, day, hh, mm, ss, frac = 0, ndig = 0, oh, om, sign;
	size_t	 p;
	int64_t	 secs, off = 0;

	if (len < 20 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return (-1);
	if (digits(s, 4, &year) == -1 || digits(s + 5, 2, &mon) == -1 ||
	    digits(s + 8, 2, &day) == -1 || digits(s + 11, 2, &hh) == -1 ||
	    digits(s + 14, 2, &mm) == -1 || digits(s + 17, 2, &ss) == -1)
		return (-1);
	if (year < 1970 || year > 2262 || mon < 1 || mon > 12 || day < 1 ||
	    day > month_days(year, mon) || hh > 23 || mm > 59 || ss > 60)
		return (-1);
	p = 19;
	if (p < len && s[p] == '.') {
		p++;
		while (p < len && s[p] >= '0' && s[p] <= '9') {
			if (ndig == 9)
				return (-1);
			frac = frac * 10 + (s[p++] - '0');
			ndig++;
		}
		if (ndig == 0)
			return (-1);
		for (; ndig < 9; ndig++)
			frac *= 10;
	}
	if (p == len)
		return (-1);
	if (s[p] == 'Z' || s[p] == 'z')
		p++;
	else if (s[p] == '+' || s[p] == '-') {
		sign = s[p] == '+' ? 1 : -1;
		if (len - p < 6 || s[p + 3] != ':' ||
		    digits(s + p + 1, 2, &oh) == -1 ||
		    digits(s + p + 4, 2, &om) == -1 || oh > 23 || om > 59)
			return (-1);
		off = sign * (oh * 3600LL + om * 60LL);
		p += 6;
	} else
		return (-1);
	if (p != len)
		return (-1);
	secs = days_from_civil(year, mon, day) * 86400LL + hh * 3600LL +
	    mm * 60LL + ss - off;
	if (secs < 0 || secs > INT64_MAX / NSEC - 1)
		return (-1);
	*ns = secs * NSEC + frac;
	return (0);
}

void
logtime_format(int64_t ns, char out[LOGTIME_LEN + 1])
{
	int64_t	 secs, days, rem, y;
	int	 m, d;
	char	 buf[64];

	if (ns < 0)
		ns = 0;
	secs = ns / NSEC;
	days = secs / 86400;
	rem = secs % 86400;
	civil_from_days(days, &y, &m, &d);
	(void)snprintf(buf, sizeof(buf),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", (int)y, m, d,
	    (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
	    (int)(ns % NSEC));
	strlcpy(out, buf, LOGTIME_LEN + 1);
}

void
logtime_unix(int64_t ns, char out[LOGTIME_UNIX_LEN + 1])
{
	if (ns < 0)
		ns = 0;
	(void)snprintf(out, LOGTIME_UNIX_LEN + 1, "%lld.%09lld",
	    (long long)(ns / NSEC), (long long)(ns % NSEC));
}

int64_t
logtime_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * NSEC + ts.tv_nsec);
}
