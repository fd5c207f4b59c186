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

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "api.h"
#include "tree.h"
#include "util.h"

/*
 * Request bodies: one JSON object whose known keys become the op's
 * fields.  The callback parser sees every string with its length, so an
 * embedded NUL is caught; nesting is bounded; strings must be strict
 * UTF-8 (yajl lets UTF-8 encoded surrogates through) and hold no escaped
 * lone UTF-16 surrogate (which yajl would turn into "?").  Unknown keys
 * are ignored, null means absent, a repeated key keeps its last value.
 * The value of an FT_JSON field, whatever its shape, is re-encoded as a
 * value tree (tree.h) on the fly, bounded by the field's size.
 */

struct body_ctx {
	const struct op_spec	*spec;
	struct op_args		*args;
	struct body_error	*err;
	int			 depth;
	int			 field;	/* index of the current key, or -1 */
	int			 tfield; /* FT_JSON field being read, or -1 */
	int			 tdepth; /* depth at which it started */
	struct wbuf		 tree;
};

/* Stop the parse with this error; returns 0 for yajl to cancel. */
static int
body_fail(struct body_ctx *c, int status, const char *field,
    const char *msg)
{
	c->err->status = status;
	strlcpy(c->err->field, field != NULL ? field : "",
	    sizeof(c->err->field));
	strlcpy(c->err->message, msg, sizeof(c->err->message));
	return (0);
}

/* A scalar at depth 1 is a value for the current key. */
static const struct op_field *
body_target(struct body_ctx *c)
{
	if (c->depth != 1 || c->field < 0)
		return (NULL);
	return (&c->spec->fields[c->field]);
}

/* Inside the value of an FT_JSON field: items go to its tree. */
static int
in_tree(struct body_ctx *c)
{
	return (c->tfield != -1);
}

/* A scalar or an opening bracket of an FT_JSON field starts its tree. */
static int
tree_start(struct body_ctx *c)
{
	const struct op_field	*f;

	if ((f = body_target(c)) == NULL || f->type != FT_JSON)
		return (0);
	c->tfield = c->field;
	c->tdepth = c->depth;
	wbuf_init(&c->tree, f->max);
	return (1);
}

/* After an item of the tree: is the value complete? */
static int
tree_item_done(struct body_ctx *c)
{
	const struct op_field	*f = &c->spec->fields[c->tfield];
	char			 msg[128];

	if (c->tree.error) {
		(void)snprintf(msg, sizeof(msg), "Must be at most %zu bytes "
		    "long.", f->max);
		c->err->status = 422;
		strlcpy(c->err->field, f->name, sizeof(c->err->field));
		strlcpy(c->err->message, msg, sizeof(c->err->message));
		return (0);
	}
	if (c->depth != c->tdepth)
		return (1);
	if (op_args_set_tree(c->args, c->tfield, &c->tree) == -1)
		return (body_fail(c, 500, NULL, "Out of memory."));
	c->tfield = -1;
	return (1);
}

static int
type_error(struct body_ctx *c, const struct op_field *f)
{
	char	 msg[128];

	(void)snprintf(msg, sizeof(msg), "Field \"%s\" must be %s.", f->name,
	    f->type == FT_INT ? "an integer" : f->type == FT_BOOL ?
	    "true or false" : "a string");
	return (body_fail(c, 400, f->name, msg));
}

/* Keys and values alike: no NUL, strict UTF-8. */
static int
text_ok(struct body_ctx *c, const unsigned char *s, size_t len)
{
	if (memchr(s, '\0', len) != NULL)
		return (body_fail(c, 400, NULL, "Invalid JSON body: a string "
		    "contains a NUL character."));
	if (!utf8_valid((const char *)s, len))
		return (body_fail(c, 400, NULL, "Invalid JSON body: a string "
		    "is not valid UTF-8."));
	return (1);
}

/* The body is one object: a scalar on its own is not one. */
static int
top_scalar(struct body_ctx *c)
{
	if (c->depth > 0)
		return (1);
	return (body_fail(c, 400, NULL, "Invalid JSON body: expected an "
	    "object."));
}

static int
cb_null(void *ctx)
{
	struct body_ctx		*c = ctx;
	const struct op_field	*f;

	if (!top_scalar(c))
		return (0);
	/* At the top of an FT_JSON field too, null means absent. */
	if (in_tree(c)) {
		tree_null(&c->tree);
		return (tree_item_done(c));
	}
	if ((f = body_target(c)) != NULL) {
		free(c->args->str[c->field]);
		c->args->str[c->field] = NULL;
		c->args->len[c->field] = 0;
		c->args->present[c->field] = 0;
	}
	return (1);
}

