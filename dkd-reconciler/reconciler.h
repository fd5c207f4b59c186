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

#ifndef DKD_RECONCILER_H
#define DKD_RECONCILER_H

#include <sys/queue.h>
#include <sys/tree.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <yajl/yajl_tree.h>

#include "driver.h"
#include "msg.h"

#define DOCKER_API_PREFIX	"/v1.41"
#define DOCKER_MAX_REPLY	(16 * 1024 * 1024)
#define DOCKER_CONNECT_TIMEOUT_MS 3000
#define JSON_MAX_DEPTH		64
#define DRV_LIST_MAX		100000	/* objects kept from a list */
#define DRV_REPLICAS_MAX	1024

#define LOG_TAIL_LINES		50
#define LOG_TAIL_MAX		10240	/* bytes of a log tail */
#define STOP_TIMEOUT_S		10	/* then kill (Decision 10) */
#define INFLIGHT_REQUEUE_MS	2000	/* spec 13.2 step 5 */
#define BAD_OBSERVATIONS_MAX	3
#define OBS_INTERVAL_MS		1800	/* counted readiness looks */
/* The engine stops its containers (StopTimeout each) before it goes. */
#define ENGINE_STOP_MS		((STOP_TIMEOUT_S + 5) * 1000)
/* After it is back, the time it has to start them again on its own. */
#define ENGINE_RESTART_GRACE_MS	30000
#define SWEEP_KEY		"sweep"
#define DEPLOY_STATUS_MAX	16

/* status 0 means no HTTP answer at all; err then says why. */
typedef void	(*docker_cb)(long, const char *, size_t, const char *,
		    void *);
/* A piece of a stream; NULL, 0 once when it opens.  -1 stops it, 1
   pauses it. */
typedef int	(*docker_data_cb)(const char *, size_t, void *);

struct docker_req;

/* Lines of a newline-delimited stream. */
struct lines {
	size_t		 len;
	int		 skipping;
	char		 buf[64 * 1024];
};

/* A growing text buffer; error is sticky. */
struct textbuf {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	int		 error;
};

/* docker.c */
void	 docker_init(struct event_base *, const char *);
struct docker_req *docker_request(const char *, const char *, const char *,
	    long, docker_cb, void *);
struct docker_req *docker_stream(const char *, const char *, long, long,
	    docker_data_cb, docker_cb, void *);
void	 docker_cancel(struct docker_req *);
void	 docker_resume(struct docker_req *);
uint64_t docker_calls(void);
void	 docker_shutdown(void);

struct docker_info;

/* dparse.c */
int	 dparse_version(const char *, size_t, char *, size_t, char *,
	    size_t);
int	 dparse_info(const char *, size_t, struct docker_info *, char *,
	    size_t);
int	 dparse_df(const char *, size_t, struct docker_info *, char *,
	    size_t);
void	 dparse_sanitize(char *, size_t, const char *, size_t);
void	 dparse_message(const char *, size_t, long, char *, size_t);
int	 dparse_id(const char *, size_t, char *, size_t);
int64_t	 dparse_time(const char *);
int	 dparse_containers(const char *, size_t, struct drv_container **,
	    size_t *, char *, size_t);
int	 dparse_inspect(const char *, size_t, struct drv_inspect *, char *,
	    size_t);
int	 dparse_networks(const char *, size_t, struct drv_network **,
	    size_t *, char *, size_t);
int	 dparse_volumes(const char *, size_t, struct drv_volume **, size_t *,
	    char *, size_t);
int	 dparse_event(const char *, size_t, struct drv_event *);
int	 dparse_pull_line(const char *, size_t, char *, size_t);
int	 dparse_log_tail(const char *, size_t, int, int, size_t,
	    struct textbuf *);
int	 lines_feed(struct lines *, const char *, size_t,
	    int (*)(const char *, size_t, void *), void *);
void	 textbuf_add(struct textbuf *, const char *, size_t);
void	 textbuf_free(struct textbuf *);

/* json.c */
yajl_val json_parse(const char *, size_t, char *, size_t);

struct svc;
struct pass;

