#!/usr/bin/env python3
"""Privilege separation as seen from outside: users, groups, capabilities,
seccomp, chroots, who holds the database and the listening socket, file
modes and the workers' environment.  One dkd serves most checks; the
refusals of a bad jail start their own."""

import os
import shutil
import stat
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (WWW, Dkd, WORKERS, all_pids, check, docker_gid, eq,
                     proc_children, proc_fds, proc_status, read_text,
                     run_tests, user_ids)

SECRET = "DKD_TEST_SECRET=leaked-%d" % os.getpid()
_d = None


def dkd():
    """The shared dkd, started with an extra variable in its environment
    that must not reach the workers."""
    global _d
    if _d is None:
        _d = Dkd("privsep", keep=True, docker=True)
        env = dict(os.environ)
        k, v = SECRET.split("=", 1)
        env[k] = v
        _d.start(env=env)
    return _d


def workers():
    w = dkd().workers()
    check(set(w) == set(WORKERS), "workers: expected %s, found %s"
          % (sorted(WORKERS), w))
    return w


def test_four_processes():
    d = dkd()
    eq(read_text("/proc/%d/comm" % d.pid).strip(), "dkd", "master comm")
    eq(proc_status(d.pid)["Uid"].split(), ["0"] * 4, "master uid")
    kids = proc_children(d.pid)
    w = d.workers()
    eq(sorted(w), sorted(WORKERS), "comm of the master's children")
    eq(len(kids), 3, "number of children of the master (%s)" % kids)
    for comm, pid in w.items():
        eq(int(proc_status(pid)["PPid"]), d.pid, "%s parent" % comm)


def test_uids():
    seen = {}
    for comm, pid in workers().items():
        uid, _ = user_ids(WORKERS[comm][1])
        ids = [int(x) for x in proc_status(pid)["Uid"].split()]
        eq(ids, [uid] * 4, "%s real/effective/saved/fs uid (user %s)"
           % (comm, WORKERS[comm][1]))
        check(uid != 0, "%s runs as root" % comm)
        seen[comm] = uid
    check(len(set(seen.values())) == 3, "workers share a uid: %s" % seen)


def test_gids():
    for comm, pid in workers().items():
        _, gid = user_ids(WORKERS[comm][1])
        ids = [int(x) for x in proc_status(pid)["Gid"].split()]
        eq(ids, [gid] * 4, "%s real/effective/saved/fs gid" % comm)
        check(gid != 0, "%s runs with gid 0" % comm)


def test_capabilities():
    for comm, pid in workers().items():
        st = proc_status(pid)
        for field in ("CapEff", "CapPrm", "CapAmb"):
            eq(int(st[field], 16), 0, "%s %s" % (comm, field))


def test_nnp_seccomp():
    for comm, pid in workers().items():
        st = proc_status(pid)
        eq(st.get("NoNewPrivs"), "1", "%s NoNewPrivs" % comm)
        eq(st.get("Seccomp"), "2", "%s Seccomp (2 = filter)" % comm)


def test_api_chroot():
    pid = workers()["dkd-api"]
    www = os.path.realpath(dkd().settings["www"])
    eq(os.readlink("/proc/%d/root" % pid), www, "dkd-api root")
    eq(os.readlink("/proc/%d/cwd" % pid), www, "dkd-api cwd (/ in jail)")


def test_logd_chroot():
    pid = workers()["dkd-logd"]
    logdir = os.path.realpath(dkd().logdir)
    eq(os.readlink("/proc/%d/root" % pid), logdir, "dkd-logd root")
    eq(os.readlink("/proc/%d/cwd" % pid), os.path.join(logdir, "data"),
       "dkd-logd cwd (/data in jail)")


def test_reconciler_not_chrooted():
    pid = workers()["dkd-reconciler"]
    eq(os.readlink("/proc/%d/root" % pid), "/", "dkd-reconciler root")
    eq(os.readlink("/proc/%d/cwd" % pid), "/", "dkd-reconciler cwd")


