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

#include <string.h>

#include "docker_info.h"

void
docker_info_put(struct wbuf *w, const struct docker_info *d)
{
	int	 i;

	wire_put_u8(w, d->reachable ? 1 : 0);
	wire_put_str(w, d->error);
	wire_put_str(w, d->server_version);
	wire_put_str(w, d->api_version);
	wire_put_str(w, d->os);
	wire_put_str(w, d->kernel_version);
	wire_put_str(w, d->architecture);
	wire_put_str(w, d->storage_driver);
	wire_put_str(w, d->logging_driver);
	wire_put_str(w, d->cgroup_driver);
	wire_put_str(w, d->root_dir);
	wire_put_u32(w, (uint32_t)d->nwarnings);
	for (i = 0; i < d->nwarnings; i++)
		wire_put_str(w, d->warnings[i]);
	wire_put_i64(w, d->containers);
	wire_put_i64(w, d->running);
	wire_put_i64(w, d->stopped);
	wire_put_i64(w, d->images);
	wire_put_u8(w, d->have_df ? 1 : 0);
	wire_put_i64(w, d->images_size);
	wire_put_i64(w, d->volumes);
	wire_put_i64(w, d->volumes_size);
	wire_put_i64(w, d->build_cache);
}

int
docker_info_get(struct rbuf *r, struct docker_info *d)
{
	uint32_t	 n, i;

	memset(d, 0, sizeof(*d));
	d->reachable = wire_get_bool(r);
	wire_get_strbuf(r, d->error, sizeof(d->error));
	wire_get_strbuf(r, d->server_version, sizeof(d->server_version));
	wire_get_strbuf(r, d->api_version, sizeof(d->api_version));
	wire_get_strbuf(r, d->os, sizeof(d->os));
	wire_get_strbuf(r, d->kernel_version, sizeof(d->kernel_version));
	wire_get_strbuf(r, d->architecture, sizeof(d->architecture));
	wire_get_strbuf(r, d->storage_driver, sizeof(d->storage_driver));
	wire_get_strbuf(r, d->logging_driver, sizeof(d->logging_driver));
	wire_get_strbuf(r, d->cgroup_driver, sizeof(d->cgroup_driver));
	wire_get_strbuf(r, d->root_dir, sizeof(d->root_dir));
	n = wire_get_u32(r);
	if (r->error || n > DINFO_WARNINGS)
		return (-1);
	for (i = 0; i < n; i++)
		wire_get_strbuf(r, d->warnings[i], sizeof(d->warnings[i]));
	d->nwarnings = (int)n;
	d->containers = wire_get_i64(r);
	d->running = wire_get_i64(r);
	d->stopped = wire_get_i64(r);
	d->images = wire_get_i64(r);
	d->have_df = wire_get_bool(r);
	d->images_size = wire_get_i64(r);
	d->volumes = wire_get_i64(r);
	d->volumes_size = wire_get_i64(r);
	d->build_cache = wire_get_i64(r);
	return (wire_done(r));
}
