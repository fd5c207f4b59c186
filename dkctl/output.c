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

#include <err.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "dkctl.h"
#include "msg.h"
#include "tree_json.h"
#include "util.h"
#include "wire.h"

/* Tables for people, JSON (-j) for scripts. */

void
output_duration(char *buf, size_t len, int64_t secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		(void)snprintf(buf, len, "%" PRId64 "s", secs);
	else if (secs < 3600)
		(void)snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s",
		    secs / 60, secs % 60);
	else if (secs < 86400)
		(void)snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m",
		    secs / 3600, (secs % 3600) / 60);
	else
		(void)snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h",
		    secs / 86400, (secs % 86400) / 3600);
}

void
output_status(const struct ctl_status *st, time_t now)
{
	const struct msg_proc	*p;
	char			 pid[24], up[24], restarts[16];
	int			 i;

	printf("%-12s %8s %8s %9s  %s\n", "PROCESS", "PID", "UPTIME",
	    "RESTARTS", "STATE");
	for (i = 0; i < st->nprocs; i++) {
		p = &st->procs[i];
		if (p->pid > 0) {
			(void)snprintf(pid, sizeof(pid), "%" PRId64, p->pid);
			output_duration(up, sizeof(up), now - p->started);
		} else {
			strlcpy(pid, "-", sizeof(pid));
			strlcpy(up, "-", sizeof(up));
		}
		(void)snprintf(restarts, sizeof(restarts), "%u", p->restarts);
		printf("%-12s %8s %8s %9s  %s\n", p->name, pid, up,
		    i == 0 ? "-" : restarts, p->state);
	}
	printf("\n");
	printf("%-12s %s\n", "DATABASE", st->db.path);
	printf("%-12s %" PRId64 " bytes\n", "  size", st->db.size);
	printf("%-12s %u\n", "  schema", st->db.version);
	printf("\n");
	if (st->docker.reachable) {
		printf("%-12s %s\n", "DOCKER", "reachable");
		printf("%-12s %s\n", "  server", st->docker.server_version);
		printf("%-12s %s\n", "  API", st->docker.api_version);
	} else {
		printf("%-12s %s\n", "DOCKER", "unreachable");
		printf("%-12s %s\n", "  error", st->docker.error);
	}
}

static void
json_kv(yajl_gen g, const char *k, const char *v)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
	yajl_gen_string(g, (const unsigned char *)v, strlen(v));
}

static void
json_kn(yajl_gen g, const char *k, long long v)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
	yajl_gen_integer(g, v);
}

void
output_status_json(const struct ctl_status *st, time_t now)
{
	const struct msg_proc	*p;
	const unsigned char	*buf;
	yajl_gen		 g;
	size_t			 len;
	int			 i;

	if ((g = yajl_gen_alloc(NULL)) == NULL)
		return;
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"processes", 9);
	yajl_gen_array_open(g);
	for (i = 0; i < st->nprocs; i++) {
		p = &st->procs[i];
		yajl_gen_map_open(g);
		json_kv(g, "name", p->name);
		json_kn(g, "pid", p->pid);
		json_kn(g, "uptime_seconds", p->pid > 0 ? now - p->started : 0);
		json_kn(g, "restarts", p->restarts);
		json_kv(g, "state", p->state);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_string(g, (const unsigned char *)"database", 8);
	yajl_gen_map_open(g);
	json_kv(g, "path", st->db.path);
	json_kn(g, "size_bytes", st->db.size);
	json_kn(g, "schema_version", st->db.version);
	yajl_gen_map_close(g);
	yajl_gen_string(g, (const unsigned char *)"docker", 6);
	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"reachable", 9);
	yajl_gen_bool(g, st->docker.reachable);
	if (st->docker.reachable) {
		json_kv(g, "server_version", st->docker.server_version);
		json_kv(g, "api_version", st->docker.api_version);
	} else
		json_kv(g, "error", st->docker.error);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		fwrite(buf, 1, len, stdout);
	yajl_gen_free(g);
}

/* Display width: characters, not the bytes of their UTF-8 encoding. */
static size_t
text_width(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return (n);
}

/*
 * A cell as it may reach a terminal: names and values come from API
 * users, so C0 and C1 control characters (escape sequences) are shown
 * escaped, never sent.
 */
