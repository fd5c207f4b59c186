#!/usr/bin/env python3
"""Benchmarks of issue 8 (the reconciler), against a real dkd from the
install tree and a Docker engine:

  deploy    Apply -> container running: a project env var staged and
            applied redeploys one service; the time from the POST to the
            engine's "start" event of the new container.  Beside it, in
            the same run, `docker create` + `docker start` of the same
            container (image, labels, env, network and aliases, init,
            restart policy) with the docker CLI, from before the create
            to its "start" event.  RUNS of each, alternating; medians
            and their ratio (target <= 1.2).
  resync    REC_SERVICES services (200), each with one healthy container;
            then RUNS no-op full resyncs (`dkctl reconcile`): the time
            from the command to the reconciler's "resync: ... Docker
            calls" log line, the reconciler's own wall time and count of
            Docker API calls for the resync (targets < 50 ms, <= 3
            calls), and the master's time to read and send it.  With
            PROXY=1 the engine is reached through a counting proxy
            (tests/integration/rectest.py DockerProxy) whose request
            count cross-checks the reconciler's.
  memory    PSS, anonymous PSS and RSS of the reconciler (and the other
            three) idle with no service, then with the REC_SERVICES services
            of "resync" running.

    bench/reconciler.py [deploy|resync|memory ...]   (default: all)

The engine: a dockerd of the benchmark's own (the tests' PrivateDockerd:
its own network namespace, data root and socket, torn down afterwards)
unless DOCKER_SOCKET names one to use; then only the containers, networks
and volumes of this dkd's instance and the images it imported are
removed afterwards.

Environment: DKD_PREFIX (build/root), RUNS (5), REC_SERVICES (200),
DOCKER_SOCKET, PROXY (0), BENCH_SUMMARY (a file to append the summary
lines to).  Uses the integration tests' helpers (tests/integration)."""

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid

from benchlib import must, summary  # first: the path to tests/integration
from dkdtest import Dkd, cleanup_all, wait_until  # noqa: E402
from rectest import (DockerProxy, PrivateDockerd,  # noqa: E402
                     busybox_image)

RUNS = int(os.environ.get("RUNS", "5"))
SERVICES = int(os.environ.get("REC_SERVICES", "200"))
PROXY = os.environ.get("PROXY", "0") == "1"
TAG = uuid.uuid4().hex[:8]
IMAGE = "dkbench/web:" + TAG


class Engine:
    """The Docker engine under test and the docker CLI against it."""

    def __init__(self):
        self.sock = os.environ.get("DOCKER_SOCKET")
        self.private = None
        if not self.sock:
            self.private = PrivateDockerd().start()
            self.private.reset()
            self.sock = self.private.SOCK

    def docker(self, *args, check=True):
        r = subprocess.run(["docker", "-H", "unix://" + self.sock] +
                           list(args), capture_output=True, text=True,
                           timeout=120)
        if check and r.returncode != 0:
            raise SystemExit("docker %s: %s" % (" ".join(args[:3]),
                                                r.stderr.strip()))
        return r

    def import_image(self):
        cli = PrivateDockerd()
        cli.SOCK = self.sock
        busybox_image(cli, IMAGE, ["/bin/httpd", "-f", "-p", "8080", "-h",
                                   "/www"], {"/www/index.html": "bench\n"})

    def purge(self, instance):
        f = "label=deploykit.instance=" + instance
        ids = self.docker("ps", "-aq", "--filter", f).stdout.split()
        if ids:
            self.docker("rm", "-f", *ids, check=False)
        for n in self.docker("network", "ls", "-q", "--filter",
                             f).stdout.split():
            self.docker("network", "rm", n, check=False)

    def close(self):
        self.docker("rmi", "-f", IMAGE, check=False)
        if self.private is not None:
            self.private.teardown()


class Starts:
    """`docker events` for container starts, in the background:
    name -> the engine's time of its start (ns)."""

    def __init__(self, eng):
        self.p = subprocess.Popen(
            ["docker", "-H", "unix://" + eng.sock, "events", "--format",
             "{{json .}}", "--filter", "type=container", "--filter",
             "event=start"], stdout=subprocess.PIPE, text=True)
        self.seen = {}
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        time.sleep(0.5)

    def _read(self):
        for line in self.p.stdout:
            e = json.loads(line)
            with self.cond:
                self.seen[e["Actor"]["Attributes"].get("name", "")] = \
                    e["timeNano"]
                self.cond.notify_all()

    def wait(self, pred, timeout=60):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for name, t in self.seen.items():
                    if pred(name):
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SystemExit("no container start within %ds"
                                     % timeout)
                self.cond.wait(left)

    def close(self):
        self.p.terminate()
        self.p.wait(5)