static int
cb_boolean(void *ctx, int v)
{
	struct body_ctx		*c = ctx;
	const struct op_field	*f;

	if (!top_scalar(c))
		return (0);
	if (in_tree(c) || tree_start(c)) {
		tree_bool(&c->tree, v);
		return (tree_item_done(c));
	}
	if ((f = body_target(c)) == NULL)
		return (1);
	if (f->type != FT_BOOL)
		return (type_error(c, f));
	c->args->num[c->field] = v ? 1 : 0;
	c->args->present[c->field] = 1;
	return (1);
}

/* An integer if it has no fraction or exponent and fits, else a double. */
static int
tree_number(struct body_ctx *c, const char *s, size_t len)
{
	char		 buf[64], *end;
	long long	 v;
	double		 d;

	if (len >= sizeof(buf))
		return (body_fail(c, 400, NULL, "Invalid JSON body: a number "
		    "is too long."));
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	if (strcspn(buf, ".eE") == len) {
		v = strtoll(buf, &end, 10);
		if (*end == '\0' && errno == 0) {
			tree_int(&c->tree, v);
			return (tree_item_done(c));
		}
	}
	errno = 0;
	d = strtod(buf, &end);
	if (*end != '\0' || errno != 0 || !isfinite(d))
		return (body_fail(c, 400, NULL, "Invalid JSON body: a number "
		    "is out of range."));
	tree_double(&c->tree, d);
	return (tree_item_done(c));
}

static int
cb_number(void *ctx, const char *s, size_t len)
{
	struct body_ctx		*c = ctx;
	const struct op_field	*f;
	char			 buf[32], *end;
	long long		 v;

	if (!top_scalar(c))
		return (0);
	if (in_tree(c) || tree_start(c))
		return (tree_number(c, s, len));
	if ((f = body_target(c)) == NULL)
		return (1);
	if (f->type != FT_INT || len >= sizeof(buf))
		return (type_error(c, f));
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (*end != '\0' || errno != 0)
		return (type_error(c, f));
	c->args->num[c->field] = v;
	c->args->present[c->field] = 1;
	return (1);
}

static int
cb_string(void *ctx, const unsigned char *s, size_t len)
{
	struct body_ctx		*c = ctx;
	const struct op_field	*f;
	char			*p;

	if (!text_ok(c, s, len) || !top_scalar(c))
		return (0);
	if (in_tree(c) || tree_start(c)) {
		tree_strn(&c->tree, s, len);
		return (tree_item_done(c));
	}
	if ((f = body_target(c)) == NULL)
		return (1);
	if (f->type != FT_STR && f->type != FT_TOKEN)
		return (type_error(c, f));
	if (len > f->max) {
		c->err->status = 422;
		strlcpy(c->err->field, f->name, sizeof(c->err->field));
		(void)snprintf(c->err->message, sizeof(c->err->message),
		    "Must be at most %zu bytes long.", f->max);
		return (0);
	}
	if ((p = malloc(len + 1)) == NULL)
		return (body_fail(c, 500, NULL, "Out of memory."));
	memcpy(p, s, len);
	p[len] = '\0';
	if (c->args->str[c->field] != NULL) {
		explicit_bzero(c->args->str[c->field],
		    strlen(c->args->str[c->field]));
		free(c->args->str[c->field]);
	}
	c->args->str[c->field] = p;
	c->args->present[c->field] = 1;
	return (1);
}

static int
cb_map_key(void *ctx, const unsigned char *k, size_t len)
{
	struct body_ctx	*c = ctx;
	int		 i;

	if (!text_ok(c, k, len))
		return (0);
	if (in_tree(c)) {
		tree_strn(&c->tree, k, len);
		return (tree_item_done(c));
	}
	if (c->depth != 1)
		return (1);
	c->field = -1;
	for (i = 0; i < c->spec->nfields; i++)
		if (c->spec->fields[i].src == FS_BODY &&
		    strlen(c->spec->fields[i].name) == len &&
		    memcmp(c->spec->fields[i].name, k, len) == 0)
			c->field = i;
	return (1);
}

