#!/usr/bin/python3
"""dkd-logd on its own (issue 9), with this test as its master: the real
binary, sandboxed as in dkd, fed Docker log streams the way the
reconciler hands them over (the read end of a pipe) and viewer sockets
the way the master hands them to dkd-api.  Streams are real bytes from
the Docker Engine API of busybox containers started here, and synthetic
ones for what a container does not easily print (torn frames, binary
garbage, a 100 KiB line, megabytes of history)."""

import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import check, diag, eq, run_tests, wait_until  # noqa: E402
from logdrig import (LogdRig, cleanup_containers, container_logs,  # noqa
                     frame, line_frame, lines, remove_container, rfc3339,
                     run_container, texts, wait_container)

SVC = "5e7f4b2a-0000-4000-8000-000000000001"
SVC2 = "5e7f4b2a-0000-4000-8000-000000000002"
CID = "a1" * 32
CID2 = "b2" * 32
T0 = 1767225600 * 10 ** 9          # 2026-01-01T00:00:00Z

rigs = []


def rig(**limits):
    r = LogdRig(**limits).start()
    rigs.append(r)
    return r


SANITIZER_ERRORS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                    "runtime error:")


def done():
    """logd exits as when its master goes (leak checks run then), and
    must have said nothing of a sanitizer's."""
    try:
        for r in rigs:
            if r.alive():
                r.stop()
            with open(r.stderr_path, errors="replace") as f:
                text = f.read()
            for e in SANITIZER_ERRORS:
                check(e not in text, "%r in dkd-logd's output" % e,
                      *text.splitlines()[-40:])
    finally:
        for r in rigs:
            r.cleanup()
        del rigs[:]


