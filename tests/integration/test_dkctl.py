#!/usr/bin/env python3
"""dkctl against a real dkd and the real dockerd: status (table and JSON),
Docker unreachable, log levels, keyword abbreviations, argument errors,
the control socket's permissions and its refusal of a second dkd."""

import json
import os
import signal
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (NOBODY, WORKERS, Dkd, Failure, Skip, check, diag, eq,
                     parse_status_table, run_tests, wait_until)

shared = {}


def main_dkd():
    """The shared dkd talking to the real dockerd."""
    if "main" not in shared:
        d = Dkd("dkctl", keep=True, docker=True).start()
        shared["main"] = d
        ok = wait_until(lambda: d.status_json()["docker"]["reachable"], 10,
                        0.1)
        check(ok, "dkctl status never showed Docker reachable: %s"
              % d.status_json()["docker"])
    return shared["main"]


def nodocker_dkd():
    if "nodocker" not in shared:
        d = Dkd("nodocker", keep=True)
        d.settings["docker-socket"] = os.path.join(d.dir, "no-docker.sock")
        d.write_conf()
        d.start()
        shared["nodocker"] = d
        shared["nodocker_workers"] = d.workers()
    return shared["nodocker"]


def status_table(d, *args):
    r = d.dkctl(*(args or ("status",)))
    eq(r.returncode, 0, "dkctl %s exit status (stderr %r)"
       % (" ".join(args or ("status",)), r.stderr))
    return r, parse_status_table(r.stdout)


def docker_cli_version():
    try:
        r = subprocess.run(["docker", "version", "--format",
                            "{{.Server.Version}}"], capture_output=True,
                           text=True, timeout=30)
    except FileNotFoundError:
        raise Skip("the docker CLI is not installed")
    check(r.returncode == 0, "docker version failed: %r" % r.stderr)
    return r.stdout.strip()


def test_status_docker():
    d = main_dkd()
    want = docker_cli_version()
    r, tab = status_table(d)
    eq(tab["docker"].get("state"), "reachable", "DOCKER line in\n%s"
       % r.stdout)
    eq(tab["docker"].get("server"), want,
       "Docker server version (docker version says %r)" % want)
    eq(tab["docker"].get("API"), "1.41", "Docker API version")


def test_status_processes():
    d = main_dkd()
    r, tab = status_table(d)
    eq(list(tab["procs"]), ["master", "api", "reconciler", "logd"],
       "PROCESS rows in\n%s" % r.stdout)
    eq(tab["procs"]["master"]["pid"], str(d.pid), "master PID")
    w = d.workers()
    for comm, (role, _) in WORKERS.items():
        p = tab["procs"][role]
        eq(p["pid"], str(w.get(comm)), "PID of %s (children by comm: %s)"
           % (role, w))
        eq(p["restarts"], "0", "RESTARTS of %s" % role)
        eq(p["state"], "running", "STATE of %s" % role)
        check(os.path.exists("/proc/%s" % p["pid"]), "pid %s of %s is not "
              "in /proc" % (p["pid"], role))


def test_status_database():
    d = main_dkd()
    r, tab = status_table(d)
    eq(tab["database"].get("path"), d.db, "DATABASE path")
    applied = d.db_query("SELECT count(*) FROM _migrations")[0][0]
    check(applied >= 1, "no migration recorded")
    eq(tab["database"].get("schema"), str(applied), "schema version")
    size = tab["database"].get("size", "")
    check(size.endswith(" bytes") and int(size.split()[0]) > 0,
          "database size %r" % size)


def test_nodocker_status():
    d = nodocker_dkd()
    sockpath = d.settings["docker-socket"]
    got = wait_until(lambda: "error" in d.status_json()["docker"] and
                     d.status_json()["docker"]["error"] != "not checked yet",
                     10, 0.1)
    check(got, "Docker state never checked: %s" % d.status_json()["docker"])
    r, tab = status_table(d)
    eq(tab["docker"].get("state"), "unreachable", "DOCKER line in\n%s"
       % r.stdout)
    err = tab["docker"].get("error", "")
    check(sockpath in err or "connect" in err.lower(),
          "error %r mentions neither the socket nor the connection" % err)
    j = d.status_json()["docker"]
    eq(j.get("reachable"), False, "JSON docker.reachable")
    check(isinstance(j.get("error"), str) and j["error"],
          "JSON docker.error %r" % j)


