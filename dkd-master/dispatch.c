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

#include <string.h>
#include <time.h>

#include "dkd.h"
#include "log.h"
#include "msg.h"

/*
 * Messages from the workers, after the supervisor has handled the
 * common ones.  Everything is checked field by field; a return of -1
 * makes the supervisor treat the worker as broken.
 */

static void	api_reply(struct request *, struct wbuf *);
static void	api_reply_bare(uint32_t, int);

/* The reply goes to the dkd-api that asked, if it is still there. */
static void
api_reply(struct request *req, struct wbuf *wb)
{
	if (req->generation == supervisor_generation(PROC_API))
		(void)supervisor_send(PROC_API, IMSG_API_RESPONSE, req->id,
		    wb);
	else
		log_debug("dropping a reply for a dkd-api that is gone");
}

/* A status without a body, when there is no request to answer with. */
static void
api_reply_bare(uint32_t id, int status)
{
	struct msg_reply	 m = { .status = (uint32_t)status };
	struct wbuf		 wb;

	wbuf_init(&wb, 16);
	msg_reply_put(&wb, &m);
	(void)supervisor_send(PROC_API, IMSG_API_RESPONSE, id, &wb);
	wbuf_free(&wb);
}

/* IMSG_API_REQUEST: its header (msg.h), then the op's fields. */
int
master_dispatch_api(struct imsg *imsg)
{
	struct msg_request	 m;
	struct request		*req;
	struct rbuf		 r;

	if (imsg->hdr.type != IMSG_API_REQUEST)
		return (-1);
	if ((req = request_new(CALLER_API, imsg->hdr.peerid, api_reply,
	    NULL)) == NULL) {
		api_reply_bare(imsg->hdr.peerid, 503);
		return (0);
	}
	req->generation = supervisor_generation(PROC_API);
	rbuf_init(&r, imsg->data, imsg->len);
	(void)msg_request_get(&r, &m);
	strlcpy(req->token_hash, m.token, sizeof(req->token_hash));
	strlcpy(req->client, m.client, sizeof(req->client));
	req->cached = m.cached;
	/* A header that did not decode leaves r->error for this to see. */
	if (request_decode(req, m.op, &r) == -1)
		return (-1);
	request_run(req);
	return (0);
}

int
master_dispatch_reconciler(struct imsg *imsg)
{
	struct msg_docker	 ds;
	struct rbuf		 r;

	if (imsg->hdr.type == IMSG_REC_SYSINFO)
		return (system_docker_reply(imsg));
	if (imsg->hdr.type == IMSG_REC_RECONCILE_ACK)
		return (rec_ack(imsg));
	if (imsg->hdr.type == IMSG_REC_REPORT)
		return (rec_report(imsg));
	if (imsg->hdr.type == IMSG_REC_QUEUE)
		return (rec_queue_update(imsg));
	if (imsg->hdr.type == IMSG_REC_LOGSTREAM)
		return (logs_stream(imsg));
	if (imsg->hdr.type != IMSG_REC_DOCKER)
		return (-1);
	rbuf_init(&r, imsg->data, imsg->len);
	if (msg_docker_get(&r, &ds) == -1)
		return (-1);
	ds.checked_at = time(NULL);
	if (ds.reachable != env->docker.reachable || !env->docker_known) {
		if (ds.reachable)
			log_info("docker is reachable: server %s, API %s",
			    ds.server_version, ds.api_version);
		else
			log_warnx("docker is not reachable: %s", ds.error);
	}
	env->docker = ds;
	env->docker_known = 1;
	return (0);
}

int
master_dispatch_logd(struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_LOGD_VIEW_ACK:
		return (logs_view_ack(imsg));
	case IMSG_LOGD_MARK:
		return (logs_mark(imsg));
	}
	return (-1);
}
