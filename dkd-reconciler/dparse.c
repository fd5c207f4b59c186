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

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_tree.h>

#include "compat.h"
#include "docker_info.h"
#include "reconciler.h"

/*
 * Docker's replies, turned into the driver's structs.  Pure code with
 * no I/O, each parser under its own fuzz target (tests/fuzz): a reply
 * is capped in size by docker.c and in depth by json_parse(); a
 * string that does not fit its field makes the object unusable rather
 * than truncated, so a long id can never pass for a shorter one.
 */

static const char *
obj_str(yajl_val v, const char *k1, const char *k2)
{
	const char	*path[3] = { k1, k2, NULL };
	yajl_val	 s;

	if (v == NULL || (s = yajl_tree_get(v, path, yajl_t_string)) == NULL)
		return (NULL);
	return (YAJL_GET_STRING(s));
}

static int64_t
obj_int(yajl_val v, const char *k1, const char *k2, int64_t def)
{
	const char	*path[3] = { k1, k2, NULL };
	yajl_val	 n;

	if (v == NULL || (n = yajl_tree_get(v, path, yajl_t_number)) ==
	    NULL || !YAJL_IS_INTEGER(n))
		return (def);
	return (YAJL_GET_INTEGER(n));
}

static int
obj_bool(yajl_val v, const char *k1, const char *k2)
{
	const char	*path[3] = { k1, k2, NULL };

	return (v != NULL && yajl_tree_get(v, path, yajl_t_true) != NULL);
}

static yajl_val
obj_get(yajl_val v, const char *key, yajl_type type)
{
	const char	*path[2] = { key, NULL };

	if (v == NULL)
		return (NULL);
	return (yajl_tree_get(v, path, type));
}

/* Copy s into dst; -1 if absent or too long. */
static int
copy_field(char *dst, size_t len, const char *s)
{
	if (s == NULL) {
		dst[0] = '\0';
		return (-1);
	}
	if (strlcpy(dst, s, len) >= len) {
		dst[0] = '\0';
		return (-1);
	}
	return (0);
}

/* Labels from a map: ours only, each bounded. */
struct labels {
	const char	*managed;
	const char	*instance;
	const char	*project;
	const char	*service;
	const char	*deployment;
	const char	*replica;
};

static void
read_labels(yajl_val map, struct labels *l)
{
	memset(l, 0, sizeof(*l));
	if (map == NULL || !YAJL_IS_OBJECT(map))
		return;
	l->managed = obj_str(map, LABEL_MANAGED, NULL);
	l->instance = obj_str(map, LABEL_INSTANCE, NULL);
	l->project = obj_str(map, LABEL_PROJECT, NULL);
	l->service = obj_str(map, LABEL_SERVICE, NULL);
	l->deployment = obj_str(map, LABEL_DEPLOYMENT, NULL);
	l->replica = obj_str(map, LABEL_REPLICA, NULL);
}

/* A replica index label: 0 .. DRV_REPLICAS_MAX - 1, else -1. */
static int
parse_replica(const char *s)
{
	const char	*errstr;
	long long	 n;

	if (s == NULL)
		return (-1);
	n = strtonum(s, 0, DRV_REPLICAS_MAX - 1, &errstr);
	return (errstr != NULL ? -1 : (int)n);
}

static int
is_hex_id(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isxdigit((unsigned char)s[i]))
			return (0);
	return (i > 0 && i <= DRV_ID_MAX);
}

static int
is_managed(const struct labels *l)
{
	return (l->managed != NULL &&
	    strcmp(l->managed, LABEL_MANAGED_VALUE) == 0);
}

/* A reply whose top level is of type (array or object), or NULL. */
static yajl_val
reply_parse(const char *buf, size_t len, yajl_type type, char *err,
    size_t errlen)
{
	yajl_val	 v;

	if ((v = json_parse(buf, len, err, errlen)) == NULL)
		return (NULL);
	if (type == yajl_t_array && !YAJL_IS_ARRAY(v)) {
		(void)snprintf(err, errlen, "not an array");
		yajl_tree_free(v);
		return (NULL);
	}
	if (type == yajl_t_object && !YAJL_IS_OBJECT(v)) {
		(void)snprintf(err, errlen, "not an object");
		yajl_tree_free(v);
		return (NULL);
	}
	return (v);
}

