#!/usr/bin/env python3
"""dkd-reconciler against the real dockerd, with a stand-in master
(rechelper.FakeMaster) on its channel: spec 13 and the acceptance of
issue 8 that do not need the real master.  Images are built locally
with `docker import`; every Docker object carries a fresh instance id
and is removed by it at the end, so nothing of anyone else is touched.
"""

import os
import shutil
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (Failure, check, eq, free_port, run_tests,  # noqa: E402
                     wait_until)
import rechelper as H  # noqa: E402

TAG = uuid.uuid4().hex[:8]
IMG = {}
INSTANCES = []
RECS = []
WINDOW_MS = 1000


def setup():
    if not IMG:
        IMG.update(H.build_images(TAG))


class Env:
    """A reconciler, its master and a project, for one test."""

    def __init__(self, proxy=False, window_ms=WINDOW_MS):
        setup()
        self.dir = tempfile.mkdtemp(prefix="r1test.")
        os.chmod(self.dir, 0o755)
        self.proxy = None
        path = H.DOCKER_SOCK
        if proxy:
            self.proxy = H.DockerProxy(os.path.join(self.dir, "docker.sock"))
            path = self.proxy.path
        self.rec = H.Rec(self.dir, socket_path=path, window_ms=window_ms)
        RECS.append(self)
        self.rec.start()
        self.m = H.FakeMaster(self.rec)
        INSTANCES.append(self.m.instance)
        self.slug = "r1%s%s" % (TAG, uuid.uuid4().hex[:4])
        self.pid = self.m.project(self.slug)

    def restart(self, sig=9):
        """Kill the reconciler and start another (the master's restart);
        the new one gets a full resync, as after READY."""
        self.rec.kill(sig)
        self.rec = H.Rec(self.dir, socket_path=self.rec.socket_path,
                         window_ms=self.rec.window_ms)
        self.rec.start()
        self.m.attach(self.rec)
        self.m.sync()

    def until(self, pred, timeout, what):
        v = wait_until(pred, timeout, 0.1)
        if not v:
            raise Failure("timed out (%ds): %s" % (timeout, what),
                          self.rec.log_tail(30))
        return v

    def dep(self, did):
        return self.m.dep(did)[1]

    def healthy(self, did, timeout=30):
        self.until(lambda: self.dep(did)["status"] == "healthy", timeout,
                   "deployment %s healthy" % did)

    def status(self, sid):
        return self.m.services[sid]["status"]

    def ctrs(self, sid=None):
        return H.containers(self.m.instance, sid)

    def close(self):
        self.rec.stop()
        if self.proxy is not None:
            self.proxy.close()
        # Its containers, networks and volumes go now: address pools of a
        # shared dockerd are not endless.
        H.cleanup_docker([self.m.instance])
        # Sanitizer builds: a report in the log fails the test.
        bad = [x for x in self.rec.log().splitlines()
               if "runtime error:" in x or "AddressSanitizer" in x or
               "LeakSanitizer" in x]
        check(not bad, "sanitizer report from dkd-reconciler", *bad[:20])


def cleanup():
    for e in RECS:
        try:
            e.rec.kill()
        except Exception:
            pass
        if e.proxy is not None:
            e.proxy.close()
        if not os.environ.get("R1_KEEP"):
            shutil.rmtree(e.dir, ignore_errors=True)
    H.cleanup_docker(INSTANCES, TAG)
    # Anything of this run's projects that lost its instance label.
    prefix = "dk-r1%s" % TAG
    ids = H.docker("ps", "-aq", "--filter", "name=^/%s" % prefix,
                   check=False).split()
    if ids:
        H.docker("rm", "-f", "-v", *ids, check=False)
    for n in H.docker("network", "ls", "--format", "{{.Name}}", "--filter",
                      "name=^%s" % prefix, check=False).split():
        if n.startswith(prefix):
            H.docker("network", "rm", n, check=False)


def http_get_in(container, host, port, path="/"):
    """GET from inside a container by a name that Docker's DNS resolves.
    (No -T: busybox-static's wget crashes with a timeout set.)"""
    return H.docker("exec", container, "wget", "-q", "-O", "-",
                    "http://%s:%d%s" % (host, port, path), check=False,
                    timeout=30)


# ---------------------------------------------------------------- tests

