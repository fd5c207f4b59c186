"""A stand-in master for dkd-reconciler, for tests and benchmarks.

Runs the real dkd-reconciler binary (from DKD_PREFIX) with its channel
on fd 3, as dkd would: the configuration handshake of common/worker.c,
then the messages of RECONCILER-PROTOCOL.md as value trees (tree.h).
FakeMaster keeps a small desired state in memory, applies the
reconciler's reports the way the contract says the master persists them
(spec 10.3) and pushes the changed service again.  DockerProxy stands
between the reconciler and dockerd: it counts the API calls and can
play an engine that is down.  Helpers build test images with `docker
import` from a busybox-static rootfs, and clean up by label and name.

Only the Python standard library; Docker is read with the docker CLI
(the reconciler itself never uses it).
"""

import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import uuid

from cheaders import c_enum
from dkdtest import LIBEXEC, SRCDIR, Failure

IMSG = c_enum(os.path.join(SRCDIR, "common", "dkd_imsg.h"), "imsg_type")
TREE = c_enum(os.path.join(SRCDIR, "common", "tree.h"), "tree_tag")
HDR = struct.Struct("<IIII")
FD_MARK = 0x80000000
REC = os.path.join(LIBEXEC, "dkd-reconciler")
DOCKER_SOCK = "/var/run/docker.sock"


# --------------------------------------------------------------- trees

def t_enc(v):
    """A Python value as a value tree (common/tree.c)."""
    if v is None:
        return bytes([TREE["TREE_NULL"]])
    if v is True:
        return bytes([TREE["TREE_TRUE"]])
    if v is False:
        return bytes([TREE["TREE_FALSE"]])
    if isinstance(v, int):
        return bytes([TREE["TREE_INT"]]) + struct.pack("<q", v)
    if isinstance(v, float):
        return bytes([TREE["TREE_DOUBLE"]]) + struct.pack("<d", v)
    if isinstance(v, str):
        b = v.encode()
        return bytes([TREE["TREE_STR"]]) + struct.pack("<I", len(b)) + b
    if isinstance(v, dict):
        out = bytes([TREE["TREE_MAP"]])
        for k, x in v.items():
            out += t_enc(str(k)) + t_enc(x)
        return out + bytes([TREE["TREE_END"]])
    if isinstance(v, (list, tuple)):
        out = bytes([TREE["TREE_ARRAY"]])
        for x in v:
            out += t_enc(x)
        return out + bytes([TREE["TREE_END"]])
    raise TypeError(v)


def t_dec(buf):
    v, off = _t_dec(buf, 0)
    if off != len(buf):
        raise ValueError("trailing bytes in a tree")
    return v


def _t_dec(buf, off):
    tag = buf[off]
    off += 1
    if tag == TREE["TREE_NULL"]:
        return None, off
    if tag == TREE["TREE_TRUE"]:
        return True, off
    if tag == TREE["TREE_FALSE"]:
        return False, off
    if tag == TREE["TREE_INT"]:
        return struct.unpack_from("<q", buf, off)[0], off + 8
    if tag == TREE["TREE_DOUBLE"]:
        return struct.unpack_from("<d", buf, off)[0], off + 8
    if tag == TREE["TREE_STR"]:
        n = struct.unpack_from("<I", buf, off)[0]
        return buf[off + 4:off + 4 + n].decode(), off + 4 + n
    if tag in (TREE["TREE_MAP"], TREE["TREE_ARRAY"]):
        items = []
        while buf[off] != TREE["TREE_END"]:
            x, off = _t_dec(buf, off)
            items.append(x)
        off += 1
        if tag == TREE["TREE_ARRAY"]:
            return items, off
        return dict(zip(items[0::2], items[1::2])), off
    raise ValueError("bad tag %d" % tag)


def parse_ts(s):
    """Docker's RFC 3339 nano timestamp as integer nanoseconds (0 if
    it is not one)."""
    import calendar
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$",
                 s)
    if not m:
        return 0
    sec = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    return sec * 10**9 + int((m.group(2) or "0").ljust(9, "0"))


def w_u32(v):
    return struct.pack("<I", v & 0xffffffff)


def w_u64(v):
    return struct.pack("<Q", v)


def w_str(s):
    b = s.encode()
    return w_u32(len(b)) + b


# ------------------------------------------------------------- docker