/*
 * A list reply: an array, or (key not NULL) an object with the array
 * at key, which may be absent.  Its objects, at most DRV_LIST_MAX, go
 * into an allocated array of structs of size bytes: read fills the
 * next zeroed slot from an item and returns 0 to keep it, -1 to pass
 * it over; *n counts those kept.  NULL, and err, if there is no list.
 */
static void *
read_list(const char *buf, size_t len, const char *key, size_t size,
    int (*read)(yajl_val, void *), size_t *n, char *err, size_t errlen)
{
	unsigned char	*out, *slot;
	yajl_val	 v, arr, item;
	size_t		 i, count;

	*n = 0;
	if ((v = reply_parse(buf, len, key == NULL ? yajl_t_array :
	    yajl_t_object, err, errlen)) == NULL)
		return (NULL);
	arr = key == NULL ? v : obj_get(v, key, yajl_t_array);
	count = arr == NULL ? 0 :
	    MINIMUM(YAJL_GET_ARRAY(arr)->len, (size_t)DRV_LIST_MAX);
	if ((out = calloc(count + 1, size)) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		yajl_tree_free(v);
		return (NULL);
	}
	for (i = 0; i < count; i++) {
		item = YAJL_GET_ARRAY(arr)->values[i];
		slot = out + *n * size;
		memset(slot, 0, size);
		if (YAJL_IS_OBJECT(item) && read(item, slot) == 0)
			(*n)++;
	}
	yajl_tree_free(v);
	return (out);
}

/* Printable ASCII of s (at most len bytes), for a reason or a log. */
void
dparse_sanitize(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t	 i, j = 0;

	if (dstlen == 0)
		return;
	for (i = 0; i < len && j + 1 < dstlen; i++) {
		if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
			dst[j++] = ' ';
		else if ((unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] < 0x7f)
			dst[j++] = s[i];
		else
			dst[j++] = '?';
	}
	dst[j] = '\0';
}

/*
 * The "message" of an error reply ({"message": "..."}), or the start of
 * the body, or "HTTP <status>" when there is nothing to say.
 */
void
dparse_message(const char *buf, size_t len, long status, char *out,
    size_t outlen)
{
	yajl_val	 v;
	const char	*m = NULL;
	char		 err[64];

	if (len > 0 && (v = json_parse(buf, len, err, sizeof(err))) != NULL) {
		if ((m = obj_str(v, "message", NULL)) != NULL)
			dparse_sanitize(out, outlen, m, strlen(m));
		yajl_tree_free(v);
		if (m != NULL && out[0] != '\0')
			return;
	}
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	out[0] = '\0';
	if (len > 0 && len < 200)
		dparse_sanitize(out, outlen, buf, len);
	if (out[0] == '\0')
		(void)snprintf(out, outlen, "HTTP %ld", status);
}

/* {"Id": "..."} of a create: 0, or -1 if there is no usable id. */
int
dparse_id(const char *buf, size_t len, char *id, size_t idlen)
{
	yajl_val	 v;
	char		 err[64];
	int		 rv = -1;

	if ((v = json_parse(buf, len, err, sizeof(err))) == NULL)
		return (-1);
	if (copy_field(id, idlen, obj_str(v, "Id", NULL)) == 0 &&
	    is_hex_id(id))
		rv = 0;
	else
		id[0] = '\0';
	yajl_tree_free(v);
	return (rv);
}

/*
 * RFC 3339 with optional fraction ("2026-11-30T22:52:28.90164868Z", or
 * an offset) as milliseconds since the epoch.  Docker's zero time
 * (year 1) is 0; a malformed time is -1.
 */
int64_t
dparse_time(const char *s)
{
	struct tm	 tm;
	const char	*p;
	int64_t		 t, ms = 0;
	int		 digits = 0, sign, oh, om, n = 0;

	if (s == NULL)
		return (-1);
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19)
		return (-1);
	if (tm.tm_year <= 1)
		return (0);
	if (tm.tm_year < 1970 || tm.tm_year > 9999 || tm.tm_mon < 1 ||
	    tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return (-1);
	p = s + n;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
		if (digits == 0)
			return (-1);
		for (; digits < 3; digits++)
			ms *= 10;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == -1)
		return (-1);
	if (*p == 'Z' && p[1] == '\0')
		return (t * 1000 + ms);
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d%n", &oh, &om,
	    &n) == 2 && n == 5 && p[6] == '\0' && oh < 24 && om < 60) {
		sign = *p == '+' ? -1 : 1;
		return ((t + sign * (oh * 3600 + om * 60)) * 1000 + ms);
	}
	return (-1);
}