def test_handshake():
    e = Env()
    m = e.rec.wait_msg(lambda m: m[0] == H.IMSG["IMSG_REC_DOCKER"], 15)
    check(m is not None, "IMSG_REC_DOCKER after start")
    eq(m[2][0], 1, "Docker reachable")
    e.m.sync()
    q = e.rec.wait_msg(lambda m: m[0] == H.IMSG["IMSG_REC_QUEUE"], 5)
    check(q is not None, "IMSG_REC_QUEUE after a resync")
    eq(set(q[2]), {"in_flight", "waiting", "backing_off", "services"},
       "queue report keys")
    e.close()


def test_deploy():
    """pending -> starting -> healthy; name, labels, network, aliases,
    env, limits, Init, stop timeout, restart policy, ports."""
    e = Env()
    sid = e.m.service(e.pid, "web")
    did = e.m.deploy(sid, IMG["web"], env=[("GREETING", "hi there"),
                                           ("EMPTY", "")],
                     ports=[{"container_port": 8080, "protocol": "tcp"},
                            {"container_port": 9090, "host_port": 0,
                             "protocol": "udp"}],
                     memory_mb=64, cpu_shares=512)
    e.m.sync()
    e.until(lambda: e.dep(did)["status"] != "pending", 10, "starting")
    e.healthy(did)
    e.until(lambda: e.status(sid) == "running", 10, "service running")
    eq(len(e.rec.reports("healthy")), 1, "one healthy report")
    eq(len(e.rec.reports("starting")), 1, "one starting report")
    cs = e.ctrs(sid)
    eq(len(cs), 1, "containers")
    name = "dk-%s-web-0-%s" % (e.slug, did[:8])
    eq(cs[0]["name"], name, "container name")
    j = H.inspect(name)
    labels = j["Config"]["Labels"]
    for k, v in (("managed-by", "deploykit"),
                 ("deploykit.instance", e.m.instance),
                 ("deploykit.project-id", e.pid),
                 ("deploykit.service-id", sid),
                 ("deploykit.deployment-id", did),
                 ("deploykit.replica-index", "0")):
        eq(labels.get(k), v, "label %s" % k)
    env = j["Config"]["Env"]
    check("GREETING=hi there" in env and "EMPTY=" in env, "env", env)
    eq(j["HostConfig"]["Init"], True, "Init")
    eq(j["Config"].get("StopTimeout"), 10, "StopTimeout")
    eq(j["HostConfig"]["RestartPolicy"]["Name"], "unless-stopped",
       "restart policy")
    eq(j["HostConfig"]["Memory"], 64 * 1024 * 1024, "memory")
    eq(j["HostConfig"]["CpuShares"], 512, "cpu shares")
    eq(set(j["Config"]["ExposedPorts"]), {"8080/tcp", "9090/udp"},
       "exposed ports")
    eq(j["HostConfig"]["PortBindings"] or {}, {}, "no host ports")
    nets = j["NetworkSettings"]["Networks"]
    eq(list(nets), ["dk-%s" % e.slug], "network")
    al = nets["dk-%s" % e.slug]["Aliases"] or []
    for a in ("dk-%s-web" % e.slug, "dk-%s-web-0" % e.slug):
        check(a in al, "alias %s" % a, al)
    n = H.docker("network", "inspect", "dk-%s" % e.slug)
    check('"deploykit.instance": "%s"' % e.m.instance in n,
          "network labelled with the instance")
    rep = e.m.services[sid]["containers"]
    eq([(c["docker_id"], c["deployment_id"], c["replica"]) for c in rep],
       [(cs[0]["id"], did, 0)], "containers report")
    e.close()


def test_dns_and_host_port():
    """A second service reaches the first by its alias; a host port."""
    e = Env()
    port = free_port()
    web = e.m.service(e.pid, "web")
    d1 = e.m.deploy(web, IMG["web"], ports=[{"container_port": 8080,
                                             "host_port": port}])
    cli = e.m.service(e.pid, "client")
    d2 = e.m.deploy(cli, IMG["sleep"])
    e.m.sync()
    e.healthy(d1)
    e.healthy(d2)
    client = "dk-%s-client-0-%s" % (e.slug, d2[:8])
    out = http_get_in(client, "dk-%s-web" % e.slug, 8080)
    check("hello from" in out, "client -> dk-<slug>-web over DNS", out)
    out = http_get_in(client, "dk-%s-web-0" % e.slug, 8080)
    check("hello from" in out, "client -> dk-<slug>-web-0", out)
    import urllib.request
    body = urllib.request.urlopen("http://127.0.0.1:%d/" % port,
                                  timeout=5).read().decode()
    check("hello from" in body, "host port %d" % port, body)
    e.close()


