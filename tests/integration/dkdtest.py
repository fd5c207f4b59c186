"""Shared helpers for the DeployKit integration tests.

Every test file runs real dkd processes from DKD_PREFIX (the meson install
tree, build/root by default) against the real dockerd, prints TAP and
cleans up after itself: each dkd is started in its own session so that the
master and its workers can be killed as one process group, and its temp
directory is removed, whether the test passed, failed or blew up.

Only the Python standard library is used.
"""

import atexit
import grp
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cheaders import c_enum, op_numbers  # noqa: E402

PREFIX = os.environ.get("DKD_PREFIX") or "/work/main/build/root"
SRCDIR = os.environ.get("DKD_SRCDIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
DKD = os.path.join(PREFIX, "sbin", "dkd")
DKCTL = os.path.join(PREFIX, "bin", "dkctl")
LIBEXEC = os.path.join(PREFIX, "libexec", "deploykit")
WWW = os.path.join(PREFIX, "share", "deploykit", "www")

# comm of each worker -> (role name in dkctl status, system user)
WORKERS = {
    "dkd-api": ("api", "_dkd_api"),
    "dkd-reconciler": ("reconciler", "_dkd_rec"),
    "dkd-logd": ("logd", "_dkd_log"),
}
ROLES = ("master", "api", "reconciler", "logd")
NOBODY = 65534
PASSWORD = "correct horse battery"      # default password of test users
ADMIN_EMAIL = "admin@example.test"      # the first admin, register_admin()


# ---------------------------------------------------------------- failures

class Failure(Exception):
    """A check failed; the message and the diag lines end up in TAP."""

    def __init__(self, msg, diag=()):
        super().__init__(msg)
        self.diag = list(diag)


class Skip(Exception):
    pass


def check(cond, msg, *diag):
    if not cond:
        raise Failure(msg, diag)
    return cond


def eq(got, want, what):
    if got != want:
        raise Failure("%s: expected %r, got %r" % (what, want, got))
    return got


def wait_until(pred, timeout, interval=0.05):
    """Poll pred until it returns something true or timeout seconds pass.
    Returns that value, or None on timeout.  OSError counts as false (a
    process may vanish while we look at it)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
        except (OSError, ValueError, http.client.HTTPException):
            v = None
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


# ------------------------------------------------------------------- /proc

def read_text(path):
    with open(path, "r", errors="replace") as f:
        return f.read()


def proc_status(pid):
    """/proc/PID/status as a dict of field -> raw value string."""
    out = {}
    for line in read_text("/proc/%d/status" % pid).splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def proc_comm(pid):
    try:
        return read_text("/proc/%d/comm" % pid).strip()
    except OSError:
        return None


def proc_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        st = read_text("/proc/%d/stat" % pid)
    except OSError:
        return False
    state = st[st.rfind(")") + 2:].split()[0]
    return state not in ("Z", "X")


def proc_children(pid):
    kids = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                kids += [int(x) for x in read_text(
                    "/proc/%d/task/%s/children" % (pid, tid)).split()]
            except OSError:
                pass
    except OSError:
        pass
    return kids


def proc_fds(pid):
    """fd number -> readlink target, for one process."""
    out = {}
    base = "/proc/%d/fd" % pid
    for fd in os.listdir(base):
        try:
            out[int(fd)] = os.readlink(os.path.join(base, fd))
        except OSError:
            pass
    return out


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def proc_ppid(pid):
    try:
        st = read_text("/proc/%d/stat" % pid)
    except OSError:
        return None
    return int(st[st.rfind(")") + 2:].split()[1])


def proc_pgid(pid):
    try:
        st = read_text("/proc/%d/stat" % pid)
    except OSError:
        return None
    return int(st[st.rfind(")") + 2:].split()[2])


def docker_gid():
    """The gid of group docker, as `getent group docker` reports it."""
    r = subprocess.run(["getent", "group", "docker"], capture_output=True,
                       text=True, timeout=10)
    if r.returncode != 0:
        return None
    return int(r.stdout.strip().split(":")[2])


def user_ids(name):
    pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid


# -------------------------------------------------------------------- HTTP

class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers      # http.client.HTTPMessage
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<HTTP %d %s, %d bytes: %r>" % (
            self.status, self.reason, len(self.body), self.body[:200])


def http_request(port, method, path, body=None, headers=None, timeout=10,
                 conn=None):
    """One request; path is sent exactly as given (no normalisation)."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason, r.headers, data)
    finally:
        if own:
            conn.close()


def http_get(port, path, **kw):
    return http_request(port, "GET", path, **kw)


def http_post(port, path, body=b"", **kw):
    return http_request(port, "POST", path, body=body, **kw)


def raw_http(port, data, timeout=10, after=None):
    """Send raw bytes (optionally more bytes after), read until the server
    closes or timeout.  Returns (status or None, raw reply bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        try:
            s.sendall(data)
            if after is not None:
                s.sendall(after)
        except OSError:
            pass    # the server may answer and close before we are done
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out += d
                if b"\r\n\r\n" in out and _complete(out):
                    break
        except OSError:
            pass
    finally:
        s.close()
    status = None
    if out.startswith(b"HTTP/1."):
        try:
            status = int(out.split(b" ", 2)[1])
        except (IndexError, ValueError):
            pass
    return status, out


def _complete(buf):
    head, _, body = buf.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            return len(body) >= int(v.strip())
    return False


# --------------------------------------------------------------------- dkd

_instances = []
_current_test = [0]      # index of the running test, for diagnostics


def purge_instance(instance, sock=None):
    """Remove the containers, networks and volumes labelled with a dkd's
    instance id (none of any other dkd's), on the machine's dockerd or
    the one at unix socket sock."""
    host = ["-H", "unix://" + sock] if sock else []

    def docker(*args):
        return subprocess.run(["docker"] + host + list(args),
                              capture_output=True, text=True,
                              timeout=120).stdout.split()
    f = "label=deploykit.instance=" + instance
    ids = docker("ps", "-aq", "--filter", f)
    if ids:
        docker("rm", "-f", "-v", *ids)
    for n in docker("network", "ls", "-q", "--filter", f):
        docker("network", "rm", n)
    vols = docker("volume", "ls", "-q", "--filter", f)
    if vols:
        docker("volume", "rm", "-f", *vols)


class Dkd:
    """One dkd with a fresh temp dir, config and free port.

    The temp dir is under /tmp with mode 0755 so that the workers can live
    in chroots below it (the log dir) and reach the control socket.
    """

    def __init__(self, name="dkd", keep=False, docker=False, **settings):
        """docker: talk to the machine's dockerd.  Without it the
        reconciler finds no Docker, so a test that creates projects
        leaves no networks behind (Docker's default address pools hold
        about thirty bridge networks, shared by every test)."""
        self.dir = tempfile.mkdtemp(prefix="dkdtest.%s." % name, dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.keep = keep
        self.port = free_port()
        self.sock = os.path.join(self.dir, "dkd.sock")
        self.db = os.path.join(self.dir, "db", "dkd.db")
        self.logdir = os.path.join(self.dir, "logs")
        self.conf = os.path.join(self.dir, "dkd.conf")
        self.logfile = os.path.join(self.dir, "dkd.stderr")
        self.settings = {
            "listen": "127.0.0.1:%d" % self.port,
            "database": self.db,
            "control-socket": self.sock,
            "www": WWW,
            "log-dir": self.logdir,
        }
        if not docker:
            self.settings["docker-socket"] = os.path.join(self.dir,
                                                          "no-docker.sock")
        for k, v in settings.items():
            self.settings[k.replace("_", "-")] = v
        # On the machine's dockerd: what it made goes at cleanup.
        self.docker = docker and "docker_socket" not in settings
        self.proc = None
        self.rc = None
        self.seen = set()
        self.extra_pids = set()
        self.cleaned = False
        self.used_in = _current_test[0]
        self.write_conf()
        _instances.append(self)

    # configuration
    def conf_text(self, extra_lines=(), **over):
        s = dict(self.settings)
        for k, v in over.items():
            s[k.replace("_", "-")] = v
        lines = ["# written by tests/integration/dkdtest.py"]
        for k, v in s.items():
            if v is not None:
                lines.append('%s "%s"' % (k, v))
        lines += list(extra_lines)
        return "\n".join(lines) + "\n"

    def write_conf(self, text=None, path=None, **over):
        path = path or self.conf
        with open(path, "w") as f:
            f.write(text if text is not None else self.conf_text(**over))
        return path

    # life cycle
    def start(self, args=(), wrap=None, wait=True, env=None, timeout=15):
        cmd = [DKD, "-d", "-f", self.conf] + list(args)
        if wrap is not None:
            cmd = wrap(cmd)
        logf = open(self.logfile, "ab")
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf,
                                         start_new_session=True, env=env)
        finally:
            logf.close()
        self.pid = self.proc.pid
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15):
        """Health answers 200 and dkctl shows all four processes running."""
        def ready():
            if self.proc.poll() is not None:
                raise Failure("dkd exited with status %s during start"
                              % self.proc.returncode, self.log_tail())
            if self.health_status(timeout=2) != 200:
                return False
            st = self.status_json()
            return st is not None and all(
                p["state"] == "running" and p["pid"] > 0
                for p in st["processes"]) and len(self.workers()) == 3
        if not wait_until(ready, timeout, 0.1):
            raise Failure("dkd did not become ready within %ds" % timeout,
                          self.log_tail())
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout):
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.rc

    def signal(self, sig):
        self.used_in = _current_test[0]
        os.kill(self.pid, sig)

    def stop(self, timeout=8):
        """SIGTERM and wait; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        return self.wait_exit(timeout)

    def cleanup(self):
        if self.cleaned:
            return
        self.cleaned = True
        if self.proc is not None:
            self.workers()   # remember the current pids, too
            if self.proc.poll() is None:
                try:
                    self.signal(signal.SIGTERM)
                    self.proc.wait(6)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
            # The whole session: master, workers, an unshare wrapper.
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            for pid in self.seen | self.extra_pids:
                if proc_comm(pid) in WORKERS or proc_comm(pid) == "dkd":
                    if proc_pgid(pid) == self.pid or pid in self.extra_pids:
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except OSError:
                            pass
        if self.docker:
            self.remove_docker_objects()
        shutil.rmtree(self.dir, ignore_errors=True)

    def remove_docker_objects(self):
        """What this dkd's instance made on the machine's dockerd."""
        try:
            con = sqlite3.connect(self.db, timeout=5)
            row = con.execute("SELECT value FROM system_settings WHERE "
                              "key = 'instance_id'").fetchone()
            con.close()
        except sqlite3.Error:
            return
        if row is not None:
            purge_instance(row[0])

    # processes
    def workers(self):
        """comm -> pid of the master's current children."""
        self.used_in = _current_test[0]
        out = {}
        if self.proc is None:
            return out
        kids = proc_children(self.pid)
        if len(kids) < len(WORKERS):
            # .../children is documented as unreliable for running tasks;
            # fall back to the parent links of every process.
            kids = set(kids) | {p for p in all_pids()
                                if proc_ppid(p) == self.pid}
        for kid in kids:
            c = proc_comm(kid)
            if c is not None and proc_alive(kid):
                out[c] = kid
                self.seen.add(kid)
        return out

    def worker(self, comm):
        return self.workers().get(comm)

    # log
    def log(self):
        self.used_in = _current_test[0]
        try:
            with open(self.logfile, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, n=25):
        lines = self.log().splitlines()[-n:]
        return ["dkd log (%s), last %d lines:" % (self.logfile, len(lines))] \
            + ["  " + l for l in lines]

    def log_since(self, offset):
        return self.log()[offset:]

    def log_size(self):
        return len(self.log())

    def wait_log(self, text, timeout, offset=0):
        return wait_until(lambda: text in self.log_since(offset), timeout)

    # HTTP
    def http(self, method, path, **kw):
        self.used_in = _current_test[0]
        return http_request(self.port, method, path, **kw)

    def get(self, path, **kw):
        self.used_in = _current_test[0]
        return http_get(self.port, path, **kw)

    def health_status(self, timeout=5):
        try:
            return self.get("/api/health", timeout=timeout).status
        except (OSError, http.client.HTTPException):
            return None

    # dkctl
    def dkctl(self, *args, as_user=None, timeout=15, input=None):
        self.used_in = _current_test[0]
        return run_dkctl(self.sock, *args, as_user=as_user, timeout=timeout,
                         input=input)

    def status_json(self):
        r = self.dkctl("-j", "status")
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def status_of(self, role):
        st = self.status_json()
        for p in st["processes"]:
            if p["name"] == role:
                return p
        return None

    # JSON API (see the "API helpers" section below)
    def api(self, method, path, obj=None, token=None, body=None,
            headers=None, timeout=10):
        """One API request.  obj is sent as JSON; body as raw bytes;
        token as "Authorization: Bearer token"."""
        self.used_in = _current_test[0]
        h = {}
        if obj is not None:
            body = json.dumps(obj).encode("utf-8")
        if body is not None:
            h["Content-Type"] = "application/json"
        if token is not None:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        return http_request(self.port, method, path, body=body, headers=h,
                            timeout=timeout)

    def setup_token(self):
        """The first-run setup token, from `dkctl setup-token`."""
        r = self.dkctl("setup-token")
        if r.returncode != 0:
            raise Failure("dkctl setup-token failed (exit %d): %r"
                          % (r.returncode, r.stderr))
        return r.stdout.splitlines()[0].strip()

    def register_admin(self, email=ADMIN_EMAIL, name="Admin",
                       password=PASSWORD):
        """Create the first admin through POST /api/auth/register with the
        setup token; -> (user, tokens)."""
        r = self.api("POST", "/api/auth/register",
                     {"email": email, "name": name, "password": password,
                      "setup_token": self.setup_token()})
        j = expect_json(r, 201, "POST /api/auth/register (first admin)")
        return j["user"], j["tokens"]

    def login(self, email, password=PASSWORD, headers=None):
        """POST /api/auth/login that must succeed; -> the token dict."""
        r = self.api("POST", "/api/auth/login",
                     {"email": email, "password": password}, headers=headers)
        return expect_json(r, 200, "POST /api/auth/login as %s" % email)

    def create_user(self, token, email, name="User", password=PASSWORD,
                    role=None):
        """POST /api/users that must succeed; -> the User."""
        o = {"email": email, "name": name, "password": password}
        if role is not None:
            o["role"] = role
        r = self.api("POST", "/api/users", o, token=token)
        return expect_json(r, 201, "POST /api/users %s" % email)

    def db_files(self):
        """The raw bytes of the database file and its WAL and shm files."""
        out = {}
        for suffix in ("", "-wal", "-shm"):
            try:
                with open(self.db + suffix, "rb") as f:
                    out[os.path.basename(self.db + suffix)] = f.read()
            except FileNotFoundError:
                pass
        return out

    def db_query(self, sql, args=()):
        """Run one statement on the live database with python's sqlite3
        (WAL mode lets us read while dkd runs); -> list of rows."""
        import sqlite3
        c = sqlite3.connect(self.db, timeout=10)
        try:
            c.execute("PRAGMA foreign_keys=ON")
            rows = c.execute(sql, args).fetchall()
            c.commit()
            return rows
        finally:
            c.close()


# ------------------------------------------------------- imsg and wire

IMSG = c_enum(os.path.join(SRCDIR, "common", "dkd_imsg.h"), "imsg_type")
OPS = op_numbers(os.path.join(SRCDIR, "common"))
IMSG_HEADER = struct.Struct("<IIII")     # type, len, peerid, pid
IMSG_FD_MARK = 0x80000000


def imsg_pack(itype, payload=b"", peerid=0, pid=0):
    return IMSG_HEADER.pack(itype, IMSG_HEADER.size + len(payload), peerid,
                            pid) + payload


def w_u8(v):
    return struct.pack("<B", v)


def w_u32(v):
    return struct.pack("<I", v)


def w_i64(v):
    return struct.pack("<q", v)


def w_str(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return w_u32(len(b)) + b


# ------------------------------------------------------- value trees

T_NULL, T_FALSE, T_TRUE, T_INT, T_DOUBLE, T_STR, T_MAP, T_ARRAY, T_END = \
    range(1, 10)


def tree(v):
    """A Python value as a value tree (common/tree.h)."""
    if v is None:
        return bytes([T_NULL])
    if v is True:
        return bytes([T_TRUE])
    if v is False:
        return bytes([T_FALSE])
    if isinstance(v, int):
        return bytes([T_INT]) + struct.pack("<q", v)
    if isinstance(v, float):
        return bytes([T_DOUBLE]) + struct.pack("<d", v)
    if isinstance(v, str):
        b = v.encode()
        return bytes([T_STR]) + struct.pack("<I", len(b)) + b
    if isinstance(v, dict):
        return bytes([T_MAP]) + b"".join(tree(k) + tree(x)
                                         for k, x in v.items()) + \
            bytes([T_END])
    if isinstance(v, (list, tuple)):
        return bytes([T_ARRAY]) + b"".join(tree(x) for x in v) + \
            bytes([T_END])
    raise TypeError(v)


def untree(b, off=0):
    """A value tree -> (Python value, offset after it)."""
    tag = b[off]
    off += 1
    if tag == T_NULL:
        return None, off
    if tag in (T_TRUE, T_FALSE):
        return tag == T_TRUE, off
    if tag == T_INT:
        return struct.unpack_from("<q", b, off)[0], off + 8
    if tag == T_DOUBLE:
        return struct.unpack_from("<d", b, off)[0], off + 8
    if tag == T_STR:
        n = struct.unpack_from("<I", b, off)[0]
        return b[off + 4:off + 4 + n].decode(), off + 4 + n
    if tag in (T_MAP, T_ARRAY):
        items = []
        while b[off] != T_END:
            v, off = untree(b, off)
            items.append(v)
        off += 1
        if tag == T_ARRAY:
            return items, off
        return dict(zip(items[0::2], items[1::2])), off
    raise ValueError("bad tag %d at %d" % (tag, off - 1))


def untree_all(b):
    v, off = untree(b)
    if off != len(b):
        raise ValueError("trailing bytes")
    return v


class ImsgReader:
    """Whole messages from a stream socket: (type, peerid, payload)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def get(self, timeout=10):
        """The next message, or None when the peer closed."""
        self.sock.settimeout(timeout)
        while True:
            if len(self.buf) >= IMSG_HEADER.size:
                t, ln, peer, _ = IMSG_HEADER.unpack_from(self.buf)
                ln &= ~IMSG_FD_MARK
                if len(self.buf) >= ln:
                    msg = (t, peer, self.buf[IMSG_HEADER.size:ln])
                    self.buf = self.buf[ln:]
                    return msg
            d = self.sock.recv(65536)
            if not d:
                return None
            self.buf += d


def ctl_connect(path, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


CTL_VERSION = 1


def ctl_request(op, *fields):
    """IMSG_CTL_REQUEST for op (a name of OPS) with fields, each None
    (absent) or already encoded bytes."""
    body = w_u32(OPS[op])
    for f in fields:
        body += w_u8(0) if f is None else w_u8(1) + f
    return imsg_pack(IMSG["IMSG_CTL_REQUEST"], body, peerid=CTL_VERSION)


# ------------------------------------------------------------- API helpers

RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}"
                     r"-[0-9a-f]{12}$")
USER_KEYS = {"id", "email", "name", "role", "created_at", "updated_at"}


def parse_time(s):
    """An RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" string as epoch seconds."""
    import calendar
    check(isinstance(s, str) and RFC3339_RE.match(s),
          "not an RFC 3339 UTC time: %r" % (s,))
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def response_json(r, what):
    """The body of r as JSON, with Content-Type application/json."""
    ct = (r.header("Content-Type") or "").split(";")[0].strip().lower()
    check(ct == "application/json", "%s: Content-Type %r, expected "
          "application/json (%r)" % (what, ct, r))
    try:
        return r.json()
    except ValueError as e:
        raise Failure("%s: body is not JSON (%s): %r" % (what, e, r.body))


def expect_json(r, status, what):
    """Status must be status; -> the JSON body."""
    if r.status != status:
        raise Failure("%s: expected HTTP %d, got %d: %r"
                      % (what, status, r.status, r.body[:500]))
    return response_json(r, what)


def expect_empty(r, status, what):
    if r.status != status:
        raise Failure("%s: expected HTTP %d, got %d: %r"
                      % (what, status, r.status, r.body[:500]))
    eq(r.body, b"", "%s: body" % what)


def expect_error(r, status, code, message=None, what="", prefix=None,
                 contains=None):
    """The error envelope {"error": code, "message": msg}, exactly those
    two keys.  message must be equal, or start with prefix, or contain
    contains (case-insensitive).  -> the JSON."""
    j = expect_json(r, status, what)
    check(isinstance(j, dict), "%s: error body is not an object: %r"
          % (what, j))
    eq(sorted(j), ["error", "message"], "%s: keys of the error envelope "
       "%r" % (what, j))
    eq(j["error"], code, "%s: error code" % what)
    check(isinstance(j["message"], str) and j["message"],
          "%s: empty message: %r" % (what, j))
    if message is not None:
        eq(j["message"], message, "%s: message" % what)
    if prefix is not None:
        check(j["message"].startswith(prefix), "%s: message %r does not "
              "start with %r" % (what, j["message"], prefix))
    if contains is not None:
        check(contains.lower() in j["message"].lower(), "%s: message %r "
              "does not mention %r" % (what, j["message"], contains))
    return j


def expect_validation(r, what, fields, exact=True):
    """422 {"error":"invalid","message":"Validation failed.",
    "errors":{field:[msg,...]}}.  fields: field -> None (any message) or
    a message that must be among that field's messages.  exact: no other
    fields may be reported.  -> the errors dict."""
    j = expect_json(r, 422, what)
    eq(sorted(j) if isinstance(j, dict) else j,
       ["error", "errors", "message"], "%s: keys of the 422 body" % what)
    eq(j["error"], "invalid", "%s: error code" % what)
    eq(j["message"], "Validation failed.", "%s: message" % what)
    errs = j["errors"]
    check(isinstance(errs, dict), "%s: errors is not an object: %r"
          % (what, errs))
    for f, msgs in errs.items():
        check(isinstance(msgs, list) and msgs and
              all(isinstance(m, str) and m for m in msgs),
              "%s: errors[%r] is not a list of messages: %r" % (what, f, msgs))
    if exact:
        eq(sorted(errs), sorted(fields), "%s: fields with errors (%r)"
           % (what, errs))
    for f, msg in fields.items():
        check(f in errs, "%s: no error for field %r: %r" % (what, f, errs))
        if msg is not None:
            check(msg in errs[f], "%s: errors[%r] = %r lacks %r"
                  % (what, f, errs[f], msg))
    return errs


def check_user(u, what, email=None, name=None, role=None, id=None):
    """A User object: exactly id, email, name, role, created_at,
    updated_at (never a password or hash)."""
    check(isinstance(u, dict), "%s: not an object: %r" % (what, u))
    eq(set(u), USER_KEYS, "%s: keys of the User" % what)
    check(isinstance(u["id"], str) and UUID_RE.match(u["id"]),
          "%s: id %r is not a UUID v4" % (what, u["id"]))
    for k in ("created_at", "updated_at"):
        check(isinstance(u[k], str) and RFC3339_RE.match(u[k]),
              "%s: %s %r is not RFC 3339 YYYY-MM-DDTHH:MM:SSZ"
              % (what, k, u[k]))
    for k, v in (("email", email), ("name", name), ("role", role),
                 ("id", id)):
        if v is not None:
            eq(u[k], v, "%s: %s" % (what, k))
    return u


def check_tokens(t, what):
    """AuthTokens: exactly access_token, refresh_token (43-char base64url)
    and expires_at about 15 minutes ahead."""
    check(isinstance(t, dict), "%s: tokens not an object: %r" % (what, t))
    eq(sorted(t), ["access_token", "expires_at", "refresh_token"],
       "%s: keys of the tokens" % what)
    for k in ("access_token", "refresh_token"):
        check(isinstance(t[k], str) and TOKEN_RE.match(t[k]),
              "%s: %s %r is not 43 chars of base64url" % (what, k, t[k]))
    check(t["access_token"] != t["refresh_token"],
          "%s: access and refresh token are the same" % what)
    left = parse_time(t["expires_at"]) - time.time()
    check(15 * 60 - 90 <= left <= 15 * 60 + 90, "%s: expires_at %r is %.0f "
          "s ahead, expected 900" % (what, t["expires_at"], left))
    return t


def check_page(j, what, offset, limit, total=None):
    """A paginated list envelope; -> the data list."""
    check(isinstance(j, dict), "%s: not an object: %r" % (what, j))
    eq(sorted(j), ["data", "limit", "offset", "total_count"],
       "%s: keys of the page" % what)
    check(isinstance(j["data"], list), "%s: data is not a list" % what)
    eq(j["offset"], offset, "%s: offset" % what)
    eq(j["limit"], limit, "%s: limit" % what)
    check(isinstance(j["total_count"], int) and
          not isinstance(j["total_count"], bool),
          "%s: total_count is not an integer: %r" % (what, j["total_count"]))
    if total is not None:
        eq(j["total_count"], total, "%s: total_count" % what)
    return j["data"]


class EventStream:
    """`dkctl -j events [PROJECT]` against dkd d in the background: a
    thread hands each line to self.line(); set what it uses first."""

    def __init__(self, d, project=None):
        args = [DKCTL, "-j", "-s", d.sock, "events"]
        if project:
            args.append(project)
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL,
                                  stdin=subprocess.DEVNULL, text=True)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        time.sleep(0.3)         # subscribed before anything happens

    def _read(self):
        for line in self.p.stdout:
            self.line(line)

    def line(self, line):
        raise NotImplementedError

    def close(self):
        try:
            self.p.terminate()
            self.p.wait(5)
        except Exception:
            self.p.kill()


def run_dkctl(sock, *args, as_user=None, timeout=15, input=None):
    """dkctl -s sock args...; as_user runs it as that uid/gid with no
    supplementary groups (through setpriv).  input, if given, is written
    to its standard input (a pipe, not a tty); otherwise stdin is
    /dev/null."""
    opts = [a for a in args if a == "-j"]
    rest = [a for a in args if a != "-j"]
    cmd = [DKCTL] + opts + ["-s", sock] + rest
    if as_user is not None:
        cmd = ["setpriv", "--reuid=%d" % as_user, "--regid=%d" % as_user,
               "--clear-groups", "--"] + cmd
    if input is not None:
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, input=input)
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def parse_status_table(text):
    """The `dkctl status` table as a dict:
    {"procs": {name: {pid, uptime, restarts, state}}, "database": {...},
     "docker": {...}, "reconciler": {...}}"""
    out = {"procs": {}, "database": {}, "docker": {}, "reconciler": {}}
    section = None
    for line in text.splitlines():
        if not line.strip():
            continue
        f = line.split()
        if f[0] == "PROCESS":
            section = "procs"
            continue
        if f[0] == "DATABASE":
            section = "database"
            out["database"]["path"] = " ".join(f[1:])
            continue
        if f[0] == "DOCKER":
            section = "docker"
            out["docker"]["state"] = " ".join(f[1:])
            continue
        if f[0] == "RECONCILER":
            section = "reconciler"
            out["reconciler"]["state"] = " ".join(f[1:])
            continue
        if section == "procs" and len(f) >= 5:
            out["procs"][f[0]] = {"pid": f[1], "uptime": f[2],
                                  "restarts": f[3], "state": " ".join(f[4:])}
        elif section in ("database", "docker", "reconciler") and \
                line.startswith("  "):
            out[section][f[0]] = " ".join(f[1:])
    return out


def cleanup_all(keep_shared=False):
    for d in list(_instances):
        if keep_shared and d.keep:
            continue
        try:
            d.cleanup()
        except Exception:
            pass
        if d in _instances:
            _instances.remove(d)


atexit.register(cleanup_all)


def _on_signal(sig, frame):
    # meson's timeout, ^C: unwind so that finally blocks and atexit run.
    raise SystemExit(128 + sig)


for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


# --------------------------------------------------------------------- TAP

def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def diag(*lines):
    for l in lines:
        for sub in str(l).splitlines() or [""]:
            out("# " + sub)


def run_tests(tests):
    """tests: list of (name, function).  One TAP line per function: it
    passes if it returns, fails on Failure or any other exception, and is
    skipped on Skip.  Instances created by a test are cleaned up after it
    unless created with keep=True (shared by later tests; cleaned at the
    end).  Exits 1 if anything failed."""
    if os.geteuid() != 0:
        out("1..0 # SKIP dkd must be started as root")
        sys.exit(0)
    for path in (DKD, DKCTL):
        if not os.access(path, os.X_OK):
            out("1..0 # SKIP %s is missing; run make build" % path)
            sys.exit(0)
    out("1..%d" % len(tests))
    failed = 0
    try:
        for i, (name, fn) in enumerate(tests, 1):
            before = len(_instances)
            _current_test[0] = i
            t0 = time.monotonic()
            try:
                fn()
                out("ok %d - %s" % (i, name))
            except Skip as e:
                out("ok %d - %s # SKIP %s" % (i, name, e))
            except Failure as e:
                failed += 1
                out("not ok %d - %s" % (i, name))
                diag(str(e), *e.diag)
                for d in _instances:
                    if d.used_in == i:
                        diag(*d.log_tail())
            except Exception:
                failed += 1
                out("not ok %d - %s" % (i, name))
                diag(traceback.format_exc())
                for d in _instances:
                    if d.used_in == i:
                        diag(*d.log_tail())
            finally:
                diag("(%.1fs)" % (time.monotonic() - t0))
                for d in list(_instances[before:]):
                    if not d.keep:
                        d.cleanup()
                        _instances.remove(d)
    finally:
        cleanup_all()
    sys.exit(1 if failed else 0)
