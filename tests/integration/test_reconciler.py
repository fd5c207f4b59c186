#!/usr/bin/env python3
"""The reconciler on a real Docker engine (issue 8): a dkd whose
reconciler drives a dockerd of the test's own (rectest.PrivateDockerd:
its own network namespace, data root and socket, so that restarting it
disturbs nobody), images imported from a busybox-static root file
system, a readiness window of 2 s.  Each test says what a user would
see: containers in `docker inspect`, deployment and service states,
the events on `dkctl -j events`, and convergence after faults (dockerd
restarted, the reconciler or the master killed with SIGKILL, a pull that
hangs), with `PRAGMA integrity_check` ok.

DK_REC_KEEP_DOCKERD=1 leaves the private dockerd running afterwards."""

import os
import signal
import sqlite3
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (Dkd, Failure, Skip, check, eq, expect_json,  # noqa
                     run_tests, wait_until)
from rectest import DockerProxy, Events, PrivateDockerd, busybox_image

WINDOW = 2                      # readiness-window, seconds
CONVERGE = 40                   # how long anything may take to settle
shared = {}

WEB = "dk-rectest/web:1"
WEB2 = "dk-rectest/web:2"
CRASH = "dk-rectest/crash:1"
FLAKY = "dk-rectest/flaky:1"
CLIENT = "dk-rectest/client:1"
DBIMG = "postgres:16"           # a preset's image: gets a data volume


# ------------------------------------------------------------ the rig

def engine():
    if "engine" not in shared:
        e = PrivateDockerd().start()
        e.reset()
        shared["engine"] = e
        httpd = ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]
        busybox_image(e, WEB, httpd, {"/www/index.html": "v1\n"})
        busybox_image(e, WEB2, httpd, {"/www/index.html": "v2\n"})
        busybox_image(e, CRASH, ["/bin/sh", "-c",
                                 "echo starting up; echo boom >&2; "
                                 "echo last words; exit 3"])
        # Serves until /tmp/crash exists in its container, then exits at
        # once on every start: a crashloop on demand, per container.
        busybox_image(e, FLAKY, ["/bin/sh", "-c",
                                 "httpd -p 8080 -h /www; "
                                 "while [ ! -f /tmp/crash ]; do sleep 0.2; "
                                 "done; echo crashing; exit 1"],
                      {"/www/index.html": "flaky\n"})
        busybox_image(e, CLIENT, ["/bin/sh", "-c",
                                  "while :; do wget -q -O - "
                                  "http://$TARGET:8080/ 2>&1; sleep 1; "
                                  "done"])
        # A database preset's data directory: a boot counter in it.
        busybox_image(e, DBIMG, ["/bin/sh", "-c",
                                 "mkdir -p /var/lib/postgresql/data && "
                                 "date >> /var/lib/postgresql/data/boots "
                                 "&& exec httpd -f -p 5432 -h /www"])
    return shared["engine"]


def new_dkd(name="rec", socket_path=None, **kw):
    e = engine()
    d = Dkd(name, docker_socket=socket_path or e.SOCK,
            readiness_window="%ds" % WINDOW, **kw)
    return d


def need_reconciler(d):
    """A reconciler that runs passes reports its queue; one that does
    not (before issue 8's worker) makes every test here moot."""
    if "real" not in shared:
        shared["real"] = wait_until(lambda: (d.status_json() or {}).get(
            "queue") is not None, 15, 0.2)
    if not shared["real"]:
        raise Skip("the reconciler reports no queue: it runs no passes")


def rig():
    """The shared dkd, with an admin token."""
    if "d" not in shared:
        d = new_dkd(keep=True).start(args=["-v"])
        need_reconciler(d)
        _, t = d.register_admin()
        shared["d"] = d
        shared["tok"] = t["access_token"]
    return shared["d"]


def login(d):
    if d is shared.get("d"):
        return shared["tok"]
    if getattr(d, "tok", None) is None:
        try:
            _, t = d.register_admin()
        except Failure:
            t = d.login("admin@example.test")
        d.tok = t["access_token"] if "access_token" in t else t
    return d.tok


