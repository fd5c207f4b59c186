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

#ifndef DKCTL_H
#define DKCTL_H

#include <stdint.h>
#include <time.h>

#include <yajl/yajl_tree.h>

#include "compat.h"
#include "msg.h"
#include "ops.h"

#define ARGS_MAX	4

enum actions {
	NONE,
	STATUS,
	RELOAD,
	LOG_VERBOSE,
	LOG_BRIEF,
	USER_ADD,
	USER_LIST,
	USER_PASSWD,
	USER_ROLE,
	USER_DEL,
	APIKEY_CREATE,
	APIKEY_LIST,
	APIKEY_DEL,
	SHOW_PROJECTS,
	SETUP_TOKEN,
	EVENTS,
	SHOW_SERVICES,
	SHOW_DEPLOYMENTS,
	SHOW_CONTAINERS,
	PENDING,
	APPLY,
	DISCARD,
	ENV_LIST,
	ENV_SET,
	ENV_UNSET,
	ROLLBACK,
	RECONCILE,
};

struct parse_result {
	enum actions	 action;
	char		*args[ARGS_MAX];
	int		 nargs;
};

/* The master's answer to one request: an HTTP status and its body. */
struct reply {
	uint32_t	 status;
	yajl_val	 v;		/* the body; NULL when there is none */
	char		*json;		/* the body as JSON, for -j */
	size_t		 len;
};

/* A table for people: the cells are copied, control characters escaped. */
struct table {
	const char	**head;
	int		  ncols;
	char		**cells;
	size_t		  ncells;
	size_t		  cap;
};

struct ctl_status {
	struct msg_proc	 procs[8];
	int		 nprocs;
	struct msg_db	 db;
	struct msg_docker docker;
	struct msg_rec_queue queue;
	int		 queue_known;
};

extern int	 json_output;

/* dkctl.c */
void	 arg_set(struct op_args *, int, const char *);
void	 args_check(enum api_op, const struct op_args *);
void	 ctl_call(enum api_op, struct op_args *, struct reply *);
__dead void reply_fail(const struct reply *);
void	 reply_free(struct reply *);
void	 reply_print_json(const struct reply *);

/* logs.c */
int	 logs_main(int, char *[], const char *);

/* parser.c */
struct parse_result *parse(int, char *[]);

/* project.c */
void	 project_prepare(struct parse_result *);
int	 project_run(struct parse_result *);

/* output.c */
void	 output_status(const struct ctl_status *, time_t);
void	 output_status_json(const struct ctl_status *, time_t);
void	 output_duration(char *, size_t, int64_t);
void	 output_reply(enum actions, yajl_val, const struct parse_result *);
int	 output_event(const void *, size_t, int);
const char *json_str(yajl_val, const char *);
yajl_val json_get(yajl_val, const char *, yajl_type);
void	 table_init(struct table *, const char **, int);
void	 table_add(struct table *, ...);
void	 table_print(struct table *);

#endif /* DKCTL_H */
