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

#include "msg.h"

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
};

struct parse_result {
	enum actions	 action;
	char		*args[ARGS_MAX];
	int		 nargs;
};

struct ctl_status {
	struct msg_proc	 procs[8];
	int		 nprocs;
	struct msg_db	 db;
	struct msg_docker docker;
};

/* logs.c */
int	 logs_main(int, char *[], const char *);

/* parser.c */
struct parse_result *parse(int, char *[]);

/* output.c */
void	 output_status(const struct ctl_status *, time_t);
void	 output_status_json(const struct ctl_status *, time_t);
void	 output_duration(char *, size_t, int64_t);
void	 output_reply(enum actions, yajl_val, const struct parse_result *);
int	 output_event(const void *, size_t, int);

#endif /* DKCTL_H */
