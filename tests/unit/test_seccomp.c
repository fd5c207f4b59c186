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
 * A worker's seccomp allow-list, seen from inside: a child installs it
 * and makes a call; the parent sees it exit normally or die of SIGSYS.
 * Built once per worker (TEST_ROLE) with that worker's list only, as
 * the worker itself links it.  seccomp_install is built in every
 * configuration, so this runs even where the workers do not sandbox.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"
#include "tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN	1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN	0
#endif

#ifndef TEST_ROLE
#error "build with -DTEST_ROLE=PROC_API, PROC_RECONCILER or PROC_LOGD"
#endif

#define EX_NOPRIVS	120	/* child could not set no_new_privs */
#define EX_INSTALL	121	/* seccomp_install failed */

enum expect {
	ALIVE,			/* exits 0 */
	KILLED,			/* dies of SIGSYS */
};

struct probe {
	enum dkd_proc_id	 id;
	const char		*what;
	int			(*fn)(void);
	enum expect		 expect;
};

static int	probe_pipe[2];

static void	child_exit(int);
static int	in_child(void (*)(const void *), const void *);
static void	probe_child(const void *);
static void	install_child(const void *);
static const char *role_name(enum dkd_proc_id);
static void	install_other(enum dkd_proc_id);
static int	p_nothing(void);
static int	p_basics(void);
static int	p_socket_inet(void);
static int	p_socket_inet6(void);
static int	p_socket_unix(void);
static int	p_socketpair_unix(void);
static int	p_execve(void);
static int	p_openat_rdonly_works(void);
static int	p_openat_write_eacces(void);
static int	p_openat_eacces(void);
static int	p_mmap_exec(void);
static int	p_fcntl_flags(void);
static int	p_fcntl_other_eperm(void);
static int	p_socket_dgram_eacces(void);
static int	p_socket_dgram_works(void);
static int	p_syslog(void);
static int	p_logd_files(void);
static int	p_symlink(void);
static int	p_link(void);
static int	p_chmod(void);
#ifdef __x86_64__
static int	p_x32(void);
#endif

/*
 * exit_group without _exit: ASan puts a call to __asan_handle_no_return,
 * which makes a sigaltstack call, before every call that does not
 * return.  syscall() is not one of those.
 */
static void
child_exit(int code)
{
	for (;;)
		(void)syscall(SYS_exit_group, code);
}

/* Fork, run fn(arg) in the child, which never returns; its status. */
static int
in_child(void (*fn)(const void *), const void *arg)
{
	pid_t	 pid;
	int	 status;

	fflush(stdout);
	if ((pid = fork()) == -1)
		bail("fork");
	if (pid == 0) {
		fn(arg);
		child_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			bail("waitpid");
	return (status);
}

/* In the child: lock it down, run the probe and exit with its result. */
static void
probe_child(const void *arg)
{
	const struct probe	*p = arg;
	struct rlimit		 nocore = { 0, 0 };

	/* SIGSYS would dump core; nobody wants those. */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	/* As log_init does: no zone file to read in the jail. */
	(void)setenv("TZ", "UTC", 1);
	tzset();
	if (pipe(probe_pipe) == -1)
		child_exit(EX_INSTALL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		child_exit(EX_NOPRIVS);
	if (seccomp_install(p->id) == -1)
		child_exit(EX_INSTALL);
	child_exit(p->fn());
}

/* In the child: exit 0 if the list of *arg cannot be installed here. */
static void
install_child(const void *arg)
{
	const enum dkd_proc_id	*id = arg;

	errno = 0;
	child_exit(seccomp_install(*id) == -1 && errno == EINVAL ? 0 : 1);
}

static const char *
role_name(enum dkd_proc_id id)
{
	switch (id) {
	case PROC_API:
		return ("api");
	case PROC_RECONCILER:
		return ("reconciler");
	case PROC_LOGD:
		return ("logd");
	default:
		return ("?");
	}
}

static int
p_nothing(void)
{
	return (0);
}

/* What every worker needs: its pid, pipes, the clock. */
static int
p_basics(void)
{
	struct timespec	 ts;
	char		 c = 0;

	if (getpid() <= 0 || syscall(SYS_getpid) != getpid())
		return (1);
	if (write(probe_pipe[1], "x", 1) != 1 ||
	    read(probe_pipe[0], &c, 1) != 1 || c != 'x')
		return (2);
	if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0 ||
	    clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (3);
	return (0);
}

static int
p_socket_inet(void)
{
	(void)socket(AF_INET, SOCK_STREAM, 0);
	return (0);
}

static int
p_socket_inet6(void)
{
	(void)socket(AF_INET6, SOCK_DGRAM, 0);
	return (0);
}

static int
p_socket_unix(void)
{
	int	 fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return (1);
	close(fd);
	return (0);
}

static int
p_socketpair_unix(void)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return (1);
	return (0);
}

static int
p_execve(void)
{
	char	*argv[] = { (char *)"/bin/true", NULL };
	char	*envp[] = { NULL };

	(void)execve("/bin/true", argv, envp);
	return (3);
}

static int
p_openat_rdonly_works(void)
{
	char	 c;
	long	 fd;

	fd = syscall(SYS_openat, AT_FDCWD, "/etc/passwd",
	    O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return (1);
	if (read((int)fd, &c, 1) != 1)
		return (2);
	return (0);
}

static int
p_openat_write_eacces(void)
{
	static const int	 flags[] = {
		O_WRONLY | O_CREAT, O_RDWR, O_RDONLY | O_TRUNC,
		O_WRONLY | O_APPEND,
	};
	size_t			 i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		errno = 0;
		if (syscall(SYS_openat, AT_FDCWD, "/dev/null", flags[i],
		    0600) != -1 || errno != EACCES)
			return (1 + (int)i);
	}
	return (0);
}

static int
p_openat_eacces(void)
{
	errno = 0;
	if (syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY) != -1 ||
	    errno != EACCES)
		return (1);
	return (0);
}

