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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"
#include "msg.h"
#include "reconciler.h"
#include "worker.h"

/*
 * dkd-reconciler: the only process that talks to Docker.  The master
 * sends the desired state of every service (RECONCILER-PROTOCOL); the
 * reconciler keeps a view of our containers (from lists and the events
 * stream), runs a pass per service from a work queue (queue.c, 4 at a
 * time) and a sweep (sweep.c), and reports what it did and saw.  A
 * probe of /version says whether Docker answers.
 */

#define PROBE_INTERVAL		10	/* seconds, Docker up */
#define PROBE_BACKOFF_MAX	30	/* seconds, while it does not */
#define PROBE_TIMEOUT_MS	5000
#define PROBE_SOON_MS		500	/* after a failed call */
#define SERVICE_WORKERS		4	/* spec 13.1 */

static struct worker	 rec_worker;
static struct rec	 rec_state;
struct rec		*rec = &rec_state;

static struct event	*probe_ev;
static int		 probe_backoff = 1;
static int		 probe_busy;
/* Up once: a later up is a return. */
static int		 docker_seen;
static uint64_t		 resync_calls, resync_ms;
static int		 resync_measuring;

static void	rec_probe(int, short, void *);
static void	rec_probe_done(long, const char *, size_t, const char *,
		    void *);
static void	rec_report_docker(int, const char *, const char *,
		    const char *);
static void	rec_shutdown(void);
static int	rec_dispatch_master(struct imsg *);
static void	rec_queue_changed(void *);

static int	svc_cmp(struct svc *, struct svc *);
RB_GENERATE(svcs, svc, entry, svc_cmp)

