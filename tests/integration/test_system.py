#!/usr/bin/env python3
"""System routes (admin only): /api/system/about and /status against the
real dockerd and the real host, the settings and their persistence across
a restart, the 501 routes of releases and upgrades, and both reports with
the Docker socket missing."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (Dkd, Skip, check, eq, expect_error, expect_json,
                     parse_time, run_tests, wait_until)

shared = {}
NOT_IMPL = "Releases and self-upgrade are not available in this version."


def dkd():
    if "d" not in shared:
        t0 = time.time()
        d = Dkd("system", keep=True, docker=True).start()
        shared["t0"] = t0
        _, t = d.register_admin()
        shared["d"] = d
        shared["tok"] = t["access_token"]
    return shared["d"]


def tok():
    dkd()
    return shared["tok"]


def get(path, token=None):
    d = dkd()
    return expect_json(d.api("GET", path, token=token or tok()), 200,
                       "GET " + path)


def docker(*args, timeout=60):
    try:
        r = subprocess.run(["docker"] + list(args), capture_output=True,
                           text=True, timeout=timeout)
    except FileNotFoundError:
        raise Skip("the docker CLI is not installed")
    return r


def docker_ok(*args):
    r = docker(*args)
    check(r.returncode == 0, "docker %s failed: %r" % (" ".join(args),
                                                       r.stderr))
    return r.stdout.strip()


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


# ----------------------------------------------------------------- about

def test_about():
    d = dkd()
    want_version = docker_ok("version", "--format", "{{.Server.Version}}")
    ok = wait_until(lambda: get("/api/system/about")["docker"]["reachable"],
                    10, 0.2)
    check(ok, "docker never reachable in /api/system/about")
    j = get("/api/system/about")
    eq(sorted(j), ["database", "deploykit", "docker", "update_available"],
       "keys of about")
    dk = j["deploykit"]
    eq(sorted(dk), ["started_at", "uptime_seconds", "version"],
       "keys of deploykit")
    check(isinstance(dk["version"], str) and dk["version"],
          "deploykit.version %r" % dk["version"])
    started = parse_time(dk["started_at"])
    check(shared["t0"] - 2 <= started <= time.time() + 1,
          "started_at %s is not when dkd started" % dk["started_at"])
    check(is_int(dk["uptime_seconds"]) and dk["uptime_seconds"] >= 0,
          "uptime_seconds %r" % dk["uptime_seconds"])
    check(abs(dk["uptime_seconds"] - (time.time() - started)) <= 2,
          "uptime_seconds %r vs started_at %s" % (dk["uptime_seconds"],
                                                   dk["started_at"]))
    dc = j["docker"]
    eq(dc["reachable"], True, "docker.reachable")
    eq(dc["server_version"], want_version,
       "docker.server_version (docker version says %r)" % want_version)
    eq(dc["api_version"], "1.41", "docker.api_version")
    info = docker_ok("info", "--format", "{{json .}}")
    import json
    info = json.loads(info)
    for key, dkey in (("os", "OperatingSystem"),
                      ("kernel_version", "KernelVersion"),
                      ("architecture", "Architecture"),
                      ("storage_driver", "Driver"),
                      ("logging_driver", "LoggingDriver"),
                      ("cgroup_driver", "CgroupDriver"),
                      ("docker_root_dir", "DockerRootDir")):
        check(isinstance(dc.get(key), str) and dc[key],
              "docker.%s %r" % (key, dc.get(key)))
        eq(dc[key], info[dkey], "docker.%s vs docker info %s" % (key, dkey))
    check(isinstance(dc.get("warnings"), list) and
          all(isinstance(w, str) for w in dc["warnings"]),
          "docker.warnings %r" % dc.get("warnings"))
    check("error" not in dc, "docker.error while reachable: %r" % dc)
    db = j["database"]
    eq(sorted(db), ["path", "size_bytes"], "keys of database")
    eq(db["path"], d.db, "database.path")
    check(is_int(db["size_bytes"]) and db["size_bytes"] > 0,
          "database.size_bytes %r" % db["size_bytes"])
    eq(db["size_bytes"], os.path.getsize(d.db), "database.size_bytes vs the "
       "file")
    eq(j["update_available"], False, "update_available")


# ---------------------------------------------------------------- status

def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = int(v.split()[0]) * 1024
    return out


def check_usage(sec, what):
    eq(sorted(sec), ["total_bytes", "usage_pct", "used_bytes"],
       "keys of %s" % what)
    check(is_int(sec["total_bytes"]) and sec["total_bytes"] >= 0,
          "%s.total_bytes %r" % (what, sec["total_bytes"]))
    check(is_int(sec["used_bytes"]) and
          0 <= sec["used_bytes"] <= sec["total_bytes"],
          "%s.used_bytes %r (total %r)" % (what, sec["used_bytes"],
                                           sec["total_bytes"]))
    check(is_num(sec["usage_pct"]) and 0 <= sec["usage_pct"] <= 100,
          "%s.usage_pct %r" % (what, sec["usage_pct"]))
    if sec["total_bytes"]:
        pct = 100.0 * sec["used_bytes"] / sec["total_bytes"]
        check(abs(pct - sec["usage_pct"]) < 1, "%s.usage_pct %r vs used/"
              "total %.2f" % (what, sec["usage_pct"], pct))


def test_status_host():
    j = get("/api/system/status")
    eq(sorted(j), ["docker", "host"], "keys of status")
    h = j["host"]
    eq(sorted(h), ["cpu", "disks", "hostname", "memory", "swap", "uptime"],
       "keys of host")
    eq(h["hostname"], socket.gethostname(), "host.hostname")
    with open("/proc/uptime") as f:
        up = float(f.read().split()[0])
    check(is_num(h["uptime"]) and abs(h["uptime"] - up) < 5,
          "host.uptime %r vs /proc/uptime %.0f" % (h["uptime"], up))
    cpu = h["cpu"]
    eq(sorted(cpu), ["cores", "load1", "load15", "load5", "usage_pct"],
       "keys of cpu")
    eq(cpu["cores"], os.cpu_count(), "cpu.cores")
    check(is_num(cpu["usage_pct"]) and 0 <= cpu["usage_pct"] <= 100,
          "cpu.usage_pct %r" % cpu["usage_pct"])
    load = os.getloadavg()
    for i, k in enumerate(("load1", "load5", "load15")):
        check(is_num(cpu[k]) and cpu[k] >= 0 and abs(cpu[k] - load[i]) < 2,
              "cpu.%s %r vs getloadavg %.2f" % (k, cpu[k], load[i]))
    mi = meminfo()
    check_usage(h["memory"], "memory")
    eq(h["memory"]["total_bytes"], mi["MemTotal"],
       "memory.total_bytes vs /proc/meminfo MemTotal")
    check_usage(h["swap"], "swap")
    eq(h["swap"]["total_bytes"], mi["SwapTotal"],
       "swap.total_bytes vs /proc/meminfo SwapTotal")
    check(isinstance(h["disks"], list) and h["disks"],
          "disks %r" % h["disks"])
    mounts = [x.get("mountpoint") for x in h["disks"]]
    eq(mounts[0], "/", "first disk mountpoint")
    eq(len(set(mounts)), len(mounts), "duplicate mountpoints %r" % mounts)
    for disk in h["disks"]:
        eq(sorted(disk), ["mountpoint", "total_bytes", "usage_pct",
                          "used_bytes"], "keys of a disk")
        st = os.statvfs(disk["mountpoint"])
        total = st.f_blocks * st.f_frsize
        eq(disk["total_bytes"], total, "total_bytes of %s vs statvfs"
           % disk["mountpoint"])
        check_usage({k: disk[k] for k in ("total_bytes", "used_bytes",
                                          "usage_pct")},
                    "disk %s" % disk["mountpoint"])


def docker_counts():
    return get("/api/system/status")["docker"]


def test_status_docker():
    dc = docker_counts()
    eq(sorted(dc), ["build_cache_bytes", "containers", "containers_running",
                    "containers_stopped", "images", "images_size_bytes",
                    "reachable", "volumes", "volumes_size_bytes"],
       "keys of status docker")
    eq(dc["reachable"], True, "docker.reachable")
    for k, v in dc.items():
        if k != "reachable":
            check(is_int(v) and v >= 0, "docker.%s %r" % (k, v))
    check(dc["containers_running"] + dc["containers_stopped"] <=
          dc["containers"], "running + stopped > containers: %r" % dc)
    # compare with the docker CLI; retry a little in case something else
    # on this host creates or removes a container meanwhile
    def same():
        got = docker_counts()
        want = (int(docker_ok("info", "--format", "{{.Containers}}")),
                int(docker_ok("info", "--format", "{{.ContainersRunning}}")),
                int(docker_ok("info", "--format", "{{.Images}}")),
                len(docker_ok("volume", "ls", "-q").split()))
        have = (got["containers"], got["containers_running"], got["images"],
                got["volumes"])
        shared["counts"] = (have, want)
        return have == want
    check(wait_until(same, 5, 0.5), "(containers, running, images, volumes) "
          "from dkd %r vs the docker CLI %r" % shared.get("counts"))


def test_status_container():
    r = docker("images", "-q")
    check(r.returncode == 0, "docker images: %r" % r.stderr)
    images = r.stdout.split()
    tag = None
    tmpdir = None
    name = "dkdtest-%s" % uuid.uuid4().hex[:12]
    before = docker_counts()
    try:
        if images:
            image = images[0]
        else:
            # no local image: import an empty one (no registry involved)
            tmpdir = tempfile.mkdtemp(prefix="dkdtest.img.")
            tar = os.path.join(tmpdir, "empty.tar")
            subprocess.run(["tar", "cf", tar, "--files-from", "/dev/null"],
                           check=True, timeout=30)
            tag = "dkdtest-scratch:%s" % uuid.uuid4().hex[:12]
            r = docker("import", tar, tag)
            if r.returncode != 0:
                raise Skip("no local image and docker import failed: %s"
                           % r.stderr.strip())
            image = tag
        r = docker("create", "--name", name, image, "/dkdtest-none")
        if r.returncode != 0:
            raise Skip("docker create failed: %s" % r.stderr.strip())
        after = wait_until(lambda: (lambda c: c if c["containers"] ==
                                    before["containers"] + 1 else None)(
                                        docker_counts()), 10, 0.3)
        check(after, "docker.containers did not go from %d to %d: %r"
              % (before["containers"], before["containers"] + 1,
                 docker_counts()))
        eq(after["containers_stopped"], before["containers_stopped"] + 1,
           "containers_stopped after docker create")
        eq(after["containers_running"], before["containers_running"],
           "containers_running after docker create")
        if tag is not None:
            eq(after["images"], before["images"] + 1,
               "images after docker import")
    finally:
        docker("rm", "-f", name)
        if tag is not None:
            docker("rmi", tag)
        if tmpdir is not None:
            import shutil
            shutil.rmtree(tmpdir, ignore_errors=True)
    back = wait_until(lambda: docker_counts()["containers"] ==
                      before["containers"], 10, 0.3)
    check(back, "docker.containers did not return to %d after docker rm"
          % before["containers"])


# ------------------------------------------------------------------- 501

def test_not_implemented():
    d = dkd()
    for m, path, body in (("GET", "/api/system/release", None),
                          ("GET", "/api/system/release?refresh=1", None),
                          ("POST", "/api/system/upgrade",
                           {"version": "v9.9.9"}),
                          ("POST", "/api/system/upgrade", {}),
                          ("GET", "/api/system/upgrade", None)):
        expect_error(d.api(m, path, body, token=tok()), 501,
                     "not_implemented", NOT_IMPL, "%s %s" % (m, path))


# -------------------------------------------------------------- settings

def test_settings():
    d = dkd()
    eq(get("/api/system/settings"), {"auto_update": False},
       "GET /api/system/settings (default)")
    for body, want in (({}, False), ({"auto_update": None}, False),
                       ({"unknown": True}, False),
                       ({"auto_update": True}, True), ({}, True),
                       ({"auto_update": None}, True),
                       ({"auto_update": False}, False),
                       ({"auto_update": True}, True)):
        j = expect_json(d.api("PATCH", "/api/system/settings", body,
                              token=tok()), 200,
                        "PATCH /api/system/settings %r" % body)
        eq(j, {"auto_update": want}, "PATCH %r answer" % body)
        eq(get("/api/system/settings"), {"auto_update": want},
           "GET after PATCH %r" % body)
    for v in ("yes", "true", 1, 0, [], {}):
        expect_error(d.api("PATCH", "/api/system/settings",
                           {"auto_update": v}, token=tok()), 400, "invalid",
                     'Field "auto_update" must be true or false.',
                     "PATCH auto_update=%r" % (v,))
    eq(get("/api/system/settings"), {"auto_update": True},
       "GET after refused PATCHes")
    rows = d.db_query("SELECT value FROM system_settings WHERE key = ?",
                      ("auto_update",))
    eq(rows, [("true",)], "system_settings row for auto_update")


def test_settings_persist():
    d = Dkd("system-restart", docker=True).start()
    _, t = d.register_admin()
    r = d.api("PATCH", "/api/system/settings", {"auto_update": True},
              token=t["access_token"])
    eq(expect_json(r, 200, "PATCH auto_update true"), {"auto_update": True},
       "PATCH answer")
    eq(d.stop(), 0, "dkd exit status on SIGTERM")
    d.start()
    at = d.login("admin@example.test")["access_token"]
    j = expect_json(d.api("GET", "/api/system/settings", token=at), 200,
                    "GET /api/system/settings after the restart")
    eq(j, {"auto_update": True}, "settings after the restart")
    expect_json(d.api("PATCH", "/api/system/settings", {"auto_update": False},
                      token=at), 200, "PATCH false")
    eq(d.stop(), 0, "dkd exit status on SIGTERM")
    d.start()
    at = d.login("admin@example.test")["access_token"]
    j = expect_json(d.api("GET", "/api/system/settings", token=at), 200,
                    "GET after the second restart")
    eq(j, {"auto_update": False}, "settings after the second restart")


# ----------------------------------------------------------- docker down

def test_docker_down():
    d = Dkd("system-nodocker")
    d.settings["docker-socket"] = os.path.join(d.dir, "no-docker.sock")
    d.write_conf()
    d.start()
    _, t = d.register_admin()
    at = t["access_token"]
    j = expect_json(d.api("GET", "/api/system/about", token=at), 200,
                    "GET /api/system/about without Docker")
    dc = j["docker"]
    eq(dc.get("reachable"), False, "about docker.reachable")
    check(isinstance(dc.get("error"), str) and dc["error"],
          "about docker.error %r" % dc.get("error"))
    for k in ("server_version", "api_version", "os", "kernel_version"):
        check(k not in dc, "about docker.%s present while unreachable: %r"
              % (k, dc))
    eq(j["database"]["path"], d.db, "about database.path without Docker")
    check(j["database"]["size_bytes"] > 0, "database.size_bytes")
    eq(j["update_available"], False, "update_available")
    check(isinstance(j["deploykit"]["version"], str), "deploykit.version")
    j = expect_json(d.api("GET", "/api/system/status", token=at), 200,
                    "GET /api/system/status without Docker")
    dc = j["docker"]
    eq(dc.get("reachable"), False, "status docker.reachable")
    for k in ("containers", "containers_running", "containers_stopped",
              "images", "volumes"):
        eq(dc.get(k), 0, "status docker.%s while unreachable" % k)
    eq(j["host"]["hostname"], socket.gethostname(), "host.hostname "
       "without Docker")
    eq(j["host"]["cpu"]["cores"], os.cpu_count(), "cpu.cores without Docker")
    expect_json(d.api("GET", "/api/system/settings", token=at), 200,
                "GET /api/system/settings without Docker")


def test_requires_admin():
    d = dkd()
    d.create_user(tok(), "member@example.test")
    mt = d.login("member@example.test")["access_token"]
    for m, path, body in (("GET", "/api/system/about", None),
                          ("GET", "/api/system/status", None),
                          ("GET", "/api/system/settings", None),
                          ("PATCH", "/api/system/settings",
                           {"auto_update": False}),
                          ("GET", "/api/system/release", None),
                          ("POST", "/api/system/upgrade",
                           {"version": "v1.0.0"}),
                          ("GET", "/api/system/upgrade", None)):
        expect_error(d.api(m, path, body, token=mt), 403, "forbidden",
                     "Insufficient permissions.", "%s %s as a member"
                     % (m, path))
        expect_error(d.api(m, path, body), 401, "unauthorized",
                     "Authentication required.", "%s %s without a token"
                     % (m, path))


run_tests([
    ("GET /api/system/about: version, Docker facts as docker reports "
     "them, database path and size", test_about),
    ("GET /api/system/status host: hostname, cores, memory, swap, disks "
     "match the host", test_status_host),
    ("GET /api/system/status docker: counts match docker", test_status_docker),
    ("GET /api/system/status: docker create raises containers by one",
     test_status_container),
    ("release and upgrade routes: 501 not_implemented", test_not_implemented),
    ("GET/PATCH /api/system/settings: auto_update, {} and null change "
     "nothing, non-bool 400", test_settings),
    ("settings persist across a dkd restart", test_settings_persist),
    ("Docker socket missing: about and status 200 with reachable false",
     test_docker_down),
    ("system routes: 403 for a member, 401 without a token",
     test_requires_admin),
])