static int
p_mmap_exec(void)
{
	void	*p;

	errno = 0;
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED || errno != EPERM)
		return (1);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return (2);
	errno = 0;
	if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != -1 || errno != EPERM)
		return (3);
	return (0);
}

/* What libevent, libcurl and the channel do: O_NONBLOCK on and off. */
static int
p_fcntl_flags(void)
{
	int	 fl;

	if ((fl = fcntl(probe_pipe[0], F_GETFL)) == -1)
		return (1);
	if (fcntl(probe_pipe[0], F_SETFL, fl | O_NONBLOCK) == -1)
		return (2);
	if ((fcntl(probe_pipe[0], F_GETFL) & O_NONBLOCK) == 0)
		return (3);
	return (0);
}

/* Every other command: -1 EPERM, nothing done, and the process lives. */
static int
p_fcntl_other_eperm(void)
{
	static const int	 cmds[] = {
		F_GETFD, F_SETFD, F_DUPFD, F_DUPFD_CLOEXEC, F_SETOWN,
		F_SETLK, F_GETLK, F_SETLEASE, F_NOTIFY, F_SETPIPE_SZ,
		F_ADD_SEALS,
	};
	size_t			 i;
	long			 rv;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		errno = 0;
		rv = syscall(SYS_fcntl, probe_pipe[0], cmds[i], 0);
		if (rv != -1 || errno != EPERM)
			return (1 + (int)i);
	}
	return (0);
}

/* What syslog(3) does to reconnect to /dev/log: -1 EACCES, alive. */
static int
p_socket_dgram_eacces(void)
{
	errno = 0;
	if (socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) != -1 ||
	    errno != EACCES)
		return (1);
	errno = 0;
	if (socket(AF_UNIX, SOCK_DGRAM, 0) != -1 || errno != EACCES)
		return (2);
	return (0);
}

static int
p_socket_dgram_works(void)
{
	int	 fd;

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return (1);
	close(fd);
	return (0);
}

/* syslog(3) with no connection: the line is lost, the worker lives. */
static int
p_syslog(void)
{
	syslog(LOG_DEBUG, "test_seccomp: a line nobody receives");
	syslog(LOG_DEBUG, "test_seccomp: and another one");
	return (0);
}

/*
 * What dkd-logd does with its history: a directory, a segment made,
 * appended to, read, cut, renamed, listed and removed.  All in a
 * directory of its own below /tmp; in dkd, the chroot confines it.
 */