def test_db_only_master():
    d = dkd()
    db = os.path.realpath(d.db)
    names = {db, db + "-wal", db + "-shm"}
    holders = {}
    for pid in all_pids():
        try:
            fds = proc_fds(pid)
        except OSError:
            continue        # gone, or a kernel thread
        for fd, link in fds.items():
            if link.replace(" (deleted)", "") in names:
                holders.setdefault(pid, set()).add(link)
        # mmap'd without an fd (the -shm index) counts as holding it too
        try:
            maps = read_text("/proc/%d/maps" % pid)
        except OSError:
            continue
        for line in maps.splitlines():
            f = line.split(None, 5)
            if len(f) == 6 and f[5].replace(" (deleted)", "") in names:
                holders.setdefault(pid, set()).add("mmap " + f[5])
    check(d.pid in holders and db in holders[d.pid],
          "the master does not hold %s open (holders: %s)" % (db, holders))
    others = {p: h for p, h in holders.items() if p != d.pid}
    check(not others, "processes other than the master (%d) hold the "
          "database: %s" % (d.pid, {p: (read_text("/proc/%d/comm" % p)
                                         .strip(), sorted(h))
                                     for p, h in others.items()}))


def test_groups():
    dgid = docker_gid()
    check(dgid is not None, "getent group docker found no group docker")
    for comm, pid in workers().items():
        groups = [int(g) for g in proc_status(pid)["Groups"].split()]
        if comm == "dkd-reconciler":
            eq(groups, [dgid], "dkd-reconciler supplementary groups")
        else:
            eq(groups, [], "%s supplementary groups" % comm)


def test_db_mode():
    d = dkd()
    for path in (d.db, d.db + "-wal", d.db + "-shm"):
        if path != d.db and not os.path.exists(path):
            continue
        st = os.stat(path)
        eq((st.st_uid, st.st_gid), (0, 0), "owner of %s" % path)
        eq(oct(stat.S_IMODE(st.st_mode)), oct(0o600), "mode of %s" % path)


def test_socket_mode():
    d = dkd()
    st = os.stat(d.sock)
    check(stat.S_ISSOCK(st.st_mode), "%s is not a socket" % d.sock)
    eq(st.st_uid, 0, "control socket owner")
    eq(oct(stat.S_IMODE(st.st_mode)), oct(0o660), "control socket mode")


def test_logdir_mode():
    d = dkd()
    st = os.stat(d.logdir)
    eq((st.st_uid, st.st_gid), (0, 0), "log dir (logd's root) owner")
    eq(oct(stat.S_IMODE(st.st_mode)), oct(0o755), "log dir mode")
    data = os.path.join(d.logdir, "data")
    st = os.lstat(data)
    check(stat.S_ISDIR(st.st_mode), "%s is not a directory" % data)
    uid, gid = user_ids("_dkd_log")
    eq((st.st_uid, st.st_gid), (uid, gid), "log data dir owner")
    eq(oct(stat.S_IMODE(st.st_mode)), oct(0o700), "log data dir mode")


def test_www_mode():
    www = os.path.realpath(dkd().settings["www"])
    st = os.stat(www)
    eq(st.st_uid, 0, "owner of the www dir (dkd-api's root)")
    eq(oct(stat.S_IMODE(st.st_mode) & 0o022), oct(0),
       "group/other write bits of the www dir (mode %o)"
       % stat.S_IMODE(st.st_mode))


def as_user(user, fn):
    """Run fn() in a child with user's uid and gid and no supplementary
    groups, as the jailed worker has; -> what fn returned (a small int)."""
    uid, gid = user_ids(user)
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            code = fn()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    check(os.WIFEXITED(status), "child as %s died: %r" % (user, status))
    return os.WEXITSTATUS(status)


