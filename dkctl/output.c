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

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "dkctl.h"

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
	const struct ctl_proc	*p;
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
	printf("%-12s %s\n", "DATABASE", st->db_path);
	printf("%-12s %" PRId64 " bytes\n", "  size", st->db_size);
	printf("%-12s %u\n", "  schema", st->db_version);
	printf("\n");
	if (st->docker_reachable) {
		printf("%-12s %s\n", "DOCKER", "reachable");
		printf("%-12s %s\n", "  server", st->docker_server);
		printf("%-12s %s\n", "  API", st->docker_api);
	} else {
		printf("%-12s %s\n", "DOCKER", "unreachable");
		printf("%-12s %s\n", "  error", st->docker_error);
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
	const struct ctl_proc	*p;
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
	json_kv(g, "path", st->db_path);
	json_kn(g, "size_bytes", st->db_size);
	json_kn(g, "schema_version", st->db_version);
	yajl_gen_map_close(g);
	yajl_gen_string(g, (const unsigned char *)"docker", 6);
	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"reachable", 9);
	yajl_gen_bool(g, st->docker_reachable);
	if (st->docker_reachable) {
		json_kv(g, "server_version", st->docker_server);
		json_kv(g, "api_version", st->docker_api);
	} else
		json_kv(g, "error", st->docker_error);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		fwrite(buf, 1, len, stdout);
	yajl_gen_free(g);
}