def fresh(eng, sock=None, window="1s"):
    d = Dkd("rbench", docker_socket=sock or eng.sock,
            readiness_window=window, reconcile_interval="1h")
    d.start(args=["-v"])
    _, t = d.register_admin()
    d.tok = t["access_token"]
    return d


def api(d, method, path, obj=None, status=200):
    return must(d.api(method, path, obj, token=d.tok), status,
                "%s %s" % (method, path))


def instance(d):
    return d.db_query("SELECT value FROM system_settings WHERE key = "
                      "'instance_id'")[0][0]


def healthy(d, dep_id):
    return d.db_query("SELECT status FROM deployments WHERE id = ?",
                      (dep_id,))[0][0] == "healthy"


def smaps(pid):
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Rss", "Pss", "Pss_Anon"):
                out[k] = int(v.split()[0])
    return out


def memory_row(d, label):
    procs = [("dkd", d.pid)] + sorted((c, p) for c, p in
                                      d.workers().items())
    cells = []
    for comm, pid in procs:
        m = smaps(pid)
        cells.append("%s %.2f/%.2f MiB (rss %.2f)" % (
            comm, m["Pss"] / 1024, m["Pss_Anon"] / 1024, m["Rss"] / 1024))
    summary("memory %s: Pss/Pss_Anon  %s" % (label, ", ".join(cells)))
    return smaps(d.workers()["dkd-reconciler"])


# ----------------------------------------------------------------- deploy

def bench_deploy(eng):
    d = fresh(eng)
    starts = Starts(eng)
    try:
        p = api(d, "POST", "/api/projects", {"name": "bench deploy"}, 201)
        s = api(d, "POST", "/api/projects/%s/services" % p["id"],
                {"name": "web"}, 201)
        first = api(d, "POST", "/api/projects/%s/services/%s/deployments"
                    % (p["id"], s["id"]), {"image": IMAGE}, 201)
        if not wait_until(lambda: healthy(d, first["id"]), 60, 0.1):
            raise SystemExit("the first deployment never became healthy")
        slug = p["slug"]
        ours, cli = [], []
        for i in range(RUNS):
            # dkd: Apply of a staged env var redeploys the service.
            api(d, "POST", "/api/projects/%s/env-vars" % p["id"],
                {"key": "RUN%d" % i, "value": str(i)}, 201)
            t0 = time.time_ns()
            res = api(d, "POST", "/api/projects/%s/deploy" % p["id"])
            dep = res["created_deployments"][0]["id"]
            t1 = starts.wait(lambda n: n.endswith("-" + dep[:8]))
            ours.append((t1 - t0) / 1e6)
            wait_until(lambda: healthy(d, dep), 60, 0.1)
            # The docker CLI: the same container, by hand.
            name = "dkbench-cli-%s-%d" % (TAG, i)
            t0 = time.time_ns()
            eng.docker("create", "--name", name,
                       "--label", "managed-by=dkbench",
                       "--label", "deploykit.project-id=" + p["id"],
                       "--label", "deploykit.service-id=" + s["id"],
                       "--label", "deploykit.deployment-id=" + dep,
                       "--label", "deploykit.replica-index=0",
                       "--network", "dk-" + slug,
                       "--network-alias", "dk-%s-webcli" % slug,
                       "--network-alias", "dk-%s-webcli-0" % slug,
                       "-e", "RUN%d=%d" % (i, i), "--init",
                       "--restart", "unless-stopped", "--stop-timeout",
                       "10", IMAGE)
            eng.docker("start", name)
            t1 = starts.wait(lambda n: n == name)
            cli.append((t1 - t0) / 1e6)
            eng.docker("rm", "-f", name)
        a, b = statistics.median(ours), statistics.median(cli)
        summary("deploy: Apply -> container running, median of %d: %.0f ms "
                "(runs %s)" % (RUNS, a, " ".join("%.0f" % x for x in ours)))
        summary("deploy: docker create + start, median of %d: %.0f ms "
                "(runs %s)" % (RUNS, b, " ".join("%.0f" % x for x in cli)))
        summary("deploy: ratio %.2f (target <= 1.2)%s" % (
            a / b, "" if a / b <= 1.2 else "  MISSED"))
        return a / b <= 1.2
    finally:
        starts.close()
        eng.purge(instance(d))
        d.cleanup()


# ---------------------------------------------------- resync and memory

RESYNC_RE = re.compile(r"dkd-reconciler\[\d+\]: info: resync: (\d+) "
                       r"services in (\d+) ms, (\d+) Docker calls")