static int
p_logd_files(void)
{
	char	 dir[] = "/tmp/dkd-seccomp-XXXXXX", a[64], b[64], c;
	long	 fd, dfd;
	char	 dents[1024];

	if (mkdtemp(dir) == NULL)
		return (1);
	(void)snprintf(a, sizeof(a), "%s/a", dir);
	(void)snprintf(b, sizeof(b), "%s/b", dir);
	fd = syscall(SYS_openat, AT_FDCWD, a, O_WRONLY | O_CREAT | O_EXCL |
	    O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write((int)fd, "xy", 2) != 2 ||
	    syscall(SYS_ftruncate, fd, 1) != 0)
		return (2);
	close((int)fd);
	fd = syscall(SYS_openat, AT_FDCWD, a, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_pread64, fd, &c, 1, 0) != 1 || c != 'x')
		return (3);
	close((int)fd);
	if (syscall(SYS_renameat, AT_FDCWD, a, AT_FDCWD, b) != 0)
		return (4);
	dfd = syscall(SYS_openat, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (dfd < 0 || syscall(SYS_getdents64, dfd, dents,
	    sizeof(dents)) <= 0)
		return (5);
	close((int)dfd);
	if (syscall(SYS_unlinkat, AT_FDCWD, b, 0) != 0 ||
	    syscall(SYS_unlinkat, AT_FDCWD, dir, AT_REMOVEDIR) != 0)
		return (6);
	return (0);
}

static int
p_symlink(void)
{
	(void)syscall(SYS_symlinkat, "/etc/passwd", AT_FDCWD,
	    "/tmp/dkd-seccomp-link");
	return (0);
}

static int
p_link(void)
{
	(void)syscall(SYS_linkat, AT_FDCWD, "/etc/passwd", AT_FDCWD,
	    "/tmp/dkd-seccomp-link", 0);
	return (0);
}

static int
p_chmod(void)
{
	(void)syscall(SYS_fchmodat, AT_FDCWD, "/tmp", 0777);
	return (0);
}

#ifdef __x86_64__
/* An allowed call made through the x32 ABI must not get through. */
static int
p_x32(void)
{
	(void)syscall(0x40000000 | SYS_getpid);
	return (0);
}
#endif

static const struct probe	 probes[] = {
	{ PROC_API, "seccomp_install, then exit_group(0)", p_nothing, ALIVE },
	{ PROC_API, "getpid, pipe write/read, clock_gettime", p_basics,
	    ALIVE },
	{ PROC_API, "socket(AF_INET)", p_socket_inet, KILLED },
	{ PROC_API, "socket(AF_UNIX, SOCK_STREAM)", p_socket_unix, KILLED },
	{ PROC_API, "execve(/bin/true)", p_execve, KILLED },
	{ PROC_API, "openat(O_RDONLY) of an existing file works",
	    p_openat_rdonly_works, ALIVE },
	{ PROC_API, "openat for writing: -1 EACCES",
	    p_openat_write_eacces, ALIVE },
	{ PROC_API, "mmap/mprotect PROT_EXEC: -1 EPERM", p_mmap_exec,
	    ALIVE },
	{ PROC_API, "fcntl F_GETFL/F_SETFL work", p_fcntl_flags, ALIVE },
	{ PROC_API, "fcntl with any other command: -1 EPERM",
	    p_fcntl_other_eperm, ALIVE },
	{ PROC_API, "socket(AF_UNIX, SOCK_DGRAM) as syslog: -1 EACCES",
	    p_socket_dgram_eacces, ALIVE },
	{ PROC_API, "syslog(3) without /dev/log", p_syslog, ALIVE },
#ifdef __x86_64__
	{ PROC_API, "getpid through the x32 ABI", p_x32, KILLED },
#endif

	{ PROC_RECONCILER, "seccomp_install, then exit_group(0)", p_nothing,
	    ALIVE },
	{ PROC_RECONCILER, "getpid, pipe write/read, clock_gettime",
	    p_basics, ALIVE },
	{ PROC_RECONCILER, "socket(AF_INET)", p_socket_inet, KILLED },
	{ PROC_RECONCILER, "socket(AF_INET6)", p_socket_inet6, KILLED },
	{ PROC_RECONCILER, "socket(AF_UNIX) works", p_socket_unix, ALIVE },
	{ PROC_RECONCILER, "socketpair(AF_UNIX) works", p_socketpair_unix,
	    ALIVE },
	{ PROC_RECONCILER, "execve(/bin/true)", p_execve, KILLED },
	{ PROC_RECONCILER, "openat: -1 EACCES", p_openat_eacces, ALIVE },
	{ PROC_RECONCILER, "mmap/mprotect PROT_EXEC: -1 EPERM", p_mmap_exec,
	    ALIVE },
	{ PROC_RECONCILER, "fcntl F_GETFL/F_SETFL work", p_fcntl_flags,
	    ALIVE },
	{ PROC_RECONCILER, "fcntl with any other command: -1 EPERM",
	    p_fcntl_other_eperm, ALIVE },
	{ PROC_RECONCILER, "socket(AF_UNIX, SOCK_DGRAM) works",
	    p_socket_dgram_works, ALIVE },
	{ PROC_RECONCILER, "syslog(3) without /dev/log", p_syslog, ALIVE },

	{ PROC_LOGD, "seccomp_install, then exit_group(0)", p_nothing, ALIVE },
	{ PROC_LOGD, "getpid, pipe write/read, clock_gettime", p_basics,
	    ALIVE },
	{ PROC_LOGD, "files of its own: openat, write, ftruncate, pread, "
	    "renameat, getdents64, unlinkat", p_logd_files, ALIVE },
	{ PROC_LOGD, "symlinkat", p_symlink, KILLED },
	{ PROC_LOGD, "linkat", p_link, KILLED },
	{ PROC_LOGD, "fchmodat", p_chmod, KILLED },
	{ PROC_LOGD, "socket(AF_UNIX, SOCK_STREAM)", p_socket_unix, KILLED },
	{ PROC_LOGD, "socket(AF_INET)", p_socket_inet, KILLED },
	{ PROC_LOGD, "execve(/bin/true)", p_execve, KILLED },
	{ PROC_LOGD, "mmap/mprotect PROT_EXEC: -1 EPERM", p_mmap_exec,
	    ALIVE },
	{ PROC_LOGD, "fcntl F_GETFL/F_SETFL work", p_fcntl_flags, ALIVE },
	{ PROC_LOGD, "fcntl with any other command: -1 EPERM",
	    p_fcntl_other_eperm, ALIVE },
	{ PROC_LOGD, "socket(AF_UNIX, SOCK_DGRAM) as syslog: -1 EACCES",
	    p_socket_dgram_eacces, ALIVE },
	{ PROC_LOGD, "syslog(3) without /dev/log", p_syslog, ALIVE },
};

