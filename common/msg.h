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

#ifndef DK_MSG_H
#define DK_MSG_H

/*
 * Messages whose payload is more than a field or two: each has its
 * struct, its encoder and its decoder here, side by side, so that the
 * two ends of a channel cannot disagree.
 */

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define MSG_PROJECT_ID_MAX	64
#define MSG_PATH_MAX		1024
#define MSG_EVENT_TYPE_MAX	64

/*
 * IMSG_API_EVENT (master -> dkd-api) and, after an i64 time,
 * IMSG_CTL_EVENT (master -> dkctl): str project id, u32 connection not
 * to send it to (0: none), str type, then a value tree to the end.
 */
struct msg_event {
	char		 project_id[MSG_PROJECT_ID_MAX + 1];
	uint32_t	 except_conn;
	char		 type[MSG_EVENT_TYPE_MAX + 1];
	const uint8_t	*payload;	/* the tree; points into the message */
	size_t		 payload_len;
};

void	 msg_event_put(struct wbuf *, const struct msg_event *);
int	 msg_event_get(struct rbuf *, struct msg_event *);

/*
 * IMSG_REC_DOCKER (reconciler -> master: checked_at is 0, the master
 * stamps it) and IMSG_CTL_DOCKER (master -> dkctl): can Docker be
 * reached, and what it said.
 */
struct msg_docker {
	int		 reachable;
	char		 server_version[64];
	char		 api_version[32];
	char		 error[256];
	int64_t		 checked_at;
};

void	 msg_docker_put(struct wbuf *, const struct msg_docker *);
int	 msg_docker_get(struct rbuf *, struct msg_docker *);

/* IMSG_CTL_PROC (master -> dkctl): one process of dkd. */
struct msg_proc {
	char		 name[32];
	int64_t		 pid;
	int64_t		 started;
	uint32_t	 restarts;
	char		 state[32];
};

void	 msg_proc_put(struct wbuf *, const struct msg_proc *);
int	 msg_proc_get(struct rbuf *, struct msg_proc *);

/* IMSG_CTL_DB (master -> dkctl): the database. */
struct msg_db {
	char		 path[MSG_PATH_MAX];
	int64_t		 size;
	uint32_t	 version;
};

void	 msg_db_put(struct wbuf *, const struct msg_db *);
int	 msg_db_get(struct rbuf *, struct msg_db *);

/*
 * IMSG_REC_RECONCILE (master -> reconciler) and IMSG_REC_RECONCILE_ACK
 * (reconciler -> master): str service id, "" for a full resync.
 */
#define MSG_SERVICE_ID_MAX	64

void	 msg_reconcile_put(struct wbuf *, const char *);
int	 msg_reconcile_get(struct rbuf *, char *, size_t);

/*
 * Log streams (RECONCILER-PROTOCOL.md, "Log streams" and "SSE
 * viewers").  Each payload is a value tree; the decoders check every
 * field, so the master and logd refuse the same things.
 */
#define MSG_CONTAINER_ID_MAX	64	/* Docker's full id, hex */
#define MSG_LOGQ_MAX		256	/* a viewer's search text */
#define MSG_LOGTIME_MAX		32	/* "sec.nsec" or RFC 3339 nano */

/*
 * IMSG_REC_LOGSTREAM (reconciler -> master) and IMSG_LOGD_STREAM
 * (master -> logd), each with the read end of a pipe that carries
 * Docker's log stream of one container (follow, stdout and stderr,
 * timestamps): {"container_id", "service_id", "project_id",
 * "deployment_id", "tty": bool}.
 */
struct msg_logstream {
	char		 container_id[MSG_CONTAINER_ID_MAX + 1];
	char		 service_id[MSG_SERVICE_ID_MAX + 1];
	char		 project_id[MSG_PROJECT_ID_MAX + 1];
	char		 deployment_id[MSG_SERVICE_ID_MAX + 1];
	int		 tty;
};

void	 msg_logstream_put(struct wbuf *, const struct msg_logstream *);
int	 msg_logstream_get(struct rbuf *, struct msg_logstream *);

/*
 * IMSG_LOGD_MARK (logd -> master) and IMSG_REC_LOGMARK (master ->
 * reconciler), when a stream ends: {"container_id", "last": the RFC
 * 3339 time of the newest line stored, "last_unix": the same as
 * "seconds.nanoseconds", which is what Docker's since parameter takes}.
 */
struct msg_logmark {
	char		 container_id[MSG_CONTAINER_ID_MAX + 1];
	char		 last[MSG_LOGTIME_MAX + 1];
	char		 last_unix[MSG_LOGTIME_MAX + 1];
};

void	 msg_logmark_put(struct wbuf *, const struct msg_logmark *);
int	 msg_logmark_get(struct rbuf *, struct msg_logmark *);

/* IMSG_LOGD_FORGET (master -> logd): {"service_id"}. */
void	 msg_logforget_put(struct wbuf *, const char *);
int	 msg_logforget_get(struct rbuf *, char *, size_t);

/*
 * IMSG_LOGD_VIEW (master -> logd), with one end of a socketpair that
 * logd writes the event stream into; peerid numbers the view.
 * {"service_id", "tail": int (-1: all), "since", "until": int (ns
 * since the epoch, 0: none), "q": str, "stream": "" | "stdout" |
 * "stderr", "follow": bool, "containers": bool (running containers in
 * the database)}.
 */
struct msg_logview {
	char		 service_id[MSG_SERVICE_ID_MAX + 1];
	int64_t		 tail;
	int64_t		 since;
	int64_t		 until;
	char		 q[MSG_LOGQ_MAX + 1];
	int		 stream;	/* 0 both, 1 stdout, 2 stderr */
	int		 follow;
	int		 containers;
};

void	 msg_logview_put(struct wbuf *, const struct msg_logview *);
int	 msg_logview_get(struct rbuf *, struct msg_logview *);

/* IMSG_LOGD_VIEW_ACK (logd -> master), same peerid: {"status"}. */
#define MSG_VIEW_OK		0
#define MSG_VIEW_NONE		1	/* the service never logged */
#define MSG_VIEW_BUSY		2	/* logd has too many viewers */

void	 msg_logview_ack_put(struct wbuf *, int);
int	 msg_logview_ack_get(struct rbuf *, int *);

int	 msg_service_id_valid(const char *);
int	 msg_container_id_valid(const char *);

#endif /* DK_MSG_H */