def api(method, path, obj=None, status=200, d=None):
    d = d or rig()
    r = d.api(method, path, obj, token=login(d))
    if status == 204:
        check(r.status == 204, "%s %s: %d %r" % (method, path, r.status,
                                                 r.body[:300]))
        return None
    return expect_json(r, status, "%s %s" % (method, path))


def project(name, d=None):
    return api("POST", "/api/projects", {"name": "%s %s" % (
        name, uuid.uuid4().hex[:4])}, 201, d=d)


def service(pid, name, d=None):
    return api("POST", "/api/projects/%s/services" % pid, {"name": name},
               201, d=d)


def deploy(pid, sid, image=WEB, d=None, **kw):
    body = {"image": image}
    body.update(kw)
    return api("POST", "/api/projects/%s/services/%s/deployments"
               % (pid, sid), body, 201, d=d)


def dep_status(did, d=None):
    rows = (d or rig()).db_query("SELECT status, attempt_count, "
                                 "failure_reason, exit_code, log_tail FROM "
                                 "deployments WHERE id = ?", (did,))
    return rows[0] if rows else None


def svc_status(sid, d=None):
    rows = (d or rig()).db_query("SELECT status, active_deployment_id FROM "
                                 "services WHERE id = ?", (sid,))
    return rows[0] if rows else None


def wait_dep(did, status, timeout=CONVERGE, d=None):
    ok = wait_until(lambda: dep_status(did, d)[0] == status, timeout, 0.2)
    check(ok, "deployment %s is %r, not %r after %ds" % (
        did, dep_status(did, d), status, timeout), *(d or rig()).log_tail(40))


def instance(d=None):
    return (d or rig()).db_query("SELECT value FROM system_settings WHERE "
                                 "key = 'instance_id'")[0][0]


def ours(d=None, sid=None, running=False):
    """The containers of dkd d (of service sid) in the private engine."""
    f = ["managed-by=deploykit", "deploykit.instance=" + instance(d)]
    if sid:
        f.append("deploykit.service-id=" + sid)
    cs = engine().containers(*f)
    if running:
        cs = [c for c in cs if c["State"]["Status"] == "running"]
    return cs


def names(cs):
    return sorted(c["Name"].lstrip("/") for c in cs)


def integrity(d):
    c = sqlite3.connect(d.db, timeout=10)
    try:
        return c.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        c.close()


def container_rows(sid, d=None):
    return sorted(r[0] for r in (d or rig()).db_query(
        "SELECT docker_container_id FROM containers WHERE service_id = ?",
        (sid,)))


def converged(sid, want, d=None):
    """Exactly want running containers of service sid, all of them
    rows of the database, and nothing else of it in Docker."""
    cs = ours(d, sid)
    return (len(cs) == want and
            all(c["State"]["Status"] == "running" for c in cs) and
            container_rows(sid, d) == sorted(c["Id"] for c in cs))


def wait_converged(sid, want, what, d=None, timeout=CONVERGE):
    ok = wait_until(lambda: converged(sid, want, d), timeout, 0.3)
    check(ok, "%s: not %d running containers with rows: docker %r, "
          "rows %r" % (what, want, [(c["Name"], c["State"]["Status"])
                                    for c in ours(d, sid)],
                       container_rows(sid, d)), *(d or rig()).log_tail(40))


def logs_of(c):
    r = engine().docker("logs", c["Id"])
    return r.stdout + r.stderr


# -------------------------------------------------------------- deploys

