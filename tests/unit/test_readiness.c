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
 * The readiness gate of spec 13.2 step 4, one slot at a time: bad
 * observations (exited, dead, restarting, a restart count that rose),
 * three in a row fail a replica, a good one resets the count, ready
 * after the window since the container started, the baseline of a
 * healthy deployment, looks that do not count, failure reasons.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reconciler.h"
#include "tap.h"

#define WINDOW	10000
#define T0	1000000000000LL		/* a wall clock, ms */

static struct svc	 svc;

static struct obs
running(int restarts, int64_t started)
{
	struct obs	 o;

	memset(&o, 0, sizeof(o));
	o.present = o.inspected = 1;
	o.status = "running";
	o.restart_count = restarts;
	o.started_at_ms = started;
	return (o);
}

static struct obs
state(const char *status, int restarts, int exit_code)
{
	struct obs	 o = running(restarts, T0);

	o.status = status;
	o.exit_code = exit_code;
	return (o);
}

static void
dep_init(struct msg_rec_deployment *d, const char *id, const char *status,
    int baseline)
{
	memset(d, 0, sizeof(*d));
	strlcpy(d->id, id, sizeof(d->id));
	strlcpy(d->status, status, sizeof(d->status));
	d->replicas = 1;
	d->baseline_restart_count = baseline;
}

/* Replica 0 of a new deployment, as first seen in o. */
static struct slotmem *
slot_of(struct msg_rec_deployment *d, const char *id, const char *status,
    int baseline, struct obs *o)
{
	dep_init(d, id, status, baseline);
	return (readiness_slot(&svc, d, 0, o));
}

static void
test_window(void)
{
	struct msg_rec_deployment	 d;
	struct slotmem			*m;
	struct slot_verdict		 v;
	struct obs			 o = running(0, T0);

	m = slot_of(&d, "d1", "starting", 0, &o);
	readiness_observe(m, &o, T0 + 4000, WINDOW, 1, &v);
	ok(!v.ready && !v.bad && v.ready_in_ms == 6000,
	    "running 4 s of a 10 s window: not ready, 6 s to go");
	readiness_observe(m, &o, T0 + WINDOW, WINDOW, 0, &v);
	ok(v.ready && !v.bad, "ready at the window, on any look");
	o.started_at_ms = T0 + 9000;
	readiness_observe(m, &o, T0 + WINDOW, WINDOW, 1, &v);
	ok(!v.ready, "a container started again needs a new window");
	o = state("created", 0, 0);
	readiness_observe(m, &o, T0 + 99000, WINDOW, 1, &v);
	ok(!v.ready && !v.bad, "created: neither ready nor bad");
	readiness_forget_all(&svc);
}

static void
test_bad_in_a_row(void)
{
	struct msg_rec_deployment	 d;
	struct slotmem			*m;
	struct slot_verdict		 v;
	struct obs			 o = running(0, T0);
	char				 reason[128];

	m = slot_of(&d, "d1", "starting", 0, &o);
	readiness_observe(m, &o, T0 + 1000, WINDOW, 1, &v);
	o = state("exited", 0, 3);
	readiness_observe(m, &o, T0 + 2000, WINDOW, 1, &v);
	ok(v.bad && !v.failed && m->bad == 1, "exited: one bad look");
	o = running(1, T0 + 2500);
	readiness_observe(m, &o, T0 + 4000, WINDOW, 1, &v);
	ok(v.bad && m->bad == 2, "restart count rose: two in a row");
	o = running(1, T0 + 2500);
	readiness_observe(m, &o, T0 + 6000, WINDOW, 1, &v);
	ok(!v.bad && m->bad == 0, "a good look resets the count");
	o = state("restarting", 2, 3);
	readiness_observe(m, &o, T0 + 8000, WINDOW, 1, &v);
	o = state("restarting", 3, 3);
	readiness_observe(m, &o, T0 + 10000, WINDOW, 1, &v);
	ok(v.bad && !v.failed, "two bad again");
	o = state("dead", 3, 137);
	readiness_observe(m, &o, T0 + 12000, WINDOW, 1, &v);
	ok(v.failed, "three bad looks in a row fail the replica");
	readiness_failure_reason(&o, o.restart_count, reason,
	    sizeof(reason));
	ok(strcmp(reason, "container exited with code 137") == 0,
	    "reason: %s", reason);
	o = state("restarting", 4, 1);
	readiness_failure_reason(&o, o.restart_count, reason,
	    sizeof(reason));
	ok(strcmp(reason, "container is restarting (restart count 4)") == 0,
	    "reason: %s", reason);
	readiness_forget_all(&svc);
}