def test_nodocker_keeps_working():
    d = nodocker_dkd()
    before = shared["nodocker_workers"]
    # Five seconds in which no worker may restart (poll to fail early).
    restarted = wait_until(lambda: any(p["restarts"] for p in
                                       d.status_json()["processes"]), 5, 0.5)
    check(not restarted, "a worker restarted while Docker was unreachable: "
          "%s" % d.status_json()["processes"])
    eq(d.workers(), before, "worker pids after 5 s without Docker")
    eq(d.health_status(), 200, "GET /api/health without Docker")
    r, tab = status_table(d)
    for role in ("api", "reconciler", "logd"):
        eq(tab["procs"][role]["restarts"], "0", "RESTARTS of %s" % role)
        eq(tab["procs"][role]["state"], "running", "STATE of %s" % role)
    check(d.alive(), "dkd exited")


def test_docker_comes_back():
    """Docker appears after dkd started: the reconciler's backoff finds it."""
    d = Dkd("late-docker")
    link = os.path.join(d.dir, "docker.sock")
    d.settings["docker-socket"] = link
    d.write_conf()
    d.start()
    got = wait_until(lambda: d.status_json()["docker"].get("error",
                     "not checked yet") != "not checked yet", 10, 0.1)
    check(got, "Docker state never checked")
    eq(d.status_json()["docker"]["reachable"], False,
       "reachable before the socket exists")
    time.sleep(2)
    os.symlink("/var/run/docker.sock", link)
    t0 = time.time()
    back = wait_until(lambda: d.status_json()["docker"]["reachable"], 40,
                      0.2)
    check(back, "Docker still unreachable 40 s after its socket appeared: "
          "%s" % d.status_json()["docker"])
    diag("reachable %.1f s after the socket appeared" % (time.time() - t0))
    for p in d.status_json()["processes"]:
        eq(p["restarts"], 0, "restarts of %s" % p["name"])


def test_json():
    d = main_dkd()
    r = d.dkctl("-j", "status")
    eq(r.returncode, 0, "dkctl -j status exit status (%r)" % r.stderr)
    try:
        j = json.loads(r.stdout)
    except ValueError as e:
        raise Failure("not JSON (%s): %r" % (e, r.stdout))
    eq(sorted(j), ["database", "docker", "processes", "queue"],
       "top-level keys")
    eq([p.get("name") for p in j["processes"]], list(
        ("master", "api", "reconciler", "logd")), "process names")
    w = d.workers()
    pids = {"master": d.pid}
    pids.update({role: w[c] for c, (role, _) in WORKERS.items()})
    for p in j["processes"]:
        eq(sorted(p), ["name", "pid", "restarts", "state",
                       "uptime_seconds"], "keys of %r" % p)
        eq(p["pid"], pids[p["name"]], "pid of %s" % p["name"])
        check(type(p["uptime_seconds"]) is int and p["uptime_seconds"] >= 0,
              "uptime_seconds %r" % p)
        check(type(p["restarts"]) is int, "restarts %r" % p)
        eq(p["state"], "running", "state of %s" % p["name"])
    db = j["database"]
    eq(sorted(db), ["path", "schema_version", "size_bytes"], "database keys")
    eq(db["path"], d.db, "database.path")
    eq(db["schema_version"], d.db_query("SELECT count(*) FROM "
                                        "_migrations")[0][0],
       "database.schema_version")
    check(type(db["size_bytes"]) is int and db["size_bytes"] > 0,
          "database.size_bytes %r" % db)
    dk = j["docker"]
    eq(dk.get("reachable"), True, "docker.reachable")
    eq(sorted(dk), ["api_version", "reachable", "server_version"],
       "docker keys")
    eq(dk["api_version"], "1.41", "docker.api_version")
    check(isinstance(dk["server_version"], str) and dk["server_version"],
          "docker.server_version %r" % dk)


def debug_lines(text):
    return [l for l in text.splitlines() if ": debug: " in l]


def bounce_reconciler(d):
    """SIGTERM the running reconciler and wait for its replacement; the
    old one logs its exit (at debug), the master logs the restart."""
    old = wait_until(lambda: d.worker("dkd-reconciler"), 5)
    check(old, "no dkd-reconciler to restart: %s" % d.workers())
    os.kill(old, signal.SIGTERM)
    new = wait_until(lambda: d.worker("dkd-reconciler") not in (None, old)
                     and d.worker("dkd-reconciler"), 5)
    return old, new


def deaths(text):
    return [l for l in text.splitlines() if "killed by signal" in l]


