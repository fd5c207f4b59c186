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

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "config.h"
#include "dkd.h"
#include "docker_info.h"
#include "log.h"
#include "store.h"

/*
 * The system routes: what the host, Docker and the database look like,
 * and the system settings.  Docker figures come from the reconciler, asked
 * per request; if it does not answer in time, Docker is reported as not
 * reachable, never as an HTTP error.
 */

#define SYSINFO_TIMEOUT	10	/* seconds */

struct sysinfo_wait {
	TAILQ_ENTRY(sysinfo_wait) entry;
	uint32_t		 id;
	struct request		*req;
	struct event		*timeout;
};

static TAILQ_HEAD(, sysinfo_wait) waits = TAILQ_HEAD_INITIALIZER(waits);
static uint32_t		 next_wait_id;

static void	sysinfo_timeout(int, short, void *);
static void	sysinfo_finish(struct sysinfo_wait *, struct docker_info *);
static void	about_reply(struct request *, struct docker_info *);
static void	status_reply(struct request *, struct docker_info *);

/* Ask the reconciler; the reply or the timeout finishes the request. */
static void
sysinfo_ask(struct request *req, int with_df)
{
	struct sysinfo_wait	*sw;
	struct docker_info	 di;
	struct timeval		 tv = { SYSINFO_TIMEOUT, 0 };
	struct wbuf		 wb;

	if ((sw = calloc(1, sizeof(*sw))) == NULL ||
	    (sw->timeout = evtimer_new(env->base, sysinfo_timeout, sw)) ==
	    NULL) {
		free(sw);
		reply_internal(req);
		return;
	}
	sw->id = ++next_wait_id;
	sw->req = req;
	TAILQ_INSERT_TAIL(&waits, sw, entry);
	wbuf_init(&wb, 16);
	wire_put_u8(&wb, with_df ? 1 : 0);
	if (supervisor_send(PROC_RECONCILER, IMSG_REC_SYSINFO, sw->id,
	    &wb) == -1) {
		wbuf_free(&wb);
		memset(&di, 0, sizeof(di));
		strlcpy(di.error, "the reconciler is not running",
		    sizeof(di.error));
		sysinfo_finish(sw, &di);
		return;
	}
	wbuf_free(&wb);
	evtimer_add(sw->timeout, &tv);
}

static void
sysinfo_finish(struct sysinfo_wait *sw, struct docker_info *di)
{
	struct request	*req = sw->req;

	TAILQ_REMOVE(&waits, sw, entry);
	event_free(sw->timeout);
	free(sw);
	if (req->op == OP_SYSTEM_ABOUT)
		about_reply(req, di);
	else
		status_reply(req, di);
}

static void
sysinfo_timeout(int fd, short event, void *arg)
{
	struct docker_info	 di;

	memset(&di, 0, sizeof(di));
	strlcpy(di.error, "no answer from the reconciler", sizeof(di.error));
	sysinfo_finish(arg, &di);
}

/* IMSG_REC_SYSINFO from the reconciler; -1 if malformed. */
int
system_docker_reply(struct imsg *imsg)
{
	struct sysinfo_wait	*sw;
	struct docker_info	 di;
	struct rbuf		 r;

	rbuf_init(&r, imsg->data, imsg->len);
	if (docker_info_get(&r, &di) == -1)
		return (-1);
	TAILQ_FOREACH(sw, &waits, entry)
		if (sw->id == imsg->hdr.peerid)
			break;
	/* Late, after the timeout answered: nothing to do. */
	if (sw != NULL)
		sysinfo_finish(sw, &di);
	return (0);
}

void
op_system_about(struct request *req)
{
	sysinfo_ask(req, 0);
}

void
op_system_status(struct request *req)
{
	sysinfo_ask(req, 1);
}

