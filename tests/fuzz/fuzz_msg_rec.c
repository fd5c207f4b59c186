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
 * The reconciler channel's decoders (msg.h): the master reads reports
 * and queue counts from a worker that may be hostile, the reconciler
 * the desired state.  The first byte picks the decoder, the rest is the
 * payload.  Whatever is accepted encodes to a payload that decodes
 * again, to the same thing; nothing leaks.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkd_imsg.h"
#include "msg.h"
#include "wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
report(struct rbuf *r)
{
	struct msg_rec_report	 a, b;
	struct wbuf		 w;
	struct rbuf		 again;

	if (msg_rec_report_get(r, &a) == -1)
		return;
	wbuf_init(&w, DKD_IMSG_MAX_INTERNAL);
	msg_rec_report_put(&w, &a);
	rbuf_init(&again, w.buf, w.len);
	if (w.error || msg_rec_report_get(&again, &b) == -1)
		abort();
	if (a.kind != b.kind || strcmp(a.deployment_id, b.deployment_id) ||
	    strcmp(a.service_id, b.service_id) || a.ncontainers !=
	    b.ncontainers || a.has_exit_code != b.has_exit_code ||
	    a.exit_code != b.exit_code)
		abort();
	msg_rec_report_free(&b);
	msg_rec_report_free(&a);
	wbuf_free(&w);
}

static void
desired(struct rbuf *r)
{
	struct msg_rec_desired	 a, b;
	struct wbuf		 w;
	struct rbuf		 again;
	size_t			 i;

	if (msg_rec_desired_get(r, &a) == -1) {
		/* A refusal keeps a valid service id and why, nothing else. */
		if (a.tree != NULL || a.deployments != NULL ||
		    a.volumes != NULL || a.error[0] == '\0' ||
		    (a.service_id[0] != '\0' &&
		    !msg_service_id_valid(a.service_id)))
			abort();
		return;
	}
	wbuf_init(&w, DKD_IMSG_MAX_INTERNAL);
	msg_rec_desired_put(&w, &a);
	rbuf_init(&again, w.buf, w.len);
	if (w.error || msg_rec_desired_get(&again, &b) == -1)
		abort();
	if (a.ndeployments != b.ndeployments || a.nvolumes != b.nvolumes ||
	    strcmp(a.service_id, b.service_id))
		abort();
	for (i = 0; i < a.ndeployments; i++)
		if (a.deployments[i].nenv != b.deployments[i].nenv ||
		    a.deployments[i].nports != b.deployments[i].nports ||
		    strcmp(a.deployments[i].image, b.deployments[i].image))
			abort();
	msg_rec_desired_free(&b);
	msg_rec_desired_free(&a);
	wbuf_free(&w);
}

static void
sync_end(struct rbuf *r)
{
	struct msg_rec_sync_end	 a, b;
	struct wbuf		 w;
	struct rbuf		 again;

	if (msg_rec_sync_end_get(r, &a) == -1)
		return;
	wbuf_init(&w, DKD_IMSG_MAX_INTERNAL);
	msg_rec_sync_end_put(&w, &a);
	rbuf_init(&again, w.buf, w.len);
	if (w.error || msg_rec_sync_end_get(&again, &b) == -1 ||
	    a.nprojects != b.nprojects)
		abort();
	msg_rec_sync_end_free(&b);
	msg_rec_sync_end_free(&a);
	wbuf_free(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_rec_sync_begin sb;
	struct msg_rec_queue	 q;
	struct rbuf		 r;

	if (size < 1)
		return (0);
	rbuf_init(&r, data + 1, size - 1);
	switch (data[0] % 5) {
	case 0:
		report(&r);
		break;
	case 1:
		desired(&r);
		break;
	case 2:
		sync_end(&r);
		break;
	case 3:
		(void)msg_rec_sync_begin_get(&r, &sb);
		break;
	default:
		(void)msg_rec_queue_get(&r, &q);
		break;
	}
	return (0);
}
