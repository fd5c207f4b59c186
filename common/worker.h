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

#ifndef DK_WORKER_H
#define DK_WORKER_H

/*
 * What the three workers share: start-up, the configuration handshake
 * with the master, the sandbox, liveness pings and the channel.
 */

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "compat.h"
#include "dkd_imsg.h"
#include "proc.h"
#include "sandbox.h"
#include "settings.h"

struct worker {
	enum dkd_proc_id	 id;
	const char		*name;
	struct event_base	*base;
	struct imsgev		 iev;
	struct sandbox_cfg	 sandbox;
	struct dkd_settings	 settings;
	int			 listen_fd;
	/* Bytes that came after the configuration, for the event loop. */
	uint8_t			*early;
	size_t			 nearly;
	struct event		*sigterm;
	struct event		*sigint;
	/* Messages the common code does not know; return -1 if unknown. */
	int			(*dispatch)(struct imsg *);
	/* After a settings update; may be NULL. */
	void			(*reconfigure)(void);
	/* Before exit on SIGTERM or master EOF; may be NULL. */
	void			(*shutdown)(void);
};

extern struct worker	*worker;

void	 worker_init(struct worker *, enum dkd_proc_id, const char *, int,
	    char **);
void	 worker_config(void);
void	 worker_run(void);
int	 worker_send(uint32_t, uint32_t, int, struct wbuf *);
__dead void worker_exit(int);

#endif /* DK_WORKER_H */
