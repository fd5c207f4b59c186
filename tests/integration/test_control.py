#!/usr/bin/env python3
"""The control socket under attack: a client that pipelines requests and
never reads its answers, an answer too large for the socket, idle
connections, and a local user who opens connection after connection.
The master must hang up on the offender and keep serving everybody else;
run against the ASan build (DKD_PREFIX=build-asan/root) it must also
report no memory error."""

import os
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (IMSG, PASSWORD, Dkd, check, ctl_connect, ctl_request,
                     eq, imsg_pack, run_tests, w_i64, w_str, wait_until,
                     CTL_VERSION, ImsgReader)

IDLE_SEC = 10           # CONTROL_IDLE_SEC in dkd-master/control.c
PER_UID = 4             # CONTROL_MAX_PER_UID
MAX_CONNS = 32          # CONTROL_MAX_CONNS


def no_sanitizer_report(d):
    log = d.log()
    for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        check(bad not in log, "the master reported %r" % bad, *d.log_tail(60))


def still_serving(d, pid):
    check(d.alive() and d.pid == pid, "dkd exited", *d.log_tail())
    eq(d.health_status(), 200, "/api/health")
    r = d.dkctl("status")
    eq(r.returncode, 0, "dkctl status after the attack (stderr %r)"
       % r.stderr)


def peer_closed(s, timeout):
    """True once the server has closed s (EOF or reset) within timeout."""
    deadline = time.monotonic() + timeout
    s.setblocking(False)
    while time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], 0.2)
        if not r:
            continue
        try:
            while True:
                d = s.recv(1 << 20)
                if not d:
                    return True
        except BlockingIOError:
            continue
        except OSError:
            return True
    return False


def test_pipeline_without_reading():
    d = Dkd("ctl-pipe").start()
    pid = d.pid
    _, tokens = d.register_admin()
    for i in range(100):
        r = d.api("POST", "/api/projects", {"name": "project %03d " % i +
                                            "n" * 200},
                  token=tokens["access_token"])
        eq(r.status, 201, "POST /api/projects")
    s = ctl_connect(d.sock)
    # Each answer lists 100 projects (about 30 KB): one read of requests
    # makes the master queue far more than the 1 MiB it keeps for one
    # client, while it is still working through them.
    msg = ctl_request("OP_PROJECTS_LIST", None, None, w_i64(100))
    burst = msg * 2000
    s.setblocking(False)
    sent, deadline = 0, time.monotonic() + 20
    while sent < 50 and time.monotonic() < deadline:
        try:
            s.send(burst)
            sent += 1
        except BlockingIOError:
            select.select([], [s], [], 0.2)
        except OSError:
            break       # hung up on, as it should
    check(peer_closed(s, 20), "the master never hung up on a client that "
          "does not read (sent %d bursts)" % sent)
    s.close()
    still_serving(d, pid)
    no_sanitizer_report(d)


def test_reply_too_large():
    d = Dkd("ctl-large").start()
    pid = d.pid
    # 8 users with 90 keys each, 250-byte descriptions: the listing of
    # every key is well over the 256 KiB a control message may hold.
    s = ctl_connect(d.sock)
    rd = ImsgReader(s)
    for u in range(8):
        email = "user%d@example.test" % u
        r = d.dkctl("user", "add", email, "User %d" % u, input=PASSWORD + "\n")
        eq(r.returncode, 0, "dkctl user add (stderr %r)" % r.stderr)
        for k in range(90):
            s.sendall(ctl_request("OP_CTL_APIKEY_CREATE", w_str(email),
                                  w_str(("k%d-%d-" % (u, k)) + "x" * 240),
                                  None))
            m = rd.get()
            check(m is not None and m[0] == IMSG["IMSG_CTL_RESPONSE"],
                  "creating key %d of %s: %r" % (k, email, m))
    s.close()
    r = d.dkctl("apikey", "list")
    eq(r.returncode, 1, "dkctl apikey list exit status (stdout %d bytes)"
       % len(r.stdout))
    check("too large" in r.stderr,
          "dkctl was not told why: stderr %r" % r.stderr)
    still_serving(d, pid)
    r = d.dkctl("apikey", "list", "user0@example.test")
    eq(r.returncode, 0, "a smaller listing still works (stderr %r)"
       % r.stderr)
    no_sanitizer_report(d)