def try_create(path):
    """0: created (and removed) a file in directory path; 1: refused."""
    name = os.path.join(path, ".dkd-write-probe")
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except PermissionError:
        return 1
    os.close(fd)
    os.unlink(name)
    return 0


def test_jails_not_writable():
    """Each worker's root, as the kernel shows it in /proc/PID/root, is not
    writable by the worker's uid: no access(W_OK), and creating a file
    fails.  logd can create a file in its data directory."""
    w = workers()
    for comm in ("dkd-api", "dkd-logd"):
        root = os.readlink("/proc/%d/root" % w[comm])
        user = WORKERS[comm][1]
        eq(as_user(user, lambda: 0 if os.access(root, os.W_OK) else 1), 1,
           "%s's uid has write access to its root %s" % (comm, root))
        eq(as_user(user, lambda: try_create(root)), 1,
           "%s's uid can create a file in its root %s" % (comm, root))
    data = os.readlink("/proc/%d/cwd" % w["dkd-logd"])
    eq(as_user("_dkd_log", lambda: try_create(data)), 0,
       "dkd-logd's uid cannot create a file in its data dir %s" % data)
    for comm in ("dkd-api", "dkd-reconciler"):
        eq(as_user(WORKERS[comm][1], lambda: try_create(data)), 1,
           "%s's uid can create a file in logd's data dir" % comm)


def refused_start(name, what, setup, message):
    """dkd with a jail that setup() spoils must exit non-zero at start,
    saying message, and start no worker."""
    d = Dkd(name, docker=True)
    setup(d)
    d.start(wait=False)
    rc = d.wait_exit(10)
    check(rc is not None, "dkd runs with %s" % what, *d.log_tail())
    check(rc != 0, "dkd exited 0 with %s" % what)
    check(message in d.log(), "no %r in the log" % message, *d.log_tail())
    check("started" not in d.log() and "ready" not in d.log(),
          "a worker started with %s" % what, *d.log_tail())


def copy_www(d, uid, gid, mode):
    www = os.path.join(d.dir, "www")
    shutil.copytree(WWW, www, symlinks=True)
    os.chown(www, uid, gid)
    os.chmod(www, mode)
    d.settings["www"] = www
    d.write_conf()


def test_www_owned_by_api():
    uid, gid = user_ids("_dkd_api")
    refused_start("www-owner", "a www dir owned by _dkd_api",
                  lambda d: copy_www(d, uid, 0, 0o755),
                  "is owned by _dkd_api")


def test_www_group_writable():
    _, gid = user_ids("_dkd_api")
    refused_start("www-group", "a www dir writable by _dkd_api's group",
                  lambda d: copy_www(d, 0, gid, 0o775),
                  "is writable by the group of _dkd_api")


def test_www_other_group_writable():
    """Group-writable by a group the api is not in is fine."""
    d = Dkd("www-othergroup", docker=True)
    copy_www(d, 0, 0, 0o775)
    d.start()
    eq(d.health_status(), 200, "health with a www dir writable by root's "
       "group")


def test_logdir_link_not_followed():
    """An older dkd gave logd its whole log dir; a link to elsewhere left
    there as data must not be followed, chowned to logd and used."""
    target = tempfile.mkdtemp(prefix="dkdtest.target.", dir="/tmp")
    try:
        def setup(d):
            uid, gid = user_ids("_dkd_log")
            os.mkdir(d.logdir, 0o700)
            os.chown(d.logdir, uid, gid)
            os.symlink(target, os.path.join(d.logdir, "data"))
        refused_start("logdir-link", "a link as the log data dir", setup,
                      "log data directory")
        st = os.stat(target)
        eq((st.st_uid, st.st_gid, oct(stat.S_IMODE(st.st_mode))),
           (0, 0, oct(0o700)), "owner and mode of the link's target")
    finally:
        shutil.rmtree(target, ignore_errors=True)