def test_replicas_cutover():
    """Replicas 2; a redeploy brings the new ones up (healthy) before the
    old ones go."""
    e = Env()
    sid = e.m.service(e.pid, "web")
    d1 = e.m.deploy(sid, IMG["web"], replicas=2)
    e.m.sync()
    e.healthy(d1)
    e.until(lambda: e.status(sid) == "running", 10, "running")
    old = {c["id"] for c in e.ctrs(sid)}
    eq(len(old), 2, "two containers")
    seen_overlap = []

    def watch():
        t_end = time.monotonic() + 30
        while time.monotonic() < t_end:
            cs = e.ctrs(sid)
            running_old = [c for c in cs if c["id"] in old and
                           c["state"] == "running"]
            if e.dep(d2)["status"] == "healthy" and len(running_old) == 2:
                seen_overlap.append(True)
                return
            if not running_old:
                return
            time.sleep(0.05)
    d2 = e.m.deploy(sid, IMG["web2"], replicas=2)
    e.m.auto_push = True
    t = threading.Thread(target=watch)
    t.start()
    e.m.push(sid)
    e.healthy(d2)
    t.join()
    check(seen_overlap, "the new deployment was healthy while both old "
          "containers still ran")
    e.until(lambda: {c["id"] for c in e.ctrs(sid)}.isdisjoint(old) and
            len(e.ctrs(sid)) == 2, 30, "old containers gone, two new")
    eq(e.dep(d1)["status"], "superseded", "old deployment superseded")
    eq({c["labels"]["deploykit.replica-index"] for c in e.ctrs(sid)},
       {"0", "1"}, "replica indexes")
    e.close()


def test_bad_image():
    """A nonexistent image: 3 attempts, then failed with a reason; the
    healthy deployment keeps serving, untouched."""
    e = Env()
    sid = e.m.service(e.pid, "web")
    d1 = e.m.deploy(sid, IMG["web"])
    e.m.sync()
    e.healthy(d1)
    before = e.ctrs(sid)
    d2 = e.m.deploy(sid, "dkt/r1-nosuch-%s:none" % TAG)
    e.m.push(sid)
    e.until(lambda: e.dep(d2)["status"] == "failed", 60,
            "bad image deployment failed")
    d = e.dep(d2)
    eq(d["attempt_count"], 3, "attempts")
    check(d["failure_reason"].startswith("image pull failed: "),
          "reason %r" % d["failure_reason"])
    eq(len(e.rec.reports("attempt-failed")), 3, "three attempt reports")
    after = e.ctrs(sid)
    eq([(c["id"], c["state"]) for c in after],
       [(c["id"], "running") for c in before], "old container untouched")
    eq(e.dep(d1)["status"], "healthy", "old deployment still healthy")
    check(e.status(sid) != "failed", "service not failed")
    e.close()


def test_crashloop_starting():
    """A crashloop while starting fails with exit code and log tail."""
    e = Env()
    sid = e.m.service(e.pid, "worker")
    did = e.m.deploy(sid, IMG["crash"])
    e.m.sync()
    e.until(lambda: e.dep(did)["status"] == "failed", 40, "failed")
    d = e.dep(did)
    eq(d["exit_code"], 3, "exit code")
    check(d["failure_reason"] in ("container exited with code 3",) or
          d["failure_reason"].startswith("container is restarting"),
          "reason %r" % d["failure_reason"])
    check("oops" in (d["log_tail"] or "") and "booting" in d["log_tail"],
          "log tail %r" % d["log_tail"])
    eq(e.status(sid), "failed", "service failed (nothing healthy)")
    eq(len(e.rec.reports("failed")), 1, "one failed report")
    e.until(lambda: not e.ctrs(sid), 30, "failed containers removed")
    e.close()