def test_idle_connections_closed():
    d = Dkd("ctl-idle").start()
    silent = ctl_connect(d.sock)
    partial = ctl_connect(d.sock)
    partial.sendall(imsg_pack(IMSG["IMSG_CTL_STATUS"],
                              peerid=CTL_VERSION)[:7])
    t0 = time.monotonic()
    check(peer_closed(silent, IDLE_SEC + 5),
          "a connection that never asked anything stayed open")
    check(peer_closed(partial, 5),
          "a connection with half a message stayed open")
    took = time.monotonic() - t0
    check(took >= IDLE_SEC - 1, "closed after %.1fs, before the idle "
          "timeout" % took)
    # A client that keeps asking is not idle.
    s = ctl_connect(d.sock)
    rd = ImsgReader(s)
    for _ in range(3):
        s.sendall(imsg_pack(IMSG["IMSG_CTL_STATUS"], peerid=CTL_VERSION))
        while True:
            m = rd.get()
            check(m is not None, "status answer")
            if m[0] == IMSG["IMSG_CTL_END"]:
                break
        time.sleep(IDLE_SEC * 0.6)
    s.close()
    no_sanitizer_report(d)


HOARDER = r"""
import os, socket, sys, time
socks = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sys.argv[1])
    except OSError:
        break
    socks.append(s)
time.sleep(1)
open_ = 0
for s in socks:
    s.setblocking(False)
    try:
        d = s.recv(1)
        if d:
            open_ += 1
    except BlockingIOError:
        open_ += 1
    except OSError:
        pass
print(open_, flush=True)
sys.stdin.read()
"""


def hoard(sock, uid, n):
    """A process of uid (in group root, so the socket lets it in) that
    opens n connections and holds them; -> (process, how many stay)."""
    p = subprocess.Popen(["setpriv", "--reuid=%d" % uid, "--regid=0",
                          "--clear-groups", "--", sys.executable, "-c",
                          HOARDER, sock, str(n)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    line = p.stdout.readline()
    return p, int(line.strip() or 0)


def test_local_user_cannot_lock_out_root():
    d = Dkd("ctl-cap").start()
    os.chmod(d.sock, 0o660)
    procs = []
    try:
        p, n = hoard(d.sock, 65534, MAX_CONNS + 8)
        procs.append(p)
        check(n <= PER_UID, "one uid holds %d control connections" % n)
        # Several uids together cannot take the slots kept for root.
        total = n
        for uid in range(65500, 65508):
            p, k = hoard(d.sock, uid, PER_UID)
            procs.append(p)
            total += k
        check(total <= MAX_CONNS - 8, "others hold %d connections" % total)
        r = d.dkctl("status")
        eq(r.returncode, 0, "root's dkctl status while others hoard "
           "connections (stderr %r)" % r.stderr)
    finally:
        for p in procs:
            p.stdin.close()
            p.wait(10)
    no_sanitizer_report(d)


if __name__ == "__main__":
    run_tests([
        ("control: a client that pipelines and never reads is hung up on; "
         "dkd keeps serving", test_pipeline_without_reading),
        ("control: an answer over the control maximum is a failure the "
         "client reads, not a hang-up", test_reply_too_large),
        ("control: idle and half-sent connections are closed after %ds"
         % IDLE_SEC, test_idle_connections_closed),
        ("control: a local user's connections are capped; root always "
         "gets in", test_local_user_cannot_lock_out_root),
    ])
