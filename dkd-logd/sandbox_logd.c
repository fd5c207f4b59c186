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

#include "compat.h"
#include "seccomp.h"

/*
 * dkd-logd: only bytes over descriptors it was given.  No sockets (but
 * syslog's reconnection gets an errno), no files yet, no exec.
 */
static const struct sock_filter logd_filter[] = {
	SC_PROLOGUE
	SC_COMMON,
	SC_ALLOW(shutdown),
	SC_SOCKET_SYSLOG_ONLY,
	SC_KILL
};

const struct seccomp_list seccomp_list = {
	PROC_LOGD, logd_filter, nitems(logd_filter)
};
