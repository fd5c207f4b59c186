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

#ifndef DKD_DRIVER_H
#define DKD_DRIVER_H

/*
 * The driver interface (DESIGN.md 5): everything the queue, the pass,
 * the readiness gate and the sweep ask of a container engine, in terms
 * that know nothing of HTTP.  engine.c is the local Docker engine; a
 * Swarm driver would fill the same table.  Every call is asynchronous
 * and its callback runs exactly once, later, from the event loop (also
 * when the call could not even be started).  Pointers handed to a
 * callback are valid only during the call.
 */

#include <stddef.h>
#include <stdint.h>

#define DRV_ID_MAX	64	/* a Docker object id: 64 hex digits */
#define DRV_UUID_MAX	64	/* our ids, in labels */
#define DRV_NAME_MAX	512
#define DRV_STATE_MAX	16
#define DRV_ERR_MAX	512

/* Our labels (spec 13.2, contract "Instance label"). */
#define LABEL_MANAGED		"managed-by"
#define LABEL_MANAGED_VALUE	"deploykit"
#define LABEL_INSTANCE		"deploykit.instance"
#define LABEL_PROJECT		"deploykit.project-id"
#define LABEL_SERVICE		"deploykit.service-id"
#define LABEL_DEPLOYMENT	"deploykit.deployment-id"
#define LABEL_REPLICA		"deploykit.replica-index"

enum drv_code {
	DRV_OK = 0,
	DRV_NOTFOUND,		/* 404 */
	DRV_CONFLICT,		/* 409 */
	DRV_UNREACHABLE,	/* no HTTP answer at all */
	DRV_FAILED,		/* anything else */
};

struct drv_res {
	enum drv_code	 code;
	long		 status;
	char		 err[DRV_ERR_MAX];	/* printable */
};

struct drv_kv {
	const char	*key;
	const char	*value;
};

/* One container from a list: only ones that carry our labels. */
struct drv_container {
	char		 id[DRV_ID_MAX + 1];
	char		 name[DRV_NAME_MAX];
	char		 instance[DRV_UUID_MAX + 1];
	char		 project_id[DRV_UUID_MAX + 1];
	char		 service_id[DRV_UUID_MAX + 1];
	char		 deployment_id[DRV_UUID_MAX + 1];
	int		 replica;		/* -1: no usable label */
	int		 managed;		/* managed-by=deploykit */
	char		 state[DRV_STATE_MAX];	/* running, ... */
};

struct drv_inspect {
	char		 id[DRV_ID_MAX + 1];
	char		 status[DRV_STATE_MAX];
	int		 running;
	int		 restarting;
	int		 oom_killed;
	int		 restart_count;
	int		 exit_code;
	int64_t		 started_at_ms;		/* 0: never */
	int64_t		 finished_at_ms;	/* 0: never finished */
	int		 tty;
};

struct drv_network {
	char		 id[DRV_ID_MAX + 1];
	char		 name[DRV_NAME_MAX];
	char		 instance[DRV_UUID_MAX + 1];
	int		 managed;
};

struct drv_volume {
	char		 name[DRV_NAME_MAX];
	char		 instance[DRV_UUID_MAX + 1];
	char		 service_id[DRV_UUID_MAX + 1];
	int		 managed;
};

/* One line of the events stream, for a container. */
struct drv_event {
	char		 id[DRV_ID_MAX + 1];
	char		 action[32];
	char		 service_id[DRV_UUID_MAX + 1];
	char		 instance[DRV_UUID_MAX + 1];
	int64_t		 time_nano;
};

struct drv_port {
	int		 container_port;
	int		 host_port;		/* 0: none */
	const char	*protocol;		/* "tcp" or "udp" */
};

struct drv_mount {
	const char	*volume;
	const char	*target;
};

/* What to create; copied by the call, so it may go right after it. */
struct drv_spec {
	const char		*name;
	const char		*image;
	const char		*network;
	const char		**aliases;
	size_t			 naliases;
	const struct drv_kv	*labels;
	size_t			 nlabels;
	const struct drv_kv	*env;
	size_t			 nenv;
	const struct drv_port	*ports;
	size_t			 nports;
	const struct drv_mount	*mounts;
	size_t			 nmounts;
	int64_t			 memory_bytes;	/* 0: no limit */
	int64_t			 cpu_shares;	/* 0: default */
	int			 stop_timeout;		/* seconds */
};

struct drv_stream;

typedef void	(*drv_done_cb)(const struct drv_res *, void *);
typedef void	(*drv_id_cb)(const struct drv_res *, const char *, void *);
typedef void	(*drv_containers_cb)(const struct drv_res *,
		    const struct drv_container *, size_t, void *);
typedef void	(*drv_inspect_cb)(const struct drv_res *,
		    const struct drv_inspect *, void *);
typedef void	(*drv_networks_cb)(const struct drv_res *,
		    const struct drv_network *, size_t, void *);
typedef void	(*drv_volumes_cb)(const struct drv_res *,
		    const struct drv_volume *, size_t, void *);
typedef void	(*drv_text_cb)(const struct drv_res *, const char *, size_t,
		    void *);
/*
 * Stream callbacks: NULL event / no data means "the stream is open".  A
 * bytes callback returns 1 to pause the stream (the same bytes come
 * again after stream_resume()), -1 to end it, else 0.
 */
typedef void	(*drv_event_cb)(const struct drv_event *, void *);
typedef int	(*drv_bytes_cb)(const char *, size_t, void *);

struct driver {
	const char	*name;
	void	(*network_list)(const struct drv_kv *, size_t,
		    drv_networks_cb, void *);
	void	(*network_create)(const char *, const struct drv_kv *,
		    size_t, drv_id_cb, void *);
	void	(*network_remove)(const char *, drv_done_cb, void *);
	void	(*image_inspect)(const char *, drv_done_cb, void *);
	void	(*image_pull)(const char *, drv_done_cb, void *);
	void	(*container_list)(const struct drv_kv *, size_t,
		    drv_containers_cb, void *);
	void	(*container_create)(const struct drv_spec *, drv_id_cb,
		    void *);
	void	(*container_start)(const char *, drv_done_cb, void *);
	void	(*container_stop)(const char *, int, drv_done_cb, void *);
	void	(*container_remove)(const char *, drv_done_cb, void *);
	void	(*container_inspect)(const char *, drv_inspect_cb, void *);
	void	(*container_logs)(const char *, int, int, drv_text_cb,
		    void *);
	struct drv_stream *(*logs_follow)(const char *, const char *,
		    drv_bytes_cb, drv_done_cb, void *);
	void	(*volume_create)(const char *, const struct drv_kv *,
		    size_t, drv_done_cb, void *);
	void	(*volume_list)(const struct drv_kv *, size_t,
		    drv_volumes_cb, void *);
	void	(*volume_remove)(const char *, drv_done_cb, void *);
	struct drv_stream *(*events)(const struct drv_kv *, size_t, int64_t,
		    int64_t, drv_event_cb, drv_done_cb, void *);
	void	(*stream_resume)(struct drv_stream *);
	void	(*stream_cancel)(struct drv_stream *);
};

extern const struct driver	 engine_driver;

#endif /* DKD_DRIVER_H */
