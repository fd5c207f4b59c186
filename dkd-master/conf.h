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

#ifndef DK_CONF_H
#define DK_CONF_H

/* dkd.conf: parsing, defaults and printing.  See dkd.conf(5). */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>

#include "settings.h"

#define CONF_LINE_MAX		1024
#define CONF_FILE_MAX		(64 * 1024)

struct dkd_config {
	char		 listen[CONF_VALUE_MAX];
	char		 listen_host[CONF_VALUE_MAX];	/* "" for all */
	char		 listen_port[8];
	char		 database[CONF_VALUE_MAX];
	char		 control_socket[CONF_SOCKET_MAX];
	char		 docker_socket[CONF_SOCKET_MAX];
	char		 www[CONF_VALUE_MAX];
	char		 log_dir[CONF_VALUE_MAX];
	uint64_t	 reconcile_interval_ms;
	uint64_t	 readiness_window_ms;
	int		 log_level;
	char		 cors_origin[CONF_VALUE_MAX];
	struct cidr	 proxies[CONF_PROXIES_MAX];
	int		 nproxies;
	uint64_t	 log_retention_bytes;
	uint64_t	 log_retention_sec;	/* 0: none */
	uint64_t	 log_budget_bytes;
	uint32_t	 seen;		/* settings given, for duplicates */
};

void	 config_defaults(struct dkd_config *);
int	 config_parse_file(struct dkd_config *, const char *, char *,
	    size_t);
int	 config_parse_buffer(struct dkd_config *, const char *,
	    const char *, size_t, char *, size_t);
void	 config_print(const struct dkd_config *, FILE *);
int	 config_equal(const struct dkd_config *,
	    const struct dkd_config *);
void	 config_format_duration(uint64_t, char *, size_t);
void	 settings_from_config(struct dkd_settings *,
	    const struct dkd_config *);

#endif /* DK_CONF_H */