/* Install a list other than TEST_ROLE's, or none: EINVAL. */
static void
install_other(enum dkd_proc_id id)
{
	int	 st;

	st = in_child(install_child, &id);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "%s: seccomp_install(%s) fails with EINVAL", role_name(TEST_ROLE),
	    id == PROC_MASTER ? "master" : role_name(id));
}

int
main(void)
{
	const struct probe	*p;
	size_t			 i;
	int			 st, killed, exited, code, n = 0;
	int			 blind = 0;

	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		if (probes[i].id == TEST_ROLE)
			n++;
	plan(n + 2);
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		p = &probes[i];
		if (p->id != TEST_ROLE)
			continue;
		st = in_child(probe_child, p);
		killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS;
		exited = WIFEXITED(st);
		code = exited ? WEXITSTATUS(st) : -1;
		if (blind) {
			skip("%s: %s: under ASan even the bare child dies",
			    role_name(p->id), p->what);
			continue;
		}
		/* If the bare child dies, no other result means anything. */
		if (UNDER_ASAN && p->fn == p_nothing && killed)
			blind = 1;
		if (p->expect == KILLED) {
			ok(killed, "%s: %s is killed with SIGSYS",
			    role_name(p->id), p->what);
		} else if (killed && UNDER_ASAN) {
			skip("%s: %s: SIGSYS under ASan, whose runtime "
			    "makes calls of its own", role_name(p->id),
			    p->what);
		} else
			ok(exited && code == 0, "%s: %s", role_name(p->id),
			    p->what);
		if (!(exited && code == 0) && !killed)
			diag("child %s %d", exited ? "exited" : "signal",
			    exited ? code : WTERMSIG(st));
		else if (killed && p->expect == ALIVE)
			diag("child died of SIGSYS");
		else if (!killed && p->expect == KILLED)
			diag("child survived");
	}
	install_other(PROC_MASTER);
	install_other(TEST_ROLE == PROC_API ? PROC_LOGD : PROC_API);
	return (done_testing());
}
