#!/usr/bin/env python3
"""Slow clients against dkd-api's connection limits.

dkd runs with a low RLIMIT_NOFILE (prlimit), so dkd-api has room for
fewer sockets than the attack opens.  The attack opens far more
connections than that, all of which dribble one header byte at a time
and never finish a request:

  - from 127.0.0.1 alone: the per-address cap keeps all but a few out, and
    /api/health still answers at once from 127.0.0.2;
  - then from eight more addresses: the global cap fills, and /api/health
    from yet another address still answers at once (the connection that
    has waited longest for a request makes room for it);
  - every dribbling connection is closed at the request deadline although
    bytes keep arriving, and so is one that dribbles its second request
    after a complete first one (keep-alive);
  - dkd-api's CPU time stays low throughout: it neither spins on accept
    at EMFILE nor works hard for the attacker.

Before the fix the first check already failed: dkd-api accepted until
EMFILE, then spun at 100 % CPU on the listening socket, and health from
another address was never accepted."""

import collections
import os
import resource
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import Dkd, check, eq, proc_fds, run_tests, wait_until

NOFILE = 256            # dkd-api room: (256 - 64 reserve) / 2 = 96 clients
MAX_CONNS = 96
PER_ADDR = 24           # a quarter of MAX_CONNS
DEADLINE = 20           # seconds for a complete request (API_REQUEST_SEC)
HEALTH_BODY = b'{"status":"ok"}'
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peers(pid, port):
    """Counter of remote IPv4 addresses of the TCP connections that pid
    holds on its listening port."""
    inodes = {}
    with open("/proc/%d/net/tcp" % pid) as f:
        for line in f.read().splitlines()[1:]:
            fl = line.split()
            if int(fl[1].rsplit(":", 1)[1], 16) != port or fl[3] == "0A":
                continue
            raw = bytes.fromhex(fl[2].split(":")[0])[::-1]
            inodes["socket:[%s]" % fl[9]] = socket.inet_ntoa(raw)
    return collections.Counter(inodes[link] for link in
                               proc_fds(pid).values() if link in inodes)


def health_from(port, source, timeout=3):
    """GET /api/health over a connection from source; -> (status, body,
    seconds), status None if the connection failed or timed out."""
    t0 = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    reply = b""
    try:
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        while True:
            d = s.recv(4096)
            if not d:
                break
            reply += d
    except OSError as e:
        return None, repr(e).encode(), time.monotonic() - t0
    finally:
        s.close()
    took = time.monotonic() - t0
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") \
        else None
    return status, body, took


def health_at_once(port, source, when):
    status, body, took = health_from(port, source)
    eq((status, body), (200, HEALTH_BODY), "GET /api/health from %s %s"
       % (source, when))
    check(took < 1.0, "GET /api/health from %s %s took %.2f s"
          % (source, when, took))


