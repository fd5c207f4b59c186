"""Helpers for the reconciler tests: value trees both ways, a follower of
`dkctl -j events`, and FakeRec, which plays dkd-reconciler through
recrelay.py so that the master's side can be tested message by message."""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (IMSG, IMSG_HEADER, LIBEXEC, WORKERS, EventStream,  # noqa
                     Failure, imsg_pack, purge_instance, tree, untree_all,
                     w_u32)

HERE = os.path.dirname(os.path.abspath(__file__))

# -------------------------------------------------------------- events

class Events(EventStream):
    """`dkctl -j events [PROJECT]` in the background, as dicts."""

    def __init__(self, d, project=None):
        self.all = []
        self.lock = threading.Lock()
        EventStream.__init__(self, d, project)

    def line(self, line):
        ev = json.loads(line)
        with self.lock:
            self.all.append(ev)

    def of(self, etype, **match):
        """Every event of type etype so far whose payload has match."""
        with self.lock:
            evs = list(self.all)
        return [e for e in evs if e["type"] == etype and
                all(e["payload"].get(k) == v for k, v in match.items())]

    def types(self):
        with self.lock:
            return [e["type"] for e in self.all]


# --------------------------------------------- the fake reconciler

class FakeRec:
    """dkd-reconciler played by the test: a DKD_LIBEXEC directory with
    recrelay.py as dkd-reconciler (links to the real other workers) and a
    listening socket it relays the channel to.  A thread takes each
    start of the worker: config, READY, pings and RECONCILE acks are
    answered; every other message is kept, decoded, in self.got."""

    def __init__(self, d):
        self.d = d
        self.lib = os.path.join(d.dir, "libexec")
        os.mkdir(self.lib, 0o755)
        for c in WORKERS:
            if c != "dkd-reconciler":
                os.symlink(os.path.join(LIBEXEC, c),
                           os.path.join(self.lib, c))
        dst = os.path.join(self.lib, "dkd-reconciler")
        shutil.copyfile(os.path.join(HERE, "recrelay.py"), dst)
        os.chmod(dst, 0o755)
        self.path = os.path.join(d.dir, "recrelay.sock")
        with open(os.path.join(self.lib, "relay.json"), "w") as f:
            json.dump({"socket": self.path}, f)
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(self.path)
        self.ls.listen(4)
        self.cond = threading.Condition()
        self.got = []           # (start number, type name, value)
        self.starts = 0
        self.conn = None
        self.names = {v: k for k, v in IMSG.items()}
        self.ready_hold = threading.Event()
        self.ready_hold.set()
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def env(self):
        return dict(os.environ, DKD_LIBEXEC=self.lib)

    def _serve(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            with self.cond:
                self.starts += 1
                n = self.starts
                self.conn = c
            threading.Thread(target=self._run, args=(c, n),
                             daemon=True).start()

    def _run(self, c, n):
        buf = b""
        readied = False
        while True:
            try:
                data = c.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self.cond:
                    self.got.append((n, "EOF", None))
                    self.cond.notify_all()
                return
            buf += data
            while len(buf) >= IMSG_HEADER.size:
                t, ln, peer, _ = IMSG_HEADER.unpack_from(buf)
                ln &= 0x7fffffff
                if len(buf) < ln:
                    break
                payload = buf[IMSG_HEADER.size:ln]
                buf = buf[ln:]
                name = self.names.get(t, str(t))
                if name == "IMSG_CFG_DONE" and not readied:
                    self.ready_hold.wait()
                    readied = True
                    self._send(c, "IMSG_READY")
                    continue
                if name.startswith("IMSG_CFG_") or \
                        name == "IMSG_LOG_LEVEL":
                    continue
                if name == "IMSG_PING":
                    self._send(c, "IMSG_PONG", payload)
                    continue
                if name == "IMSG_REC_RECONCILE":
                    self._send(c, "IMSG_REC_RECONCILE_ACK", payload)
                    v = payload[4:].decode()
                elif name.startswith("IMSG_REC_SYNC") or \
                        name == "IMSG_REC_DESIRED":
                    v = untree_all(payload)
                else:
                    v = payload
                with self.cond:
                    self.got.append((n, name, v))
                    self.cond.notify_all()

    def _send(self, c, name, payload=b""):
        try:
            c.sendall(imsg_pack(IMSG[name], payload))
        except OSError:
            pass

    def send(self, name, payload=b""):
        with self.cond:
            c = self.conn
        self._send(c, name, payload)

    def report(self, **kw):
        self.send("IMSG_REC_REPORT", tree(kw))

    def queue(self, **kw):
        self.send("IMSG_REC_QUEUE", tree(kw))

    def mark(self):
        with self.cond:
            return len(self.got)

    def wait(self, pred, timeout=10, since=0, what="a message"):
        """The first message at index >= since that pred(start, name,
        value) accepts; Failure after timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for m in self.got[since:]:
                    if pred(*m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure("no %s within %ds; got %r" % (
                        what, timeout,
                        [(s, n) for s, n, _ in self.got[since:]][-30:]))
                self.cond.wait(left)

    def messages(self, since=0):
        with self.cond:
            return list(self.got[since:])

    def desired(self, sid, since=0, timeout=10, pred=None):
        """The next DESIRED of service sid."""
        return self.wait(
            lambda s, n, v: n == "IMSG_REC_DESIRED" and
            v["service_id"] == sid and (pred is None or pred(v)),
            timeout, since, "DESIRED of %s" % sid)[2]

    def sync(self, since=0, timeout=10):
        """A whole resync from since: (begin, [desired], end)."""
        b = self.wait(lambda s, n, v: n == "IMSG_REC_SYNC_BEGIN",
                      timeout, since, "SYNC_BEGIN")
        i = self.got.index(b)
        e = self.wait(lambda s, n, v: n == "IMSG_REC_SYNC_END",
                      timeout, i, "SYNC_END")
        j = self.got.index(e)
        ds = [v for s, n, v in self.got[i:j] if n == "IMSG_REC_DESIRED"]
        return b[2], ds, e[2]

    def close(self):
        try:
            self.ls.close()
        except OSError:
            pass


# ------------------------------------------- a Docker engine of our own

class PrivateDockerd:
    """A second dockerd for the reconciler tests, in a network namespace
    of its own with its own data root, exec root and socket (tech-notes
    section 12): the fault tests restart and stop it, and nothing of the
    other tests' dockerd is ever touched.  Its socket is group docker,
    like the system one, so dkd-reconciler reaches it."""

    NETNS = "dkrec"
    SOCK_DIR = "/run/dk-rectest-sock"
    SOCK = SOCK_DIR + "/docker.sock"
    EXEC_ROOT = "/run/dk-rectest"
    DATA_ROOT = "/var/lib/dk-rectest"
    PIDFILE = "/run/dk-rectest.pid"
    LOG = "/tmp/dk-rectest-dockerd.log"

    def __init__(self):
        self.proc = None

    def docker(self, *args, check=False, timeout=60, input=None):
        r = subprocess.run(["docker", "-H", "unix://" + self.SOCK] +
                           list(args), capture_output=True, text=True,
                           timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise Failure("docker %s: %s" % (" ".join(args),
                                              r.stderr.strip()))
        return r

    def pid(self):
        try:
            with open(self.PIDFILE) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def up(self):
        return self.docker("version", "--format", "{{.Server.Version}}",
                           timeout=10).returncode == 0

    def start(self, timeout=30):
        if self.pid() is not None and self.up():
            return self
        if not os.path.exists("/var/run/netns/" + self.NETNS):
            subprocess.run(["ip", "netns", "add", self.NETNS], check=True)
            subprocess.run(["ip", "-n", self.NETNS, "link", "set", "lo",
                            "up"], check=True)
        os.makedirs(self.SOCK_DIR, exist_ok=True)
        os.chmod(self.SOCK_DIR, 0o755)
        log = open(self.LOG, "ab")
        self.proc = subprocess.Popen(
            ["nsenter", "--net=/var/run/netns/" + self.NETNS, "dockerd",
             "--data-root", self.DATA_ROOT, "--exec-root", self.EXEC_ROOT,
             "--pidfile", self.PIDFILE, "-H", "unix://" + self.SOCK,
             "--cgroup-parent", "/dk-rectest", "--group", "docker",
             # Room for many project networks.
             "--default-address-pool", "base=10.213.0.0/16,size=24"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.up():
                return self
            time.sleep(0.2)
        raise Failure("the private dockerd did not start; see %s"
                      % self.LOG)

    def stop(self, timeout=30):
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, 15)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.1)
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def reset(self):
        """Remove every container, network and volume: the engine is
        this test's alone, and a run that died may have left some."""
        ids = self.docker("ps", "-aq").stdout.split()
        if ids:
            self.docker("rm", "-f", *ids)
        for n in self.docker("network", "ls", "-q", "--filter",
                             "type=custom").stdout.split():
            self.docker("network", "rm", n)
        vols = self.docker("volume", "ls", "-q").stdout.split()
        if vols:
            self.docker("volume", "rm", "-f", *vols)

    def purge(self, instance):
        """Remove what the dkd of that instance id left behind."""
        purge_instance(instance, self.SOCK)

    def teardown(self):
        """Stop it and remove everything it had."""
        self.stop()
        subprocess.run(["ip", "netns", "del", self.NETNS],
                       stderr=subprocess.DEVNULL)
        # dockerd leaves its data root bind-mounted onto itself.
        with open("/proc/mounts") as f:
            mounted = [l.split()[1] for l in f]
        for d in (self.DATA_ROOT, self.EXEC_ROOT):
            if any(m == d or m.startswith(d + "/") for m in mounted):
                subprocess.run(["umount", "-R", d],
                               stderr=subprocess.DEVNULL)
        for d in (self.DATA_ROOT, self.EXEC_ROOT, self.SOCK_DIR):
            subprocess.run(["rm", "-rf", "--one-file-system", d])

    # what the tests look at
    def containers(self, *filters, all_=True):
        """[{id, name, state, labels}] of containers matching the label
        filters ("key=value" or "key")."""
        args = ["ps", "-q", "--no-trunc"] + (["-a"] if all_ else [])
        for f in filters:
            args += ["--filter", "label=" + f]
        ids = self.docker(*args, check=True).stdout.split()
        # One may go between the listing and its inspection.
        return [c for c in (self.inspect(i) for i in ids if i)
                if c is not None]

    def inspect(self, ref, kind="container"):
        r = self.docker(kind, "inspect", ref)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)[0]

    def volumes(self, name_prefix):
        out = self.docker("volume", "ls", "-q", check=True).stdout.split()
        return [v for v in out if v.startswith(name_prefix)]

    def networks(self, *filters):
        args = ["network", "ls", "-q", "--no-trunc"]
        for f in filters:
            args += ["--filter", f]
        ids = self.docker(*args, check=True).stdout.split()
        return [self.inspect(i, "network") for i in ids]