def test_deploy_inspect():
    d = rig()
    p = project("inspect")
    s = service(p["id"], "web")
    ev = Events(d, p["id"])
    dep = deploy(p["id"], s["id"], env_vars={"GREETING": "hello world"},
                 ports=[{"container_port": 8080}],
                 resources={"memory_mb": 64, "cpu_shares": 256})
    wait_dep(dep["id"], "healthy")
    eq(svc_status(s["id"]), ("running", dep["id"]), "service")
    wait_converged(s["id"], 1, "one replica")
    c = ours(d, s["id"])[0]
    slug = p["slug"]
    eq(c["Name"], "/dk-%s-web-0-%s" % (slug, dep["id"][:8]), "name")
    labels = c["Config"]["Labels"]
    for k, v in (("managed-by", "deploykit"),
                 ("deploykit.instance", instance()),
                 ("deploykit.project-id", p["id"]),
                 ("deploykit.service-id", s["id"]),
                 ("deploykit.deployment-id", dep["id"]),
                 ("deploykit.replica-index", "0")):
        eq(labels.get(k), v, "label %s" % k)
    nets = c["NetworkSettings"]["Networks"]
    check("dk-" + slug in nets, "network dk-%s in %r" % (slug, list(nets)))
    aliases = nets["dk-" + slug]["Aliases"] or []
    for a in ("dk-%s-web" % slug, "dk-%s-web-0" % slug):
        check(a in aliases, "alias %s in %r" % (a, aliases))
    check("GREETING=hello world" in c["Config"]["Env"],
          "env: %r" % c["Config"]["Env"])
    hc = c["HostConfig"]
    eq((hc["Memory"], hc["CpuShares"]), (64 * 1024 * 1024, 256), "limits")
    eq(hc["Init"], True, "Init")
    eq(hc["RestartPolicy"]["Name"], "unless-stopped", "restart policy")
    eq(c["Config"].get("StopTimeout"), 10, "StopTimeout")
    check("8080/tcp" in (c["Config"].get("ExposedPorts") or {}),
          "exposed port: %r" % c["Config"].get("ExposedPorts"))
    time.sleep(WINDOW + 2.5)     # a few more passes: nothing new
    kinds = [t for t in ev.types() if t.startswith("deployment:")]
    eq(kinds, ["deployment:created", "deployment:starting",
               "deployment:healthy"], "deployment events, in order")
    eq(len(ev.of("container:created", service_id=s["id"])), 1,
       "container:created events")
    st = [e["payload"]["new_status"] for e in ev.of("service:status-changed")]
    eq(st[-1:], ["running"], "service status events end in running")
    ev.close()
    shared["web"] = (p, s, dep)


def test_service_dns():
    """${{web.HOST}} resolves over Docker DNS to the web service."""
    d = rig()
    if "web" not in shared:
        test_deploy_inspect()
    p, web, _ = shared["web"]
    cl = service(p["id"], "client")
    deploy(p["id"], cl["id"], image=CLIENT)
    api("POST", "/api/projects/%s/services/%s/env-vars" % (p["id"],
                                                             cl["id"]),
        {"key": "TARGET", "value": "${{web.HOST}}"}, 201)
    res = api("POST", "/api/projects/%s/deploy" % p["id"])
    check(any(x["service_id"] == cl["id"]
              for x in res["created_deployments"]),
          "Apply redeploys the client: %r" % res)
    dep = [x for x in res["created_deployments"]
           if x["service_id"] == cl["id"]][0]
    wait_dep(dep["id"], "healthy")
    wait_converged(cl["id"], 1, "client")

    def fetched():
        cs = ours(d, cl["id"], running=True)
        return cs and "v1" in logs_of(cs[0])
    ok = wait_until(fetched, 20, 0.5)
    cs = ours(d, cl["id"])
    check(ok, "the client never got web's page: env %r, logs %r" % (
        cs and [e for e in cs[0]["Config"]["Env"] if "TARGET" in e],
        cs and logs_of(cs[0])[-500:]))
    env = [e for e in cs[0]["Config"]["Env"] if e.startswith("TARGET=")]
    eq(env, ["TARGET=dk-%s-web" % p["slug"]], "TARGET resolved")


