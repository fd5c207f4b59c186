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
#include <sys/statvfs.h>

#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dkd.h"
#include "log.h"

/*
 * Host figures for /api/system/status, from /proc and statvfs.  Each
 * part is best effort: what cannot be read is reported as zero.  CPU
 * usage is measured since the previous call, so it never blocks.
 */

static unsigned long long	 prev_busy, prev_total;

static double
pct(unsigned long long part, unsigned long long whole)
{
	if (whole == 0)
		return (0);
	return ((double)part * 100.0 / (double)whole);
}

static void
cpu(struct wbuf *w)
{
	unsigned long long	 v[10] = { 0 }, busy, total, db, dt;
	double			 load[3] = { 0, 0, 0 };
	FILE			*fp;
	int			 i;

	if ((fp = fopen("/proc/stat", "re")) != NULL) {
		if (fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu "
		    "%llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		    &v[6], &v[7], &v[8], &v[9]) < 4)
			memset(v, 0, sizeof(v));
		fclose(fp);
	}
	/* Guest time is already counted in user time. */
	for (total = 0, i = 0; i < 8; i++)
		total += v[i];
	busy = total - v[3] - v[4];
	db = busy - prev_busy;
	dt = total - prev_total;
	if (busy < prev_busy || total <= prev_total)
		db = dt = 0;
	prev_busy = busy;
	prev_total = total;
	if ((fp = fopen("/proc/loadavg", "re")) != NULL) {
		if (fscanf(fp, "%lf %lf %lf", &load[0], &load[1],
		    &load[2]) != 3)
			load[0] = load[1] = load[2] = 0;
		fclose(fp);
	}
	tree_map(w);
	tree_kv_int(w, "cores", sysconf(_SC_NPROCESSORS_ONLN));
	tree_kv_double(w, "usage_pct", pct(db, dt));
	tree_kv_double(w, "load1", load[0]);
	tree_kv_double(w, "load5", load[1]);
	tree_kv_double(w, "load15", load[2]);
	tree_end(w);
}

static void
usage(struct wbuf *w, unsigned long long total, unsigned long long used)
{
	tree_map(w);
	tree_kv_int(w, "total_bytes", (int64_t)total);
	tree_kv_int(w, "used_bytes", (int64_t)used);
	tree_kv_double(w, "usage_pct", pct(used, total));
	tree_end(w);
}

static void
memory(struct wbuf *w)
{
	unsigned long long	 mt = 0, ma = 0, st = 0, sf = 0, v;
	char			 line[256], key[64];
	FILE			*fp;

	if ((fp = fopen("/proc/meminfo", "re")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (sscanf(line, "%63[^:]: %llu", key, &v) != 2)
				continue;
			if (strcmp(key, "MemTotal") == 0)
				mt = v * 1024;
			else if (strcmp(key, "MemAvailable") == 0)
				ma = v * 1024;
			else if (strcmp(key, "SwapTotal") == 0)
				st = v * 1024;
			else if (strcmp(key, "SwapFree") == 0)
				sf = v * 1024;
		}
		fclose(fp);
	}
	tree_key(w, "memory");
	usage(w, mt, mt > ma ? mt - ma : 0);
	tree_key(w, "swap");
	usage(w, st, st > sf ? st - sf : 0);
}

/* The mount point holding path: the longest matching entry. */
static int
mount_of(const char *path, char *out, size_t len)
{
	struct mntent	*m;
	FILE		*fp;
	size_t		 best = 0, n;

	out[0] = '\0';
	if ((fp = setmntent("/proc/self/mounts", "re")) == NULL)
		return (-1);
	while ((m = getmntent(fp)) != NULL) {
		n = strlen(m->mnt_dir);
		if (strncmp(path, m->mnt_dir, n) != 0 ||
		    (path[n] != '/' && path[n] != '\0' && n != 1))
			continue;
		if (n > best) {
			best = n;
			strlcpy(out, m->mnt_dir, len);
		}
	}
	endmntent(fp);
	return (out[0] != '\0' ? 0 : -1);
}

static void
disk(struct wbuf *w, const char *mountpoint)
{
	struct statvfs		 sv;
	unsigned long long	 total = 0, used = 0;

	if (statvfs(mountpoint, &sv) == 0) {
		total = (unsigned long long)sv.f_blocks * sv.f_frsize;
		used = total - (unsigned long long)sv.f_bfree * sv.f_frsize;
	}
	tree_map(w);
	tree_kv_str(w, "mountpoint", mountpoint);
	tree_kv_int(w, "total_bytes", (int64_t)total);
	tree_kv_int(w, "used_bytes", (int64_t)used);
	tree_kv_double(w, "usage_pct", pct(used, total));
	tree_end(w);
}

void
sysinfo_host(struct wbuf *w, const char *docker_root)
{
	char	 host[HOST_NAME_MAX + 1], mnt[PATH_MAX];
	double	 up = 0;
	FILE	*fp;

	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if ((fp = fopen("/proc/uptime", "re")) != NULL) {
		if (fscanf(fp, "%lf", &up) != 1)
			up = 0;
		fclose(fp);
	}
	tree_map(w);
	tree_kv_str(w, "hostname", host);
	tree_kv_int(w, "uptime", (int64_t)up);
	tree_key(w, "cpu");
	cpu(w);
	memory(w);
	tree_key(w, "disks");
	tree_array(w);
	disk(w, "/");
	if (docker_root != NULL && *docker_root == '/' &&
	    mount_of(docker_root, mnt, sizeof(mnt)) == 0 &&
	    strcmp(mnt, "/") != 0)
		disk(w, mnt);
	tree_end(w);
	tree_end(w);
}
