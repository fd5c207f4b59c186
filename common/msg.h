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

#endif /* DK_MSG_H */
