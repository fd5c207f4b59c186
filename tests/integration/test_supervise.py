#!/usr/bin/env python3
"""Supervision and signals: workers come back after kill -9, too many
deaths make dkd give up, SIGTERM stops everything cleanly, SIGHUP and
dkctl reload apply good configurations and refuse broken ones, dkd -n
checks files, and a worker that cannot be executed is retried."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (DKD, LIBEXEC, WORKERS, Dkd, Failure, Skip, all_pids,
                     check, eq, parse_status_table, proc_alive, proc_comm,
                     proc_pgid, proc_status, run_tests, user_ids, wait_until)

shared = {}


def wait_running(d, role, pid, timeout):
    """dkctl shows role running (sandboxed and ready) with this pid."""
    def ok():
        p = d.status_of(role)
        return p["pid"] == pid and p["state"] == "running"
    return wait_until(ok, timeout, 0.05)


def kill_test(comm):
    role, user = WORKERS[comm]

    def t():
        d = Dkd("kill-" + role).start()
        before = d.workers()
        old = before[comm]
        os.kill(old, signal.SIGKILL)
        t0 = time.monotonic()

        def back():
            new = d.worker(comm)
            if new and new != old and d.health_status(timeout=1) == 200:
                return new
            return None
        new = wait_until(back, 3.0)
        took = time.monotonic() - t0
        check(new, "no new %s answering health 200 within 3 s of kill -9 "
              "(children now %s, health %s)"
              % (comm, d.workers(), d.health_status(timeout=1)))
        check(d.alive(), "dkd exited after one worker died")
        check(not proc_alive(old), "the killed %s (%d) is still there"
              % (comm, old))
        check(wait_running(d, role, new, 3.0 - took + 1.0),
              "dkctl does not show %s running as pid %d: %s"
              % (role, new, d.status_of(role)))

        r = d.dkctl("status")
        eq(r.returncode, 0, "dkctl status exit status (stderr %r)"
           % r.stderr)
        tab = parse_status_table(r.stdout)
        eq(tab["procs"][role]["restarts"], "1",
           "RESTARTS of %s in\n%s" % (role, r.stdout))
        eq(tab["procs"][role]["pid"], str(new), "PID of %s" % role)
        for other in ("api", "reconciler", "logd"):
            if other != role:
                eq(tab["procs"][other]["restarts"], "0",
                   "RESTARTS of untouched %s in\n%s" % (other, r.stdout))
        # The untouched workers kept running, the new one is jailed again.
        for c, pid in before.items():
            if c != comm:
                eq(d.worker(c), pid, "pid of untouched %s" % c)
        uid, gid = user_ids(user)
        st = proc_status(new)
        eq(st["Uid"].split(), [str(uid)] * 4, "uid of the new %s" % comm)
        eq(st["Gid"].split(), [str(gid)] * 4, "gid of the new %s" % comm)
        eq(st["Seccomp"], "2", "Seccomp of the new %s" % comm)
        eq(st["NoNewPrivs"], "1", "NoNewPrivs of the new %s" % comm)
    return t


def test_give_up():
    d = Dkd("giveup", keep=True).start()
    shared["giveup"] = d
    comm = "dkd-reconciler"
    delays = []
    for i in range(5):
        old = d.worker(comm)
        check(old, "no %s before kill %d" % (comm, i + 1))
        os.kill(old, signal.SIGKILL)
        t0 = time.monotonic()
        new = wait_until(lambda: (d.worker(comm) not in (None, old)
                                  and d.worker(comm)), 2 ** i + 5, 0.02)
        delays.append(time.monotonic() - t0)
        check(new, "%s not back %.1f s after kill %d (dkctl: %s; "
              "children: %s)" % (comm, delays[-1], i + 1,
                                 d.alive() and d.status_of("reconciler"),
                                 d.workers()))
        check(d.alive(), "dkd exited after only %d deaths" % (i + 1))
        check(wait_running(d, "reconciler", new, 5),
              "new %s %d never reached running" % (comm, new))
    shared["delays"] = delays
    last = d.worker(comm)
    os.kill(last, signal.SIGKILL)
    rc = d.wait_exit(10)
    check(rc is not None, "dkd still runs 10 s after the sixth worker death"
          " within %.0f s" % sum(delays))
    check(rc != 0, "dkd gave up with exit status 0")
    lines = [l for l in d.log().splitlines() if "giving up" in l]
    check(lines, "no log line mentions 'giving up'")
    diag_line = lines[0]
    check("300 seconds" in diag_line or "within" in diag_line,
          "unexpected give-up line %r" % diag_line)


def test_backoff_doubles():
    delays = shared.get("delays")
    check(delays is not None, "the give-up test did not get that far")
    want = [1, 2, 4, 8, 16]
    for got, w in zip(delays, want):
        check(w - 0.3 <= got <= w + 1.5,
              "restart delays %s do not follow %s (+/- scheduling)"
              % (["%.2f" % x for x in delays], want))


def test_no_orphans():
    d = shared.get("giveup")
    check(d is not None and d.rc is not None, "dkd did not give up")
    seen = sorted(d.seen)

    def none_left():
        left = [p for p in seen if proc_alive(p) and proc_comm(p) in WORKERS]
        left += [p for p in all_pids() if proc_comm(p) in WORKERS
                 and proc_pgid(p) == d.pid and proc_alive(p)]
        return not left
    check(wait_until(none_left, 5), "dkd-* workers survive the master: %s"
          % {p: proc_comm(p) for p in seen if proc_alive(p)})


def test_sigterm():
    d = Dkd("sigterm").start()
    w = d.workers()
    d.signal(signal.SIGTERM)
    t0 = time.monotonic()
    rc = d.wait_exit(5)
    check(rc is not None, "dkd still running 5 s after SIGTERM")
    eq(rc, 0, "dkd exit status after SIGTERM")
    gone = wait_until(lambda: not any(proc_alive(p) for p in w.values()),
                      max(0.1, 5 - (time.monotonic() - t0)))
    check(gone, "workers still running 5 s after SIGTERM: %s"
          % {c: p for c, p in w.items() if proc_alive(p)})
    check(not os.path.exists(d.sock), "control socket %s left behind"
          % d.sock)
    log = d.log()
    check("did not stop in time" not in log,
          "a worker had to be killed instead of stopping on SIGTERM")
    check("lost " not in log and "restarting" not in log,
          "the stop was taken for a crash")
    s = socket.socket()
    s.settimeout(2)
    try:
        refused = s.connect_ex(("127.0.0.1", d.port)) != 0
    finally:
        s.close()
    check(refused, "port %d still accepts connections after the stop"
          % d.port)


def test_sd_notify():
    """READY=1 once all workers are up, STOPPING=1 at SIGTERM."""
    d = Dkd("notify")
    path = os.path.join(d.dir, "notify.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(path)
    rx.settimeout(15)
    try:
        env = dict(os.environ, NOTIFY_SOCKET=path)
        d.start(env=env, wait=False)
        msg = rx.recv(4096).decode()
        check("READY=1" in msg.split("\n"), "first notification %r" % msg)
        # By then every worker has reported in.
        eq(d.status_json()["processes"][0]["state"], "running",
           "master state at READY")
        for p in d.status_json()["processes"][1:]:
            eq(p["state"], "running", "%s state at READY" % p["name"])
        for pid in d.workers().values():
            env_area = open("/proc/%d/environ" % pid, "rb").read()
            check(b"NOTIFY_SOCKET" not in env_area,
                  "a worker inherited NOTIFY_SOCKET")
        d.signal(signal.SIGTERM)
        msg = rx.recv(4096).decode()
        check("STOPPING=1" in msg.split("\n"), "notification at SIGTERM "
              "%r" % msg)
        eq(d.wait_exit(5), 0, "exit status")
    finally:
        rx.close()


# ---- reload: one dkd for the three reload checks

BROKEN_LINE = "frobnicate yes"


def reload_dkd():
    if "reload" not in shared:
        shared["reload"] = Dkd("reload", keep=True).start()
    return shared["reload"]


def write_broken(d, extra=()):
    """Broken on its last line; also tries to change cors-origin, which
    must not take effect."""
    text = d.conf_text(extra_lines=list(extra) + [BROKEN_LINE])
    d.write_conf(text)
    return len(text.splitlines())


def cors(d):
    r = d.http("OPTIONS", "/api/health")
    eq(r.status, 204, "OPTIONS /api/health status")
    return r.header("Access-Control-Allow-Origin")


def test_hup_broken():
    d = reload_dkd()
    eq(cors(d), "*", "Access-Control-Allow-Origin before any reload")
    line = write_broken(d, ['cors-origin "https://broken.test"'])
    off = d.log_size()
    d.signal(signal.SIGHUP)
    want = "configuration has errors, not reloading: %s:%d:" % (d.conf, line)
    check(d.wait_log(want, 5, off), "log lacks %r after SIGHUP" % want,
          "log since SIGHUP: %r" % d.log_since(off))
    check(d.alive(), "dkd died on SIGHUP with a broken file")
    eq(d.health_status(), 200, "GET /api/health after the failed reload")
    eq(cors(d), "*", "cors-origin after a rejected reload (must not change)")
    check("configuration reloaded" not in d.log_since(off),
          "log claims the broken file was loaded")


def test_hup_fixed():
    d = reload_dkd()
    d.write_conf(d.conf_text(extra_lines=['cors-origin "https://example.test"']))
    off = d.log_size()
    d.signal(signal.SIGHUP)
    check(d.wait_log("configuration reloaded", 5, off),
          "no 'configuration reloaded' after SIGHUP with a good file",
          "log since SIGHUP: %r" % d.log_since(off))
    got = wait_until(lambda: cors(d) == "https://example.test" and True, 3)
    check(got, "Access-Control-Allow-Origin is %r, want "
          "'https://example.test' after the reload" % cors(d))
    r = d.get("/api/health")
    eq(r.status, 200, "health after reload")
    eq(r.header("Access-Control-Allow-Origin"), "https://example.test",
       "Access-Control-Allow-Origin on GET /api/health")


def test_dkctl_reload():
    d = reload_dkd()
    line = write_broken(d, ['cors-origin "https://broken.test"'])
    r = d.dkctl("reload")
    eq(r.returncode, 1, "dkctl reload exit status with a broken file "
       "(stdout %r, stderr %r)" % (r.stdout, r.stderr))
    loc = "%s:%d:" % (d.conf, line)
    check(loc in r.stderr, "dkctl reload does not print the error %r: "
          "stderr %r" % (loc, r.stderr))
    check("frobnicate" in r.stderr, "the error does not name the bad "
          "setting: %r" % r.stderr)
    eq(d.health_status(), 200, "health after the refused reload")
    eq(cors(d), "https://example.test", "cors-origin after refused reload")
    # and the positive case, so that the exit status means something
    d.write_conf(d.conf_text(extra_lines=['cors-origin "https://second.test"']))
    r = d.dkctl("reload")
    eq(r.returncode, 0, "dkctl reload exit status with a good file "
       "(stderr %r)" % r.stderr)
    check("command succeeded" in r.stdout, "stdout %r" % r.stdout)
    check(wait_until(lambda: cors(d) == "https://second.test", 3),
          "cors-origin not applied by dkctl reload: %r" % cors(d))


# ---- dkd -n

def configtest(args, conf):
    return subprocess.run([DKD] + args + ["-f", conf], capture_output=True,
                          text=True, timeout=15, stdin=subprocess.DEVNULL)


def test_n_good():
    d = Dkd("n-good")
    r = configtest(["-n"], d.conf)
    eq(r.returncode, 0, "dkd -n exit status (stderr %r)" % r.stderr)
    check("configuration OK" in r.stdout + r.stderr,
          "no 'configuration OK': stdout %r stderr %r" % (r.stdout, r.stderr))
    check(not os.path.exists(d.sock) and not os.path.exists(d.db),
          "dkd -n created the socket or database: %s"
          % os.listdir(d.dir))


def test_n_bad():
    d = Dkd("n-bad")
    text = d.conf_text(extra_lines=["log-level loud"])
    line = len(text.splitlines())
    d.write_conf(text)
    r = configtest(["-n"], d.conf)
    eq(r.returncode, 1, "dkd -n exit status on a bad file (stderr %r)"
       % r.stderr)
    loc = "%s:%d:" % (d.conf, line)
    check(loc in r.stderr, "error lacks %r: %r" % (loc, r.stderr))
    check("configuration OK" not in r.stdout + r.stderr,
          "a bad file reported OK")


def test_nv_prints():
    d = Dkd("nv", cors_origin="https://nv.test")
    r = configtest(["-nv"], d.conf)
    eq(r.returncode, 0, "dkd -nv exit status (stderr %r)" % r.stderr)
    for want in ('listen "127.0.0.1:%d"' % d.port, 'database "%s"' % d.db,
                 'control-socket "%s"' % d.sock, 'log-dir "%s"' % d.logdir,
                 'cors-origin "https://nv.test"', "log-level info",
                 "reconcile-interval 30s", "readiness-window 10s"):
        check(want in r.stdout, "dkd -nv output lacks %r:\n%s"
              % (want, r.stdout))
    check("configuration OK" in r.stdout + r.stderr, "no 'configuration OK'")


def test_exec_retry():
    """The installed dkd-logd is hidden behind a non-executable file by a
    bind mount in a private mount namespace that only this dkd sees; no
    binary is changed.  Unmounting it lets the next retry succeed."""
    for tool in ("unshare", "nsenter", "mount", "umount"):
        if shutil.which(tool) is None:
            raise Skip("%s is not installed" % tool)
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private",
                            "true"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        raise Skip("cannot create a mount namespace: %r" % probe.stderr)
    d = Dkd("noexec")
    target = os.path.join(LIBEXEC, "dkd-logd")
    blocker = os.path.join(d.dir, "not-a-program")
    with open(blocker, "w") as f:
        f.write("not a program\n")
    os.chmod(blocker, 0o644)

    def wrap(cmd):
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh",
                blocker, target] + cmd
    d.start(wrap=wrap, wait=False)
    check(wait_until(lambda: d.log().count("lost logd") >= 2 or
                     not d.alive(), 8) and d.alive(),
          "dkd did not retry the unexecutable dkd-logd twice (alive: %s)"
          % d.alive())
    check(wait_until(lambda: d.health_status(timeout=1) == 200, 5),
          "the API does not answer while logd cannot start")
    check("restarting logd" in d.log(), "no 'restarting logd' in the log")
    r = subprocess.run(["nsenter", "--mount=/proc/%d/ns/mnt" % d.pid,
                        "umount", target], capture_output=True, text=True,
                       timeout=10)
    eq(r.returncode, 0, "umount in dkd's namespace (%r)" % r.stderr)
    logd = wait_until(lambda: d.worker("dkd-logd"), 10)
    check(logd, "dkd-logd never started after it became executable")
    check(wait_running(d, "logd", logd, 5),
          "logd not running: %s" % d.status_of("logd"))
    p = d.status_of("logd")
    check(p["restarts"] >= 2, "restarts of logd %d, expected >= 2"
          % p["restarts"])
    check(d.alive(), "dkd exited")


def test_verbose_file_log():
    """dkd -d -v with its stderr on a regular file, as in `dkd -d -v
    2>>dkd.log`: every process logs at debug from the start, and the
    workers must survive writing those lines."""
    d = Dkd("verbose-file")
    d.start(args=["-v"], wait=False)
    ready = wait_until(lambda: d.alive() and d.health_status(timeout=1) ==
                       200 and "ready: all workers are running" in d.log(),
                       10)
    time.sleep(1)       # a second in which a dying worker would show
    killed = [l for l in d.log().splitlines() if "killed by signal" in l
              or "giving up" in l]
    check(not killed, "workers die while logging at debug to a file: %s"
          % killed[:4])
    check(ready and d.alive(), "dkd -v did not come up (alive: %s)"
          % d.alive())
    st = d.status_json()
    check(st is not None and all(p["restarts"] == 0 for p in
                                 st["processes"]),
          "workers restarted: %s" % (st and st["processes"]))
    check(any(": debug: " in l and "dkd-api[" in l for l in
              d.log().splitlines()), "dkd-api logged no debug line")


run_tests([
    ("sd_notify: READY=1 once all workers run, STOPPING=1 on SIGTERM, "
     "workers never see NOTIFY_SOCKET", test_sd_notify),
    ("kill -9 dkd-api: a new dkd-api answers health within 3 s, restarts 1",
     kill_test("dkd-api")),
    ("kill -9 dkd-reconciler: a new one within 3 s, restarts 1",
     kill_test("dkd-reconciler")),
    ("kill -9 dkd-logd: a new one within 3 s, restarts 1",
     kill_test("dkd-logd")),
    ("six worker deaths within a minute: dkd gives up, exits non-zero, "
     "logs 'giving up' (~31 s)", test_give_up),
    ("restart delay doubles: 1, 2, 4, 8, 16 s", test_backoff_doubles),
    ("after giving up no dkd-* worker survives the master", test_no_orphans),
    ("SIGTERM: all four processes end, status 0 within 5 s, socket removed",
     test_sigterm),
    ("SIGHUP with a broken file: keeps serving, logs file:line, keeps old "
     "settings", test_hup_broken),
    ("SIGHUP with a fixed file applies cors-origin https://example.test",
     test_hup_fixed),
    ("dkctl reload on a broken file exits 1 with file:line; a good file "
     "applies", test_dkctl_reload),
    ("dkd -n -f good.conf: exit 0, 'configuration OK', nothing created",
     test_n_good),
    ("dkd -n -f bad.conf: exit 1 with file:line", test_n_bad),
    ("dkd -nv prints the parsed configuration", test_nv_prints),
    ("a worker the master cannot exec is retried until it can be",
     test_exec_retry),
    ("dkd -d -v with stderr on a file: workers survive logging at debug",
     test_verbose_file_log),
])
