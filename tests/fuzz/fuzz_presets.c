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

/* The preset catalog parser (data/presets.conf). */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "presets.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct preset_catalog	 cat;
	char				 err[512];
	int				 i, j;

	if (presets_parse((const char *)data, size, "fuzz", &cat, err,
	    sizeof(err)) == -1) {
		if (strncmp(err, "fuzz:", 5) != 0)
			__builtin_trap();
		return (0);
	}
	/* What it accepts is what dkd promises to the UI. */
	for (i = 0; i < cat.n; i++) {
		if (cat.p[i].id[0] == '\0' || cat.p[i].name[0] == '\0' ||
		    cat.p[i].image[0] == '\0')
			__builtin_trap();
		for (j = 0; j < cat.p[i].nports; j++)
			if (cat.p[i].ports[j] < 1 || cat.p[i].ports[j] > 65535)
				__builtin_trap();
	}
	return (0);
}