/* A managed container of a service, as we last saw it. */
struct ctr {
	TAILQ_ENTRY(ctr)	 entry;
	char			 id[DRV_ID_MAX + 1];
	char			 name[DRV_NAME_MAX];
	char			 project_id[DRV_UUID_MAX + 1];
	char			 deployment_id[DRV_UUID_MAX + 1];
	int			 replica;
	char			 state[DRV_STATE_MAX];
	int			 inspected;
	int			 dirty;		/* inspect again */
	int			 busy;		/* a pass acts on it */
	int			 seen;		/* in a list merged */
	struct drv_inspect	 insp;
};
TAILQ_HEAD(ctrs, ctr);

/* Readiness memory of one slot (deployment, replica): spec 13.2 step 4. */
struct slotmem {
	TAILQ_ENTRY(slotmem)	 entry;
	char			 deployment_id[DRV_UUID_MAX + 1];
	int			 replica;
	int			 last_restart_count;
	int			 max_restart_count;
	int			 bad;		/* bad looks in a row */
	int			 crashloop;	/* after promotion */
	int			 live;		/* seen in this pass */
};
TAILQ_HEAD(slotmems, slotmem);

/* What we told the master about a deployment, not to repeat it. */
struct depnote {
	TAILQ_ENTRY(depnote)	 entry;
	char			 id[DRV_UUID_MAX + 1];
	int			 starting_sent;
	int			 healthy_sent;
	int			 failed_sent;
	unsigned		 pull_gen_reported;
};
TAILQ_HEAD(depnotes, depnote);

struct svc {
	RB_ENTRY(svc)		 entry;
	char			 id[DRV_UUID_MAX + 1];
	struct msg_rec_desired	*want;		/* NULL: orphan */
	struct msg_rec_desired	*want_next;	/* during a pass */
	int			 has_next;
	int			 in_sync;	/* in this resync */
	struct ctrs		 ctrs;
	int			 listed;	/* ctrs came from a list */
	int			 stale;		/* list it again */
	uint64_t		 ev_seq;	/* of its last event */
	uint64_t		 last_obs_ms;	/* counted look */
	struct slotmems		 mem;
	struct depnotes		 notes;
	char			 status_sent[DEPLOY_STATUS_MAX];
	uint64_t		 ctrs_sig;
	int			 ctrs_sent;
	int			 volumes_gone;	/* after delete */
	struct pass		*pass;
};
RB_HEAD(svcs, svc);
RB_PROTOTYPE(svcs, svc, entry, svc_cmp)

/* The reconciler's state (reconciler.c). */
struct rec {
	struct event_base	*base;
	const struct driver	*drv;
	char			 instance[DRV_UUID_MAX + 1];
	int			 syncing;	/* between BEGIN and END */
	int			 synced;	/* a sync was done */
	int64_t			 sequence;
	struct msg_rec_sync_end	 projects;	/* of the last sync */
	struct svcs		 svcs;
	size_t			 nsvcs;
	struct queue		*q;		/* services */
	struct queue		*sweep_q;
	int			 resync_pending;
	int			 events_ok;	/* the stream is open */
	uint64_t		 ev_seq;
	int			 docker_up;
	/* The engine: Docker answers and its stream is open. */
	int			 engine_up;
	int64_t			 engine_lost_ms; /* wall clock, 0: never */
	int64_t			 engine_back_ms;
};

extern struct rec	*rec;

/* reconciler.c */
struct svc	*svc_find(const char *);
struct svc	*svc_get(const char *);
void		 svc_maybe_free(struct svc *);
void		 svc_ctr_free(struct svc *, struct ctr *);
struct ctr	*svc_ctr_find(struct svc *, const char *);
void		 svc_want_free(struct msg_rec_desired *);
void		 rec_resync(void);
void		 rec_docker_trouble(void);
void		 rec_labels(struct drv_kv *, size_t *, const char *);
void		 rec_engine_changed(void);
int64_t		 rec_wall_ms(void);

/* pass.c */
void		 pass_start(struct queue *, const char *, void *);
int		 pass_slot_name(char *, size_t, const struct msg_rec_desired *,
		    int, const char *);

