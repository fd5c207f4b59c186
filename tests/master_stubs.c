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

/*
 * What dkd.c provides to the rest of the master, for tests that link the
 * master without its main(): no reload, no shutdown, no directories;
 * and a scratch database directory removed at exit.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "dkd.h"
#include "master_stubs.h"

static const char	*scratch_dir;

int
master_reload(char *errbuf, size_t len)
{
	strlcpy(errbuf, "not in a test", len);
	return (-1);
}

void
master_set_log_level(int level)
{
	env->log_level = level;
}

void
master_shutdown(void)
{
}

void
master_mkdir(const char *path, mode_t mode)
{
}

static void
scratch_remove(void)
{
	char	 cmd[128];

	db_close();
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch_dir);
	(void)system(cmd);
}

/* dir (made by mkdtemp, alive until exit) goes with the database. */
void
scratch_remove_at_exit(const char *dir)
{
	scratch_dir = dir;
	atexit(scratch_remove);
}
