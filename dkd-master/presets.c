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
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dkd.h"
#include "log.h"
#include "presets.h"

/*
 * The database presets of the "Add Database" dialog, read once at start
 * from the catalog installed with dkd.  Listing shows the generators;
 * fetching one fills every generated value with a fresh secret.
 */

static struct preset_catalog	*catalog;

int
presets_load(const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	int		 fd, rv;

	if ((catalog = calloc(1, sizeof(*catalog))) == NULL ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1 || st.st_size > PRESETS_FILE_MAX) {
		(void)snprintf(err, errlen, "%s: unreadable or too large",
		    path);
		close(fd);
		return (-1);
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		(void)snprintf(err, errlen, "%s: short read", path);
		return (-1);
	}
	rv = presets_parse(buf, (size_t)n, path, catalog, err, errlen);
	free(buf);
	if (rv == 0)
		log_debug("loaded %d presets from %s", catalog->n, path);
	return (rv);
}

static void
tree_preset(struct wbuf *w, const struct preset *p, int materialise)
{
	const struct preset_env	*e;
	char			 secret[64];
	int			 i;

	tree_map(w);
	tree_kv_str(w, "id", p->id);
	tree_kv_str(w, "name", p->name);
	tree_kv_str(w, "image", p->image);
	tree_kv_str(w, "icon_url", p->icon);
	tree_key(w, "ports");
	tree_array(w);
	for (i = 0; i < p->nports; i++) {
		tree_map(w);
		tree_kv_int(w, "container_port", p->ports[i]);
		tree_kv_str(w, "protocol", p->protos[i]);
		tree_end(w);
	}
	tree_end(w);
	tree_key(w, "volumes");
	tree_array(w);
	for (i = 0; i < p->nvolumes; i++) {
		tree_map(w);
		tree_kv_str(w, "mount_path", p->volumes[i]);
		tree_end(w);
	}
	tree_end(w);
	tree_key(w, "env_vars");
	tree_array(w);
	for (i = 0; i < p->nenv; i++) {
		e = &p->env[i];
		tree_map(w);
		tree_kv_str(w, "key", e->key);
		if (e->gen == GEN_NONE)
			tree_kv_str(w, "value", e->value);
		else if (materialise) {
			preset_generate(e->gen, secret, sizeof(secret));
			tree_kv_str(w, "value", secret);
			explicit_bzero(secret, sizeof(secret));
		} else
			tree_kv_str(w, "generate", preset_gen_name(e->gen));
		tree_end(w);
	}
	tree_end(w);
	tree_end(w);
}

/* GET /api/presets/databases: a bare array, by name. */
void
op_preset_list(struct request *req)
{
	const struct preset	*order[PRESETS_MAX], *t;
	struct wbuf		 w;
	int			 i, j;

	for (i = 0; i < catalog->n; i++) {
		order[i] = &catalog->p[i];
		for (j = i; j > 0 && strcmp(order[j - 1]->name,
		    order[j]->name) > 0; j--) {
			t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	}
	tree_new(&w);
	tree_array(&w);
	for (i = 0; i < catalog->n; i++)
		tree_preset(&w, order[i], 0);
	tree_end(&w);
	reply_tree(req, 200, &w);
}

void
op_preset_get(struct request *req)
{
	struct wbuf	 w;
	int		 i;

	for (i = 0; i < catalog->n; i++)
		if (strcmp(catalog->p[i].id, req->args.str[PRESET_ID]) == 0)
			break;
	if (i == catalog->n) {
		reply_error(req, 404, "Preset \"%s\" not found.",
		    req->args.str[PRESET_ID]);
		return;
	}
	tree_new(&w);
	tree_preset(&w, &catalog->p[i], 1);
	reply_tree(req, 200, &w);
}

/*
 * image's repository, without tag, digest and Docker Hub's implied
 * prefixes: "docker.io/library/postgres:16" is "postgres".
 */
static void
image_repository(const char *image, char *buf, size_t len)
{
	char	*p, *slash;

	strlcpy(buf, image, len);
	if ((p = strchr(buf, '@')) != NULL)
		*p = '\0';
	slash = strrchr(buf, '/');
	if ((p = strrchr(buf, ':')) != NULL && (slash == NULL || p > slash))
		*p = '\0';
	if (strncmp(buf, "docker.io/", 10) == 0)
		memmove(buf, buf + 10, strlen(buf + 10) + 1);
	else if (strncmp(buf, "index.docker.io/", 16) == 0)
		memmove(buf, buf + 16, strlen(buf + 16) + 1);
	if (strncmp(buf, "library/", 8) == 0)
		memmove(buf, buf + 8, strlen(buf + 8) + 1);
}

/*
 * Decision 8: a service that runs a database preset's image (any tag)
 * keeps that preset's data directories on named volumes.  Their paths
 * go to paths; how many there are.
 */
int
presets_image_volumes(const char *image, const char **paths, int max)
{
	const struct preset	*p;
	char			 want[PRESET_STR_MAX], have[PRESET_STR_MAX];
	int			 i, j, n = 0;

	if (catalog == NULL)
		return (0);
	image_repository(image, want, sizeof(want));
	for (i = 0; i < catalog->n; i++) {
		p = &catalog->p[i];
		image_repository(p->image, have, sizeof(have));
		if (strcmp(want, have) != 0)
			continue;
		for (j = 0; j < p->nvolumes && n < max; j++)
			paths[n++] = p->volumes[j];
		break;
	}
	return (n);
}
