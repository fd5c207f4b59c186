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

#ifndef DK_SECCOMP_H
#define DK_SECCOMP_H

/*
 * The pieces of hand-written seccomp-BPF allow-lists, in the manner of
 * OpenSSH portable.  Each worker writes its own list from these, in
 * sandbox_<role>.c in its own directory, and links only that one.  The
 * default is to kill the whole process; calls that a library makes
 * harmlessly get an errno instead, so they cannot use up the master's
 * restart budget.  Arguments are checked on their low 32 bits, which is
 * what the kernel reads for int flags and commands; x86_64 and aarch64
 * are little-endian.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>

#include "config.h"
#include "dkd_imsg.h"

#define SC_ARG_LO(n)	(offsetof(struct seccomp_data, args[(n)]))

#define SC_LOAD_NR \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define SC_LOAD_ARG(n) \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_ARG_LO(n))
#define SC_RET_ERRNO(err) \
	BPF_STMT(BPF_RET | BPF_K, \
	    SECCOMP_RET_ERRNO | ((err) & SECCOMP_RET_DATA))
#define SC_RET_ALLOW	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define SC_KILL		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS)

#define SC_ALLOW(name) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 1), \
	SC_RET_ALLOW

#define SC_ERRNO(name, err) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 1), \
	SC_RET_ERRNO(err)

/* Allow when argument n equals val; otherwise go on with the list. */
#define SC_ALLOW_ARG(name, n, val) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 4), \
	SC_LOAD_ARG(n), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (val), 0, 1), \
	SC_RET_ALLOW, \
	SC_LOAD_NR

/* Allow when argument n has none of the bits of mask, else fail. */
#define SC_ALLOW_ARG_NOBITS(name, n, mask, err) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 4), \
	SC_LOAD_ARG(n), \
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (mask), 1, 0), \
	SC_RET_ALLOW, \
	SC_RET_ERRNO(err)

/*
 * fcntl: the workers only switch sockets to non-blocking (libevent,
 * libcurl, the channel to the master), which strace shows is all they
 * do once sandboxed.  Other commands (locks, leases, seals, F_SETOWN,
 * pipe sizes, notifications) reach kernel code we do not need; they get
 * EPERM rather than a kill because none of them can take a worker out
 * of its jail, while a library taking a rare path through one of them
 * must not cost a restart.
 */
#define SC_FCNTL \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fcntl, 0, 5), \
	SC_LOAD_ARG(1), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, F_GETFL, 2, 0), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, F_SETFL, 1, 0), \
	SC_RET_ERRNO(EPERM), \
	SC_RET_ALLOW

/*
 * socket() in a worker that must have none: syslog(3) reconnecting to
 * /dev/log after syslogd went away asks for an AF_UNIX datagram socket;
 * it gets EACCES and the line is lost.  Any other socket is an attack
 * (the network, abstract unix sockets outside the jail): kill.
 */
#define SC_SOCKET_SYSLOG_ONLY \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 7), \
	SC_LOAD_ARG(0), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 4), \
	SC_LOAD_ARG(1), \
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_DGRAM, 0, 1), \
	SC_RET_ERRNO(EACCES), \
	SC_KILL

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

#if defined(__x86_64__)
/* x32 calls carry the x86_64 arch value; refuse them by number. */
#define SC_NO_X32 \
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1), \
	SC_KILL,
#else
#define SC_NO_X32
#endif

#define SC_PROLOGUE \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, \
	    offsetof(struct seccomp_data, arch)), \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, DKD_AUDIT_ARCH, 1, 0), \
	SC_KILL, \
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
	SC_FCNTL, \
	SC_ALLOW_ARG(ioctl, 1, FIONREAD), \
	SC_ALLOW(rt_sigaction), \
	SC_ALLOW(rt_sigprocmask), \
	SC_ALLOW(rt_sigreturn), \
	SC_ALLOW(restart_syscall), \
	SC_ALLOW(sched_yield), \
	SC_ALLOW(exit), \
	SC_ALLOW(exit_group)

/*
 * The allow-list of the program, defined once by its sandbox_<role>.c;
 * seccomp_install (sandbox.h) installs it for that role only.
 */
struct seccomp_list {
	enum dkd_proc_id		 id;
	const struct sock_filter	*filter;
	size_t				 len;
};

extern const struct seccomp_list seccomp_list;

#endif /* DK_SECCOMP_H */
