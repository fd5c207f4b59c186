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

#ifndef DK_SETTINGS_H
#define DK_SETTINGS_H

/*
 * The part of dkd.conf that workers need, sent as IMSG_CFG_SETTINGS at
 * start and again on every reload.
 */

#include <stdint.h>

#include "cidr.h"
#include "wire.h"

/* Bounds shared with dkd.conf's parser in the master. */
#define CONF_VALUE_MAX		1024
#define CONF_SOCKET_MAX		108	/* sizeof(sun_path) */
#define CONF_PROXIES_MAX	32

struct dkd_settings {
	int		 log_level;
	char		 cors_origin[CONF_VALUE_MAX];
	uint64_t	 reconcile_interval_ms;
	uint64_t	 readiness_window_ms;
	char		 docker_socket[CONF_SOCKET_MAX];
	struct cidr	 proxies[CONF_PROXIES_MAX];
	int		 nproxies;
	/* dkd-logd's history: per service, its age, all services. */
	uint64_t	 log_retention_bytes;
	uint64_t	 log_retention_sec;	/* 0: no age limit */
	uint64_t	 log_budget_bytes;
};

void	 settings_put(struct wbuf *, const struct dkd_settings *);
int	 settings_get(struct rbuf *, struct dkd_settings *);

#endif /* DK_SETTINGS_H */
