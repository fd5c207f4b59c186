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

#ifndef DKD_H
#define DKD_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "conf.h"
#include "dkd_imsg.h"
#include "msg.h"
#include "ops.h"
#include "proc.h"
#include "store.h"
#include "tree.h"
#include "util.h"
#include "validate.h"

struct dkd_worker;

#define TICKET_LEN	64	/* hex */

/* What a canvas ticket stands for (AUTH_TICKET ops). */
struct ticket_ref {
	char			 project_id[UUID_LEN + 1];
	uint32_t		 conn;		/* dkd-api's connection */
};

struct request;

/* Delivers an encoded reply (IMSG_*_RESPONSE payload) to the origin. */
typedef void	(*request_reply_cb)(struct request *, struct wbuf *);

/* One request from dkd-api or dkctl, alive until it is answered. */
struct request {
	uint32_t		 id;		/* the origin's number */
	enum api_op		 op;
	const struct op_spec	*spec;
	struct op_args		 args;
	char			 client[64];
	char			 token_hash[SHA256_HEX_LEN + 1];
	int			 caller;	/* CALLER_API or _CTL */
	request_reply_cb	 reply;
	void			*reply_arg;	/* the origin's */
	unsigned		 generation;	/* of the origin */
	uint64_t		 cached;	/* dkd-api's copy is of this */
	uint64_t		 seen;		/* database read as of this */
	int			 authed;
	struct user		 user;
	struct ticket_ref	 ticket;	/* AUTH_TICKET ops */
};

/* A paged list: as the client asked, and as it is done. */
struct page {
	int64_t		 asked_offset;
	int64_t		 asked_limit;
	int64_t		 offset;
	int64_t		 limit;
};

typedef void	(*tree_render_fn)(struct wbuf *, const void *);

#define VERRORS_MAX	16

/* Validation failures, collected per field for a 422. */
struct verrors {
	int		 n;
	struct {
		const char	*field;
		const char	*msg;
	}		 e[VERRORS_MAX];
};

struct dkd {
	struct event_base	*base;
	struct dkd_config	 conf;
	const char		*conf_path;
	int			 foreground;
	int			 verbose;
	int			 log_level;	/* in effect; dkctl may raise */
	int			 listen_fd;
	time_t			 started;
	int			 ready;
	int			 stopping;
	struct msg_docker	 docker;	/* as the reconciler said */
	int			 docker_known;
};

extern struct dkd	*env;

/* dkd.c */
int	 master_reload(char *, size_t);
void	 master_set_log_level(int);
void	 master_shutdown(void);
void	 master_mkdir(const char *, mode_t);

/* supervisor.c */
struct dkd_worker;
void	 supervisor_init(void);
void	 supervisor_start(void);
void	 supervisor_stop(void);
void	 supervisor_reap(void);
int	 supervisor_running(void);
void	 supervisor_broadcast(uint32_t, struct wbuf *);
void	 supervisor_send_settings(void);
int	 supervisor_send(enum dkd_proc_id, uint32_t, uint32_t,
	    struct wbuf *);
int	 supervisor_send_fd(enum dkd_proc_id, uint32_t, uint32_t, int,
	    struct wbuf *);
int	 supervisor_ready(enum dkd_proc_id);
const char *supervisor_name(enum dkd_proc_id);
size_t	 supervisor_queued(enum dkd_proc_id);
unsigned supervisor_generation(enum dkd_proc_id);
void	 supervisor_status(enum dkd_proc_id, pid_t *, time_t *, unsigned *,
	    const char **);

/* request.c */
struct request *request_new(int, uint32_t, request_reply_cb, void *);
int	 request_decode(struct request *, uint32_t, struct rbuf *);
void	 request_as_root(struct request *);
void	 request_run(struct request *);
void	 reply_tree(struct request *, int, struct wbuf *);
void	 reply_item(struct request *, int, tree_render_fn, const void *);
void	 reply_empty(struct request *, int);
void	 reply_error(struct request *, int, const char *, ...)
	    __attribute__((__format__ (printf, 3, 4)));
void	 reply_retry(struct request *, int, int, const char *);
void	 reply_invalid(struct request *, struct verrors *);
void	 reply_internal(struct request *);
void	 request_free(struct request *);
void	 verror_add(struct verrors *, const char *, const char *);
void	 verror_check(struct verrors *, const char *, const char *);
int	 tree_new(struct wbuf *);
void	 tree_user(struct wbuf *, const void *);
void	 tree_time(struct wbuf *, const char *, const char *);
void	 page_set(struct page *, int64_t, int64_t);
void	 page_from_args(struct request *, int, int, struct page *);
void	 reply_page(struct request *, const struct page *, int64_t,
	    const void *, size_t, size_t, tree_render_fn);
void	 reply_list(struct request *, const void *, size_t, size_t,
	    tree_render_fn);
void	 reply_store(struct request *, int, const char *);

