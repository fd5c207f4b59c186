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

#ifndef DKD_STORE_H
#define DKD_STORE_H

/*
 * The storage layer: the db_*.c files hold every SQL statement, return
 * plain structs and never reply.  Handlers include this, never db.h.
 *
 * One convention for every storage function that can fail:
 */
#define ST_OK		0	/* done, or found */
#define ST_NONE		1	/* no such row */
#define ST_EXISTS	2	/* a uniqueness rule said no */
#define ST_ERROR	(-1)	/* the database failed; already logged */

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define EMAIL_LEN	254
#define NAME_LEN	255
#define ROLE_LEN	7	/* "admin", "member" */

struct user {
	char		 id[UUID_LEN + 1];
	char		 email[EMAIL_LEN + 1];
	char		 name[NAME_LEN + 1];
	char		 role[ROLE_LEN + 1];
	char		 created_at[DBTIME_LEN + 1];
	char		 updated_at[DBTIME_LEN + 1];
};

/* What an update of a user writes; NULL keeps a field as it is. */
struct user_change {
	const char	*email;
	const char	*name;
	const char	*password_hash;
	const char	*role;
};

struct session {
	char		 id[UUID_LEN + 1];
	char		 user_id[UUID_LEN + 1];
	char		 access_hash[SHA256_HEX_LEN + 1];
	char		 refresh_hash[SHA256_HEX_LEN + 1];
	char		 expires_at[DBTIME_LEN + 1];
	char		 refresh_expires_at[DBTIME_LEN + 1];
	char		 created_at[DBTIME_LEN + 1];
};

#define APIKEY_PREFIX_LEN	8

struct apikey {
	char		 id[UUID_LEN + 1];
	char		 user_id[UUID_LEN + 1];
	char		 description[NAME_LEN + 1];
	char		 prefix[APIKEY_PREFIX_LEN + 1];
	char		 token_hash[SHA256_HEX_LEN + 1];	/* to insert */
	char		 expires_at[DBTIME_LEN + 1];	/* "": never */
	char		 last_used_at[DBTIME_LEN + 1];	/* "": never */
	char		 created_at[DBTIME_LEN + 1];
	char		 user_email[EMAIL_LEN + 1];	/* lists */
};

#define PROJECT_NAME_LEN	255
#define PROJECT_SLUG_LEN	160	/* a 128-byte base, "-" and 6 hex */

struct project {
	char		 id[UUID_LEN + 1];
	char		 name[PROJECT_NAME_LEN + 1];
	char		 slug[PROJECT_SLUG_LEN + 1];
	char		 created_at[DBTIME_LEN + 1];
	char		 updated_at[DBTIME_LEN + 1];
};

#define SERVICE_NAME_LEN	255	/* new ones are shorter */
#define SERVICE_STATUS_LEN	16
#define ICON_URL_LEN		2048
#define IMAGE_LEN		1024
#define ENV_KEY_LEN		255
#define ENV_SCOPE_LEN		8
#define NODE_ID_LEN		64	/* canvas ids come from clients */
#define NODE_TYPE_LEN		16
#define NODE_LABEL_LEN		1024
#define PENDING_OP_LEN		24
#define DOCKER_ID_LEN		128

/* An encoded value tree (tree.h), as a JSON column holds it. */
struct blob {
	uint8_t		*p;		/* NULL: SQL NULL */
	size_t		 len;
};

struct service {
	char		 id[UUID_LEN + 1];
	char		 project_id[UUID_LEN + 1];
	char		 name[SERVICE_NAME_LEN + 1];
	char		 status[SERVICE_STATUS_LEN + 1];
	char		 icon_url[ICON_URL_LEN + 1];	/* "": none */
	char		 active_id[NODE_ID_LEN + 1];	/* "": none */
	/* The active deployment, when it exists. */
	int		 active_found;
	char		 active_image[IMAGE_LEN + 1];
	int64_t		 active_replicas;
	char		 active_created_at[DBTIME_LEN + 1];
	char		 created_at[DBTIME_LEN + 1];
	char		 updated_at[DBTIME_LEN + 1];
};

/* A service's id and name, for name sets and env resolution. */
struct service_ref {
	char		 id[UUID_LEN + 1];
	char		 name[SERVICE_NAME_LEN + 1];
};

struct deployment {
	char		 id[UUID_LEN + 1];
	char		 service_id[UUID_LEN + 1];
	char		 image[IMAGE_LEN + 1];
	struct blob	 env_vars;	/* a map of strings */
	struct blob	 ports;		/* an array of PortMapping */
	struct blob	 resources;	/* a map, or NULL */
	int64_t		 replicas;
	char		 status[SERVICE_STATUS_LEN + 1];
	char		*failure_reason;	/* NULL: none */
	int		 has_exit_code;
	int64_t		 exit_code;
	char		*log_tail;		/* NULL: none */
	int64_t		 attempt_count;
	int64_t		 baseline_restart_count;
	char		 started_at[DBTIME_LEN + 1];	/* "": no */
	char		 healthy_at[DBTIME_LEN + 1];	/* "": no */
	char		 created_at[DBTIME_LEN + 1];
};

