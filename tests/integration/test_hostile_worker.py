#!/usr/bin/env python3
"""A compromised worker against the master.

dkd runs with DKD_LIBEXEC pointing at a temp directory that holds links
to the real workers and, in place of one of them, evilworker.py, which
speaks the master's channel as a compromised dkd-api, dkd-reconciler or
dkd-logd would: truncated, oversized, unknown, misdirected and
wrong-sized messages, requests with missing fields, out-of-range or
dkctl-only ops, descriptors where none belong, a flood that never reads
its replies, a second READY.  Each time the master must stay up (same
pid), log that it killed that worker and why, start the real worker in
its place, and answer /api/health again; the stray descriptor must not
stay in the master.  Well-formed messages from the same script are
served and not punished, so the refusals are for what each attack
breaks.  A descriptor sent over the control socket is refused too.

A fresh dkd per scenario keeps the death budget (5 in 5 minutes) and the
restart backoff out of the picture.  Run it against the ASan build too
(DKD_PREFIX=build-asan/root): any sanitizer report in dkd's output fails
the scenario."""

import array
import json
import os
import re
import shutil
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dkdtest import (LIBEXEC, SRCDIR, WORKERS, Dkd, Failure, check, diag,
                     eq, proc_fds, proc_status, read_text, run_tests,
                     wait_until)
import evilworker

EVIL = os.path.join(HERE, "evilworker.py")
SANITIZER_ERRORS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                    "runtime error:")
_numbers = []


def numbers():
    """Message and op numbers, from the headers as evilworker reads
    them; checked once against what the tests rely on."""
    if not _numbers:
        n = evilworker.Numbers(SRCDIR)
        for k in ("IMSG_READY", "IMSG_PONG", "IMSG_API_REQUEST",
                  "IMSG_REC_DOCKER", "IMSG_TYPE_MAX"):
            check(k in n.T, "%s not found in common/dkd_imsg.h" % k)
        for k in ("OP_HEALTH", "OP_PRESETS_GET", "OP_CTL_USER_ROLE",
                  "OP_MAX"):
            check(k in n.OP, "%s not found in common/ops.def" % k)
        _numbers.append(n)
    return _numbers[0]


