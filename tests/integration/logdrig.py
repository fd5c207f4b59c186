"""The real dkd-logd with this process as its master, for
test_logd_worker.py and the log benchmarks.

A LogdRig starts dkd-logd from DKD_PREFIX with its channel on fd 3, does
the master's side of the configuration handshake (common/worker.c) and
then speaks the log messages of RECONCILER-PROTOCOL.md: it hands logd
the read ends of pipes that carry Docker's log bytes (as the reconciler
would, through the master) and viewer sockets (as the master would for
dkd-api), and reads logd's answers and marks.

Also here: Docker's framing for synthetic streams, real streams captured
from busybox containers through the Docker socket, and a reader of the
Server-Sent Events that logd writes.  Standard library only.
"""

import array
import http.client
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

from dkdtest import (IMSG, LIBEXEC, check, tree, untree, user_ids,
                     wait_until)

HDR = struct.Struct("<IIII")
FD_MARK = 0x80000000
DOCKER_SOCK = "/var/run/docker.sock"
IMAGE = "dkt/busybox:logd-test"
LABEL = "deploykit.test=logd"


# ------------------------------------------------------------ Docker bytes

def rfc3339(ns):
    s, frac = divmod(ns, 10 ** 9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + \
        ".%09dZ" % frac


def frame(stream, payload):
    """One frame of Docker's multiplexed stream (1 stdout, 2 stderr)."""
    if isinstance(payload, str):
        payload = payload.encode()
    return bytes([stream, 0, 0, 0]) + struct.pack(">I", len(payload)) + \
        payload


def line_frame(stream, ns, text):
    """A message as Docker sends it with timestamps=1."""
    if isinstance(text, str):
        text = text.encode()
    return frame(stream, rfc3339(ns).encode() + b" " + text + b"\n")


def docker(method, path, body=None, timeout=30):
    """A call to the Engine API: (status, bytes)."""
    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(DOCKER_SOCK)
    c = Conn("localhost", timeout=timeout)
    headers = {}
    if body is not None:
        body = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    c.request(method, "/v1.41" + path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def ensure_image():
    """A busybox image of our own, made from the host's busybox-static:
    no registry needed."""
    st, _ = docker("GET", "/images/%s/json" % IMAGE)
    if st == 200:
        return
    d = tempfile.mkdtemp(prefix="dkd-logd-image-")
    try:
        os.mkdir(os.path.join(d, "bin"))
        shutil.copy("/bin/busybox", os.path.join(d, "bin", "busybox"))
        for a in ("sh", "echo", "sleep", "seq", "cat", "printf", "head",
                  "tr", "yes", "dd", "true", "awk", "usleep", "date"):
            os.symlink("busybox", os.path.join(d, "bin", a))
        tar = os.path.join(d, "image.tar")
        subprocess.run(["tar", "-C", d, "-cf", tar, "bin"], check=True)
        subprocess.run(["docker", "import", "-c", 'CMD ["/bin/sh"]', tar,
                        IMAGE], check=True, stdout=subprocess.DEVNULL)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_container(name, script, tty=False):
    """Start a busybox container of ours running sh -c script: its id."""
    ensure_image()
    st, body = docker("POST", "/containers/create?name=%s" % name, {
        "Image": IMAGE, "Cmd": ["sh", "-c", script], "Tty": tty,
        "Labels": {"deploykit.test": "logd"}})
    check(st == 201, "container create: %d %r" % (st, body))
    cid = json.loads(body)["Id"]
    st, body = docker("POST", "/containers/%s/start" % cid)
    check(st == 204, "container start: %d %r" % (st, body))
    return cid


def wait_container(cid, timeout=30):
    st, body = docker("POST", "/containers/%s/wait" % cid, timeout=timeout)
    check(st == 200, "container wait: %d %r" % (st, body))


def remove_container(cid):
    docker("DELETE", "/containers/%s?force=1&v=1" % cid)


def container_logs(cid, since=None):
    """What the reconciler would read: the whole log, timestamps on."""
    q = "stdout=1&stderr=1&timestamps=1"
    if since is not None:
        q += "&since=" + since
    st, body = docker("GET", "/containers/%s/logs?%s" % (cid, q))
    check(st == 200, "container logs: %d" % st)
    return body


def cleanup_containers():
    """Our test containers, and only ours (by label)."""
    st, body = docker("GET", "/containers/json?all=1&filters=" +
                      "%7B%22label%22%3A%5B%22deploykit.test%3Dlogd%22%5D%7D")
    if st == 200:
        for c in json.loads(body):
            remove_container(c["Id"])


# -------------------------------------------------------------- the rig

def settings_payload(retention=16 << 20, age=7 * 86400, budget=1 << 30,
                     level=3):
    """IMSG_CFG_SETTINGS as common/settings.c settings_put writes it."""
    def u32(v):
        return struct.pack("<I", v)

    def u64(v):
        return struct.pack("<Q", v)

    def s(v):
        return u32(len(v)) + v.encode()
    return u32(level) + s("*") + u64(30000) + u64(10000) + \
        s("/var/run/docker.sock") + u32(0) + u64(retention) + u64(age) + \
        u64(budget)


class LogdRig:
    """dkd-logd in a jail of its own, and its master's channel."""

    def __init__(self, root=None, **limits):
        self.own_root = root is None
        self.root = root or tempfile.mkdtemp(prefix="dkd-logd-")
        os.chmod(self.root, 0o755)
        self.data = os.path.join(self.root, "data")
        uid, gid = user_ids("_dkd_log")
        self.uid, self.gid = uid, gid
        if not os.path.isdir(self.data):
            os.mkdir(self.data, 0o700)
        os.chown(self.data, uid, gid)
        self.limits = limits
        self.pid = None
        self.sock = None
        self.buf = b""
        self.msgs = []
        self.stderr_path = os.path.join(self.root, "stderr.log")
        self.next_view = 0

    def start(self):
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        err = os.open(self.stderr_path, os.O_WRONLY | os.O_CREAT |
                      os.O_APPEND, 0o600)
        exe = os.path.join(LIBEXEC, "dkd-logd")
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(child.fileno(), 3, inheritable=True)
                os.dup2(err, 2)
                os.closerange(4, 4096)
                os.execve(exe, [exe, "-d"], {"TZ": "UTC"})
            finally:
                os._exit(127)
        child.close()
        os.close(err)
        self.pid = pid
        self.sock = parent
        self.buf = b""
        self.msgs = []
        p = struct.pack
        sandbox = p("<III", self.uid, self.gid, 0xffffffff) + \
            p("<I", len(self.root)) + self.root.encode() + \
            p("<I", os.getpid())
        self.send(IMSG["IMSG_CFG_SANDBOX"], sandbox)
        self.send(IMSG["IMSG_CFG_SETTINGS"],
                  settings_payload(**self.limits))
        self.send(IMSG["IMSG_CFG_DONE"])
        m = self.expect(IMSG["IMSG_READY"], 15)
        check(m is not None, "dkd-logd did not say READY", *self.stderr())
        return self

    def send(self, type_, payload=b"", peerid=0, fd=None):
        data = HDR.pack(type_, (HDR.size + len(payload)) |
                        (FD_MARK if fd is not None else 0), peerid,
                        os.getpid()) + payload
        anc = []
        if fd is not None:
            anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                    array.array("i", [fd]).tobytes())]
        n = self.sock.sendmsg([data], anc)
        if n < len(data):
            self.sock.sendall(data[n:])

    def _read(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return False
        d = self.sock.recv(1 << 20)
        if not d:
            raise EOFError("dkd-logd closed its channel")
        self.buf += d
        while len(self.buf) >= HDR.size:
            t, ln, peer, _ = HDR.unpack_from(self.buf)
            ln &= ~FD_MARK
            if len(self.buf) < ln:
                break
            self.msgs.append((t, peer, self.buf[HDR.size:ln]))
            self.buf = self.buf[ln:]
        return True

    def expect(self, type_, timeout=10, peerid=None):
        """The next message of type_ (others before it are kept)."""
        end = time.monotonic() + timeout
        while True:
            for i, (t, peer, payload) in enumerate(self.msgs):
                if t == IMSG["IMSG_PONG"]:
                    continue
                if t == type_ and (peerid is None or peer == peerid):
                    del self.msgs[i]
                    return (t, peer, payload)
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                self._read(min(left, 0.5))
            except EOFError:
                return None

    def ping(self, seq=7):
        """A round trip: logd has dealt with everything sent before."""
        self.send(IMSG["IMSG_PING"], struct.pack("<I", seq))
        end = time.monotonic() + 10
        while time.monotonic() < end:
            for i, (t, _, payload) in enumerate(self.msgs):
                if t == IMSG["IMSG_PONG"] and \
                        struct.unpack("<I", payload)[0] == seq:
                    del self.msgs[i]
                    return True
            self._read(0.5)
        return False

    def stream(self, service, cid, tty=False, project="p-1",
               deployment="d-1"):
        """A log stream for container cid: the write end of its pipe."""
        r, w = os.pipe()
        self.send(IMSG["IMSG_LOGD_STREAM"], tree({
            "container_id": cid, "service_id": service,
            "project_id": project, "deployment_id": deployment,
            "tty": tty}), fd=r)
        os.close(r)
        return w

    def view(self, service, tail=-1, since=0, until=0, q="", stream="",
             follow=False, containers=False):
        """A viewer: (logd's answer, our end of its socket)."""
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.next_view += 1
        vid = self.next_view
        self.send(IMSG["IMSG_LOGD_VIEW"], tree({
            "service_id": service, "tail": tail, "since": since,
            "until": until, "q": q, "stream": stream, "follow": follow,
            "containers": containers}), peerid=vid, fd=a.fileno())
        a.close()
        m = self.expect(IMSG["IMSG_LOGD_VIEW_ACK"], 10, peerid=vid)
        check(m is not None, "no answer to the view", *self.stderr())
        status = untree(m[2])[0]["status"]
        if status != "ok":
            b.close()
            return status, None
        return status, Sse(b)

    def forget(self, service):
        self.send(IMSG["IMSG_LOGD_FORGET"], tree({"service_id": service}))

    def marks(self, timeout=5):
        """The IMSG_LOGD_MARK trees that came."""
        out = []
        while True:
            m = self.expect(IMSG["IMSG_LOGD_MARK"], timeout)
            if m is None:
                return out
            out.append(untree(m[2])[0])
            timeout = 0.2

    def alive(self):
        if self.pid is None:
            return False
        pid, _ = os.waitpid(self.pid, os.WNOHANG)
        return pid == 0

    def kill(self, sig=signal.SIGKILL):
        if self.pid is None:
            return
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self.pid = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def stop(self):
        """Close the channel: logd exits as it does when its master
        goes.  Its exit status."""
        if self.pid is None:
            return None
        self.sock.close()
        self.sock = None
        end = time.monotonic() + 10
        while time.monotonic() < end:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = None
                return st
            time.sleep(0.05)
        self.kill()
        return None

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
        return 0

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read().splitlines()[-30:]
        except OSError:
            return []

    def service_bytes(self, service):
        d = os.path.join(self.data, service)
        if not os.path.isdir(d):
            return None
        return sum(os.path.getsize(os.path.join(d, f))
                   for f in os.listdir(d) if f.endswith(".seg"))

    def cleanup(self):
        self.kill()
        if self.own_root:
            shutil.rmtree(self.root, ignore_errors=True)


# ------------------------------------------------------------- SSE reader

class Sse:
    """The events a viewer gets: ("line", dict), ("exited", cid),
    ("end", None), ("dropped", dict), ("ping", None)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def fileno(self):
        return self.sock.fileno()

    def _parse(self):
        # By index: a megabyte read holds thousands of events, and
        # cutting each off the front would copy the rest every time.
        out, buf, i = [], self.buf, 0
        while True:
            j = buf.find(b"\n\n", i)
            if j == -1:
                break
            block, i = buf[i:j], j + 2
            event, data = None, None
            for ln in block.split(b"\n"):
                if ln.startswith(b":"):
                    event = "ping"
                elif ln.startswith(b"event: "):
                    event = ln[7:].decode()
                elif ln.startswith(b"data: "):
                    data = json.loads(ln[6:].decode())
                else:
                    raise ValueError("not SSE: %r" % block)
            if event == "ping":
                out.append(("ping", None))
            elif event in ("end", "dropped"):
                out.append((event, data))
            elif data is not None and data.get("event") == \
                    "container_exited":
                out.append(("exited", data["container_id"]))
            else:
                out.append(("line", data))
        self.buf = buf[i:]
        return out

    def read(self, timeout=5):
        """The events that come first within timeout ([] at EOF)."""
        out = self._parse()
        end = time.monotonic() + timeout
        while not out and not self.eof:
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                break
            try:
                d = self.sock.recv(1 << 20)
            except (ConnectionResetError, socket.timeout):
                d = b""
            if not d:
                self.eof = True
                break
            self._feed(d)
            out += self._parse()
        return out

    def _feed(self, data):
        """Bytes off the socket into self.buf."""
        self.buf += data

    def until(self, pred, timeout=10):
        """Events until pred(all so far) holds, EOF or the timeout."""
        got = []
        end = time.monotonic() + timeout
        while not pred(got) and time.monotonic() < end:
            ev = self.read(max(0.01, end - time.monotonic()))
            got += ev
            if not ev and self.eof:
                break
        return got

    def all(self, timeout=20):
        """Every event up to EOF."""
        got = self._parse()
        end = time.monotonic() + timeout
        while not self.eof and time.monotonic() < end:
            got += self.read(end - time.monotonic())
        return got + self._parse()

    def until_quiet(self, quiet=0.5, timeout=20):
        """Every event up to EOF, or until none came for quiet seconds."""
        got = self._parse()
        end = time.monotonic() + timeout
        while not self.eof and time.monotonic() < end:
            ev = self.read(min(quiet, max(0.01, end - time.monotonic())))
            if not ev:
                break
            got += ev
        return got + self._parse()

    def close(self):
        self.sock.close()


class HttpSse(Sse):
    """GET path on dkd-api with a bearer token: the status, the headers
    and, for a 200, the events of the chunked reply."""

    def __init__(self, port, path, token=None, timeout=10, rcvbuf=None):
        sock = socket.create_connection(("127.0.0.1", port), timeout)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        Sse.__init__(self, sock)
        req = "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % path
        if token is not None:
            req += "Authorization: Bearer %s\r\n" % token
        sock.sendall((req + "\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            d = sock.recv(4096)
            if not d:
                raise EOFError("no reply")
            head += d
        head, rest = head.split(b"\r\n\r\n", 1)
        first, *hl = head.decode().split("\r\n")
        self.status = int(first.split()[1])
        self.headers = {}
        for h in hl:
            k, _, v = h.partition(":")
            self.headers.setdefault(k.strip().lower(), []).append(v.strip())
        self.chunked = "chunked" in ",".join(
            self.headers.get("transfer-encoding", []))
        self.cbuf = b""
        self.body = b""
        self.ended = False
        if self.status != 200:
            n = int(self.header("content-length") or 0)
            while len(rest) < n:
                d = sock.recv(65536)
                if not d:
                    break
                rest += d
            self.body = rest[:n]
            sock.close()
            self.eof = True
            return
        self._chunks(rest)

    def header(self, name):
        v = self.headers.get(name.lower())
        return v[0] if v else None

    def json(self):
        return json.loads(self.body)

    def _chunks(self, data):
        """Undo the chunked encoding into self.buf."""
        cb, i, out = self.cbuf + data, 0, []
        while True:
            j = cb.find(b"\r\n", i)
            if j == -1:
                break
            n = int(cb[i:j].split(b";")[0], 16)
            if n == 0:
                self.ended = True
                self.eof = True
                cb, i = b"", 0
                break
            if len(cb) - (j + 2) < n + 2:
                break
            out.append(cb[j + 2:j + 2 + n])
            i = j + 4 + n
        self.cbuf = cb[i:]
        self.buf += b"".join(out)

    _feed = _chunks     # Sse.read, through the chunked encoding


def lines(events):
    return [e[1] for e in events if e[0] == "line"]


def texts(events):
    return [e[1]["line"] for e in events if e[0] == "line"]


__all__ = ["LogdRig", "Sse", "HttpSse", "frame", "line_frame", "rfc3339", "lines",
           "texts", "run_container", "wait_container", "remove_container",
           "container_logs", "cleanup_containers", "untree", "docker",
           "wait_until"]