def test_replicas_and_overlap():
    """Two replicas; a redeploy brings the new ones up before the old go,
    and rollback brings the old image back."""
    d = rig()
    p = project("replicas")
    s = service(p["id"], "web")
    d1 = deploy(p["id"], s["id"], replicas=2)
    wait_dep(d1["id"], "healthy")
    wait_converged(s["id"], 2, "two replicas")
    eq(sorted(c["Config"]["Labels"]["deploykit.replica-index"]
              for c in ours(d, s["id"])), ["0", "1"], "replica indexes")
    old = {c["Id"] for c in ours(d, s["id"])}
    ev = Events(d, p["id"])
    d2 = deploy(p["id"], s["id"], image=WEB2, replicas=2)
    most = 0
    deadline = time.monotonic() + CONVERGE
    while time.monotonic() < deadline:
        run = ours(d, s["id"], running=True)
        most = max(most, len(run))
        if dep_status(d2["id"])[0] == "healthy" and \
                not old & {c["Id"] for c in ours(d, s["id"])}:
            break
        # The old ones serve until the new ones are healthy.
        if dep_status(d2["id"])[0] != "healthy":
            check(old <= {c["Id"] for c in run},
                  "an old replica went before the new deployment was "
                  "healthy")
        time.sleep(0.1)
    eq(dep_status(d2["id"])[0], "healthy", "the new deployment")
    eq(most, 4, "old and new replicas ran side by side")
    wait_converged(s["id"], 2, "after the cut-over")
    eq({c["Config"]["Image"] for c in ours(d, s["id"])}, {WEB2}, "image")
    eq(dep_status(d1["id"])[0], "superseded", "the old deployment")
    eq(len(ev.of("deployment:healthy", deployment_id=d2["id"])), 1,
       "deployment:healthy of the redeploy")
    # Rollback.
    api("POST", "/api/projects/%s/services/%s/rollback" % (p["id"],
                                                           s["id"]),
        {"deployment_id": d1["id"]})
    ok = wait_until(lambda: converged(s["id"], 2) and
                    {c["Config"]["Image"] for c in ours(d, s["id"])} ==
                    {WEB}, CONVERGE, 0.3)
    check(ok, "rollback: %r" % [(c["Name"], c["Config"]["Image"])
                                for c in ours(d, s["id"])])
    eq(svc_status(s["id"]), ("running", d1["id"]), "service after rollback")
    eq(dep_status(d2["id"])[0], "superseded", "the rolled back one")
    ev.close()


def test_bad_image_keeps_old():
    d = rig()
    p = project("bad image")
    s = service(p["id"], "web")
    good = deploy(p["id"], s["id"])
    wait_dep(good["id"], "healthy")
    wait_converged(s["id"], 1, "good deployment")
    before = {c["Id"] for c in ours(d, s["id"])}
    ev = Events(d, p["id"])
    bad = deploy(p["id"], s["id"], image="dk-rectest/does-not-exist:1")
    wait_dep(bad["id"], "failed", timeout=60)
    row = dep_status(bad["id"])
    eq(row[1], 3, "attempts")
    check(row[2] and row[2].startswith("image pull failed"),
          "reason: %r" % row[2])
    eq(svc_status(s["id"]), ("running", good["id"]),
       "the service keeps running the good one")
    eq({c["Id"] for c in ours(d, s["id"], running=True)}, before,
       "the old container serves on")
    time.sleep(1)
    eq(len(ev.of("deployment:failed", deployment_id=bad["id"])), 1,
       "one deployment:failed")
    eq(ev.of("service:status-changed"), [], "no status change")
    ev.close()


def test_crashloop_starting():
    d = rig()
    p = project("crash")
    s = service(p["id"], "app")
    dep = deploy(p["id"], s["id"], image=CRASH)
    wait_dep(dep["id"], "failed")
    st, _, reason, code, tail = dep_status(dep["id"])
    eq(code, 3, "exit code")
    check(reason and reason.startswith("container "), "reason: %r" % reason)
    check(tail and "last words" in tail and "boom" in tail,
          "log tail: %r" % tail)
    eq(svc_status(s["id"])[0], "failed", "service with nothing healthy")
    wait_converged(s["id"], 0, "nothing left of a failed deployment")


def test_crashloop_after_promotion():
    d = rig()
    p = project("flaky")
    s = service(p["id"], "app")
    dep = deploy(p["id"], s["id"], image=FLAKY, replicas=2)
    wait_dep(dep["id"], "healthy")
    wait_converged(s["id"], 2, "two flaky replicas")
    cs = sorted(ours(d, s["id"]),
                key=lambda c: c["Config"]["Labels"]["deploykit.replica-index"])
    engine().docker("exec", cs[0]["Id"], "touch", "/tmp/crash", check=True)
    ok = wait_until(lambda: svc_status(s["id"])[0] == "degraded", CONVERGE,
                    0.3)
    check(ok, "service %r, not degraded" % (svc_status(s["id"]),),
          *d.log_tail(30))
    eq(dep_status(dep["id"])[0], "healthy", "the deployment stays healthy")
    engine().docker("exec", cs[1]["Id"], "touch", "/tmp/crash")
    ok = wait_until(lambda: svc_status(s["id"])[0] == "failed", CONVERGE,
                    0.3)
    check(ok, "service %r, not failed" % (svc_status(s["id"]),))
    eq(dep_status(dep["id"])[0], "healthy", "still healthy")