static char *
cell_escape(const char *s)
{
	const unsigned char	*p;
	char			*out, *o;

	if ((out = malloc(strlen(s) * 6 + 1)) == NULL)
		err(1, "malloc");
	for (p = (const unsigned char *)s, o = out; *p != '\0'; p++) {
		if (*p == '\n')
			o += sprintf(o, "\\n");
		else if (*p == '\t')
			o += sprintf(o, "\\t");
		else if (*p == '\r')
			o += sprintf(o, "\\r");
		else if (*p < 0x20 || *p == 0x7f)
			o += sprintf(o, "\\x%02x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			o += sprintf(o, "\\u%04x", p[1]);
			p++;
		} else
			*o++ = (char)*p;
	}
	*o = '\0';
	return (out);
}

void
table_init(struct table *t, const char **head, int ncols)
{
	memset(t, 0, sizeof(*t));
	t->head = head;
	t->ncols = ncols;
}

/* One row: ncols strings, NULL for "-". */
void
table_add(struct table *t, ...)
{
	va_list		 ap;
	const char	*s;
	int		 c;

	if (t->ncells + (size_t)t->ncols > t->cap) {
		t->cap = t->cap == 0 ? 16 * (size_t)t->ncols : t->cap * 2;
		if ((t->cells = reallocarray(t->cells, t->cap,
		    sizeof(*t->cells))) == NULL)
			err(1, "reallocarray");
	}
	va_start(ap, t);
	for (c = 0; c < t->ncols; c++) {
		s = va_arg(ap, const char *);
		t->cells[t->ncells++] = cell_escape(s != NULL ? s : "-");
	}
	va_end(ap);
}

static void
cell_print(const char *s, size_t width, int last)
{
	size_t	 n;

	fputs(s, stdout);
	if (last) {
		putchar('\n');
		return;
	}
	for (n = text_width(s); n < width + 2; n++)
		putchar(' ');
}

/* Column widths from the widest cell, then the rows; frees the table. */
void
table_print(struct table *t)
{
	size_t	*w, l, i;
	int	 c;

	if ((w = calloc(t->ncols, sizeof(*w))) == NULL)
		err(1, "calloc");
	for (c = 0; c < t->ncols; c++)
		w[c] = text_width(t->head[c]);
	for (i = 0; i < t->ncells; i++)
		if ((l = text_width(t->cells[i])) > w[i % t->ncols])
			w[i % t->ncols] = l;
	for (c = 0; c < t->ncols; c++)
		cell_print(t->head[c], w[c], c == t->ncols - 1);
	for (i = 0; i < t->ncells; i++) {
		cell_print(t->cells[i], w[i % t->ncols],
		    (int)(i % t->ncols) == t->ncols - 1);
		free(t->cells[i]);
	}
	free(t->cells);
	free(w);
	memset(t, 0, sizeof(*t));
}

/* The member key of object v, if it has the type (yajl_t_any: any). */
yajl_val
json_get(yajl_val v, const char *key, yajl_type type)
{
	const char	*path[2] = { key, NULL };

	if (v == NULL)
		return (NULL);
	return (yajl_tree_get(v, path, type));
}

/* The string member key of v, or NULL. */
const char *
json_str(yajl_val v, const char *key)
{
	yajl_val	 s;

	if ((s = json_get(v, key, yajl_t_string)) == NULL)
		return (NULL);
	return (YAJL_GET_STRING(s));
}

static const char *
field(yajl_val v, const char *key)
{
	yajl_val	 s;

	if ((s = json_get(v, key, yajl_t_any)) == NULL || YAJL_IS_NULL(s))
		return ("-");
	if (YAJL_IS_STRING(s))
		return (YAJL_GET_STRING(s));
	if (YAJL_IS_TRUE(s))
		return ("yes");
	if (YAJL_IS_FALSE(s))
		return ("no");
	if (YAJL_IS_NUMBER(s))
		return (YAJL_GET_NUMBER(s));
	return ("?");
}

