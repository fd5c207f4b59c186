#!/usr/bin/python3
"""Logs end to end (issue 9, spec 11 and Decision 9): the SSE endpoint
GET /api/projects/{pid}/services/{sid}/logs of a real dkd, its dkd-api,
master and dkd-logd, and dkctl logs.

The streams come from a stand-in reconciler (fakerec.py, run as
dkd-reconciler through DKD_LIBEXEC) that hands the master pipes the test
writes Docker's framing into, exactly as the reconciler does with what
Docker sends; so every byte path but Docker's own is the real one."""

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dkdtest import (DKCTL, LIBEXEC, SRCDIR, WORKERS, Dkd, check,  # noqa
                     diag, eq, expect_error, proc_fds, proc_status,
                     run_tests, wait_until)
from logdrig import HttpSse, line_frame, lines, rfc3339, texts  # noqa

T0 = 1767225600 * 10 ** 9          # 2026-01-01T00:00:00Z
CID = "c0ffee" + "a1" * 29
CID2 = "d00d" + "b2" * 30


SANITIZER_ERRORS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                    "runtime error:")
stands = []


class Stand:
    """dkd with fakerec.py as its reconciler, an admin, a project and a
    service."""

    def __init__(self, name="logs", **settings):
        stands.append(self)
        self.d = Dkd(name, docker=True, **settings)
        self.lib = os.path.join(self.d.dir, "libexec")
        os.mkdir(self.lib, 0o755)
        for c in WORKERS:
            if c != "dkd-reconciler":
                os.symlink(os.path.join(LIBEXEC, c),
                           os.path.join(self.lib, c))
        shutil.copyfile(os.path.join(HERE, "fakerec.py"),
                        os.path.join(self.lib, "dkd-reconciler"))
        os.chmod(os.path.join(self.lib, "dkd-reconciler"), 0o755)
        shutil.copyfile(os.path.join(HERE, "cheaders.py"),
                        os.path.join(self.lib, "cheaders.py"))
        with open(os.path.join(self.lib, "scenario.json"), "w") as f:
            json.dump({"srcdir": SRCDIR}, f)
        self.ncmd = 0
        self.nfile = 0
        self.d.start(env=dict(os.environ, DKD_LIBEXEC=self.lib),
                     args=["-v"])
        _, t = self.d.register_admin()
        self.token = t["access_token"]
        self.pid = self.ok("POST", "/api/projects", {"name": "logs"},
                           201)["id"]
        self.sid = self.service("web")

    def finish(self):
        """SIGTERM, a clean exit, and no sanitizer's report (the ASan
        build checks leaks at exit)."""
        eq(self.d.stop(), 0, "exit status of dkd at SIGTERM")
        log = self.d.log()
        for e in SANITIZER_ERRORS:
            check(e not in log, "%r in dkd's output" % e,
                  *self.d.log_tail(60))

    def ok(self, method, path, obj=None, status=200):
        r = self.d.api(method, path, obj, token=self.token)
        eq(r.status, status, "%s %s: %r" % (method, path, r.body[:300]))
        return r.json() if r.body else None

    def service(self, name):
        return self.ok("POST", "/api/projects/%s/services" % self.pid,
                       {"name": name}, 201)["id"]

    def cmd(self, c):
        self.ncmd += 1
        tmp = os.path.join(self.lib, "cmd.tmp")
        with open(tmp, "w") as f:
            json.dump(c, f)
        os.rename(tmp, os.path.join(self.lib, "cmd-%d.json" % self.ncmd))
        done = os.path.join(self.lib, "done-%d" % self.ncmd)
        check(wait_until(lambda: os.path.exists(done), 10),
              "the stand-in reconciler did not do %r" % c,
              *self.d.log_tail())

    def stream(self, name, cid=CID, sid=None, tty=False):
        self.cmd({"op": "stream", "id": name, "container_id": cid,
                  "service_id": sid or self.sid, "project_id": self.pid,
                  "deployment_id": str(uuid.uuid4()), "tty": tty})

    def write(self, name, data):
        self.nfile += 1
        path = os.path.join(self.lib, "data-%d" % self.nfile)
        with open(path, "wb") as f:
            f.write(data)
        self.cmd({"op": "write", "id": name, "file": path})
        os.unlink(path)

    def close(self, name):
        self.cmd({"op": "close", "id": name})

    def marks(self):
        try:
            with open(os.path.join(self.lib, "marks.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return []

    def path(self, sid=None, query=""):
        return "/api/projects/%s/services/%s/logs%s" % (
            self.pid, sid or self.sid, query)

    def sse(self, query="", sid=None, token=True, **kw):
        return HttpSse(self.d.port, self.path(sid, query),
                       self.token if token else None, **kw)

    def history(self, query, sid=None):
        """A follow=0 stream: its lines, checked to end properly."""
        v = self.sse(query + ("&" if "?" in query else "?") + "follow=0",
                     sid=sid)
        eq(v.status, 200, "status of %s" % query)
        ev = v.all(20)
        check(v.ended and ev and ev[-1][0] == "end", "no event: end and "
              "end of the reply for %s: %r" % (query, ev[-3:]))
        return ev[:-1]

    def running_container(self, sid=None):
        """A container row as the reconciler's report would make it."""
        did, cid = str(uuid.uuid4()), str(uuid.uuid4())
        self.d.db_query("INSERT INTO deployments (id, service_id, image, "
                        "status) VALUES (?, ?, 'busybox', 'healthy')",
                        (did, sid or self.sid))
        self.d.db_query("INSERT INTO containers (id, service_id, "
                        "deployment_id, docker_container_id, status) "
                        "VALUES (?, ?, ?, ?, 'running')",
                        (cid, sid or self.sid, did, "e" * 64))


def frames(n, start=0, stream=lambda i: 1, text="line %d", t0=T0):
    return b"".join(line_frame(stream(i), t0 + i * 10 ** 6, text % i)
                    for i in range(start, start + n))


# ------------------------------------------------------------------ tests

def t_sse_basics():
    """Spec 11 headers; history first, then a line printed now reaches
    the client within 1 s; stderr marked; container_exited at the end."""
    s = Stand()
    s.stream("a")
    s.write("a", frames(3))
    v = s.sse("?tail=10")
    eq(v.status, 200, "status")
    eq(v.header("content-type"), "text/event-stream", "Content-Type")
    eq(v.header("cache-control"), "no-cache, no-transform",
       "Cache-Control")
    eq(v.header("x-accel-buffering"), "no", "X-Accel-Buffering")
    eq(v.header("connection"), "keep-alive", "Connection")
    check(v.chunked, "not a chunked reply: %r" % v.headers)
    ev = v.until(lambda e: len(lines(e)) >= 3, 5)
    eq(texts(ev), ["line 0", "line 1", "line 2"], "history")
    x = lines(ev)[0]
    eq(sorted(x), ["container_id", "line", "stream", "timestamp"],
       "fields of a line")
    eq(x["container_id"], CID[:12], "container id (12 characters)")
    eq(x["timestamp"], rfc3339(T0), "timestamp")
    t = time.monotonic()
    s.write("a", line_frame(2, T0 + 10 ** 9, "now on stderr"))
    ev = v.until(lambda e: len(lines(e)) >= 1, 5)
    took = time.monotonic() - t
    eq([(x["line"], x["stream"]) for x in lines(ev)],
       [("now on stderr", "stderr")], "the live line")
    check(took < 1.0, "the live line took %.3f s" % took)
    diag("a line written to the stream reached the client in %.1f ms"
         % (took * 1000))
    s.close("a")
    ev = v.until(lambda e: any(x[0] == "exited" for x in e), 5)
    check(("exited", CID[:12]) in ev, "no container_exited: %r" % ev)
    check(not v.eof, "the stream ended with its only container (Decision "
          "9: it waits for the next)")
    v.close()
    m = wait_until(lambda: s.marks() or None, 5)
    eq([(x["container_id"], x["last"]) for x in m or []],
       [(CID, rfc3339(T0 + 10 ** 9))], "the mark reached the reconciler")


def t_sse_refusals():
    """401 without a token, 404 for a service of another project or
    none, 404 for a service that never logged, 400 for a bad since or
    stream; a service with a running container but no line yet waits."""
    s = Stand()
    v = s.sse(token=False)
    eq(v.status, 401, "status without a token")
    other = s.ok("POST", "/api/projects", {"name": "other"}, 201)["id"]
    r = s.d.api("GET", "/api/projects/%s/services/%s/logs" % (other, s.sid),
                token=s.token)
    expect_error(r, 404, "not_found", "Service not found.",
                 what="a service of another project")
    r = s.d.api("GET", s.path(str(uuid.uuid4())), token=s.token)
    expect_error(r, 404, "not_found", "Service not found.",
                 what="no such service")
    r = s.d.api("GET", s.path(), token=s.token)
    expect_error(r, 404, "not_found", "No running containers for this "
                 "service.", what="a service that never logged")
    r = s.d.api("GET", s.path(query="?since=yesterday"), token=s.token)
    expect_error(r, 400, "invalid", what="since=yesterday")
    r = s.d.api("GET", s.path(query="?stream=stdin"), token=s.token)
    expect_error(r, 400, "invalid", what="stream=stdin")
    s.running_container()
    v = s.sse()
    eq(v.status, 200, "status with a running container")
    s.stream("a")
    s.write("a", frames(1))
    eq(texts(v.until(lambda e: len(lines(e)) >= 1, 5)), ["line 0"],
       "the first line")
    v.close()


def t_sse_filters():
    """tail is exact, q (any case), since and stream filter, follow=0
    ends with event: end."""
    s = Stand()
    s.stream("a")
    s.write("a", frames(1000, stream=lambda i: 2 if i % 5 == 0 else 1,
                        text="%d message"))
    s.stream("b", cid=CID2)
    s.write("b", b"".join(line_frame(1, T0 + i * 10 ** 6 + 1,
                                     "b %d Needle" % i) for i in range(10)))
    ev = s.history("?tail=7")
    eq(len(ev), 7, "tail=7")
    ev = s.history("?tail=all")
    eq(len(ev), 1010, "tail=all")
    eq(len(s.history("")), 500, "the default tail")
    eq(len(s.history("?tail=0")), 500, "tail=0 (the default, as in the "
       "reference)")
    got = texts(s.history("?q=NEEDLE"))
    eq(got, ["b %d Needle" % i for i in range(10)], "q, any case")
    got = lines(s.history("?stream=stderr&tail=all"))
    check(all(x["stream"] == "stderr" for x in got), "stream=stderr")
    eq(len(got), 200, "stderr lines")
    since = rfc3339(T0 + 995 * 10 ** 6)
    got = texts(s.history("?since=%s" % since))
    eq(got, ["995 message", "996 message", "997 message", "998 message",
             "999 message"], "since=%s" % since)
    # History is in the order lines came, containers interleaved.
    got = texts(s.history("?until=%s&tail=3" % rfc3339(T0 + 2 * 10 ** 6)))
    eq(got, ["2 message", "b 0 Needle", "b 1 Needle"], "until, tail=3")


class Reader(threading.Thread):
    """A client that keeps reading, in the background: the bytes of its
    events, and how many lines they hold."""

    def __init__(self, v):
        threading.Thread.__init__(self, daemon=True)
        self.v = v
        self.data = []
        self.nlines = 0
        self.stop = False
        self.start()

    def run(self):
        v = self.v
        while not self.stop and not v.eof:
            r, _, _ = select.select([v.sock], [], [], 0.2)
            if not r:
                continue
            d = v.sock.recv(1 << 20)
            if not d:
                break
            v._chunks(d)
            cut = v.buf.rfind(b"\n\n")
            if cut == -1:
                continue
            whole, v.buf = v.buf[:cut + 2], v.buf[cut + 2:]
            self.data.append(whole)
            self.nlines += whole.count(b'"line":')


def t_two_viewers_and_a_stalled_one():
    """Two clients get the same lines; a client that stops reading is
    cut off while the others keep up."""
    s = Stand()
    s.stream("a")
    s.write("a", frames(1))
    a = s.sse("?tail=1")
    b = s.sse("?tail=1")
    stalled = s.sse("?tail=1", rcvbuf=65536)
    ra, rb = Reader(a), Reader(b)
    pad = "z" * 600         # 44 MB of events: logd keeps 16 MiB for one
    total = 60001
    for i in range(0, total - 1, 2000):
        s.write("a", frames(2000, start=1 + i, text="%06d " + pad))
        # They keep up: each has what was written before more comes.
        check(wait_until(lambda: ra.nlines >= i + 2001 and
                         rb.nlines >= i + 2001, 30),
              "the readers got %d and %d lines of %d" % (
                  ra.nlines, rb.nlines, i + 2001))
    ra.stop = rb.stop = True
    ra.join()
    rb.join()
    eq(ra.nlines, total, "lines of the first client")
    check(b"".join(ra.data) == b"".join(rb.data), "the two clients got "
          "different events")
    # Cut off by logd (dropped) or, once dkd-api could not write to it
    # for 20 s, by dkd-api: either way before the end.
    ev = stalled.all(60)
    dropped = bool(ev) and ev[-1][0] == "dropped"
    check(stalled.eof and (dropped or not stalled.ended), "the stalled "
          "client was not cut off: eof %s, ended %s, last events %r" % (
              stalled.eof, stalled.ended, [e[0] for e in ev[-3:]]))
    check(len(lines(ev)) < total, "the stalled client got every line")
    diag("the stalled client got %d lines, then %s" % (
        len(lines(ev)), "dropped" if dropped else "its connection closed"))
    a.close()
    b.close()


def fds_of(d, comm):
    return len(proc_fds(d.worker(comm)))


def sanitized(pid):
    """ASan's redzones and quarantine make memory figures meaningless."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def rss_of(pid):
    return int(proc_status(pid)["VmRSS"].split()[0])


def t_churn():
    """1,000 clients connect and go: no descriptor or memory growth in
    dkd-api, dkd-logd or the master."""
    s = Stand()
    s.stream("a")
    s.write("a", frames(600))
    for _ in range(20):
        v = s.sse("?tail=100")
        v.read(0.05)
        v.close()
    time.sleep(1)
    d = s.d
    pids = {c: d.worker(c) for c in ("dkd-api", "dkd-logd")}
    pids["dkd"] = d.pid
    before = {c: (len(proc_fds(p)), rss_of(p)) for c, p in pids.items()}
    for i in range(1000):
        v = s.sse("?tail=%d" % (100 + i % 7))
        if i % 4 == 0:
            v.read(0.01)
        v.close()
    time.sleep(1.5)
    after = {c: (len(proc_fds(p)), rss_of(p)) for c, p in pids.items()}
    for c in pids:
        diag("%s: descriptors %d -> %d, RSS %d -> %d kB" % (
            c, before[c][0], after[c][0], before[c][1], after[c][1]))
        eq(after[c][0], before[c][0], "descriptors of %s" % c)
        check(after[c][1] - before[c][1] < 2048 or sanitized(pids[c]),
              "%s grew by %d kB" % (c, after[c][1] - before[c][1]))
    eq(d.health_status(), 200, "health after the churn")


def t_history_outlives():
    """Decision 9: once its container is gone, a service's history is
    still served, and the stream then waits for the next container;
    SIGKILL of dkd-logd keeps the history; deleting the service removes
    it."""
    s = Stand()
    s.stream("a")
    s.write("a", frames(50))
    s.close("a")
    wait_until(lambda: s.marks() or None, 5)
    v = s.sse("?tail=all")
    ev = v.until(lambda e: len(lines(e)) >= 50, 5)
    eq(len(lines(ev)), 50, "history of the gone container")
    more = v.read(1.5)
    check(not v.eof and not any(e[0] == "end" for e in more),
          "the stream ended: %r" % more)
    s.stream("b", cid=CID2)
    s.write("b", line_frame(1, T0 + 10 ** 9, "next container"))
    eq(texts(v.until(lambda e: len(lines(e)) >= 1, 5)), ["next container"],
       "the next container's line")
    v.close()
    s.close("b")
    logd = s.d.worker("dkd-logd")
    os.kill(logd, signal.SIGKILL)
    check(wait_until(lambda: (s.d.worker("dkd-logd") or logd) != logd, 20),
          "dkd-logd was not restarted", *s.d.log_tail())
    got = wait_until(lambda: (lambda r: r if r.status == 200 else None)(
        s.d.api("GET", s.path(query="?follow=0&tail=all"),
                token=s.token)), 20)
    check(got, "no 200 after the restart of dkd-logd")
    eq(len(s.history("?tail=all")), 51, "history after SIGKILL of logd")
    logdir = os.path.join(s.d.logdir, "data", s.sid)
    check(os.path.isdir(logdir), "no history directory %s" % logdir)
    s.ok("DELETE", "/api/projects/%s/services/%s" % (s.pid, s.sid))
    s.ok("POST", "/api/projects/%s/deploy" % s.pid)
    check(wait_until(lambda: not os.path.exists(logdir), 10),
          "the history of a deleted service is still on disk")


def t_ping():
    """A quiet stream gets ": ping" every 15 s and stays open past the
    20 s timeouts of ordinary requests."""
    s = Stand()
    s.stream("a")
    s.write("a", frames(1))
    v = s.sse()
    t = time.monotonic()
    ev = v.until(lambda e: any(x[0] == "ping" for x in e), 20)
    check(any(x[0] == "ping" for x in ev), "no ping in 20 s")
    took = time.monotonic() - t
    check(took <= 16.5, "the first ping came after %.1f s" % took)
    v.read(10)
    check(not v.eof, "a quiet stream closed after %.0f s"
          % (time.monotonic() - t))
    s.write("a", line_frame(1, T0 + 10 ** 9, "still here"))
    eq(texts(v.until(lambda e: len(lines(e)) >= 1, 5)), ["still here"],
       "a line after 30 s of quiet")
    v.close()


def dkctl_logs(s, *args, timeout=15):
    return subprocess.run([DKCTL, "-s", s.d.sock, "logs"] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def t_dkctl():
    """dkctl logs [-f] [-n N] [-s SINCE] [-q TEXT] PROJECT/SERVICE, in
    the manner of docker logs: stdout lines to stdout, stderr lines to
    stderr."""
    s = Stand()
    s.stream("a")
    s.write("a", frames(20, stream=lambda i: 2 if i % 4 == 0 else 1))
    r = dkctl_logs(s, "logs/web")
    eq(r.returncode, 0, "exit status (stderr %r)" % r.stderr)
    eq(r.stdout.splitlines(), ["line %d" % i for i in range(20)
                               if i % 4], "standard output")
    eq(r.stderr.splitlines(), ["line %d" % i for i in range(0, 20, 4)],
       "standard error")
    r = dkctl_logs(s, "-n", "3", "%s/%s" % (s.pid, s.sid))
    eq(r.stdout.splitlines() + r.stderr.splitlines(),
       ["line 17", "line 18", "line 19"], "-n 3, by ids")
    r = dkctl_logs(s, "-q", "LINE 1", "logs/web")
    eq(sorted((r.stdout + r.stderr).split("\n")[:-1]),
       sorted(["line 1"] + ["line %d" % i for i in range(10, 20)]), "-q")
    r = dkctl_logs(s, "-s", rfc3339(T0 + 18 * 10 ** 6), "logs/web")
    eq(r.stdout.splitlines(), ["line 18", "line 19"], "-s")
    r = dkctl_logs(s, "logs/nope")
    check(r.returncode != 0 and "Service not found" in r.stderr,
          "no such service: %r" % r.stderr)
    p = subprocess.Popen([DKCTL, "-s", s.d.sock, "logs", "-f", "-n", "1",
                          "logs/web"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)
        s.write("a", line_frame(1, T0 + 10 ** 9, "followed"))
        time.sleep(1)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=5)
    finally:
        if p.poll() is None:
            p.kill()
    eq(out.splitlines(), ["line 19", "followed"], "-f")


tests = [
    ("SSE: headers, history then a live line within 1 s, stderr marked, "
     "container_exited", t_sse_basics),
    ("SSE: 401, 404 (membership, never logged), 400; a running container "
     "without lines waits", t_sse_refusals),
    ("SSE: tail exact, q, since, until, stream, follow=0", t_sse_filters),
    ("SSE: two clients get the same lines; a stalled one is dropped",
     t_two_viewers_and_a_stalled_one),
    ("SSE: 1,000 connects and disconnects, no descriptor or memory "
     "growth", t_churn),
    ("history outlives the container, survives SIGKILL of dkd-logd, goes "
     "with the service", t_history_outlives),
    ("SSE: a quiet stream is pinged every 15 s and stays open", t_ping),
    ("dkctl logs -f -n -s -q", t_dkctl),
]

def finished(fn):
    """The test, then every dkd it started stops cleanly."""
    def t():
        try:
            fn()
            for s in stands:
                s.finish()
        finally:
            del stands[:]
    return t


if __name__ == "__main__":
    only = os.environ.get("DKD_TEST_ONLY")
    run_tests([(n, finished(f)) for n, f in tests if not only or only in n])
