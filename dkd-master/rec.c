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

#include "dkd.h"
#include "log.h"
#include "msg.h"

/*
 * The master's side of the reconciler channel.  The database says what
 * should run; whenever that changes, the reconciler is asked for a pass
 * over one service or over everything.  A request that cannot be sent
 * (the reconciler is restarting) is not lost: a reconciler always
 * starts with a full pass.
 */

/* Ask for a pass over service_id, or over everything when it is NULL. */
void
rec_trigger(const char *service_id)
{
	struct wbuf	 w;

	wbuf_init(&w, DKD_IMSG_MAX_INTERNAL);
	msg_reconcile_put(&w, service_id);
	if (supervisor_send(PROC_RECONCILER, IMSG_REC_RECONCILE, 0, &w) == -1)
		log_debug("reconcile %s: the reconciler is not there",
		    service_id != NULL ? service_id : "(all)");
	wbuf_free(&w);
}

/* IMSG_REC_RECONCILE_ACK; -1 if malformed. */
int
rec_ack(struct imsg *imsg)
{
	struct rbuf	 r;
	char		 service_id[MSG_SERVICE_ID_MAX + 1];

	rbuf_init(&r, imsg->data, imsg->len);
	if (msg_reconcile_get(&r, service_id, sizeof(service_id)) == -1)
		return (-1);
	log_debug("reconciler took the request for %s",
	    service_id[0] != '\0' ? service_id : "every service");
	return (0);
}