static int
read_container(yajl_val item, void *slot)
{
	struct drv_container	*c = slot;
	struct labels		 l;
	yajl_val		 names;
	const char		*nm;

	read_labels(obj_get(item, "Labels", yajl_t_object), &l);
	if (copy_field(c->id, sizeof(c->id),
	    obj_str(item, "Id", NULL)) == -1 || !is_hex_id(c->id))
		return (-1);
	if (!is_managed(&l))
		return (-1);
	c->managed = 1;
	if (copy_field(c->instance, sizeof(c->instance), l.instance) == -1 ||
	    copy_field(c->service_id, sizeof(c->service_id),
	    l.service) == -1 || c->service_id[0] == '\0')
		return (-1);
	/* Not having these is allowed: such a container is stray. */
	(void)copy_field(c->project_id, sizeof(c->project_id), l.project);
	(void)copy_field(c->deployment_id, sizeof(c->deployment_id),
	    l.deployment);
	c->replica = parse_replica(l.replica);
	(void)copy_field(c->state, sizeof(c->state),
	    obj_str(item, "State", NULL));
	names = obj_get(item, "Names", yajl_t_array);
	if (names != NULL && YAJL_GET_ARRAY(names)->len > 0 &&
	    YAJL_IS_STRING(YAJL_GET_ARRAY(names)->values[0])) {
		nm = YAJL_GET_STRING(YAJL_GET_ARRAY(names)->values[0]);
		(void)copy_field(c->name, sizeof(c->name),
		    nm[0] == '/' ? nm + 1 : nm);
	}
	return (0);
}

/*
 * GET /containers/json: the containers that carry the managed-by label,
 * with a usable id.  *out is allocated (free it), *n its length.
 */
int
dparse_containers(const char *buf, size_t len, struct drv_container **out,
    size_t *n, char *err, size_t errlen)
{
	*out = read_list(buf, len, NULL, sizeof(**out), read_container, n,
	    err, errlen);
	return (*out == NULL ? -1 : 0);
}

/* GET /containers/{id}/json. */
int
dparse_inspect(const char *buf, size_t len, struct drv_inspect *in,
    char *err, size_t errlen)
{
	yajl_val	 v, state;

	memset(in, 0, sizeof(*in));
	if ((v = json_parse(buf, len, err, errlen)) == NULL)
		return (-1);
	state = obj_get(v, "State", yajl_t_object);
	if (!YAJL_IS_OBJECT(v) || state == NULL ||
	    copy_field(in->id, sizeof(in->id), obj_str(v, "Id", NULL)) ==
	    -1 || !is_hex_id(in->id) ||
	    copy_field(in->status, sizeof(in->status),
	    obj_str(state, "Status", NULL)) == -1) {
		(void)snprintf(err, errlen, "not a container");
		yajl_tree_free(v);
		return (-1);
	}
	in->running = obj_bool(state, "Running", NULL);
	in->restarting = obj_bool(state, "Restarting", NULL);
	in->oom_killed = obj_bool(state, "OOMKilled", NULL);
	in->exit_code = (int)MAXIMUM(MINIMUM(obj_int(state, "ExitCode",
	    NULL, 0), 255), -1);
	in->restart_count = (int)MAXIMUM(MINIMUM(obj_int(v, "RestartCount",
	    NULL, 0), INT32_MAX), 0);
	in->started_at_ms = MAXIMUM(dparse_time(obj_str(state, "StartedAt",
	    NULL)), 0);
	in->finished_at_ms = MAXIMUM(dparse_time(obj_str(state,
	    "FinishedAt", NULL)), 0);
	in->tty = obj_bool(v, "Config", "Tty");
	yajl_tree_free(v);
	return (0);
}

static int
read_network(yajl_val item, void *slot)
{
	struct drv_network	*nw = slot;
	struct labels		 l;

	if (copy_field(nw->id, sizeof(nw->id),
	    obj_str(item, "Id", NULL)) == -1 || !is_hex_id(nw->id) ||
	    copy_field(nw->name, sizeof(nw->name),
	    obj_str(item, "Name", NULL)) == -1 || nw->name[0] == '\0')
		return (-1);
	read_labels(obj_get(item, "Labels", yajl_t_object), &l);
	nw->managed = is_managed(&l);
	(void)copy_field(nw->instance, sizeof(nw->instance), l.instance);
	return (0);
}