def test_crash_after_promotion():
    """A replica that crashloops after promotion: the deployment stays
    healthy, the service becomes failed (none fine) or degraded."""
    e = Env()
    sid = e.m.service(e.pid, "late")
    did = e.m.deploy(sid, IMG["late"])
    e.m.sync()
    e.healthy(did)
    e.until(lambda: e.status(sid) in ("failed", "degraded"), 60,
            "service degraded or failed after a crashloop")
    eq(e.dep(did)["status"], "healthy", "deployment still healthy")
    eq(len(e.rec.reports("failed")), 0, "no failed report")
    e.close()


def test_rollback():
    """Rollback brings the old image back; the superseded containers
    go."""
    e = Env()
    sid = e.m.service(e.pid, "web")
    d1 = e.m.deploy(sid, IMG["web"])
    e.m.sync()
    e.healthy(d1)
    d2 = e.m.deploy(sid, IMG["web2"])
    e.m.push(sid)
    e.healthy(d2)
    e.until(lambda: [c["labels"]["deploykit.deployment-id"]
                     for c in e.ctrs(sid)] == [d2], 30, "only d2 runs")
    e.m.rollback(sid, d1)
    e.m.push(sid)
    e.until(lambda: [(c["labels"]["deploykit.deployment-id"], c["state"])
                     for c in e.ctrs(sid)] == [(d1, "running")], 30,
            "only d1 runs after the rollback")
    j = H.inspect(e.ctrs(sid)[0]["id"])
    eq(j["Config"]["Image"], IMG["web"], "old image back")
    e.until(lambda: e.status(sid) == "running", 20, "running again")
    e.close()


def test_volumes():
    """A preset's volume keeps a file across a redeploy and a rollback,
    and goes with the service."""
    e = Env()
    sid = e.m.service(e.pid, "db", volumes=[{"name": "data",
                                             "path": "/data"}])
    d1 = e.m.deploy(sid, IMG["sleep"])
    e.m.sync()
    e.healthy(d1)
    vol = "dk-%s-db-data" % e.slug
    c1 = e.ctrs(sid)[0]["id"]
    H.docker("exec", c1, "sh", "-c", "echo kept > /data/file")
    d2 = e.m.deploy(sid, IMG["web"])
    e.m.push(sid)
    e.healthy(d2)
    e.until(lambda: [c["labels"]["deploykit.deployment-id"]
                     for c in e.ctrs(sid)] == [d2], 30, "redeployed")
    c2 = e.ctrs(sid)[0]["id"]
    eq(H.docker("exec", c2, "cat", "/data/file").strip(), "kept",
       "file after redeploy")
    e.m.rollback(sid, d1)
    e.m.push(sid)
    e.until(lambda: [c["labels"]["deploykit.deployment-id"]
                     for c in e.ctrs(sid)] == [d1], 30, "rolled back")
    c3 = e.ctrs(sid)[0]["id"]
    eq(H.docker("exec", c3, "cat", "/data/file").strip(), "kept",
       "file after rollback")
    v = H.docker("volume", "inspect", vol)
    check(e.m.instance in v, "volume labelled with the instance")
    e.m.delete_service(sid)
    e.until(lambda: not e.ctrs(sid), 30, "containers of a deleted service")
    e.until(lambda: H.docker("volume", "ls", "-q", "--filter",
                             "name=%s" % vol).strip() == "", 30,
            "volume removed with the service")
    e.close()


def test_stopped_service():
    """A stopped service: nothing runs, its volume stays."""
    e = Env()
    sid = e.m.service(e.pid, "db", volumes=[{"name": "data",
                                             "path": "/data"}])
    did = e.m.deploy(sid, IMG["sleep"])
    e.m.sync()
    e.healthy(did)
    e.m.services[sid]["stopped"] = True
    e.m.push(sid)
    e.until(lambda: not e.ctrs(sid), 30, "stopped: no container")
    vol = "dk-%s-db-data" % e.slug
    eq(H.docker("volume", "ls", "-q", "--filter", "name=%s" % vol).strip(),
       vol, "volume kept")
    e.m.services[sid]["stopped"] = False
    e.m.push(sid)
    e.until(lambda: [c["state"] for c in e.ctrs(sid)] == ["running"], 30,
            "started again")
    e.close()


