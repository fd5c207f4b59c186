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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <yajl/yajl_gen.h>

#include "compat.h"
#include "log.h"
#include "reconciler.h"

/*
 * The local-engine driver: the driver interface (driver.h) over the
 * Docker Engine API v1.41 (spec 14), through docker.c.  Each call is a
 * struct call that lives until its callback has run; a call that
 * cannot even be started completes from a deferred event, so that no
 * callback ever runs inside its caller.
 */

#define ENGINE_TIMEOUT_MS	30000		/* plain calls */
#define ENGINE_LIST_TIMEOUT_MS	30000
#define ENGINE_CREATE_TIMEOUT_MS 60000
#define ENGINE_START_TIMEOUT_MS	60000
#define ENGINE_PULL_TIMEOUT_MS	(30 * 60 * 1000)
#define ENGINE_PULL_IDLE_S	120		/* no progress that long */
#define ENGINE_EVENTS_SLACK_MS	30000		/* after "until" */

enum call_kind {
	CALL_DONE,
	CALL_ID,
	CALL_CONTAINERS,
	CALL_INSPECT,
	CALL_NETWORKS,
	CALL_VOLUMES,
	CALL_TEXT,
	CALL_PULL,
	CALL_EVENTS,
	CALL_FOLLOW,
};

struct drv_stream {
	enum call_kind		 kind;
	union {
		drv_done_cb		 done;
		drv_id_cb		 id;
		drv_containers_cb	 containers;
		drv_inspect_cb		 inspect;
		drv_networks_cb		 networks;
		drv_volumes_cb		 volumes;
		drv_text_cb		 text;
	}			 cb;
	drv_event_cb		 event_cb;	/* CALL_EVENTS */
	drv_bytes_cb		 bytes_cb;	/* CALL_FOLLOW */
	void			*arg;
	int			 ok_404;	/* a removal: gone is done */
	int			 tty;		/* CALL_TEXT: logs */
	int			 tail;
	int			 cancelled;
	struct docker_req	*req;
	struct lines		*lines;		/* line streams */
	char			 pull_err[DRV_ERR_MAX];
};

#define call	drv_stream

static struct event_base	*engine_base;

static void	call_complete(long, const char *, size_t, const char *,
		    void *);

void
engine_init(struct event_base *base)
{
	engine_base = base;
}

static struct call *
call_new(enum call_kind kind, void *arg)
{
	struct call	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("%s", __func__);
	c->kind = kind;
	c->arg = arg;
	return (c);
}

static void
call_free(struct call *c)
{
	free(c->lines);
	free(c);
}

static void
call_deferred_fail(int fd, short event, void *arg)
{
	call_complete(0, "", 0, "cannot start a request", arg);
}

static void
call_deferred_free(int fd, short event, void *arg)
{
	call_free(arg);
}

/* Run fn(c) from the event loop, never inside the caller. */
static void
call_defer(struct call *c, void (*fn)(int, short, void *))
{
	struct timeval	 tv = { 0, 0 };

	if (event_base_once(engine_base, -1, EV_TIMEOUT, fn, c, &tv) == -1)
		fatalx("%s: event_base_once", __func__);
}

/* A call whose arguments do not make a request fails like one. */
static void
call_bad(struct call *c)
{
	call_defer(c, call_deferred_fail);
}

static void
call_issue(struct call *c, const char *method, const char *path,
    const char *body, long timeout_ms)
{
	c->req = docker_request(method, path, body, timeout_ms, call_complete,
	    c);
	if (c->req == NULL)
		call_bad(c);
}

/* POST a JSON body, freed here; NULL (it could not be made) fails. */
static void
call_post(struct call *c, const char *path, char *body, long timeout_ms)
{
	if (body == NULL) {
		call_bad(c);
		return;
	}
	call_issue(c, "POST", path, body, timeout_ms);
	free(body);
}

static void
res_set(struct drv_res *res, long status, const char *body, size_t len,
    const char *err)
{
	memset(res, 0, sizeof(*res));
	res->status = status;
	if (status == 0) {
		res->code = DRV_UNREACHABLE;
		dparse_sanitize(res->err, sizeof(res->err), err != NULL ? err :
		    "no answer", err != NULL ? strlen(err) : 9);
		return;
	}
	if ((status >= 200 && status < 300) || status == 304) {
		res->code = DRV_OK;
		return;
	}
	res->code = status == 404 ? DRV_NOTFOUND : status == 409 ?
	    DRV_CONFLICT : DRV_FAILED;
	dparse_message(body, len, status, res->err, sizeof(res->err));
}

