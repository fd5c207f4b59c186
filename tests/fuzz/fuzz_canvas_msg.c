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
 * The canvas message decoder of dkd-api on any bytes: a message it
 * takes for the master must make a request that the master decodes
 * exactly as it would (a request it cannot decode would take dkd-api
 * down); an error it answers with must be text a JSON string can hold;
 * a draft id must be one the rooms can keep.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ops.h"
#include "util.h"
#include "wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char	 ticket[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* Read the request as the master's dispatch does. */
static void
master_reads(const struct wbuf *wb, uint32_t want)
{
	const struct op_spec	*spec;
	struct msg_request	 m;
	struct op_args		 a;
	struct rbuf		 r;

	rbuf_init(&r, wb->buf, wb->len);
	if (msg_request_get(&r, &m) == -1 || m.op != want ||
	    (spec = op_spec(m.op)) == NULL ||
	    (spec->callers & CALLER_API) == 0 ||
	    op_args_get(&r, spec, &a) == -1)
		__builtin_trap();
	if (wire_done(&r) == -1)
		__builtin_trap();
	op_args_clear(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct canvas_msg	 m;
	struct wbuf		 wb;
	uint32_t		 op;

	(void)canvas_msg_decode(data, size, &m);
	switch (m.kind) {
	case CMSG_ERROR:
		if (m.error == NULL || !utf8_valid(m.error, strlen(m.error)))
			__builtin_trap();
		break;
	case CMSG_DRAFT_START:
	case CMSG_DRAFT_CANCEL:
		if (m.draft_id[0] == '\0' ||
		    !utf8_valid(m.draft_id, strlen(m.draft_id)))
			__builtin_trap();
		break;
	case CMSG_OP:
		op = m.op;
		/* The contract: any payload of an accepted message fits. */
		if (canvas_request(&wb, op, ticket, "127.0.0.1", NULL, 0,
		    &m.payload) == -1)
			__builtin_trap();
		master_reads(&wb, op);
		wbuf_free(&wb);
		break;
	default:
		break;
	}
	canvas_msg_clear(&m);
	return (0);
}