def test_sweep():
    """Orphans go, the project network comes and goes with the project,
    and what is not ours is never touched."""
    e = Env()
    sid = e.m.service(e.pid, "web")
    did = e.m.deploy(sid, IMG["sleep"])
    gone = e.m.service(e.pid, "gone")
    dg = e.m.deploy(gone, IMG["sleep"])
    e.m.sync()
    e.healthy(did)
    e.healthy(dg)
    # Foreign objects: another instance's labels, and no labels at all.
    other = str(uuid.uuid4())
    INSTANCES.append(other)
    foreign = "r1-%s-foreign-%s" % (TAG, uuid.uuid4().hex[:4])
    H.docker("network", "create", "--label", "managed-by=deploykit",
             "--label", "deploykit.instance=%s" % other, foreign)
    H.docker("create", "--name", foreign, "--label", "managed-by=deploykit",
             "--label", "deploykit.instance=%s" % other, "--label",
             "deploykit.service-id=%s" % gone, IMG["sleep"])
    plain = "r1-%s-plain-%s" % (TAG, uuid.uuid4().hex[:4])
    H.docker("create", "--name", plain, "--label", "managed-by=deploykit",
             "--label", "deploykit.service-id=%s" % gone, IMG["sleep"])
    try:
        # "gone" is deleted from the database: not in the next sync.
        del e.m.services[gone]
        e.m.sync()
        e.until(lambda: not e.ctrs(gone), 30, "orphan torn down")
        eq(len(e.ctrs(sid)), 1, "the other service stays")
        # The project goes: its services first, then the sync.
        del e.m.services[sid]
        del e.m.projects[e.pid]
        e.m.sync()
        e.until(lambda: not e.ctrs(), 30, "all containers gone")
        e.until(lambda: H.docker("network", "ls", "-q", "--filter",
                                 "name=^dk-%s$" % e.slug).strip() == "",
                30, "project network removed")
        check(H.inspect(foreign) is not None, "foreign container kept")
        check(H.inspect(plain) is not None, "unlabelled container kept")
        check(H.docker("network", "ls", "-q", "--filter",
                       "name=%s" % foreign).strip(),
              "foreign network kept")
        # A new project: its network comes with the sync.
        p2 = e.m.project(e.slug + "b")
        e.m.sync()
        e.until(lambda: H.docker("network", "ls", "-q", "--filter",
                                 "name=^dk-%sb$" % e.slug).strip(),
                20, "network of a new project")
        del e.m.projects[p2]
    finally:
        H.docker("rm", "-f", foreign, plain, check=False)
        H.docker("network", "rm", foreign, check=False)
    e.close()


def test_kill_mid_deploy():
    """kill -9 the reconciler mid-deploy: the next one adopts what is
    there, no duplicates, no orphans; the restarts before promotion are
    the baseline, and survive another restart (no false alarm)."""
    e = Env()
    sid = e.m.service(e.pid, "web")
    d1 = e.m.deploy(sid, IMG["once"], replicas=3)
    e.m.sync()
    e.until(lambda: len(e.ctrs(sid)) >= 1, 20, "first container")
    e.restart()
    e.healthy(d1, 40)
    e.until(lambda: len(e.ctrs(sid)) == 3, 20, "three containers")
    time.sleep(1)
    eq(sorted(c["labels"]["deploykit.replica-index"] for c in e.ctrs(sid)),
       ["0", "1", "2"], "one container per replica")
    h = e.rec.reports("healthy")
    eq(len(h), 1, "healthy once after the restart")
    check(h[0]["baseline_restart_count"] >= 1, "the restart before "
          "promotion is the baseline: %r" % h[0])
    eq(e.dep(d1)["baseline_restart_count"], h[0]["baseline_restart_count"],
       "baseline stored")
    e.until(lambda: e.status(sid) == "running", 10, "running")
    e.restart()
    time.sleep(6)
    eq(e.status(sid), "running", "no false crashloop after a restart")
    eq([r for r in e.rec.reports() if r["kind"] in ("failed", "healthy",
                                                     "attempt-failed")],
       [], "no deployment report from the new reconciler")
    eq(len(e.ctrs(sid)), 3, "still three")
    e.close()


