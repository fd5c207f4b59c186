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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>

#include "config.h"
#include "compat.h"
#include "sandbox.h"

/*
 * Hand-written seccomp-BPF allow-lists, one per worker, in the manner of
 * OpenSSH portable.  The default is to kill the whole process; a few
 * calls that libc makes harmlessly get an errno instead.  Arguments are
 * checked on their low 32 bits, which is what the kernel reads for int
 * flags; x86_64 and aarch64 are little-endian.
 */

#define SC_ARG_LO(n)	(offsetof(struct seccomp_data, args[(n)]))
#define SC_ARG_HI(n)	(offsetof(struct seccomp_data, args[(n)]) + 4)

#define SC_LOAD_NR \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))

#define SC_ALLOW(name) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

#define SC_ERRNO(name, err) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((err) & SECCOMP_RET_DATA))

/* Allow when argument n equals val. */
#define SC_ALLOW_ARG(name, n, val) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 4), \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_ARG_LO(n)), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (val), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), \
	SC_LOAD_NR

/* Allow when argument n has none of the bits of mask, else fail. */
#define SC_ALLOW_ARG_NOBITS(name, n, mask, err) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 4), \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_ARG_LO(n)), \
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (mask), 1, 0), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), \
	BPF_STMT(BPF_RET | BPF_K, \
	    SECCOMP_RET_ERRNO | ((err) & SECCOMP_RET_DATA))

#ifdef __NR_epoll_wait
#define SC_ALLOW_EPOLL_WAIT	SC_ALLOW(epoll_wait),
#else
#define SC_ALLOW_EPOLL_WAIT
#endif
#ifdef __NR_poll
#define SC_ALLOW_POLL		SC_ALLOW(poll),
#else
#define SC_ALLOW_POLL
#endif
#ifdef __NR_open
#define SC_ERRNO_OPEN		SC_ERRNO(open, EACCES),
#define SC_OPEN_RDONLY \
	SC_ALLOW_ARG_NOBITS(open, 1, O_WRONLY | O_RDWR | O_CREAT | \
	    O_TRUNC | O_APPEND, EACCES),
#else
#define SC_ERRNO_OPEN
#define SC_OPEN_RDONLY
#endif

#if defined(__x86_64__)
/* x32 calls carry the x86_64 arch value; refuse them by number. */
#define SC_NO_X32 \
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#else
#define SC_NO_X32
#endif

#define SC_PROLOGUE \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, \
	    offsetof(struct seccomp_data, arch)), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, DKD_AUDIT_ARCH, 1, 0), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS), \
	SC_LOAD_NR, \
	SC_NO_X32

/* What every worker needs: its event loop, imsg, memory, time, exit. */
#define SC_COMMON \
	SC_ALLOW(read), \
	SC_ALLOW(write), \
	SC_ALLOW(readv), \
	SC_ALLOW(writev), \
	SC_ALLOW(recvmsg), \
	SC_ALLOW(sendmsg), \
	SC_ALLOW(sendto), \
	SC_ALLOW(recvfrom), \
	SC_ALLOW(close), \
	SC_ALLOW_EPOLL_WAIT \
	SC_ALLOW(epoll_pwait), \
	SC_ALLOW(epoll_ctl), \
	SC_ALLOW_POLL \
	SC_ALLOW(ppoll), \
	SC_ALLOW(brk), \
	SC_ALLOW_ARG_NOBITS(mmap, 2, PROT_EXEC, EPERM), \
	SC_ALLOW_ARG_NOBITS(mprotect, 2, PROT_EXEC, EPERM), \
	SC_ALLOW(munmap), \
	SC_ALLOW(mremap), \
	SC_ALLOW(madvise), \
	SC_ALLOW(futex), \
	SC_ALLOW(clock_gettime), \
	SC_ALLOW(gettimeofday), \
	SC_ALLOW(clock_nanosleep), \
	SC_ALLOW(nanosleep), \
	SC_ALLOW(getrandom), \
	SC_ALLOW(getpid), \
	SC_ALLOW(gettid), \
	SC_ALLOW(getppid), \
	SC_ALLOW(fstat), \
	SC_ALLOW(newfstatat), \
	SC_ALLOW(lseek), \
	SC_ALLOW(fcntl), \
	SC_ALLOW_ARG(ioctl, 1, FIONREAD), \
	SC_ALLOW(rt_sigaction), \
	SC_ALLOW(rt_sigprocmask), \
	SC_ALLOW(rt_sigreturn), \
	SC_ALLOW(restart_syscall), \
	SC_ALLOW(sched_yield), \
	SC_ALLOW(exit), \
	SC_ALLOW(exit_group)

#define SC_KILL	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS)

/*
 * dkd-api: accepts on the socket the master bound and reads the web UI
 * below its chroot.  No socket(), connect() or bind(): it can reach
 * nothing the master did not hand it.
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
	SC_ALLOW_ARG_NOBITS(openat, 2, O_WRONLY | O_RDWR | O_CREAT |
	    O_TRUNC | O_APPEND, EACCES),
	SC_KILL
};

/*
 * dkd-reconciler: the Docker Engine API over a unix socket.  socket() is
 * allowed for AF_UNIX only, so it cannot reach the network; it opens no
 * files (curl's probes get EACCES).
 */
static const struct sock_filter reconciler_filter[] = {
	SC_PROLOGUE
	SC_COMMON,
	SC_ALLOW_ARG(socket, 0, AF_UNIX),
	SC_ALLOW_ARG(socketpair, 0, AF_UNIX),
	SC_ALLOW(connect),
	SC_ALLOW(getsockname),
	SC_ALLOW(getpeername),
	SC_ALLOW(setsockopt),
	SC_ALLOW(getsockopt),
	SC_ALLOW(shutdown),
	SC_ALLOW(pipe2),
	SC_ERRNO_OPEN
	SC_ERRNO(openat, EACCES),
	SC_ERRNO(access, EACCES),
	SC_KILL
};

/*
 * dkd-logd: only bytes over descriptors it was given.  No sockets, no
 * files yet, no exec.
 */
static const struct sock_filter logd_filter[] = {
	SC_PROLOGUE
	SC_COMMON,
	SC_ALLOW(shutdown),
	SC_KILL
};

int
seccomp_install(enum dkd_proc_id id)
{
	struct sock_fprog	 prog;

	switch (id) {
	case PROC_API:
		prog.filter = (struct sock_filter *)api_filter;
		prog.len = nitems(api_filter);
		break;
	case PROC_RECONCILER:
		prog.filter = (struct sock_filter *)reconciler_filter;
		prog.len = nitems(reconciler_filter);
		break;
	case PROC_LOGD:
		prog.filter = (struct sock_filter *)logd_filter;
		prog.len = nitems(logd_filter);
		break;
	default:
		errno = EINVAL;
		return (-1);
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		return (-1);
	return (0);
}