static void
about_reply(struct request *req, struct docker_info *di)
{
	struct wbuf	 w;
	char		 started[DBTIME_LEN + 1];
	int		 i;

	dbtime(env->started, started);
	tree_new(&w);
	tree_map(&w);
	tree_key(&w, "deploykit");
	tree_map(&w);
	tree_kv_str(&w, "version", DKD_VERSION);
	tree_time(&w, "started_at", started);
	tree_kv_int(&w, "uptime_seconds", time(NULL) - env->started);
	tree_end(&w);
	tree_key(&w, "docker");
	tree_map(&w);
	tree_kv_bool(&w, "reachable", di->reachable);
	if (!di->reachable)
		tree_kv_str(&w, "error", di->error);
	else {
		tree_kv_str(&w, "server_version", di->server_version);
		tree_kv_str(&w, "api_version", di->api_version);
		tree_kv_str(&w, "os", di->os);
		tree_kv_str(&w, "kernel_version", di->kernel_version);
		tree_kv_str(&w, "architecture", di->architecture);
		tree_kv_str(&w, "storage_driver", di->storage_driver);
		tree_kv_str(&w, "logging_driver", di->logging_driver);
		tree_kv_str(&w, "cgroup_driver", di->cgroup_driver);
		tree_kv_str(&w, "docker_root_dir", di->root_dir);
		tree_key(&w, "warnings");
		tree_array(&w);
		for (i = 0; i < di->nwarnings; i++)
			tree_str(&w, di->warnings[i]);
		tree_end(&w);
	}
	tree_end(&w);
	tree_key(&w, "database");
	tree_map(&w);
	tree_kv_str(&w, "path", env->conf.database);
	tree_kv_int(&w, "size_bytes", db_size());
	tree_end(&w);
	tree_kv_bool(&w, "update_available", 0);
	tree_end(&w);
	reply_tree(req, 200, &w);
}

static void
status_reply(struct request *req, struct docker_info *di)
{
	struct wbuf	 w;

	tree_new(&w);
	tree_map(&w);
	tree_key(&w, "host");
	sysinfo_host(&w, di->reachable ? di->root_dir : NULL);
	tree_key(&w, "docker");
	tree_map(&w);
	tree_kv_bool(&w, "reachable", di->reachable);
	tree_kv_int(&w, "containers", di->containers);
	tree_kv_int(&w, "containers_running", di->running);
	tree_kv_int(&w, "containers_stopped", di->stopped);
	tree_kv_int(&w, "images", di->images);
	tree_kv_int(&w, "images_size_bytes", di->images_size);
	tree_kv_int(&w, "volumes", di->volumes);
	tree_kv_int(&w, "volumes_size_bytes", di->volumes_size);
	tree_kv_int(&w, "build_cache_bytes", di->build_cache);
	tree_end(&w);
	tree_end(&w);
	reply_tree(req, 200, &w);
}

/* Releases and self-upgrade are not built yet (Decision 12). */
void
op_system_unavailable(struct request *req)
{
	reply_error(req, 501, "Releases and self-upgrade are not available "
	    "in this version.");
}

/* auto_update, the one setting: absent means false. */
static void
settings_reply(struct request *req)
{
	struct wbuf	 w;
	char		 v[16];
	int		 rc;

	if ((rc = db_setting_get("auto_update", v, sizeof(v))) == ST_ERROR) {
		reply_internal(req);
		return;
	}
	tree_new(&w);
	tree_map(&w);
	tree_kv_bool(&w, "auto_update", rc == ST_OK &&
	    strcmp(v, "true") == 0);
	tree_end(&w);
	reply_tree(req, 200, &w);
}

void
op_settings_get(struct request *req)
{
	settings_reply(req);
}

/* PATCH /api/system/settings: only the fields present change. */
void
op_settings_update(struct request *req)
{
	if (req->args.present[SETTINGS_AUTO_UPDATE] &&
	    db_setting_set("auto_update",
	    req->args.num[SETTINGS_AUTO_UPDATE] ? "true" : "false") != ST_OK) {
		reply_internal(req);
		return;
	}
	settings_reply(req);
}