def test_master_gone_mid_deploy():
    """The master dies mid-deploy (the worker sees EOF and exits); a new
    pair converges on exactly the desired containers."""
    e = Env()
    sid = e.m.service(e.pid, "web")
    d1 = e.m.deploy(sid, IMG["web"], replicas=2)
    other = e.m.service(e.pid, "other")
    d2 = e.m.deploy(other, IMG["sleep"])
    e.m.sync()
    e.until(lambda: len(e.ctrs()) >= 1, 20, "first container")
    e.rec.stop()
    check(not e.rec.alive(), "the worker exits on EOF")
    e.restart()
    e.healthy(d1, 40)
    e.healthy(d2, 40)
    time.sleep(1)
    eq(sorted((c["labels"]["deploykit.service-id"],
               c["labels"]["deploykit.replica-index"]) for c in e.ctrs()),
       sorted([(sid, "0"), (sid, "1"), (other, "0")]),
       "exactly the desired containers")
    e.close()


def test_docker_down():
    """Docker away (a proxy that refuses): passes fail softly, the master
    is told it is unreachable, and all converges when it is back."""
    e = Env(proxy=True)
    sid = e.m.service(e.pid, "web")
    e.m.sync()
    mark = e.rec.mark()
    e.proxy.down()
    did = e.m.deploy(sid, IMG["web"], replicas=2)
    e.m.push(sid)
    m = e.rec.wait_msg(lambda m: m[0] == H.IMSG["IMSG_REC_DOCKER"] and
                       m[2][0] == 0, 20, start=mark)
    check(m is not None, "IMSG_REC_DOCKER unreachable")
    time.sleep(2)
    check(e.rec.alive(), "reconciler alive while Docker is down")
    eq(e.dep(did)["attempt_count"], 0, "no attempt counted")
    mark = e.rec.mark()
    e.proxy.up()
    m = e.rec.wait_msg(lambda m: m[0] == H.IMSG["IMSG_REC_DOCKER"] and
                       m[2][0] == 1, 40, start=mark)
    check(m is not None, "IMSG_REC_DOCKER reachable again")
    e.healthy(did, 40)
    e.until(lambda: len(e.ctrs(sid)) == 2, 20, "two containers")
    e.close()


def test_hanging_pull():
    """One service's pull that hangs does not delay another's deploy."""
    e = Env(proxy=True)
    e.proxy.hang_re = r"/images/create"
    slow = e.m.service(e.pid, "slow")
    ds = e.m.deploy(slow, "dkt/r1-absent-%s:never" % TAG)
    fast = e.m.service(e.pid, "fast")
    e.m.sync()
    e.until(lambda: any(r[2].startswith("/v1.41/images/create")
                        for r in e.proxy.count()), 20, "the pull hangs")
    t0 = time.monotonic()
    df = e.m.deploy(fast, IMG["web"])
    e.m.push(fast)
    e.healthy(df, 20)
    took = time.monotonic() - t0
    check(took < 10, "fast deploy took %.1fs while a pull hung" % took)
    eq(e.dep(ds)["status"], "pending", "slow one still waits")
    e.proxy.hang_re = None
    e.close()


def test_noop_resync():
    """A resync in which nothing changed: at most 3 Docker calls in all
    (containers, networks, volumes) and well under 50 ms."""
    n = int(os.environ.get("R1_SERVICES", "20"))
    e = Env(proxy=True)
    deps = []
    for i in range(n):
        sid = e.m.service(e.pid, "s%d" % i)
        deps.append(e.m.deploy(sid, IMG["sleep"]))
    e.m.sync()
    for d in deps:
        e.healthy(d, 60 + n)
    e.until(lambda: all(s["status"] == "running"
                        for s in e.m.services.values()), 30, "all running")
    time.sleep(3)
    figures = []
    for _ in range(3):
        mark = len(e.rec.log())
        t0 = time.monotonic()
        e.m.sync()
        line = e.until(lambda: [x for x in e.rec.log()[mark:].splitlines()
                                if "resync:" in x], 10, "resync figures")
        time.sleep(0.3)
        calls = e.proxy.count(since=t0)
        figures.append((line[0].split("resync: ")[1], len(calls)))
        check(len(calls) <= 3, "Docker calls of a no-op resync: %d" %
              len(calls), *[str(c) for c in calls])
    from dkdtest import diag
    for f in figures:
        diag("no-op resync, %d services: %s; proxy saw %d calls" %
             (n, f[0], f[1]))
    rss = [x for x in open("/proc/%d/status" % e.rec.proc.pid)
           if x.startswith("VmRSS:")][0].split()[1]
    diag("dkd-reconciler RSS with %d services: %s kB" % (n, rss))
    ms = min(int(f[0].split(" in ")[1].split(" ms")[0]) for f in figures)
    check(ms < 50, "no-op resync took %d ms" % ms)
    e.close()