def busybox_image(dockerd, name, cmd, files=None, env=()):
    """Import a busybox-static root file system as image name, running
    cmd (a list); files: {path: text} put in the image."""
    import tarfile
    import tempfile
    with tempfile.TemporaryDirectory(prefix="dkrec-img.") as d:
        os.makedirs(os.path.join(d, "bin"))
        shutil.copyfile("/bin/busybox", os.path.join(d, "bin", "busybox"))
        os.chmod(os.path.join(d, "bin", "busybox"), 0o755)
        for tool in ("sh", "httpd", "wget", "sleep", "echo", "cat", "ls",
                     "mkdir", "date", "kill", "touch", "true", "env"):
            os.symlink("busybox", os.path.join(d, "bin", tool))
        for sub in ("tmp", "www", "proc", "sys", "dev", "etc"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        for path, text in (files or {}).items():
            p = os.path.join(d, path.lstrip("/"))
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        tar = os.path.join(d, "..", os.path.basename(d) + ".tar")
        with tarfile.open(tar, "w") as t:
            t.add(d, arcname=".")
        changes = ["--change", "CMD " + json.dumps(cmd)]
        for e in env:
            changes += ["--change", "ENV " + e]
        try:
            dockerd.docker("import", *changes, tar, name, check=True)
        finally:
            os.unlink(tar)


# ----------------------------------------- a Docker endpoint in between

class DockerProxy:
    """A unix socket that forwards the Docker API to a real engine, one
    request per connection (it adds Connection: close), counting the
    requests; a request whose line matches hang is never answered (a pull
    that hangs).  Runs in threads until close()."""

    def __init__(self, path, upstream, hang=None):
        import re as _re
        self.path = path
        self.upstream = upstream
        self.hang = _re.compile(hang) if hang else None
        self.lock = threading.Lock()
        self.requests = []
        self.hung = []
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(path)
        os.chmod(path, 0o666)
        self.ls.listen(64)
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def count(self):
        with self.lock:
            return len(self.requests)

    def since(self, n):
        with self.lock:
            return list(self.requests[n:])

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(c,),
                             daemon=True).start()

    def _conn(self, c):
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                d = c.recv(65536)
                if not d:
                    c.close()
                    return
                head += d
        except OSError:
            c.close()
            return
        top, rest = head.split(b"\r\n\r\n", 1)
        lines = top.split(b"\r\n")
        reqline = lines[0].decode("latin-1")
        with self.lock:
            self.requests.append(reqline)
        if self.hang is not None and self.hang.search(reqline):
            with self.lock:
                self.hung.append(c)
            return
        keep = [l for l in lines[1:]
                if not l.lower().startswith(b"connection:")]
        top = b"\r\n".join([lines[0]] + keep + [b"Connection: close"])
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            u.connect(self.upstream)
            u.sendall(top + b"\r\n\r\n" + rest)
        except OSError:
            c.close()
            u.close()
            return
        t = threading.Thread(target=self._pipe, args=(c, u), daemon=True)
        t.start()
        self._pipe(u, c)
        t.join(1)
        for s in (c, u):
            try:
                s.close()
            except OSError:
                pass

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                dst.sendall(d)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        self.closed = True
        try:
            self.ls.close()
        except OSError:
            pass
        with self.lock:
            for c in self.hung:
                try:
                    c.close()
                except OSError:
                    pass
        try:
            os.unlink(self.path)
        except OSError:
            pass
