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

#ifndef DK_DKD_IMSG_H
#define DK_DKD_IMSG_H

/*
 * Message types of every channel, and the limits that go with them.
 * Payloads use the field encoding of wire.h; each type's fields are
 * listed next to it, in order.
 */

/* Largest message on the internal channels and on the control socket. */
#define DKD_IMSG_MAX_INTERNAL	(1024 * 1024)
#define DKD_IMSG_MAX_CONTROL	(256 * 1024)
/* Bytes a channel may have queued before its peer counts as stuck. */
#define DKD_QUEUE_MAX_INTERNAL	(64 * 1024 * 1024)
#define DKD_QUEUE_MAX_CONTROL	(1024 * 1024)

/* dkctl puts this in peerid; dkd refuses other versions. */
#define DKD_CTL_VERSION		1

/* The worker's end of its channel to the master. */
#define DKD_CHANNEL_FD		3

/* String bounds used by decoders. */
#define DKD_PATH_MAX		1024
#define DKD_STR_MAX		4096

enum dkd_proc_id {
	PROC_MASTER = 0,
	PROC_API,
	PROC_RECONCILER,
	PROC_LOGD,
	PROC_MAX
};

enum imsg_type {
	IMSG_NONE = 0,

	/* master -> worker, at start in this order; DONE ends the set */
	IMSG_CFG_SANDBOX,	/* msg.h msg_sandbox_put() */
	IMSG_CFG_SETTINGS,	/* settings.h settings_put() */
	IMSG_CFG_LISTEN,	/* fd: the listening socket (api) */
	IMSG_CFG_DONE,

	/* worker -> master */
	IMSG_READY,		/* sandboxed and serving */

	/* master <-> worker, liveness */
	IMSG_PING,		/* u32 sequence */
	IMSG_PONG,		/* u32 sequence */

	/* master -> worker */
	IMSG_LOG_LEVEL,		/* u32 level */

	/* reconciler -> master */
	IMSG_REC_DOCKER,	/* bool reachable, str server version,
				   str api version, str error */
	IMSG_REC_SYSINFO,	/* peerid: the asking request.  master ->
				   rec: bool with disk usage; rec ->
				   master: docker_info.h */

	/* api <-> master; peerid carries the request id */
	IMSG_API_REQUEST,	/* msg.h msg_request_put(), then the op's
				   fields (see ops.h) */
	IMSG_API_RESPONSE,	/* msg.h msg_reply_put(): u32 http status,
				   u32 n headers, n * (str name, str
				   value), reply tree (none for 204) */

	/* dkctl <-> master over the control socket */
	IMSG_CTL_STATUS,	/* (none) */
	IMSG_CTL_PROC,		/* str name, i64 pid, i64 started,
				   u32 restarts, str state */
	IMSG_CTL_DB,		/* str path, i64 size, u32 schema version */
	IMSG_CTL_DOCKER,	/* bool reachable, str server, str api,
				   str error, i64 checked at */
	IMSG_CTL_RELOAD,	/* (none) */
	IMSG_CTL_LOG,		/* bool verbose */
	IMSG_CTL_OK,		/* (none) */
	IMSG_CTL_FAIL,		/* str message */
	IMSG_CTL_END,		/* (none): end of a listing */
	IMSG_CTL_REQUEST,	/* u32 op, op fields (see ops.h) */
	IMSG_CTL_RESPONSE,	/* like IMSG_API_RESPONSE */
	IMSG_CTL_EVENTS,	/* str project (id, slug or name; "" for
				   all): follow events from now on */
	IMSG_CTL_EVENT,		/* msg.h msg_ctl_event_put(): i64 time,
				   then a struct msg_event */
	IMSG_CTL_QUEUE,		/* msg.h msg_rec_queue: the reconciler's
				   work queue, when it said */

	/* master -> api: an event for a project's canvas room */
	IMSG_API_EVENT,		/* msg.h struct msg_event */

	/* master -> reconciler: make Docker match the database */
	IMSG_REC_RECONCILE,	/* msg.h msg_reconcile_put(): str service
				   id ("" for every service) */
	/* reconciler -> master: the request is taken */
	IMSG_REC_RECONCILE_ACK,	/* the same payload */

	/*
	 * The reconciler's desired state and reports
	 * (RECONCILER-PROTOCOL.md); each payload is one value tree, with
	 * its encoder and decoder in msg.h.
	 */
	/* master -> reconciler */
	IMSG_REC_SYNC_BEGIN,	/* msg_rec_sync_begin: a full resync */
	IMSG_REC_DESIRED,	/* msg_rec_desired: one service */
	IMSG_REC_SYNC_END,	/* msg_rec_sync_end: every project */
	/* reconciler -> master */
	IMSG_REC_REPORT,	/* msg_rec_report: what was done and seen */
	IMSG_REC_QUEUE,		/* msg_rec_queue: the work queue */
	IMSG_REC_LOGSTREAM,	/* fd: msg_logstream */
	/* master -> reconciler */
	IMSG_REC_LOGMARK,	/* msg_logmark */

	/* Log streams and viewers (msg.h; RECONCILER-PROTOCOL.md) */
	IMSG_LOGD_STREAM,	/* master -> logd, fd: msg_logstream */
	IMSG_LOGD_MARK,		/* logd -> master: msg_logmark */
	IMSG_LOGD_FORGET,	/* master -> logd: msg_logforget */
	IMSG_LOGD_VIEW,		/* master -> logd, fd; peerid: the view:
				   msg_logview */
	IMSG_LOGD_VIEW_ACK,	/* logd -> master, same peerid */
	IMSG_API_LOGS,		/* master -> api, fd: the viewer socket;
				   peerid: the call; right before its
				   IMSG_API_RESPONSE */
	IMSG_CTL_LOGS,		/* master -> dkctl, fd: the same, right
				   before its IMSG_CTL_RESPONSE */

	IMSG_TYPE_MAX
};

#endif /* DK_DKD_IMSG_H */
