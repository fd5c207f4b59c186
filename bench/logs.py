#!/usr/bin/python3
"""Log streaming benchmarks (issue 9), against an installed tree.

    bench/logs.py [prefix] [part ...]

Parts (all by default):

  throughput  a busybox container prints LINES lines as fast as it can;
              lines/s delivered to 1 and to CLIENTS SSE clients, and to
              `docker logs -f` of the same container in the same run
  latency     a container prints a line every 10 ms for 10 s: the delay
              from Docker's time of each line to its arrival at an SSE
              client, and at `docker logs -f`, p50/p99/max
  search      q= over SEARCH_MIB MiB of history: the time to the end of
              a follow=0 reply, and the lines found
  memory      dkd-logd's memory with 50 services streaming (and a
              viewer each) for MEMORY_SECONDS seconds

By default everything goes through the real chain: a dkd with its own
dkd-reconciler (which follows each container's logs with libcurl and
hands the pipe to the master), dkd-logd and dkd-api, against the
machine's dockerd; the services are deployed through the HTTP API from
an image imported from the host's busybox-static (the one of
tests/integration/test_logs_e2e.py), whose command is the env var
SCRIPT.  A container waits for /tmp/go (made with docker exec) before
it prints, so every reader is attached first.  Only this run's
containers, networks (by the dkd's instance id) and image are removed.

REC=standin runs the earlier version instead: dkd with
tests/integration/fakerec.py as its reconciler (curl on Docker's logs
endpoint into the pipe), and dkd-logd alone for the memory part.

Run as root, with dockerd.  Knobs: LINES (200000), CLIENTS (10),
SEARCH_MIB (1024), MEMORY_SECONDS (20), MEMORY_SERVICES (50), REC (real),
BENCH_SUMMARY (a file to append the summary lines to).  Exit status 1
if a target is missed (delivery >= 0.9 x docker logs -f, p99 < 100 ms).
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if len(sys.argv) > 1 and os.path.isdir(sys.argv[1]):
    os.environ["DKD_PREFIX"] = os.path.abspath(sys.argv.pop(1))
os.environ.setdefault("DKD_PREFIX", os.path.join(ROOT, "build", "root"))
os.environ.setdefault("DKD_SRCDIR", ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import dkdtest  # noqa: E402
from logdrig import (HttpSse, LogdRig, cleanup_containers, line_frame,  # noqa
                     lines, remove_container, run_container, rfc3339)
from test_logs import Stand  # noqa: E402

LINES = int(os.environ.get("LINES", 200000))
CLIENTS = int(os.environ.get("CLIENTS", 10))
SEARCH_MIB = int(os.environ.get("SEARCH_MIB", 1024))
MEMORY_SECONDS = int(os.environ.get("MEMORY_SECONDS", 20))
MEMORY_SERVICES = int(os.environ.get("MEMORY_SERVICES", 50))
REC = os.environ.get("REC", "real")
missed = []


def out(*a):
    print(*a, flush=True)


def follow(s, name, cid, since="0"):
    s.cmd({"op": "follow", "id": name, "container_id": cid,
           "service_id": s.sid, "project_id": s.pid,
           "deployment_id": "00000000-0000-4000-8000-000000000000",
           "since": since})


# ------------------------------------------------------------ throughput

class Count:
    """One consumer: lines counted as they arrive, and when."""

    def __init__(self, name, sock=None, pipe=None, pattern=b'"line":'):
        self.name = name
        self.sock = sock
        self.pipe = pipe
        self.pat = pattern
        self.tail = b""
        self.n = 0
        self.first = self.last = None
        self.eof = False
        self.http = None        # an HttpSse, which undoes the chunks

    def fileno(self):
        return self.sock.fileno() if self.sock is not None else self.pipe

    def feed(self, d, now):
        buf = self.tail + d
        k = buf.count(self.pat)
        if k:
            if self.first is None:
                self.first = now
            self.n += k
            self.last = now
        self.tail = buf[-(len(self.pat) - 1):] if len(self.pat) > 1 else b""

    def read(self):
        now = time.time()
        if self.http is not None:
            try:
                d = self.sock.recv(1 << 20)
            except OSError:
                d = b""
            if not d:
                self.eof = True
                return
            self.http._chunks(d)
            d, self.http.buf = self.http.buf, b""
            self.eof = self.http.eof
        else:
            d = os.read(self.pipe, 1 << 20)
            if not d:
                self.eof = True
                return
        self.feed(d, now)


def consume(counts, want, timeout=600):
    """Read every consumer in one loop until each has want lines."""
    import select
    end = time.monotonic() + timeout
    live = list(counts)
    while live and time.monotonic() < end:
        r, _, _ = select.select(live, [], [], 1)
        for c in r:
            c.read()
            if c.eof or c.n >= want:
                live.remove(c)


def follow(s, name, cid, since="0"):
    s.cmd({"op": "follow", "id": name, "container_id": cid,
           "service_id": s.sid, "project_id": s.pid,
           "deployment_id": "00000000-0000-4000-8000-000000000000",
           "since": since})


def throughput_standin():
    out("== throughput: a container prints %d lines as fast as it can"
        % LINES)
    script = ("sleep 4; awk 'BEGIN { for (i = 1; i <= %d; i++) printf "
              "\"%%07d lorem ipsum dolor sit amet, consectetur adipiscing "
              "elit, sed do eiusmod tempor\\n\", i }'" % LINES)
    results = {}
    for nclients in (1, CLIENTS):
        s = Stand("bench-logs")
        cid = run_container("dkd-logd-bench-%d" % nclients, script)
        try:
            follow(s, "c", cid)
            time.sleep(0.5)
            counts = []
            for i in range(nclients):
                counts.append(sse_count(s.sse("?tail=1"), "sse%d" % i))
            dl = subprocess.Popen(["docker", "logs", "-f", cid],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
            docker = Count("docker", pipe=dl.stdout.fileno(), pattern=b"\n")
            t0 = time.time()
            consume(counts + [docker], LINES)
            took = time.time() - t0
            dl.kill()
            dl.wait()
            log = s.d.log()
            dropped = log.count("does not keep up")
        finally:
            remove_container(cid)
            s.d.cleanup()
        rates = [rate(c) for c in counts + [docker]]
        ours, theirs = rates[:-1], rates[-1]
        results[nclients] = (ours, theirs)
        out("  %2d SSE client%s: %.0f lines/s (min %.0f), %s; docker logs "
            "-f: %.0f lines/s (%d lines); ratio min/docker %.2f; run "
            "%.1f s; %d dropped by logd" % (
                nclients, "" if nclients == 1 else "s",
                sum(ours) / len(ours), min(ours),
                "all complete" if all(c.n >= LINES for c in counts)
                else "INCOMPLETE %r" % [c.n for c in counts],
                theirs, docker.n, min(ours) / theirs if theirs else 0,
                took, dropped))
    return results


# --------------------------------------------------------------- latency

def sse_latencies(v, ours, seconds):
    """Print-to-arrival times of the lines viewer v gets, into ours,
    until there are 1,000 or seconds have passed."""
    end = time.monotonic() + seconds
    while len(ours) < 1000 and time.monotonic() < end:
        for e in v.read(0.5):
            if e[0] == "line":
                ours.append(time.time() -
                            parse_ns(e[1]["timestamp"]) / 1e9)


def latency_standin():
    out("== latency: a line every 10 ms for 10 s, from Docker's time to "
        "the client")
    s = Stand("bench-latency")
    cid = run_container("dkd-logd-bench-latency",
                        "sleep 3; i=0; while [ $i -lt 1000 ]; do "
                        "echo $i; i=$((i+1)); usleep 10000; done")
    try:
        follow(s, "c", cid)
        time.sleep(0.5)
        v = s.sse("?tail=1")
        dl = subprocess.Popen(["docker", "logs", "-f", "-t", cid],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
        ours, theirs = [], []

        def read_docker():
            for ln in dl.stdout:
                now = time.time()
                ts = ln.split(b" ", 1)[0].decode()
                theirs.append(now - parse_ns(ts) / 1e9)
                if len(theirs) >= 1000:
                    break
        t = threading.Thread(target=read_docker, daemon=True)
        t.start()
        sse_latencies(v, ours, 30)
        t.join(15)
        dl.kill()
        v.close()
    finally:
        remove_container(cid)
        s.d.cleanup()
    for name, xs in (("SSE client", ours), ("docker logs -f", theirs)):
        xs = sorted(xs)
        if not xs:
            out("  %s: no lines" % name)
            continue
        out("  %-15s %4d lines: p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
            name + ":", len(xs), 1000 * xs[len(xs) // 2],
            1000 * xs[min(len(xs) - 1, int(len(xs) * 0.99))],
            1000 * xs[-1]))
    return ours, theirs


def parse_ns(ts):
    """RFC 3339 in UTC with up to nine digits of fraction: ns."""
    import calendar
    secs = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
    frac = ts[20:].rstrip("Z") if len(ts) > 20 and ts[19] == "." else ""
    return secs * 10 ** 9 + int(frac.ljust(9, "0") or 0)


# ---------------------------------------------------------------- search

def search_standin():
    out("== search: q= over %d MiB of history" % SEARCH_MIB)
    s = Stand("bench-search", log_retention="%dM" % (SEARCH_MIB + 64),
              log_budget="%dM" % (SEARCH_MIB + 128))
    line = ("%08d GET /api/items/%d 200 1234 bytes in 5.1 ms user=u%d "
            "agent=curl/7.88.1 " + "x" * 350)
    s.stream("a")
    t0 = 1767225600 * 10 ** 9
    per_file = 100000
    written, n = 0, 0
    start = time.time()
    while written < SEARCH_MIB << 20:
        chunk = []
        for i in range(n, n + per_file):
            text = line % (i, i % 977, i % 31)
            if i % 100003 == 0:
                text += " NEEDLE-in-the-haystack"
            chunk.append(line_frame(1, t0 + i * 1000, text))
        data = b"".join(chunk)
        s.write("a", data)
        written += len(data)
        n += per_file
    ingest = time.time() - start
    s.close("a")
    time.sleep(2)
    disk = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in
               os.walk(os.path.join(s.d.logdir, "data")) for f in fs)
    out("  history: %d lines, %.0f MiB on disk, written in %.1f s "
        "(%.0f MiB/s through the stand-in reconciler and logd)" % (
            n, disk / 2 ** 20, ingest, written / 2 ** 20 / ingest))
    res = {}
    for q in ("needle-IN-THE", "agent=curl/7.88.1 x"):
        from urllib.parse import quote
        for query in ("?q=%s&tail=all&follow=0" % quote(q, safe=""),
                      "?q=%s&tail=10&follow=0" % quote(q, safe="")):
            t = time.time()
            v = s.sse(query)
            if v.status != 200:
                out("  %s: status %d" % (query, v.status))
                continue
            c = sse_count(v, "search")
            while not c.eof:
                c.read()
            got = c.n
            took = time.time() - t
            res[query] = (took, got)
            out("  %-48s %7d lines in %6.2f s" % (query[:48], got, took))
    s.d.cleanup()
    return res


# ---------------------------------------------------------------- memory

def smaps(pid):
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for ln in f:
            parts = ln.split()
            if len(parts) >= 2 and parts[0].endswith(":"):
                out[parts[0][:-1]] = int(parts[1])
    return out


def drain(v):
    """What a viewer has, without waiting."""
    v.sock.setblocking(False)
    try:
        while v.sock.recv(1 << 20):
            pass
    except BlockingIOError:
        pass
    finally:
        v.sock.setblocking(True)


def memory_standin():
    out("== memory: dkd-logd with 50 services streaming, a viewer each, "
        "%d s" % MEMORY_SECONDS)
    r = LogdRig().start()
    try:
        idle = smaps(r.pid)
        pipes, views = [], []
        for i in range(50):
            svc = "bench-%02d" % i
            pipes.append(r.stream(svc, ("%02x" % i) * 32))
            os.write(pipes[-1], line_frame(1, time.time_ns(), "hello"))
        r.ping()
        for i in range(50):
            st, v = r.view("bench-%02d" % i, follow=True, tail=10)
            views.append(v)
        end = time.monotonic() + MEMORY_SECONDS
        n = 0
        peak = 0
        while time.monotonic() < end:
            now = time.time_ns()
            for i, w in enumerate(pipes):
                os.write(w, b"".join(line_frame(1 + (k % 2), now + k,
                                                "svc %02d line %d %s" % (
                                                    i, n + k, "y" * 80))
                                     for k in range(20)))
            n += 20
            for v in views:
                drain(v)
            peak = max(peak, smaps(r.pid)["Rss"])
            time.sleep(0.02)
        busy = smaps(r.pid)
        out("  %d lines per service (%.0f lines/s in all)" % (
            n, 50 * n / MEMORY_SECONDS))
        out("  idle:      Rss %5d kB, Pss %5d kB, Pss_Anon %5d kB" % (
            idle["Rss"], idle["Pss"], idle.get("Pss_Anon", 0)))
        out("  streaming: Rss %5d kB, Pss %5d kB, Pss_Anon %5d kB; peak "
            "Rss %d kB" % (busy["Rss"], busy["Pss"],
                           busy.get("Pss_Anon", 0), peak))
        for w in pipes:
            os.close(w)
        for v in views:
            v.close()
        return idle, busy, peak
    finally:
        r.cleanup()


# ------------------------------------------------- the real reconciler

def summary(line):
    out(line)
    f = os.environ.get("BENCH_SUMMARY")
    if f:
        with open(f, "a") as fp:
            fp.write(line + "\n")


real_instances = []
real_image = []


class RealStand:
    """A dkd with its real workers against the machine's dockerd, an
    admin and a project; services deployed through the HTTP API."""

    def __init__(self, name, **settings):
        import test_logs_e2e as e2e
        self.e2e = e2e
        if not real_image:
            e2e.build_image()
            real_image.append(e2e.IMAGE)
        self.d = dkdtest.Dkd(name, docker=True, readiness_window="1s",
                             **settings)
        self.d.start()
        _, t = self.d.register_admin()
        self.token = t["access_token"]
        self.instance = self.d.db_query(
            "SELECT value FROM system_settings WHERE key = "
            "'instance_id'")[0][0]
        real_instances.append(self.instance)
        self.pid = self.ok("POST", "/api/projects", {
            "name": "bench %s %s" % (name, e2e.TAG)}, 201)["id"]

    def ok(self, method, path, obj=None, status=200):
        r = self.d.api(method, path, obj, token=self.token)
        if r.status != status:
            raise SystemExit("%s %s: HTTP %d %r" % (method, path, r.status,
                                                    r.body[:300]))
        return r.json() if r.body else None

    def deploy(self, name, script):
        sid = self.ok("POST", "/api/projects/%s/services" % self.pid,
                      {"name": name}, 201)["id"]
        self.ok("POST", "/api/projects/%s/services/%s/deployments" % (
            self.pid, sid), {"image": self.e2e.IMAGE,
                             "env_vars": {"SCRIPT": script}}, 201)
        return sid

    def running(self, sid, timeout=120):
        """The service's running container, once logd follows it (its
        logs endpoint answers 200)."""
        def one():
            cs = self.e2e.docker_cli(
                "ps", "-q", "--no-trunc", "--filter",
                "label=deploykit.instance=%s" % self.instance, "--filter",
                "label=deploykit.service-id=%s" % sid).split()
            return cs[0] if len(cs) == 1 else None
        cid = dkdtest.wait_until(one, timeout, 0.2)
        if not cid:
            raise SystemExit("no running container of %s; %s" % (
                sid, "\n".join(self.d.log_tail())))
        ok = dkdtest.wait_until(lambda: self.d.api(
            "GET", self.path(sid, "?follow=0&tail=1"),
            token=self.token).status == 200, timeout, 0.2)
        if not ok:
            raise SystemExit("the logs of %s never answered 200" % sid)
        return cid

    def path(self, sid, query=""):
        return "/api/projects/%s/services/%s/logs%s" % (self.pid, sid,
                                                        query)

    def sse(self, sid, query=""):
        return HttpSse(self.d.port, self.path(sid, query), self.token,
                       timeout=60)


def go(cid):
    """Let a waiting container print."""
    subprocess.run(["docker", "exec", cid, "touch", "/tmp/go"], check=True)


WAIT_GO = "while [ ! -e /tmp/go ]; do usleep 20000; done; "


def real_cleanup():
    import test_logs_e2e as e2e
    for inst in real_instances:
        f = "label=deploykit.instance=%s" % inst
        ids = e2e.docker_cli("ps", "-aq", "--filter", f,
                             check_rc=False).split()
        if ids:
            e2e.docker_cli("rm", "-f", "-v", *ids, check_rc=False,
                           timeout=300)
        for n in e2e.docker_cli("network", "ls", "-q", "--filter", f,
                                check_rc=False).split():
            e2e.docker_cli("network", "rm", n, check_rc=False)
    for img in real_image:
        e2e.docker_cli("rmi", "-f", img, check_rc=False)


def sse_count(v, name):
    """A Count of the events of v, from what came with its headers."""
    c = Count(name, sock=v.sock)
    c.http = v
    c.feed(v.buf, time.time())
    v.buf = b""
    c.eof = v.eof
    return c


def rate(c):
    """Lines per second from c's first line to its last."""
    return (c.n / (c.last - c.first) if c.first and c.last and
            c.last > c.first else 0.0)