def test_preset_volume():
    """A preset database's data survives a redeploy and a rollback, and
    its volume goes with the service."""
    d = rig()
    p = project("volume")
    s = service(p["id"], "db")
    d1 = deploy(p["id"], s["id"], image=DBIMG)
    wait_dep(d1["id"], "healthy")
    wait_converged(s["id"], 1, "db")
    vol = "dk-%s-db-data" % p["slug"]
    eq(engine().volumes(vol), [vol], "the volume")

    def boots():
        cs = ours(d, s["id"], running=True)
        if len(cs) != 1:
            return -1
        r = engine().docker("exec", cs[0]["Id"], "cat",
                            "/var/lib/postgresql/data/boots")
        return len(r.stdout.splitlines()) if r.returncode == 0 else -1
    eq(boots(), 1, "boots after the first deploy")
    mounts = [m for m in ours(d, s["id"])[0]["Mounts"]
              if m["Type"] == "volume"]
    eq([(m["Name"], m["Destination"]) for m in mounts],
       [(vol, "/var/lib/postgresql/data")], "mount")
    d2 = deploy(p["id"], s["id"], image=DBIMG)
    wait_dep(d2["id"], "healthy")
    check(wait_until(lambda: converged(s["id"], 1) and boots() == 2,
                     CONVERGE, 0.3), "boots after a redeploy: %d" % boots())
    api("POST", "/api/projects/%s/services/%s/rollback" % (p["id"],
                                                           s["id"]),
        {"deployment_id": d1["id"]})
    check(wait_until(lambda: converged(s["id"], 1) and
                     ours(d, s["id"])[0]["Config"]["Labels"][
                         "deploykit.deployment-id"] == d1["id"] and
                     boots() == 3, CONVERGE, 0.3),
          "boots after a rollback: %d" % boots())
    api("DELETE", "/api/projects/%s/services/%s" % (p["id"], s["id"]))
    api("POST", "/api/projects/%s/deploy" % p["id"])
    check(wait_until(lambda: not ours(d, s["id"]) and
                     not engine().volumes(vol), CONVERGE, 0.3),
          "after the delete: containers %r, volumes %r" % (
              names(ours(d, s["id"])), engine().volumes(vol)))


def test_orphans_and_strangers():
    """A managed container of a service that is gone is removed; what
    is not ours (unlabelled, or another instance's) is left alone; a
    project's network comes and goes with it."""
    d = rig()
    e = engine()
    gone = str(uuid.uuid4())
    tag = uuid.uuid4().hex[:6]
    inst = instance()
    runs = {
        "orphan": ["--label", "managed-by=deploykit", "--label",
                   "deploykit.instance=" + inst, "--label",
                   "deploykit.service-id=" + gone, "--label",
                   "deploykit.deployment-id=" + str(uuid.uuid4()),
                   "--label", "deploykit.replica-index=0"],
        "stranger": [],
        "other-instance": ["--label", "managed-by=deploykit", "--label",
                           "deploykit.instance=" + str(uuid.uuid4()),
                           "--label", "deploykit.service-id=" + gone],
    }
    ids = {}
    for k, labels in runs.items():
        # The reconciler may remove the orphan before it even starts.
        r = e.docker("run", "-d", "--name", "dkrec-%s-%s" % (k, tag),
                     *labels, WEB, check=k != "orphan")
        ids[k] = "dkrec-%s-%s" % (k, tag)
    e.docker("network", "create", "--label", "managed-by=deploykit",
             "--label", "deploykit.instance=" + str(uuid.uuid4()),
             "dkrec-othernet-" + tag, check=True)
    e.docker("network", "create", "dkrec-plainnet-" + tag, check=True)
    try:
        p = project("netlife")
        net = "dk-" + p["slug"]
        check(wait_until(lambda: e.inspect(net, "network") is not None,
                         CONVERGE, 0.3), "network %s not created" % net)
        eq(e.inspect(net, "network")["Labels"].get("deploykit.instance"),
           inst, "the network's instance label")
        eq(d.dkctl("reconcile").returncode, 0, "dkctl reconcile")
        check(wait_until(lambda: e.inspect(ids["orphan"]) is None,
                         CONVERGE, 0.3), "the orphan is still there")
        api("DELETE", "/api/projects/%s" % p["id"], status=204)
        check(wait_until(lambda: e.inspect(net, "network") is None,
                         CONVERGE, 0.3), "network %s not removed" % net)
        time.sleep(1)
        for k in ("stranger", "other-instance"):
            c = e.inspect(ids[k])
            check(c is not None and c["State"]["Status"] == "running",
                  "%s was touched" % k)
        for n in ("dkrec-othernet-", "dkrec-plainnet-"):
            check(e.inspect(n + tag, "network") is not None,
                  "network %s%s was removed" % (n, tag))
    finally:
        for k in ids:
            e.docker("rm", "-f", ids[k])
        for n in ("dkrec-othernet-", "dkrec-plainnet-"):
            e.docker("network", "rm", n + tag)