int
main(int argc, char *argv[])
{
	struct worker	*w = &rec_worker;
	struct timeval	 now = { 0, 0 };

	worker_init(w, PROC_RECONCILER, "reconciler", argc, argv);
	w->shutdown = rec_shutdown;
	w->dispatch = rec_dispatch_master;
	worker_config();
	if ((w->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	rec->base = w->base;
	rec->drv = &engine_driver;
	RB_INIT(&rec->svcs);
	docker_init(w->base, w->settings.docker_socket);
	engine_init(w->base);
	rec->q = queue_new(w->base, "services", SERVICE_WORKERS, pass_start,
	    NULL);
	rec->sweep_q = queue_new(w->base, "sweep", 1, sweep_start, NULL);
	queue_on_change(rec->q, rec_queue_changed, NULL);
	queue_on_change(rec->sweep_q, rec_queue_changed, NULL);
	if ((probe_ev = evtimer_new(w->base, rec_probe, NULL)) == NULL)
		fatalx("evtimer_new");
	sandbox_enter(&w->sandbox, PROC_RECONCILER);
	evtimer_add(probe_ev, &now);
	worker_run();
	/* NOTREACHED */
	return (0);
}

/* ------------------------------------------------------------ services */

static int
svc_cmp(struct svc *a, struct svc *b)
{
	return (strcmp(a->id, b->id));
}

struct svc *
svc_find(const char *id)
{
	struct svc	 k;

	if (strlcpy(k.id, id, sizeof(k.id)) >= sizeof(k.id))
		return (NULL);
	return (RB_FIND(svcs, &rec->svcs, &k));
}

/* The service, made (as an orphan, nothing wanted) if it is new. */
struct svc *
svc_get(const char *id)
{
	struct svc	*s;

	if ((s = svc_find(id)) != NULL)
		return (s);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("%s", __func__);
	strlcpy(s->id, id, sizeof(s->id));
	TAILQ_INIT(&s->ctrs);
	TAILQ_INIT(&s->mem);
	TAILQ_INIT(&s->notes);
	RB_INSERT(svcs, &rec->svcs, s);
	rec->nsvcs++;
	return (s);
}

struct ctr *
svc_ctr_find(struct svc *s, const char *id)
{
	struct ctr	*c;

	TAILQ_FOREACH(c, &s->ctrs, entry)
		if (strcmp(c->id, id) == 0)
			return (c);
	return (NULL);
}

void
svc_ctr_free(struct svc *s, struct ctr *c)
{
	logs_ctr_gone(c);
	TAILQ_REMOVE(&s->ctrs, c, entry);
	free(c);
}

void
svc_want_free(struct msg_rec_desired *w)
{
	if (w == NULL)
		return;
	msg_rec_desired_free(w);
	free(w);
}

/* Replace what s wants; during its pass, at the end of the pass. */
static void
svc_set_want(struct svc *s, struct msg_rec_desired *w)
{
	if (s->pass != NULL) {
		if (s->has_next)
			svc_want_free(s->want_next);
		s->want_next = w;
		s->has_next = 1;
		return;
	}
	svc_want_free(s->want);
	s->want = w;
	if (w == NULL || !w->deleted)
		s->volumes_gone = 0;
}

/*
 * Forget a service once nothing is left of it: an orphan without
 * containers, or a deleted service whose volumes are gone too.
 */
void
svc_maybe_free(struct svc *s)
{
	struct depnote	*n;

	if (s->pass != NULL || s->has_next || !TAILQ_EMPTY(&s->ctrs) ||
	    (s->want != NULL && (!s->want->deleted || !s->volumes_gone)))
		return;
	if (queue_processing(rec->q, s->id))
		return;
	readiness_forget_all(s);
	while ((n = TAILQ_FIRST(&s->notes)) != NULL) {
		TAILQ_REMOVE(&s->notes, n, entry);
		free(n);
	}
	svc_want_free(s->want);
	RB_REMOVE(svcs, &rec->svcs, s);
	rec->nsvcs--;
	free(s);
}

/* managed-by and our instance, and the service id when given. */
void
rec_labels(struct drv_kv *labels, size_t *n, const char *service_id)
{
	*n = 0;
	labels[*n].key = LABEL_MANAGED;
	labels[(*n)++].value = LABEL_MANAGED_VALUE;
	labels[*n].key = LABEL_INSTANCE;
	labels[(*n)++].value = rec->instance;
	if (service_id != NULL) {
		labels[*n].key = LABEL_SERVICE;
		labels[(*n)++].value = service_id;
	}
}

int64_t
rec_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Docker answers and its events stream is open, or not: note when the
 * engine went away and when it came back, which tells the readiness
 * gate the exits that were the engine's (readiness_engine_stop()).
 * Not being there yet at the start is no outage.
 */
void
rec_engine_changed(void)
{
	int	 up = rec->docker_up && rec->events_ok;

	if (up == rec->engine_up)
		return;
	rec->engine_up = up;
	if (!up) {
		rec->engine_lost_ms = rec_wall_ms();
		log_debug("the engine went away");
	} else if (rec->engine_lost_ms > 0) {
		rec->engine_back_ms = rec_wall_ms();
		log_debug("the engine is back after %lld ms", (long long)
		    (rec->engine_back_ms - rec->engine_lost_ms));
	}
}

/* A sweep, then a pass over every service (spec 13.1 "Resync"). */
void
rec_resync(void)
{
	if (rec->instance[0] == '\0')
		return;
	rec->resync_pending = 1;
	resync_calls = docker_calls();
	resync_ms = queue_now_ms();
	resync_measuring = 1;
	queue_add(rec->sweep_q, SWEEP_KEY);
}

/* The figures of a resync, once both queues are idle again. */
static void
rec_queue_changed(void *arg)
{
	struct queue_stats	 a, b;

	report_queue_changed(arg);
	if (!resync_measuring)
		return;
	queue_stats(rec->q, &a);
	queue_stats(rec->sweep_q, &b);
	if (a.in_flight + a.waiting + b.in_flight + b.waiting > 0 ||
	    rec->resync_pending)
		return;
	resync_measuring = 0;
	log_info("resync: %zu services in %llu ms, %llu Docker calls",
	    rec->nsvcs, (unsigned long long)(queue_now_ms() - resync_ms),
	    (unsigned long long)(docker_calls() - resync_calls));
}

/* ------------------------------------------------------- from the master */

static int
rec_sync_begin(struct rbuf *r)
{
	struct msg_rec_sync_begin	 sb;
	struct svc			*s;

	if (msg_rec_sync_begin_get(r, &sb) == -1)
		return (-1);
	if (rec->instance[0] != '\0' && strcmp(rec->instance, sb.instance) != 0)
		fatalx("the instance id changed from %s to %s", rec->instance,
		    sb.instance);
	if (rec->instance[0] == '\0') {
		strlcpy(rec->instance, sb.instance, sizeof(rec->instance));
		log_info("instance %s", rec->instance);
		events_start();
	}
	rec->syncing = 1;
	rec->sequence = sb.sequence;
	RB_FOREACH(s, svcs, &rec->svcs)
		s->in_sync = 0;
	return (0);
}

static int
rec_desired(struct rbuf *r)
{
	struct msg_rec_desired	*w;
	struct svc		*s;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("%s", __func__);
	if (msg_rec_desired_get(r, w) == -1) {
		if (w->service_id[0] == '\0') {
			log_warnx("IMSG_REC_DESIRED: %s", w->error);
			free(w);
			return (-1);
		}
		/*
		 * Not a reason to die (the master would restart us into the
		 * same message), nor to tear the service down: it stays as
		 * it is until a DESIRED that can be followed.
		 */
		log_warnx("IMSG_REC_DESIRED for service %s: %s",
		    w->service_id, w->error);
		if ((s = svc_find(w->service_id)) != NULL && rec->syncing)
			s->in_sync = 1;
		free(w);
		return (0);
	}
	s = svc_get(w->service_id);
	if (rec->syncing)
		s->in_sync = 1;
	else {
		/*
		 * A change: the master may have set the service's status or
		 * rows itself (a rollback, a new deployment), so what was
		 * last reported is said again after the pass.
		 */
		s->status_sent[0] = '\0';
		s->ctrs_sent = 0;
	}
	svc_set_want(s, w);
	/* Inside a resync the sweep queues every service. */
	if (!rec->syncing && rec->instance[0] != '\0')
		queue_add(rec->q, s->id);
	return (0);
}

static int
rec_sync_end(struct rbuf *r)
{
	struct msg_rec_sync_end	 se;
	struct svc		*s, *next;

	if (!rec->syncing || msg_rec_sync_end_get(r, &se) == -1)
		return (-1);
	msg_rec_sync_end_free(&rec->projects);
	rec->projects = se;
	rec->syncing = 0;
	rec->synced = 1;
	/* Services the master no longer has: their containers go. */
	RB_FOREACH_SAFE(s, svcs, &rec->svcs, next) {
		if (s->in_sync || (s->want == NULL && !s->has_next))
			continue;
		log_info("service %s is gone: tearing it down", s->id);
		svc_set_want(s, NULL);
	}
	rec_resync();
	return (0);
}

static int
rec_dispatch_master(struct imsg *imsg)
{
	struct rbuf	 r;
	struct wbuf	 wb;
	struct svc	*s;
	char		 service_id[MSG_SERVICE_ID_MAX + 1];
	int		 with_df;

	rbuf_init(&r, imsg->data, imsg->len);
	switch (imsg->hdr.type) {
	case IMSG_REC_SYNC_BEGIN:
		return (rec_sync_begin(&r));
	case IMSG_REC_DESIRED:
		return (rec_desired(&r));
	case IMSG_REC_SYNC_END:
		return (rec_sync_end(&r));
	case IMSG_REC_LOGMARK:
		/* One it cannot use is no reason to die. */
		logs_mark(&r);
		return (0);
	case IMSG_REC_RECONCILE:
		if (msg_reconcile_get(&r, service_id,
		    sizeof(service_id)) == -1)
			return (-1);
		if (service_id[0] == '\0')
			rec_resync();
		else if ((s = svc_find(service_id)) != NULL)
			queue_add(rec->q, s->id);
		wbuf_init(&wb, DKD_IMSG_MAX_INTERNAL);
		msg_reconcile_put(&wb, service_id);
		(void)worker_send(IMSG_REC_RECONCILE_ACK, 0, -1, &wb);
		wbuf_free(&wb);
		return (0);
	case IMSG_REC_SYSINFO:
		with_df = wire_get_bool(&r);
		if (wire_done(&r) == -1)
			return (-1);
		sysinfo_request(imsg->hdr.peerid, with_df);
		return (0);
	}
	return (-1);
}

static void
rec_shutdown(void)
{
	logs_shutdown();
	events_stop();
	docker_shutdown();
}

/* -------------------------------------------------------------- probe */

/* A call found Docker away: probe soon rather than in 10 s. */
void
rec_docker_trouble(void)
{
	struct timeval	 tv = { 0, PROBE_SOON_MS * 1000 };

	if (probe_busy || !rec->docker_up)
		return;
	evtimer_add(probe_ev, &tv);
}

static void
rec_probe(int fd, short event, void *arg)
{
	if (probe_busy)
		return;
	probe_busy = 1;
	if (docker_request("GET", "/version", NULL, PROBE_TIMEOUT_MS,
	    rec_probe_done, NULL) == NULL) {
		probe_busy = 0;
		rec_probe_done(0, "", 0, "cannot start a request", NULL);
	}
}

/* Report and schedule the next probe: steady when up, backing off when down. */
static void
rec_probe_done(long status, const char *body, size_t len, const char *err,
    void *arg)
{
	struct timeval	 tv = { PROBE_INTERVAL, 0 };
	char		 msg[256], server[64], api[32];

	probe_busy = 0;
	if (status == 200) {
		if (dparse_version(body, len, server, sizeof(server), api,
		    sizeof(api)) == 0) {
			rec_report_docker(1, server, api, "");
			sysinfo_set_api_version(api);
			probe_backoff = 1;
			evtimer_add(probe_ev, &tv);
			if (!rec->docker_up) {
				rec->docker_up = 1;
				rec_engine_changed();
				/* Back after a fault: catch up at once. */
				events_kick();
				if (docker_seen && rec->synced)
					rec_resync();
				docker_seen = 1;
			}
			return;
		}
		(void)snprintf(msg, sizeof(msg), "unexpected reply to "
		    "GET /version");
	} else if (status != 0)
		(void)snprintf(msg, sizeof(msg), "GET /version: HTTP %ld",
		    status);
	else
		(void)snprintf(msg, sizeof(msg), "%s", err);
	if (rec->docker_up)
		log_warnx("Docker unreachable: %s", msg);
	rec->docker_up = 0;
	rec_engine_changed();
	rec_report_docker(0, "", "", msg);
	tv.tv_sec = probe_backoff;
	probe_backoff = MINIMUM(probe_backoff * 2, PROBE_BACKOFF_MAX);
	evtimer_add(probe_ev, &tv);
}

static void
rec_report_docker(int reachable, const char *server, const char *api,
    const char *err)
{
	struct msg_docker	 d;
	struct wbuf		 wb;

	/* Bounded copies: the master refuses longer fields. */
	memset(&d, 0, sizeof(d));
	d.reachable = reachable;
	strlcpy(d.server_version, server, sizeof(d.server_version));
	strlcpy(d.api_version, api, sizeof(d.api_version));
	strlcpy(d.error, err, sizeof(d.error));
	wbuf_init(&wb, 1024);
	msg_docker_put(&wb, &d);
	if (worker_send(IMSG_REC_DOCKER, 0, -1, &wb) == -1)
		log_warn("%s: send", __func__);
	wbuf_free(&wb);
}