static int
cb_open(struct body_ctx *c, int map)
{
	const struct op_field	*f;

	if (c->depth == 0 && !map)
		return (body_fail(c, 400, NULL, "Invalid JSON body: expected "
		    "an object."));
	if (!in_tree(c) && !tree_start(c) && (f = body_target(c)) != NULL)
		return (type_error(c, f));
	if (++c->depth > API_JSON_MAX_DEPTH)
		return (body_fail(c, 400, NULL, "Invalid JSON body: nested "
		    "too deeply."));
	if (in_tree(c)) {
		if (map)
			tree_map(&c->tree);
		else
			tree_array(&c->tree);
		return (tree_item_done(c));
	}
	return (1);
}

static int
cb_start_map(void *ctx)
{
	return (cb_open(ctx, 1));
}

static int
cb_start_array(void *ctx)
{
	return (cb_open(ctx, 0));
}

static int
cb_close(void *ctx)
{
	struct body_ctx	*c = ctx;

	c->depth--;
	if (in_tree(c)) {
		tree_end(&c->tree);
		if (!tree_item_done(c))
			return (0);
	}
	if (c->depth == 1)
		c->field = -1;
	return (1);
}

static int
hex4(const unsigned char *p, size_t len, unsigned int *u)
{
	int	 i, c;

	if (len < 4)
		return (-1);
	*u = 0;
	for (i = 0; i < 4; i++) {
		c = p[i] | 0x20;
		if (p[i] >= '0' && p[i] <= '9')
			*u = *u << 4 | (p[i] - '0');
		else if (c >= 'a' && c <= 'f')
			*u = *u << 4 | (c - 'a' + 10);
		else
			return (-1);
	}
	return (0);
}

/*
 * Whether a string in the raw body escapes a UTF-16 surrogate that is
 * not part of a pair: a high one (\ud800-\udbff) not followed at once by
 * a low one (\udc00-\udfff), or a low one on its own.  yajl decodes
 * those to "?", so only the raw bytes can tell.  In valid JSON only
 * strings hold quotes and backslashes; text that is not valid JSON may
 * be judged either way, as yajl refuses it anyway.
 */
static int
lone_surrogate(const unsigned char *p, size_t len)
{
	size_t		 i = 0;
	unsigned int	 u;
	int		 in_string = 0, want_low = 0;

	while (i < len) {
		if (!in_string) {
			if (p[i++] == '"')
				in_string = 1;
			continue;
		}
		u = 0;		/* anything but an escaped surrogate */
		if (p[i] == '\\' && i + 1 < len && p[i + 1] == 'u') {
			if (hex4(p + i + 2, len - i - 2, &u) == -1)
				return (0);
			i += 6;
		} else if (p[i] == '\\')
			i += 2;
		else if (p[i++] == '"')
			in_string = 0;
		if (want_low) {
			if (u < 0xdc00 || u > 0xdfff)
				return (1);
			want_low = 0;
		} else if (u >= 0xdc00 && u <= 0xdfff)
			return (1);
		else if (u >= 0xd800 && u <= 0xdbff)
			want_low = 1;
	}
	return (want_low);
}

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_boolean,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_map_key,
	.yajl_end_map = cb_close,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_close,
};

/*
 * Fill args from a JSON body for spec.  0 on success; -1 with err set:
 * status 400 for a body that is not what was asked, 422 for one field.
 */
int
body_decode(const unsigned char *buf, size_t len, const struct op_spec *spec,
    struct op_args *args, struct body_error *err)
{
	struct body_ctx	 c;
	yajl_handle	 h;
	yajl_status	 st;

	memset(&c, 0, sizeof(c));
	memset(err, 0, sizeof(*err));
	c.spec = spec;
	c.args = args;
	c.err = err;
	c.field = -1;
	c.tfield = -1;
	if (lone_surrogate(buf, len)) {
		body_fail(&c, 400, NULL, "Invalid JSON body: a string holds a "
		    "lone UTF-16 surrogate escape.");
		return (-1);
	}
	if ((h = yajl_alloc(&callbacks, NULL, &c)) == NULL) {
		err->status = 500;
		strlcpy(err->message, "Out of memory.", sizeof(err->message));
		return (-1);
	}
	st = yajl_parse(h, buf, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	yajl_free(h);
	wbuf_free(&c.tree);
	if (st == yajl_status_ok && len > 0)
		return (0);
	if (err->status == 0) {
		err->status = 400;
		strlcpy(err->message, "Invalid JSON body.",
		    sizeof(err->message));
	}
	op_args_clear(args);
	return (-1);
}
