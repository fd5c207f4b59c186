#!/usr/bin/env python3
"""The master's side of the reconciler channel (RECONCILER-PROTOCOL.md),
message by message: the test plays dkd-reconciler (rectest.FakeRec) and
checks what the master sends (full resyncs with the instance id, a
DESIRED after every change, the teardown of a deleted service, preset
volumes) and what it makes of reports (the transitions of spec 10.3
against the database, stale reports ignored, a malformed one fatal to the
reconciler, the events of spec 9.4 on `dkctl events`), plus `dkctl
reconcile`, `dkctl show containers` and the queue in `dkctl status`.
No Docker is involved."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (UUID_RE, Dkd, check, eq, expect_json, run_tests,
                     wait_until)
from rectest import Events, FakeRec

shared = {}
IMAGE = "dk-test/app:1"


def rig():
    """One dkd with the fake reconciler and an admin, for most tests."""
    if "d" not in shared:
        d = Dkd("recmaster", keep=True, reconcile_interval="1h")
        f = FakeRec(d)
        d.start(args=["-v"], env=f.env())
        _, t = d.register_admin()
        shared.update(d=d, f=f, tok=t["access_token"])
    return shared["d"], shared["f"]


def api(method, path, obj=None, status=200):
    d, _ = rig()
    r = d.api(method, path, obj, token=shared["tok"])
    if status == 204:
        check(r.status == 204, "%s %s: %d %r" % (method, path, r.status,
                                                 r.body[:300]))
        return None
    return expect_json(r, status, "%s %s" % (method, path))


def project(name):
    return api("POST", "/api/projects", {"name": name}, 201)


def service(pid, name):
    return api("POST", "/api/projects/%s/services" % pid, {"name": name},
               201)


def deploy(pid, sid, image=IMAGE, **kw):
    body = {"image": image}
    body.update(kw)
    return api("POST", "/api/projects/%s/services/%s/deployments"
               % (pid, sid), body, 201)


def dep_row(did):
    d, _ = rig()
    rows = d.db_query("SELECT status, attempt_count, failure_reason, "
                      "exit_code, log_tail, started_at, healthy_at, "
                      "baseline_restart_count FROM deployments WHERE id = ?",
                      (did,))
    check(rows, "deployment %s is not in the database" % did)
    keys = ("status", "attempt_count", "failure_reason", "exit_code",
            "log_tail", "started_at", "healthy_at", "baseline")
    return dict(zip(keys, rows[0]))


def svc_row(sid):
    d, _ = rig()
    rows = d.db_query("SELECT status, active_deployment_id FROM services "
                      "WHERE id = ?", (sid,))
    return {"status": rows[0][0], "active": rows[0][1]} if rows else None


def fixture(name):
    """A project with one service; -> (project, service, Events)."""
    d, _ = rig()
    p = project(name)
    s = service(p["id"], "web")
    return p, s, Events(d, p["id"])


def healthy_fixture():
    """The service that test_report_healthy made healthy (run first if
    need be); -> (project, service, its deployment, Events)."""
    d, _ = rig()
    if "healthy" not in shared:
        test_report_healthy()
    p, s, b = shared["healthy"]
    return p, s, b, Events(d, p["id"])


def settle(ev, etype, n, what, **match):
    """Exactly n events of etype (matching) once things have settled."""
    wait_until(lambda: len(ev.of(etype, **match)) >= n, 5)
    time.sleep(0.4)
    eq(len(ev.of(etype, **match)), n, what)


# ------------------------------------------------------------- resyncs

def test_resync_on_ready():
    d, f = rig()
    begin, desired, end = f.sync()
    inst = d.db_query("SELECT value FROM system_settings WHERE key = "
                      "'instance_id'")
    check(inst, "no instance_id in system_settings")
    check(UUID_RE.match(inst[0][0]), "instance_id %r" % inst[0][0])
    eq(begin["instance"], inst[0][0], "SYNC_BEGIN instance")
    check(isinstance(begin["sequence"], int), "sequence %r" % begin)
    eq(end["sequence"], begin["sequence"], "SYNC_END sequence")
    eq(end["projects"], [], "projects of an empty database")
    eq(desired, [], "DESIRED of an empty database")


def test_resync_after_project_create():
    d, f = rig()
    m = f.mark()
    p = project("resync me")
    _, _, end = f.sync(since=m)
    eq([x for x in end["projects"] if x["id"] == p["id"]],
       [{"id": p["id"], "slug": p["slug"]}], "the new project in SYNC_END")
    m = f.mark()
    api("DELETE", "/api/projects/%s" % p["id"], status=204)
    _, _, end = f.sync(since=m)
    eq([x for x in end["projects"] if x["id"] == p["id"]], [],
       "the deleted project in SYNC_END")


def test_desired_after_deploy():
    d, f = rig()
    p, s, ev = fixture("desired")
    m = f.mark()
    dep = deploy(p["id"], s["id"], env_vars={"GREETING": "hello",
                                             "EMPTY": ""},
                 ports=[{"container_port": 8080, "host_port": 18080},
                        {"container_port": 53, "protocol": "udp"}],
                 resources={"memory_mb": 64, "cpu_shares": 512},
                 replicas=2)
    v = f.desired(s["id"], since=m)
    eq(v["project_id"], p["id"], "project_id")
    eq(v["project_slug"], p["slug"], "project_slug")
    eq(v["service_name"], "web", "service_name")
    eq((v["stopped"], v["deleted"]), (False, False), "stopped, deleted")
    eq(v["volumes"], [], "volumes of a non-database image")
    eq(len(v["deployments"]), 1, "deployments")
    x = v["deployments"][0]
    eq(x["id"], dep["id"], "deployment id")
    eq(x["status"], "pending", "status")
    eq(x["image"], IMAGE, "image")
    eq(sorted(map(tuple, x["env"])), [("EMPTY", ""), ("GREETING", "hello")],
       "env")
    eq(x["ports"], [{"container_port": 8080, "host_port": 18080,
                     "protocol": "tcp"},
                    {"container_port": 53, "protocol": "udp"}], "ports")
    eq((x["memory_mb"], x["cpu_shares"], x["replicas"]), (64, 512, 2),
       "limits and replicas")
    eq((x["attempt_count"], x["baseline_restart_count"], x["active"]),
       (0, 0, False), "counters, active")
    ev.close()


def test_preset_volume():
    d, f = rig()
    p = project("db volumes")
    s = service(p["id"], "db")
    m = f.mark()
    deploy(p["id"], s["id"], image="postgres:16")
    v = f.desired(s["id"], since=m)
    want = [{"name": "data", "path": "/var/lib/postgresql/data"}]
    eq(v["volumes"], want, "volumes of a postgres service")
    m = f.mark()
    deploy(p["id"], s["id"], image="docker.io/library/postgres:17")
    v = f.desired(s["id"], since=m)
    eq(v["volumes"], want, "volumes after a redeploy on another tag")
    for image, path in (("redis:7", "/data"), ("mysql:8", "/var/lib/mysql"),
                        ("getmeili/meilisearch:v1.11", "/meili_data")):
        s2 = service(p["id"], image.split(":")[0].split("/")[-1])
        m = f.mark()
        deploy(p["id"], s2["id"], image=image)
        v = f.desired(s2["id"], since=m)
        eq(v["volumes"], [{"name": "data", "path": path}],
           "volumes of %s" % image)
    shared["db_service"] = (p, s)


def test_delete_sends_teardown():
    d, f = rig()
    if "db_service" not in shared:
        test_preset_volume()
    p, s = shared["db_service"]
    api("DELETE", "/api/projects/%s/services/%s" % (p["id"], s["id"]))
    m = f.mark()
    api("POST", "/api/projects/%s/deploy" % p["id"])
    v = f.desired(s["id"], since=m, pred=lambda v: v["deleted"])
    eq(v["deployments"], [], "deployments of a deleted service")
    eq(v["volumes"], [{"name": "data", "path": "/var/lib/postgresql/data"}],
       "volumes to remove with the service")
    eq((v["project_slug"], v["service_name"]), (p["slug"], "db"),
       "names of the deleted service")


# ------------------------------------------------------------- reports

def test_report_starting():
    d, f = rig()
    p, s, ev = fixture("starting")
    dep = deploy(p["id"], s["id"])
    n = f.mark()
    f.report(kind="starting", deployment_id=dep["id"])
    f.desired(s["id"], since=n, pred=lambda v: v["deployments"][0][
        "status"] == "starting")
    row = dep_row(dep["id"])
    eq(row["status"], "starting", "status in the database")
    check(row["started_at"], "started_at is set")
    f.report(kind="starting", deployment_id=dep["id"])
    settle(ev, "deployment:starting", 1, "deployment:starting events",
           deployment_id=dep["id"])
    e = ev.of("deployment:starting")[0]["payload"]
    eq(e, {"deployment_id": dep["id"], "service_id": s["id"],
           "status": "starting"}, "deployment:starting payload")
    eq(dep_row(dep["id"])["started_at"], row["started_at"],
       "started_at stamped once")
    ev.close()


def test_report_attempts():
    d, f = rig()
    p, s, ev = fixture("attempts")
    dep = deploy(p["id"], s["id"])
    start = f.starts
    for i in (1, 2):
        n = f.mark()
        f.report(kind="attempt-failed", deployment_id=dep["id"],
                 reason="image pull failed: no such image")
        f.desired(s["id"], since=n, pred=lambda v: v["deployments"][0][
            "attempt_count"] == i)
        eq(dep_row(dep["id"])["status"], "pending",
           "status after %d failed attempts" % i)
    f.report(kind="attempt-failed", deployment_id=dep["id"],
             reason="image pull failed: no such image")
    wait_until(lambda: dep_row(dep["id"])["status"] == "failed", 5)
    row = dep_row(dep["id"])
    eq((row["status"], row["attempt_count"], row["failure_reason"]),
       ("failed", 3, "image pull failed: no such image"),
       "after the third attempt")
    eq(svc_row(s["id"])["status"], "failed",
       "service with nothing healthy")
    f.report(kind="attempt-failed", deployment_id=dep["id"], reason="x")
    settle(ev, "deployment:failed", 1, "deployment:failed events")
    eq(ev.of("deployment:failed")[0]["payload"],
       {"deployment_id": dep["id"], "service_id": s["id"],
        "status": "failed", "attempt_count": 3,
        "failure_reason": "image pull failed: no such image"},
       "deployment:failed payload")
    eq([e["payload"] for e in ev.of("service:status-changed")],
       [{"service_id": s["id"], "old_status": "deploying",
         "new_status": "failed"}], "service:status-changed")
    eq(dep_row(dep["id"])["attempt_count"], 3, "a stale attempt counts not")
    eq(f.starts, start, "the reconciler lives on after a stale report")
    ev.close()


def test_report_healthy():
    d, f = rig()
    p, s, ev = fixture("healthy")
    a = deploy(p["id"], s["id"])
    f.report(kind="starting", deployment_id=a["id"])
    n = f.mark()
    f.report(kind="healthy", deployment_id=a["id"],
             baseline_restart_count=2)
    v = f.desired(s["id"], since=n, pred=lambda v: v["deployments"][0][
        "status"] == "healthy")
    eq((v["deployments"][0]["active"],
        v["deployments"][0]["baseline_restart_count"]), (True, 2),
       "pushed: active, baseline")
    row = dep_row(a["id"])
    eq((row["status"], row["baseline"]), ("healthy", 2), "deployment row")
    check(row["healthy_at"], "healthy_at")
    eq(svc_row(s["id"]), {"status": "running", "active": a["id"]},
       "service row")
    f.report(kind="healthy", deployment_id=a["id"],
             baseline_restart_count=5)
    settle(ev, "deployment:healthy", 1, "deployment:healthy events")
    eq(dep_row(a["id"])["baseline"], 2, "a second report changes nothing")
    eq([e["payload"]["new_status"] for e in ev.of("service:status-changed",
                                                  service_id=s["id"])],
       ["running"], "status changes")

    # A redeploy: the new one supersedes the old when it is healthy.
    b = deploy(p["id"], s["id"], image="dk-test/app:2")
    n = f.mark()
    f.report(kind="healthy", deployment_id=b["id"],
             baseline_restart_count=0)
    v = f.desired(s["id"], since=n, pred=lambda v: v["deployments"][-1][
        "status"] == "healthy")
    eq([(x["id"], x["active"]) for x in v["deployments"]], [(b["id"], True)],
       "in flight after the cut-over")
    eq(dep_row(a["id"])["status"], "superseded", "the old deployment")
    eq(svc_row(s["id"])["active"], b["id"], "active deployment")
    settle(ev, "deployment:healthy", 2, "deployment:healthy events")
    shared["healthy"] = (p, s, b)
    ev.close()


def test_report_failed_tail():
    d, f = rig()
    p, s, b, ev = healthy_fixture()
    c = deploy(p["id"], s["id"], image="dk-test/crash:1")
    f.report(kind="starting", deployment_id=c["id"])
    tail = "START" + "é" * 10000 + "END"
    f.report(kind="failed", deployment_id=c["id"],
             reason="container exited with code 3", exit_code=3,
             log_tail=tail)
    wait_until(lambda: dep_row(c["id"])["status"] == "failed", 5)
    row = dep_row(c["id"])
    eq((row["failure_reason"], row["exit_code"]),
       ("container exited with code 3", 3), "reason and exit code")
    stored = row["log_tail"].encode()
    check(len(stored) <= 10240 and len(stored) >= 10236,
          "log tail of %d bytes, not about 10 KiB" % len(stored))
    check(row["log_tail"].endswith("é" * 10 + "END"),
          "the tail keeps the end: %r" % row["log_tail"][-20:])
    eq(svc_row(s["id"]), {"status": "running", "active": b["id"]},
       "the service keeps its healthy deployment")
    settle(ev, "deployment:failed", 1, "deployment:failed events")
    eq(ev.of("service:status-changed"), [], "no status change")
    # A crash with neither exit code nor log, and a reason far too long.
    start = f.starts
    e = deploy(p["id"], s["id"], image="dk-test/crash:2")
    f.report(kind="failed", deployment_id=e["id"],
             reason="container is restarting (restart count 4) " +
             "ü" * 5000, log_tail="")
    wait_until(lambda: dep_row(e["id"])["status"] == "failed", 5)
    row = dep_row(e["id"])
    eq((row["exit_code"], row["log_tail"]), (None, None),
       "no exit code, no tail")
    reason = row["failure_reason"]
    check(reason.startswith("container is restarting (restart count 4) ")
          and 4000 < len(reason.encode()) <= 4096,
          "a long reason is kept cut (%d bytes)" % len(reason.encode()))
    eq(f.starts, start, "a long reason does not kill the reconciler")
    ev.close()


def test_stale_reports():
    d, f = rig()
    p, s, ev = fixture("stale")
    a = deploy(p["id"], s["id"])
    b = deploy(p["id"], s["id"], image="dk-test/app:2")
    eq(dep_row(a["id"])["status"], "cancelled", "the first is cancelled")
    start = f.starts
    f.report(kind="healthy", deployment_id=a["id"],
             baseline_restart_count=0)
    f.report(kind="starting", deployment_id=a["id"])
    f.report(kind="failed", deployment_id=a["id"], reason="late",
             log_tail="")
    f.report(kind="healthy", deployment_id="00000000-0000-4000-8000-"
             "000000000000", baseline_restart_count=0)
    f.report(kind="service-status",
             service_id="00000000-0000-4000-8000-000000000000",
             status="running")
    f.report(kind="containers",
             service_id="00000000-0000-4000-8000-000000000000",
             containers=[])
    # The last one is current and shows the others were taken.
    f.report(kind="starting", deployment_id=b["id"])
    wait_until(lambda: dep_row(b["id"])["status"] == "starting", 5)
    row = dep_row(a["id"])
    eq((row["status"], row["failure_reason"]), ("cancelled", None),
       "a cancelled deployment stays cancelled")
    eq(svc_row(s["id"]), {"status": "deploying", "active": None},
       "service untouched")
    time.sleep(0.3)
    eq([t for t in ev.types() if t.startswith("deployment:")],
       ["deployment:created", "deployment:created", "deployment:starting"],
       "events")
    eq(f.starts, start, "stale reports do not restart the reconciler")
    ev.close()


def test_service_status():
    d, f = rig()
    p, s, b, ev = healthy_fixture()
    before = svc_row(s["id"])["status"]
    f.report(kind="service-status", service_id=s["id"], status="degraded")
    wait_until(lambda: svc_row(s["id"])["status"] == "degraded", 5)
    f.report(kind="service-status", service_id=s["id"], status="degraded")
    settle(ev, "service:status-changed", 1, "status events")
    eq(ev.of("service:status-changed")[0]["payload"],
       {"service_id": s["id"], "old_status": before,
        "new_status": "degraded"}, "payload")
    f.report(kind="service-status", service_id=s["id"], status="running")
    wait_until(lambda: svc_row(s["id"])["status"] == "running", 5)
    ev.close()


def test_containers_report():
    d, f = rig()
    p, s, b, ev = healthy_fixture()
    ids = [("%02x" % (0xa0 + i)) * 32 for i in range(3)]
    f.report(kind="containers", service_id=s["id"], containers=[
        {"docker_id": ids[0], "deployment_id": b["id"], "replica": 0,
         "state": "running"},
        {"docker_id": ids[1], "deployment_id": b["id"], "replica": 1,
         "state": "restarting"},
        {"docker_id": ids[2], "deployment_id": "00000000-0000-4000-8000-"
         "000000000000", "replica": 0, "state": "exited"}])

    def rows():
        return d.db_query("SELECT id, docker_container_id, deployment_id, "
                          "status FROM containers WHERE service_id = ? "
                          "ORDER BY docker_container_id", (s["id"],))
    wait_until(lambda: len(rows()) == 2, 5)
    r = rows()
    eq([(x[1], x[2], x[3]) for x in r],
       [(ids[0], b["id"], "running"), (ids[1], b["id"], "running")],
       "container rows (none for an unknown deployment)")
    settle(ev, "container:created", 2, "container:created events")
    eq(sorted(e["payload"]["container_id"] for e in
              ev.of("container:created")), sorted(x[0] for x in r),
       "container:created carry the row ids")
    eq(ev.of("container:created")[0]["payload"]["status"], "running",
       "container:created status")

    out = d.dkctl("show", "containers", "%s/web" % p["slug"])
    eq(out.returncode, 0, "dkctl show containers: %s" % out.stderr)
    lines = out.stdout.splitlines()
    check(lines and lines[0].split()[:4] == ["ID", "STATUS", "STATE",
                                             "REPLICA"],
          "header: %r" % lines[:1])
    got = {}
    for line in lines[1:]:
        f_ = line.split()
        got[f_[5]] = f_
    rowid = {x[1]: x[0] for x in r}
    eq(got.get(ids[0][:12], [])[:4], [rowid[ids[0]], "running", "running",
                                      "0"], "row of replica 0")
    eq(got.get(ids[1][:12], [])[:4], [rowid[ids[1]], "running",
                                      "restarting", "1"], "row of replica 1")
    eq(got.get(ids[2][:12], [])[:4], ["-", "-", "exited", "0"],
       "a container without a row")
    out = d.dkctl("show", "containers", "%s/%s" % (p["id"], s["id"]))
    eq(out.returncode, 0, "dkctl show containers by ids")
    check(" restarting " in out.stdout, out.stdout)

    f.report(kind="containers", service_id=s["id"], containers=[
        {"docker_id": ids[1], "deployment_id": b["id"], "replica": 1,
         "state": "running"}])
    wait_until(lambda: len(rows()) == 1, 5)
    eq(rows()[0][1], ids[1], "the row left")
    settle(ev, "container:deleted", 1, "container:deleted events")
    eq(ev.of("container:deleted")[0]["payload"],
       {"service_id": s["id"], "container_id": r[0][0]},
       "container:deleted payload")
    out = d.dkctl("show", "containers", "%s/nope" % p["slug"])
    check(out.returncode != 0, "show containers of a missing service")
    out = d.dkctl("show", "containers", p["slug"])
    check(out.returncode != 0, "show containers without a service")
    ev.close()


def test_queue_in_status():
    d, f = rig()
    st = d.status_json()
    check("queue" in st, "queue in dkctl -j status: %r" % st)
    f.queue(in_flight=3, waiting=7, backing_off=2, services=40)
    wait_until(lambda: d.status_json().get("queue") is not None, 5)
    eq(d.status_json()["queue"], {"in_flight": 3, "waiting": 7,
                                   "backing_off": 2, "services": 40},
       "queue in dkctl -j status")
    out = d.dkctl("status").stdout
    for label, n in (("in flight", 3), ("waiting", 7), ("backing off", 2)):
        check(re.search(r"^\s+%s\s+%d$" % (label, n), out, re.M),
              "%r %d in:\n%s" % (label, n, out))
    check(re.search(r"^RECONCILER\s+40 services$", out, re.M), out)


def test_dkctl_reconcile():
    d, f = rig()
    p = project("reconcile cmd")
    s1 = service(p["id"], "one")
    s2 = service(p["id"], "two")
    m = f.mark()
    out = d.dkctl("reconcile", "%s/one" % p["slug"])
    eq(out.returncode, 0, "dkctl reconcile project/service: %s"
       % out.stderr)
    f.desired(s1["id"], since=m)
    f.wait(lambda s, n, v: n == "IMSG_REC_RECONCILE" and v == s1["id"],
           since=m, what="IMSG_REC_RECONCILE of the service")
    m = f.mark()
    eq(d.dkctl("reconcile", p["name"]).returncode, 0, "reconcile project")
    f.desired(s1["id"], since=m)
    f.desired(s2["id"], since=m)
    m = f.mark()
    eq(d.dkctl("reconcile").returncode, 0, "reconcile everything")
    _, ds, _ = f.sync(since=m)
    check({s1["id"], s2["id"]} <= {v["service_id"] for v in ds},
          "both in the resync")
    f.wait(lambda s, n, v: n == "IMSG_REC_RECONCILE" and v == "",
           since=m, what="IMSG_REC_RECONCILE of everything")
    out = d.dkctl("reconcile", "%s/nope" % p["slug"])
    check(out.returncode != 0 and "not found" in out.stderr.lower(),
          "a missing service: %r" % out.stderr)


def test_malformed_report_kills():
    d, f = rig()
    start = f.starts
    pid = d.worker("dkd-reconciler")
    m = f.mark()
    f.report(kind="exploded", deployment_id="x")
    f.wait(lambda s, n, v: n == "EOF" and s == start, since=m,
           what="the end of the reconciler's channel")
    check(wait_until(lambda: f.starts > start, 10),
          "the reconciler was not started again")
    f.sync(since=m, timeout=15)
    check(wait_until(lambda: d.worker("dkd-reconciler") not in (None, pid),
                     10), "a new reconciler process")
    check("protocol violation" in d.log(), "the master says why")


def test_interval_and_instance():
    """A short reconcile-interval resyncs on its own; the instance id
    survives a restart of dkd."""
    d = Dkd("recinterval", reconcile_interval="1s")
    f = FakeRec(d)
    d.start(env=f.env())
    b1, _, _ = f.sync()
    m = f.mark()
    b2, _, _ = f.sync(since=m, timeout=5)
    check(b2["sequence"] > b1["sequence"], "sequence grows")
    eq(b2["instance"], b1["instance"], "same instance")
    d.stop()
    m = f.mark()
    d.start(env=f.env())
    b3, _, _ = f.sync(since=m)
    eq(b3["instance"], b1["instance"], "instance id after a restart")
    f.close()


if __name__ == "__main__":
    try:
        run_tests([
            ("a full resync when the reconciler is ready",
             test_resync_on_ready),
            ("a resync after project create and delete",
             test_resync_after_project_create),
            ("DESIRED after a deployment", test_desired_after_deploy),
            ("preset images get their data volume", test_preset_volume),
            ("a deleted service is torn down with its volumes",
             test_delete_sends_teardown),
            ("starting report", test_report_starting),
            ("attempt-failed: three attempts, then failed",
             test_report_attempts),
            ("healthy report: promotion, supersede, one event",
             test_report_healthy),
            ("failed report: exit code, 10 KiB tail",
             test_report_failed_tail),
            ("stale reports are ignored", test_stale_reports),
            ("service-status report", test_service_status),
            ("containers report and dkctl show containers",
             test_containers_report),
            ("the queue in dkctl status", test_queue_in_status),
            ("dkctl reconcile", test_dkctl_reconcile),
            ("a malformed report kills the reconciler",
             test_malformed_report_kills),
            ("reconcile-interval and the instance id",
             test_interval_and_instance),
        ])
    finally:
        if "f" in shared:
            shared["f"].close()
