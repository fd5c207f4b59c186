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

#ifndef DKD_RECONCILER_H
#define DKD_RECONCILER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <yajl/yajl_tree.h>

#define DOCKER_API_PREFIX	"/v1.41"
#define DOCKER_MAX_REPLY	(16 * 1024 * 1024)
#define JSON_MAX_DEPTH		64

/* status 0 means no HTTP answer at all; err then says why. */
typedef void	(*docker_cb)(long, const char *, size_t, const char *,
		    void *);

/* docker.c */
void	 docker_init(struct event_base *, const char *);
int	 docker_request(const char *, const char *, const char *, long,
	    docker_cb, void *);
void	 docker_shutdown(void);

/* json.c */
yajl_val json_parse(const char *, size_t, char *, size_t);
const char *json_get_str(yajl_val, const char *);
int64_t	 json_get_int(yajl_val, const char *, int64_t);
yajl_val json_get_array(yajl_val, const char *);

/* sysinfo.c */
void	 sysinfo_request(uint32_t, int);
void	 sysinfo_set_api_version(const char *);

#endif /* DKD_RECONCILER_H */
