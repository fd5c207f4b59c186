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

#ifndef DK_SANDBOX_H
#define DK_SANDBOX_H

#include <sys/types.h>

#include <limits.h>

#include "dkd_imsg.h"

/*
 * Jails belong to root.  dkd-logd writes in this directory below its
 * root, owned by its user; it is its working directory.
 */
#define LOGD_DATA_DIR	"data"

/* What the master tells a worker about its jail (IMSG_CFG_SANDBOX). */
struct sandbox_cfg {
	uid_t		 uid;
	gid_t		 gid;
	gid_t		 extra_gid;	/* (gid_t)-1: none */
	char		 chroot[PATH_MAX];	/* "": stay in / */
	pid_t		 master_pid;
	int		 received;
	/* Set by the worker: its directory below the jail's root, or NULL. */
	const char	*workdir;
};

void	 sandbox_enter(const struct sandbox_cfg *, enum dkd_proc_id);
/* The allow-list that each worker defines in its sandbox_<role>.c. */
int	 seccomp_install(enum dkd_proc_id);

#endif /* DK_SANDBOX_H */
