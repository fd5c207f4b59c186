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
copy_str(yajl_val v, const char *key, char *dst, size_t len)
{
	const char	*s;

	if ((s = json_get_str(v, key)) != NULL)
		strlcpy(dst, s, len);
}

static void
info_done(long status, const char *body, size_t len, const char *err,
    void *arg)
{
	struct sysinfo_req	*sr = arg;
	struct docker_info	*di = &sr->di;
	yajl_val		 v, warnings;
	char			 msg[256];
	size_t			 i;

	if (status != 200) {
		if (status == 0)
			strlcpy(di->error, err, sizeof(di->error));
		else
			(void)snprintf(di->error, sizeof(di->error),
			    "GET /info: HTTP %ld", status);
	} else if ((v = json_parse(body, len, msg, sizeof(msg))) == NULL)
		(void)snprintf(di->error, sizeof(di->error),
		    "GET /info: %.200s", msg);
	else {
		di->reachable = 1;
		copy_str(v, "ServerVersion", di->server_version,
		    sizeof(di->server_version));
		strlcpy(di->api_version, api_version, sizeof(di->api_version));
		copy_str(v, "OperatingSystem", di->os, sizeof(di->os));
		copy_str(v, "KernelVersion", di->kernel_version,
		    sizeof(di->kernel_version));
		copy_str(v, "Architecture", di->architecture,
		    sizeof(di->architecture));
		copy_str(v, "Driver", di->storage_driver,
		    sizeof(di->storage_driver));
		copy_str(v, "LoggingDriver", di->logging_driver,
		    sizeof(di->logging_driver));
		copy_str(v, "CgroupDriver", di->cgroup_driver,
		    sizeof(di->cgroup_driver));
		copy_str(v, "DockerRootDir", di->root_dir,
		    sizeof(di->root_dir));
		if ((warnings = json_get_array(v, "Warnings")) != NULL)
			for (i = 0; i < YAJL_GET_ARRAY(warnings)->len &&
			    di->nwarnings < DINFO_WARNINGS; i++)
				if (YAJL_IS_STRING(
				    YAJL_GET_ARRAY(warnings)->values[i]))
					strlcpy(di->warnings[di->nwarnings++],
					    YAJL_GET_STRING(YAJL_GET_ARRAY(
					    warnings)->values[i]),
					    sizeof(di->warnings[0]));
		di->containers = json_get_int(v, "Containers", 0);
		di->running = json_get_int(v, "ContainersRunning", 0);
		di->stopped = json_get_int(v, "ContainersStopped", 0);
		di->images = json_get_int(v, "Images", 0);
		yajl_tree_free(v);
	}
	if (--sr->pending == 0)
		sysinfo_finish(sr);
}

/* Sum a size field over an array of objects; -1 means "not known". */
static int64_t
sum_sizes(yajl_val arr, const char *obj, const char *key, int64_t *count)
{
	const char	*path[3] = { obj, key, NULL };
	yajl_val	 item, n;
	int64_t		 total = 0;
	size_t		 i;

	*count = 0;
	if (arr == NULL)
		return (0);
	for (i = 0; i < YAJL_GET_ARRAY(arr)->len; i++) {
		item = YAJL_GET_ARRAY(arr)->values[i];
		(*count)++;
		if (obj == NULL) {
			path[0] = key;
			path[1] = NULL;
		}
		n = yajl_tree_get(item, path, yajl_t_number);
		if (n != NULL && YAJL_IS_INTEGER(n) && YAJL_GET_INTEGER(n) > 0)
			total += YAJL_GET_INTEGER(n);
	}
	return (total);
}

static void
df_done(long status, const char *body, size_t len, const char *err,
    void *arg)
{
	struct sysinfo_req	*sr = arg;
	struct docker_info	*di = &sr->di;
	yajl_val		 v;
	char			 msg[256];
	int64_t			 n;

	if (status == 200 && (v = json_parse(body, len, msg,
	    sizeof(msg))) != NULL) {
		di->images_size = json_get_int(v, "LayersSize", 0);
		di->volumes_size = sum_sizes(json_get_array(v, "Volumes"),
		    "UsageData", "Size", &di->volumes);
		di->build_cache = sum_sizes(json_get_array(v, "BuildCache"),
		    NULL, "Size", &n);
		yajl_tree_free(v);
	} else
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
