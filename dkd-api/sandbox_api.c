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

#define WRITE_FLAGS	(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)

#ifdef __NR_open
#define SC_OPEN_RDONLY	SC_ALLOW_ARG_NOBITS(open, 1, WRITE_FLAGS, EACCES),
#else
#define SC_OPEN_RDONLY
#endif

/*
 * dkd-api: accepts on the socket the master bound and reads the web UI
 * below its chroot.  No socket(), connect() or bind(): it can reach
 * nothing the master did not hand it.  Files open read-only; asking to
 * write gets EACCES.
 */
static const struct sock_filter api_filter[] = {
	SC_PROLOGUE
	SC_COMMON,
	SC_ALLOW(accept4),
	SC_ALLOW(accept),
	SC_ALLOW(getsockname),
	SC_ALLOW(getpeername),
	SC_ALLOW(setsockopt),
	SC_ALLOW(getsockopt),
	SC_ALLOW(shutdown),
	SC_ALLOW(sendfile),
	SC_ALLOW(pread64),
	SC_OPEN_RDONLY
	SC_ALLOW_ARG_NOBITS(openat, 2, WRITE_FLAGS, EACCES),
	SC_SOCKET_SYSLOG_ONLY,
	SC_KILL
};

const struct seccomp_list seccomp_list = {
	PROC_API, api_filter, nitems(api_filter)
};
