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

#include "msg.h"
#include "tree.h"
#include "tval.h"

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

/* Items a log message's tree may have; they have a handful. */
#define MSG_LOG_ITEMS		16

/* A UUID or the like: letters, digits and dashes, 1 to 64 bytes. */
int
msg_service_id_valid(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > MSG_SERVICE_ID_MAX)
		return (0);
	return (strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ-") == n);
}

/* Docker's id: 12 to 64 lower-case hex digits. */
int
msg_container_id_valid(const char *s)
{
	size_t	 n = strlen(s);

	if (n < 12 || n > MSG_CONTAINER_ID_MAX)
		return (0);
	return (strspn(s, "0123456789abcdef") == n);
}

/* The tree that is the whole of r; -1 if it is not a map. */
static int
msg_tree(struct rbuf *r, struct tval *v)
{
	if (tval_decode(r, v, MSG_LOG_ITEMS) == -1)
		return (-1);
	if (wire_done(r) == -1 || v->tag != TREE_MAP) {
		tval_free(v);
		return (-1);
	}
	return (0);
}

/* The string at key into buf; -1 if absent, not a string or too long. */
static int
msg_tree_str(const struct tval *v, const char *key, char *buf, size_t len)
{
	const char	*s;

	if ((s = tval_str(v, key)) == NULL || strlcpy(buf, s, len) >= len)
		return (-1);
	return (0);
}

static int
msg_tree_int(const struct tval *v, const char *key, int64_t *n)
{
	const struct tval	*i;

	if ((i = tval_get(v, key)) == NULL || i->tag != TREE_INT)
		return (-1);
	*n = i->i;
	return (0);
}

static int
msg_tree_bool(const struct tval *v, const char *key, int *b)
{
	const struct tval	*i;

	if ((i = tval_get(v, key)) == NULL || !tval_is(i, TREE_TRUE))
		return (-1);
	*b = i->tag == TREE_TRUE;
	return (0);
}

void
msg_logstream_put(struct wbuf *w, const struct msg_logstream *ls)
{
	tree_map(w);
	tree_kv_str(w, "container_id", ls->container_id);
	tree_kv_str(w, "service_id", ls->service_id);
	tree_kv_str(w, "project_id", ls->project_id);
	tree_kv_str(w, "deployment_id", ls->deployment_id);
	tree_kv_bool(w, "tty", ls->tty);
	tree_end(w);
}

int
msg_logstream_get(struct rbuf *r, struct msg_logstream *ls)
{
	struct tval	 v;
	int		 rv = -1;

	memset(ls, 0, sizeof(*ls));
	if (msg_tree(r, &v) == -1)
		return (-1);
	if (msg_tree_str(&v, "container_id", ls->container_id,
	    sizeof(ls->container_id)) == 0 &&
	    msg_tree_str(&v, "service_id", ls->service_id,
	    sizeof(ls->service_id)) == 0 &&
	    msg_tree_str(&v, "project_id", ls->project_id,
	    sizeof(ls->project_id)) == 0 &&
	    msg_tree_str(&v, "deployment_id", ls->deployment_id,
	    sizeof(ls->deployment_id)) == 0 &&
	    msg_tree_bool(&v, "tty", &ls->tty) == 0 &&
	    msg_container_id_valid(ls->container_id) &&
	    msg_service_id_valid(ls->service_id) &&
	    msg_service_id_valid(ls->project_id) &&
	    msg_service_id_valid(ls->deployment_id))
		rv = 0;
	tval_free(&v);
	return (rv);
}

void
msg_logmark_put(struct wbuf *w, const struct msg_logmark *m)
{
	tree_map(w);
	tree_kv_str(w, "container_id", m->container_id);
	tree_kv_str(w, "last", m->last);
	tree_kv_str(w, "last_unix", m->last_unix);
	tree_end(w);
}

