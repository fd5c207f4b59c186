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
#include "proc.h"

struct dkd_worker;

struct docker_status {
	int		 known;
	int		 reachable;
	char		 server_version[64];
	char		 api_version[32];
	char		 error[256];
	time_t		 checked_at;
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
	struct docker_status	 docker;
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
const char *supervisor_name(enum dkd_proc_id);
void	 supervisor_status(enum dkd_proc_id, pid_t *, time_t *, unsigned *,
	    const char **);

/* dispatch.c */
int	 master_dispatch_api(struct imsg *);
int	 master_dispatch_reconciler(struct imsg *);
int	 master_dispatch_logd(struct imsg *);

/* control.c */
int	 control_init(const char *);
void	 control_listen(void);
void	 control_cleanup(const char *);

/* db.c */
int	 db_open(const char *, char *, size_t);
void	 db_close(void);
int	 db_schema_version(void);
int64_t	 db_size(void);
int	 db_ping(void);

/* notify.c */
void	 notify_systemd(const char *);

#endif /* DKD_H */
