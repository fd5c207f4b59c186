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

#include <event2/buffer.h>
#include <event2/http.h>

#include "api.h"
#include "log.h"

/*
 * The web UI, from the www directory we are chrooted into (and in which
 * we run: paths are opened relative to it, which also holds in builds
 * without the sandbox).  A path that names no file and has no extension
 * is a client-side route: it gets index.html.  Missing assets stay 404
 * so a broken build shows as one.  Dotfiles (.env, .git/, .htpasswd)
 * are never served: they are not part of a UI build, so one found in
 * www was left there by mistake.
 */

struct mime {
	const char	*ext;
	const char	*type;
};

static const struct mime mimes[] = {
	{ "css",	"text/css; charset=utf-8" },
	{ "gif",	"image/gif" },
	{ "html",	"text/html; charset=utf-8" },
	{ "ico",	"image/x-icon" },
	{ "jpeg",	"image/jpeg" },
	{ "jpg",	"image/jpeg" },
	{ "js",		"text/javascript; charset=utf-8" },
	{ "json",	"application/json" },
	{ "map",	"application/json" },
	{ "mjs",	"text/javascript; charset=utf-8" },
	{ "png",	"image/png" },
	{ "svg",	"image/svg+xml" },
	{ "txt",	"text/plain; charset=utf-8" },
	{ "wasm",	"application/wasm" },
	{ "webmanifest", "application/manifest+json" },
	{ "webp",	"image/webp" },
	{ "woff",	"font/woff" },
	{ "woff2",	"font/woff2" },
};

static const char	*static_mime(const char *);
static int		 static_clean_path(const char *, char *, size_t);
static int		 static_open(const char *, struct stat *);

static const char *
static_mime(const char *path)
{
	const char	*slash, *dot;
	size_t		 i;

	slash = strrchr(path, '/');
	if ((dot = strrchr(path, '.')) == NULL || (slash && dot < slash))
		return ("application/octet-stream");
	for (i = 0; i < nitems(mimes); i++)
		if (strcasecmp(mimes[i].ext, dot + 1) == 0)
			return (mimes[i].type);
	return ("application/octet-stream");
}

/*
 * Decode the URL path and refuse anything odd: NUL bytes, backslashes,
 * "." or ".." segments.  The chroot is the real wall; this keeps errors
 * honest and logs clean.
 */
static int
static_clean_path(const char *raw, char *out, size_t outlen)
{
	char	*dec, *seg, *p;
	size_t	 len;

	if ((dec = evhttp_uridecode(raw, 0, &len)) == NULL)
		return (-1);
	if (strlen(dec) != len || strchr(dec, '\\') != NULL ||
	    len >= outlen || dec[0] != '/') {
		free(dec);
		return (-1);
	}
	out[0] = '\0';
	for (p = dec; (seg = strsep(&p, "/")) != NULL;) {
		if (*seg == '\0')
			continue;
		if (strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0) {
			free(dec);
			return (-1);
		}
		strlcat(out, "/", outlen);
		strlcat(out, seg, outlen);
	}
	free(dec);
	if (out[0] == '\0')
		strlcpy(out, "/", outlen);
	return (0);
}

static int
static_open(const char *path, struct stat *st)
{
	int	 fd;

	/* Relative to the current directory, www. */
	if ((fd = open(path + 1, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return (-1);
	if (fstat(fd, st) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

void
static_serve(struct evhttp_request *req, const char *rawpath)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf;
	struct stat		 st;
	const char		*inm, *last;
	char			 path[1024], etag[64];
	int			 fd, method;

	method = evhttp_request_get_command(req);
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		evhttp_add_header(out, "Allow", "GET, HEAD");
		evhttp_send_error(req, 405, NULL);
		return;
	}
	if (static_clean_path(rawpath, path, sizeof(path)) == -1) {
		evhttp_send_error(req, 400, NULL);
		return;
	}
	/* A segment that starts with a dot, and no SPA fallback for it. */
	if (strstr(path, "/.") != NULL) {
		evhttp_send_error(req, 404, NULL);
		return;
	}
	if (strcmp(path, "/") == 0)
		strlcpy(path, "/index.html", sizeof(path));

	fd = static_open(path, &st);
	if (fd != -1 && S_ISDIR(st.st_mode)) {
		close(fd);
		if (strlcat(path, "/index.html", sizeof(path)) >= sizeof(path))
			fd = -1;
		else
			fd = static_open(path, &st);
	}
	if (fd == -1) {
		last = strrchr(path, '/');
		if (errno != ENOENT && errno != ENOTDIR) {
			log_warn("%s", path);
			evhttp_send_error(req, 500, NULL);
			return;
		}
		if (strchr(last, '.') != NULL) {
			evhttp_send_error(req, 404, NULL);
			return;
		}
		strlcpy(path, "/index.html", sizeof(path));
		if ((fd = static_open(path, &st)) == -1) {
			evhttp_send_error(req, 404, NULL);
			return;
		}
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		evhttp_send_error(req, 404, NULL);
		return;
	}

	(void)snprintf(etag, sizeof(etag), "\"%llx-%llx\"",
	    (unsigned long long)st.st_size,
	    (unsigned long long)st.st_mtime);
	evhttp_add_header(out, "ETag", etag);
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Referrer-Policy", "same-origin");
	evhttp_add_header(out, "X-Frame-Options", "DENY");
	/* Built assets carry a content hash in their name. */
	if (strncmp(path, "/assets/", 8) == 0)
		evhttp_add_header(out, "Cache-Control",
		    "public, max-age=31536000, immutable");
	else
		evhttp_add_header(out, "Cache-Control", "no-cache");
	inm = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "If-None-Match");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		close(fd);
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return;
	}
	evhttp_add_header(out, "Content-Type", static_mime(path));
	if ((buf = evbuffer_new()) == NULL) {
		close(fd);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	if (st.st_size > 0) {
		/* evbuffer_add_file owns fd from here, success or not. */
		if (evbuffer_add_file(buf, fd, 0, st.st_size) == -1) {
			evbuffer_free(buf);
			evhttp_send_error(req, 500, NULL);
			return;
		}
	} else
		close(fd);
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}