struct container {
	char		 id[UUID_LEN + 1];
	char		 service_id[UUID_LEN + 1];
	char		 deployment_id[UUID_LEN + 1];
	char		 docker_id[DOCKER_ID_LEN + 1];
	char		 status[SERVICE_STATUS_LEN + 1];
	char		 created_at[DBTIME_LEN + 1];
};

struct envvar {
	char		 id[UUID_LEN + 1];
	char		 scope[ENV_SCOPE_LEN + 1];
	char		 scope_id[NODE_ID_LEN + 1];
	char		 key[ENV_KEY_LEN + 1];
	char		*value;
	char		 created_at[DBTIME_LEN + 1];
	char		 updated_at[DBTIME_LEN + 1];
};

struct pending {
	char		 id[UUID_LEN + 1];
	char		 project_id[UUID_LEN + 1];
	int64_t		 seq;
	char		 op[PENDING_OP_LEN + 1];
	char		 target_type[ENV_SCOPE_LEN + 1];
	char		 target_id[NODE_ID_LEN + 1];	/* "": NULL */
	char		 target_temp_id[NODE_ID_LEN + 1];
	char		 parent_temp_id[NODE_ID_LEN + 1];
	struct blob	 payload;
	char		 user_id[UUID_LEN + 1];	/* "": NULL */
	char		 created_at[DBTIME_LEN + 1];
};

struct canvas_node {
	char		 id[NODE_ID_LEN + 1];
	char		 project_id[UUID_LEN + 1];
	char		 type[NODE_TYPE_LEN + 1];
	char		 label[NODE_LABEL_LEN + 1];
	double		 x, y;
	int		 has_width, has_height;
	double		 width, height;
	char		 service_id[NODE_ID_LEN + 1];	/* "": none */
	char		 parent_id[NODE_ID_LEN + 1];	/* "": none */
	char		*data;		/* the client's text */
	char		 created_at[DBTIME_LEN + 1];
	char		 updated_at[DBTIME_LEN + 1];
};

struct canvas_edge {
	char		 id[NODE_ID_LEN + 1];
	char		 project_id[UUID_LEN + 1];
	char		 source_id[NODE_ID_LEN + 1];
	char		 target_id[NODE_ID_LEN + 1];
	char		*label;		/* NULL: none */
	char		*data;
	char		 created_at[DBTIME_LEN + 1];
	char		 updated_at[DBTIME_LEN + 1];
};

/* Ids of rows a call removed. */
struct idlist {
	char		(*ids)[UUID_LEN + 1];
	size_t		 n;
};

/* db_tx.c: one transaction around several storage calls */
int	 store_begin(void);
int	 store_commit(void);
void	 store_rollback(void);
void	 blob_free(struct blob *);
int	 blob_copy(struct blob *, const void *, size_t);
int	 idlist_add(struct idlist *, const char *);
void	 idlist_free(struct idlist *);

/* db_users.c */
int	 db_user_get(const char *, struct user *);
int	 db_user_by_email(const char *, struct user *, char *, size_t);
int	 db_user_count(int64_t *);
int	 db_user_admins_besides(const char *, int64_t *);
int	 db_user_insert(const struct user *, const char *);
int	 db_user_update(const char *, const struct user_change *);
int	 db_user_list(const char *, const char *, int64_t, int64_t,
	    struct user **, size_t *, int64_t *);
int	 db_user_delete(const char *);

/* db_sessions.c */
int	 db_session_insert(const struct session *);
int	 db_session_user(const char *, const char *, struct user *);
int	 db_session_by_refresh(const char *, struct session *, int *);
int	 db_session_rotate(const struct session *, const char *);
int	 db_session_delete(const char *);
int	 db_sessions_delete_user(const char *, const char *, int *);
int	 db_sessions_expire(const char *, int *);

/* db_apikeys.c */
int	 db_apikey_insert(const struct apikey *);
int	 db_apikey_count(const char *, int64_t *);
int	 db_apikey_list(const char *, struct apikey **, size_t *);
int	 db_apikey_delete(const char *, const char *);
int	 db_apikey_user(const char *, const char *, struct user *,
	    struct apikey *);
void	 db_apikey_touch(const char *, const char *);

/* db_projects.c */
int	 db_project_get(const char *, struct project *);
int	 db_project_insert(const struct project *);
int	 db_project_list(const char *, int64_t, int64_t, struct project **,
	    size_t *, int64_t *);
int	 db_project_services(const char *, int64_t *);
int	 db_project_delete(const char *);
int	 db_project_find(const char *, struct project *);
int	 db_project_rename(const char *, const char *);

