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
#include "tree.h"
#include "tval.h"

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

/*
 * The reconciler's and logd's channels carry one tree a message.
 * Helpers first: each reads one field of a map and says -1 when it is
 * absent or not what the contract says.
 */

/* The tree that is the whole of r, of at most max items; -1 if not a map. */
static int
map_decode(struct rbuf *r, struct tval *v, size_t max)
{
	if (tval_decode_all(r, v, max) == -1)
		return (-1);
	if (v->tag != TREE_MAP) {
		tval_free(v);
		return (-1);
	}
	return (0);
}

/* An integer from min to max. */
static int
map_get_int(const struct tval *m, const char *key, int64_t min, int64_t max,
    int64_t *out)
{
	const struct tval	*v;

	if ((v = tval_get(m, key)) == NULL || v->tag != TREE_INT ||
	    v->i < min || v->i > max)
		return (-1);
	*out = v->i;
	return (0);
}

static int
map_get_bool(const struct tval *m, const char *key, int *out)
{
	const struct tval	*v;

	if ((v = tval_get(m, key)) == NULL || !tval_is(v, TREE_TRUE))
		return (-1);
	*out = v->tag == TREE_TRUE;
	return (0);
}

/* The whole payload as one map, allocated; NULL when malformed. */
static struct tval *
rec_tree_get(struct rbuf *r)
{
	struct tval	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		r->error = ENOMEM;
		return (NULL);
	}
	if (map_decode(r, t, MSG_REC_ITEMS_MAX) == -1) {
		free(t);
		return (NULL);
	}
	return (t);
}

static void
rec_tree_free(struct tval *t)
{
	if (t == NULL)
		return;
	tval_free(t);
	free(t);
}

/* A non-empty string of fewer than size bytes, copied into buf. */
static int
rec_get_id(const struct tval *m, const char *key, char *buf, size_t size)
{
	const char	*s;

	if ((s = tval_str(m, key)) == NULL || *s == '\0' ||
	    strlcpy(buf, s, size) >= size)
		return (-1);
	return (0);
}

/* An id, as msg_service_id_valid() has it. */
static int
rec_get_uuid(const struct tval *m, const char *key, char *buf, size_t size)
{
	if (rec_get_id(m, key, buf, size) == -1 || !msg_service_id_valid(buf))
		return (-1);
	return (0);
}

/* A name that goes into Docker's object names: msg_name_valid(). */
static int
rec_get_name(const struct tval *m, const char *key, char *buf, size_t size)
{
	if (rec_get_id(m, key, buf, size) == -1 ||
	    !msg_name_valid(buf, size - 1))
		return (-1);
	return (0);
}

/* Like map_get_int(), but absent or null is dflt. */
static int
rec_get_opt_int(const struct tval *m, const char *key, int64_t min,
    int64_t max, int64_t dflt, int64_t *out)
{
	const struct tval	*v;

	if ((v = tval_get(m, key)) == NULL || v->tag == TREE_NULL) {
		*out = dflt;
		return (0);
	}
	return (map_get_int(m, key, min, max, out));
}

/* A string of at most max bytes, or NULL. */
static const char *
rec_get_text(const struct tval *m, const char *key, size_t max)
{
	const char	*s;

	if ((s = tval_str(m, key)) == NULL || strlen(s) > max)
		return (NULL);
	return (s);
}

/* The array at key, of at most max items; NULL if it is not one. */
static const struct tval *
rec_get_array(const struct tval *m, const char *key, size_t max)
{
	const struct tval	*a;

	if ((a = tval_get(m, key)) == NULL || a->tag != TREE_ARRAY ||
	    a->n > max)
		return (NULL);
	return (a);
}

/*
 * Each item of the array a into the next of the structs of size bytes
 * at out, by read; -1 at the first that is not a map or that read
 * refuses.
 */
static int
rec_get_maps(const struct tval *a, void *out, size_t size,
    int (*read)(const struct tval *, void *))
{
	size_t	 i;

	for (i = 0; i < a->n; i++)
		if (a->items[i].tag != TREE_MAP ||
		    read(&a->items[i], (char *)out + i * size) == -1)
			return (-1);
	return (0);
}