/* readiness.c */
struct obs {
	int		 present;	/* a container holds the slot */
	int		 inspected;	/* and what we know of it is current */
	const char	*status;
	int		 restart_count;
	int		 exit_code;
	int64_t		 started_at_ms;
	int64_t		 finished_at_ms;
	int		 engine_stop;	/* the engine stopped it, going away */
};
struct slot_verdict {
	int		 ready;
	int		 bad;
	int		 failed;	/* BAD_OBSERVATIONS_MAX in a row */
	int		 skipped;	/* no observation this tick */
	uint64_t	 ready_in_ms;	/* running, not yet long enough */
};
struct slotmem	*readiness_slot(struct svc *,
		    const struct msg_rec_deployment *, int, const struct obs *);
void		 readiness_observe(struct slotmem *, const struct obs *,
		    int64_t, uint64_t, int, struct slot_verdict *);
void		 readiness_begin(struct svc *);
void		 readiness_end(struct svc *);
void		 readiness_forget_dep(struct svc *, const char *);
void		 readiness_forget_all(struct svc *);
void		 readiness_failure_reason(const struct obs *, int, char *,
		    size_t);
int		 readiness_engine_stop(const struct obs *, int64_t, int64_t,
		    int64_t);

/* image.c */
enum image_state {
	IMG_PRESENT,
	IMG_WAITING,		/* being checked or pulled */
	IMG_FAILED,
};
enum image_state image_want(const char *, const char *, unsigned *, char *,
		    size_t, uint64_t *);
void		 image_forget(const char *);
int		 image_busy(void);

/* sweep.c */
void		 sweep_start(struct queue *, const char *, void *);
int		 net_known(const char *);
void		 net_ensure(const char *, const char *, drv_done_cb,
		    void *);
void		 view_merge(struct svc *, const struct drv_container *,
		    size_t, int);
int		 ctr_is_ours(const struct drv_container *);

/* events.c */
void		 events_start(void);
void		 events_kick(void);
void		 events_stop(void);

/* logs.c */
void		 logs_event(struct svc *, const struct drv_event *);
void		 logs_ctr_seen(struct svc *, struct ctr *);
void		 logs_ctr_gone(struct ctr *);
void		 logs_mark(struct rbuf *);
void		 logs_shutdown(void);

/* report.c */
void		 report_starting(const char *);
void		 report_attempt_failed(const char *, const char *);
void		 report_failed(const char *, const char *, int,
		    const char *);
void		 report_healthy(const char *, int);
void		 report_status(const char *, const char *);
void		 report_containers(struct svc *);
void		 report_queue_changed(void *);

/* engine.c */
void		 engine_init(struct event_base *);

/* queue.c */
#define QUEUE_BACKOFF_BASE_MS	1000
#define QUEUE_BACKOFF_MAX_MS	30000

struct queue;
typedef void	(*queue_fn)(struct queue *, const char *, void *);

struct queue_stats {
	int		 in_flight;
	int		 waiting;
	int		 backing_off;
	int		 delayed;	/* AddAfter timers, not backoff */
};

struct queue	*queue_new(struct event_base *, const char *, int, queue_fn,
		    void *);
void		 queue_on_change(struct queue *, void (*)(void *), void *);
void		 queue_add(struct queue *, const char *);
void		 queue_add_after(struct queue *, const char *, uint64_t);
void		 queue_add_rate_limited(struct queue *, const char *);
void		 queue_forget(struct queue *, const char *);
int		 queue_failures(struct queue *, const char *);
const char	*queue_get(struct queue *);
void		 queue_done(struct queue *, const char *);
int		 queue_processing(struct queue *, const char *);
void		 queue_stats(struct queue *, struct queue_stats *);
void		 queue_shutdown(struct queue *);
void		 queue_free(struct queue *);
uint64_t	 queue_backoff_ms(int);
uint64_t	 queue_now_ms(void);

/* sysinfo.c */
void	 sysinfo_request(uint32_t, int);
void	 sysinfo_set_api_version(const char *);

#endif /* DKD_RECONCILER_H */
