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
 * The reconciler's work queue (spec 13.1): FIFO, coalescing, never the
 * same key twice at once, dirty keys re-queued on Done, AddAfter,
 * backoff 1 s doubling to 30 s, Forget, at most N in flight.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "reconciler.h"
#include "tap.h"

static struct event_base	*base;

static int
is(const char *got, const char *want)
{
	if (got == NULL || want == NULL)
		return (got == want);
	return (strcmp(got, want) == 0);
}

/* Run the loop for ms milliseconds. */
static void
run_for(int ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void
test_fifo_and_coalescing(void)
{
	struct queue		*q;
	struct queue_stats	 st;

	q = queue_new(base, "t", 10, NULL, NULL);
	queue_add(q, "a");
	queue_add(q, "b");
	queue_add(q, "a");
	queue_add(q, "c");
	queue_add(q, "b");
	queue_stats(q, &st);
	ok(st.waiting == 3, "three distinct keys wait (%d)", st.waiting);
	ok(is(queue_get(q), "a") && is(queue_get(q), "b") &&
	    is(queue_get(q), "c"), "handed out in FIFO order, once each");
	ok(queue_get(q) == NULL, "then nothing");
	queue_stats(q, &st);
	ok(st.in_flight == 3 && st.waiting == 0, "three in flight");
	queue_done(q, "a");
	queue_done(q, "b");
	queue_done(q, "c");
	queue_stats(q, &st);
	ok(st.in_flight == 0 && st.waiting == 0 && queue_get(q) == NULL,
	    "done: empty");
	queue_free(q);
}

static void
test_never_twice(void)
{
	struct queue	*q;

	q = queue_new(base, "t", 10, NULL, NULL);
	queue_add(q, "a");
	queue_add(q, "b");
	ok(is(queue_get(q), "a"), "a out");
	queue_add(q, "a");
	queue_add(q, "a");
	ok(is(queue_get(q), "b"), "a added while out is not handed out "
	    "again; b is next");
	ok(queue_get(q) == NULL, "nothing else");
	ok(queue_processing(q, "a"), "a is being processed");
	queue_done(q, "a");
	ok(is(queue_get(q), "a"), "a dirty: re-queued on Done");
	ok(queue_get(q) == NULL, "only once");
	queue_done(q, "a");
	ok(queue_get(q) == NULL, "a done without an Add: not re-queued");
	queue_add(q, "c");
	queue_done(q, "b");
	queue_add(q, "b");
	ok(is(queue_get(q), "c") && is(queue_get(q), "b"),
	    "a re-queued key goes to the back");
	queue_done(q, "b");
	queue_done(q, "c");
	queue_free(q);
}

static void
test_add_after(void)
{
	struct queue		*q;
	struct queue_stats	 st;
	uint64_t		 t0;

	q = queue_new(base, "t", 10, NULL, NULL);
	t0 = queue_now_ms();
	queue_add_after(q, "a", 150);
	queue_add_after(q, "a", 5000);
	queue_add_after(q, "b", 400);
	queue_add_after(q, "b", 60);
	ok(queue_get(q) == NULL, "AddAfter: not at once");
	queue_stats(q, &st);
	ok(st.delayed == 2 && st.backing_off == 0, "two delayed keys");
	run_for(100);
	ok(is(queue_get(q), "b"), "the earlier delay wins (b at 60 ms)");
	ok(queue_get(q) == NULL, "a not yet");
	run_for(100);
	ok(is(queue_get(q), "a"), "a after its 150 ms, not 5 s");
	ok(queue_now_ms() - t0 >= 150, "not early");
	queue_stats(q, &st);
	ok(st.delayed == 0, "no timer left");
	queue_done(q, "a");

	/* A timer that fires while the key is out makes it dirty. */
	queue_add_after(q, "b", 30);
	run_for(60);
	ok(queue_get(q) == NULL, "b still out: not handed out twice");
	queue_done(q, "b");
	ok(is(queue_get(q), "b"), "re-queued on Done");
	queue_done(q, "b");
	queue_add_after(q, "c", 0);
	ok(is(queue_get(q), "c"), "AddAfter 0 is an Add");
	queue_done(q, "c");
	queue_free(q);
}

static void
test_rate_limit(void)
{
	struct queue		*q;
	struct queue_stats	 st;
	uint64_t		 want[] = { 1000, 2000, 4000, 8000, 16000,
				    30000, 30000, 30000 };
	size_t			 i;
	int			 good = 1;

	for (i = 0; i < nitems(want); i++)
		if (queue_backoff_ms((int)i + 1) != want[i]) {
			diag("failure %zu: %llu ms", i + 1,
			    (unsigned long long)queue_backoff_ms((int)i + 1));
			good = 0;
		}
	ok(good, "backoff 1 s, 2, 4, 8, 16, then 30 s");
	ok(queue_backoff_ms(1000) == 30000, "capped for huge counts");

	q = queue_new(base, "t", 10, NULL, NULL);
	queue_add_rate_limited(q, "a");
	ok(queue_failures(q, "a") == 1, "one failure");
	queue_stats(q, &st);
	ok(st.backing_off == 1 && st.waiting == 0, "backing off, not "
	    "waiting");
	ok(queue_get(q) == NULL, "not before 1 s");
	run_for(700);
	ok(queue_get(q) == NULL, "not at 0.7 s");
	run_for(450);
	ok(is(queue_get(q), "a"), "after 1 s");
	queue_stats(q, &st);
	ok(st.backing_off == 0, "no longer backing off");
	queue_add_rate_limited(q, "a");
	queue_add_rate_limited(q, "a");
	ok(queue_failures(q, "a") == 3, "failures count up");
	queue_forget(q, "a");
	ok(queue_failures(q, "a") == 0, "Forget resets them");
	queue_add_rate_limited(q, "a");
	ok(queue_failures(q, "a") == 1, "the next failure is the first");
	queue_done(q, "a");
	queue_add(q, "a");
	ok(is(queue_get(q), "a"), "an Add does not wait for a backoff");
	queue_done(q, "a");
	queue_free(q);
}

static int	 processed_n;
static char	 processed[16][8];

static void
record(struct queue *q, const char *key, void *arg)
{
	if (processed_n < 16)
		strlcpy(processed[processed_n++], key, sizeof(processed[0]));
}

static void
test_in_flight(void)
{
	struct queue		*q;
	struct queue_stats	 st;
	const char		*keys[] = { "k1", "k2", "k3", "k4", "k5",
				    "k6" };
	size_t			 i;

	q = queue_new(base, "t", 4, record, NULL);
	for (i = 0; i < nitems(keys); i++)
		queue_add(q, keys[i]);
	ok(processed_n == 0, "nothing runs inside queue_add");
	run_for(20);
	queue_stats(q, &st);
	ok(processed_n == 4 && st.in_flight == 4 && st.waiting == 2,
	    "four in flight, two wait (%d, %d, %d)", processed_n,
	    st.in_flight, st.waiting);
	ok(is(processed[0], "k1") && is(processed[3], "k4"), "in order");
	queue_done(q, "k2");
	run_for(20);
	ok(processed_n == 5 && is(processed[4], "k5"),
	    "a Done lets the next one in");
	queue_add(q, "k1");
	queue_done(q, "k1");
	queue_done(q, "k3");
	run_for(20);
	ok(processed_n == 7 && is(processed[5], "k6") &&
	    is(processed[6], "k1"), "k6, then the dirty k1");
	queue_stats(q, &st);
	ok(st.in_flight == 4 && st.waiting == 0, "four in flight again");

	queue_add_after(q, "k9", 10);
	queue_shutdown(q);
	queue_add(q, "k8");
	run_for(40);
	ok(processed_n == 7, "after Shutdown: no Add, no timer");
	queue_free(q);
}

int
main(void)
{
	log_init(1, 0);
	log_setlevel(LOG_LEVEL_WARN);
	if ((base = event_base_new()) == NULL)
		bail("event_base_new");
	plan(42);
	test_fifo_and_coalescing();
	test_never_twice();
	test_add_after();
	test_rate_limit();
	test_in_flight();
	event_base_free(base);
	return (done_testing());
}
