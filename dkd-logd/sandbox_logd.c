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
#define SC_ALLOW_OPEN	SC_ALLOW(open),
#else
#define SC_ALLOW_OPEN
#endif

/*
 * dkd-logd: bytes over descriptors it was given, and its history in
 * files.  It is chrooted in the log directory, whose root belongs to
 * root, and works in the data directory below, which is its own: files
 * are made, read, renamed and removed there, so those calls are
 * allowed, but nothing that makes links or changes owners and modes.
 * No sockets (but syslog's reconnection gets an errno), no exec.
 */
static const struct sock_filter logd_filter[] = {
	SC_PROLOGUE
	SC_COMMON,
	SC_ALLOW(shutdown),
	SC_ALLOW(openat),
	SC_ALLOW_OPEN
	SC_ALLOW(pread64),
	SC_ALLOW(getdents64),
	SC_ALLOW(ftruncate),
	SC_ALLOW(fsync),
	SC_ALLOW(fdatasync),
	SC_ALLOW(mkdirat),
	SC_ALLOW(unlinkat),
	SC_ALLOW(renameat),
#ifdef __NR_renameat2
	SC_ALLOW(renameat2),
#endif
#ifdef __NR_mkdir
	SC_ALLOW(mkdir),
	SC_ALLOW(rmdir),
	SC_ALLOW(unlink),
	SC_ALLOW(rename),
#endif
	SC_ALLOW(getrlimit),
	SC_SOCKET_SYSLOG_ONLY,
	SC_KILL
};

const struct seccomp_list seccomp_list = {
	PROC_LOGD, logd_filter, nitems(logd_filter)
};