def ts_ns(ts):
    """Docker's RFC 3339 time (trailing zeros of the fraction cut): ns."""
    import calendar
    head, _, frac = ts.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
    return secs * 10 ** 9 + int(frac.ljust(9, "0")[:9])


def read_frames(fd, want_lines, timeout):
    """Docker's multiplexed log frames from fd until want_lines lines
    (or EOF, or timeout): [(stream, timestamp, text)], eof."""
    import select
    buf, out, eof = b"", [], False
    deadline = time.monotonic() + timeout
    while len(out) < want_lines and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        d = os.read(fd, 65536)
        if not d:
            eof = True
            break
        buf += d
        while len(buf) >= 8:
            n = int.from_bytes(buf[4:8], "big")
            if len(buf) < 8 + n:
                break
            stream, payload, buf = buf[0], buf[8:8 + n], buf[8 + n:]
            for line in payload.decode().splitlines():
                ts, _, text = line.partition(" ")
                out.append((stream, ts, text))
    return out, eof


def wait_eof(fd, timeout):
    import select
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r and not os.read(fd, 65536):
            return True
    return False


def test_log_streams():
    """Issue 9: a follow stream per running container, its read end
    handed over once with its tree; a mark makes the next stream start
    where logd's history ends; the stream ends with the container."""
    e = Env()
    sid = e.m.service(e.pid, "talk")
    did = e.m.deploy(sid, IMG["talk"])
    e.m.sync()
    e.healthy(did)
    m = e.rec.wait_msg(lambda m: m[0] == H.IMSG["IMSG_REC_LOGSTREAM"], 10)
    check(m is not None, "IMSG_REC_LOGSTREAM")
    tree, fd = m[2]
    check(fd is not None, "the message carries an fd")
    cid = e.ctrs(sid)[0]["id"]
    eq(tree, {"container_id": cid, "service_id": sid, "project_id": e.pid,
              "deployment_id": did, "tty": False}, "stream tree")
    lines, _ = read_frames(fd, 20, 10)
    check(len(lines) >= 20, "lines from the stream: %d" % len(lines))
    eq({x[0] for x in lines}, {1, 2}, "stdout and stderr frames")
    check(lines[0][2] in ("out 0", "err 0"), "from the start: %r" %
          (lines[0],))
    check(all(H.parse_ts(x[1]) > 0 for x in lines), "timestamps")
    eq(len(e.rec.streams()), 1, "one stream per container")
    # logd stored up to here; the container restarts; the next stream
    # starts there.
    last = lines[-1][1]
    e.rec.send_tree(H.IMSG["IMSG_REC_LOGMARK"],
                    {"container_id": cid, "last": last})
    mark = e.rec.mark()
    H.docker("restart", "-t", "1", cid)
    check(wait_eof(fd, 20), "EOF on the old stream when it stopped")
    os.close(fd)
    m = e.rec.wait_msg(lambda m: m[0] == H.IMSG["IMSG_REC_LOGSTREAM"],
                       20, start=mark)
    check(m is not None, "a new stream after the restart")
    fd2 = m[2][1]
    lines2, _ = read_frames(fd2, 10, 10)
    check(lines2, "lines from the new stream")
    t_last = H.parse_ts(last)
    old = [x for x in lines2 if H.parse_ts(x[1]) < t_last]
    check(not old, "no line from before the mark", *map(str, old[:5]))
    check(sum(1 for x in lines2 if x[1] == last) <= 1, "the mark's line "
          "at most once")
    # The service goes: the stream ends.
    e.m.delete_service(sid)
    check(wait_eof(fd2, 30), "EOF when the container is removed")
    os.close(fd2)
    check(e.rec.alive(), "reconciler alive")
    e.close()


