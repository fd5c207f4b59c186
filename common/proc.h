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

#ifndef DK_PROC_H
#define DK_PROC_H

/*
 * An imsg channel driven by libevent, and the fork+exec of a worker with
 * its end of the channel on DKD_CHANNEL_FD.
 */

#include <sys/types.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "dkd_imsg.h"
#include "imsg.h"
#include "wire.h"

struct imsgev {
	struct imsgbuf		 ibuf;
	struct event		 ev;
	struct event_base	*base;
	void			(*handler)(int, short, void *);
	void			*data;
	short			 events;
	int			 active;
};

int	 imsgev_init(struct imsgev *, struct event_base *, int, size_t,
	    size_t, int, void (*)(int, short, void *), void *);
void	 imsgev_add(struct imsgev *);
int	 imsgev_compose(struct imsgev *, uint32_t, uint32_t, int,
	    const void *, size_t);
int	 imsgev_compose_wire(struct imsgev *, uint32_t, uint32_t, int,
	    struct wbuf *);
int	 imsgev_io(struct imsgev *, short);
void	 imsgev_clear(struct imsgev *);
int	 proc_fdpass(enum dkd_proc_id, enum dkd_proc_id);
pid_t	 proc_spawn(const char *, char *const [], char *const [], int *);

#endif /* DK_PROC_H */