def listen_inodes(pid, port):
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = read_text("/proc/%d/net/%s" % (pid, table)).splitlines()
        except OSError:
            continue
        for line in lines[1:]:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "0A":
                inodes.add(f[9])
    return inodes


def test_listen_socket():
    d = dkd()
    w = workers()
    inodes = listen_inodes(d.pid, d.port)
    check(inodes, "no listening TCP socket on port %d in /proc/net/tcp"
          % d.port)
    links = {"socket:[%s]" % i for i in inodes}
    holders = set()
    for pid in all_pids():
        try:
            if links & set(proc_fds(pid).values()):
                holders.add(pid)
        except OSError:
            pass
    names = {pid: read_text("/proc/%d/comm" % pid).strip()
             for pid in holders if os.path.exists("/proc/%d" % pid)}
    check(d.pid in holders, "the master does not hold the listening socket "
          "(holders: %s)" % names)
    check(w["dkd-api"] in holders, "dkd-api does not hold the listening "
          "socket passed by the master (holders: %s)" % names)
    for comm in ("dkd-reconciler", "dkd-logd"):
        check(w[comm] not in holders, "%s holds the listening socket" % comm)
    eq(holders, {d.pid, w["dkd-api"]}, "holders of the listening socket %s"
       % names)


def test_environment():
    for comm, pid in workers().items():
        with open("/proc/%d/environ" % pid, "rb") as f:
            raw = f.read()
        entries = [e for e in raw.split(b"\0") if e.strip(b"\0 ")]
        # setproctitle may blank the area, but it cannot grow it: the
        # length is what the worker was started with.
        check(SECRET.encode() not in raw and b"DKD_TEST_SECRET" not in raw,
              "%s inherited the master's environment: %r" % (comm, raw))
        check(all(e == b"TZ=UTC" for e in entries),
              "%s environment has more than TZ=UTC: %r" % (comm, entries))
        check(len(raw) <= len(b"TZ=UTC\0"),
              "%s was started with a %d-byte environment, more than "
              "TZ=UTC: %r" % (comm, len(raw), raw[:200]))


run_tests([
    ("four processes: master dkd and its children dkd-api, dkd-reconciler,"
     " dkd-logd", test_four_processes),
    ("each worker has its own non-root uid (_dkd_api/_dkd_rec/_dkd_log)",
     test_uids),
    ("each worker has its user's non-root gid", test_gids),
    ("workers have no capabilities (CapEff, CapPrm, CapAmb = 0)",
     test_capabilities),
    ("workers have NoNewPrivs 1 and Seccomp 2", test_nnp_seccomp),
    ("dkd-api is chrooted to the www directory", test_api_chroot),
    ("dkd-logd is chrooted to the log directory", test_logd_chroot),
    ("dkd-reconciler is not chrooted and runs in /",
     test_reconciler_not_chrooted),
    ("only the master has the database (and -wal/-shm) open, machine-wide",
     test_db_only_master),
    ("only dkd-reconciler is in the docker group; others have no "
     "supplementary groups", test_groups),
    ("database (and -wal/-shm) owned by root, mode 0600", test_db_mode),
    ("control socket owned by root, mode 0660", test_socket_mode),
    ("log dir (logd's root) owned by root, mode 0755; its data dir owned "
     "by _dkd_log, mode 0700", test_logdir_mode),
    ("www dir (dkd-api's root) owned by root, no group/other write",
     test_www_mode),
    ("no worker's uid can write into its own root; logd writes in its "
     "data dir", test_jails_not_writable),
    ("dkd refuses a www dir owned by the api user", test_www_owned_by_api),
    ("dkd refuses a www dir writable by the api user's group",
     test_www_group_writable),
    ("dkd takes a www dir writable by another group",
     test_www_other_group_writable),
    ("dkd does not follow a link left as the log data dir",
     test_logdir_link_not_followed),
    ("listening API socket held only by the master and dkd-api",
     test_listen_socket),
    ("workers' environment holds nothing but TZ=UTC", test_environment),
])
