#!/usr/bin/env python3
"""Benchmarks of issue 7, against a real dkd from the install tree:

  apply     Apply (POST /api/projects/{id}/deploy) of 100 staged changes:
            10 deployed services, then 100 project-scope env vars staged,
            so that the Apply writes 100 rows and redeploys the 10
            services.  Time of the POST, RUNS times.
  room      50 WebSocket clients in one canvas room; one of them sends
            node:move at RATE a second for SECONDS; every other client
            times each node:moved from send to receipt (the send time
            rides in position_x).  Delivery latency p50/p99 and dkd-api's
            CPU over the run.
  memory    PSS and anonymous PSS of the four processes, idle, then with
            50 canvas connections open and idle.

    bench/canvas.py [apply|room|memory ...]    (default: all three)

Environment: DKD_PREFIX (build/root), RUNS (5), CLIENTS (50), RATE (100),
SECONDS (10), BENCH_SUMMARY (a file to append the summary lines to).
Uses the integration tests' helpers (tests/integration)."""

import os
import selectors
import socket
import statistics
import struct
import sys
import threading
import time

from benchlib import must, summary  # first: the path to tests/integration
from dkdtest import Dkd, cleanup_all  # noqa: E402
from wsclient import Ws  # noqa: E402

RUNS = int(os.environ.get("RUNS", "5"))
CLIENTS = int(os.environ.get("CLIENTS", "50"))
RATE = float(os.environ.get("RATE", "100"))
SECONDS = float(os.environ.get("SECONDS", "10"))
JOIN = ("canvas:state", "users:list", "service:drafts",
        "pending-changes:state")


def fresh():
    d = Dkd("bench").start()
    _, t = d.register_admin()
    return d, t["access_token"]


def project(d, tok, name):
    return must(d.api("POST", "/api/projects", {"name": name}, token=tok),
                201, "create project")["id"]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


# ------------------------------------------------------------------ apply

def bench_apply():
    times = []
    d, tok = fresh()
    try:
        for run in range(RUNS):
            pid = project(d, tok, "apply %d" % run)
            for i in range(10):
                s = must(d.api("POST", "/api/projects/%s/services" % pid,
                               {"name": "svc%d" % i}, token=tok), 201,
                         "create service")
                must(d.api("POST", "/api/projects/%s/services/%s/deployments"
                           % (pid, s["id"]), {"image": "dkt/none:1"},
                           token=tok), 201, "deployment")
            for i in range(100):
                must(d.api("POST", "/api/projects/%s/env-vars" % pid,
                           {"key": "K%03d" % i, "value": "v%d" % i},
                           token=tok), 201, "stage env var")
            t0 = time.monotonic()
            j = must(d.api("POST", "/api/projects/%s/deploy" % pid,
                           token=tok, timeout=60), 200, "apply")
            times.append((time.monotonic() - t0) * 1000)
            if j["applied_count"] != 100 or \
                    len(j["redeployed_service_ids"]) != 10:
                raise SystemExit("apply: unexpected result %r" % j)
    finally:
        d.cleanup()
    print("apply of 100 staged changes, ms per run:",
          " ".join("%.1f" % t for t in times))
    summary("apply (100 changes, 10 redeploys, median of %d): %.1f ms "
            "(min %.1f, max %.1f)" % (RUNS, statistics.median(times),
                                      min(times), max(times)))


# ------------------------------------------------------------------- room

def joined(d, pid, tok, source):
    w = Ws(d.port, "/api/projects/%s/canvas/ws" % pid, timeout=20)
    if w.connect(source=source) != 101:
        raise SystemExit("handshake: %r" % w.body)
    w.auth(tok)
    for want in JOIN:
        m = w.recv_json()
        if m.get("type") != want:
            raise SystemExit("join: got %r, want %s" % (m, want))
    return w


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain(ws, lat, stop):
    """Every node:moved to the clients in ws, read in one thread: the
    latency of each from the time in position_x."""
    sel = selectors.DefaultSelector()
    for w in ws:
        w.sock.setblocking(False)
        sel.register(w.sock, selectors.EVENT_READ, w)
    bufs = {w: b"" for w in ws}
    while not stop.is_set():
        for key, _ in sel.select(0.2):
            w = key.data
            try:
                data = w.sock.recv(1 << 16)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(w.sock)
                continue
            now = time.time()
            buf = bufs[w] + data
            # Server frames are unmasked: FIN+opcode, length, payload.
            while len(buf) >= 2:
                n = buf[1] & 0x7f
                off = 2
                if n == 126:
                    if len(buf) < 4:
                        break
                    n = struct.unpack(">H", buf[2:4])[0]
                    off = 4
                elif n == 127:
                    if len(buf) < 10:
                        break
                    n = struct.unpack(">Q", buf[2:10])[0]
                    off = 10
                if len(buf) < off + n:
                    break
                msg = buf[off:off + n]
                buf = buf[off + n:]
                if b'"node:moved"' in msg:
                    i = msg.find(b'"position_x":')
                    if i >= 0:
                        v = msg[i + 13:].split(b",")[0].split(b"}")[0]
                        lat.append((now - float(v)) * 1000)
            bufs[w] = buf