static void
res_fail(struct drv_res *res, const char *what, const char *detail)
{
	res->code = DRV_FAILED;
	(void)snprintf(res->err, sizeof(res->err), "%s: %s", what, detail);
}

/* The one completion of every call: parse by kind, call back, free. */
static void
call_complete(long status, const char *body, size_t len, const char *err,
    void *arg)
{
	struct call		*c = arg;
	struct drv_res		 res;
	struct drv_container	*cs = NULL;
	struct drv_network	*ns = NULL;
	struct drv_volume	*vs = NULL;
	struct drv_inspect	 in;
	struct textbuf		 text;
	char			 id[DRV_ID_MAX + 1], perr[128];
	size_t			 n = 0;

	c->req = NULL;
	if (c->cancelled) {
		/* A stream cancelled before its deferred failure ran. */
		call_free(c);
		return;
	}
	res_set(&res, status, body, len, err);
	if (c->ok_404 && res.code == DRV_NOTFOUND)
		res.code = DRV_OK;
	switch (c->kind) {
	case CALL_DONE:
		c->cb.done(&res, c->arg);
		break;
	case CALL_PULL:
		if (res.code == DRV_OK && c->pull_err[0] != '\0') {
			res.code = DRV_FAILED;
			strlcpy(res.err, c->pull_err, sizeof(res.err));
		}
		c->cb.done(&res, c->arg);
		break;
	case CALL_EVENTS:
	case CALL_FOLLOW:
		c->cb.done(&res, c->arg);
		break;
	case CALL_ID:
		id[0] = '\0';
		if (res.code == DRV_OK && dparse_id(body, len, id,
		    sizeof(id)) == -1)
			res_fail(&res, "unexpected reply", "no Id");
		c->cb.id(&res, id, c->arg);
		break;
	case CALL_CONTAINERS:
		if (res.code == DRV_OK && dparse_containers(body, len, &cs, &n,
		    perr, sizeof(perr)) == -1)
			res_fail(&res, "container list", perr);
		c->cb.containers(&res, cs, n, c->arg);
		free(cs);
		break;
	case CALL_INSPECT:
		memset(&in, 0, sizeof(in));
		if (res.code == DRV_OK && dparse_inspect(body, len, &in, perr,
		    sizeof(perr)) == -1)
			res_fail(&res, "container inspect", perr);
		c->cb.inspect(&res, &in, c->arg);
		break;
	case CALL_NETWORKS:
		if (res.code == DRV_OK && dparse_networks(body, len, &ns, &n,
		    perr, sizeof(perr)) == -1)
			res_fail(&res, "network list", perr);
		c->cb.networks(&res, ns, n, c->arg);
		free(ns);
		break;
	case CALL_VOLUMES:
		if (res.code == DRV_OK && dparse_volumes(body, len, &vs, &n,
		    perr, sizeof(perr)) == -1)
			res_fail(&res, "volume list", perr);
		c->cb.volumes(&res, vs, n, c->arg);
		free(vs);
		break;
	case CALL_TEXT:
		memset(&text, 0, sizeof(text));
		if (res.code == DRV_OK)
			/* Framing errors keep what came before them. */
			(void)dparse_log_tail(body, len, c->tty, c->tail,
			    LOG_TAIL_MAX, &text);
		c->cb.text(&res, text.buf != NULL ? text.buf : "", text.len,
		    c->arg);
		textbuf_free(&text);
		break;
	}
	call_free(c);
}

/* --------------------------------------------------------- URL pieces */

/* Percent-encode s for a query value (keep is "" there). */
static int
url_escape(char *dst, size_t dstlen, const char *s, const char *keep)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 j = 0;
	unsigned char		 ch;

	for (; *s != '\0'; s++) {
		ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL ||
		    (ch != '\0' && strchr(keep, ch) != NULL)) {
			if (j + 1 >= dstlen)
				return (-1);
			dst[j++] = (char)ch;
		} else {
			if (j + 3 >= dstlen)
				return (-1);
			dst[j++] = '%';
			dst[j++] = hex[ch >> 4];
			dst[j++] = hex[ch & 0xf];
		}
	}
	if (j >= dstlen)
		return (-1);
	dst[j] = '\0';
	return (0);
}

