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
 * dkd-reconciler: the small replies: an error's {"message"} as
 * dparse_message() makes a printable reason of it, a create's {"Id"}
 * (dparse_id) and GET /version (dparse_version).
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
	char	 msg[DRV_ERR_MAX], id[DRV_ID_MAX + 1], server[64], api[32];
	size_t	 i;

	dparse_message((const char *)data, size, 500, msg, sizeof(msg));
	if (msg[0] == '\0')
		__builtin_trap();
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 ||
		    (unsigned char)msg[i] >= 0x7f)
			__builtin_trap();
	if (dparse_id((const char *)data, size, id, sizeof(id)) == 0 &&
	    (id[0] == '\0' || strspn(id, "0123456789abcdefABCDEF") !=
	    strlen(id)))
		__builtin_trap();
	(void)dparse_version((const char *)data, size, server, sizeof(server),
	    api, sizeof(api));
	return (0);
}