static void
test_uncounted_looks(void)
{
	struct msg_rec_deployment	 d;
	struct slotmem			*m;
	struct slot_verdict		 v;
	struct obs			 o = running(0, T0);

	m = slot_of(&d, "d1", "starting", 0, &o);
	readiness_observe(m, &o, T0 + 1000, WINDOW, 1, &v);
	o = state("exited", 0, 1);
	readiness_observe(m, &o, T0 + 1100, WINDOW, 0, &v);
	readiness_observe(m, &o, T0 + 1200, WINDOW, 0, &v);
	readiness_observe(m, &o, T0 + 1300, WINDOW, 0, &v);
	ok(v.bad && !v.failed && m->bad == 0,
	    "looks between the counted ones neither count nor fail");
	o = running(1, T0 + 1400);
	readiness_observe(m, &o, T0 + 1500, WINDOW, 0, &v);
	ok(v.bad, "a restart seen between counted looks is still bad");
	readiness_observe(m, &o, T0 + 3000, WINDOW, 1, &v);
	ok(v.bad && m->bad == 1 && m->last_restart_count == 1,
	    "and counts at the next counted look");
	readiness_forget_all(&svc);
}

static void
test_baseline(void)
{
	struct msg_rec_deployment	 d;
	struct slotmem			*m;
	struct slot_verdict		 v;
	struct obs			 o = running(2, T0);

	/* Healthy, promoted after two restarts: a new reconciler. */
	m = slot_of(&d, "d2", "healthy", 2, &o);
	ok(m->last_restart_count == 2, "seeded from the baseline");
	readiness_observe(m, &o, T0 + 20000, WINDOW, 1, &v);
	ok(!v.bad && v.ready, "restarts before promotion: no alarm");
	readiness_forget_all(&svc);

	o = running(2, T0);
	m = slot_of(&d, "d3", "healthy", 0, &o);
	readiness_observe(m, &o, T0 + 20000, WINDOW, 1, &v);
	ok(v.bad, "restarts after promotion (above the baseline) are bad");
	readiness_forget_all(&svc);

	o = running(5, T0);
	m = slot_of(&d, "d4", "starting", 0, &o);
	readiness_observe(m, &o, T0 + 20000, WINDOW, 1, &v);
	ok(!v.bad && v.ready && m->max_restart_count == 5,
	    "a starting one counts from what it sees first");
	readiness_forget_all(&svc);
}

static void
test_memory(void)
{
	struct msg_rec_deployment	 d1, d2;
	struct slotmem			*m;
	struct obs			 o = running(0, T0);
	int				 n = 0;

	dep_init(&d1, "d1", "starting", 0);
	dep_init(&d2, "d2", "starting", 0);
	(void)readiness_slot(&svc, &d1, 0, &o);
	(void)readiness_slot(&svc, &d1, 1, &o);
	(void)readiness_slot(&svc, &d2, 0, &o);
	ok(readiness_slot(&svc, &d1, 0, &o) == TAILQ_FIRST(&svc.mem),
	    "a slot keeps its memory");
	readiness_begin(&svc);
	(void)readiness_slot(&svc, &d1, 1, &o);
	readiness_end(&svc);
	TAILQ_FOREACH(m, &svc.mem, entry)
		n++;
	ok(n == 1 && TAILQ_FIRST(&svc.mem)->replica == 1,
	    "slots not seen in a pass are forgotten");
	(void)readiness_slot(&svc, &d2, 0, &o);
	readiness_forget_dep(&svc, "d1");
	ok(strcmp(TAILQ_FIRST(&svc.mem)->deployment_id, "d2") == 0 &&
	    TAILQ_NEXT(TAILQ_FIRST(&svc.mem), entry) == NULL,
	    "a deployment's memory goes with it");
	readiness_forget_all(&svc);
}

