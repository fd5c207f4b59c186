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

struct tval;

/*
 * IMSG_CFG_SANDBOX (master -> worker): the worker's jail, a struct
 * sandbox_cfg (sandbox.h).  u32 uid, u32 gid, u32 extra gid or -1, str
 * chroot (may be ""), u32 master pid.
 */
struct sandbox_cfg;

void	 msg_sandbox_put(struct wbuf *, const struct sandbox_cfg *);
int	 msg_sandbox_get(struct rbuf *, struct sandbox_cfg *);

/*
 * IMSG_API_REQUEST (dkd-api -> master), before the op's fields (ops.h):
 * u32 op, str token (a token's hash, a ticket, or ""), str client.
 */
#define MSG_TOKEN_MAX		64
#define MSG_CLIENT_MAX		63

struct msg_request {
	uint32_t	 op;
	char		 token[MSG_TOKEN_MAX + 1];
	char		 client[MSG_CLIENT_MAX + 1];
	uint64_t	 cached;	/* generation of dkd-api's copy, or 0 */
};

void	 msg_request_put(struct wbuf *, uint32_t, const char *,
	    const char *, uint64_t);
int	 msg_request_get(struct rbuf *, struct msg_request *);

/*
 * IMSG_API_RESPONSE (master -> dkd-api) and IMSG_CTL_RESPONSE (master
 * -> dkctl): u32 HTTP status, u32 n headers, n * (str name, str value),
 * then the reply's value tree (tree.h) to the end, none for a 204.
 * The headers there are: Retry-After, and Generation for an answer that
 * dkd-api may keep (see dkd-api/cache.c).  Status 304 with no tree
 * means "the copy you said you hold is current".
 */
#define MSG_HEADER_NAME_MAX	31
#define MSG_HEADER_VALUE_MAX	63

struct msg_reply {
	uint32_t	 status;	/* 0: no answer came (dkd-api) */
	char		 retry_after[MSG_HEADER_VALUE_MAX + 1];	/* "": none */
	uint64_t	 generation;	/* may be cached as of this; 0: not */
	const uint8_t	*tree;		/* points into the message */
	size_t		 tree_len;	/* 0: no body */
};

void	 msg_reply_put(struct wbuf *, const struct msg_reply *);
int	 msg_reply_get(struct rbuf *, struct msg_reply *);

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
void	 msg_ctl_event_put(struct wbuf *, int64_t, const struct msg_event *);
int	 msg_ctl_event_get(struct rbuf *, int64_t *, struct msg_event *);

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
 * The reconciler's channel (RECONCILER-PROTOCOL.md): each payload is one
 * value tree (tree.h), a map.  A decoded struct's pointers point into
 * its tree, which msg_rec_*_free() releases with the arrays.  Decoders
 * check the shape and the bounds below and ignore keys they do not
 * know.  Texts (a reason, a log tail) are not refused for their length:
 * encoders cut them to the bounds below and the master cuts what it
 * keeps.
 */
#define MSG_ID_MAX		64	/* ids: UUIDs in practice */
#define MSG_SLUG_MAX		160
#define MSG_NAME_MAX		255
#define MSG_IMAGE_MAX		1024
#define MSG_STATUS_MAX		16
#define MSG_DOCKER_ID_MAX	128
#define MSG_REC_REPLICAS_MAX	1024
#define MSG_REC_REASON_MAX	4096
#define MSG_REC_LOG_TAIL_MAX	(64 * 1024)	/* the end is kept */
#define MSG_REC_ITEMS_MAX	(256 * 1024)	/* tree items per message */
/* What one DESIRED may ask of Docker. */
#define MSG_REC_DEPLOYMENTS_MAX	32
#define MSG_REC_ENV_MAX		10000
#define MSG_REC_ENV_KEY_MAX	256
#define MSG_REC_ENV_VALUE_MAX	(64 * 1024)
#define MSG_REC_PORTS_MAX	100
#define MSG_REC_VOLUMES_MAX	16
#define MSG_REC_CPU_SHARES_MAX	262144		/* Docker's limit */
#define MSG_REC_PROJECTS_MAX	100000

/*
 * Ids (the instance's, a project's, a service's, a deployment's) are
 * msg_service_id_valid(); a project slug, a service name and a volume
 * name go into Docker's object names, so they are letters, digits and
 * "-_.", not starting with "-" or "."; an image is printable, without
 * spaces, not starting with "-".
 */

/* IMSG_REC_SYNC_BEGIN: a full resync follows. */
struct msg_rec_sync_begin {
	char		 instance[MSG_ID_MAX + 1];
	int64_t		 sequence;
};

void	 msg_rec_sync_begin_put(struct wbuf *,
	    const struct msg_rec_sync_begin *);
int	 msg_rec_sync_begin_get(struct rbuf *, struct msg_rec_sync_begin *);

/* IMSG_REC_SYNC_END: every project, whose networks are to exist. */
struct msg_rec_project {
	char		 id[MSG_ID_MAX + 1];
	char		 slug[MSG_SLUG_MAX + 1];
};