class Dribblers:
    """Connections that send a request line and then one header byte at
    a time, never finishing.  Tracks which ones the server closed."""

    def __init__(self, port):
        self.port = port
        self.open = {}          # socket -> (source, opened at)
        self.closed = []        # (source, seconds open)
        self.refused = 0        # connect() itself failed or timed out

    def connect(self, source, n):
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(2)
            try:
                s.bind((source, 0))
                s.connect(("127.0.0.1", self.port))
                s.sendall(b"GET /api/health HTTP/1.1\r\nX-Slow: ")
            except OSError:
                self.refused += 1
                s.close()
                continue
            s.setblocking(False)
            self.open[s] = (source, time.monotonic())

    def connect_keepalive(self, source):
        """One complete request, its reply read, then the next request
        dribbled on the same connection."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        s.bind((source, 0))
        s.connect(("127.0.0.1", self.port))
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = b""
        while not reply.endswith(HEALTH_BODY):
            d = s.recv(4096)
            check(d, "keep-alive connection closed after one request: %r"
                  % reply)
            reply += d
        s.sendall(b"GET /api/health HTTP/1.1\r\nX-Slow: ")
        s.setblocking(False)
        self.open[s] = (source, time.monotonic())

    def _close(self, s):
        source, t0 = self.open.pop(s)
        self.closed.append((source, time.monotonic() - t0))
        s.close()

    def poll(self):
        """Notice connections the server closed (EOF, reset or any
        reply: a reply means it did not wait for us)."""
        socks = list(self.open)
        for i in range(0, len(socks), 500):
            ready, _, _ = select.select(socks[i:i + 500], [], [], 0)
            for s in ready:
                try:
                    s.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                self._close(s)

    def dribble(self):
        for s in list(self.open):
            try:
                s.send(b"a")
            except BlockingIOError:
                pass
            except OSError:
                self._close(s)
        self.poll()

    def count(self, source=None):
        return sum(1 for src, _ in self.open.values()
                   if source is None or src == source)

    def close_all(self):
        for s in list(self.open):
            s.close()
        self.open.clear()


def test_slowloris():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    check(hard >= 2000, "the test needs 2000 descriptors, hard limit %d"
          % hard)
    d = Dkd("slowloris")
    d.start(wrap=lambda cmd: ["prlimit", "--nofile=%d:%d" % (NOFILE, NOFILE),
                              "--"] + cmd)
    api = d.worker("dkd-api")
    with open("/proc/%d/limits" % api) as f:
        lim = [l for l in f if l.startswith("Max open files")][0].split()
    eq(int(lim[3]), NOFILE, "dkd-api's RLIMIT_NOFILE (prlimit)")
    cpu0 = cpu_seconds(api)
    t0 = time.monotonic()
    dr = Dribblers(d.port)
    try:
        # One address, more connections than dkd-api has descriptors.
        dr.connect("127.0.0.1", 2 * NOFILE)
        time.sleep(0.5)
        dr.dribble()
        health_at_once(d.port, "127.0.0.2", "while 127.0.0.1 dribbles")
        held = peers(api, d.port)
        eq(held["127.0.0.1"], PER_ADDR, "connections from 127.0.0.1 that "
           "dkd-api holds (the per-address cap)")
        check(dr.count("127.0.0.1") <= PER_ADDR, "%d connections from "
              "127.0.0.1 still open on our side, cap %d"
              % (dr.count("127.0.0.1"), PER_ADDR))

        # Eight more addresses: twice the global cap in all.
        for i in range(3, 11):
            dr.connect("127.0.0.%d" % i, PER_ADDR)
        time.sleep(0.5)
        dr.dribble()
        held = peers(api, d.port)
        eq(sum(held.values()), MAX_CONNS, "client connections dkd-api "
           "holds (the global cap, from RLIMIT_NOFILE %d): %r"
           % (NOFILE, held))
        time.sleep(1.2)         # the oldest have waited over a second
        dr.dribble()
        health_at_once(d.port, "127.0.0.20", "with the global cap full of "
                       "dribblers")

        # Dribbling the second request on a keep-alive connection.
        dr.connect_keepalive("127.0.0.21")

        # Keep dribbling: the deadline must close them all the same.
        before = dr.count()
        check(before > 0, "no dribbling connection left open to time out")
        while dr.open and time.monotonic() - t0 < DEADLINE + 8:
            dr.dribble()
            time.sleep(0.5)
        check(not dr.open, "%d dribbling connections still open %.0f s "
              "after they were accepted (deadline %d s)"
              % (len(dr.open), time.monotonic() - t0, DEADLINE))
        late = [t for _, t in dr.closed if t > DEADLINE + 3]
        check(not late, "%d connections closed only after %.1f s"
              % (len(late), max(late or [0])))
        check(wait_until(lambda: sum(peers(api, d.port).values()) == 0, 3),
              "dkd-api still holds connections: %r" % peers(api, d.port))
        status, body, took = health_from(d.port, "127.0.0.1")
        eq((status, body), (200, HEALTH_BODY), "GET /api/health from "
           "127.0.0.1 after the attack")
        eq(d.worker("dkd-api"), api, "dkd-api pid (it died or restarted)")
        cpu = cpu_seconds(api) - cpu0
        wall = time.monotonic() - t0
        check(cpu < 0.15 * wall, "dkd-api used %.1f s of CPU in %.0f s: "
              "busy loop?" % (cpu, wall))
        print("# dkd-api CPU %.2f s in %.0f s; %d connects refused by "
              "the kernel" % (cpu, wall, dr.refused))
    finally:
        dr.close_all()


run_tests([
    ("slow dribbling clients: per-address and global caps, request "
     "deadline, no busy loop at the fd limit (slow, ~25 s)", test_slowloris),
])