/* A string of at most max bytes, its start cut off if longer. */
static void
rec_put_tail(struct wbuf *w, const char *s, size_t max)
{
	size_t	 len = strlen(s), off = 0;

	if (len > max) {
		off = len - max;
		/* Not in the middle of a UTF-8 sequence. */
		while (off < len && ((unsigned char)s[off] & 0xc0) == 0x80)
			off++;
	}
	tree_strn(w, s + off, len - off);
}

/* A string of at most max bytes, its end cut off if longer. */
static void
rec_put_head(struct wbuf *w, const char *s, size_t max)
{
	size_t	 len = strlen(s);

	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	tree_strn(w, s, len);
}

/* IMSG_REC_SYNC_BEGIN: {"instance": str, "sequence": int} */
void
msg_rec_sync_begin_put(struct wbuf *w, const struct msg_rec_sync_begin *sb)
{
	tree_map(w);
	tree_kv_str(w, "instance", sb->instance);
	tree_kv_int(w, "sequence", sb->sequence);
	tree_end(w);
}

int
msg_rec_sync_begin_get(struct rbuf *r, struct msg_rec_sync_begin *sb)
{
	struct tval	*t;
	int		 rv = -1;

	memset(sb, 0, sizeof(*sb));
	if ((t = rec_tree_get(r)) == NULL)
		return (-1);
	if (rec_get_uuid(t, "instance", sb->instance,
	    sizeof(sb->instance)) == 0 &&
	    map_get_int(t, "sequence", 0, INT64_MAX, &sb->sequence) == 0)
		rv = 0;
	rec_tree_free(t);
	return (rv);
}

/* IMSG_REC_SYNC_END: {"sequence", "projects": [{"id", "slug"}]} */
void
msg_rec_sync_end_put(struct wbuf *w, const struct msg_rec_sync_end *se)
{
	size_t	 i;

	tree_map(w);
	tree_kv_int(w, "sequence", se->sequence);
	tree_key(w, "projects");
	tree_array(w);
	for (i = 0; i < se->nprojects; i++) {
		tree_map(w);
		tree_kv_str(w, "id", se->projects[i].id);
		tree_kv_str(w, "slug", se->projects[i].slug);
		tree_end(w);
	}
	tree_end(w);
	tree_end(w);
}

static int
rec_project_get(const struct tval *m, void *item)
{
	struct msg_rec_project	*p = item;

	if (rec_get_uuid(m, "id", p->id, sizeof(p->id)) == -1 ||
	    rec_get_name(m, "slug", p->slug, sizeof(p->slug)) == -1)
		return (-1);
	return (0);
}

int
msg_rec_sync_end_get(struct rbuf *r, struct msg_rec_sync_end *se)
{
	const struct tval	*a;
	struct tval		*t;

	memset(se, 0, sizeof(*se));
	if ((t = rec_tree_get(r)) == NULL)
		return (-1);
	if (map_get_int(t, "sequence", 0, INT64_MAX, &se->sequence) == -1 ||
	    (a = rec_get_array(t, "projects", MSG_REC_PROJECTS_MAX)) == NULL ||
	    (se->projects = calloc(a->n + 1, sizeof(*se->projects))) == NULL ||
	    rec_get_maps(a, se->projects, sizeof(*se->projects),
	    rec_project_get) == -1)
		goto bad;
	se->nprojects = a->n;
	rec_tree_free(t);
	return (0);
bad:
	rec_tree_free(t);
	msg_rec_sync_end_free(se);
	return (-1);
}

void
msg_rec_sync_end_free(struct msg_rec_sync_end *se)
{
	free(se->projects);
	se->projects = NULL;
	se->nprojects = 0;
}

/* IMSG_REC_DESIRED: see RECONCILER-PROTOCOL.md for the tree. */
static void
rec_deployment_put(struct wbuf *w, const struct msg_rec_deployment *d)
{
	size_t	 i;

	tree_map(w);
	tree_kv_str(w, "id", d->id);
	tree_kv_str(w, "status", d->status);
	tree_kv_str(w, "image", d->image);
	tree_key(w, "env");
	tree_array(w);
	for (i = 0; i < d->nenv; i++) {
		tree_array(w);
		tree_str(w, d->env[i].key);
		tree_str(w, d->env[i].value);
		tree_end(w);
	}
	tree_end(w);
	tree_key(w, "ports");
	tree_array(w);
	for (i = 0; i < d->nports; i++) {
		tree_map(w);
		tree_kv_int(w, "container_port", d->ports[i].container_port);
		if (d->ports[i].host_port > 0)
			tree_kv_int(w, "host_port", d->ports[i].host_port);
		tree_kv_str(w, "protocol", d->ports[i].protocol);
		tree_end(w);
	}
	tree_end(w);
	if (d->memory_mb > 0)
		tree_kv_int(w, "memory_mb", d->memory_mb);
	if (d->cpu_shares > 0)
		tree_kv_int(w, "cpu_shares", d->cpu_shares);
	tree_kv_int(w, "replicas", d->replicas);
	tree_kv_int(w, "attempt_count", d->attempt_count);
	tree_kv_int(w, "baseline_restart_count", d->baseline_restart_count);
	tree_kv_bool(w, "active", d->active);
	tree_end(w);
}