def test_status_queue():
    d = rig()
    check(wait_until(lambda: (d.status_json() or {}).get("queue")
                     is not None, 10), "no queue in dkctl -j status")
    q = d.status_json()["queue"]
    eq(sorted(q), ["backing_off", "in_flight", "services", "waiting"],
       "queue keys")
    check(q["services"] >= 1, "services known: %r" % q)
    out = d.dkctl("status").stdout
    check("RECONCILER" in out and "in flight" in out and "backing off" in
          out, out)


# ------------------------------------------------------------- faults

def fault_rig(name):
    d = new_dkd(name).start(args=["-v"])
    need_reconciler(d)
    shared.setdefault("purge", []).append(instance(d))
    p = project(name, d=d)
    s = service(p["id"], "web", d=d)
    return d, p, s


def test_fault_dockerd_restart():
    d, p, s = fault_rig("fdocker")
    e = engine()
    dep = deploy(p["id"], s["id"], d=d, replicas=2)
    check(wait_until(lambda: ours(d, s["id"]), 20, 0.1),
          "no container was created")
    e.stop()
    try:
        check(wait_until(lambda: (d.status_json() or {}).get(
            "docker", {}).get("reachable") is False, 30, 0.3),
            "dkctl status does not say Docker is unreachable")
        out = d.dkctl("status").stdout
        check("unreachable" in out, out)
        r = d.api("GET", "/api/system/status", token=login(d))
        eq(expect_json(r, 200, "system status")["docker"]["reachable"],
           False, "/api/system/status docker.reachable")
        # An outage longer than the readiness gate's three looks (1.8 s
        # apart): the containers' exits, seen as the engine went, must
        # not count against the deployment while it is away.
        time.sleep(6)
    finally:
        e.start()
    wait_dep(dep["id"], "healthy", d=d, timeout=60)
    wait_converged(s["id"], 2, "after dockerd came back", d=d, timeout=60)
    check(wait_until(lambda: d.status_json()["docker"]["reachable"], 30),
          "Docker reachable again")
    eq(integrity(d), "ok", "integrity_check")


def test_fault_kill_reconciler():
    d, p, s = fault_rig("fkillrec")
    dep = deploy(p["id"], s["id"], d=d, replicas=2)
    check(wait_until(lambda: ours(d, s["id"]), 20, 0.05),
          "no container was created")
    pid = d.worker("dkd-reconciler")
    os.kill(pid, signal.SIGKILL)
    check(wait_until(lambda: d.worker("dkd-reconciler") not in (None, pid),
                     20, 0.2), "the reconciler was not restarted")
    wait_dep(dep["id"], "healthy", d=d)
    wait_converged(s["id"], 2, "after the reconciler's restart", d=d)
    # And it stays that way: no duplicates, no false crashloop.
    time.sleep(WINDOW + 3)
    check(converged(s["id"], 2, d), "later: %r" % names(ours(d, s["id"])))
    eq(svc_status(s["id"], d)[0], "running", "service")
    eq(integrity(d), "ok", "integrity_check")