/* GET /networks: *out allocated. */
int
dparse_networks(const char *buf, size_t len, struct drv_network **out,
    size_t *n, char *err, size_t errlen)
{
	*out = read_list(buf, len, NULL, sizeof(**out), read_network, n,
	    err, errlen);
	return (*out == NULL ? -1 : 0);
}

static int
read_volume(yajl_val item, void *slot)
{
	struct drv_volume	*vol = slot;
	struct labels		 l;

	if (copy_field(vol->name, sizeof(vol->name),
	    obj_str(item, "Name", NULL)) == -1 || vol->name[0] == '\0')
		return (-1);
	read_labels(obj_get(item, "Labels", yajl_t_object), &l);
	vol->managed = is_managed(&l);
	(void)copy_field(vol->instance, sizeof(vol->instance), l.instance);
	(void)copy_field(vol->service_id, sizeof(vol->service_id),
	    l.service);
	return (0);
}

/* GET /volumes: {"Volumes": [...], "Warnings": ...}; *out allocated. */
int
dparse_volumes(const char *buf, size_t len, struct drv_volume **out,
    size_t *n, char *err, size_t errlen)
{
	*out = read_list(buf, len, "Volumes", sizeof(**out), read_volume, n,
	    err, errlen);
	return (*out == NULL ? -1 : 0);
}

/*
 * One line of GET /events: 0 and ev filled for a container event, 1
 * for a line to skip (another type, no id), -1 if it is not JSON.
 */
int
dparse_event(const char *line, size_t len, struct drv_event *ev)
{
	struct labels	 l;
	yajl_val	 v;
	const char	*type, *action;
	char		 err[64];
	int		 rv = 1;

	memset(ev, 0, sizeof(*ev));
	if ((v = json_parse(line, len, err, sizeof(err))) == NULL)
		return (-1);
	type = obj_str(v, "Type", NULL);
	action = obj_str(v, "Action", NULL);
	if (type != NULL && strcmp(type, "container") == 0 &&
	    action != NULL &&
	    copy_field(ev->id, sizeof(ev->id), obj_str(v, "Actor", "ID")) ==
	    0 && is_hex_id(ev->id)) {
		dparse_sanitize(ev->action, sizeof(ev->action), action,
		    strlen(action));
		read_labels(obj_get(obj_get(v, "Actor", yajl_t_object),
		    "Attributes", yajl_t_object), &l);
		(void)copy_field(ev->service_id, sizeof(ev->service_id),
		    l.service);
		(void)copy_field(ev->instance, sizeof(ev->instance),
		    l.instance);
		ev->time_nano = obj_int(v, "timeNano", NULL, 0);
		rv = 0;
	}
	yajl_tree_free(v);
	return (rv);
}

/*
 * One line of POST /images/create's progress stream: 1 and the message
 * in err for an error line, 0 for progress, -1 if it is not JSON.
 */
int
dparse_pull_line(const char *line, size_t len, char *err, size_t errlen)
{
	yajl_val	 v;
	const char	*m;
	char		 perr[64];
	int		 rv = 0;

	if ((v = json_parse(line, len, perr, sizeof(perr))) == NULL)
		return (-1);
	if ((m = obj_str(v, "error", NULL)) != NULL ||
	    (m = obj_str(v, "errorDetail", "message")) != NULL) {
		dparse_sanitize(err, errlen, m, strlen(m));
		rv = 1;
	}
	yajl_tree_free(v);
	return (rv);
}

/* GET /version: the engine's version and its newest API version. */
int
dparse_version(const char *buf, size_t len, char *server, size_t slen,
    char *api, size_t alen)
{
	yajl_val	 v;
	char		 err[64];
	int		 rv = -1;

	if ((v = json_parse(buf, len, err, sizeof(err))) == NULL)
		return (-1);
	if (copy_field(server, slen, obj_str(v, "Version", NULL)) == 0 &&
	    copy_field(api, alen, obj_str(v, "ApiVersion", NULL)) == 0)
		rv = 0;
	yajl_tree_free(v);
	return (rv);
}