/* The objects of {"data":[...]} as rows of the named keys (up to 8). */
static void
list_print(yajl_val v, const char **head, const char **keys, int ncols)
{
	struct table	 t;
	yajl_val	 data, o;
	const char	*c[8] = { NULL };
	size_t		 i;
	int		 k;

	if ((data = json_get(v, "data", yajl_t_array)) == NULL)
		return;
	table_init(&t, head, ncols);
	for (i = 0; i < YAJL_GET_ARRAY(data)->len; i++) {
		o = YAJL_GET_ARRAY(data)->values[i];
		for (k = 0; k < ncols && k < 8; k++)
			c[k] = field(o, keys[k]);
		table_add(&t, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
	}
	table_print(&t);
}

/* Print what the daemon answered to a successful request. */
void
output_reply(enum actions action, yajl_val v, const struct parse_result *res)
{
	static const char *user_head[] = { "EMAIL", "NAME", "ROLE",
	    "CREATED", "ID" };
	static const char *user_keys[] = { "email", "name", "role",
	    "created_at", "id" };
	static const char *key_head[] = { "ID", "PREFIX", "DESCRIPTION",
	    "EXPIRES", "LAST USED", "USER" };
	static const char *key_keys[] = { "id", "prefix", "description",
	    "expires_at", "last_used_at", "user_email" };
	static const char *proj_head[] = { "NAME", "SLUG", "CREATED", "ID" };
	static const char *proj_keys[] = { "name", "slug", "created_at",
	    "id" };

	switch (action) {
	case USER_LIST:
		list_print(v, user_head, user_keys, 5);
		break;
	case APIKEY_LIST:
		list_print(v, key_head, key_keys, 6);
		break;
	case SHOW_PROJECTS:
		list_print(v, proj_head, proj_keys, 4);
		break;
	case USER_ADD:
		printf("user %s (%s) created\n", field(v, "email"),
		    field(v, "role"));
		break;
	case USER_PASSWD:
		printf("password of %s changed; its sessions ended\n",
		    field(v, "email"));
		break;
	case USER_ROLE:
		printf("%s is now %s\n", field(v, "email"), field(v, "role"));
		break;
	case USER_DEL:
		printf("user %s deleted\n", res->args[0]);
		break;
	case APIKEY_CREATE:
		printf("API key %s created for %s\n", field(v, "id"),
		    res->args[0]);
		printf("token: %s\n", field(v, "token"));
		printf("(shown only now: store it somewhere safe)\n");
		break;
	case APIKEY_DEL:
		printf("API key %s deleted\n", res->args[0]);
		break;
	case SETUP_TOKEN:
		printf("%s\n%s\n", field(v, "setup_token"), field(v, "url"));
		break;
	default:
		break;
	}
}

/*
 * One event of "dkctl events", a line each: time, project, type and the
 * payload as compact JSON; with -j, a JSON object per line.  Flushed at
 * once, for whoever reads the other end of a pipe.
 */
int
output_event(const void *data, size_t len, int json)
{
	struct msg_event	 ev;
	struct rbuf		 r, t;
	const unsigned char	*buf;
	yajl_gen		 g;
	char			 db[DBTIME_LEN + 1], at[RFC3339_LEN + 1];
	size_t			 n;
	time_t			 when;

	rbuf_init(&r, data, len);
	when = (time_t)wire_get_i64(&r);
	if (msg_event_get(&r, &ev) == -1 || wire_done(&r) == -1)
		return (-1);
	dbtime(when, db);
	if (dbtime_to_rfc3339(db, at) == -1)
		return (-1);
	if ((g = yajl_gen_alloc(NULL)) == NULL)
		return (-1);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	if (json) {
		yajl_gen_map_open(g);
		yajl_gen_string(g, (const unsigned char *)"at", 2);
		yajl_gen_string(g, (const unsigned char *)at, strlen(at));
		yajl_gen_string(g, (const unsigned char *)"project_id", 10);
		yajl_gen_string(g, (const unsigned char *)ev.project_id,
		    strlen(ev.project_id));
		yajl_gen_string(g, (const unsigned char *)"type", 4);
		yajl_gen_string(g, (const unsigned char *)ev.type,
		    strlen(ev.type));
		yajl_gen_string(g, (const unsigned char *)"payload", 7);
	}
	rbuf_init(&t, ev.payload, ev.payload_len);
	if (tree_to_json(&t, g) == -1) {
		yajl_gen_free(g);
		return (-1);
	}
	if (json)
		yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &buf, &n) != yajl_gen_status_ok) {
		yajl_gen_free(g);
		return (-1);
	}
	if (json)
		printf("%.*s\n", (int)n, buf);
	else
		printf("%s  %s  %s  %.*s\n", at, ev.project_id, ev.type,
		    (int)n, buf);
	fflush(stdout);
	yajl_gen_free(g);
	return (0);
}