def bench_room():
    d, tok = fresh()
    try:
        pid = project(d, tok, "room")
        node = "bench-node-1"
        clients = [joined(d, pid, tok, "127.0.0.%d" % (10 + i % 8))
                   for i in range(CLIENTS)]
        sender, rest = clients[0], clients[1:]
        sender.send("node:upsert", {"id": node, "type": "note",
                                    "label": "n", "position_x": 0,
                                    "position_y": 0, "data": "{}"})
        time.sleep(1)
        for w in clients:       # what the upsert sent, and anything else
            w.sock.settimeout(0.2)
            try:
                while True:
                    w.recv_frame(0.2)
            except Exception:
                pass
        lat, stop = [], threading.Event()
        t = threading.Thread(target=drain, args=(rest, lat, stop))
        t.start()
        api = d.worker("dkd-api")
        c0 = cpu_seconds(api)
        m0 = cpu_seconds(d.pid)
        n = int(RATE * SECONDS)
        t0 = time.monotonic()
        for i in range(n):
            due = t0 + i / RATE
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sender.send("node:move", {"positions": [
                {"id": node, "position_x": time.time(), "position_y": i}]})
        elapsed = time.monotonic() - t0
        time.sleep(1)
        stop.set()
        t.join()
        c1 = cpu_seconds(api)
        m1 = cpu_seconds(d.pid)
        want = n * len(rest)
        print("room: %d clients, %d node:move in %.1f s, %d of %d "
              "deliveries timed" % (CLIENTS, n, elapsed, len(lat), want))
        summary("room (%d clients, %.0f node:move/s for %.0f s): delivery "
                "p50 %.2f ms, p99 %.2f ms, max %.2f ms; %d/%d delivered; "
                "dkd-api CPU %.0f%% of a core, master %.0f%%"
                % (CLIENTS, RATE, SECONDS, pct(lat, 50), pct(lat, 99),
                   max(lat), len(lat), want,
                   100 * (c1 - c0) / (elapsed + 1),
                   100 * (m1 - m0) / (elapsed + 1)))
        for w in clients:
            try:
                w.shutdown()
            except OSError:
                pass
    finally:
        d.cleanup()


# ----------------------------------------------------------------- memory

def pss(pid):
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Pss", "Pss_Anon"):
                out[k] = int(v.split()[0])
    return out


def total_pss(d):
    pids = [d.pid] + list(d.workers().values())
    t = {"Pss": 0, "Pss_Anon": 0}
    for p in pids:
        for k, v in pss(p).items():
            t[k] += v
    return t


def bench_memory():
    d, tok = fresh()
    try:
        pid = project(d, tok, "memory")
        time.sleep(2)
        idle = total_pss(d)
        clients = [joined(d, pid, tok, "127.0.0.%d" % (10 + i % 8))
                   for i in range(CLIENTS)]
        time.sleep(2)
        busy = total_pss(d)
        summary("memory: idle %.2f MiB PSS (%.2f anon); with %d canvas "
                "connections %.2f MiB PSS (%.2f anon)"
                % (idle["Pss"] / 1024, idle["Pss_Anon"] / 1024, CLIENTS,
                   busy["Pss"] / 1024, busy["Pss_Anon"] / 1024))
        for w in clients:
            w.shutdown()
    finally:
        d.cleanup()


def main():
    which = sys.argv[1:] or ["apply", "room", "memory"]
    try:
        for w in which:
            {"apply": bench_apply, "room": bench_room,
             "memory": bench_memory}[w]()
    finally:
        cleanup_all()


if __name__ == "__main__":
    main()