void
msg_rec_desired_put(struct wbuf *w, const struct msg_rec_desired *ds)
{
	size_t	 i;

	tree_map(w);
	tree_kv_str(w, "service_id", ds->service_id);
	tree_kv_str(w, "project_id", ds->project_id);
	tree_kv_str(w, "project_slug", ds->project_slug);
	tree_kv_str(w, "service_name", ds->service_name);
	tree_kv_bool(w, "stopped", ds->stopped);
	tree_kv_bool(w, "deleted", ds->deleted);
	tree_key(w, "deployments");
	tree_array(w);
	for (i = 0; i < ds->ndeployments; i++)
		rec_deployment_put(w, &ds->deployments[i]);
	tree_end(w);
	tree_key(w, "volumes");
	tree_array(w);
	for (i = 0; i < ds->nvolumes; i++) {
		tree_map(w);
		tree_kv_str(w, "name", ds->volumes[i].name);
		tree_kv_str(w, "path", ds->volumes[i].path);
		tree_end(w);
	}
	tree_end(w);
	tree_end(w);
}

static int
rec_status_inflight(const char *s)
{
	return (strcmp(s, "pending") == 0 || strcmp(s, "starting") == 0 ||
	    strcmp(s, "healthy") == 0);
}

/* No host port is 0 too, and no protocol is tcp. */
static int
rec_port_get(const struct tval *m, void *item)
{
	struct msg_rec_port	*p = item;
	const struct tval	*v;
	const char		*proto;

	if (map_get_int(m, "container_port", 1, 65535,
	    &p->container_port) == -1 ||
	    rec_get_opt_int(m, "host_port", 0, 65535, 0, &p->host_port) == -1)
		return (-1);
	if ((proto = tval_str(m, "protocol")) == NULL &&
	    (v = tval_get(m, "protocol")) != NULL && v->tag != TREE_NULL)
		return (-1);
	if (proto == NULL || *proto == '\0')
		proto = "tcp";
	if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
		return (-1);
	strlcpy(p->protocol, proto, sizeof(p->protocol));
	return (0);
}

/* One deployment of a DESIRED; NULL, or what is wrong with it. */
static const char *
rec_deployment_get(const struct tval *m, struct msg_rec_deployment *d)
{
	const struct tval	*env, *ports, *e;
	size_t			 i;

	if (m->tag != TREE_MAP ||
	    rec_get_uuid(m, "id", d->id, sizeof(d->id)) == -1)
		return ("no valid id");
	if (rec_get_id(m, "status", d->status, sizeof(d->status)) == -1 ||
	    !rec_status_inflight(d->status))
		return ("status not pending, starting or healthy");
	if ((d->image = rec_get_text(m, "image", MSG_IMAGE_MAX)) == NULL ||
	    !msg_image_valid(d->image))
		return ("bad image");
	if (rec_get_opt_int(m, "memory_mb", 0, INT32_MAX, 0,
	    &d->memory_mb) == -1 ||
	    rec_get_opt_int(m, "cpu_shares", 0, MSG_REC_CPU_SHARES_MAX, 0,
	    &d->cpu_shares) == -1 ||
	    map_get_int(m, "replicas", 1, MSG_REC_REPLICAS_MAX,
	    &d->replicas) == -1)
		return ("bad limits");
	if (map_get_int(m, "attempt_count", 0, INT32_MAX,
	    &d->attempt_count) == -1 ||
	    map_get_int(m, "baseline_restart_count", 0, INT32_MAX,
	    &d->baseline_restart_count) == -1 ||
	    map_get_bool(m, "active", &d->active) == -1)
		return ("bad counters");
	if ((env = rec_get_array(m, "env", MSG_REC_ENV_MAX)) == NULL)
		return ("bad env");
	if ((d->env = calloc(env->n + 1, sizeof(*d->env))) == NULL)
		return ("out of memory");
	for (i = 0; i < env->n; i++) {
		e = &env->items[i];
		if (e->tag != TREE_ARRAY || e->n != 2 ||
		    e->items[0].tag != TREE_STR || e->items[1].tag != TREE_STR)
			return ("bad env");
		/* K=V is all Docker takes. */
		if (e->items[0].s[0] == '\0' ||
		    strchr(e->items[0].s, '=') != NULL ||
		    strlen(e->items[0].s) > MSG_REC_ENV_KEY_MAX ||
		    strlen(e->items[1].s) > MSG_REC_ENV_VALUE_MAX)
			return ("bad env");
		d->env[i].key = e->items[0].s;
		d->env[i].value = e->items[1].s;
		d->nenv++;
	}
	if ((ports = rec_get_array(m, "ports", MSG_REC_PORTS_MAX)) == NULL)
		return ("bad ports");
	if ((d->ports = calloc(ports->n + 1, sizeof(*d->ports))) == NULL)
		return ("out of memory");
	if (rec_get_maps(ports, d->ports, sizeof(*d->ports),
	    rec_port_get) == -1)
		return ("bad ports");
	d->nports = ports->n;
	return (NULL);
}

