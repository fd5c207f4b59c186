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
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dkd.h"
#include "log.h"

/*
 * Login throttling, in memory: at most EMAIL_LIMIT failed logins per
 * email and ADDR_LIMIT per client address within WINDOW seconds.  An
 * attempt counts from the moment it is let through, not when its hash
 * has been checked: otherwise a burst of parallel guesses would all
 * pass while the first are still being hashed.  A success clears the
 * email's record and takes its own attempt back from the address.
 * Tables are bounded; at the bound the entry idle longest is dropped.
 */

#define WINDOW		(15 * 60)
#define EMAIL_LIMIT	5
#define ADDR_LIMIT	20
#define TABLE_MAX	10000

struct strike {
	RB_ENTRY(strike)	 entry;
	char			*key;
	time_t			 times[ADDR_LIMIT];
	int			 n;
	time_t			 last;
};

static int	strike_cmp(struct strike *, struct strike *);
RB_HEAD(strikes, strike);
RB_PROTOTYPE_STATIC(strikes, strike, entry, strike_cmp)
RB_GENERATE_STATIC(strikes, strike, entry, strike_cmp)

static struct strikes	 by_email = RB_INITIALIZER(&by_email);
static struct strikes	 by_addr = RB_INITIALIZER(&by_addr);
static int		 n_email, n_addr;

static int
strike_cmp(struct strike *a, struct strike *b)
{
	return (strcmp(a->key, b->key));
}

static void
strike_free(struct strikes *t, int *count, struct strike *s)
{
	RB_REMOVE(strikes, t, s);
	(*count)--;
	free(s->key);
	free(s);
}

/* Forget failures older than the window; -> how many remain. */
static int
strike_expire(struct strike *s, time_t now)
{
	int	 i, j;

	for (i = j = 0; i < s->n; i++)
		if (now - s->times[i] < WINDOW)
			s->times[j++] = s->times[i];
	s->n = j;
	return (j);
}

static struct strike *
strike_find(struct strikes *t, const char *key)
{
	struct strike	 k;

	k.key = (char *)key;
	return (RB_FIND(strikes, t, &k));
}

/* Seconds until the oldest failure leaves the window, if at limit. */
static int
strike_wait(struct strikes *t, int *count, const char *key, int limit,
    time_t now)
{
	struct strike	*s;

	if (key == NULL || (s = strike_find(t, key)) == NULL)
		return (0);
	if (strike_expire(s, now) == 0) {
		strike_free(t, count, s);
		return (0);
	}
	if (s->n < limit)
		return (0);
	return ((int)(WINDOW - (now - s->times[s->n - limit])));
}

static int
strike_add(struct strikes *t, int *count, const char *key, int limit,
    time_t now)
{
	struct strike	*s, *old, *it;

	if ((s = strike_find(t, key)) == NULL) {
		if (*count >= TABLE_MAX) {
			old = NULL;
			RB_FOREACH(it, strikes, t)
				if (old == NULL || it->last < old->last)
					old = it;
			strike_free(t, count, old);
		}
		if ((s = calloc(1, sizeof(*s))) == NULL ||
		    (s->key = strdup(key)) == NULL) {
			free(s);
			log_warn("%s", __func__);
			return (-1);
		}
		RB_INSERT(strikes, t, s);
		(*count)++;
	}
	(void)strike_expire(s, now);
	if (s->n == limit) {
		memmove(&s->times[0], &s->times[1],
		    (size_t)(limit - 1) * sizeof(s->times[0]));
		s->n--;
	}
	s->times[s->n++] = now;
	s->last = now;
	return (0);
}

/* Take back the attempt made at when, if it is still recorded. */
static void
strike_remove(struct strikes *t, int *count, const char *key, time_t when)
{
	struct strike	*s;
	int		 i;

	if (key == NULL || (s = strike_find(t, key)) == NULL)
		return;
	for (i = s->n - 1; i >= 0; i--) {
		if (s->times[i] != when)
			continue;
		memmove(&s->times[i], &s->times[i + 1],
		    (size_t)(s->n - i - 1) * sizeof(s->times[0]));
		if (--s->n == 0)
			strike_free(t, count, s);
		return;
	}
}

static int
addr_known(const char *addr)
{
	return (addr != NULL && *addr != '\0');
}

/*
 * May a password be tried for email from addr?  0: yes, and the attempt
 * is counted as a failure (at *when) until throttle_success or
 * throttle_forget says otherwise.  Else the seconds to wait.
 */
int
throttle_try(const char *email, const char *addr, time_t *when)
{
	time_t	 now = time(NULL);
	int	 a, b;

	a = strike_wait(&by_email, &n_email, email, EMAIL_LIMIT, now);
	b = strike_wait(&by_addr, &n_addr, addr, ADDR_LIMIT, now);
	if (a > 0 || b > 0)
		return (MAXIMUM(a, b));
	/* An attempt that cannot be counted is not let through. */
	if (strike_add(&by_email, &n_email, email, EMAIL_LIMIT, now) == -1)
		return (1);
	if (addr_known(addr) &&
	    strike_add(&by_addr, &n_addr, addr, ADDR_LIMIT, now) == -1) {
		strike_remove(&by_email, &n_email, email, now);
		return (1);
	}
	*when = now;
	return (0);
}

/* The password was right: the email starts afresh. */
void
throttle_success(const char *email, const char *addr, time_t when)
{
	struct strike	*s;

	if ((s = strike_find(&by_email, email)) != NULL)
		strike_free(&by_email, &n_email, s);
	if (addr_known(addr))
		strike_remove(&by_addr, &n_addr, addr, when);
}

/* The attempt never got to a password check (busy, internal error). */
void
throttle_forget(const char *email, const char *addr, time_t when)
{
	strike_remove(&by_email, &n_email, email, when);
	if (addr_known(addr))
		strike_remove(&by_addr, &n_addr, addr, when);
}