MASTER_RE = re.compile(r"dkd\[\d+\]: debug: resync \d+: (\d+) services, "
                       r"\d+ projects, sent in (\d+) us")


def bench_resync(eng, want_memory, want_resync):
    proxy = None
    sock = eng.sock
    if PROXY:
        path = "/tmp/dkbench-proxy-%s.sock" % TAG
        proxy = DockerProxy(path, eng.sock)
        sock = path
    d = fresh(eng, sock=sock)
    ok = True
    try:
        idle = None
        if want_memory:
            time.sleep(3)
            idle = memory_row(d, "idle, no service")
        p = api(d, "POST", "/api/projects", {"name": "bench resync"}, 201)
        t0 = time.monotonic()
        deps = []
        for i in range(SERVICES):
            s = api(d, "POST", "/api/projects/%s/services" % p["id"],
                    {"name": "svc%03d" % i}, 201)
            deps.append(api(d, "POST", "/api/projects/%s/services/%s/"
                            "deployments" % (p["id"], s["id"]),
                            {"image": IMAGE}, 201)["id"])

        def all_healthy():
            n = d.db_query("SELECT count(*) FROM deployments WHERE status "
                           "= 'healthy'")[0][0]
            return n == SERVICES
        if not wait_until(all_healthy, 600, 1):
            raise SystemExit("not all %d deployments became healthy"
                             % SERVICES)
        summary("resync: %d services deployed and healthy in %.0f s" % (
            SERVICES, time.monotonic() - t0))
        time.sleep(5)           # the 2 s re-checks settle
        if want_memory:
            busy = memory_row(d, "%d services running" % SERVICES)
            summary("memory: reconciler with %d services: Pss %.2f MiB, "
                    "Pss_Anon %.2f MiB, Rss %.2f MiB (idle: %.2f / %.2f / "
                    "%.2f)" % (SERVICES, busy["Pss"] / 1024,
                               busy["Pss_Anon"] / 1024, busy["Rss"] / 1024,
                               idle["Pss"] / 1024, idle["Pss_Anon"] / 1024,
                               idle["Rss"] / 1024))
        if not want_resync:
            return True
        walls, rec_ms, calls, master_us, proxied = [], [], [], [], []
        for i in range(RUNS):
            off = len(d.log())
            n0 = proxy.count() if proxy else 0
            t0 = time.monotonic()
            r = d.dkctl("reconcile")
            if r.returncode != 0:
                raise SystemExit("dkctl reconcile: %s" % r.stderr)

            def done():
                return [m for m in RESYNC_RE.finditer(d.log()[off:])
                        if int(m.group(1)) == SERVICES]
            if not wait_until(done, 30, 0.005):
                raise SystemExit("no resync line of %d services in the "
                                 "log" % SERVICES)
            walls.append((time.monotonic() - t0) * 1000)
            m = done()[0]
            rec_ms.append(int(m.group(2)))
            calls.append(int(m.group(3)))
            mm = [x for x in MASTER_RE.finditer(d.log()[off:])
                  if int(x.group(1)) == SERVICES]
            if mm:
                master_us.append(int(mm[0].group(2)))
            time.sleep(1)
            if proxy:
                proxied.append(proxy.count() - n0)
        med = statistics.median
        summary("resync: no-op full resync of %d services, median of %d: "
                "reconciler %d ms, %d Docker calls (runs: %s ms; %s calls)"
                % (SERVICES, RUNS, med(rec_ms), med(calls),
                   " ".join(map(str, rec_ms)), " ".join(map(str, calls))))
        if master_us:
            summary("resync: the master reads and sends it in %.1f ms "
                    "(median)" % (med(master_us) / 1000))
        summary("resync: dkctl reconcile -> the reconciler's resync line: "
                "%.0f ms (median; includes dkctl and log polling)"
                % med(walls))
        if proxy:
            summary("resync: requests through the proxy, per resync "
                    "(1 s window after it): %s" % " ".join(map(str,
                                                               proxied)))
        ok = med(rec_ms) < 50 and med(calls) <= 3
        summary("resync: targets < 50 ms and <= 3 calls: %s" % (
            "met" if ok else "MISSED"))
        return ok
    finally:
        eng.purge(instance(d))
        d.cleanup()
        if proxy:
            proxy.close()


def main():
    what = sys.argv[1:] or ["deploy", "resync", "memory"]
    eng = Engine()
    ok = True
    try:
        eng.import_image()
        if "deploy" in what:
            ok &= bench_deploy(eng)
        if "resync" in what or "memory" in what:
            ok &= bench_resync(eng, "memory" in what, "resync" in what)
    finally:
        cleanup_all()
        eng.close()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