def throughput():
    out("== throughput: a container prints %d lines as fast as it can "
        "(real reconciler)" % LINES)
    script = WAIT_GO + (
        "awk 'BEGIN { for (i = 1; i <= %d; i++) printf \"%%07d lorem "
        "ipsum dolor sit amet, consectetur adipiscing elit, sed do "
        "eiusmod tempor\\n\", i }'; exec sleep 100000" % LINES)
    s = RealStand("bench-tput")
    results = {}
    for nclients in (1, CLIENTS):
        sid = s.deploy("tput%d" % nclients, script)
        cid = s.running(sid)
        counts = [sse_count(s.sse(sid, "?tail=1"), "sse%d" % i)
                  for i in range(nclients)]
        dl = subprocess.Popen(["docker", "logs", "-f", cid],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
        docker = Count("docker", pipe=dl.stdout.fileno(), pattern=b"\n")
        time.sleep(0.5)
        t0 = time.time()
        go(cid)
        consume(counts + [docker], LINES, timeout=240)
        took = time.time() - t0
        dl.kill()
        dl.wait()
        for c in counts:
            c.sock.close()
        rates = [rate(c) for c in counts + [docker]]
        ours, theirs = rates[:-1], rates[-1]
        ratio = min(ours) / theirs if theirs else 0
        complete = all(c.n >= LINES for c in counts)
        results[nclients] = (ours, theirs)
        summary("logs: %2d SSE client%s: %.0f lines/s (slowest %.0f), %s; "
                "docker logs -f: %.0f lines/s (%d lines); slowest/docker "
                "%.2f (target >= 0.9); run %.1f s" % (
                    nclients, "" if nclients == 1 else "s",
                    sum(ours) / len(ours), min(ours),
                    "all lines" if complete else "INCOMPLETE %r"
                    % [c.n for c in counts], theirs, docker.n, ratio, took))
        if ratio < 0.9 or not complete:
            missed.append("throughput with %d client(s): %.2f x docker "
                          "logs -f%s" % (nclients, ratio, "" if complete
                                         else ", lines missing"))
    s.d.cleanup()
    return results


def latency():
    out("== latency: a line every 10 ms for 10 s, from Docker's time to "
        "the client (real reconciler)")
    s = RealStand("bench-latency")
    sid = s.deploy("latency", WAIT_GO + "i=0; while [ $i -lt 1000 ]; do "
                   "echo $i; i=$((i+1)); usleep 10000; done; "
                   "exec sleep 100000")
    cid = s.running(sid)
    v = s.sse(sid, "?tail=1")
    v.until(lambda e: False, 0.3)      # the tail, if any
    dl = subprocess.Popen(["docker", "logs", "-f", "-t", "--tail", "0",
                           cid], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL)
    ours, theirs = [], []

    def read_docker():
        for ln in dl.stdout:
            now = time.time()
            theirs.append(now - parse_ns(ln.split(b" ", 1)[0].decode())
                          / 1e9)
            if len(theirs) >= 1000:
                break
    t = threading.Thread(target=read_docker, daemon=True)
    t.start()
    time.sleep(0.5)
    go(cid)
    sse_latencies(v, ours, 40)
    t.join(15)
    dl.kill()
    dl.wait()
    v.close()
    s.d.cleanup()
    p99 = None
    for name, xs in (("SSE client", ours), ("docker logs -f", theirs)):
        xs = sorted(xs)
        if not xs:
            summary("logs: latency %s: no lines" % name)
            continue
        q99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
        if p99 is None:
            p99 = q99
        summary("logs: latency print -> %-15s %4d lines: p50 %.1f ms, "
                "p99 %.1f ms, max %.1f ms" % (
                    name + ":", len(xs), 1000 * xs[len(xs) // 2],
                    1000 * q99, 1000 * xs[-1]))
    if p99 is None or p99 >= 0.1 or len(ours) < 1000:
        missed.append("latency: p99 %s over %d lines (target < 100 ms)" % (
            "none" if p99 is None else "%.1f ms" % (p99 * 1000),
            len(ours)))
    return ours, theirs


def search():
    out("== search: q= over %d MiB of history (real reconciler)"
        % SEARCH_MIB)
    # Room for it all: a record is the line and a small header.
    s = RealStand("bench-search",
                  log_retention="%dM" % (SEARCH_MIB * 5 // 4 + 64),
                  log_budget="%dM" % (SEARCH_MIB * 5 // 4 + 128))
    per_line = 421          # bytes of a line below, with its newline
    n = (SEARCH_MIB << 20) // per_line
    sid = s.deploy("search", WAIT_GO + (
        "awk 'BEGIN { x = sprintf(\"%%350s\", \"\"); gsub(/ /, \"x\", x); "
        "for (i = 0; i < %d; i++) printf(\"%%08d GET /api/items/%%03d 200 "
        "1234 bytes in 5.1 ms user=u%%02d agent=curl/7.88.1 %%s%%s\\n\", "
        "i, i %% 977, i %% 31, x, i %% 100003 == 0 ? "
        "\" NEEDLE-in-the-haystack\" : \"\") }'; exec sleep 100000" % n))
    cid = s.running(sid)
    start = time.time()
    go(cid)
    last = "%08d" % (n - 1)

    def stored():
        v = s.sse(sid, "?tail=1&follow=0")
        ev = v.all(30)
        v.close()
        ls = lines(ev)
        return ls and ls[-1]["line"].startswith(last)
    if not dkdtest.wait_until(stored, 600, 1):
        raise SystemExit("the search history never reached its last line")
    ingest = time.time() - start
    disk = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in
               os.walk(os.path.join(s.d.logdir, "data")) for f in fs)
    summary("logs: search history: %d lines, %.0f MiB on disk, stored in "
            "%.1f s (%.0f MiB/s from the container's print to logd's "
            "disk)" % (n, disk / 2 ** 20, ingest,
                       n * per_line / 2 ** 20 / ingest))
    res = {}
    from urllib.parse import quote
    for q in ("needle-IN-THE", "agent=curl/7.88.1 x"):
        for query in ("?q=%s&tail=all&follow=0" % quote(q, safe=""),
                      "?q=%s&tail=10&follow=0" % quote(q, safe="")):
            t = time.time()
            v = s.sse(sid, query)
            if v.status != 200:
                summary("logs: search %s: status %d" % (query, v.status))
                continue
            c = sse_count(v, "search")
            c.eof = v.eof
            while not c.eof:
                c.read()
            took = time.time() - t
            res[query] = (took, c.n)
            summary("logs: search %-44s %7d lines in %6.2f s" % (
                query[:44], c.n, took))
            v.close()
    s.d.cleanup()
    return res


def memory():
    out("== memory: dkd-logd with %d services streaming, a viewer each, "
        "%d s (real reconciler)" % (MEMORY_SERVICES, MEMORY_SECONDS))
    s = RealStand("bench-memory")
    logd = s.d.worker("dkd-logd")
    idle = smaps(logd)
    sids = [s.deploy("m%02d" % i, WAIT_GO + (
        "i=0; while :; do echo \"line $i of a service %02d %s\"; "
        "i=$((i+1)); usleep 20000; done" % (i, "y" * 60)))
        for i in range(MEMORY_SERVICES)]
    t = time.time()
    cids = [s.running(sid, 300) for sid in sids]
    out("  %d services deployed and followed in %.1f s" % (
        len(sids), time.time() - t))
    views = [s.sse(sid, "?tail=10") for sid in sids]
    for cid in cids:
        go(cid)
    started = time.monotonic()
    end = started + MEMORY_SECONDS
    peak = 0
    while time.monotonic() < end:
        for v in views:
            drain(v)
        peak = max(peak, smaps(logd)["Rss"])
        time.sleep(0.05)
    busy = smaps(logd)
    # The numbers of the newest lines of five services: the rate.
    stored = sum(int(x["line"].split()[1]) + 1 for sid in sids[:5]
                 for x in lines(
                     (lambda v: (v.all(20), v.close())[0])(
                         s.sse(sid, "?tail=1&follow=0"))))
    elapsed = time.monotonic() - started
    summary("logs: memory of dkd-logd, idle: Rss %d kB, Pss %d kB, "
            "Pss_Anon %d kB" % (idle["Rss"], idle["Pss"],
                                idle.get("Pss_Anon", 0)))
    summary("logs: memory of dkd-logd, %d services streaming (about %.0f "
            "lines/s in all) and %d viewers: Rss %d kB, Pss %d kB, "
            "Pss_Anon %d kB; peak Rss %d kB" % (
                MEMORY_SERVICES, MEMORY_SERVICES * stored / 5.0 /
                elapsed, len(views), busy["Rss"], busy["Pss"],
                busy.get("Pss_Anon", 0), peak))
    for v in views:
        v.close()
    s.d.cleanup()
    return idle, busy, peak


PARTS_STANDIN = {"throughput": throughput_standin,
                 "latency": latency_standin, "search": search_standin,
                 "memory": memory_standin}
PARTS = {"throughput": throughput, "latency": latency, "search": search,
         "memory": memory}

if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("bench/logs.py: run as root")
    parts = sys.argv[1:] or list(PARTS)
    table = PARTS_STANDIN if REC == "standin" else PARTS
    try:
        for p in parts:
            table[p]()
    finally:
        for d in dkdtest._instances:
            d.cleanup()
        if REC == "standin":
            cleanup_containers()
        else:
            real_cleanup()
    for m in missed:
        summary("logs: target missed: %s" % m)
    sys.exit(1 if missed else 0)
