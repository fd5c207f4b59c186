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
#include "worker.h"

/*
 * What the reconciler tells the master (contract, "Reconciler ->
 * master"): IMSG_REC_REPORT trees, and IMSG_REC_QUEUE at most once a
 * second when the queue's counts change.
 */

#define QUEUE_REPORT_MS		1000

static void
report_send(const struct msg_rec_report *rp, size_t size)
{
	struct wbuf	 wb;

	wbuf_init(&wb, size);
	msg_rec_report_put(&wb, rp);
	if (worker_send(IMSG_REC_REPORT, 0, -1, &wb) == -1)
		log_warn("%s: send", __func__);
	wbuf_free(&wb);
}

/* A report about one deployment, the rest of it left empty. */
static void
report_init(struct msg_rec_report *rp, enum msg_rec_report_kind kind,
    const char *deployment_id)
{
	memset(rp, 0, sizeof(*rp));
	rp->kind = kind;
	strlcpy(rp->deployment_id, deployment_id, sizeof(rp->deployment_id));
}

void
report_starting(const char *deployment_id)
{
	struct msg_rec_report	 rp;

	log_debug("report: deployment %s starting", deployment_id);
	report_init(&rp, REC_REPORT_STARTING, deployment_id);
	report_send(&rp, 4096);
}

void
report_attempt_failed(const char *deployment_id, const char *reason)
{
	struct msg_rec_report	 rp;

	log_info("deployment %s: attempt failed: %s", deployment_id, reason);
	report_init(&rp, REC_REPORT_ATTEMPT_FAILED, deployment_id);
	rp.reason = reason;
	report_send(&rp, 8192);
}

/* exit_code < 0: absent. */
void
report_failed(const char *deployment_id, const char *reason, int exit_code,
    const char *log_tail)
{
	struct msg_rec_report	 rp;

	log_info("deployment %s: failed: %s", deployment_id, reason);
	report_init(&rp, REC_REPORT_FAILED, deployment_id);
	rp.reason = reason;
	rp.has_exit_code = exit_code >= 0;
	rp.exit_code = exit_code;
	rp.log_tail = log_tail;
	report_send(&rp, LOG_TAIL_MAX + 8192);
}

void
report_healthy(const char *deployment_id, int baseline)
{
	struct msg_rec_report	 rp;

	log_info("deployment %s: healthy (restart count %d)", deployment_id,
	    baseline);
	report_init(&rp, REC_REPORT_HEALTHY, deployment_id);
	rp.baseline_restart_count = baseline;
	report_send(&rp, 4096);
}

void
report_status(const char *service_id, const char *status)
{
	struct msg_rec_report	 rp;

	log_debug("report: service %s %s", service_id, status);
	report_init(&rp, REC_REPORT_SERVICE_STATUS, "");
	strlcpy(rp.service_id, service_id, sizeof(rp.service_id));
	strlcpy(rp.status, status, sizeof(rp.status));
	report_send(&rp, 4096);
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
	struct msg_rec_report		 rp;
	struct msg_rec_container	*mc;
	struct ctr			*c;
	uint64_t			 sig = ctrs_signature(s);
	size_t				 n = 0;

	if (s->ctrs_sent && sig == s->ctrs_sig)
		return;
	s->ctrs_sig = sig;
	s->ctrs_sent = 1;
	TAILQ_FOREACH(c, &s->ctrs, entry)
		n++;
	if ((mc = calloc(n + 1, sizeof(*mc))) == NULL)
		fatal("%s", __func__);
	report_init(&rp, REC_REPORT_CONTAINERS, "");
	strlcpy(rp.service_id, s->id, sizeof(rp.service_id));
	rp.containers = mc;
	TAILQ_FOREACH(c, &s->ctrs, entry) {
		if (!ctr_reportable(c))
			continue;
		mc = &rp.containers[rp.ncontainers++];
		strlcpy(mc->docker_id, c->id, sizeof(mc->docker_id));
		strlcpy(mc->deployment_id, c->deployment_id,
		    sizeof(mc->deployment_id));
		mc->replica = c->replica;
		strlcpy(mc->state, c->state[0] != '\0' ? c->state : "unknown",
		    sizeof(mc->state));
	}
	report_send(&rp, DKD_IMSG_MAX_INTERNAL - 64);
	free(rp.containers);
}

/* ---------------------------------------------------------------- queue */

static struct event	*queue_ev;
static int		 queue_sent;
static struct msg_rec_queue	 queue_last;
static uint64_t		 queue_last_ms;

static void
queue_report(int fd, short event, void *arg)
{
	struct queue_stats	 st, sw;
	struct msg_rec_queue	 q;
	struct wbuf		 wb;

	queue_stats(rec->q, &st);
	queue_stats(rec->sweep_q, &sw);
	q.in_flight = st.in_flight + sw.in_flight;
	q.waiting = st.waiting + sw.waiting;
	q.backing_off = st.backing_off + sw.backing_off;
	q.services = (int64_t)rec->nsvcs;
	if (queue_sent && memcmp(&q, &queue_last, sizeof(q)) == 0)
		return;
	queue_sent = 1;
	queue_last = q;
	queue_last_ms = queue_now_ms();
	wbuf_init(&wb, 1024);
	msg_rec_queue_put(&wb, &q);
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