struct msg_rec_sync_end {
	int64_t			 sequence;
	struct msg_rec_project	*projects;
	size_t			 nprojects;
};

void	 msg_rec_sync_end_put(struct wbuf *, const struct msg_rec_sync_end *);
int	 msg_rec_sync_end_get(struct rbuf *, struct msg_rec_sync_end *);
void	 msg_rec_sync_end_free(struct msg_rec_sync_end *);

/* IMSG_REC_DESIRED: what one service should run. */
struct msg_rec_env {
	const char	*key;
	const char	*value;
};

struct msg_rec_port {
	int64_t		 container_port;	/* 1-65535 */
	int64_t		 host_port;		/* 0: none published */
	char		 protocol[4];		/* "tcp" or "udp" */
};

struct msg_rec_deployment {
	char			 id[MSG_ID_MAX + 1];
	char			 status[MSG_STATUS_MAX + 1]; /* pending,
						   starting or healthy */
	const char		*image;
	struct msg_rec_env	*env;
	size_t			 nenv;
	struct msg_rec_port	*ports;
	size_t			 nports;
	int64_t			 memory_mb;	/* 0: no limit */
	int64_t			 cpu_shares;	/* 0: default */
	int64_t			 replicas;
	int64_t			 attempt_count;
	int64_t			 baseline_restart_count;
	int			 active;
};

struct msg_rec_volume {
	const char	*name;		/* the volume is dk-<slug>-<svc>-name */
	const char	*path;		/* absolute, inside the container */
};

struct msg_rec_desired {
	char			 service_id[MSG_ID_MAX + 1];
	char			 project_id[MSG_ID_MAX + 1];
	char			 project_slug[MSG_SLUG_MAX + 1];
	char			 service_name[MSG_NAME_MAX + 1];
	int			 stopped;
	int			 deleted;
	struct msg_rec_deployment *deployments;
	size_t			 ndeployments;
	struct msg_rec_volume	*volumes;
	size_t			 nvolumes;
	struct tval		*tree;	/* decoded: owns the strings */
	char			 error[128];	/* why it was refused */
};

/*
 * msg_rec_desired_get() says -1 for a payload it refuses; then error
 * says why, and service_id is still filled if it was a valid one, so
 * that the reconciler can keep that service as it is rather than take
 * it for gone.
 */
void	 msg_rec_desired_put(struct wbuf *, const struct msg_rec_desired *);
int	 msg_rec_desired_get(struct rbuf *, struct msg_rec_desired *);
void	 msg_rec_desired_free(struct msg_rec_desired *);
const struct msg_rec_deployment *msg_rec_desired_deployment(
	    const struct msg_rec_desired *, const char *);

/* IMSG_REC_REPORT: what the reconciler did and saw. */
enum msg_rec_report_kind {
	REC_REPORT_STARTING = 1,	/* deployment_id */
	REC_REPORT_ATTEMPT_FAILED,	/* deployment_id, reason */
	REC_REPORT_FAILED,		/* deployment_id, reason, exit code?,
					   log_tail */
	REC_REPORT_HEALTHY,		/* deployment_id, baseline */
	REC_REPORT_SERVICE_STATUS,	/* service_id, status */
	REC_REPORT_CONTAINERS,		/* service_id, containers */
};

struct msg_rec_container {
	char		 docker_id[MSG_DOCKER_ID_MAX + 1];
	char		 deployment_id[MSG_ID_MAX + 1];
	int64_t		 replica;
	char		 state[MSG_STATUS_MAX + 1];	/* Docker's */
};

struct msg_rec_report {
	enum msg_rec_report_kind kind;
	char			 deployment_id[MSG_ID_MAX + 1];
	char			 service_id[MSG_ID_MAX + 1];
	const char		*reason;
	int			 has_exit_code;
	int64_t			 exit_code;
	const char		*log_tail;
	int64_t			 baseline_restart_count;
	char			 status[MSG_STATUS_MAX + 1];
	struct msg_rec_container *containers;
	size_t			 ncontainers;
	struct tval		*tree;
};

const char *msg_rec_report_kind_name(enum msg_rec_report_kind);
void	 msg_rec_report_put(struct wbuf *, const struct msg_rec_report *);
int	 msg_rec_report_get(struct rbuf *, struct msg_rec_report *);
void	 msg_rec_report_free(struct msg_rec_report *);

/* IMSG_REC_QUEUE: the work queue, when it changes. */
struct msg_rec_queue {
	int64_t		 in_flight;
	int64_t		 waiting;
	int64_t		 backing_off;
	int64_t		 services;
};

void	 msg_rec_queue_put(struct wbuf *, const struct msg_rec_queue *);
int	 msg_rec_queue_get(struct rbuf *, struct msg_rec_queue *);

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
 * "seconds.nanoseconds", which is what Docker's since parameter takes;
 * the contract has no "last_unix", so absent is ""}.
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
int	 msg_name_valid(const char *, size_t);
int	 msg_image_valid(const char *);

#endif /* DK_MSG_H */
