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
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sandbox.h"

static void	sandbox_verify(const struct sandbox_cfg *);
static void	sandbox_rlimit(int, rlim_t);

/*
 * Give up everything a worker does not need, in the order that keeps
 * each step possible: chroot while still root, groups before gids
 * before uids, verify, then no_new_privs and the seccomp allow-list.
 * Any failure is fatal: a worker never runs half-jailed.
 */
void
sandbox_enter(const struct sandbox_cfg *sc, enum dkd_proc_id id)
{
	gid_t	 groups[1];
	int	 ngroups = 0;

	if (!sc->received)
		fatalx("%s: no sandbox configuration from the master",
		    __func__);
	if (!DKD_SANDBOX) {
		log_warnx("sandbox disabled at build time (sanitizer build)");
		/* No jail, but the same working directory as in one. */
		if (sc->workdir != NULL && (chdir(sc->chroot) == -1 ||
		    chdir(sc->workdir) == -1))
			fatal("chdir %s/%s", sc->chroot, sc->workdir);
		return;
	}
	if (sc->chroot[0] != '\0') {
		if (chroot(sc->chroot) == -1)
			fatal("chroot %s", sc->chroot);
	}
	if (chdir("/") == -1)
		fatal("chdir /");
	if (sc->workdir != NULL && chdir(sc->workdir) == -1)
		fatal("chdir %s", sc->workdir);

	/* The docker group is root-equivalent; only the reconciler has it. */
	if (sc->extra_gid != (gid_t)-1)
		groups[ngroups++] = sc->extra_gid;
	if (setgroups(ngroups, groups) == -1 ||
	    setresgid(sc->gid, sc->gid, sc->gid) == -1 ||
	    setresuid(sc->uid, sc->uid, sc->uid) == -1)
		fatal("cannot drop privileges");
	sandbox_verify(sc);

	/* Cleared by the uid change, so set after it; then close the race. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		fatal("prctl PR_SET_PDEATHSIG");
	if (getppid() != sc->master_pid)
		fatalx("master went away during start");

	/*
	 * No core files, and no children where none are needed.  Not
	 * RLIMIT_FSIZE: stderr may be a log file, and a write past the
	 * limit is SIGXFSZ.  seccomp keeps files from being opened.
	 */
	sandbox_rlimit(RLIMIT_CORE, 0);
	if (id != PROC_RECONCILER)
		sandbox_rlimit(RLIMIT_NPROC, 0);

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl PR_SET_NO_NEW_PRIVS");
	if (seccomp_install(id) == -1)
		fatal("seccomp");
}

static void
sandbox_rlimit(int resource, rlim_t value)
{
	struct rlimit	 rl;

	rl.rlim_cur = rl.rlim_max = value;
	if (setrlimit(resource, &rl) == -1)
		fatal("setrlimit %d", resource);
}

/* Check the drop stuck, as OpenSSH's permanently_set_uid does. */
static void
sandbox_verify(const struct sandbox_cfg *sc)
{
	uid_t	 ruid, euid, suid;
	gid_t	 rgid, egid, sgid, groups[4];
	int	 n;

	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1)
		fatal("getres[ug]id");
	if (ruid != sc->uid || euid != sc->uid || suid != sc->uid ||
	    rgid != sc->gid || egid != sc->gid || sgid != sc->gid)
		fatalx("privilege drop left other ids behind");
	if ((n = getgroups(nitems(groups), groups)) == -1)
		fatal("getgroups");
	if (n > 1 || (n == 1 && groups[0] != sc->extra_gid) ||
	    (n == 0 && sc->extra_gid != (gid_t)-1))
		fatalx("privilege drop left supplementary groups behind");
	if (sc->uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		fatalx("privilege drop did not stick");
	if (sc->gid != 0 && (setgid(0) != -1 || setegid(0) != -1))
		fatalx("group drop did not stick");
}
