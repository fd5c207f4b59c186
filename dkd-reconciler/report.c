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

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "compat.h"
#include "log.h"
#include "reconciler.h"
#include "tree.h"
#include "worker.h"

/*
 * What the reconciler tells the master (contract, "Reconciler ->
 * master"): IMSG_REC_REPORT trees, and IMSG_REC_QUEUE at most once a
 * second when the queue's counts change.
 */

#define QUEUE_REPORT_MS		1000

static void
report_send(struct wbuf *wb)
{
	if (worker_send(IMSG_REC_REPORT, 0, -1, wb) == -1)
		log_warn("%s: send", __func__);
	wbuf_free(wb);
}

void
report_starting(const char *deployment_id)
{
	struct wbuf	 wb;

	log_debug("report: deployment %s starting", deployment_id);
	wbuf_init(&wb, 4096);
	tree_map(&wb);
	tree_kv_str(&wb, "kind", "starting");
	tree_kv_str(&wb, "deployment_id", deployment_id);
	tree_end(&wb);
	report_send(&wb);
}

void
report_attempt_failed(const char *deployment_id, const char *reason)
{
	struct wbuf	 wb;

	log_info("deployment %s: attempt failed: %s", deployment_id, reason);
	wbuf_init(&wb, 8192);
	tree_map(&wb);
	tree_kv_str(&wb, "kind", "attempt-failed");
	tree_kv_str(&wb, "deployment_id", deployment_id);
	tree_kv_str(&wb, "reason", reason);
	tree_end(&wb);
	report_send(&wb);
}

/* exit_code < 0: absent. */
void
report_failed(const char *deployment_id, const char *reason, int exit_code,
    const char *log_tail)
{
	struct wbuf	 wb;

	log_info("deployment %s: failed: %s", deployment_id, reason);
	wbuf_init(&wb, LOG_TAIL_MAX + 8192);
	tree_map(&wb);
	tree_kv_str(&wb, "kind", "failed");
	tree_kv_str(&wb, "deployment_id", deployment_id);
	tree_kv_str(&wb, "reason", reason);
	if (exit_code >= 0)
		tree_kv_int(&wb, "exit_code", exit_code);
	tree_kv_str(&wb, "log_tail", log_tail);
	tree_end(&wb);
	report_send(&wb);
}

void
report_healthy(const char *deployment_id, int baseline)
{
	struct wbuf	 wb;

	log_info("deployment %s: healthy (restart count %d)", deployment_id,
	    baseline);
	wbuf_init(&wb, 4096);
	tree_map(&wb);
	tree_kv_str(&wb, "kind", "healthy");
	tree_kv_str(&wb, "deployment_id", deployment_id);
	tree_kv_int(&wb, "baseline_restart_count", baseline);
	tree_end(&wb);
	report_send(&wb);
}

void
report_status(const char *service_id, const char *status)
{
	struct wbuf	 wb;

	log_debug("report: service %s %s", service_id, status);
	wbuf_init(&wb, 4096);
	tree_map(&wb);
	tree_kv_str(&wb, "kind", "service-status");
	tree_kv_str(&wb, "service_id", service_id);
	tree_kv_str(&wb, "status", status);
	tree_end(&wb);
	report_send(&wb);
}

/* Containers that belong to a slot: the only ones the master keeps. */
static int
ctr_reportable(const struct ctr *c)
{
	return (c->deployment_id[0] != '\0' && c->replica >= 0);
}

/* FNV-1a over what the master is told, to send it only on a change. */
static uint64_t
ctrs_signature(struct svc *s)
{
	struct ctr	*c;
	uint64_t	 h = 1469598103934665603ULL;
	const char	*parts[3];
	size_t		 i, j;
	char		 rep[16];

	TAILQ_FOREACH(c, &s->ctrs, entry) {
		if (!ctr_reportable(c))
			continue;
		(void)snprintf(rep, sizeof(rep), "%d", c->replica);
		parts[0] = c->id;
		parts[1] = c->state;
		parts[2] = rep;
		for (i = 0; i < nitems(parts); i++) {
			for (j = 0; parts[i][j] != '\0'; j++) {
				h ^= (unsigned char)parts[i][j];
				h *= 1099511628211ULL;
			}
			h ^= 0xff;
			h *= 1099511628211ULL;
		}
	}
	return (h);
}