static void
copy_str(yajl_val v, const char *key, char *dst, size_t len)
{
	const char	*s;

	if ((s = obj_str(v, key, NULL)) != NULL)
		dparse_sanitize(dst, len, s, strlen(s));
}

/* GET /info, into what /api/system/about and /status show. */
int
dparse_info(const char *buf, size_t len, struct docker_info *di, char *err,
    size_t errlen)
{
	yajl_val	 v, warnings, w;
	const char	*ws;
	size_t		 i;

	if ((v = reply_parse(buf, len, yajl_t_object, err, errlen)) == NULL)
		return (-1);
	copy_str(v, "ServerVersion", di->server_version,
	    sizeof(di->server_version));
	copy_str(v, "OperatingSystem", di->os, sizeof(di->os));
	copy_str(v, "KernelVersion", di->kernel_version,
	    sizeof(di->kernel_version));
	copy_str(v, "Architecture", di->architecture,
	    sizeof(di->architecture));
	copy_str(v, "Driver", di->storage_driver, sizeof(di->storage_driver));
	copy_str(v, "LoggingDriver", di->logging_driver,
	    sizeof(di->logging_driver));
	copy_str(v, "CgroupDriver", di->cgroup_driver,
	    sizeof(di->cgroup_driver));
	copy_str(v, "DockerRootDir", di->root_dir, sizeof(di->root_dir));
	di->nwarnings = 0;
	if ((warnings = obj_get(v, "Warnings", yajl_t_array)) != NULL)
		for (i = 0; i < YAJL_GET_ARRAY(warnings)->len &&
		    di->nwarnings < DINFO_WARNINGS; i++) {
			w = YAJL_GET_ARRAY(warnings)->values[i];
			if ((ws = YAJL_GET_STRING(w)) != NULL)
				dparse_sanitize(di->warnings[di->nwarnings++],
				    sizeof(di->warnings[0]), ws, strlen(ws));
		}
	di->containers = obj_int(v, "Containers", NULL, 0);
	di->running = obj_int(v, "ContainersRunning", NULL, 0);
	di->stopped = obj_int(v, "ContainersStopped", NULL, 0);
	di->images = obj_int(v, "Images", NULL, 0);
	yajl_tree_free(v);
	return (0);
}

/* Sum a size field over an array of objects (obj.key, or key). */
static int64_t
sum_sizes(yajl_val arr, const char *obj, const char *key, int64_t *count)
{
	yajl_val	 item;
	int64_t		 total = 0, n;
	size_t		 i;

	*count = 0;
	if (arr == NULL)
		return (0);
	for (i = 0; i < YAJL_GET_ARRAY(arr)->len; i++) {
		item = YAJL_GET_ARRAY(arr)->values[i];
		(*count)++;
		n = obj != NULL ? obj_int(item, obj, key, 0) :
		    obj_int(item, key, NULL, 0);
		if (n > 0 && total <= INT64_MAX - n)
			total += n;
	}
	return (total);
}

/* GET /system/df: sizes for /api/system/status. */
int
dparse_df(const char *buf, size_t len, struct docker_info *di, char *err,
    size_t errlen)
{
	yajl_val	 v;
	int64_t		 n;

	if ((v = reply_parse(buf, len, yajl_t_object, err, errlen)) == NULL)
		return (-1);
	di->images_size = obj_int(v, "LayersSize", NULL, 0);
	di->volumes_size = sum_sizes(obj_get(v, "Volumes", yajl_t_array),
	    "UsageData", "Size", &di->volumes);
	di->build_cache = sum_sizes(obj_get(v, "BuildCache", yajl_t_array),
	    NULL, "Size", &n);
	yajl_tree_free(v);
	return (0);
}

/*
 * Split a byte stream into lines for a callback: for the events and
 * pull streams (newline-delimited JSON).  A line longer than the
 * buffer is dropped whole.  The callback returns -1 to stop; the line
 * it gets is valid only during the call.
 */