def sanitized(pid):
    """ASan's redzones and quarantine make memory figures meaningless."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def feed(w, data, step=None):
    """Write data into a stream pipe, in pieces of step bytes."""
    if step is None:
        os.write(w, data)
        return
    for i in range(0, len(data), step):
        os.write(w, data[i:i + step])


def history(r, service, **kw):
    st, v = r.view(service, **kw)
    eq(st, "ok", "logd's answer to the view")
    ev = v.all()
    check(ev and ev[-1][0] == "end", "history does not end with "
          "event: end: %r" % ev[-3:])
    v.close()
    return ev[:-1]


# ------------------------------------------------------------------ tests

def t_real_streams():
    """Real bytes of Docker's API: stdout and stderr marked, times
    stripped into a field, a partial line joined, \\r\\n of a TTY
    stream, bytes that are not UTF-8, a line of 40,000 bytes that
    Docker sends in three pieces."""
    # Docker orders stdout and stderr as its copiers got them: a pause.
    script = ('echo hello; sleep 0.2; echo oops >&2; sleep 0.2; '
              'printf "no newline"; sleep 0.3; '
              'printf " then more\\n"; printf "\\x00\\xff ctl\\x1b[0m\\n"; '
              'head -c 40000 /dev/zero | tr "\\0" a; echo; echo last')
    a = run_container("dkd-logd-test-mux", script)
    b = run_container("dkd-logd-test-tty", 'echo one; echo two >&2; '
                      'printf "three"', tty=True)
    try:
        wait_container(a)
        wait_container(b)
        mux, tty = container_logs(a), container_logs(b)
    finally:
        remove_container(a)
        remove_container(b)
    r = rig()
    w = r.stream(SVC, a)
    feed(w, mux, step=7)        # torn everywhere, headers too
    os.close(w)
    w = r.stream(SVC, b, tty=True)
    feed(w, tty, step=3)
    os.close(w)
    eq(len(r.marks()), 2, "marks of the two streams")
    got = lines(history(r, SVC))
    want = [(a, "stdout", "hello"), (a, "stderr", "oops"),
            (a, "stdout", "no newline then more"),
            (a, "stdout", "\u0000\ufffd ctl\u001b[0m"),
            (a, "stdout", "a" * 40000), (a, "stdout", "last"),
            (b, "stdout", "one"), (b, "stdout", "two"),
            (b, "stdout", "three")]
    def short(t):
        return t if len(t) < 80 else "%s... (%d)" % (t[:20], len(t))
    eq([(x["container_id"], x["stream"], short(x["line"])) for x in got],
       [(c[:12], s, short(t)) for c, s, t in want],
       "lines of the two streams")
    eq(got[4]["line"], "a" * 40000, "the line of 40,000 bytes")
    for x in got:
        check(x["timestamp"].startswith("20") and
              x["timestamp"].endswith("Z") and len(x["timestamp"]) == 30,
              "timestamp %r" % x["timestamp"])
        check("truncated" not in x, "a short line marked truncated")
    done()


def t_cut_lines():
    """A line over 64 KiB is cut there and marked; the next is whole."""
    r = rig()
    w = r.stream(SVC, CID)
    long_line = b"x" * (100 * 1024)
    # As Docker sends it: 16 KiB messages, all with the same time.
    data = b""
    for i in range(0, len(long_line), 16384):
        part = long_line[i:i + 16384]
        last = i + 16384 >= len(long_line)
        data += frame(1, rfc3339(T0).encode() + b" " + part +
                      (b"\n" if last else b""))
    data += line_frame(1, T0 + 1, "after")
    feed(w, data, step=1000)
    os.close(w)
    got = lines(history(r, SVC))
    eq(len(got), 2, "lines")
    eq(len(got[0]["line"]), 64 * 1024, "length of the cut line")
    eq(got[0].get("truncated"), True, "the cut line is marked")
    eq(got[0]["timestamp"], rfc3339(T0), "time of the cut line")
    eq(got[1]["line"], "after", "the line after it")
    done()


def t_garbage():
    """A torn frame header, random bytes, a header that lies: logd
    closes that stream and serves on."""
    r = rig()
    w = r.stream(SVC, CID)
    feed(w, line_frame(1, T0, "good") + bytes([9, 1, 2, 3, 0, 0, 0, 5]) +
         os.urandom(4096))
    os.close(w)
    w = r.stream(SVC, CID2)
    feed(w, line_frame(2, T0 + 5, "other") + b"\x01\x00\x00")  # torn
    os.close(w)
    w = r.stream(SVC2, CID, tty=True)
    feed(w, os.urandom(65536) + b"\nend\n")
    os.close(w)
    check(r.ping(), "logd answers after the garbage", *r.stderr())
    eq(texts(history(r, SVC)), ["good", "other"], "lines kept")
    got = texts(history(r, SVC2))
    eq(got[-1], "end", "a raw stream of garbage then a line")
    check(r.alive(), "logd died", *r.stderr())
    done()


def t_live_and_exit():
    """A line written into a stream reaches a following viewer within a
    second; the end of the stream is container_exited, then a mark."""
    r = rig()
    w = r.stream(SVC, CID)
    feed(w, line_frame(1, T0, "before"))
    check(r.ping(), "ping")
    st, v = r.view(SVC, tail=10, follow=True)
    eq(st, "ok", "answer")
    ev = v.until(lambda e: len(lines(e)) >= 1, 5)
    eq(texts(ev), ["before"], "history")
    t = time.monotonic()
    feed(w, line_frame(2, T0 + 10, "now"))
    ev = v.until(lambda e: len(lines(e)) >= 1, 5)
    took = time.monotonic() - t
    eq([(x["line"], x["stream"]) for x in lines(ev)], [("now", "stderr")],
       "live line")
    check(took < 1.0, "the live line took %.3f s" % took)
    os.close(w)
    ev = v.until(lambda e: any(x[0] == "exited" for x in e), 5)
    check(("exited", CID[:12]) in ev, "no container_exited: %r" % ev)
    m = r.marks()
    eq([(x["container_id"], x["last"], x["last_unix"]) for x in m],
       [(CID, rfc3339(T0 + 10), "%d.%09d" % divmod(T0 + 10, 10 ** 9))],
       "the mark of the ended stream")
    v.close()
    done()


def t_replay_dedup():
    """A stream that starts over (Docker since= is inclusive) stores
    only what is newer, also after logd was killed with SIGKILL."""
    r = rig()
    w = r.stream(SVC, CID)
    data = b"".join(line_frame(1, T0 + i, "line %d" % i) for i in range(5))
    feed(w, data)
    os.close(w)
    r.marks()
    w = r.stream(SVC, CID)
    feed(w, data[len(line_frame(1, T0, "line 0")) * 4:] +
         line_frame(1, T0 + 5, "line 5"))
    os.close(w)
    r.marks()
    eq(texts(history(r, SVC)), ["line %d" % i for i in range(6)],
       "after a second stream from line 4")
    # Lines of a stream that is cut by SIGKILL are on disk; the next
    # logd knows them from the newest segment.
    w = r.stream(SVC, CID)
    feed(w, line_frame(1, T0 + 6, "line 6"))
    check(r.ping(), "ping")
    time.sleep(0.2)
    r.kill()
    os.close(w)
    r.start()
    w = r.stream(SVC, CID)
    feed(w, b"".join(line_frame(1, T0 + i, "line %d" % i)
                     for i in range(8)))
    os.close(w)
    r.marks()
    eq(texts(history(r, SVC)), ["line %d" % i for i in range(8)],
       "after SIGKILL and a stream from the start")
    done()


def t_filters():
    """tail, q (any case), since, until and stream=stderr."""
    r = rig()
    w = r.stream(SVC, CID)
    data = b""
    for i in range(100):
        data += line_frame(2 if i % 10 == 0 else 1, T0 + i * 10 ** 9,
                           "%s line %03d" % ("ERROR" if i % 7 == 0 else
                                             "info", i))
    feed(w, data)
    os.close(w)
    r.marks()
    eq(texts(history(r, SVC, tail=3)),
       ["info line 097", "ERROR line 098", "info line 099"], "tail=3")
    eq(len(lines(history(r, SVC))), 100, "all")
    eq(texts(history(r, SVC, q="error", tail=2)),
       ["ERROR line 091", "ERROR line 098"], "q=error, tail=2")
    eq([int(x[-3:]) for x in texts(history(r, SVC, stream="stderr"))],
       list(range(0, 100, 10)), "stream=stderr")
    eq([int(x[-3:]) for x in texts(history(r, SVC, since=T0 + 95 * 10 ** 9))],
       [95, 96, 97, 98, 99], "since")
    eq([int(x[-3:]) for x in texts(history(r, SVC, until=T0 + 2 * 10 ** 9))],
       [0, 1, 2], "until")
    eq([int(x[-3:]) for x in texts(history(r, SVC, since=T0 + 20 * 10 ** 9,
                                           until=T0 + 50 * 10 ** 9,
                                           q="ERROR", stream="stdout"))],
       [21, 28, 35, 42, 49], "since, until, q and stream together")
    done()


def t_live_filters():
    """Live viewers with and without filters on one service, fed by one
    write: each gets exactly its lines, in order, and container_exited
    after the last of them."""
    r = rig()
    w = r.stream(SVC, CID)
    feed(w, line_frame(1, T0, "start"))
    check(r.ping(), "ping")
    names = ("plain", "plain too", "q=error", "stderr")
    views = [r.view(SVC, tail=1, follow=True)[1],
             r.view(SVC, tail=1, follow=True)[1],
             r.view(SVC, tail=1, q="error", follow=True)[1],
             r.view(SVC, tail=1, stream="stderr", follow=True)[1]]
    for v in views[:2]:
        eq(texts(v.until(lambda e: len(lines(e)) >= 1, 5)), ["start"],
           "history of a plain viewer")
    check(r.ping(), "ping")
    made = [(2 if i % 10 == 0 else 1, "%s line %03d" % (
        "Error" if i % 7 == 0 else "info", i)) for i in range(1, 501)]
    feed(w, b"".join(line_frame(st, T0 + i, t)
                     for i, (st, t) in enumerate(made, 1)))
    os.close(w)
    want = [[t for _, t in made], [t for _, t in made],
            [t for _, t in made if "Error" in t],
            [t for st, t in made if st == 2]]
    for name, v, lns in zip(names, views, want):
        ev = v.until(lambda e: any(x[0] == "exited" for x in e), 10)
        eq(texts(ev), lns, "the live lines of the %s viewer" % name)
        eq(ev[-1:], [("exited", CID[:12])], "the %s viewer's last event"
           % name)
        v.close()
    done()


def t_no_history():
    """A service that never logged: none, unless it has containers (then
    the viewer waits for lines)."""
    r = rig()
    st, _ = r.view(SVC, follow=True)
    eq(st, "none", "answer for a service without history")
    st, v = r.view(SVC, follow=True, containers=True)
    eq(st, "ok", "answer when the database has running containers")
    w = r.stream(SVC, CID)
    feed(w, line_frame(1, T0, "first"))
    eq(texts(v.until(lambda e: len(lines(e)) >= 1, 5)), ["first"],
       "the first line of the service")
    os.close(w)
    v.close()
    done()


def t_forget():
    """IMSG_LOGD_FORGET removes the history and ends its viewers."""
    r = rig()
    w = r.stream(SVC, CID)
    feed(w, line_frame(1, T0, "x"))
    check(r.ping(), "ping")
    st, v = r.view(SVC, follow=True)
    check(os.path.isdir(os.path.join(r.data, SVC)), "no directory")
    r.forget(SVC)
    ev = v.all(5)
    check(ev and ev[-1][0] == "end" and v.eof, "viewer not ended: %r" % ev)
    check(r.ping(), "ping")
    check(not os.path.exists(os.path.join(r.data, SVC)),
          "the directory of a forgotten service is still there: %r"
          % os.listdir(r.data))
    st, _ = r.view(SVC)
    eq(st, "none", "answer for the forgotten service")
    os.close(w)
    done()


def t_retention():
    """A service that writes 8 MiB keeps at most its 1 MiB on disk, and
    the newest lines; the total budget is kept across services."""
    r = rig(retention=1 << 20, budget=3 << 20)
    pad = "p" * 200
    for svc in (SVC, SVC2, "svc-3", "svc-4"):
        w = r.stream(svc, CID)
        n = 0
        for chunk in range(32):
            data = b"".join(line_frame(1, T0 + n + i, "%08d %s" % (n + i,
                                       pad)) for i in range(1000))
            n += 1000
            feed(w, data)
        os.close(w)
        r.marks()
        size = r.service_bytes(svc)
        check(size <= 1 << 20, "%s keeps %d bytes" % (svc, size))
        last = texts(history(r, svc, tail=1))
        eq(last, ["%08d %s" % (n - 1, pad)], "newest line of %s" % svc)
    total = sum(r.service_bytes(s) or 0 for s in
                (SVC, SVC2, "svc-3", "svc-4"))
    check(total <= 3 << 20, "all services keep %d bytes" % total)
    got = texts(history(r, "svc-4"))
    check(len(got) > 2000, "the newest service keeps %d lines" % len(got))
    nums = [int(x[:8]) for x in got]
    eq(nums, list(range(nums[0], 32000)), "its lines are the newest, "
       "in order and without holes")
    done()


class Reader(threading.Thread):
    """A viewer that keeps reading, in the background: the bytes of its
    events and how many lines they hold."""

    def __init__(self, v):
        threading.Thread.__init__(self, daemon=True)
        self.v = v
        self.data = []
        self.nlines = 0
        self.start()

    def run(self):
        buf = b""
        while True:
            d = self.v.sock.recv(1 << 20)
            if not d:
                break
            buf += d
            cut = buf.rfind(b"\n\n")
            if cut == -1:
                continue
            whole, buf = buf[:cut + 2], buf[cut + 2:]
            self.data.append(whole)
            self.nlines += whole.count(b'"line":')


def t_fanout():
    """Two viewers get the same lines; a third that reads nothing is
    dropped while the others keep up, and logd stays small."""
    r = rig()
    w = r.stream(SVC, CID)
    feed(w, line_frame(1, T0, "start"))
    check(r.ping(), "ping")
    _, a = r.view(SVC, tail=1, follow=True)
    _, b = r.view(SVC, tail=1, follow=True)
    _, slow = r.view(SVC, tail=1, follow=True)
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ra, rb = Reader(a), Reader(b)
    total = 60000
    pad = "q" * 400         # 33 MB of events: twice SUBS_QUEUE_MAX
    for i in range(0, total, 2000):
        feed(w, b"".join(line_frame(1, T0 + 1 + i + k, "%06d %s" % (
            i + k, pad)) for k in range(2000)))
        check(wait_until(lambda: ra.nlines > i + 2000 and
                         rb.nlines > i + 2000, 20), "the readers got %d "
              "and %d lines of %d" % (ra.nlines, rb.nlines, i + 2001))
    eq(ra.nlines, total + 1, "lines of the first viewer")
    check(b"".join(ra.data) == b"".join(rb.data), "the two viewers got "
          "different events")
    ev = slow.all(10)
    check(ev and ev[-1][0] == "dropped", "the slow viewer was not "
          "dropped: %r" % ev[-3:])
    diag("the slow viewer got %d lines before it was dropped"
         % len(lines(ev)))
    rss = r.rss_kb()
    check(rss < 64 * 1024 or sanitized(r.pid), "logd uses %d kB" % rss)
    os.close(w)
    a.close()
    b.close()


def t_memory_cap():
    """Viewers that stop reading, each within its own bound, hold no
    more than SUBS_MEMORY_MAX together: the one furthest behind goes."""
    r = rig()
    pad = "m" * 400
    views, pipes = [], []
    for n in range(24):
        svc = "svc-mem-%02d" % n
        w = r.stream(svc, CID)
        feed(w, line_frame(1, T0, "start"))
        pipes.append(w)
        check(r.ping(), "ping")
        _, v = r.view(svc, tail=1, follow=True)
        v.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        views.append(v)
    # 3.5 MiB each, under the 16 MiB of one, 84 MiB in all.
    chunk = b"".join(line_frame(1, T0 + 1 + k, "%06d %s" % (k, pad))
                     for k in range(1000))
    for _ in range(8):
        for w in pipes:
            feed(w, chunk)
    check(r.ping(), "ping")
    rss = r.rss_kb()
    diag("logd's RSS with 24 stalled viewers: %d kB" % rss)
    check(rss < 96 * 1024 or sanitized(r.pid), "logd uses %d kB" % rss)
    dropped = 0
    for v in views:
        # The dropped ones end; the others are quiet once drained.
        ev = v.until_quiet(1)
        if ev and ev[-1][0] == "dropped":
            dropped += 1
        v.close()
    diag("%d of 24 stalled viewers dropped" % dropped)
    check(0 < dropped < 24, "%d of 24 stalled viewers dropped" % dropped)
    for w in pipes:
        os.close(w)
    done()


def t_churn():
    """1,000 viewers come and go: logd's descriptors and memory stay
    where they were."""
    r = rig()
    w = r.stream(SVC, CID)
    feed(w, b"".join(line_frame(1, T0 + i, "line %d" % i)
                     for i in range(600)))
    check(r.ping(), "ping")
    for _ in range(50):
        st, v = r.view(SVC, follow=True)
        v.read(0.05)
        v.close()
    check(r.ping(), "ping")
    time.sleep(0.3)
    fds0, rss0 = r.fds(), r.rss_kb()
    for i in range(1000):
        st, v = r.view(SVC, follow=(i % 2 == 0), tail=100 + i % 3)
        if i % 3 == 0:
            v.read(0.01)
        v.close()
    check(r.ping(), "ping")
    time.sleep(0.5)
    check(r.ping(), "ping")
    fds1, rss1 = r.fds(), r.rss_kb()
    diag("descriptors %d -> %d, RSS %d -> %d kB" % (fds0, fds1, rss0, rss1))
    eq(fds1, fds0, "logd's descriptors after 1,000 viewers")
    check(rss1 - rss0 < 2048 or sanitized(r.pid), "logd grew by %d kB"
          % (rss1 - rss0))
    os.close(w)
    done()


def t_restart_keeps_history():
    """History is on disk: a new logd serves it, and a viewer of the
    old one that saw its end reconnects to the same lines."""
    r = rig()
    w = r.stream(SVC, CID)
    feed(w, b"".join(line_frame(1 + i % 2, T0 + i, "line %d" % i)
                     for i in range(2000)))
    check(r.ping(), "ping")
    before = history(r, SVC)
    _, v = r.view(SVC, follow=True, tail=1)
    v.read(0.2)
    r.kill()
    os.close(w)
    v.all(5)
    check(v.eof, "the viewer of a dead logd is not ended")
    r.start()
    eq(history(r, SVC), before, "history after SIGKILL and a restart")
    done()


tests = [
    ("real Docker streams, torn anywhere: lines, streams, times, TTY, "
     "bytes that are not UTF-8", t_real_streams),
    ("a line over 64 KiB is cut and marked", t_cut_lines),
    ("garbage and a torn header close the stream, never logd",
     t_garbage),
    ("a live line within 1 s; container_exited and the mark at the end",
     t_live_and_exit),
    ("a stream started over stores no line twice, after SIGKILL too",
     t_replay_dedup),
    ("tail, q, since, until and stream filter", t_filters),
    ("live viewers with and without filters, one write: their lines in "
     "order, then container_exited", t_live_filters),
    ("a service that never logged: none, unless it has containers",
     t_no_history),
    ("forget removes the history and ends the viewers", t_forget),
    ("retention per service and the total budget keep the newest lines",
     t_retention),
    ("two viewers get the same lines; a stalled one is dropped",
     t_fanout),
    ("stalled viewers together stay under the memory bound",
     t_memory_cap),
    ("1,000 viewers come and go: no descriptor or memory growth",
     t_churn),
    ("history survives SIGKILL of logd", t_restart_keeps_history),
]

if __name__ == "__main__":
    try:
        only = os.environ.get("DKD_TEST_ONLY")
        run_tests([t for t in tests if not only or only in t[0]])
    finally:
        done()
        cleanup_containers()
