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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "msg.h"
#include "reconciler.h"
#include "worker.h"

/*
 * dkd-reconciler: the only process that talks to Docker.  For now it
 * watches whether the engine answers and reports what it is; the
 * reconcile loop proper builds on the same client.
 */

#define PROBE_INTERVAL		10	/* seconds, while Docker answers */
#define PROBE_BACKOFF_MAX	30	/* seconds, while it does not */
#define PROBE_TIMEOUT_MS	5000

static struct worker	 rec_worker;
static struct event	*probe_ev;
static int		 probe_backoff = 1;
static int		 probe_busy;

static void	rec_probe(int, short, void *);
static void	rec_probe_done(long, const char *, size_t, const char *,
		    void *);
static void	rec_report(int, const char *, const char *, const char *);
static void	rec_shutdown(void);
static int	rec_dispatch_master(struct imsg *);

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
	docker_init(w->base, w->settings.docker_socket);
	if ((probe_ev = evtimer_new(w->base, rec_probe, NULL)) == NULL)
		fatalx("evtimer_new");
	sandbox_enter(&w->sandbox, PROC_RECONCILER);
	evtimer_add(probe_ev, &now);
	worker_run();
	/* NOTREACHED */
	return (0);
}

static int
rec_stub_check(uint32_t type, struct rbuf *r)
{
	struct msg_rec_sync_begin sb;
	struct msg_rec_sync_end	 se;
	struct msg_rec_desired	 ds;

	if (type == IMSG_REC_SYNC_BEGIN)
		return (msg_rec_sync_begin_get(r, &sb));
	if (type == IMSG_REC_SYNC_END) {
		if (msg_rec_sync_end_get(r, &se) == -1)
			return (-1);
		msg_rec_sync_end_free(&se);
		return (0);
	}
	if (msg_rec_desired_get(r, &ds) == -1)
		return (-1);
	msg_rec_desired_free(&ds);
	return (0);
}

static int
rec_dispatch_master(struct imsg *imsg)
{
	struct rbuf	 r;
	struct wbuf	 wb;
	char		 service_id[MSG_SERVICE_ID_MAX + 1];
	int		 with_df;

	switch (imsg->hdr.type) {
	case IMSG_REC_RECONCILE:
		/* Taken; the reconciler proper comes with the next issue. */
		rbuf_init(&r, imsg->data, imsg->len);
		if (msg_reconcile_get(&r, service_id,
		    sizeof(service_id)) == -1)
			return (-1);
		wbuf_init(&wb, DKD_IMSG_MAX_INTERNAL);
		msg_reconcile_put(&wb, service_id);
		(void)worker_send(IMSG_REC_RECONCILE_ACK, 0, -1, &wb);
		wbuf_free(&wb);
		return (0);
	case IMSG_REC_SYNC_BEGIN:
	case IMSG_REC_DESIRED:
	case IMSG_REC_SYNC_END:
		/* Checked and dropped until the reconciler proper lands. */
		rbuf_init(&r, imsg->data, imsg->len);
		return (rec_stub_check(imsg->hdr.type, &r));
	case IMSG_REC_SYSINFO:
		rbuf_init(&r, imsg->data, imsg->len);
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
	docker_shutdown();
}

static void
rec_probe(int fd, short event, void *arg)
{
	if (probe_busy)
		return;
	probe_busy = 1;
	if (docker_request("GET", "/version", NULL, PROBE_TIMEOUT_MS,
	    rec_probe_done, NULL) == -1) {
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
	yajl_val	 v = NULL;
	const char	*server, *api;
	char		 msg[256];

	probe_busy = 0;
	if (status == 200) {
		v = json_parse(body, len, msg, sizeof(msg));
		server = v != NULL ? json_get_str(v, "Version") : NULL;
		api = v != NULL ? json_get_str(v, "ApiVersion") : NULL;
		if (server != NULL && api != NULL) {
			rec_report(1, server, api, "");
			sysinfo_set_api_version(api);
			probe_backoff = 1;
			yajl_tree_free(v);
			evtimer_add(probe_ev, &tv);
			return;
		}
		(void)snprintf(msg, sizeof(msg), "unexpected reply to "
		    "GET /version");
		yajl_tree_free(v);
	} else if (status != 0)
		(void)snprintf(msg, sizeof(msg), "GET /version: HTTP %ld",
		    status);
	else
		(void)snprintf(msg, sizeof(msg), "%s", err);
	rec_report(0, "", "", msg);
	tv.tv_sec = probe_backoff;
	probe_backoff = MINIMUM(probe_backoff * 2, PROBE_BACKOFF_MAX);
	evtimer_add(probe_ev, &tv);
}

static void
rec_report(int reachable, const char *server, const char *api,
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