static int
rec_volume_get(const struct tval *m, void *item)
{
	struct msg_rec_volume	*v = item;

	if ((v->name = rec_get_text(m, "name", MSG_NAME_MAX)) == NULL ||
	    !msg_name_valid(v->name, MSG_NAME_MAX) ||
	    (v->path = rec_get_text(m, "path", MSG_PATH_MAX)) == NULL ||
	    *v->path != '/')
		return (-1);
	return (0);
}

static const char *
rec_volumes_get(const struct tval *t, struct msg_rec_desired *ds)
{
	const struct tval	*vols;

	if ((vols = rec_get_array(t, "volumes", MSG_REC_VOLUMES_MAX)) == NULL)
		return ("bad volumes");
	if ((ds->volumes = calloc(vols->n + 1, sizeof(*ds->volumes))) == NULL)
		return ("out of memory");
	if (rec_get_maps(vols, ds->volumes, sizeof(*ds->volumes),
	    rec_volume_get) == -1)
		return ("bad volumes");
	ds->nvolumes = vols->n;
	return (NULL);
}

int
msg_rec_desired_get(struct rbuf *r, struct msg_rec_desired *ds)
{
	const struct tval	*deps = NULL;
	struct tval		*t;
	const char		*why = NULL;
	char			 service_id[MSG_ID_MAX + 1];
	char			 error[sizeof(ds->error)];
	size_t			 i;

	memset(ds, 0, sizeof(*ds));
	if ((t = rec_tree_get(r)) == NULL) {
		strlcpy(ds->error, "not a map", sizeof(ds->error));
		return (-1);
	}
	ds->tree = t;
	if (rec_get_uuid(t, "service_id", ds->service_id,
	    sizeof(ds->service_id)) == -1) {
		ds->service_id[0] = '\0';
		why = "no valid service id";
	} else if (rec_get_uuid(t, "project_id", ds->project_id,
	    sizeof(ds->project_id)) == -1 ||
	    rec_get_name(t, "project_slug", ds->project_slug,
	    sizeof(ds->project_slug)) == -1 ||
	    rec_get_name(t, "service_name", ds->service_name,
	    sizeof(ds->service_name)) == -1)
		why = "bad project id, slug or service name";
	else if (map_get_bool(t, "stopped", &ds->stopped) == -1 ||
	    map_get_bool(t, "deleted", &ds->deleted) == -1)
		why = "bad stopped or deleted";
	else if ((deps = rec_get_array(t, "deployments",
	    MSG_REC_DEPLOYMENTS_MAX)) == NULL)
		why = "bad deployments";
	else if ((ds->deployments = calloc(deps->n + 1,
	    sizeof(*ds->deployments))) == NULL)
		why = "out of memory";
	for (i = 0; why == NULL && i < deps->n; i++) {
		/* Counted first, so that free sees its arrays. */
		ds->ndeployments++;
		if ((why = rec_deployment_get(&deps->items[i],
		    &ds->deployments[i])) != NULL)
			(void)snprintf(ds->error, sizeof(ds->error),
			    "deployment %zu: %s", i, why);
	}
	if (why == NULL)
		why = rec_volumes_get(t, ds);
	if (why == NULL)
		return (0);
	/* All goes but the service's id and why. */
	if (ds->error[0] == '\0')
		strlcpy(ds->error, why, sizeof(ds->error));
	strlcpy(service_id, ds->service_id, sizeof(service_id));
	strlcpy(error, ds->error, sizeof(error));
	msg_rec_desired_free(ds);
	strlcpy(ds->service_id, service_id, sizeof(ds->service_id));
	strlcpy(ds->error, error, sizeof(ds->error));
	return (-1);
}

