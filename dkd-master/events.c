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
 * The event hub.  Whatever changes a project (a staged change, an Apply,
 * a canvas edit, later what the reconciler sees) becomes an event: a
 * WebSocket message type and its payload.  dkd-api gets the events of
 * the projects it holds canvas tickets for and fans them out to rooms;
 * dkctl gets them on "dkctl events".  Publishing never blocks: when a
 * subscriber's queue is too full the event is dropped for it, and
 * that is logged.
 */

/* Beyond this much queued for dkd-api, events wait for nobody. */
#define EVENTS_API_QUEUE_MAX	(16 * 1024 * 1024)
/* Log a run of drops once a second at most. */
#define EVENTS_DROP_LOG_SEC	1

static time_t		 last_drop_log;
static unsigned long	 drops;

void
events_dropped(const char *who, const char *type)
{
	time_t	 now = time(NULL);

	drops++;
	if (now - last_drop_log < EVENTS_DROP_LOG_SEC)
		return;
	log_warnx("events: %s does not keep up; dropped %lu event%s (last: "
	    "%s)", who, drops, drops == 1 ? "" : "s", type);
	last_drop_log = now;
	drops = 0;
}

/*
 * Publish type with payload (a tree from tree_new(); taken and freed)
 * to project_id's subscribers, except dkd-api's connection except_conn.
 */
/* An event whose payload is one item, or {key: item} with a key. */
void
events_publish_item(const char *project_id, const char *type,
    const char *key, tree_render_fn render, const void *item)
{
	struct wbuf	 w;

	tree_new(&w);
	if (key != NULL) {
		tree_map(&w);
		tree_key(&w, key);
	}
	render(&w, item);
	if (key != NULL)
		tree_end(&w);
	events_publish(project_id, type, &w, 0);
}

void
events_publish(const char *project_id, const char *type,
    struct wbuf *payload, uint32_t except_conn)
{
	struct msg_event	 ev;
	struct wbuf		 msg;

	memset(&ev, 0, sizeof(ev));
	if (strlcpy(ev.project_id, project_id, sizeof(ev.project_id)) >=
	    sizeof(ev.project_id) ||
	    strlcpy(ev.type, type, sizeof(ev.type)) >= sizeof(ev.type) ||
	    payload->error) {
		log_warnx("%s: bad event %s", __func__, type);
		wbuf_free(payload);
		return;
	}
	ev.except_conn = except_conn;
	ev.payload = payload->buf;
	ev.payload_len = payload->len;
	if (tickets_project_live(project_id)) {
		wbuf_init(&msg, DKD_IMSG_MAX_INTERNAL);
		msg_event_put(&msg, &ev);
		if (supervisor_queued(PROC_API) > EVENTS_API_QUEUE_MAX)
			events_dropped("dkd-api", type);
		else
			(void)supervisor_send(PROC_API, IMSG_API_EVENT, 0,
			    &msg);
		wbuf_free(&msg);
	}
	control_event(&ev);
	wbuf_free(payload);
}