class Rig:
    """A DKD_LIBEXEC directory with evilworker.py as comm, and a dkd that
    uses it."""

    def __init__(self, comm, attack):
        numbers()
        self.comm = comm
        self.role = WORKERS[comm][0]
        self.attack = attack
        self.real = os.path.join(LIBEXEC, comm)
        self.d = Dkd("evil-%s-%s" % (self.role, attack))
        self.lib = os.path.join(self.d.dir, "libexec")
        os.mkdir(self.lib, 0o755)
        for c in WORKERS:
            if c != comm:
                os.symlink(os.path.join(LIBEXEC, c),
                           os.path.join(self.lib, c))
        shutil.copyfile(EVIL, os.path.join(self.lib, comm))
        os.chmod(os.path.join(self.lib, comm), 0o755)
        # The module it takes its numbers with, beside it.
        shutil.copyfile(os.path.join(HERE, "cheaders.py"),
                        os.path.join(self.lib, "cheaders.py"))
        with open(os.path.join(self.lib, "scenario.json"), "w") as f:
            json.dump({"attack": attack, "real": self.real,
                       "srcdir": SRCDIR}, f)

    def start(self):
        env = dict(os.environ, DKD_LIBEXEC=self.lib)
        self.d.start(env=env, wait=False)
        return self

    def report(self):
        try:
            with open(os.path.join(self.lib, "report.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def starts(self):
        try:
            with open(os.path.join(self.lib, "starts")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return 0

    def hand(self, name, value):
        """A file for evilworker, written whole."""
        tmp = os.path.join(self.lib, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(value)
        os.rename(tmp, os.path.join(self.lib, name))

    def wait_report(self, key, timeout=20):
        r = wait_until(lambda: (self.report() or {}).get(key), timeout)
        check(r, "evilworker did not report %r: %r" % (key, self.report()),
              *self.d.log_tail())
        return self.report()[key]

    def wait_attack(self, timeout=20):
        def done():
            r = self.report()
            if r and r.get("attacking"):
                return r
            if not self.d.alive():
                raise Failure("dkd exited (status %s) before the attack "
                              "was made" % self.d.proc.returncode,
                              self.d.log_tail())
            return None
        rep = wait_until(done, timeout, 0.05)
        check(rep, "evilworker as %s did not make its attack %r within "
              "%ds (report %r)" % (self.comm, self.attack, timeout,
                                   self.report()), *self.d.log_tail())
        return rep

    def sanitizer_clean(self):
        log = self.d.log()
        for s in SANITIZER_ERRORS:
            check(s not in log, "%r in dkd's output" % s,
                  *self.d.log_tail(60))


def sanitized(pid):
    """Is pid built with AddressSanitizer?"""
    try:
        return "libasan" in read_text("/proc/%d/maps" % pid)
    except OSError:
        return False


def exe_of(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return None


# What the master says when it kills the worker, per attack.
REASONS = {
    "truncated_eof": "in the middle of a message",
    "oversized": "malformed message",
    "huge_length": "malformed message",
    "short_length": "malformed message",
    "unknown_type": "protocol violation",
    "type_zero": "protocol violation",
    "wrong_direction": "protocol violation",
    "pong_size": "bad IMSG_PONG",
    "fd": "Bad message",
    "fd_unmarked": "Bad message",
    "ready_twice": "bad IMSG_READY",
    "before_ready": "protocol violation",
    "missing_field": "protocol violation",
    "op_out_of_range": "protocol violation",
    "op_huge": "protocol violation",
    "op_none": "protocol violation",
    "ctl_op": "protocol violation",
    "flood": "its channel is full",
    "logstream_no_fd": "protocol violation",
    "fd_logstream_bad": "protocol violation",
    "mark_bad": "protocol violation",
    "view_ack_bad": "protocol violation",
}


def reason(comm, attack):
    if attack == "fd" and comm == "dkd-reconciler":
        # Its channel carries descriptors to the master (log streams),
        # so the pipe arrives, and the master refuses it on a pong.
        return "a descriptor on a message that carries none"
    if attack in ("truncated_garbage", "trailing", "short_payload"):
        # The role's own message type; logd's is a pong.
        return "bad IMSG_PONG" if comm == "dkd-logd" else \
            "protocol violation"
    return REASONS[attack]


def hostile(comm, attack):
    def t():
        rig = Rig(comm, attack).start()
        d = rig.d
        if attack == "missing_field":
            # A valid token first: the hole was behind authentication.
            check(d.wait_log("ready: all workers are running", 20),
                  "dkd not ready", *d.log_tail())
            rig.hand("setup_token", d.setup_token())
            eq(rig.wait_report("registered"), 201, "register through the "
               "master as the compromised api")
            r = d.dkctl("apikey", "create", evilworker.ADMIN, "evil")
            m = re.search(r"^token: (\S+)$", r.stdout, re.M)
            check(m, "no token from dkctl apikey create: %r %r"
                  % (r.stdout, r.stderr))
            rig.hand("api_key", m.group(1))
            eq(rig.wait_report("control"), 404, "preset-get of an unknown "
               "id with that key")
        rep = rig.wait_attack(60 if attack == "flood" else 20)
        evil = rep["pid"]
        role = rig.role
        killed = "killing %s (pid %d): " % (role, evil)
        check(d.wait_log(killed, 60 if attack == "flood" else 10),
              "dkd did not log %r" % killed, *d.log_tail())
        line = [l for l in d.log().splitlines() if killed in l][0]
        why = reason(comm, attack)
        check(why in line, "kill reason: %r lacks %r" % (line, why))
        check(d.alive(), "dkd exited after the attack (status %s)"
              % d.proc.returncode, *d.log_tail())

        def back():
            pid = d.worker(comm)
            if pid and pid != evil and exe_of(pid) == rig.real:
                return pid
            return None
        new = wait_until(back, 20)
        check(new, "no real %s after the attack: children %s, exe %s"
              % (comm, d.workers(), {c: exe_of(p) for c, p in
                                     d.workers().items()}), *d.log_tail())
        d.wait_ready(30)
        eq(d.health_status(), 200, "GET /api/health after the attack")
        check(d.alive(), "dkd exited", *d.log_tail())
        eq(d.status_of("master")["pid"], d.pid, "pid of the master")
        eq(d.status_of(role)["restarts"], 1, "restarts of %s" % role)
        eq(d.status_of(role)["pid"], new, "pid of the new %s" % role)
        eq(rig.starts(), 2, "starts of %s (the attack, then the real one)"
           % comm)
        if attack.startswith("fd"):
            rep = rig.report()
            check("pipe_inode" in rep, "no pipe in the report %r" % rep)
            link = "pipe:[%d]" % rep["pipe_inode"]
            held = [fd for fd, l in proc_fds(d.pid).items() if l == link]
            check(not held, "the master holds the pipe the worker passed "
                  "(fds %s)" % held)
        if attack == "flood":
            # Bounded by the queue limit, not by the flood.  ASan's
            # redzones and quarantine make any figure meaningless there.
            hwm = int(proc_status(d.pid)["VmHWM"].split()[0])
            diag("the master peaked at %d kB during the flood" % hwm)
            check(hwm < 384 * 1024 or sanitized(d.pid), "the master "
                  "peaked at %d kB during the flood" % hwm)
        rig.sanitizer_clean()
        eq(d.stop(), 0, "exit status of dkd at SIGTERM")
        rig.sanitizer_clean()
    return t


def left_alone(rig, rep):
    """The scripted worker is still the one running, never killed, and
    dkd is whole."""
    d = rig.d
    time.sleep(1)
    check(d.alive(), "dkd exited", *d.log_tail())
    check("killing %s" % rig.role not in d.log(), "the valid %s was "
          "killed" % rig.role, *d.log_tail())
    eq(d.worker(rig.comm), rep["pid"], "pid of the valid %s" % rig.comm)
    rig.sanitizer_clean()


def test_valid_api():
    """Well-formed requests from the same script are answered and the
    script is left alone."""
    rig = Rig("dkd-api", "valid").start()
    rep = rig.wait_attack()

    def replies():
        r = rig.report()
        return r if r and len(r.get("replies", [])) >= 2 else None
    r = wait_until(replies, 10)
    check(r, "no replies to the valid requests: %r" % rig.report(),
          *rig.d.log_tail())
    eq(sorted(map(tuple, r["replies"])), [(1, 200), (2, 401)],
       "(peerid, status) of health and of preset-get without a token")
    left_alone(rig, rep)


def test_valid_reconciler():
    rig = Rig("dkd-reconciler", "valid").start()
    d = rig.d
    rep = rig.wait_attack()

    def seen():
        st = d.status_json()
        return st if st and st["docker"].get("server_version") == \
            "evil-99.0" else None
    check(wait_until(seen, 10), "the master did not take the reconciler's "
          "docker status: %r" % d.status_json(), *d.log_tail())
    d.wait_ready(30)
    left_alone(rig, rep)


def test_valid_logd():
    rig = Rig("dkd-logd", "valid").start()
    rep = rig.wait_attack()
    rig.d.wait_ready(30)
    left_alone(rig, rep)


def test_control_fd():
    """The control socket carries no descriptor: a dkctl request with one
    ends that connection, the descriptor is closed for good, and dkd
    goes on serving."""
    n = numbers()
    d = Dkd("ctl-fd").start()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    r, w = os.pipe()
    try:
        s.settimeout(5)
        s.connect(d.sock)
        ino = os.fstat(r).st_ino
        msg = evilworker.header(n.T["IMSG_CTL_STATUS"], 16,
                                peerid=n.CTL_VERSION, mark=True)
        s.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                           array.array("i", [r]).tobytes())])
        os.close(r)
        r = -1
        try:
            got = s.recv(4096)
        except socket.timeout:
            got = None
        eq(got, b"", "what dkd answers a request with a descriptor")
        link = "pipe:[%d]" % ino
        check(link not in proc_fds(d.pid).values(),
              "the master holds the pipe sent over the control socket")
        try:
            os.write(w, b"x")
            check(False, "the pipe still has a reader after dkd refused it")
        except BrokenPipeError:
            pass
        check(d.alive(), "dkd exited", *d.log_tail())
        eq(d.dkctl("status").returncode, 0, "dkctl status afterwards")
        eq(d.health_status(), 200, "health afterwards")
    finally:
        s.close()
        if r != -1:
            os.close(r)
        os.close(w)


COMMON = ["truncated_eof", "truncated_garbage", "oversized", "huge_length",
          "short_length", "unknown_type", "type_zero", "wrong_direction",
          "pong_size", "trailing", "short_payload", "fd", "fd_unmarked",
          "ready_twice"]
# Attacks on messages of a role's own (logd's "own" message for the
# common attacks is a pong, which may come before READY).
OWN = {
    "dkd-api": ["before_ready", "missing_field", "op_out_of_range",
                "op_huge", "op_none", "ctl_op", "flood"],
    "dkd-reconciler": ["before_ready", "logstream_no_fd",
                       "fd_logstream_bad"],
    "dkd-logd": ["mark_bad", "view_ack_bad"],
}

DESCRIBE = {
    "truncated_eof": "a header promising more than is sent, then EOF",
    "truncated_garbage": "a header promising 200 bytes, then garbage",
    "oversized": "a length above DKD_IMSG_MAX_INTERNAL",
    "huge_length": "a length of 2^31-1",
    "short_length": "a length shorter than the header",
    "unknown_type": "an unknown message type",
    "type_zero": "message type 0",
    "wrong_direction": "a message only the master sends",
    "pong_size": "a pong with a trailing byte",
    "trailing": "its own message type with a trailing byte",
    "short_payload": "its own message type one byte short",
    "fd": "a pong carrying a descriptor",
    "fd_unmarked": "a descriptor on a message that does not say so",
    "ready_twice": "IMSG_READY twice",
    "before_ready": "a message before IMSG_READY",
    "missing_field": "preset-get without its required id",
    "op_out_of_range": "op number OP_MAX",
    "op_huge": "op number 2^32-1",
    "op_none": "op number 0",
    "ctl_op": "a dkctl-only op (ctl-user-role)",
    "flood": "a flood of requests, no reply read",
    "logstream_no_fd": "a log stream without its pipe",
    "fd_logstream_bad": "a log stream with a bad container id",
    "mark_bad": "a log mark whose time is no time",
    "view_ack_bad": "an answer to a log view with a bad status",
}

tests = [("valid messages from a scripted dkd-api are served",
          test_valid_api),
         ("valid messages from a scripted dkd-reconciler are served",
          test_valid_reconciler),
         ("valid messages from a scripted dkd-logd: it is left alone",
          test_valid_logd),
         ("a descriptor sent over the control socket is refused and "
          "closed; dkd serves on", test_control_fd)]
for comm in ("dkd-api", "dkd-reconciler", "dkd-logd"):
    for attack in COMMON + OWN[comm]:
        tests.append(("%s sends %s: killed, replaced, dkd serves on"
                      % (comm, DESCRIBE[attack]), hostile(comm, attack)))

# DKD_TEST_ONLY=word runs the scenarios whose name has word in it.
only = os.environ.get("DKD_TEST_ONLY")
run_tests([t for t in tests if not only or only in t[0]])
