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

#ifdef __NR_open
#define SC_ERRNO_OPEN	SC_ERRNO(open, EACCES),
#else
#define SC_ERRNO_OPEN
#endif

/*
 * dkd-reconciler: the Docker Engine API over a unix socket.  socket() is
 * allowed for AF_UNIX only, so it cannot reach the network; it opens no
 * files (curl's probes get EACCES).  What libcurl does on the socket,
 * as strace shows it over deploys, failures and teardowns: socket,
 * connect, getsockopt(SO_ERROR), getsockname, getpeername, fcntl
 * O_NONBLOCK.  setsockopt and shutdown it does not need on a unix
 * socket: refused, not fatal, should a rare path try them.  pipe2 is
 * for the log streams handed to the master (issue 9).
 */
static const struct sock_filter rec_filter[] = {
	SC_PROLOGUE
	SC_COMMON,
	SC_ALLOW_ARG(socket, 0, AF_UNIX),
	SC_ALLOW_ARG(socketpair, 0, AF_UNIX),
	SC_ALLOW(connect),
	SC_ALLOW(getsockname),
	SC_ALLOW(getpeername),
	SC_ALLOW(getsockopt),
	SC_ERRNO(setsockopt, EPERM),
	SC_ERRNO(shutdown, EPERM),
	SC_ALLOW(pipe2),
	SC_ERRNO_OPEN
	SC_ERRNO(openat, EACCES),
	SC_ERRNO(access, EACCES),
	SC_KILL
};

const struct seccomp_list seccomp_list = {
	PROC_RECONCILER, rec_filter, nitems(rec_filter)
};
