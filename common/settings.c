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

#include <sys/types.h>
#include <sys/socket.h>

#include <string.h>

#include "log.h"
#include "settings.h"

void
settings_put(struct wbuf *w, const struct dkd_settings *s)
{
	int	 i;

	wire_put_u32(w, (uint32_t)s->log_level);
	wire_put_str(w, s->cors_origin);
	wire_put_u64(w, s->reconcile_interval_ms);
	wire_put_u64(w, s->readiness_window_ms);
	wire_put_str(w, s->docker_socket);
	wire_put_u32(w, (uint32_t)s->nproxies);
	for (i = 0; i < s->nproxies; i++) {
		wire_put_u32(w, (uint32_t)s->proxies[i].af);
		wire_put_bytes(w, s->proxies[i].addr,
		    sizeof(s->proxies[i].addr));
		wire_put_u32(w, (uint32_t)s->proxies[i].prefixlen);
	}
	wire_put_u64(w, s->log_retention_bytes);
	wire_put_u64(w, s->log_retention_sec);
	wire_put_u64(w, s->log_budget_bytes);
}

int
settings_get(struct rbuf *r, struct dkd_settings *s)
{
	const uint8_t	*addr;
	size_t		 len;
	uint32_t	 level, n, i, af, plen;

	memset(s, 0, sizeof(*s));
	level = wire_get_u32(r);
	wire_get_strbuf(r, s->cors_origin, sizeof(s->cors_origin));
	s->reconcile_interval_ms = wire_get_u64(r);
	s->readiness_window_ms = wire_get_u64(r);
	wire_get_strbuf(r, s->docker_socket, sizeof(s->docker_socket));
	n = wire_get_u32(r);
	if (r->error || level > LOG_LEVEL_DEBUG || n > CONF_PROXIES_MAX)
		return (-1);
	s->log_level = (int)level;
	for (i = 0; i < n; i++) {
		af = wire_get_u32(r);
		addr = wire_get_bytes(r, sizeof(s->proxies[i].addr), &len);
		plen = wire_get_u32(r);
		if (r->error || len != sizeof(s->proxies[i].addr) ||
		    (af != AF_INET && af != AF_INET6) ||
		    plen > (af == AF_INET ? 32 : 128))
			return (-1);
		s->proxies[i].af = (int)af;
		memcpy(s->proxies[i].addr, addr, len);
		s->proxies[i].prefixlen = (int)plen;
	}
	s->nproxies = (int)n;
	s->log_retention_bytes = wire_get_u64(r);
	s->log_retention_sec = wire_get_u64(r);
	s->log_budget_bytes = wire_get_u64(r);
	return (wire_done(r));
}
