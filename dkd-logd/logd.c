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

#include <event2/event.h>

#include "log.h"
#include "worker.h"

/*
 * dkd-logd: will demultiplex Docker log streams handed over by the
 * reconciler, keep their history and fan lines out.  For now it only
 * runs sandboxed and answers the master's pings.
 */

static struct worker	 logd_worker;

int
main(int argc, char *argv[])
{
	struct worker	*w = &logd_worker;

	worker_init(w, PROC_LOGD, "logd", argc, argv);
	worker_config();
	if ((w->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	/* Its jail's root is root's; what logd writes goes here. */
	w->sandbox.workdir = LOGD_DATA_DIR;
	sandbox_enter(&w->sandbox, PROC_LOGD);
	worker_run();
	/* NOTREACHED */
	return (0);
}