def test_log_reader_gone():
    """logd closes its end: the reconciler stops that stream, lives on,
    other streams go on, and the container is followed again (a new
    logd would get it) from logd's mark on."""
    e = Env()
    a = e.m.service(e.pid, "a")
    da = e.m.deploy(a, IMG["talk"])
    b = e.m.service(e.pid, "b")
    db = e.m.deploy(b, IMG["talk"])
    e.m.sync()
    e.healthy(da)
    e.healthy(db)
    e.until(lambda: len(e.rec.streams()) == 2, 10, "two streams")
    by_sid = {t["service_id"]: fd for t, fd in e.rec.streams()}
    first, _ = read_frames(by_sid[a], 3, 10)
    cid = [t for t, fd in e.rec.streams() if t["service_id"] == a][0][
        "container_id"]
    e.rec.send_tree(H.IMSG["IMSG_REC_LOGMARK"],
                    {"container_id": cid, "last": first[-1][1]})
    n = e.rec.mark()
    os.close(by_sid[a])
    time.sleep(1)
    check(e.rec.alive(), "alive after the reader went")
    lines, eof = read_frames(by_sid[b], 10, 10)
    check(len(lines) >= 10 and not eof, "the other stream goes on")
    again = e.until(lambda: [fd for t, fd in e.rec.streams(n)
                             if t["service_id"] == a], 10,
                    "the stream of a handed over again")
    more, eof = read_frames(again[0], 5, 10)
    check(len(more) >= 5 and not eof, "the new stream of a carries lines")
    # Docker's since is inclusive: the marked line may come again (logd
    # drops it), nothing older.
    check(ts_ns(more[0][1]) >= ts_ns(first[-1][1]), "the new stream "
          "starts at %s, before the mark %s" % (more[0][1], first[-1][1]))
    for fd in again:
        os.close(fd)
    os.close(by_sid[b])
    e.close()


def test_log_slow_reader():
    """A reader that does not keep up: the Docker stream is paused, not
    buffered without end, and nothing is lost or reordered."""
    e = Env()
    sid = e.m.service(e.pid, "flood")
    did = e.m.deploy(sid, IMG["flood"])
    e.m.sync()
    e.healthy(did)
    e.until(lambda: e.rec.streams(), 10, "a stream")
    fd = e.rec.streams()[0][1]
    time.sleep(3)
    rss = int([x for x in open("/proc/%d/status" % e.rec.proc.pid)
               if x.startswith("VmRSS:")][0].split()[1])
    check(rss < 40 * 1024, "reconciler RSS %d kB while the reader sleeps"
          % rss)
    lines, _ = read_frames(fd, 20000, 60)
    nums = [int(x[2].split()[0]) for x in lines]
    eq(len(nums), 20000, "lines read")
    eq(nums, list(range(20000)), "every line, in order")
    os.close(fd)
    e.close()


TESTS = [
    ("handshake, Docker reachable, queue report", test_handshake),
    ("deploy: pending -> healthy, container as specified", test_deploy),
    ("a second service reaches the first by DNS alias; host port",
     test_dns_and_host_port),
    ("replicas and a zero-downtime cut-over", test_replicas_cutover),
    ("a bad image: 3 attempts, failed, old one serves", test_bad_image),
    ("a crashloop while starting: exit code and log tail",
     test_crashloop_starting),
    ("a crashloop after promotion", test_crash_after_promotion),
    ("rollback", test_rollback),
    ("volumes survive redeploy and rollback, go with the service",
     test_volumes),
    ("a stopped service", test_stopped_service),
    ("sweep: orphans, networks, foreign objects", test_sweep),
    ("kill -9 mid-deploy: adopt, no duplicates, baseline",
     test_kill_mid_deploy),
    ("the master gone mid-deploy", test_master_gone_mid_deploy),
    ("Docker down and back", test_docker_down),
    ("a hanging pull delays no other service", test_hanging_pull),
    ("a no-op resync: calls and time", test_noop_resync),
    ("log streams: handed over, marks, EOF", test_log_streams),
    ("log streams: a reader that goes", test_log_reader_gone),
    ("log streams: a slow reader", test_log_slow_reader),
]

if __name__ == "__main__":
    only = os.environ.get("R1_ONLY")
    tests = [t for t in TESTS if not only or only in t[1].__name__]
    try:
        run_tests(tests)
    finally:
        cleanup()
