#!/usr/bin/python3
"""A compromised worker, for test_hostile_worker.py.

The test copies this file, under the name of the worker it replaces
(dkd-api, dkd-reconciler or dkd-logd), into a directory that dkd uses as
DKD_LIBEXEC, next to links to the real workers.  dkd starts it with its
channel on fd 3 and a clean environment, so everything it needs is in
scenario.json next to itself:

    {"attack": name, "real": path of the real worker, "srcdir": the
     source tree, to read the message and op numbers from}

On its first start it takes the configuration, says IMSG_READY, makes
its attack and waits to be killed.  On every later start it executes the
real worker at once, on the same fd 3, so the system recovers.  It
counts its starts in the file "starts" and writes what it did to
report.json (its pid, the attack and when it begins, replies it got, the
inode of a pipe it tried to pass).

The framing is that of common/imsg.h: a 16-byte header {u32 type, u32 len
(header included; top bit: an fd is attached), u32 peerid, u32 pid} in
native (little-endian) order, then the payload; an fd travels as
SCM_RIGHTS with the first byte of its message.  Payloads use
common/wire.h: fixed-width little-endian integers, strings as a u32
length and the bytes.
"""

import array
import hashlib
import json
import os
import re
import socket
import struct
import sys
import time

# This file runs in place of a worker, from a copy with cheaders.py
# beside it (or from the source tree).
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from cheaders import c_define, c_enum, op_numbers  # noqa: E402

HERE = os.path.dirname(sys.argv[0])
ROLE = os.path.basename(sys.argv[0])
CHANNEL_FD = 3
HDR = struct.Struct("<IIII")
FD_MARK = 0x80000000


# ------------------------------------------------------ numbers from C

class Numbers:
    """Message types, op numbers and limits, read from the headers."""

    def __init__(self, srcdir):
        common = os.path.join(srcdir, "common")
        self.T = c_enum(os.path.join(common, "dkd_imsg.h"), "imsg_type")
        self.OP = op_numbers(common)
        self.MAX_INTERNAL = c_define(os.path.join(common, "dkd_imsg.h"),
                                     "DKD_IMSG_MAX_INTERNAL")
        self.CTL_VERSION = c_define(os.path.join(common, "dkd_imsg.h"),
                                    "DKD_CTL_VERSION")


# --------------------------------------------------------- wire encoding

def u8(v):
    return struct.pack("<B", v)


def u32(v):
    return struct.pack("<I", v & 0xffffffff)


def i64(v):
    return struct.pack("<q", v)


def wstr(s):
    b = s.encode() if isinstance(s, str) else s
    return u32(len(b)) + b


def api_request(op, fields=b"", token="", client="203.0.113.66"):
    """IMSG_API_REQUEST (common/msg.c msg_request_put): u32 op, str token
    hash, str client, u64 generation of a cached copy (0: none), then the
    op fields (each: u8 present, then the value)."""
    return u32(op) + wstr(token) + wstr(client) + struct.pack("<Q", 0) + \
        fields


def rec_docker(server="evil-99.0", api="1.99"):
    """IMSG_REC_DOCKER (common/msg.c msg_docker_put): bool reachable,
    str server, str api, str error, i64 checked at (0 from a worker)."""
    return u8(1) + wstr(server) + wstr(api) + wstr("") + struct.pack("<q", 0)


def logtree(v):
    """A flat map as a value tree (common/tree.h): str, bool values."""
    out = b"\x07"
    for k, x in v.items():
        out += b"\x06" + u32(len(k)) + k.encode()
        if isinstance(x, bool):
            out += b"\x03" if x else b"\x02"
        else:
            out += b"\x06" + u32(len(x.encode())) + x.encode()
    return out + b"\x09"


def header(type_, length, peerid=0, pid=None, mark=False):
    return HDR.pack(type_, length | (FD_MARK if mark else 0), peerid,
                    os.getpid() if pid is None else pid)


# --------------------------------------------------------------- channel

