#!/usr/bin/python3
"""A stand-in dkd-reconciler for test_logs.py: it speaks only the log
part of the reconciler's protocol (RECONCILER-PROTOCOL.md, "Log
streams"), so that the master, dkd-logd and dkd-api can be tested
end to end with streams the test controls.

The test copies this file as dkd-reconciler into a DKD_LIBEXEC
directory, with cheaders.py and scenario.json ({"srcdir"}) beside it.
It takes the configuration, says READY and that Docker is reachable,
answers pings and reconcile requests, and writes every IMSG_REC_LOGMARK
it gets to marks.json.  The test drives it with files cmd-<n>.json in
its directory, handled in order:

    {"op": "stream", "id": name, "container_id", "service_id",
     "project_id", "deployment_id", "tty": bool}  a pipe, its read end
                                                   to the master
    {"op": "write", "id": name, "file": path}     bytes into that pipe
    {"op": "close", "id": name}                   end of the stream
    {"op": "follow", "id": name, "container_id", "service_id",
     "project_id", "deployment_id", "tty": bool, "since": str}
        a real container's log stream: curl reads Docker's logs
        endpoint (follow, stdout, stderr, timestamps) into the pipe,
        as the reconciler's libcurl does

and each command is acknowledged by done-<n> once carried out.
"""

import array
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from cheaders import c_enum  # noqa: E402

HERE = os.path.dirname(os.path.abspath(sys.argv[0]))
HDR = struct.Struct("<IIII")
FD_MARK = 0x80000000


def tree(v):
    if v is True:
        return b"\x03"
    if v is False:
        return b"\x02"
    if isinstance(v, int):
        return b"\x04" + struct.pack("<q", v)
    if isinstance(v, str):
        b = v.encode()
        return b"\x06" + struct.pack("<I", len(b)) + b
    if isinstance(v, dict):
        return b"\x07" + b"".join(tree(k) + tree(x) for k, x in v.items()) \
            + b"\x09"
    raise TypeError(v)


def untree_strs(b):
    """The string values of a flat map tree, as a dict."""
    out, i, key = {}, 1, None
    while b[i] != 9:
        t = b[i]
        if t == 6:
            n = struct.unpack_from("<I", b, i + 1)[0]
            s = b[i + 5:i + 5 + n].decode()
            i += 5 + n
        elif t in (2, 3):
            s = t == 3
            i += 1
        elif t == 4:
            s = struct.unpack_from("<q", b, i + 1)[0]
            i += 9
        else:
            raise ValueError("tag %d" % t)
        if key is None:
            key = s
        else:
            out[key] = s
            key = None
    return out


class Fake:
    def __init__(self):
        with open(os.path.join(HERE, "scenario.json")) as f:
            sc = json.load(f)
        self.T = c_enum(os.path.join(sc["srcdir"], "common", "dkd_imsg.h"),
                        "imsg_type")
        self.sock = socket.socket(fileno=3)
        self.buf = b""
        self.pipes = {}
        self.marks = []
        self.next_cmd = 1

    def send(self, type_, payload=b"", peerid=0, fd=None):
        data = HDR.pack(type_, (HDR.size + len(payload)) |
                        (FD_MARK if fd is not None else 0), peerid,
                        os.getpid()) + payload
        if fd is None:
            self.sock.sendall(data)
            return
        n = self.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                        array.array("i", [fd]).tobytes())])
        if n < len(data):
            self.sock.sendall(data[n:])

    def recv(self, timeout):
        self.sock.settimeout(timeout)
        try:
            while True:
                if len(self.buf) >= HDR.size:
                    t, ln, peer, _ = HDR.unpack_from(self.buf)
                    ln &= ~FD_MARK
                    if len(self.buf) >= ln:
                        m = (t, peer, self.buf[HDR.size:ln])
                        self.buf = self.buf[ln:]
                        return m
                d = self.sock.recv(65536)
                if not d:
                    sys.exit(0)
                self.buf += d
        except socket.timeout:
            return None

    def stream_to_master(self, c, r):
        """IMSG_REC_LOGSTREAM of command c, with (and then without) the
        pipe's read end r."""
        self.send(self.T["IMSG_REC_LOGSTREAM"], tree({
            "container_id": c["container_id"],
            "service_id": c["service_id"],
            "project_id": c["project_id"],
            "deployment_id": c["deployment_id"],
            "tty": c.get("tty", False)}), fd=r)
        os.close(r)

    def command(self, c):
        if c["op"] == "stream":
            r, w = os.pipe()
            self.stream_to_master(c, r)
            self.pipes[c["id"]] = w
        elif c["op"] == "write":
            with open(c["file"], "rb") as f:
                data = f.read()
            w = self.pipes[c["id"]]
            while data:
                try:
                    n = os.write(w, data)
                except BrokenPipeError:
                    break
                data = data[n:]
        elif c["op"] == "close":
            os.close(self.pipes.pop(c["id"]))
        elif c["op"] == "follow":
            r, w = os.pipe()
            url = ("http://localhost/v1.41/containers/%s/logs?follow=1&"
                   "stdout=1&stderr=1&timestamps=1&since=%s"
                   % (c["container_id"], c.get("since", "0")))
            pid = os.fork()
            if pid == 0:
                os.dup2(w, 1)
                os.closerange(3, 1024)
                os.execvp("curl", ["curl", "-sN", "--unix-socket",
                                   c.get("docker_socket",
                                         "/var/run/docker.sock"), url])
            os.close(w)
            self.stream_to_master(c, r)

    def run(self):
        while True:
            m = self.recv(10)
            if m is None:
                sys.exit("fakerec: no configuration")
            if m[0] == self.T["IMSG_CFG_DONE"]:
                break
        self.send(self.T["IMSG_READY"])
        self.send(self.T["IMSG_REC_DOCKER"], struct.pack("<B", 1) +
                  struct.pack("<I", 4) + b"fake" + struct.pack("<I", 4) +
                  b"1.41" + struct.pack("<I", 0) + struct.pack("<q", 0))
        while True:
            path = os.path.join(HERE, "cmd-%d.json" % self.next_cmd)
            if os.path.exists(path):
                with open(path) as f:
                    self.command(json.load(f))
                open(os.path.join(HERE, "done-%d" % self.next_cmd),
                     "w").close()
                self.next_cmd += 1
                continue
            m = self.recv(0.02)
            try:
                while os.waitpid(-1, os.WNOHANG)[0] > 0:
                    pass
            except ChildProcessError:
                pass
            if m is None:
                continue
            t, peer, payload = m
            if t == self.T["IMSG_PING"]:
                self.send(self.T["IMSG_PONG"], payload)
            elif t == self.T["IMSG_REC_RECONCILE"]:
                self.send(self.T["IMSG_REC_RECONCILE_ACK"], payload)
            elif t == self.T.get("IMSG_REC_LOGMARK"):
                self.marks.append(untree_strs(payload))
                tmp = os.path.join(HERE, "marks.json.tmp")
                with open(tmp, "w") as f:
                    json.dump(self.marks, f)
                os.rename(tmp, os.path.join(HERE, "marks.json"))


if __name__ == "__main__":
    Fake().run()
