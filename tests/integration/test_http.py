#!/usr/bin/env python3
"""The HTTP face of dkd-api: the API's JSON answers and CORS, the static
files and SPA fallback, dotfiles, path traversal, conditional requests,
Content-Type of request bodies, the body and header limits, many
concurrent keep-alive clients, slow clients and the idle timeout.  One dkd
serves all checks, from a copy of the web UI in its own directory."""

import http.client
import json
import os
import select
import shutil
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (WWW, Dkd, check, eq, http_request, proc_fds, raw_http,
                     run_tests, wait_until)

ORIGIN = "https://ui.example.test"
HEALTH_BODY = b'{"status":"ok"}'
# Markers in files no request may ever return (see test_traversal).
OUTSIDE = b"dkdtest outside www: a traversal escaped the web root\n"
INSIDE = b"dkdtest decoy at the www root: '..' reached the filesystem\n"
DOTFILE = b"dkdtest dotfile: never served\n"
DOTFILES = (".env", ".hidden.js", "assets/.git/config",
            ".well-known/security.txt", ".git/HEAD")
_d = None


def dkd():
    """One dkd for the whole file, serving a copy of the installed web UI
    from DIR/www, with DIR/secret.txt beside it (outside the web root),
    the decoy www/secret.txt and some dotfiles."""
    global _d
    if _d is None:
        d = Dkd("http", keep=True, cors_origin=ORIGIN)
        www = os.path.join(d.dir, "www")
        shutil.copytree(WWW, www)
        with open(os.path.join(d.dir, "secret.txt"), "wb") as f:
            f.write(OUTSIDE)
        with open(os.path.join(www, "secret.txt"), "wb") as f:
            f.write(INSIDE)
        for name in DOTFILES:
            path = os.path.join(www, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(DOTFILE)
        d.settings["www"] = www
        d.write_conf()
        _d = d.start()
        _d.api_pid = _d.worker("dkd-api")
    return _d


def index_html():
    with open(os.path.join(WWW, "index.html"), "rb") as f:
        return f.read()


def content_type(r):
    return (r.header("Content-Type") or "").split(";")[0].strip().lower()


def still_serving(d, what):
    r = d.get("/api/health")
    eq(r.status, 200, "GET /api/health after %s" % what)
    eq(r.body, HEALTH_BODY, "health body after %s" % what)
    eq(d.worker("dkd-api"), d.api_pid, "dkd-api pid after %s (it died or "
       "was restarted)" % what)


def test_health():
    d = dkd()
    r = d.get("/api/health")
    eq(r.status, 200, "GET /api/health status")
    eq(r.body, HEALTH_BODY, "GET /api/health body")
    eq(content_type(r), "application/json", "Content-Type")
    r = d.http("HEAD", "/api/health")
    eq(r.status, 200, "HEAD /api/health status")


def test_api_404():
    d = dkd()
    for path in ("/api/nope", "/api/health/x", "/api"):
        r = d.get(path)
        eq(r.status, 404, "GET %s status" % path)
        eq(content_type(r), "application/json", "GET %s Content-Type" % path)
        eq(r.json(), {"error": "not_found", "message": "Not found."},
           "GET %s body" % path)


def test_api_405():
    d = dkd()
    for method in ("POST", "DELETE", "PUT"):
        r = d.http(method, "/api/health", body=b"")
        eq(r.status, 405, "%s /api/health status" % method)
        eq(content_type(r), "application/json", "%s Content-Type" % method)
        j = r.json()
        check(isinstance(j, dict) and isinstance(j.get("error"), str) and
              isinstance(j.get("message"), str),
              "%s /api/health body is not the error envelope: %r"
              % (method, r.body))
        eq(j["error"], "invalid", "%s /api/health error code" % method)


def test_options():
    d = dkd()
    r = d.http("OPTIONS", "/api/health",
               headers={"Origin": ORIGIN,
                        "Access-Control-Request-Method": "POST"})
    eq(r.status, 204, "OPTIONS /api/health status")
    eq(r.body, b"", "OPTIONS body")
    eq(r.header("Access-Control-Allow-Origin"), ORIGIN,
       "Access-Control-Allow-Origin (cors-origin)")
    methods = [m.strip() for m in
               (r.header("Access-Control-Allow-Methods") or "").split(",")]
    for m in ("GET", "POST", "DELETE", "OPTIONS"):
        check(m in methods, "Access-Control-Allow-Methods %r lacks %s"
              % (methods, m))
    allowed = (r.header("Access-Control-Allow-Headers") or "").lower()
    for h in ("authorization", "content-type"):
        check(h in allowed, "Access-Control-Allow-Headers %r lacks %s"
              % (allowed, h))
    r = d.get("/api/health")
    eq(r.header("Access-Control-Allow-Origin"), ORIGIN,
       "Access-Control-Allow-Origin on GET /api/health")


def test_index():
    d = dkd()
    r = d.get("/")
    eq(r.status, 200, "GET / status")
    eq(content_type(r), "text/html", "GET / Content-Type")
    eq(r.body, index_html(), "GET / body (index.html)")
    r = d.get("/index.html")
    eq(r.status, 200, "GET /index.html status")
    eq(r.body, index_html(), "GET /index.html body")


def test_spa_fallback():
    d = dkd()
    for path in ("/projects/123", "/projects", "/settings/users/7/edit"):
        r = d.get(path)
        eq(r.status, 200, "GET %s status" % path)
        eq(content_type(r), "text/html", "GET %s Content-Type" % path)
        eq(r.body, index_html(), "GET %s body (index.html)" % path)


def test_missing_asset():
    d = dkd()
    for path in ("/assets/missing.js", "/missing.css", "/favicon.ico"):
        if os.path.exists(os.path.join(WWW, path.lstrip("/"))):
            continue
        r = d.get(path)
        eq(r.status, 404, "GET %s status" % path)
        check(r.body != index_html(), "GET %s served index.html" % path)


def test_traversal():
    """No path that climbs with "..", however it is spelled, reaches the
    file system.  dkd-api is chrooted into www in a normal build, so a
    file outside www (DIR/secret.txt, OUTSIDE) cannot leak there even if
    the path check were gone: inside the chroot "/.." is "/".  That makes
    the decoy www/secret.txt (INSIDE) what a climbing path would reach,
    so seeing it means ".." got through to open().  In a build without
    the sandbox (the ASan build) the same paths would reach OUTSIDE
    instead.  Either marker in a reply fails the test in either build."""
    d = dkd()
    r = d.get("/secret.txt")
    eq((r.status, r.body), (200, INSIDE), "GET /secret.txt (the decoy must "
       "be servable for this test to mean anything)")
    leaks = []
    for path in ("/../secret.txt", "/%2e%2e/secret.txt",
                 "/%2E%2E/secret.txt", "/.%2e/secret.txt",
                 "/%2e./secret.txt", "/..%2fsecret.txt",
                 "/%2e%2e%2fsecret.txt", "/assets/../secret.txt",
                 "/assets/..%2fsecret.txt", "/assets/%2e%2e/secret.txt",
                 "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
                 "/assets/../../secret.txt", "//../secret.txt",
                 "/assets//..//..//secret.txt", "/x/../../secret.txt",
                 "/%2e%2e/etc/passwd", "/../etc/passwd",
                 "/assets/../../etc/passwd", "/./index.html",
                 "/assets/../index.html", "/assets/%2e%2e/index.html"):
        r = d.get(path)
        if OUTSIDE in r.body or INSIDE in r.body or b"root:" in r.body:
            leaks.append("%s -> %d %r" % (path, r.status, r.body[:80]))
        elif r.status != 400:
            leaks.append("%s -> %d, expected 400" % (path, r.status))
    for path in ("/..%5csecret.txt", "/assets\\..\\secret.txt",
                 "/%252e%252e/secret.txt", "/..%00/secret.txt"):
        r = d.get(path)
        if OUTSIDE in r.body or INSIDE in r.body:
            leaks.append("%s -> %d %r" % (path, r.status, r.body[:80]))
        elif r.status not in (400, 404):
            leaks.append("%s -> %d, expected 400 or 404" % (path, r.status))
    check(not leaks, "traversal: %s" % "; ".join(leaks))
    still_serving(d, "traversal attempts")


def test_dotfiles():
    d = dkd()
    bad = []
    for name in DOTFILES:
        check(os.path.exists(os.path.join(d.settings["www"], name)),
              "dotfile %s missing from the test's www" % name)
    for path in ["/" + n for n in DOTFILES] + [
            "/%2eenv", "/assets/%2Egit/config", "/.env/", "/.git",
            "/.well-known", "/.well-known/", "/.nope", "/.well-known/nope",
            "/assets/.git/nope"]:
        r = d.get(path)
        if r.status != 404 or DOTFILE in r.body or r.body == index_html():
            bad.append("%s -> %d %r" % (path, r.status, r.body[:60]))
    check(not bad, "dotfiles: %s" % "; ".join(bad))


def test_content_type():
    d = dkd()
    login = json.dumps({"email": "nobody@example.test",
                        "password": "wrong password"}).encode()
    form = b"email=nobody%40example.test&password=wrong+password"
    for ct, body in (("application/x-www-form-urlencoded", form),
                     ("multipart/form-data; boundary=x",
                      b"--x\r\nContent-Disposition: form-data; "
                      b"name=\"email\"\r\n\r\na\r\n--x--\r\n"),
                     ("text/plain", login),
                     ("text/plain;charset=utf-8", login),
                     ("application/jsonx", login),
                     ("application/json-patch+json", login),
                     ("", login), (None, login)):
        h = {} if ct is None else {"Content-Type": ct}
        r = d.http("POST", "/api/auth/login", body=body, headers=h)
        eq(r.status, 415, "POST /api/auth/login with Content-Type %r" % ct)
        eq(content_type(r), "application/json", "415 Content-Type")
        eq(r.json(), {"error": "invalid", "message":
                      "Content-Type must be application/json."},
           "415 body for Content-Type %r" % ct)
    for ct in ("application/json", "application/json; charset=utf-8",
               "Application/JSON;charset=UTF-8", " application/json ;x=y"):
        r = d.http("POST", "/api/auth/login", body=login,
                   headers={"Content-Type": ct})
        eq(r.status, 401, "POST /api/auth/login, wrong password, "
           "Content-Type %r (%r)" % (ct, r))
    # no body, no Content-Type needed
    r = d.http("POST", "/api/auth/logout", body=b"")
    check(r.status != 415, "POST /api/auth/logout without a body: 415")
    eq(r.status, 401, "POST /api/auth/logout without a token or body")
    still_serving(d, "bodies of the wrong type")


def test_etag():
    d = dkd()
    r = d.get("/")
    etag = r.header("ETag")
    check(etag, "GET / has no ETag")
    r2 = d.get("/", headers={"If-None-Match": etag})
    eq(r2.status, 304, "GET / with If-None-Match: %s" % etag)
    eq(r2.body, b"", "304 body")
    r3 = d.get("/", headers={"If-None-Match": '"not-the-etag"'})
    eq(r3.status, 200, "GET / with a stale If-None-Match")
    eq(r3.body, index_html(), "body with a stale If-None-Match")


def test_body_limit():
    d = dkd()
    size = 2 * 1024 * 1024
    head = ("POST /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % size).encode()
    status, reply = raw_http(d.port, head, timeout=15, after=b"a" * size)
    eq(status, 413, "POST of 2 MiB to /api/health (reply %r)" % reply[:200])
    # the same with the body announced in chunks, no Content-Length
    chunk = b"a" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk)
                    for _ in range(size // len(chunk))) + b"0\r\n\r\n"
    head = (b"POST /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    status, reply = raw_http(d.port, head, timeout=15, after=body)
    eq(status, 413, "chunked POST of 2 MiB (reply %r)" % reply[:200])
    still_serving(d, "oversized bodies")


def test_header_limit():
    d = dkd()
    one = (b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " +
           b"a" * (17 * 1024) + b"\r\n\r\n")
    many = (b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
            b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 100) for i in range(200))
            + b"\r\n")
    for what, req in (("one 17 KiB header", one), ("200 headers, 21 KiB",
                                                    many)):
        status, reply = raw_http(d.port, req, timeout=15)
        check(status in (400, 413, 431), "%s: expected 400/413/431, got %s "
              "(%r)" % (what, status, reply[:120]))
    still_serving(d, "oversized headers")


def count_fds(pid):
    return len(proc_fds(pid))


def conn_fds(pid, port):
    """How many of pid's fds are TCP connections (not the listener) on
    port, by socket inode from /proc/PID/net/tcp{,6}."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, table)) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] != "0A":
                inodes.add("socket:[%s]" % f[9])
    return sum(1 for link in proc_fds(pid).values() if link in inodes)


def test_concurrent():
    d = dkd()
    api = d.worker("dkd-api")
    check(wait_until(lambda: conn_fds(api, d.port) == 0, 5),
          "dkd-api still holds %d client connections before the test"
          % conn_fds(api, d.port))
    base_fds = count_fds(api)
    base_tasks = len(os.listdir("/proc/%d/task" % api))
    n = 200
    connected = threading.Barrier(n + 1, timeout=60)
    release = threading.Barrier(n + 1, timeout=60)
    errors = []
    done = []

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
        try:
            local = None
            for rnd in range(3):
                r = http_request(d.port, "GET", "/api/health", conn=conn)
                if r.status != 200 or r.body != HEALTH_BODY:
                    errors.append("client %d round %d: %r" % (i, rnd, r))
                    break
                name = conn.sock.getsockname() if conn.sock else None
                if local is None:
                    local = name
                elif name != local:
                    errors.append("client %d: connection not kept alive "
                                  "(%s then %s)" % (i, local, name))
                    break
                if rnd == 0:
                    connected.wait()
                    release.wait()
            else:
                done.append(i)
        except Exception as e:
            errors.append("client %d: %r" % (i, e))
            connected.abort()
            release.abort()
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True)
               for i in range(n)]
    for t in threads:
        t.start()
    peak = None
    try:
        connected.wait()
        peak = conn_fds(api, d.port)
        release.wait()
    except threading.BrokenBarrierError:
        pass
    for t in threads:
        t.join(60)
    check(not errors, "%d of %d clients failed: %s"
          % (len(errors), n, errors[:5]))
    eq(len(done), n, "clients that finished 3 keep-alive requests")
    check(peak is not None and peak >= n,
          "dkd-api held %s client connections with %d clients connected: "
          "they were not concurrent" % (peak, n))
    eq(d.worker("dkd-api"), api, "dkd-api pid after the load")
    back = wait_until(lambda: conn_fds(api, d.port) == 0 and
                      count_fds(api) == base_fds, 5)
    check(back, "dkd-api fds did not return to the baseline %d after the "
          "clients left: %d fds, %d of them client connections"
          % (base_fds, count_fds(api), conn_fds(api, d.port)))
    eq(len(os.listdir("/proc/%d/task" % api)), base_tasks,
       "dkd-api thread count")
    eq(sorted(d.workers()), ["dkd-api", "dkd-logd", "dkd-reconciler"],
       "worker processes after the load")
    still_serving(d, "200 concurrent clients")


def test_slow_clients():
    d = dkd()
    hold = []
    try:
        for _ in range(20):         # connect and say nothing
            hold.append(socket.create_connection(("127.0.0.1", d.port), 5))
        s = socket.create_connection(("127.0.0.1", d.port), 5)
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")   # no end
        hold.append(s)
        s = socket.create_connection(("127.0.0.1", d.port), 5)
        s.sendall(b"POST /api/health HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 100\r\n\r\n{\"a\":")          # short body
        hold.append(s)
        time.sleep(0.2)             # let dkd-api take them in
        for path in ("/api/health", "/"):
            t0 = time.monotonic()
            r = d.get(path, timeout=5)
            took = time.monotonic() - t0
            eq(r.status, 200, "GET %s while slow clients hang" % path)
            check(took < 1.0, "GET %s took %.2f s while slow clients hang"
                  % (path, took))
    finally:
        for s in hold:
            s.close()


def test_idle_timeout():
    d = dkd()
    silent = socket.create_connection(("127.0.0.1", d.port), 5)
    ka = socket.create_connection(("127.0.0.1", d.port), 5)
    ka.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
    reply = b""
    while not (b"\r\n\r\n" in reply and reply.endswith(HEALTH_BODY)):
        data = ka.recv(4096)
        check(data, "server closed the keep-alive connection after one "
              "request: %r" % reply)
        reply += data
    t0 = time.monotonic()
    closed = {}
    socks = {silent: "silent connection", ka: "idle keep-alive connection"}
    try:
        while len(closed) < 2 and time.monotonic() - t0 < 30:
            ready, _, _ = select.select([s for s in socks if socks[s]
                                         not in closed], [], [], 1)
            for s in ready:
                try:
                    data = s.recv(4096)
                except ConnectionResetError:
                    data = b""
                if not data:
                    closed[socks[s]] = time.monotonic() - t0
    finally:
        silent.close()
        ka.close()
    for name in socks.values():
        check(name in closed, "%s still open after 30 s" % name)
        check(15 <= closed[name] <= 25, "%s closed after %.1f s, expected "
              "~20 s" % (name, closed[name]))
    still_serving(d, "idle connections")


run_tests([
    ("GET /api/health: 200, exact JSON body, application/json",
     test_health),
    ("unknown /api/ paths: 404 JSON envelope", test_api_404),
    ("wrong method on /api/health: 405 JSON envelope", test_api_405),
    ("OPTIONS /api/health: 204 with CORS headers from cors-origin",
     test_options),
    ("/ serves index.html as text/html", test_index),
    ("SPA fallback: /projects/123 serves index.html", test_spa_fallback),
    ("missing asset /assets/missing.js: 404", test_missing_asset),
    ("path traversal (.., %2e%2e, %2f): 400, neither the file outside www "
     "nor the decoy a chrooted '..' would reach", test_traversal),
    ("dotfiles (/.env, /assets/.git/config, /.well-known/): 404",
     test_dotfiles),
    ("API bodies need Content-Type application/json: form, text/plain, "
     "none: 415", test_content_type),
    ("ETag with If-None-Match: 304", test_etag),
    ("2 MiB request body: 413, server keeps working", test_body_limit),
    ("headers over 16 KiB: error status, server keeps working",
     test_header_limit),
    ("200 concurrent keep-alive clients all succeed; dkd-api fds back to "
     "baseline", test_concurrent),
    ("slow clients that send nothing do not block others",
     test_slow_clients),
    ("idle connection closed by the server after the 20 s timeout "
     "(slow, ~20 s)", test_idle_timeout),
])