class Channel:
    def __init__(self, fd):
        self.sock = socket.socket(fileno=fd)
        self.sock.setblocking(True)
        self.buf = b""
        self.fds = []

    def send(self, type_, payload=b"", peerid=0, fd=None, mark=None):
        """One message; fd travels as SCM_RIGHTS, marked in the header
        unless mark says otherwise."""
        if mark is None:
            mark = fd is not None
        data = header(type_, HDR.size + len(payload), peerid,
                      mark=mark) + payload
        self.send_raw(data, fd)

    def send_raw(self, data, fd=None):
        if fd is None:
            self.sock.sendall(data)
            return
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                array.array("i", [fd]).tobytes())]
        n = self.sock.sendmsg([data], anc)
        if n < len(data):
            self.sock.sendall(data[n:])

    def recv(self, timeout=None):
        """The next message as (type, peerid, payload, fd or None), or
        None on EOF or timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if len(self.buf) >= HDR.size:
                    type_, ln, peerid, _ = HDR.unpack_from(self.buf)
                    size = ln & ~FD_MARK
                    if len(self.buf) >= size:
                        payload = self.buf[HDR.size:size]
                        self.buf = self.buf[size:]
                        fd = self.fds.pop(0) if ln & FD_MARK else None
                        return type_, peerid, payload, fd
                data, anc, _, _ = self.sock.recvmsg(
                    65536, socket.CMSG_SPACE(4 * 4))
                for level, kind, cdata in anc:
                    if level == socket.SOL_SOCKET and \
                            kind == socket.SCM_RIGHTS:
                        a = array.array("i")
                        a.frombytes(cdata[:len(cdata) - len(cdata) % 4])
                        self.fds.extend(a)
                if not data:
                    return None
                self.buf += data
        except socket.timeout:
            return None
        finally:
            self.sock.settimeout(None)


# ------------------------------------------------------------- the worker

class Evil:
    def __init__(self, scenario):
        self.sc = scenario
        self.n = Numbers(scenario["srcdir"])
        self.T = self.n.T
        self.OP = self.n.OP
        self.report = {"pid": os.getpid(), "role": ROLE,
                       "attack": scenario["attack"], "attacking": False}
        self.ch = Channel(CHANNEL_FD)
        self.replies = {}

    def save(self, **kw):
        self.report.update(kw)
        tmp = os.path.join(HERE, "report.json.tmp")
        with open(tmp, "w") as f:
            json.dump(self.report, f)
        os.rename(tmp, os.path.join(HERE, "report.json"))

    def take_config(self):
        seen = []
        while True:
            m = self.ch.recv(timeout=10)
            if m is None:
                raise SystemExit("evilworker: no configuration")
            type_, _, _, fd = m
            seen.append(type_)
            if fd is not None:
                os.close(fd)
            if type_ == self.T["IMSG_CFG_DONE"]:
                return seen

    def ready(self):
        self.ch.send(self.T["IMSG_READY"])

    def serve(self, seconds, until=None):
        """Answer pings like a worker, keeping the API replies by peerid
        (their HTTP status), for that long or until until() is true."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if until is not None and until():
                return True
            m = self.ch.recv(timeout=min(0.1, max(0.01, deadline -
                                                  time.monotonic())))
            if m is None:
                continue
            type_, peerid, payload, fd = m
            if fd is not None:
                os.close(fd)
            if type_ == self.T["IMSG_PING"]:
                self.ch.send(self.T["IMSG_PONG"], payload)
            elif type_ == self.T["IMSG_API_RESPONSE"]:
                self.replies[peerid] = struct.unpack_from("<I", payload)[0]
                self.save(replies=sorted(self.replies.items()))
        return until is not None and until()

    def ask(self, peerid, op, fields=b"", token=""):
        """A request as dkd-api makes it, and the HTTP status of its
        reply."""
        self.ch.send(self.T["IMSG_API_REQUEST"],
                     api_request(op, fields, token), peerid=peerid)
        if not self.serve(20, lambda: peerid in self.replies):
            raise SystemExit("evilworker: no reply to request %d" % peerid)
        return self.replies[peerid]

    def wait_file(self, name, seconds=20):
        """What the test hands us while we run, serving meanwhile."""
        path = os.path.join(HERE, name)
        if not self.serve(seconds, lambda: os.path.exists(path)):
            raise SystemExit("evilworker: no %s from the test" % name)
        time.sleep(0.05)
        with open(path) as f:
            return f.read().strip()

    def wait_for_death(self):
        while True:
            time.sleep(60)

    # The message a worker of this role normally sends.
    def own_message(self):
        if ROLE == "dkd-api":
            return self.T["IMSG_API_REQUEST"], api_request(
                self.OP["OP_HEALTH"])
        if ROLE == "dkd-reconciler":
            return self.T["IMSG_REC_DOCKER"], rec_docker()
        return self.T["IMSG_PONG"], u32(1)

    def run(self):
        attack = self.sc["attack"]
        self.save(config=self.take_config())
        if attack == "before_ready":
            self.save(attacking=True)
            self.ch.send(*self.own_message())
            self.wait_for_death()
        self.ready()
        # Said first: the master may kill us before the attack returns.
        if attack not in PREPARED:
            self.save(attacking=True)
        getattr(self, "attack_" + attack)()
        self.wait_for_death()

    # ---------------------------------------------------------- attacks

    def attack_valid(self):
        """No attack: well-formed messages, to show that the others are
        refused for what they break and not for a broken encoding."""
        if ROLE == "dkd-api":
            self.ch.send(self.T["IMSG_API_REQUEST"],
                         api_request(self.OP["OP_HEALTH"]), peerid=1)
            self.ch.send(self.T["IMSG_API_REQUEST"],
                         api_request(self.OP["OP_PRESETS_GET"],
                                     u8(1) + wstr("postgres")), peerid=2)
        elif ROLE == "dkd-reconciler":
            self.ch.send(self.T["IMSG_REC_DOCKER"], rec_docker())
        while True:
            self.serve(3600)

    def attack_truncated_eof(self):
        """A header that promises 64 bytes of payload, 10 of them, then
        end of file while the process lives on."""
        type_, _ = self.own_message()
        self.ch.send_raw(header(type_, HDR.size + 64) + b"\0" * 10)
        self.ch.sock.shutdown(socket.SHUT_WR)

    def attack_truncated_garbage(self):
        """A header that promises 200 bytes of payload; the start of a
        real message, then garbage to the promised length."""
        type_, payload = self.own_message()
        body = (payload[:10] + b"\xff" * 200)[:200]
        self.ch.send_raw(header(type_, HDR.size + 200) + body[:10])
        time.sleep(0.2)
        self.ch.send_raw(body[10:])

    def attack_oversized(self):
        type_, _ = self.own_message()
        self.ch.send_raw(header(type_, self.n.MAX_INTERNAL + 1) +
                         b"\0" * 4096)

    def attack_huge_length(self):
        type_, _ = self.own_message()
        self.ch.send_raw(header(type_, 0x7fffffff) + b"\0" * 4096)

    def attack_short_length(self):
        """A length smaller than the header itself."""
        type_, _ = self.own_message()
        self.ch.send_raw(header(type_, 8) + b"\0" * 64)

    def attack_unknown_type(self):
        self.ch.send(self.T["IMSG_TYPE_MAX"] + 100)

    def attack_type_zero(self):
        self.ch.send(self.T["IMSG_NONE"])

    def attack_wrong_direction(self):
        """A message only the master sends."""
        self.ch.send(self.T["IMSG_CFG_SANDBOX"],
                     u32(0) + u32(0) + u32(0xffffffff) + wstr("") + u32(1))

    def attack_pong_size(self):
        self.ch.send(self.T["IMSG_PONG"], u32(1) + b"\0")

    def attack_trailing(self):
        """The role's own message, well formed, and one byte more."""
        type_, payload = self.own_message()
        self.ch.send(type_, payload + b"\0")

    def attack_short_payload(self):
        """The role's own message cut short by its last byte."""
        type_, payload = self.own_message()
        self.ch.send(type_, payload[:-1])

    def attack_missing_field(self):
        """preset-get without its required path field (id), with a valid
        token, so that the request gets past authentication: a
        compromised dkd-api sees its users' tokens.  First the admin is
        registered with the setup token the test passes, and a correct
        preset-get made with the API key the test then creates for it."""
        setup = self.wait_file("setup_token")
        status = self.ask(1, self.OP["OP_AUTH_REGISTER"],
                          u8(1) + wstr(ADMIN) + u8(1) + wstr("Evil") +
                          u8(1) + wstr(PASSWORD) + u8(1) + wstr(sha256(setup)))
        self.save(registered=status)
        token = sha256(self.wait_file("api_key"))
        status = self.ask(2, self.OP["OP_PRESETS_GET"],
                          u8(1) + wstr("no-such-preset"), token)
        self.save(control=status)
        self.save(attacking=True)
        self.ch.send(self.T["IMSG_API_REQUEST"],
                     api_request(self.OP["OP_PRESETS_GET"], u8(0), token),
                     peerid=3)

    def attack_op_out_of_range(self):
        self.ch.send(self.T["IMSG_API_REQUEST"],
                     api_request(self.OP["OP_MAX"]), peerid=7)

    def attack_op_huge(self):
        self.ch.send(self.T["IMSG_API_REQUEST"], api_request(0xffffffff),
                     peerid=7)

    def attack_op_none(self):
        self.ch.send(self.T["IMSG_API_REQUEST"],
                     api_request(self.OP["OP_NONE"]), peerid=7)

    def attack_ctl_op(self):
        """What only dkctl may ask: make someone an admin."""
        fields = u8(1) + wstr("admin@example.test") + u8(1) + wstr("admin")
        self.ch.send(self.T["IMSG_API_REQUEST"],
                     api_request(self.OP["OP_CTL_USER_ROLE"], fields),
                     peerid=7)

    def _pipe_to_pass(self):
        r, w = os.pipe()
        self.save(pipe_inode=os.fstat(r).st_ino)
        return r, w

    def attack_fd(self):
        """A well-formed pong that carries a descriptor."""
        r, w = self._pipe_to_pass()
        self.ch.send(self.T["IMSG_PONG"], u32(1), fd=r)
        os.close(r)

    def attack_fd_unmarked(self):
        """A descriptor with a message whose header does not say so."""
        r, w = self._pipe_to_pass()
        self.ch.send(self.T["IMSG_PONG"], u32(1), fd=r, mark=False)
        os.close(r)

    def _logstream(self, **over):
        """IMSG_REC_LOGSTREAM's tree (common/msg.c), with changes."""
        t = {"container_id": "ab" * 32, "service_id": "s", "project_id":
             "p", "deployment_id": "d", "tty": False}
        t.update(over)
        return logtree(t)

    def attack_logstream_no_fd(self):
        """A log stream without its pipe."""
        self.ch.send(self.T["IMSG_REC_LOGSTREAM"], self._logstream())

    def attack_fd_logstream_bad(self):
        """A log stream whose container id is no id: the pipe must be
        closed, not kept or passed on."""
        r, w = self._pipe_to_pass()
        self.ch.send(self.T["IMSG_REC_LOGSTREAM"],
                     self._logstream(container_id="../../etc"), fd=r)
        os.close(r)

    def attack_mark_bad(self):
        """A mark whose time is not one."""
        self.ch.send(self.T["IMSG_LOGD_MARK"], logtree({
            "container_id": "ab" * 32, "last": "now; rm -rf /",
            "last_unix": "1"}))

    def attack_view_ack_bad(self):
        """An answer to a view nobody asked for, with a status that is
        none."""
        self.ch.send(self.T["IMSG_LOGD_VIEW_ACK"],
                     logtree({"status": "maybe"}), peerid=7)

    def attack_flood(self):
        """Requests as fast as we can, never reading a reply."""
        one = header(self.T["IMSG_API_REQUEST"], HDR.size + len(
            api_request(self.OP["OP_HEALTH"]))) + api_request(
                self.OP["OP_HEALTH"])
        chunk = one * 8192
        sent = 0
        try:
            while True:
                self.ch.sock.sendall(chunk)
                sent += 8192
                if sent % (8192 * 16) == 0:
                    self.save(sent=sent)
        except OSError as e:
            self.save(sent=sent, send_error=str(e))

    def attack_ready_twice(self):
        self.ready()


ADMIN = "admin@example.test"
PASSWORD = "correct horse battery"
# Attacks that set "attacking" themselves, after some preparation.
PREPARED = ("missing_field",)


def sha256(s):
    return hashlib.sha256(s.encode()).hexdigest()


def main():
    with open(os.path.join(HERE, "scenario.json")) as f:
        scenario = json.load(f)
    counter = os.path.join(HERE, "starts")
    try:
        with open(counter) as f:
            starts = int(f.read() or 0)
    except FileNotFoundError:
        starts = 0
    with open(counter, "w") as f:
        f.write(str(starts + 1))
    if starts > 0:
        # Recovery: the real worker, on the same channel, same pid.
        os.set_inheritable(CHANNEL_FD, True)
        os.execv(scenario["real"], [scenario["real"]] + sys.argv[1:])
    Evil(scenario).run()


if __name__ == "__main__":
    main()