/* auth.c */
void	 auth_init(void);
int	 auth_resolve(struct request *);
void	 auth_setup_token_refresh(void);
void	 op_can_register(struct request *);
void	 op_register(struct request *);
void	 op_login(struct request *);
void	 op_refresh(struct request *);
void	 op_logout(struct request *);
void	 op_me(struct request *);
void	 op_profile(struct request *);
void	 op_ctl_setup_token(struct request *);

/* hasher.c */
typedef void	(*hasher_cb)(int, const char *, void *);
void	 hasher_init(void);
int	 hasher_hash(const char *, hasher_cb, void *);
int	 hasher_verify(const char *, const char *, hasher_cb, void *);

/* throttle.c */
int	 throttle_try(const char *, const char *, time_t *);
void	 throttle_success(const char *, const char *, time_t);
void	 throttle_forget(const char *, const char *, time_t);

/* users.c */
int	 hash_or_reply(struct request *, const char *, hasher_cb);
void	 user_init(struct user *, const char *, const char *, const char *);
void	 reply_email_taken(struct request *);
int	 user_by_email_or_404(struct request *, char *, struct user *);
void	 op_user_create(struct request *);
void	 op_user_list(struct request *);
void	 op_user_get(struct request *);
void	 op_user_update(struct request *);
void	 op_user_delete(struct request *);
void	 op_ctl_user_passwd(struct request *);
void	 op_ctl_user_role(struct request *);
void	 op_ctl_user_del(struct request *);

/* apikeys.c */
void	 op_apikey_list(struct request *);
void	 op_apikey_create(struct request *);
void	 op_apikey_delete(struct request *);
void	 op_ctl_apikey_list(struct request *);
void	 op_ctl_apikey_create(struct request *);
void	 op_ctl_apikey_del(struct request *);

/* A refusal to hand back: an HTTP status and the message with it. */
struct fault {
	int		 status;	/* 0: none yet */
	char		 msg[512];
};

/* The env model (envref.c). */
struct env_model;

/* projects.c */
void	 project_slug(const char *, char *, size_t);
void	 op_project_create(struct request *);
void	 op_project_list(struct request *);
void	 op_project_get(struct request *);
void	 op_project_delete(struct request *);
void	 op_project_update(struct request *);
int	 project_or_reply(struct request *, const char *, struct project *);

/* services.c */
int	 service_or_reply(struct request *, const struct project *,
	    const char *, struct service *);
void	 publish_service(const struct service *);
void	 op_service_create(struct request *);
void	 op_service_list(struct request *);
void	 op_service_get(struct request *);
void	 op_service_update(struct request *);
void	 op_service_delete(struct request *);

/* deployments.c */
const char *ports_encode(const struct tval *, struct wbuf *);
int	 deploy_sync_edges(struct env_model *, const char *, const char *);
int	 deploy_create_tx(struct env_model *, const struct service *,
	    const char *, const struct tval *, const struct blob *,
	    const struct blob *, int64_t, struct deployment *, struct fault *);
void	 publish_deployment(const char *, const struct deployment *);
void	 publish_status(const struct service *, const char *);
int	 deployment_supersede_active(const struct service *, const char *);
void	 op_deployment_create(struct request *);
void	 op_deployment_list(struct request *);
void	 op_deployment_get(struct request *);
void	 op_service_rollback(struct request *);
void	 op_container_list(struct request *);

/* envvars.c */
void	 op_env_create(struct request *);
void	 op_env_list(struct request *);
void	 op_env_update(struct request *);
void	 op_env_delete(struct request *);

/* envref.c */
int	 ports_first(const struct blob *);
int	 envmodel_load(const char *, const char *, struct env_model **);
int	 envmodel_stage(struct env_model *, const struct pending *,
	    const struct tval *);
int	 envmodel_check(struct env_model *, char *, size_t);
int	 envmodel_resolve(struct env_model *, const char *, struct wbuf *,
	    char *, size_t);
int	 envmodel_refs(struct env_model *, const char *,
	    void (*)(const char *, const char **, size_t, void *), void *);
int	 envmodel_has(struct env_model *, const char *);
void	 envmodel_set_port(struct env_model *, const char *, int);
void	 envmodel_free(struct env_model *);
size_t	 envref_parse(const char *, const char **, size_t *,
	    const char **, size_t *);
int	 envref_rename(const char *, const char *, const char *, char **);

/* pending.c */
void	 fault_set(struct fault *, int, const char *, ...)
	    __attribute__((__format__ (printf, 3, 4)));
void	 reply_fault(struct request *, const struct fault *);
void	 pending_payload(const struct pending *, struct tval *);
int	 pending_name_taken(const char *, const char *, const char *,
	    const struct pending *, size_t);
int	 pending_init(struct pending *, const char *, const char *,
	    const char *, struct wbuf *);