/* db_services.c */
int	 db_service_get(const char *, const char *, struct service *);
int	 db_service_by_id(const char *, struct service *);
int	 db_service_insert(const struct service *);
int	 db_service_list(const char *, const char *, const char *, int64_t,
	    int64_t, struct service **, size_t *, int64_t *);
int	 db_service_refs(const char *, struct service_ref **, size_t *);
int	 db_service_rename(const char *, const char *);
int	 db_service_set_icon(const char *, const char *);
int	 db_service_set_status(const char *, const char *);
int	 db_service_set_active(const char *, const char *, const char *);
int	 db_service_delete(const char *);
int	 db_service_deployed(const char *, int *);
int	 db_service_volumes(const char *, struct blob *);
int	 db_service_set_volumes(const char *, const struct blob *);

/* db_deployments.c */
void	 deployment_free(struct deployment *);
void	 deployments_free(struct deployment *, size_t);
int	 db_deployment_insert(const struct deployment *);
int	 db_deployment_cancel_inflight(const char *, const char *);
int	 db_deployment_get(const char *, const char *, struct deployment *);
int	 db_deployment_list(const char *, int64_t, int64_t,
	    struct deployment **, size_t *, int64_t *);
int	 db_deployment_latest_live(const char *, struct deployment *);
int	 db_deployment_set_status(const char *, const char *);
int	 db_deployment_make_healthy(const char *);
int	 db_container_list(const char *, const char *, const char *, int64_t,
	    int64_t, struct container **, size_t *, int64_t *);
/* db_deployments.c: the transitions of spec 10.3, for the reconciler */
int	 db_deployment_by_id(const char *, struct deployment *);
int	 db_deployment_inflight(const char *, struct deployment **,
	    size_t *);
int	 db_deployment_mark_starting(const char *);
int	 db_deployment_attempt(const char *, int64_t *);
int	 db_deployment_mark_failed(const char *, const char *, int, int64_t,
	    const char *);
int	 db_deployment_mark_healthy(const char *, int64_t);
int	 db_deployment_healthy_count(const char *, int64_t *);
int	 db_container_all(const char *, struct container **, size_t *);
int	 db_container_insert(const struct container *);
int	 db_container_delete(const char *);

/* db_envvars.c */
void	 envvar_clear(struct envvar *);
void	 envvars_free(struct envvar *, size_t);
int	 db_envvar_list(const char *, const char *, struct envvar **,
	    size_t *);
int	 db_envvar_project(const char *, struct envvar **, size_t *);
int	 db_envvar_get(const char *, struct envvar *);
int	 db_envvar_find(const char *, const char *, const char *,
	    struct envvar *);
int	 db_envvar_insert(const struct envvar *);
int	 db_envvar_set_value(const char *, const char *);
int	 db_envvar_delete(const char *);

/* db_pending.c */
void	 pending_free(struct pending *);
void	 pendings_free(struct pending *, size_t);
int	 db_pending_list(const char *, struct pending **, size_t *);
int	 db_pending_get(const char *, const char *, struct pending *);
int	 db_pending_append(struct pending *);
int	 db_pending_delete(const char *);
int	 db_pending_clear(const char *);
int	 db_pending_remove_temp(const char *, const char *, struct idlist *);
int	 db_pending_remove_group(const char *, const char *,
	    struct idlist *);

/* db_canvas.c */
void	 canvas_node_free(struct canvas_node *);
void	 canvas_nodes_free(struct canvas_node *, size_t);
void	 canvas_edge_free(struct canvas_edge *);
void	 canvas_edges_free(struct canvas_edge *, size_t);
int	 db_node_get(const char *, struct canvas_node *);
int	 db_node_of_service(const char *, struct canvas_node *);
int	 db_node_list(const char *, struct canvas_node **, size_t *);
int	 db_node_upsert(const struct canvas_node *);
int	 db_node_move(const char *, const char *, double, double);
int	 db_node_delete(const char *);
int	 db_node_delete_placeholders(const char *);
int	 db_node_link_service(const char *, const char *, const char *,
	    const char *);
int	 db_node_delete_service(const char *);
int	 db_node_relabel_service(const char *, const char *);
int	 db_edge_get(const char *, struct canvas_edge *);
int	 db_edge_list(const char *, struct canvas_edge **, size_t *);
int	 db_edge_upsert(const struct canvas_edge *);
int	 db_edge_delete(const char *);
int	 db_edge_delete_managed(const char *);

/* db_rec.c: what a full resync of the reconciler reads */
struct project_ref {
	char		 id[UUID_LEN + 1];
	char		 slug[PROJECT_SLUG_LEN + 1];
};
int	 db_project_refs(struct project_ref **, size_t *);
int	 db_service_ids(struct idlist *);

/* db_settings.c */
int	 db_setting_get(const char *, char *, size_t);
int	 db_setting_set(const char *, const char *);

#endif /* DKD_STORE_H */