void
msg_rec_desired_free(struct msg_rec_desired *ds)
{
	size_t	 i;

	for (i = 0; i < ds->ndeployments; i++) {
		free(ds->deployments[i].env);
		free(ds->deployments[i].ports);
	}
	free(ds->deployments);
	free(ds->volumes);
	rec_tree_free(ds->tree);
	memset(ds, 0, sizeof(*ds));
}

/* The deployment of ds with that id, or NULL. */
const struct msg_rec_deployment *
msg_rec_desired_deployment(const struct msg_rec_desired *ds, const char *id)
{
	size_t	 i;

	if (ds == NULL)
		return (NULL);
	for (i = 0; i < ds->ndeployments; i++)
		if (strcmp(ds->deployments[i].id, id) == 0)
			return (&ds->deployments[i]);
	return (NULL);
}

/* IMSG_REC_REPORT: {"kind": str, ...the fields of that kind} */
static const char *const rec_report_kinds[] = {
	[REC_REPORT_STARTING] =		"starting",
	[REC_REPORT_ATTEMPT_FAILED] =	"attempt-failed",
	[REC_REPORT_FAILED] =		"failed",
	[REC_REPORT_HEALTHY] =		"healthy",
	[REC_REPORT_SERVICE_STATUS] =	"service-status",
	[REC_REPORT_CONTAINERS] =	"containers",
};

const char *
msg_rec_report_kind_name(enum msg_rec_report_kind kind)
{
	if (kind < REC_REPORT_STARTING || kind > REC_REPORT_CONTAINERS)
		return ("unknown");
	return (rec_report_kinds[kind]);
}

void
msg_rec_report_put(struct wbuf *w, const struct msg_rec_report *rp)
{
	const struct msg_rec_container	*c;
	size_t				 i;

	tree_map(w);
	tree_kv_str(w, "kind", msg_rec_report_kind_name(rp->kind));
	switch (rp->kind) {
	case REC_REPORT_STARTING:
		tree_kv_str(w, "deployment_id", rp->deployment_id);
		break;
	case REC_REPORT_ATTEMPT_FAILED:
	case REC_REPORT_FAILED:
		tree_kv_str(w, "deployment_id", rp->deployment_id);
		tree_key(w, "reason");
		rec_put_head(w, rp->reason != NULL ? rp->reason : "",
		    MSG_REC_REASON_MAX);
		if (rp->kind == REC_REPORT_ATTEMPT_FAILED)
			break;
		if (rp->has_exit_code)
			tree_kv_int(w, "exit_code", rp->exit_code);
		tree_key(w, "log_tail");
		rec_put_tail(w, rp->log_tail != NULL ? rp->log_tail : "",
		    MSG_REC_LOG_TAIL_MAX);
		break;
	case REC_REPORT_HEALTHY:
		tree_kv_str(w, "deployment_id", rp->deployment_id);
		tree_kv_int(w, "baseline_restart_count",
		    rp->baseline_restart_count);
		break;
	case REC_REPORT_SERVICE_STATUS:
		tree_kv_str(w, "service_id", rp->service_id);
		tree_kv_str(w, "status", rp->status);
		break;
	case REC_REPORT_CONTAINERS:
		tree_kv_str(w, "service_id", rp->service_id);
		tree_key(w, "containers");
		tree_array(w);
		for (i = 0; i < rp->ncontainers; i++) {
			c = &rp->containers[i];
			tree_map(w);
			tree_kv_str(w, "docker_id", c->docker_id);
			tree_kv_str(w, "deployment_id", c->deployment_id);
			tree_kv_int(w, "replica", c->replica);
			tree_kv_str(w, "state", c->state);
			tree_end(w);
		}
		tree_end(w);
		break;
	default:
		w->error = EINVAL;
		break;
	}
	tree_end(w);
}