def test_log_verbose():
    d = Dkd("verbose", docker=True).start()
    check(not debug_lines(d.log()), "debug lines at log-level info: %s"
          % debug_lines(d.log())[:3])
    r = d.dkctl("log", "verbose")
    eq(r.returncode, 0, "dkctl log verbose exit status (%r)" % r.stderr)
    eq(r.stdout.strip(), "command succeeded", "dkctl log verbose output")
    off = d.log_size()
    # An event that logs at debug in the master, the old worker (which got
    # the new level over its channel) and the new one (from its settings).
    old, new = bounce_reconciler(d)
    check(new, "reconciler not back 5 s after SIGTERM")

    def new_ready():
        return d.status_of("reconciler")["state"] == "running" and \
            any("[%d]" % new in l for l in debug_lines(d.log_since(off)))
    wait_until(new_ready, 3)
    since = d.log_since(off)
    check(not deaths(since), "workers are killed by a signal once they log "
          "at debug: %s" % deaths(since))
    lines = debug_lines(since)
    check(lines, "no 'debug:' lines after dkctl log verbose and a worker "
          "restart", "log since: %r" % since)
    check(any("dkd[%d]" % d.pid in l for l in lines),
          "the master logs no debug lines: %s" % lines)
    check(any("[%d]" % old in l for l in lines),
          "the running reconciler (pid %d) did not log at debug on its way "
          "out: %s" % (old, lines))
    check(any("[%d]" % new in l for l in lines),
          "the restarted reconciler (pid %d) logs no debug lines: %s"
          % (new, lines))
    eq(d.status_of("reconciler")["state"], "running", "reconciler state")


def test_log_brief():
    d = Dkd("brief", docker=True).start()
    r = d.dkctl("log", "verbose")
    eq(r.returncode, 0, "dkctl log verbose exit status (%r)" % r.stderr)
    r = d.dkctl("log", "brief")
    eq(r.returncode, 0, "dkctl log brief exit status (%r)" % r.stderr)
    eq(r.stdout.strip(), "command succeeded", "dkctl log brief output")
    off = d.log_size()
    old, new = bounce_reconciler(d)
    check(new, "reconciler not back 5 s after SIGTERM")
    # the restart is logged at info; no debug lines may come with it
    check(d.wait_log("restarting reconciler", 3, off),
          "the restart was not logged at all: %r" % d.log_since(off))
    check(wait_until(lambda: d.status_of("reconciler")["state"] ==
                     "running", 3), "new reconciler not running")
    eq(debug_lines(d.log_since(off)), [], "debug lines after log brief")


def test_abbrev_status():
    d = main_dkd()
    _, full = status_table(d, "status")
    for word in ("st", "stat"):
        r, tab = status_table(d, word)
        eq({k: v["pid"] for k, v in tab["procs"].items()},
           {k: v["pid"] for k, v in full["procs"].items()},
           "dkctl %s processes" % word)
        eq(tab["database"], full["database"], "dkctl %s DATABASE" % word)
        eq(tab["docker"], full["docker"], "dkctl %s DOCKER" % word)


def test_abbrev_ambiguous():
    d = main_dkd()
    # setup-token, show and status share the "s"
    r = d.dkctl("s")
    eq(r.returncode, 1, "dkctl s exit status")
    check("ambiguous argument: s" in r.stderr, "dkctl s stderr %r" %
          r.stderr)


def test_abbrev_log():
    d = Dkd("abbrev", docker=True).start()
    off = d.log_size()
    r = d.dkctl("lo", "v")
    eq(r.returncode, 0, "dkctl lo v exit status (%r)" % r.stderr)
    eq(r.stdout.strip(), "command succeeded", "dkctl lo v output")
    check(d.wait_log("log level set to debug", 3, off),
          "dkctl lo v did not set debug: %r" % d.log_since(off))
    off = d.log_size()
    r = d.dkctl("lo", "b")
    eq(r.returncode, 0, "dkctl lo b exit status (%r)" % r.stderr)
    check(d.wait_log("log level set to info", 3, off),
          "dkctl lo b did not set info: %r" % d.log_since(off))


def test_unknown():
    d = main_dkd()
    for args in (("frobnicate",), ("log", "loud")):
        r = d.dkctl(*args)
        eq(r.returncode, 1, "dkctl %s exit status" % " ".join(args))
        check("unknown argument" in r.stderr, "dkctl %s stderr %r"
              % (" ".join(args), r.stderr))
        eq(r.stdout, "", "dkctl %s stdout" % " ".join(args))