/*
 * The engine restarts (dockerd stopped and started): it stops our
 * containers (exit 143), goes away, comes back and starts them again
 * on its own, their restart counts unchanged.  However long it stays
 * away, none of that fails the deployment, and it is ready once the
 * containers have run for the window again.
 */
static void
test_engine_restart(void)
{
	struct msg_rec_deployment	 d;
	struct slotmem			*m;
	struct slot_verdict		 v;
	struct obs			 o = running(0, T0);
	int64_t				 lost = T0 + 3000, back = -1, t;
	int				 failed = 0, bad = 0;

	dep_init(&d, "d1", "starting", 0);
	m = readiness_slot(&svc, &d, 0, &o);
	readiness_observe(m, &o, T0 + 1000, WINDOW, 1, &v);
	/* Seen exited just before the engine's stream broke. */
	o = state("exited", 0, 143);
	o.finished_at_ms = T0 + 2000;
	o.engine_stop = readiness_engine_stop(&o, 0, 0, T0 + 2100);
	readiness_observe(m, &o, T0 + 2100, WINDOW, 1, &v);
	ok(!o.engine_stop && v.bad && !v.failed,
	    "an exit before the engine is known to go: one bad look");
	/* Away for a minute, then back but not yet restarting it. */
	for (t = T0 + 4000; t < T0 + 70000; t += 2000) {
		if (t >= T0 + 64000 && back < 0)
			back = t;
		o.engine_stop = readiness_engine_stop(&o, lost, back, t);
		readiness_observe(m, &o, t, WINDOW, 1, &v);
		bad += v.bad;
		failed += v.failed;
	}
	ok(!failed && !bad && m->bad == 0,
	    "exited while the engine was away: no bad look, no failure");
	/* The engine started it again: the same restart count. */
	o = running(0, T0 + 70000);
	o.engine_stop = readiness_engine_stop(&o, lost, back, T0 + 71000);
	readiness_observe(m, &o, T0 + 71000, WINDOW, 1, &v);
	ok(!v.bad && !v.ready && m->bad == 0, "running again: a good look");
	readiness_observe(m, &o, T0 + 70000 + WINDOW, WINDOW, 1, &v);
	ok(v.ready, "ready a window after the engine started it again");
	readiness_forget_all(&svc);
}

/* What the engine's outage does not cover still counts. */
static void
test_engine_stop_bounds(void)
{
	struct obs	 o = state("exited", 0, 1);
	int64_t		 lost = T0 + 20000, back = T0 + 25000;

	o.finished_at_ms = T0 + 22000;
	ok(readiness_engine_stop(&o, lost, -1, T0 + 23000) &&
	    readiness_engine_stop(&o, lost, back, T0 + 26000),
	    "an exit in the outage is the engine's");
	o.finished_at_ms = lost - ENGINE_STOP_MS + 1000;
	ok(readiness_engine_stop(&o, lost, back, T0 + 26000),
	    "so is one while it stopped containers before it went");
	o.finished_at_ms = lost - ENGINE_STOP_MS - 1000;
	ok(!readiness_engine_stop(&o, lost, back, T0 + 26000),
	    "an exit long before the engine went is the container's");
	o.finished_at_ms = back + 1000;
	ok(!readiness_engine_stop(&o, lost, back, back + 2000),
	    "an exit after the engine came back is the container's");
	o.finished_at_ms = T0 + 22000;
	ok(!readiness_engine_stop(&o, lost, back,
	    back + ENGINE_RESTART_GRACE_MS),
	    "once the engine has had time to start it again, it counts");
	ok(!readiness_engine_stop(&o, 0, 0, T0 + 23000),
	    "no outage, no excuse");
	o = state("restarting", 1, 1);
	o.finished_at_ms = T0 + 22000;
	ok(!readiness_engine_stop(&o, lost, -1, T0 + 23000),
	    "restarting is its restart policy: the container's doing");
}

int
main(void)
{
	log_init(1, 0);
	log_setlevel(LOG_LEVEL_WARN);
	TAILQ_INIT(&svc.mem);
	plan(32);
	test_window();
	test_bad_in_a_row();
	test_uncounted_looks();
	test_baseline();
	test_memory();
	test_engine_restart();
	test_engine_stop_bounds();
	return (done_testing());
}