static int
rec_service_status_valid(const char *s)
{
	return (strcmp(s, "running") == 0 || strcmp(s, "degraded") == 0 ||
	    strcmp(s, "failed") == 0 || strcmp(s, "deploying") == 0);
}

static int
rec_container_get(const struct tval *m, void *item)
{
	struct msg_rec_container	*c = item;

	if (rec_get_id(m, "docker_id", c->docker_id,
	    sizeof(c->docker_id)) == -1 ||
	    rec_get_id(m, "deployment_id", c->deployment_id,
	    sizeof(c->deployment_id)) == -1 ||
	    map_get_int(m, "replica", 0, MSG_REC_REPLICAS_MAX,
	    &c->replica) == -1 ||
	    rec_get_id(m, "state", c->state, sizeof(c->state)) == -1)
		return (-1);
	return (0);
}

static int
rec_containers_get(const struct tval *t, struct msg_rec_report *rp)
{
	const struct tval	*a;

	if ((a = rec_get_array(t, "containers", MSG_REC_ITEMS_MAX)) == NULL ||
	    (rp->containers = calloc(a->n + 1,
	    sizeof(*rp->containers))) == NULL ||
	    rec_get_maps(a, rp->containers, sizeof(*rp->containers),
	    rec_container_get) == -1)
		return (-1);
	rp->ncontainers = a->n;
	return (0);
}

int
msg_rec_report_get(struct rbuf *r, struct msg_rec_report *rp)
{
	struct tval	*t;
	const char	*kind;
	int		 k, rc = -1;

	memset(rp, 0, sizeof(*rp));
	if ((t = rec_tree_get(r)) == NULL)
		return (-1);
	rp->tree = t;
	if ((kind = tval_str(t, "kind")) == NULL)
		goto done;
	for (k = REC_REPORT_STARTING; k <= REC_REPORT_CONTAINERS; k++)
		if (strcmp(kind, rec_report_kinds[k]) == 0)
			break;
	rp->kind = k;
	switch (k) {
	case REC_REPORT_STARTING:
		rc = rec_get_id(t, "deployment_id", rp->deployment_id,
		    sizeof(rp->deployment_id));
		break;
	case REC_REPORT_ATTEMPT_FAILED:
	case REC_REPORT_FAILED:
		if (rec_get_id(t, "deployment_id", rp->deployment_id,
		    sizeof(rp->deployment_id)) == -1 ||
		    (rp->reason = rec_get_text(t, "reason",
		    DKD_TREE_STR_MAX)) == NULL)
			break;
		if (k == REC_REPORT_ATTEMPT_FAILED) {
			rc = 0;
			break;
		}
		if (tval_get(t, "exit_code") != NULL &&
		    tval_get(t, "exit_code")->tag != TREE_NULL) {
			if (map_get_int(t, "exit_code", INT32_MIN, INT32_MAX,
			    &rp->exit_code) == -1)
				break;
			rp->has_exit_code = 1;
		}
		if ((rp->log_tail = rec_get_text(t, "log_tail",
		    DKD_TREE_STR_MAX)) == NULL)
			break;
		rc = 0;
		break;
	case REC_REPORT_HEALTHY:
		if (rec_get_id(t, "deployment_id", rp->deployment_id,
		    sizeof(rp->deployment_id)) == 0 &&
		    map_get_int(t, "baseline_restart_count", 0, INT32_MAX,
		    &rp->baseline_restart_count) == 0)
			rc = 0;
		break;
	case REC_REPORT_SERVICE_STATUS:
		if (rec_get_id(t, "service_id", rp->service_id,
		    sizeof(rp->service_id)) == 0 &&
		    rec_get_id(t, "status", rp->status,
		    sizeof(rp->status)) == 0 &&
		    rec_service_status_valid(rp->status))
			rc = 0;
		break;
	case REC_REPORT_CONTAINERS:
		if (rec_get_id(t, "service_id", rp->service_id,
		    sizeof(rp->service_id)) == 0)
			rc = rec_containers_get(t, rp);
		break;
	default:
		break;
	}
done:
	if (rc == -1)
		msg_rec_report_free(rp);
	return (rc);
}