def test_superfluous():
    d = main_dkd()
    r = d.dkctl("status", "extra")
    eq(r.returncode, 1, "dkctl status extra exit status")
    check("superfluous argument" in r.stderr, "stderr %r" % r.stderr)
    eq(r.stdout, "", "dkctl status extra printed a status")


def test_nonroot_socket_closed():
    d = main_dkd()
    eq(oct(stat.S_IMODE(os.stat(d.sock).st_mode)), oct(0o660),
       "control socket mode")
    r = d.dkctl("status", as_user=NOBODY)
    eq(r.returncode, 1, "dkctl status as uid %d on a 0660 root socket "
       "(stdout %r)" % (NOBODY, r.stdout))
    check("permission denied" in r.stderr.lower(), "stderr %r" % r.stderr)


def test_nonroot_commands():
    d = main_dkd()
    os.chmod(d.sock, 0o666)
    try:
        r = d.dkctl("status", as_user=NOBODY)
        eq(r.returncode, 0, "dkctl status as uid %d (stderr %r)"
           % (NOBODY, r.stderr))
        eq(parse_status_table(r.stdout)["procs"]["master"]["pid"],
           str(d.pid), "master PID seen by uid %d" % NOBODY)
        off = d.log_size()
        r = d.dkctl("reload", as_user=NOBODY)
        eq(r.returncode, 1, "dkctl reload as uid %d" % NOBODY)
        check("permission denied" in r.stderr, "reload stderr %r" % r.stderr)
        r = d.dkctl("log", "verbose", as_user=NOBODY)
        eq(r.returncode, 1, "dkctl log verbose as uid %d" % NOBODY)
        check("permission denied" in r.stderr, "log stderr %r" % r.stderr)
        log = d.log_since(off)
        check("reload" not in log and "log level set" not in log,
              "the daemon acted on a non-root request: %r" % log)
    finally:
        os.chmod(d.sock, 0o660)
    eq(oct(stat.S_IMODE(os.stat(d.sock).st_mode)), oct(0o660),
       "socket mode restored")


def test_second_dkd():
    d = main_dkd()
    before = d.workers()
    d2 = Dkd("second", docker=True)
    d2.settings["control-socket"] = d.sock     # the same socket
    d2.write_conf()
    d2.start(wait=False)
    rc = d2.wait_exit(10)
    check(rc is not None, "a second dkd on the same control socket keeps "
          "running")
    eq(rc, 1, "exit status of the second dkd")
    check("in use" in d2.log(), "second dkd does not say 'in use': %r"
          % d2.log())
    check(d.alive(), "the first dkd died")
    check(os.path.exists(d.sock) and stat.S_ISSOCK(os.stat(d.sock).st_mode),
          "the first dkd's socket is gone")
    r, tab = status_table(d)
    eq(tab["procs"]["master"]["pid"], str(d.pid), "master answering on the "
       "socket")
    eq(d.workers(), before, "first dkd's workers")
    eq(d.health_status(), 200, "first dkd health")


run_tests([
    ("dkctl status: Docker reachable, server = docker version, API 1.41",
     test_status_docker),
    ("dkctl status: master and workers with pids matching /proc",
     test_status_processes),
    ("dkctl status: DATABASE path, size, schema 1", test_status_database),
    ("Docker socket missing: status shows unreachable with the error",
     test_nodocker_status),
    ("Docker socket missing: health 200 and no worker restarts for 5 s",
     test_nodocker_keeps_working),
    ("Docker appearing later is found by the reconciler's backoff, no "
     "restarts", test_docker_comes_back),
    ("dkctl -j status is JSON with the documented fields", test_json),
    ("dkctl log verbose: command succeeded, master and workers log debug:",
     test_log_verbose),
    ("dkctl log brief: command succeeded, debug lines stop", test_log_brief),
    ("abbreviations: dkctl st / stat = status", test_abbrev_status),
    ("abbreviations: dkctl s is ambiguous (setup-token, show, status)",
     test_abbrev_ambiguous),
    ("abbreviations: dkctl lo v / lo b = log verbose / brief",
     test_abbrev_log),
    ("unknown command or argument: exit 1, 'unknown argument'",
     test_unknown),
    ("dkctl status extra: exit 1, 'superfluous argument'", test_superfluous),
    ("non-root user cannot connect to the 0660 control socket",
     test_nonroot_socket_closed),
    ("non-root user (socket opened to 0666): status allowed, reload and log "
     "'permission denied'", test_nonroot_commands),
    ("a second dkd on the same control socket refuses ('in use'); first "
     "unaffected", test_second_dkd),
])
