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

#include "compat.h"
#include "log.h"
#include "reconciler.h"
#include "tval.h"

/*
 * IMSG_REC_DESIRED (contract): one service's desired state, read from
 * its value tree and checked field by field.  Names and ids end up in
 * Docker names, labels and filters, so they are held to a small
 * alphabet here; a tree that does not fit is refused whole.
 */

#define DEPS_MAX	32
#define ENV_MAX		10000
#define PORTS_MAX	100
#define VOLUMES_MAX	16
#define REPLICAS_MAX	1024
#define IMAGE_MAX	1024
#define ENV_KEY_MAX	256
#define ENV_VALUE_MAX	(64 * 1024)
#define MOUNT_PATH_MAX	1024

/* Letters, digits and "-_."; not empty, not starting with "-" or ".". */
static int
safe_name(const char *s, size_t max)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0' || s[0] == '-' || s[0] == '.')
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max)
			return (0);
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_' || s[i] == '.'))
			return (0);
	}
	return (1);
}

static int
get_id(const struct tval *t, const char *key, char *dst, size_t len)
{
	const char	*s = tval_str(t, key);

	if (!safe_name(s, len - 1))
		return (-1);
	strlcpy(dst, s, len);
	return (0);
}

static int
get_bool(const struct tval *t, const char *key, int *out)
{
	const struct tval	*v = tval_get(t, key);

	if (v == NULL) {
		*out = 0;
		return (0);
	}
	if (!tval_is(v, TREE_TRUE))
		return (-1);
	*out = v->tag == TREE_TRUE;
	return (0);
}

/* An integer in [min, max]; absent (or null when may_null) is def. */
static int
get_int(const struct tval *t, const char *key, int64_t min, int64_t max,
    int64_t def, int64_t *out)
{
	const struct tval	*v = tval_get(t, key);

	if (v == NULL || v->tag == TREE_NULL) {
		*out = def;
		return (0);
	}
	if (v->tag != TREE_INT || v->i < min || v->i > max)
		return (-1);
	*out = v->i;
	return (0);
}

/* Printable, no spaces: what a Docker image reference can be. */
static int
safe_image(const char *s)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0' || s[0] == '-')
		return (0);
	for (i = 0; s[i] != '\0'; i++)
		if (i >= IMAGE_MAX || s[i] <= ' ' || s[i] >= 0x7f)
			return (0);
	return (1);
}

