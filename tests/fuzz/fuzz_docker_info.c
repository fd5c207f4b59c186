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
 * dkd-reconciler: GET /info and GET /system/df as dparse_info() and
 * dparse_df() read them for /api/system/about and /status; what comes
 * out is printable and fits the message to the master.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docker_info.h"
#include "reconciler.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
printable(const char *s, size_t len)
{
	size_t	 i;

	if (strnlen(s, len) >= len)
		__builtin_trap();
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker_info	 di;
	char			 err[128];
	int			 i;

	memset(&di, 0, sizeof(di));
	if (dparse_info((const char *)data, size, &di, err,
	    sizeof(err)) == 0) {
		printable(di.server_version, sizeof(di.server_version));
		printable(di.os, sizeof(di.os));
		printable(di.root_dir, sizeof(di.root_dir));
		if (di.nwarnings < 0 || di.nwarnings > DINFO_WARNINGS)
			__builtin_trap();
		for (i = 0; i < di.nwarnings; i++)
			printable(di.warnings[i], sizeof(di.warnings[i]));
	}
	memset(&di, 0, sizeof(di));
	if (dparse_df((const char *)data, size, &di, err, sizeof(err)) == 0 &&
	    (di.volumes_size < 0 || di.build_cache < 0 || di.volumes < 0))
		__builtin_trap();
	return (0);
}
