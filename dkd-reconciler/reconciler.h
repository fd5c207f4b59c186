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

/* queue.c */
#define QUEUE_BACKOFF_BASE_MS	1000
#define QUEUE_BACKOFF_MAX_MS	30000

struct queue;
typedef void	(*queue_fn)(struct queue *, const char *, void *);

struct queue_stats {
	int		 in_flight;
	int		 waiting;
	int		 backing_off;
	int		 delayed;	/* AddAfter timers, not backoff */
};

struct queue	*queue_new(struct event_base *, const char *, int, queue_fn,
		    void *);
void		 queue_on_change(struct queue *, void (*)(void *), void *);
void		 queue_add(struct queue *, const char *);
void		 queue_add_after(struct queue *, const char *, uint64_t);
void		 queue_add_rate_limited(struct queue *, const char *);
void		 queue_forget(struct queue *, const char *);
int		 queue_failures(struct queue *, const char *);
const char	*queue_get(struct queue *);
void		 queue_done(struct queue *, const char *);
int		 queue_processing(struct queue *, const char *);
void		 queue_stats(struct queue *, struct queue_stats *);
void		 queue_shutdown(struct queue *);
void		 queue_free(struct queue *);
uint64_t	 queue_backoff_ms(int);
uint64_t	 queue_now_ms(void);

/* sysinfo.c */
void	 sysinfo_request(uint32_t, int);
void	 sysinfo_set_api_version(const char *);

#endif /* DKD_RECONCILER_H */
