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

/*
 * Messages from the workers, after the supervisor has handled the
 * common ones.  Everything is checked field by field; a return of -1
 * makes the supervisor treat the worker as broken.
 */

int
master_dispatch_api(struct imsg *imsg)
{
	if (imsg->hdr.type != IMSG_API_REQUEST)
		return (-1);
	return (request_from_api(imsg));
}

int
master_dispatch_reconciler(struct imsg *imsg)
{
	struct docker_status	 ds;
	struct rbuf		 r;

	if (imsg->hdr.type == IMSG_REC_SYSINFO)
		return (system_docker_reply(imsg));
	if (imsg->hdr.type != IMSG_REC_DOCKER)
		return (-1);
	memset(&ds, 0, sizeof(ds));
	rbuf_init(&r, imsg->data, imsg->len);
	ds.reachable = wire_get_bool(&r);
	wire_get_strbuf(&r, ds.server_version, sizeof(ds.server_version));
	wire_get_strbuf(&r, ds.api_version, sizeof(ds.api_version));
	wire_get_strbuf(&r, ds.error, sizeof(ds.error));
	if (wire_done(&r) == -1)
		return (-1);
	ds.known = 1;
	ds.checked_at = time(NULL);
	if (ds.reachable != env->docker.reachable || !env->docker.known) {
		if (ds.reachable)
			log_info("docker is reachable: server %s, API %s",
			    ds.server_version, ds.api_version);
		else
			log_warnx("docker is not reachable: %s", ds.error);
	}
	env->docker = ds;
	return (0);
}

int
master_dispatch_logd(struct imsg *imsg)
{
	return (-1);
}