/*
 * {service_id, containers: [...]}, when the set (or a state) differs
 * from what was last sent, and once per service after a start.
 */
void
report_containers(struct svc *s)
{
	struct wbuf	 wb;
	struct ctr	*c;
	uint64_t	 sig = ctrs_signature(s);

	if (s->ctrs_sent && sig == s->ctrs_sig)
		return;
	s->ctrs_sig = sig;
	s->ctrs_sent = 1;
	wbuf_init(&wb, DKD_IMSG_MAX_INTERNAL - 64);
	tree_map(&wb);
	tree_kv_str(&wb, "kind", "containers");
	tree_kv_str(&wb, "service_id", s->id);
	tree_key(&wb, "containers");
	tree_array(&wb);
	TAILQ_FOREACH(c, &s->ctrs, entry) {
		if (!ctr_reportable(c))
			continue;
		tree_map(&wb);
		tree_kv_str(&wb, "docker_id", c->id);
		tree_kv_str(&wb, "deployment_id", c->deployment_id);
		tree_kv_int(&wb, "replica", c->replica);
		tree_kv_str(&wb, "state", c->state[0] != '\0' ? c->state :
		    "unknown");
		tree_end(&wb);
	}
	tree_end(&wb);
	tree_end(&wb);
	report_send(&wb);
}

/* ---------------------------------------------------------------- queue */

static struct event	*queue_ev;
static int		 queue_sent;
static int64_t		 last_in_flight = -1, last_waiting = -1;
static int64_t		 last_backing_off = -1, last_services = -1;
static uint64_t		 queue_last_ms;

static void
queue_report(int fd, short event, void *arg)
{
	struct queue_stats	 st, sw;
	struct wbuf		 wb;

	queue_stats(rec->q, &st);
	queue_stats(rec->sweep_q, &sw);
	st.in_flight += sw.in_flight;
	st.waiting += sw.waiting;
	st.backing_off += sw.backing_off;
	if (queue_sent && st.in_flight == last_in_flight &&
	    st.waiting == last_waiting && st.backing_off == last_backing_off &&
	    (int64_t)rec->nsvcs == last_services)
		return;
	queue_sent = 1;
	last_in_flight = st.in_flight;
	last_waiting = st.waiting;
	last_backing_off = st.backing_off;
	last_services = (int64_t)rec->nsvcs;
	queue_last_ms = queue_now_ms();
	wbuf_init(&wb, 1024);
	tree_map(&wb);
	tree_kv_int(&wb, "in_flight", st.in_flight);
	tree_kv_int(&wb, "waiting", st.waiting);
	tree_kv_int(&wb, "backing_off", st.backing_off);
	tree_kv_int(&wb, "services", (int64_t)rec->nsvcs);
	tree_end(&wb);
	if (worker_send(IMSG_REC_QUEUE, 0, -1, &wb) == -1)
		log_warn("%s: send", __func__);
	wbuf_free(&wb);
}

/* Something changed: report it, but not more than once a second. */
void
report_queue_changed(void *arg)
{
	struct timeval	 tv = { 0, 0 };
	uint64_t	 now, wait = 0;

	if (queue_ev == NULL && (queue_ev = evtimer_new(rec->base,
	    queue_report, NULL)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	if (evtimer_pending(queue_ev, NULL))
		return;
	now = queue_now_ms();
	if (queue_sent && now - queue_last_ms < QUEUE_REPORT_MS)
		wait = QUEUE_REPORT_MS - (now - queue_last_ms);
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	evtimer_add(queue_ev, &tv);
}