def docker(*args, check=True, timeout=120):
    r = subprocess.run(["docker"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    if check and r.returncode != 0:
        raise Failure("docker %s: %s" % (" ".join(args),
                                         r.stderr.decode().strip()))
    return r.stdout.decode()


def inspect(name_or_id):
    out = docker("inspect", name_or_id, check=False)
    try:
        return json.loads(out)[0]
    except (ValueError, IndexError):
        return None


def containers(instance, service_id=None, all_=True):
    """Docker's view: [{id, name, state, labels}] of an instance."""
    args = ["ps", "--no-trunc", "--format", "{{json .}}",
            "--filter", "label=deploykit.instance=%s" % instance]
    if all_:
        args.insert(1, "-a")
    if service_id is not None:
        args += ["--filter", "label=deploykit.service-id=%s" % service_id]
    out = []
    for line in docker(*args).splitlines():
        j = json.loads(line)
        labels = dict(kv.split("=", 1) for kv in j["Labels"].split(",")
                      if "=" in kv)
        out.append({"id": j["ID"], "name": j["Names"], "state": j["State"],
                    "labels": labels})
    return out


def build_images(tag):
    """dkt/r1-<tag>:<variant> from a busybox-static rootfs, each with the
    command of its variant."""
    root = tempfile.mkdtemp(prefix="r1root.")
    try:
        os.makedirs(os.path.join(root, "bin"))
        os.makedirs(os.path.join(root, "www"))
        os.makedirs(os.path.join(root, "tmp"))
        os.makedirs(os.path.join(root, "data"))
        shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
        for a in ("sh", "httpd", "sleep", "wget", "echo", "cat", "ls",
                  "env", "touch", "test", "nslookup", "seq", "sed", "head"):
            os.symlink("busybox", os.path.join(root, "bin", a))
        with open(os.path.join(root, "www", "index.html"), "w") as f:
            f.write("hello from %s\n" % tag)
        tar = subprocess.run(["tar", "-C", root, "-c", "."],
                             stdout=subprocess.PIPE, check=True).stdout
    finally:
        shutil.rmtree(root, ignore_errors=True)
    cmds = {
        "web": '["httpd", "-f", "-p", "8080", "-h", "/www"]',
        "sleep": '["sleep", "100000"]',
        "crash": '["sh", "-c", "echo booting; echo oops >&2; exit 3"]',
        # Fine for 3 s, then a crash on every start: a crashloop that
        # begins after promotion.
        "late": '["sh", "-c", "test -e /tmp/ran && exit 1; touch /tmp/ran; '
                'echo up; sleep 3; echo down >&2; exit 1"]',
        "web2": '["sh", "-c", "echo v2 > /www/index.html; '
                'exec httpd -f -p 8080 -h /www"]',
        "talk": '["sh", "-c", "i=0; while true; do echo out $i; '
                'echo err $i >&2; i=$((i+1)); sleep 0.1; done"]',
        # 20000 numbered lines of 100 bytes at once, then quiet.
        "flood": '["sh", "-c", "i=0; while test $i -lt 20000; do echo '
                 '\\"$i ' + "x" * 90 + '\\"; i=$((i+1)); done; '
                 'exec sleep 100000"]',
        # Exits on its first start only: a restart before promotion.
        "once": '["sh", "-c", "test -e /tmp/ran || { touch /tmp/ran; '
                'exit 1; }; exec httpd -f -p 8080 -h /www"]',
    }
    for variant, cmd in cmds.items():
        subprocess.run(["docker", "import", "-c", "CMD %s" % cmd, "-",
                        "dkt/r1-%s:%s" % (tag, variant)], input=tar,
                       stdout=subprocess.DEVNULL, check=True)
    return {v: "dkt/r1-%s:%s" % (tag, v) for v in cmds}


def cleanup_docker(instances, image_tag=None):
    """Remove what carries one of our instance labels, and our images."""
    for inst in instances:
        f = "label=deploykit.instance=%s" % inst
        ids = docker("ps", "-aq", "--filter", f, check=False).split()
        if ids:
            docker("rm", "-f", "-v", *ids, check=False)
        ids = docker("network", "ls", "-q", "--filter", f,
                     check=False).split()
        for i in ids:
            docker("network", "rm", i, check=False)
        ids = docker("volume", "ls", "-q", "--filter", f,
                     check=False).split()
        if ids:
            docker("volume", "rm", "-f", *ids, check=False)
    if image_tag is not None:
        imgs = docker("images", "-q", "dkt/r1-%s" % image_tag,
                      check=False).split()
        if imgs:
            docker("rmi", "-f", *sorted(set(imgs)), check=False)


# ----------------------------------------------------------- the proxy

REQ_RE = re.compile(
    rb"(GET|POST|DELETE|PUT|HEAD) (/v1\.41/[^ ]*) HTTP/1\.1\r\n")


class DockerProxy:
    """A unix socket that forwards to dockerd and counts the requests
    (by their request line).  down() refuses new connections and cuts
    the open ones, as a stopped daemon would; up() serves again.
    hang(pattern) holds requests whose path matches without answer."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.requests = []          # (monotonic time, method, path)
        self.conns = []
        self.is_down = False
        self.hang_re = None
        self.sock = None
        self._listen()

    def _listen(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.listen(128)
        threading.Thread(target=self._accept, args=(self.sock,),
                         daemon=True).start()

    def _accept(self, lsock):
        while True:
            try:
                c, _ = lsock.accept()
            except OSError:
                return
            if self.is_down:
                c.close()
                continue
            try:
                d = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                d.connect(DOCKER_SOCK)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, d]
            threading.Thread(target=self._pump, args=(c, d, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(d, c, False),
                             daemon=True).start()

    def _pump(self, src, dst, count):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if count:
                    for m in REQ_RE.finditer(data):
                        path = m.group(2).decode(errors="replace")
                        with self.lock:
                            self.requests.append((time.monotonic(),
                                                  m.group(1).decode(), path))
                        if self.hang_re and re.search(self.hang_re, path):
                            # Never forward it; the client waits.
                            while not self.is_down and self.hang_re:
                                time.sleep(0.1)
                            raise OSError("hung")
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def count(self, since=0.0, until=None, exclude=("/events", "/version")):
        with self.lock:
            return [r for r in self.requests if r[0] >= since and
                    (until is None or r[0] <= until) and
                    not any(r[2].startswith("/v1.41" + e) for e in exclude)]

    def down(self):
        self.is_down = True
        with self.lock:
            conns, self.conns = self.conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass

    def up(self):
        self.is_down = False

    def close(self):
        self.down()
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------- the reconciler

class Rec:
    """dkd-reconciler on a socketpair, with a reader thread."""

    def __init__(self, workdir, socket_path=DOCKER_SOCK, window_ms=1000,
                 level=3):
        self.workdir = workdir
        self.socket_path = socket_path
        self.window_ms = window_ms
        self.level = level
        self.proc = None
        self.msgs = []
        self.cond = threading.Condition()
        self.logpath = os.path.join(workdir, "rec.stderr")
        self.sock = None
        self.on_report = None

    def start(self):
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        logf = open(self.logpath, "ab")
        cfd = child.fileno()
        try:
            self.proc = subprocess.Popen(
                ["/bin/bash", "-c", 'exec "$0" -d 3<&%d %d<&-' % (cfd, cfd),
                 REC], pass_fds=(cfd,), stdin=subprocess.DEVNULL,
                stdout=logf, stderr=logf, env={})
        finally:
            logf.close()
            child.close()
        self.sock = parent
        self.buf = b""
        rec = pwd.getpwnam("_dkd_rec")
        dgid = grp.getgrnam("docker").gr_gid
        self.send(IMSG["IMSG_CFG_SANDBOX"],
                  w_u32(rec.pw_uid) + w_u32(rec.pw_gid) + w_u32(dgid) +
                  w_str("") + w_u32(os.getpid()))
        self.send(IMSG["IMSG_CFG_SETTINGS"],
                  w_u32(self.level) + w_str("") + w_u64(30000) +
                  w_u64(self.window_ms) + w_str(self.socket_path) + w_u32(0) +
                  # log-retention 16M 7d, log-budget 1G (common/settings.c)
                  w_u64(16 << 20) + w_u64(7 * 86400) + w_u64(1 << 30))
        self.send(IMSG["IMSG_CFG_DONE"])
        threading.Thread(target=self._read, daemon=True).start()
        if not self.wait_msg(lambda m: m[0] == IMSG["IMSG_READY"], 10):
            raise Failure("dkd-reconciler did not say READY",
                          self.log_tail())
        return self

    def send(self, itype, payload=b""):
        self.sock.sendall(HDR.pack(itype, HDR.size + len(payload), 0,
                                   os.getpid()) + payload)

    def send_tree(self, itype, v):
        self.send(itype, t_enc(v))

    def _read(self):
        """Messages as (type, time, value); a message with an fd (the
        log streams) has value (tree, fd)."""
        import array
        buf = b""
        fds = []
        sock = self.sock
        while True:
            try:
                d, anc, _, _ = sock.recvmsg(1 << 20,
                                            socket.CMSG_SPACE(4 * 16))
            except OSError:
                d = b""
            for level, kind, cdata in (anc if d else []):
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    a = array.array("i")
                    a.frombytes(cdata[:len(cdata) - len(cdata) % 4])
                    fds.extend(a)
            if not d:
                with self.cond:
                    self.msgs.append((None, time.monotonic(), None))
                    self.cond.notify_all()
                return
            buf += d
            while len(buf) >= HDR.size:
                t, ln, _, _ = HDR.unpack_from(buf)
                has_fd = bool(ln & FD_MARK)
                ln &= ~FD_MARK
                if len(buf) < ln:
                    break
                payload, buf = buf[HDR.size:ln], buf[ln:]
                v = payload
                if t in (IMSG["IMSG_REC_REPORT"], IMSG["IMSG_REC_QUEUE"],
                         IMSG["IMSG_REC_LOGSTREAM"]):
                    v = t_dec(payload)
                if has_fd:
                    v = (v, fds.pop(0) if fds else None)
                m = (t, time.monotonic(), v)
                if t == IMSG["IMSG_REC_REPORT"] and self.on_report:
                    self.on_report(v)
                with self.cond:
                    self.msgs.append(m)
                    self.cond.notify_all()

    def wait_msg(self, pred, timeout, start=0):
        """The first message from index start that pred accepts."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for m in self.msgs[start:]:
                    if m[0] is not None and pred(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def reports(self, kind=None, since=0):
        with self.cond:
            return [m[2] for m in self.msgs[since:]
                    if m[0] == IMSG["IMSG_REC_REPORT"] and
                    (kind is None or m[2].get("kind") == kind)]

    def streams(self, since=0):
        """The log streams handed over: [(tree, fd)]."""
        with self.cond:
            return [m[2] for m in self.msgs[since:]
                    if m[0] == IMSG["IMSG_REC_LOGSTREAM"]]

    def mark(self):
        with self.cond:
            return len(self.msgs)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            os.kill(self.proc.pid, sig)
            self.proc.wait(10)
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass

    def stop(self):
        """EOF on the channel: the worker exits, as when dkd stops."""
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, n=40):
        return self.log().splitlines()[-n:]


# ----------------------------------------------------- a master stand-in

class FakeMaster:
    """The desired state of a few services, updated from reports as the
    contract says the master does (spec 10.3), and pushed again."""

    def __init__(self, rec, instance=None):
        self.rec = rec
        self.instance = instance or str(uuid.uuid4())
        self.projects = {}          # id -> slug
        self.services = {}          # id -> dict
        self.lock = threading.RLock()
        self.seq = 0
        self.events = []            # (time, kind, report)
        self.auto_push = True
        rec.on_report = self.on_report

    def attach(self, rec):
        self.rec = rec
        rec.on_report = self.on_report

    # model
    def project(self, slug):
        pid = str(uuid.uuid4())
        self.projects[pid] = slug
        return pid

    def service(self, pid, name, volumes=()):
        sid = str(uuid.uuid4())
        self.services[sid] = {
            "id": sid, "project_id": pid, "name": name, "stopped": False,
            "deleted": False, "deployments": [], "active": None,
            "status": "created", "volumes": list(volumes),
            "containers": None,
        }
        return sid

    def deploy(self, sid, image, env=(), ports=(), replicas=1,
               memory_mb=None, cpu_shares=None):
        """CreateDeployment (spec 10.2): the others pending/starting are
        cancelled."""
        did = str(uuid.uuid4())
        with self.lock:
            s = self.services[sid]
            for d in s["deployments"]:
                if d["status"] in ("pending", "starting"):
                    d["status"] = "cancelled"
            s["deployments"].append({
                "id": did, "status": "pending", "image": image,
                "env": [list(kv) for kv in env], "ports": list(ports),
                "replicas": replicas, "memory_mb": memory_mb,
                "cpu_shares": cpu_shares, "attempt_count": 0,
                "baseline_restart_count": 0, "failure_reason": None,
                "exit_code": None, "log_tail": None})
            if s["active"] is None:
                s["status"] = "deploying"
        return did

    def dep(self, did):
        for s in self.services.values():
            for d in s["deployments"]:
                if d["id"] == did:
                    return s, d
        return None, None

    def rollback(self, sid, did):
        with self.lock:
            s = self.services[sid]
            _, d = self.dep(did)
            d["status"] = "healthy"
            prev = s["active"]
            if prev and prev != did:
                _, p = self.dep(prev)
                if p["status"] == "healthy":
                    p["status"] = "superseded"
            s["active"] = did
            s["status"] = "deploying"

    def desired(self, sid):
        s = self.services[sid]
        deps = []
        for d in s["deployments"]:
            if d["status"] not in ("pending", "starting", "healthy"):
                continue
            x = {"id": d["id"], "status": d["status"], "image": d["image"],
                 "env": d["env"], "ports": d["ports"],
                 "replicas": d["replicas"],
                 "attempt_count": d["attempt_count"],
                 "baseline_restart_count": d["baseline_restart_count"],
                 "active": s["active"] == d["id"]}
            if d["memory_mb"] is not None:
                x["memory_mb"] = d["memory_mb"]
            if d["cpu_shares"] is not None:
                x["cpu_shares"] = d["cpu_shares"]
            deps.append(x)
        return {"service_id": sid, "project_id": s["project_id"],
                "project_slug": self.projects[s["project_id"]],
                "service_name": s["name"], "stopped": s["stopped"],
                "deleted": s["deleted"], "deployments": deps,
                "volumes": s["volumes"]}

    # messages
    def sync(self):
        with self.lock:
            self.seq += 1
            self.rec.send_tree(IMSG["IMSG_REC_SYNC_BEGIN"],
                               {"instance": self.instance,
                                "sequence": self.seq})
            for sid, s in self.services.items():
                if not s["deleted"]:
                    self.rec.send_tree(IMSG["IMSG_REC_DESIRED"],
                                       self.desired(sid))
            self.rec.send_tree(IMSG["IMSG_REC_SYNC_END"], {
                "sequence": self.seq,
                "projects": [{"id": k, "slug": v}
                             for k, v in self.projects.items()]})

    def push(self, sid):
        with self.lock:
            self.rec.send_tree(IMSG["IMSG_REC_DESIRED"], self.desired(sid))

    def delete_service(self, sid):
        with self.lock:
            self.services[sid]["deleted"] = True
            self.push(sid)

    # reports, persisted as the master does
    def on_report(self, r):
        with self.lock:
            self.events.append((time.monotonic(), r.get("kind"), r))
            k = r.get("kind")
            sid = None
            if k in ("starting", "attempt-failed", "failed", "healthy"):
                s, d = self.dep(r["deployment_id"])
                if d is None:
                    return
                sid = s["id"]
                if k == "starting" and d["status"] == "pending":
                    d["status"] = "starting"
                elif k == "attempt-failed" and d["status"] in (
                        "pending", "starting"):
                    d["attempt_count"] += 1
                    if d["attempt_count"] >= 3:
                        self._fail(s, d, r["reason"], None, None)
                elif k == "failed" and d["status"] in ("pending",
                                                       "starting"):
                    self._fail(s, d, r["reason"], r.get("exit_code"),
                               r.get("log_tail"))
                elif k == "healthy" and d["status"] != "healthy" and \
                        d["status"] in ("pending", "starting"):
                    d["status"] = "healthy"
                    d["baseline_restart_count"] = \
                        r["baseline_restart_count"]
                    prev = s["active"]
                    if prev and prev != d["id"]:
                        _, p = self.dep(prev)
                        if p and p["status"] == "healthy":
                            p["status"] = "superseded"
                    s["active"] = d["id"]
                    self.events.append((time.monotonic(),
                                        "deployment.healthy", d["id"]))
                else:
                    return
            elif k == "service-status":
                s = self.services.get(r["service_id"])
                if s is None or s["status"] == r["status"]:
                    return
                s["status"] = r["status"]
                sid = s["id"]
            elif k == "containers":
                s = self.services.get(r["service_id"])
                if s is not None:
                    s["containers"] = r["containers"]
                return
            if sid is not None and self.auto_push:
                s = self.services[sid]
                if not s["deleted"]:
                    self.push(sid)

    def _fail(self, s, d, reason, exit_code, log_tail):
        d["status"] = "failed"
        d["failure_reason"] = reason
        d["exit_code"] = exit_code
        d["log_tail"] = log_tail[-10240:] if log_tail else None
        if not any(x["status"] == "healthy" for x in s["deployments"]):
            s["status"] = "failed"

    def count(self, kind, did=None):
        with self.lock:
            return sum(1 for e in self.events if e[1] == kind and
                       (did is None or (isinstance(e[2], dict) and
                                        e[2].get("deployment_id") == did) or
                        e[2] == did))