def test_fault_kill_master():
    d, p, s = fault_rig("fkillmaster")
    dep = deploy(p["id"], s["id"], d=d, replicas=2)
    check(wait_until(lambda: ours(d, s["id"]), 20, 0.05),
          "no container was created")
    os.kill(d.pid, signal.SIGKILL)
    d.wait_exit(10)
    # The workers notice their channel is gone and end.
    check(wait_until(lambda: not [w for w in d.seen if
                                  os.path.exists("/proc/%d" % w)], 15),
          "workers outlived the master")
    eq(integrity(d), "ok", "integrity_check after SIGKILL")
    d.start(args=["-v"])
    wait_dep(dep["id"], "healthy", d=d)
    wait_converged(s["id"], 2, "after the master's restart", d=d)
    time.sleep(WINDOW + 2)
    check(converged(s["id"], 2, d), "later: %r" % names(ours(d, s["id"])))
    eq(integrity(d), "ok", "integrity_check")


def test_fault_hanging_pull():
    """One service's pull that never ends does not hold up another's
    deploy (a Docker endpoint in between that never answers that pull)."""
    e = engine()
    d = new_dkd("fhang")
    proxy = DockerProxy(os.path.join(d.dir, "docker-proxy.sock"), e.SOCK,
                        hang=r"^POST /[^ ]*images/create\?[^ ]*hang")
    d.settings["docker-socket"] = proxy.path
    d.write_conf()
    try:
        d.start(args=["-v"])
        need_reconciler(d)
        shared.setdefault("purge", []).append(instance(d))
        p = project("hang", d=d)
        a = service(p["id"], "slow", d=d)
        b = service(p["id"], "fast", d=d)
        da = deploy(p["id"], a["id"], image="dk-rectest/hang:1", d=d)
        check(wait_until(lambda: proxy.hung, 20, 0.1),
              "the pull never reached the engine: %r" % proxy.since(0)[-20:])
        t0 = time.monotonic()
        db = deploy(p["id"], b["id"], d=d)
        wait_dep(db["id"], "healthy", d=d, timeout=WINDOW + 10)
        took = time.monotonic() - t0
        check(took < WINDOW + 8, "the other deploy took %.1fs" % took)
        eq(dep_status(da["id"], d)[0], "pending", "the hanging one")
    finally:
        d.cleanup()
        proxy.close()


if __name__ == "__main__":
    tests = [
        ("deploy: pending -> starting -> healthy; name, labels, network, "
         "aliases, env, limits, Init; one deployment:healthy",
         test_deploy_inspect),
        ("a second service reaches the first at ${{web.HOST}} over "
         "Docker DNS", test_service_dns),
        ("replicas 2; the redeploy overlaps the old; rollback",
         test_replicas_and_overlap),
        ("a nonexistent image: 3 attempts, failed, the old one serves",
         test_bad_image_keeps_old),
        ("a crashloop while starting fails with exit code and log tail",
         test_crashloop_starting),
        ("a crashloop after promotion: degraded, then failed",
         test_crashloop_after_promotion),
        ("a preset volume survives redeploy and rollback, goes with the "
         "service", test_preset_volume),
        ("orphans go; strangers stay; networks come and go",
         test_orphans_and_strangers),
        ("the queue in dkctl status", test_status_queue),
        ("fault: dockerd restarted mid-deploy", test_fault_dockerd_restart),
        ("fault: the reconciler killed mid-deploy",
         test_fault_kill_reconciler),
        ("fault: the master killed mid-deploy", test_fault_kill_master),
        ("fault: a hanging pull does not delay another service",
         test_fault_hanging_pull),
    ]
    only = os.environ.get("DKD_TEST_ONLY")
    if only:
        tests = [t for t in tests if only in t[1].__name__]

    def purged(fn):
        """What a test's own dkd left in the engine goes after it."""
        def run():
            try:
                fn()
            finally:
                for inst in shared.pop("purge", []):
                    engine().purge(inst)
        return run
    tests = [(n, purged(f)) for n, f in tests]
    try:
        run_tests(tests)
    finally:
        if "engine" in shared and not os.environ.get("DK_REC_KEEP_DOCKERD"):
            shared["engine"].teardown()