static int
parse_env(const struct tval *arr, struct dep *d)
{
	const struct tval	*pair;
	const char		*k, *v;
	size_t			 i;

	if (arr == NULL || arr->tag == TREE_NULL)
		return (0);
	if (arr->tag != TREE_ARRAY || arr->n > ENV_MAX)
		return (-1);
	if ((d->env = calloc(arr->n + 1, sizeof(*d->env))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < arr->n; i++) {
		pair = &arr->items[i];
		if (pair->tag != TREE_ARRAY || pair->n != 2 ||
		    pair->items[0].tag != TREE_STR ||
		    pair->items[1].tag != TREE_STR)
			return (-1);
		k = pair->items[0].s;
		v = pair->items[1].s;
		if (k[0] == '\0' || strchr(k, '=') != NULL ||
		    strlen(k) > ENV_KEY_MAX || strlen(v) > ENV_VALUE_MAX)
			return (-1);
		if ((d->env[i].key = strdup(k)) == NULL ||
		    (d->env[i].value = strdup(v)) == NULL)
			fatal("%s", __func__);
		d->nenv++;
	}
	return (0);
}

static int
parse_ports(const struct tval *arr, struct dep *d)
{
	const struct tval	*p;
	const char		*proto;
	int64_t			 cport, hport;
	size_t			 i;

	if (arr == NULL || arr->tag == TREE_NULL)
		return (0);
	if (arr->tag != TREE_ARRAY || arr->n > PORTS_MAX)
		return (-1);
	if ((d->ports = calloc(arr->n + 1, sizeof(*d->ports))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < arr->n; i++) {
		p = &arr->items[i];
		if (p->tag != TREE_MAP ||
		    get_int(p, "container_port", 1, 65535, -1, &cport) == -1 ||
		    cport == -1 ||
		    get_int(p, "host_port", 0, 65535, 0, &hport) == -1)
			return (-1);
		proto = tval_str(p, "protocol");
		if (tval_get(p, "protocol") != NULL &&
		    tval_get(p, "protocol")->tag != TREE_NULL &&
		    proto == NULL)
			return (-1);
		if (proto == NULL || proto[0] == '\0' ||
		    strcmp(proto, "tcp") == 0)
			d->ports[i].protocol = "tcp";
		else if (strcmp(proto, "udp") == 0)
			d->ports[i].protocol = "udp";
		else
			return (-1);
		d->ports[i].container_port = (int)cport;
		d->ports[i].host_port = (int)hport;
		d->nports++;
	}
	return (0);
}

static int
parse_dep(const struct tval *t, struct dep *d, char *err, size_t errlen)
{
	const char	*status, *image;
	int64_t		 n;

	if (t->tag != TREE_MAP || get_id(t, "id", d->id, sizeof(d->id)) ==
	    -1) {
		(void)snprintf(err, errlen, "deployment without a valid id");
		return (-1);
	}
	status = tval_str(t, "status");
	if (status == NULL || (strcmp(status, "pending") != 0 &&
	    strcmp(status, "starting") != 0 &&
	    strcmp(status, "healthy") != 0)) {
		(void)snprintf(err, errlen, "deployment %s: status not "
		    "pending, starting or healthy", d->id);
		return (-1);
	}
	strlcpy(d->status, status, sizeof(d->status));
	image = tval_str(t, "image");
	if (!safe_image(image)) {
		(void)snprintf(err, errlen, "deployment %s: bad image", d->id);
		return (-1);
	}
	if ((d->image = strdup(image)) == NULL)
		fatal("%s", __func__);
	if (parse_env(tval_get(t, "env"), d) == -1) {
		(void)snprintf(err, errlen, "deployment %s: bad env", d->id);
		return (-1);
	}
	if (parse_ports(tval_get(t, "ports"), d) == -1) {
		(void)snprintf(err, errlen, "deployment %s: bad ports", d->id);
		return (-1);
	}
	if (get_int(t, "memory_mb", 0, 1024 * 1024 * 1024, 0,
	    &d->memory_mb) == -1 ||
	    get_int(t, "cpu_shares", 0, 262144, 0, &d->cpu_shares) == -1 ||
	    get_int(t, "replicas", 0, REPLICAS_MAX, 1, &n) == -1) {
		(void)snprintf(err, errlen, "deployment %s: bad limits",
		    d->id);
		return (-1);
	}
	d->replicas = (int)MAXIMUM(n, 1);
	if (get_int(t, "attempt_count", 0, INT32_MAX, 0, &n) == -1)
		goto bad;
	d->attempt_count = (int)n;
	if (get_int(t, "baseline_restart_count", 0, INT32_MAX, 0, &n) == -1)
		goto bad;
	d->baseline = (int)n;
	if (get_bool(t, "active", &d->active) == -1)
		goto bad;
	return (0);
bad:
	(void)snprintf(err, errlen, "deployment %s: bad field", d->id);
	return (-1);
}

static int
parse_volumes(const struct tval *arr, struct desired *w)
{
	const struct tval	*v;
	const char		*name, *path;
	size_t			 i;

	if (arr == NULL || arr->tag == TREE_NULL)
		return (0);
	if (arr->tag != TREE_ARRAY || arr->n > VOLUMES_MAX)
		return (-1);
	if ((w->vols = calloc(arr->n + 1, sizeof(*w->vols))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < arr->n; i++) {
		v = &arr->items[i];
		if (v->tag != TREE_MAP)
			return (-1);
		name = tval_str(v, "name");
		path = tval_str(v, "path");
		if (!safe_name(name, SERVICE_NAME_MAX) || path == NULL ||
		    path[0] != '/' || strlen(path) > MOUNT_PATH_MAX)
			return (-1);
		if ((w->vols[i].name = strdup(name)) == NULL ||
		    (w->vols[i].path = strdup(path)) == NULL)
			fatal("%s", __func__);
		w->nvols++;
	}
	return (0);
}

/* 0 and w filled, or -1 with err (w freed). */
int
desired_parse(const struct tval *t, struct desired *w, char *err,
    size_t errlen)
{
	const struct tval	*deps;
	size_t			 i;

	memset(w, 0, sizeof(*w));
	if (t->tag != TREE_MAP ||
	    get_id(t, "service_id", w->service_id,
	    sizeof(w->service_id)) == -1 ||
	    get_id(t, "project_id", w->project_id,
	    sizeof(w->project_id)) == -1 ||
	    get_id(t, "project_slug", w->project_slug,
	    sizeof(w->project_slug)) == -1 ||
	    get_id(t, "service_name", w->service_name,
	    sizeof(w->service_name)) == -1) {
		(void)snprintf(err, errlen, "bad service ids or names");
		goto fail;
	}
	if (get_bool(t, "stopped", &w->stopped) == -1 ||
	    get_bool(t, "deleted", &w->deleted) == -1) {
		(void)snprintf(err, errlen, "bad stopped or deleted");
		goto fail;
	}
	deps = tval_get(t, "deployments");
	if (deps != NULL && deps->tag != TREE_NULL) {
		if (deps->tag != TREE_ARRAY || deps->n > DEPS_MAX) {
			(void)snprintf(err, errlen, "bad deployments");
			goto fail;
		}
		if ((w->deps = calloc(deps->n + 1, sizeof(*w->deps))) == NULL)
			fatal("%s", __func__);
		for (i = 0; i < deps->n; i++) {
			w->ndeps++;
			if (parse_dep(&deps->items[i], &w->deps[i], err,
			    errlen) == -1)
				goto fail;
		}
	}
	if (parse_volumes(tval_get(t, "volumes"), w) == -1) {
		(void)snprintf(err, errlen, "bad volumes");
		goto fail;
	}
	return (0);
fail:
	desired_free(w);
	return (-1);
}

void
desired_free(struct desired *w)
{
	size_t	 i, j;

	if (w == NULL)
		return;
	for (i = 0; i < w->ndeps; i++) {
		free(w->deps[i].image);
		for (j = 0; j < w->deps[i].nenv; j++) {
			free((char *)w->deps[i].env[j].key);
			free((char *)w->deps[i].env[j].value);
		}
		free(w->deps[i].env);
		free(w->deps[i].ports);
	}
	free(w->deps);
	for (i = 0; i < w->nvols; i++) {
		free(w->vols[i].name);
		free(w->vols[i].path);
	}
	free(w->vols);
	memset(w, 0, sizeof(*w));
}

const struct dep *
desired_dep(const struct desired *w, const char *id)
{
	size_t	 i;

	if (w == NULL)
		return (NULL);
	for (i = 0; i < w->ndeps; i++)
		if (strcmp(w->deps[i].id, id) == 0)
			return (&w->deps[i]);
	return (NULL);
}