int
lines_feed(struct lines *lb, const char *data, size_t len,
    int (*fn)(const char *, size_t, void *), void *arg)
{
	const char	*nl;
	size_t		 n, l;

	while (len > 0) {
		nl = memchr(data, '\n', len);
		n = nl != NULL ? (size_t)(nl - data) : len;
		if (!lb->skipping) {
			if (lb->len + n > sizeof(lb->buf)) {
				lb->skipping = 1;
				lb->len = 0;
			} else {
				memcpy(lb->buf + lb->len, data, n);
				lb->len += n;
			}
		}
		if (nl == NULL)
			break;
		if (!lb->skipping) {
			l = lb->len;
			while (l > 0 && lb->buf[l - 1] == '\r')
				l--;
			lb->len = 0;
			if (l > 0 && fn(lb->buf, l, arg) == -1)
				return (-1);
		}
		lb->skipping = 0;
		lb->len = 0;
		len -= n + 1;
		data = nl + 1;
	}
	return (0);
}

/* Length of the valid UTF-8 sequence at s (at most len bytes), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	uint32_t	 cp;
	size_t		 n, i;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return (0);
	if (len < n)
		return (0);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return (0);
	return (n);
}

/*
 * Append len bytes to out as text that any JSON encoder takes: valid
 * UTF-8, no control characters but newline and tab.
 */
static void
text_append(struct textbuf *out, const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n;

	while (i < len) {
		n = utf8_seq(p + i, len - i);
		if (n == 0 || (n == 1 && p[i] < 0x20 && p[i] != '\n' &&
		    p[i] != '\t') || (n == 1 && p[i] == 0x7f)) {
			if (p[i] != '\r')
				textbuf_add(out, "?", 1);
			i++;
			continue;
		}
		textbuf_add(out, s + i, n);
		i += n;
	}
}

void
textbuf_add(struct textbuf *t, const char *s, size_t len)
{
	char	*p;
	size_t	 cap;

	if (t->error || len == 0)
		return;
	if (t->len + len + 1 > t->cap) {
		cap = MAXIMUM(t->cap * 2, t->len + len + 1);
		if (cap > DOCKER_MAX_REPLY + 1 ||
		    (p = realloc(t->buf, cap)) == NULL) {
			t->error = 1;
			return;
		}
		t->buf = p;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, len);
	t->len += len;
	t->buf[t->len] = '\0';
}

void
textbuf_free(struct textbuf *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

/*
 * The reply of GET /containers/{id}/logs without follow: multiplexed
 * frames (8-byte header: stream, 3 zero bytes, big-endian length) when
 * the container has no TTY, raw bytes when it has.  out gets the text
 * of the last maxlines lines, at most maxbytes bytes of it keeping the
 * end, as clean UTF-8 without trailing newlines.  -1 for framing that
 * does not parse (what came before it is kept).
 */
int
dparse_log_tail(const char *buf, size_t len, int tty, int maxlines,
    size_t maxbytes, struct textbuf *out)
{
	struct textbuf	 all;
	const unsigned char *h;
	size_t		 off = 0, flen, start;
	int		 rv = 0, lines;

	memset(out, 0, sizeof(*out));
	memset(&all, 0, sizeof(all));
	if (tty)
		text_append(&all, buf, len);
	else {
		while (off < len) {
			h = (const unsigned char *)buf + off;
			if (len - off < 8 || h[0] > 2 || h[1] != 0 ||
			    h[2] != 0 || h[3] != 0) {
				rv = -1;
				break;
			}
			flen = ((size_t)h[4] << 24) | ((size_t)h[5] << 16) |
			    ((size_t)h[6] << 8) | (size_t)h[7];
			if (flen > len - off - 8) {
				rv = -1;
				break;
			}
			text_append(&all, buf + off + 8, flen);
			off += 8 + flen;
		}
	}
	if (all.error) {
		textbuf_free(&all);
		return (-1);
	}
	while (all.len > 0 && all.buf[all.len - 1] == '\n')
		all.len--;
	/* The last maxlines lines, then the last maxbytes of those. */
	start = all.len;
	for (lines = 0; start > 0; start--)
		if (all.buf[start - 1] == '\n' && ++lines == maxlines)
			break;
	if (all.len - start > maxbytes) {
		start = all.len - maxbytes;
		/* Not in the middle of a UTF-8 sequence. */
		while (start < all.len &&
		    ((unsigned char)all.buf[start] & 0xc0) == 0x80)
			start++;
	}
	if (all.buf != NULL)
		textbuf_add(out, all.buf + start, all.len - start);
	textbuf_free(&all);
	return (out->error ? -1 : rv);
}
