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

#ifndef DK_DOCKER_INFO_H
#define DK_DOCKER_INFO_H

/*
 * What the reconciler tells the master about the Docker engine when
 * asked (IMSG_REC_SYSINFO), for /api/system/about and /status.
 */

#include <stdint.h>

#include "wire.h"

#define DINFO_STR	128
#define DINFO_WARNINGS	8

struct docker_info {
	int		 reachable;
	char		 error[256];
	char		 server_version[DINFO_STR];
	char		 api_version[DINFO_STR];
	char		 os[DINFO_STR];
	char		 kernel_version[DINFO_STR];
	char		 architecture[DINFO_STR];
	char		 storage_driver[DINFO_STR];
	char		 logging_driver[DINFO_STR];
	char		 cgroup_driver[DINFO_STR];
	char		 root_dir[1024];
	char		 warnings[DINFO_WARNINGS][256];
	int		 nwarnings;
	int64_t		 containers;
	int64_t		 running;
	int64_t		 stopped;
	int64_t		 images;
	int		 have_df;
	int64_t		 images_size;
	int64_t		 volumes;
	int64_t		 volumes_size;
	int64_t		 build_cache;
};

void	 docker_info_put(struct wbuf *, const struct docker_info *);
int	 docker_info_get(struct rbuf *, struct docker_info *);

#endif /* DK_DOCKER_INFO_H */
