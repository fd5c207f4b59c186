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

#include "docker_info.h"
#include "log.h"
#include "reconciler.h"
#include "worker.h"

/*
 * The master asks what Docker looks like (IMSG_REC_SYSINFO): /info and,
 * for the status page, /system/df, fetched side by side.  The answer
 * always goes back, with reachable false when Docker did not reply.
 */

#define SYSINFO_TIMEOUT_MS	8000

struct sysinfo_req {
	uint32_t		 id;
	int			 pending;
	struct docker_info	 di;
};

static char	 api_version[DINFO_STR];

static void	info_done(long, const char *, size_t, const char *, void *);
static void	df_done(long, const char *, size_t, const char *, void *);
static void	sysinfo_finish(struct sysinfo_req *);

void
sysinfo_set_api_version(const char *v)
{
	strlcpy(api_version, v, sizeof(api_version));
}

void
sysinfo_request(uint32_t id, int with_df)
{
	struct sysinfo_req	*sr;

	if ((sr = calloc(1, sizeof(*sr))) == NULL)
		fatal("%s", __func__);
	sr->id = id;
	sr->pending = 1;
	if (docker_request("GET", "/info", NULL, SYSINFO_TIMEOUT_MS,
	    info_done, sr) == NULL) {
		strlcpy(sr->di.error, "cannot start a request",
		    sizeof(sr->di.error));
		sysinfo_finish(sr);
		return;
	}
	if (with_df) {
		sr->pending++;
		sr->di.have_df = 1;
		if (docker_request("GET", "/system/df", NULL,
		    SYSINFO_TIMEOUT_MS, df_done, sr) == NULL)
			sr->pending--;
	}
}

static void
info_done(long status, const char *body, size_t len, const char *err,
    void *arg)
{
	struct sysinfo_req	*sr = arg;
	struct docker_info	*di = &sr->di;
	char			 msg[256];

	if (status != 200) {
		if (status == 0)
			strlcpy(di->error, err, sizeof(di->error));
		else
			(void)snprintf(di->error, sizeof(di->error),
			    "GET /info: HTTP %ld", status);
	} else if (dparse_info(body, len, di, msg, sizeof(msg)) == -1)
		(void)snprintf(di->error, sizeof(di->error),
		    "GET /info: %.200s", msg);
	else {
		di->reachable = 1;
		strlcpy(di->api_version, api_version, sizeof(di->api_version));
	}
	if (--sr->pending == 0)
		sysinfo_finish(sr);
}

static void
df_done(long status, const char *body, size_t len, const char *err,
    void *arg)
{
	struct sysinfo_req	*sr = arg;
	char			 msg[256];

	if (status != 200 || dparse_df(body, len, &sr->di, msg,
	    sizeof(msg)) == -1)
		log_debug("GET /system/df: %s", status == 0 ? err : "failed");
	if (--sr->pending == 0)
		sysinfo_finish(sr);
}

static void
sysinfo_finish(struct sysinfo_req *sr)
{
	struct wbuf	 wb;

	wbuf_init(&wb, DKD_IMSG_MAX_INTERNAL - 64);
	docker_info_put(&wb, &sr->di);
	if (worker_send(IMSG_REC_SYSINFO, sr->id, -1, &wb) == -1)
		log_warn("%s: send", __func__);
	wbuf_free(&wb);
	free(sr);
}
