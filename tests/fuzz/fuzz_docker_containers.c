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
 * dkd-reconciler: GET /containers/json as dparse_containers() reads it.
 * Every container it keeps has a hex id and bounded, terminated fields.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drv_container	*cs;
	size_t			 n, i;
	char			 err[128];

	if (dparse_containers((const char *)data, size, &cs, &n, err,
	    sizeof(err)) == -1)
		return (0);
	for (i = 0; i < n; i++) {
		if (strlen(cs[i].id) == 0 || strlen(cs[i].id) > DRV_ID_MAX ||
		    strspn(cs[i].id, "0123456789abcdefABCDEF") !=
		    strlen(cs[i].id) || !cs[i].managed ||
		    cs[i].service_id[0] == '\0' ||
		    cs[i].replica < -1 || cs[i].replica >= DRV_REPLICAS_MAX ||
		    strlen(cs[i].name) >= sizeof(cs[i].name) ||
		    strlen(cs[i].state) >= sizeof(cs[i].state))
			__builtin_trap();
	}
	free(cs);
	return (0);
}
