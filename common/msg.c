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

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "sandbox.h"

void
msg_sandbox_put(struct wbuf *w, const struct sandbox_cfg *sc)
{
	wire_put_u32(w, sc->uid);
	wire_put_u32(w, sc->gid);
	wire_put_u32(w, sc->extra_gid);
	wire_put_str(w, sc->chroot);
	wire_put_u32(w, (uint32_t)sc->master_pid);
}

/* What the master says; received and workdir are the worker's. */
int
msg_sandbox_get(struct rbuf *r, struct sandbox_cfg *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->uid = wire_get_u32(r);
	sc->gid = wire_get_u32(r);
	sc->extra_gid = wire_get_u32(r);
	wire_get_strbuf(r, sc->chroot, sizeof(sc->chroot));
	sc->master_pid = (pid_t)wire_get_u32(r);
	return (wire_done(r));
}

void
msg_request_put(struct wbuf *w, uint32_t op, const char *token,
    const char *client, uint64_t cached)
{
	wire_put_u32(w, op);
	wire_put_str(w, token);
	wire_put_str(w, client);
	wire_put_u64(w, cached);
}

/* The header only: the op's fields follow in r. */
int
msg_request_get(struct rbuf *r, struct msg_request *m)
{
	memset(m, 0, sizeof(*m));
	m->op = wire_get_u32(r);
	wire_get_strbuf(r, m->token, sizeof(m->token));
	wire_get_strbuf(r, m->client, sizeof(m->client));
	m->cached = wire_get_u64(r);
	return (r->error ? -1 : 0);
}

void
msg_reply_put(struct wbuf *w, const struct msg_reply *m)
{
	char	 gen[32];

	wire_put_u32(w, m->status);
	wire_put_u32(w, (m->retry_after[0] != '\0') + (m->generation != 0));
	if (m->retry_after[0] != '\0') {
		wire_put_str(w, "Retry-After");
		wire_put_str(w, m->retry_after);
	}
	if (m->generation != 0) {
		(void)snprintf(gen, sizeof(gen), "%llu",
		    (unsigned long long)m->generation);
		wire_put_str(w, "Generation");
		wire_put_str(w, gen);
	}
	if (m->tree_len > 0)
		wire_put_raw(w, m->tree, m->tree_len);
}

/*
 * The tree is the rest of r; its shape is checked where it is used.
 * Headers other than Retry-After and Generation are passed over.
 */
int
msg_reply_get(struct rbuf *r, struct msg_reply *m)
{
	char		 name[MSG_HEADER_NAME_MAX + 1];
	char		 value[MSG_HEADER_VALUE_MAX + 1];
	uint32_t	 n, i;

	memset(m, 0, sizeof(*m));
	m->status = wire_get_u32(r);
	n = wire_get_u32(r);
	for (i = 0; i < n && !r->error; i++) {
		wire_get_strbuf(r, name, sizeof(name));
		wire_get_strbuf(r, value, sizeof(value));
		if (!r->error && strcmp(name, "Retry-After") == 0)
			strlcpy(m->retry_after, value,
			    sizeof(m->retry_after));
		else if (!r->error && strcmp(name, "Generation") == 0 &&
		    (m->generation = strtoull(value, NULL, 10)) == 0)
			r->error = EINVAL;
	}
	if (r->error || m->status < 100 || m->status > 599)
		return (-1);
	m->tree = r->p + r->off;
	m->tree_len = r->len - r->off;
	r->off = r->len;
	return (0);
}

void
msg_event_put(struct wbuf *w, const struct msg_event *ev)
{
	wire_put_str(w, ev->project_id);
	wire_put_u32(w, ev->except_conn);
	wire_put_str(w, ev->type);
	wire_put_raw(w, ev->payload, ev->payload_len);
}

/* The tree is the rest of r; its shape is checked where it is used. */
int
msg_event_get(struct rbuf *r, struct msg_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	wire_get_strbuf(r, ev->project_id, sizeof(ev->project_id));
	ev->except_conn = wire_get_u32(r);
	wire_get_strbuf(r, ev->type, sizeof(ev->type));
	if (r->error || r->off == r->len)
		return (-1);
	ev->payload = r->p + r->off;
	ev->payload_len = r->len - r->off;
	r->off = r->len;
	return (0);
}

/* IMSG_CTL_EVENT: when the event went out, then the event. */
void
msg_ctl_event_put(struct wbuf *w, int64_t at, const struct msg_event *ev)
{
	wire_put_i64(w, at);
	msg_event_put(w, ev);
}

int
msg_ctl_event_get(struct rbuf *r, int64_t *at, struct msg_event *ev)
{
	*at = wire_get_i64(r);
	return (msg_event_get(r, ev));
}

void
msg_docker_put(struct wbuf *w, const struct msg_docker *d)
{
	wire_put_u8(w, d->reachable ? 1 : 0);
	wire_put_str(w, d->server_version);
	wire_put_str(w, d->api_version);
	wire_put_str(w, d->error);
	wire_put_i64(w, d->checked_at);
}

int
msg_docker_get(struct rbuf *r, struct msg_docker *d)
{
	memset(d, 0, sizeof(*d));
	d->reachable = wire_get_bool(r);
	wire_get_strbuf(r, d->server_version, sizeof(d->server_version));
	wire_get_strbuf(r, d->api_version, sizeof(d->api_version));
	wire_get_strbuf(r, d->error, sizeof(d->error));
	d->checked_at = wire_get_i64(r);
	return (wire_done(r));
}

void
msg_proc_put(struct wbuf *w, const struct msg_proc *p)
{
	wire_put_str(w, p->name);
	wire_put_i64(w, p->pid);
	wire_put_i64(w, p->started);
	wire_put_u32(w, p->restarts);
	wire_put_str(w, p->state);
}

int
msg_proc_get(struct rbuf *r, struct msg_proc *p)
{
	memset(p, 0, sizeof(*p));
	wire_get_strbuf(r, p->name, sizeof(p->name));
	p->pid = wire_get_i64(r);
	p->started = wire_get_i64(r);
	p->restarts = wire_get_u32(r);
	wire_get_strbuf(r, p->state, sizeof(p->state));
	return (wire_done(r));
}

void
msg_db_put(struct wbuf *w, const struct msg_db *d)
{
	wire_put_str(w, d->path);
	wire_put_i64(w, d->size);
	wire_put_u32(w, d->version);
}

int
msg_db_get(struct rbuf *r, struct msg_db *d)
{
	memset(d, 0, sizeof(*d));
	wire_get_strbuf(r, d->path, sizeof(d->path));
	d->size = wire_get_i64(r);
	d->version = wire_get_u32(r);
	return (wire_done(r));
}

void
msg_reconcile_put(struct wbuf *w, const char *service_id)
{
	wire_put_str(w, service_id != NULL ? service_id : "");
}

/* out must hold MSG_SERVICE_ID_MAX + 1 bytes at most. */
int
msg_reconcile_get(struct rbuf *r, char *out, size_t len)
{
	if (len > MSG_SERVICE_ID_MAX + 1)
		len = MSG_SERVICE_ID_MAX + 1;
	wire_get_strbuf(r, out, len);
	return (wire_done(r));
}