int
msg_logmark_get(struct rbuf *r, struct msg_logmark *m)
{
	struct tval	 v;
	int		 rv = -1;

	memset(m, 0, sizeof(*m));
	if (msg_tree(r, &v) == -1)
		return (-1);
	if (msg_tree_str(&v, "container_id", m->container_id,
	    sizeof(m->container_id)) == 0 &&
	    msg_tree_str(&v, "last", m->last, sizeof(m->last)) == 0 &&
	    msg_tree_str(&v, "last_unix", m->last_unix,
	    sizeof(m->last_unix)) == 0 &&
	    msg_container_id_valid(m->container_id) &&
	    strspn(m->last, "0123456789-:.TZ") == strlen(m->last) &&
	    strspn(m->last_unix, "0123456789.") == strlen(m->last_unix))
		rv = 0;
	tval_free(&v);
	return (rv);
}

void
msg_logforget_put(struct wbuf *w, const char *service_id)
{
	tree_map(w);
	tree_kv_str(w, "service_id", service_id);
	tree_end(w);
}

int
msg_logforget_get(struct rbuf *r, char *out, size_t len)
{
	struct tval	 v;
	int		 rv = -1;

	if (msg_tree(r, &v) == -1)
		return (-1);
	if (msg_tree_str(&v, "service_id", out, len) == 0 &&
	    msg_service_id_valid(out))
		rv = 0;
	tval_free(&v);
	return (rv);
}

void
msg_logview_put(struct wbuf *w, const struct msg_logview *lv)
{
	tree_map(w);
	tree_kv_str(w, "service_id", lv->service_id);
	tree_kv_int(w, "tail", lv->tail);
	tree_kv_int(w, "since", lv->since);
	tree_kv_int(w, "until", lv->until);
	tree_kv_str(w, "q", lv->q);
	tree_kv_str(w, "stream", lv->stream == 1 ? "stdout" :
	    lv->stream == 2 ? "stderr" : "");
	tree_kv_bool(w, "follow", lv->follow);
	tree_kv_bool(w, "containers", lv->containers);
	tree_end(w);
}

int
msg_logview_get(struct rbuf *r, struct msg_logview *lv)
{
	struct tval	 v;
	char		 stream[8];
	int		 rv = -1;

	memset(lv, 0, sizeof(*lv));
	if (msg_tree(r, &v) == -1)
		return (-1);
	if (msg_tree_str(&v, "service_id", lv->service_id,
	    sizeof(lv->service_id)) == 0 &&
	    msg_tree_int(&v, "tail", &lv->tail) == 0 &&
	    msg_tree_int(&v, "since", &lv->since) == 0 &&
	    msg_tree_int(&v, "until", &lv->until) == 0 &&
	    msg_tree_str(&v, "q", lv->q, sizeof(lv->q)) == 0 &&
	    msg_tree_str(&v, "stream", stream, sizeof(stream)) == 0 &&
	    msg_tree_bool(&v, "follow", &lv->follow) == 0 &&
	    msg_tree_bool(&v, "containers", &lv->containers) == 0 &&
	    msg_service_id_valid(lv->service_id) && lv->tail >= -1 &&
	    lv->since >= 0 && lv->until >= 0) {
		if (stream[0] == '\0')
			rv = 0;
		else if (strcmp(stream, "stdout") == 0) {
			lv->stream = 1;
			rv = 0;
		} else if (strcmp(stream, "stderr") == 0) {
			lv->stream = 2;
			rv = 0;
		}
	}
	tval_free(&v);
	return (rv);
}

void
msg_logview_ack_put(struct wbuf *w, int status)
{
	tree_map(w);
	tree_kv_str(w, "status", status == MSG_VIEW_OK ? "ok" :
	    status == MSG_VIEW_NONE ? "none" : "busy");
	tree_end(w);
}

int
msg_logview_ack_get(struct rbuf *r, int *status)
{
	struct tval	 v;
	char		 s[8];
	int		 rv = -1;

	if (msg_tree(r, &v) == -1)
		return (-1);
	if (msg_tree_str(&v, "status", s, sizeof(s)) == 0) {
		rv = 0;
		if (strcmp(s, "ok") == 0)
			*status = MSG_VIEW_OK;
		else if (strcmp(s, "none") == 0)
			*status = MSG_VIEW_NONE;
		else if (strcmp(s, "busy") == 0)
			*status = MSG_VIEW_BUSY;
		else
			rv = -1;
	}
	tval_free(&v);
	return (rv);
}