int	 pending_stage_tx(struct request *, struct pending *,
	    struct fault *);
int	 pending_stage(struct request *, struct pending *, struct fault *);
void	 reply_staged(struct request *, struct pending *, int);
void	 stage_reply(struct request *, const char *, const char *,
	    const char *, const char *, struct wbuf *, int);
int	 pending_coalesce_reparent(struct request *, const char *,
	    const char *, const char *, const char *, struct idlist *,
	    struct pending *, int *, struct fault *);
int	 pending_find_delete(const char *, const char *, struct pending *);
void	 publish_pending_added(const struct pending *);
void	 publish_pending_removed(const char *, const struct idlist *);
void	 publish_canvas_state(const char *);
void	 op_pending_list(struct request *);
void	 op_pending_discard(struct request *);
void	 op_pending_remove(struct request *);
void	 op_pending_service_env(struct request *);

/* apply.c */
void	 op_apply(struct request *);

/* canvas.c */
void	 op_canvas_open(struct request *);
void	 op_canvas_join(struct request *);
void	 op_canvas_leave(struct request *);
void	 op_canvas_node_upsert(struct request *);
void	 op_canvas_node_delete(struct request *);
void	 op_canvas_node_move(struct request *);
void	 op_canvas_edge_upsert(struct request *);
void	 op_canvas_edge_delete(struct request *);
void	 op_canvas_service_create(struct request *);

/* render.c */
void	 tree_blob(struct wbuf *, const struct blob *, enum tree_tag);
void	 blob_tval(const struct blob *, struct tval *);
void	 tree_service(struct wbuf *, const void *);
void	 tree_deployment(struct wbuf *, const void *);
void	 tree_deployment_event(struct wbuf *, const void *);
void	 tree_container(struct wbuf *, const void *);
void	 tree_envvar(struct wbuf *, const void *);
void	 tree_pending(struct wbuf *, const void *);
void	 tree_pending_event(struct wbuf *, const void *);
void	 tree_node(struct wbuf *, const void *);
void	 tree_edge(struct wbuf *, const void *);
int	 tree_canvas(struct wbuf *, const char *);
int	 tree_pending_list(struct wbuf *, const char *);

/* logs.c */
void	 op_logs_open(struct request *);
int	 logs_view_ack(struct imsg *);
int	 logs_stream(struct imsg *);
int	 logs_mark(struct imsg *);
void	 logs_marks_resend(void);
void	 logs_forget(const char *);

/* rec.c */
const char *rec_instance_id(void);
void	 rec_ready(void);
void	 rec_trigger(const char *);
void	 rec_push(const char *);
void	 rec_resync(void);
int	 rec_gone_stage(const char *);
void	 rec_gone_flush(void);
void	 rec_gone_drop(void);
int	 rec_reconcile(const char *);
int	 rec_ack(struct imsg *);

/* rec_report.c */
int	 rec_report(struct imsg *);
int	 rec_queue_update(struct imsg *);
int	 rec_queue_get(struct msg_rec_queue *);
void	 rec_queue_reset(void);
void	 op_ctl_containers(struct request *);
void	 op_ctl_reconcile(struct request *);

/* presets.c */
int	 presets_load(const char *, char *, size_t);
int	 presets_image_volumes(const char *, const char **, int);
void	 op_preset_list(struct request *);
void	 op_preset_get(struct request *);

/* system.c */
void	 op_system_about(struct request *);
void	 op_system_status(struct request *);
void	 op_system_unavailable(struct request *);
void	 op_settings_get(struct request *);
void	 op_settings_update(struct request *);
int	 system_docker_reply(struct imsg *);

/* sysinfo.c */
void	 sysinfo_host(struct wbuf *, const char *);

/* dispatch.c */
int	 master_dispatch_api(struct imsg *);
int	 master_dispatch_reconciler(struct imsg *);
int	 master_dispatch_logd(struct imsg *);

/* tickets.c */
int	 ticket_issue(const char *, const char *, uint32_t,
	    char [TICKET_LEN + 1]);
int	 ticket_resolve(struct request *);
void	 ticket_release(const char *);
int	 tickets_project_live(const char *);

/* events.c */
void	 events_publish(const char *, const char *, struct wbuf *, uint32_t);
void	 events_publish_item(const char *, const char *, const char *,
	    tree_render_fn, const void *);
void	 events_dropped(const char *, const char *);

/* control.c */
int	 control_init(const char *);
void	 control_listen(void);
void	 control_cleanup(const char *);
struct msg_event;
void	 control_event(const struct msg_event *);
void	 control_send_fd(uint32_t, int);

/* db.c */
int	 db_open(const char *, char *, size_t);
void	 db_close(void);
int	 db_schema_version(void);
int64_t	 db_size(void);
int	 db_ping(void);
uint64_t db_generation(void);

/* notify.c */
void	 notify_systemd(const char *);

#endif /* DKD_H */