void
msg_rec_report_free(struct msg_rec_report *rp)
{
	free(rp->containers);
	rec_tree_free(rp->tree);
	memset(rp, 0, sizeof(*rp));
}

/* IMSG_REC_QUEUE: {"in_flight", "waiting", "backing_off", "services"} */
void
msg_rec_queue_put(struct wbuf *w, const struct msg_rec_queue *q)
{
	tree_map(w);
	tree_kv_int(w, "in_flight", q->in_flight);
	tree_kv_int(w, "waiting", q->waiting);
	tree_kv_int(w, "backing_off", q->backing_off);
	tree_kv_int(w, "services", q->services);
	tree_end(w);
}

int
msg_rec_queue_get(struct rbuf *r, struct msg_rec_queue *q)
{
	struct tval	*t;
	int		 rv = -1;

	memset(q, 0, sizeof(*q));
	if ((t = rec_tree_get(r)) == NULL)
		return (-1);
	if (map_get_int(t, "in_flight", 0, INT32_MAX, &q->in_flight) == 0 &&
	    map_get_int(t, "waiting", 0, INT32_MAX, &q->waiting) == 0 &&
	    map_get_int(t, "backing_off", 0, INT32_MAX,
	    &q->backing_off) == 0 &&
	    map_get_int(t, "services", 0, INT32_MAX, &q->services) == 0)
		rv = 0;
	rec_tree_free(t);
	return (rv);
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

/* Letters, digits and "-_.", 1 to max bytes, not starting with - or . */
int
msg_name_valid(const char *s, size_t max)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > max || s[0] == '-' || s[0] == '.')
		return (0);
	return (strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.") == n);
}

/* An image reference: printable, no spaces, not starting with "-". */
int
msg_image_valid(const char *s)
{
	size_t	 i;

	if (s[0] == '\0' || s[0] == '-')
		return (0);
	for (i = 0; s[i] != '\0'; i++)
		if (i >= MSG_IMAGE_MAX || (unsigned char)s[i] <= ' ' ||
		    (unsigned char)s[i] >= 0x7f)
			return (0);
	return (1);
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
	if (map_decode(r, &v, MSG_LOG_ITEMS) == -1)
		return (-1);
	if (msg_tree_str(&v, "container_id", ls->container_id,
	    sizeof(ls->container_id)) == 0 &&
	    msg_tree_str(&v, "service_id", ls->service_id,
	    sizeof(ls->service_id)) == 0 &&
	    msg_tree_str(&v, "project_id", ls->project_id,
	    sizeof(ls->project_id)) == 0 &&
	    msg_tree_str(&v, "deployment_id", ls->deployment_id,
	    sizeof(ls->deployment_id)) == 0 &&
	    map_get_bool(&v, "tty", &ls->tty) == 0 &&
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
	if (map_decode(r, &v, MSG_LOG_ITEMS) == -1)
		return (-1);
	if (msg_tree_str(&v, "container_id", m->container_id,
	    sizeof(m->container_id)) == 0 &&
	    msg_tree_str(&v, "last", m->last, sizeof(m->last)) == 0 &&
	    (tval_get(&v, "last_unix") == NULL ||
	    msg_tree_str(&v, "last_unix", m->last_unix,
	    sizeof(m->last_unix)) == 0) &&
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

	if (map_decode(r, &v, MSG_LOG_ITEMS) == -1)
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
	if (map_decode(r, &v, MSG_LOG_ITEMS) == -1)
		return (-1);
	if (msg_tree_str(&v, "service_id", lv->service_id,
	    sizeof(lv->service_id)) == 0 &&
	    map_get_int(&v, "tail", INT64_MIN, INT64_MAX, &lv->tail) == 0 &&
	    map_get_int(&v, "since", INT64_MIN, INT64_MAX, &lv->since) == 0 &&
	    map_get_int(&v, "until", INT64_MIN, INT64_MAX, &lv->until) == 0 &&
	    msg_tree_str(&v, "q", lv->q, sizeof(lv->q)) == 0 &&
	    msg_tree_str(&v, "stream", stream, sizeof(stream)) == 0 &&
	    map_get_bool(&v, "follow", &lv->follow) == 0 &&
	    map_get_bool(&v, "containers", &lv->containers) == 0 &&
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

	if (map_decode(r, &v, MSG_LOG_ITEMS) == -1)
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