/* yajl_gen, with UTF-8 checked: a bad value fails the call. */
static yajl_gen
gen_new(void)
{
	yajl_gen	 g;

	if ((g = yajl_gen_alloc(NULL)) == NULL)
		fatal("%s", __func__);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return (g);
}

static void
gen_str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

/* A malloc'd copy of the generated text, or NULL on a bad string. */
static char *
gen_take(yajl_gen g)
{
	const unsigned char	*buf;
	size_t			 len;
	char			*s = NULL;

	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok &&
	    (s = malloc(len + 1)) != NULL) {
		memcpy(s, buf, len);
		s[len] = '\0';
	}
	yajl_gen_free(g);
	return (s);
}

/* ?filters= value for labels (all must match) and an optional type. */
static int
filters_param(char *dst, size_t dstlen, const char *type,
    const struct drv_kv *labels, size_t nlabels)
{
	yajl_gen	 g = gen_new();
	char		 kv[1024], *json;
	size_t		 i;
	int		 rv;

	yajl_gen_map_open(g);
	if (type != NULL) {
		gen_str(g, "type");
		yajl_gen_array_open(g);
		gen_str(g, type);
		yajl_gen_array_close(g);
	}
	gen_str(g, "label");
	yajl_gen_array_open(g);
	for (i = 0; i < nlabels; i++) {
		if ((size_t)snprintf(kv, sizeof(kv), "%s=%s", labels[i].key,
		    labels[i].value) >= sizeof(kv)) {
			yajl_gen_free(g);
			return (-1);
		}
		gen_str(g, kv);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	if ((json = gen_take(g)) == NULL)
		return (-1);
	rv = url_escape(dst, dstlen, json, "");
	free(json);
	return (rv);
}

static void
gen_labels(yajl_gen g, const struct drv_kv *labels, size_t n)
{
	size_t	 i;

	gen_str(g, "Labels");
	yajl_gen_map_open(g);
	for (i = 0; i < n; i++) {
		gen_str(g, labels[i].key);
		gen_str(g, labels[i].value);
	}
	yajl_gen_map_close(g);
}

/* GET prefix with the label filters appended: a list call. */
static void
call_list(struct call *c, const char *prefix, const struct drv_kv *labels,
    size_t n)
{
	char	 f[2048], path[2400];

	if (filters_param(f, sizeof(f), NULL, labels, n) == -1) {
		call_bad(c);
		return;
	}
	(void)snprintf(path, sizeof(path), "%s%s", prefix, f);
	call_issue(c, "GET", path, NULL, ENGINE_LIST_TIMEOUT_MS);
}

/* prefix, the name as a path segment (keep: as url_escape), suffix. */
static int
object_path(char *dst, size_t len, const char *prefix, const char *name,
    const char *keep, const char *suffix)
{
	char	 e[DRV_NAME_MAX * 3 + 1];

	if (url_escape(e, sizeof(e), name, keep) == -1)
		return (-1);
	if ((size_t)snprintf(dst, len, "%s%s%s", prefix, e, suffix) >= len)
		return (-1);
	return (0);
}

/* A request without a body on one named object. */
static void
call_object(struct call *c, const char *method, const char *prefix,
    const char *name, const char *keep, const char *suffix, long timeout_ms)
{
	char	 path[DRV_NAME_MAX * 3 + 128];

	if (object_path(path, sizeof(path), prefix, name, keep, suffix) ==
	    -1) {
		call_bad(c);
		return;
	}
	call_issue(c, method, path, NULL, timeout_ms);
}

/* ----------------------------------------------------------- networks */

static void
engine_network_list(const struct drv_kv *labels, size_t n,
    drv_networks_cb cb, void *arg)
{
	struct call	*c = call_new(CALL_NETWORKS, arg);

	c->cb.networks = cb;
	call_list(c, "/networks?filters=", labels, n);
}

static void
engine_network_create(const char *name, const struct drv_kv *labels,
    size_t n, drv_id_cb cb, void *arg)
{
	struct call	*c = call_new(CALL_ID, arg);
	yajl_gen	 g = gen_new();

	c->cb.id = cb;
	yajl_gen_map_open(g);
	gen_str(g, "Name");
	gen_str(g, name);
	gen_str(g, "CheckDuplicate");
	yajl_gen_bool(g, 1);
	gen_str(g, "Driver");
	gen_str(g, "bridge");
	gen_labels(g, labels, n);
	yajl_gen_map_close(g);
	call_post(c, "/networks/create", gen_take(g), ENGINE_TIMEOUT_MS);
}

static void
engine_network_remove(const char *id, drv_done_cb cb, void *arg)
{
	struct call	*c = call_new(CALL_DONE, arg);

	c->cb.done = cb;
	c->ok_404 = 1;
	call_object(c, "DELETE", "/networks/", id, "", "", ENGINE_TIMEOUT_MS);
}

/* ------------------------------------------------------------- images */

static void
engine_image_inspect(const char *ref, drv_done_cb cb, void *arg)
{
	struct call	*c = call_new(CALL_DONE, arg);

	c->cb.done = cb;
	call_object(c, "GET", "/images/", ref, "/:@", "/json",
	    ENGINE_TIMEOUT_MS);
}

static int
pull_line(const char *line, size_t len, void *arg)
{
	struct call	*c = arg;
	char		 err[DRV_ERR_MAX];

	if (dparse_pull_line(line, len, err, sizeof(err)) == 1)
		strlcpy(c->pull_err, err, sizeof(c->pull_err));
	return (0);
}

static int
pull_data(const char *data, size_t len, void *arg)
{
	struct call	*c = arg;

	if (data == NULL)
		return (0);
	return (lines_feed(c->lines, data, len, pull_line, c));
}

/*
 * Split "repo[:tag][@digest]" for ?fromImage=&tag=: a colon after the
 * last slash starts the tag; no tag means latest.
 */
static int
image_split(const char *ref, char *repo, size_t repolen, char *tag,
    size_t taglen)
{
	const char	*at, *slash, *colon;

	if ((at = strchr(ref, '@')) != NULL) {
		if ((size_t)(at - ref) >= repolen || strlcpy(tag, at + 1,
		    taglen) >= taglen)
			return (-1);
		memcpy(repo, ref, (size_t)(at - ref));
		repo[at - ref] = '\0';
		return (0);
	}
	slash = strrchr(ref, '/');
	colon = strrchr(ref, ':');
	if (colon != NULL && (slash == NULL || colon > slash)) {
		if ((size_t)(colon - ref) >= repolen || strlcpy(tag, colon + 1,
		    taglen) >= taglen)
			return (-1);
		memcpy(repo, ref, (size_t)(colon - ref));
		repo[colon - ref] = '\0';
		return (0);
	}
	if (strlcpy(repo, ref, repolen) >= repolen)
		return (-1);
	strlcpy(tag, "latest", taglen);
	return (0);
}

static void
engine_image_pull(const char *ref, drv_done_cb cb, void *arg)
{
	struct call	*c = call_new(CALL_PULL, arg);
	char		 repo[512], tag[256], er[1024], et[512], path[1700];

	c->cb.done = cb;
	if (image_split(ref, repo, sizeof(repo), tag, sizeof(tag)) == -1 ||
	    url_escape(er, sizeof(er), repo, "") == -1 ||
	    url_escape(et, sizeof(et), tag, "") == -1) {
		call_bad(c);
		return;
	}
	if ((c->lines = calloc(1, sizeof(*c->lines))) == NULL)
		fatal("%s", __func__);
	(void)snprintf(path, sizeof(path), "/images/create?fromImage=%s&tag=%s",
	    er, et);
	c->req = docker_stream("POST", path, ENGINE_PULL_TIMEOUT_MS,
	    ENGINE_PULL_IDLE_S, pull_data, call_complete, c);
	if (c->req == NULL)
		call_bad(c);
}

/* --------------------------------------------------------- containers */

static void
engine_container_list(const struct drv_kv *labels, size_t n,
    drv_containers_cb cb, void *arg)
{
	struct call	*c = call_new(CALL_CONTAINERS, arg);

	c->cb.containers = cb;
	call_list(c, "/containers/json?all=1&filters=", labels, n);
}

/* The create body of spec 14 (and Decisions 3, 8, 10). */
static char *
create_body(const struct drv_spec *s)
{
	yajl_gen	 g = gen_new();
	char		 buf[1024];
	size_t		 i;

	yajl_gen_map_open(g);
	gen_str(g, "Image");
	gen_str(g, s->image);
	gen_str(g, "Env");
	yajl_gen_array_open(g);
	for (i = 0; i < s->nenv; i++) {
		char	*kv;

		if (asprintf(&kv, "%s=%s", s->env[i].key,
		    s->env[i].value) == -1)
			fatal("%s", __func__);
		gen_str(g, kv);
		free(kv);
	}
	yajl_gen_array_close(g);
	gen_labels(g, s->labels, s->nlabels);
	gen_str(g, "StopTimeout");
	yajl_gen_integer(g, s->stop_timeout);
	if (s->nports > 0) {
		gen_str(g, "ExposedPorts");
		yajl_gen_map_open(g);
		for (i = 0; i < s->nports; i++) {
			(void)snprintf(buf, sizeof(buf), "%d/%s",
			    s->ports[i].container_port, s->ports[i].protocol);
			gen_str(g, buf);
			yajl_gen_map_open(g);
			yajl_gen_map_close(g);
		}
		yajl_gen_map_close(g);
	}
	gen_str(g, "HostConfig");
	yajl_gen_map_open(g);
	gen_str(g, "Init");
	yajl_gen_bool(g, 1);
	gen_str(g, "RestartPolicy");
	yajl_gen_map_open(g);
	gen_str(g, "Name");
	gen_str(g, "unless-stopped");
	yajl_gen_map_close(g);
	gen_str(g, "NetworkMode");
	gen_str(g, s->network);
	if (s->memory_bytes > 0) {
		gen_str(g, "Memory");
		yajl_gen_integer(g, s->memory_bytes);
	}
	if (s->cpu_shares > 0) {
		gen_str(g, "CpuShares");
		yajl_gen_integer(g, s->cpu_shares);
	}
	gen_str(g, "PortBindings");
	yajl_gen_map_open(g);
	for (i = 0; i < s->nports; i++) {
		if (s->ports[i].host_port <= 0)
			continue;
		(void)snprintf(buf, sizeof(buf), "%d/%s",
		    s->ports[i].container_port, s->ports[i].protocol);
		gen_str(g, buf);
		yajl_gen_array_open(g);
		yajl_gen_map_open(g);
		gen_str(g, "HostPort");
		(void)snprintf(buf, sizeof(buf), "%d", s->ports[i].host_port);
		gen_str(g, buf);
		yajl_gen_map_close(g);
		yajl_gen_array_close(g);
	}
	yajl_gen_map_close(g);
	if (s->nmounts > 0) {
		gen_str(g, "Mounts");
		yajl_gen_array_open(g);
		for (i = 0; i < s->nmounts; i++) {
			yajl_gen_map_open(g);
			gen_str(g, "Type");
			gen_str(g, "volume");
			gen_str(g, "Source");
			gen_str(g, s->mounts[i].volume);
			gen_str(g, "Target");
			gen_str(g, s->mounts[i].target);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
	}
	yajl_gen_map_close(g);
	gen_str(g, "NetworkingConfig");
	yajl_gen_map_open(g);
	gen_str(g, "EndpointsConfig");
	yajl_gen_map_open(g);
	gen_str(g, s->network);
	yajl_gen_map_open(g);
	gen_str(g, "Aliases");
	yajl_gen_array_open(g);
	for (i = 0; i < s->naliases; i++)
		gen_str(g, s->aliases[i]);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	return (gen_take(g));
}

static void
engine_container_create(const struct drv_spec *s, drv_id_cb cb, void *arg)
{
	struct call	*c = call_new(CALL_ID, arg);
	char		 e[DRV_NAME_MAX * 3 + 1];
	char		 path[DRV_NAME_MAX * 3 + 64];

	c->cb.id = cb;
	if (url_escape(e, sizeof(e), s->name, "") == -1) {
		call_bad(c);
		return;
	}
	(void)snprintf(path, sizeof(path), "/containers/create?name=%s", e);
	call_post(c, path, create_body(s), ENGINE_CREATE_TIMEOUT_MS);
}

/* A request without a body on a container (id or name). */
static void
container_call(struct call *c, const char *method, const char *id,
    const char *suffix, long timeout_ms)
{
	call_object(c, method, "/containers/", id, "", suffix, timeout_ms);
}

static void
engine_container_start(const char *id, drv_done_cb cb, void *arg)
{
	struct call	*c = call_new(CALL_DONE, arg);

	c->cb.done = cb;
	container_call(c, "POST", id, "/start", ENGINE_START_TIMEOUT_MS);
}

static void
engine_container_stop(const char *id, int timeout_s, drv_done_cb cb,
    void *arg)
{
	struct call	*c = call_new(CALL_DONE, arg);
	char		 suffix[32];

	c->cb.done = cb;
	c->ok_404 = 1;
	(void)snprintf(suffix, sizeof(suffix), "/stop?t=%d", timeout_s);
	container_call(c, "POST", id, suffix, timeout_s * 1000L +
	    ENGINE_TIMEOUT_MS);
}

static void
engine_container_remove(const char *id, drv_done_cb cb, void *arg)
{
	struct call	*c = call_new(CALL_DONE, arg);

	c->cb.done = cb;
	c->ok_404 = 1;
	container_call(c, "DELETE", id, "?force=1&v=1", ENGINE_TIMEOUT_MS);
}

static void
engine_container_inspect(const char *id, drv_inspect_cb cb, void *arg)
{
	struct call	*c = call_new(CALL_INSPECT, arg);

	c->cb.inspect = cb;
	container_call(c, "GET", id, "/json", ENGINE_TIMEOUT_MS);
}

static void
engine_container_logs(const char *id, int tail, int tty, drv_text_cb cb,
    void *arg)
{
	struct call	*c = call_new(CALL_TEXT, arg);
	char		 suffix[64];

	c->cb.text = cb;
	c->tty = tty;
	c->tail = tail;
	(void)snprintf(suffix, sizeof(suffix),
	    "/logs?stdout=1&stderr=1&tail=%d", tail);
	container_call(c, "GET", id, suffix, ENGINE_TIMEOUT_MS);
}

static int
follow_data(const char *data, size_t len, void *arg)
{
	struct call	*c = arg;
	int		 rv;

	if (c->cancelled)
		return (-1);
	rv = c->bytes_cb(data, len, c->arg);
	return (c->cancelled ? -1 : rv);
}

/* An endless stream of a container's log bytes, raw, from since on. */
static struct drv_stream *
engine_logs_follow(const char *id, const char *since, drv_bytes_cb bytes,
    drv_done_cb done, void *arg)
{
	struct call	*c = call_new(CALL_FOLLOW, arg);
	char		 suffix[256], es[128], path[1024];

	c->cb.done = done;
	c->bytes_cb = bytes;
	if (url_escape(es, sizeof(es), since, "") == -1)
		strlcpy(es, "0", sizeof(es));
	(void)snprintf(suffix, sizeof(suffix), "/logs?follow=1&stdout=1&"
	    "stderr=1&timestamps=1&since=%s", es);
	if (object_path(path, sizeof(path), "/containers/", id, "",
	    suffix) == -1 || (c->req = docker_stream("GET", path, 0, 0,
	    follow_data, call_complete, c)) == NULL)
		call_bad(c);
	return (c);
}

/* ------------------------------------------------------------ volumes */

static void
engine_volume_create(const char *name, const struct drv_kv *labels,
    size_t n, drv_done_cb cb, void *arg)
{
	struct call	*c = call_new(CALL_DONE, arg);
	yajl_gen	 g = gen_new();

	c->cb.done = cb;
	yajl_gen_map_open(g);
	gen_str(g, "Name");
	gen_str(g, name);
	gen_labels(g, labels, n);
	yajl_gen_map_close(g);
	call_post(c, "/volumes/create", gen_take(g), ENGINE_TIMEOUT_MS);
}

static void
engine_volume_list(const struct drv_kv *labels, size_t n, drv_volumes_cb cb,
    void *arg)
{
	struct call	*c = call_new(CALL_VOLUMES, arg);

	c->cb.volumes = cb;
	call_list(c, "/volumes?filters=", labels, n);
}

static void
engine_volume_remove(const char *name, drv_done_cb cb, void *arg)
{
	struct call	*c = call_new(CALL_DONE, arg);

	c->cb.done = cb;
	c->ok_404 = 1;
	call_object(c, "DELETE", "/volumes/", name, "", "", ENGINE_TIMEOUT_MS);
}

/* ------------------------------------------------------------- events */

static int
events_line(const char *line, size_t len, void *arg)
{
	struct call		*c = arg;
	struct drv_event	 ev;

	if (c->cancelled)
		return (-1);
	if (dparse_event(line, len, &ev) == 0)
		c->event_cb(&ev, c->arg);
	return (c->cancelled ? -1 : 0);
}

static int
events_data(const char *data, size_t len, void *arg)
{
	struct call	*c = arg;

	if (c->cancelled)
		return (-1);
	if (data == NULL) {
		c->event_cb(NULL, c->arg);
		return (c->cancelled ? -1 : 0);
	}
	return (lines_feed(c->lines, data, len, events_line, c));
}

/*
 * The container events that match labels, from since_ns (0: now) until
 * until_s, when Docker ends the stream; ev NULL says it is open.
 */
static struct drv_stream *
engine_events(const struct drv_kv *labels, size_t n, int64_t since_ns,
    int64_t until_s, drv_event_cb ev, drv_done_cb done, void *arg)
{
	struct call	*c = call_new(CALL_EVENTS, arg);
	char		 f[2048], path[2600], since[64];
	long		 timeout;

	c->cb.done = done;
	c->event_cb = ev;
	if ((c->lines = calloc(1, sizeof(*c->lines))) == NULL)
		fatal("%s", __func__);
	since[0] = '\0';
	if (since_ns > 0)
		(void)snprintf(since, sizeof(since), "since=%lld.%09lld&",
		    (long long)(since_ns / 1000000000),
		    (long long)(since_ns % 1000000000));
	timeout = (long)MAXIMUM(until_s - (int64_t)time(NULL), 0) * 1000 +
	    ENGINE_EVENTS_SLACK_MS;
	if (filters_param(f, sizeof(f), "container", labels, n) == -1 ||
	    (size_t)snprintf(path, sizeof(path), "/events?%suntil=%lld&"
	    "filters=%s", since, (long long)until_s, f) >= sizeof(path) ||
	    (c->req = docker_stream("GET", path, timeout, 0, events_data,
	    call_complete, c)) == NULL)
		call_bad(c);
	return (c);
}

/*
 * End a stream that has not ended: no callback of it runs again.  Its
 * memory goes from a deferred event, since this may run inside one of
 * its own callbacks; or, if it never started, with its deferred
 * failure.  A stream whose done callback ran is gone already.
 */
static void
engine_stream_cancel(struct drv_stream *c)
{
	if (c == NULL || c->cancelled)
		return;
	c->cancelled = 1;
	if (c->req == NULL)
		return;
	docker_cancel(c->req);
	c->req = NULL;
	call_defer(c, call_deferred_free);
}

static void
engine_stream_resume(struct drv_stream *c)
{
	if (c != NULL && !c->cancelled)
		docker_resume(c->req);
}

const struct driver engine_driver = {
	.name = "engine",
	.network_list = engine_network_list,
	.network_create = engine_network_create,
	.network_remove = engine_network_remove,
	.image_inspect = engine_image_inspect,
	.image_pull = engine_image_pull,
	.container_list = engine_container_list,
	.container_create = engine_container_create,
	.container_start = engine_container_start,
	.container_stop = engine_container_stop,
	.container_remove = engine_container_remove,
	.container_inspect = engine_container_inspect,
	.container_logs = engine_container_logs,
	.logs_follow = engine_logs_follow,
	.volume_create = engine_volume_create,
	.volume_list = engine_volume_list,
	.volume_remove = engine_volume_remove,
	.events = engine_events,
	.stream_resume = engine_stream_resume,
	.stream_cancel = engine_stream_cancel,
};
