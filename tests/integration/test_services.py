#!/usr/bin/env python3
"""Services, deployments, rollback and containers over HTTP (routes 13,
15-24 of the spec), list semantics, and membership (Decision 7): an id
from another project or service is 404 for members and admins alike.
One dkd serves all checks."""

import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (RFC3339_RE, UUID_RE, check, check_page, eq,
                     expect_error, expect_json, expect_validation, run_tests,
                     wait_until)
from stagetest import (Events, add_group, add_node, api, apply, db, deploy,
                       deployments, dkd, ok, pending, project, service,
                       shared, stage_create, stage_env, types)

SERVICE_KEYS = {"id", "project_id", "name", "status", "icon_url",
                "active_deployment_id", "created_at", "updated_at"}
DEPLOYMENT_KEYS = {"id", "service_id", "image", "env_vars", "ports",
                   "replicas", "status", "attempt_count", "created_at"}
PC_KEYS = {"id", "project_id", "seq", "op", "target_type", "payload",
           "user_id", "created_at"}


def check_service(s, what, name=None):
    check(isinstance(s, dict), "%s: not an object: %r" % (what, s))
    eq(set(s) - {"active_deployment"}, SERVICE_KEYS, "%s: keys" % what)
    check(UUID_RE.match(s["id"]), "%s: id %r" % (what, s["id"]))
    for k in ("created_at", "updated_at"):
        check(RFC3339_RE.match(s[k]), "%s: %s %r" % (what, k, s[k]))
    if name is not None:
        eq(s["name"], name, "%s: name" % what)
    return s


def check_pc(pc, what, op, target_id=None):
    check(isinstance(pc, dict), "%s: not an object: %r" % (what, pc))
    check(PC_KEYS <= set(pc), "%s: keys %r" % (what, sorted(pc)))
    eq(pc["op"], op, "%s: op" % what)
    check(isinstance(pc["seq"], int) and pc["seq"] >= 1, "%s: seq" % what)
    check(RFC3339_RE.match(pc["created_at"]), "%s: created_at" % what)
    if target_id is not None:
        eq(pc["target_id"], target_id, "%s: target_id" % what)
    return pc


# ------------------------------------------------------------ services

def test_service_create():
    p = project("svc create")
    pid = p["id"]
    s = check_service(service(pid, "web"), "POST services", "web")
    eq(s["status"], "created", "status of a new service")
    eq(s["project_id"], pid, "project_id")
    eq(s["icon_url"], None, "icon_url")
    eq(s["active_deployment_id"], None, "active_deployment_id")
    check("active_deployment" not in s, "active_deployment without one")
    eq(ok("GET", "/api/projects/%s/services/%s" % (pid, s["id"])), s,
       "GET the service")
    # no canvas node, no deployment
    eq(db("SELECT count(*) FROM canvas_nodes WHERE project_id = ?",
          (pid,))[0][0], 0, "canvas nodes after POST services")
    eq(deployments(pid, s["id"]), [], "deployments of a new service")
    for name in ("web", "WEB", "Web"):
        expect_error(api("POST", "/api/projects/%s/services" % pid,
                         {"name": name}), 409, "conflict",
                     "A service with this name already exists in the "
                     "project.", "duplicate name %r" % name)
    for body, msg in (({}, "Name is required."),
                      ({"name": "  "}, "Name is required."),
                      ({"name": "my app"}, None),
                      ({"name": "-x"}, None),
                      ({"name": "a" * 64}, None)):
        expect_validation(api("POST", "/api/projects/%s/services" % pid,
                              body), "POST services %r" % body,
                          {"name": msg})
    expect_error(api("POST", "/api/projects/%s/services" % uuid.uuid4(),
                     {"name": "x"}), 404, "not_found", "Project not found.",
                 "POST services of an unknown project")
    # the same name in another project is fine
    service(project("other")["id"], "web")


def test_service_list():
    pid = project("svc list")["id"]
    j = ok("GET", "/api/projects/%s/services" % pid)
    eq(check_page(j, "empty list", 0, 0, 0), [], "data of an empty list")
    made = []
    for i in range(3):
        made.append(service(pid, "api-%d" % i))
        time.sleep(1.05)        # created_at has second precision
    made.append(service(pid, "worker"))
    j = ok("GET", "/api/projects/%s/services" % pid)
    data = check_page(j, "list", 0, 0, 4)
    eq([s["id"] for s in data], [s["id"] for s in reversed(made)],
       "newest first")
    j = ok("GET", "/api/projects/%s/services?name=API" % pid)
    eq(sorted(s["name"] for s in check_page(j, "name filter", 0, 0, 3)),
       ["api-0", "api-1", "api-2"], "name filter (any case, substring)")
    j = ok("GET", "/api/projects/%s/services?offset=1&limit=2" % pid)
    eq([s["id"] for s in check_page(j, "page", 1, 2, 4)],
       [made[2]["id"], made[1]["id"]], "offset 1 limit 2")
    j = ok("GET", "/api/projects/%s/services?limit=500" % pid)
    check_page(j, "limit 500", 0, 500, 4)
    j = ok("GET", "/api/projects/%s/services?offset=-3&limit=-1" % pid)
    eq(len(check_page(j, "negative paging", -3, -1, 4)), 4,
       "negative offset and limit: from 0, 20")
    deploy(pid, made[0]["id"])
    j = ok("GET", "/api/projects/%s/services?status=deploying" % pid)
    eq([s["id"] for s in check_page(j, "status filter", 0, 0, 1)],
       [made[0]["id"]], "status=deploying")
    got = check_page(j, "status filter", 0, 0, 1)[0]
    eq(got["active_deployment_id"], None, "deploying, nothing active yet")
    j = ok("GET", "/api/projects/%s/services?status=running" % pid)
    eq(check_page(j, "status running", 0, 0, 0), [], "status=running")
    expect_error(api("GET", "/api/projects/%s/services?offset=x" % pid), 400,
                 "invalid", 'Query param "offset" must be an integer.',
                 "bad offset")
    expect_error(api("GET", "/api/projects/%s/services" % uuid.uuid4()),
                 404, "not_found", "Project not found.", "unknown project")


def test_service_update_staged():
    pid = project("svc update")["id"]
    web = service(pid, "web")
    service(pid, "db")
    path = "/api/projects/%s/services/%s" % (pid, web["id"])
    pc = check_pc(ok("PATCH", path, {"name": "frontend"}), "PATCH name",
                  "service.update", web["id"])
    eq(pc["target_type"], "service", "target_type")
    eq(pc["payload"], {"name": "frontend"}, "payload")
    eq(pc["project_id"], pid, "project_id")
    eq(pc["user_id"], shared["admin_id"], "user_id")
    eq(ok("GET", path)["name"], "web", "name before Deploy")
    pc = ok("PATCH", path, {"icon_url": "https://example.test/i.png"})
    eq(pc["payload"], {"icon_url": "https://example.test/i.png"},
       "icon payload")
    eq(ok("PATCH", path, {"icon_url": ""})["payload"], {"icon_url": ""},
       "an empty icon_url clears")
    eq(ok("PATCH", path, {"name": "web"})["payload"], {"name": "web"},
       "renaming to its own name")
    for name in ("db", "DB"):
        expect_error(api("PATCH", path, {"name": name}), 409, "conflict",
                     'A service named "%s" already exists in the project.'
                     % name, "rename to %r" % name)
    for icon in ("ftp://x.test/a", "https://", "not a url", "http:///x",
                 "https://x.test/" + "a" * 2100):
        expect_validation(api("PATCH", path, {"icon_url": icon}),
                          "icon %r" % icon[:40], {"icon_url": None})
    expect_validation(api("PATCH", path, {"name": ""}), "empty name",
                      {"name": "Name is required."})
    seqs = [c["seq"] for c in pending(pid)]
    eq(seqs, list(range(1, len(seqs) + 1)), "seq 1, 2, 3...")
    r = apply(pid)
    s = ok("GET", path)
    eq(s["name"], "web", "name after Deploy (last rename wins)")
    eq(s["icon_url"], None, "icon cleared by the last change")
    eq(r["applied_count"], len(seqs), "applied_count")


def test_service_delete_staged():
    pid = project("svc delete")["id"]
    s = service(pid, "gone")
    deploy(pid, s["id"])
    path = "/api/projects/%s/services/%s" % (pid, s["id"])
    pc = check_pc(ok("DELETE", path), "DELETE service", "service.delete",
                  s["id"])
    eq(pc["payload"], {}, "payload")
    again = ok("DELETE", path)
    eq(again["id"], pc["id"], "staging the deletion twice: same entry")
    eq(len(pending(pid)), 1, "one entry in the log")
    ok("GET", path)
    apply(pid)
    expect_error(api("GET", path), 404, "not_found", "Service not found.",
                 "GET after Deploy")
    eq(db("SELECT count(*) FROM deployments WHERE service_id = ?",
          (s["id"],))[0][0], 0, "deployments of the deleted service")


def test_project_update_staged():
    p = project("before")
    pid = p["id"]
    path = "/api/projects/" + pid
    pc = check_pc(ok("PATCH", path, {"name": "after"}), "PATCH project",
                  "project.update", pid)
    eq(pc["target_type"], "project", "target_type")
    eq(pc["payload"], {"name": "after"}, "payload")
    eq(ok("GET", path)["name"], "before", "name before Deploy")
    eq(ok("PATCH", path, {})["payload"], {}, "PATCH without a name")
    expect_validation(api("PATCH", path, {"name": " "}), "blank name",
                      {"name": "Name is required."})
    expect_error(api("PATCH", "/api/projects/%s" % uuid.uuid4(),
                     {"name": "x"}), 404, "not_found", "Project not found.",
                 "PATCH unknown project")
    apply(pid)
    got = ok("GET", path)
    eq(got["name"], "after", "name after Deploy")
    eq(got["slug"], p["slug"], "the slug never changes")


# --------------------------------------------------------- deployments

def check_deployment(d, what):
    check(DEPLOYMENT_KEYS <= set(d), "%s: keys %r" % (what, sorted(d)))
    check(UUID_RE.match(d["id"]), "%s: id" % what)
    check(RFC3339_RE.match(d["created_at"]), "%s: created_at" % what)
    return d


def test_deployments():
    pid = project("deploys")["id"]
    s = service(pid, "app")
    sid = s["id"]
    d1 = check_deployment(deploy(pid, sid, "nginx:1.27"), "first")
    eq((d1["env_vars"], d1["ports"], d1["replicas"], d1["status"],
        d1["attempt_count"]), ({}, [], 1, "pending", 0), "defaults")
    check("resources" not in d1, "no resources: omitted")
    eq(ok("GET", "/api/projects/%s/services/%s" % (pid, sid))["status"],
       "deploying", "service status after the first deployment")
    time.sleep(1.05)
    d2 = deploy(pid, sid, "nginx:1.28", replicas=0,
                ports=[{"container_port": 80, "host_port": 8080,
                        "protocol": "tcp"}, {"container_port": 53,
                                             "protocol": "udp"}],
                resources={"cpu_shares": 512, "memory_mb": 256},
                env_vars={"A": "1"})
    eq((d2["replicas"], d2["ports"], d2["resources"], d2["env_vars"]),
       (1, [{"container_port": 80, "host_port": 8080, "protocol": "tcp"},
            {"container_port": 53, "protocol": "udp"}],
        {"cpu_shares": 512, "memory_mb": 256}, {"A": "1"}),
       "replicas 0 -> 1, ports, resources, env")
    base = "/api/projects/%s/services/%s/deployments" % (pid, sid)
    eq(ok("GET", base + "/" + d1["id"])["status"], "cancelled",
       "a pending deployment is cancelled by a newer one")
    got = ok("GET", base + "/" + d2["id"])
    eq(got, d2, "GET the deployment")
    j = ok("GET", base)
    eq([d["id"] for d in check_page(j, "list", 0, 0, 2)],
       [d2["id"], d1["id"]], "newest first")
    j = ok("GET", base + "?offset=1&limit=1")
    eq([d["id"] for d in check_page(j, "page", 1, 1, 2)], [d1["id"]],
       "second page")
    for body, fields in (({}, {"image": "Image is required."}),
                         ({"image": "x", "replicas": -1},
                          {"replicas": None}),
                         ({"replicas": -2}, {"image": None,
                                             "replicas": None}),
                         ({"image": "bad image"}, {"image": None}),
                         ({"image": "x", "ports": [{"container_port": 0}]},
                          {"ports": None}),
                         ({"image": "x", "ports": {"a": 1}},
                          {"ports": None}),
                         ({"image": "x", "ports": [{"container_port": 1,
                                                    "protocol": "sctp"}]},
                          {"ports": None}),
                         ({"image": "x", "env_vars": {"A": 1}},
                          {"env_vars": None}),
                         ({"image": "x", "env_vars": ["A"]},
                          {"env_vars": None}),
                         ({"image": "x", "resources": {"memory_mb": -1}},
                          {"resources": None})):
        expect_validation(api("POST", base, body), "POST %r" % body, fields)
    eq(len(deployments(pid, sid)), 2, "refused requests made nothing")
    expect_error(api("GET", base + "/" + str(uuid.uuid4())), 404,
                 "not_found", "Deployment not found.", "unknown deployment")


def test_deploy_resolves_env():
    pid = project("deploy env")["id"]
    db_ = service(pid, "db")
    deploy(pid, db_["id"], "postgres:16", ports=[{"container_port": 5432}])
    web = service(pid, "web")
    stage_env(pid, "DB", "${{db.HOST}}:${{db.PORT}}", "service", web["id"])
    stage_env(pid, "MODE", "prod")
    apply(pid)
    slug = ok("GET", "/api/projects/" + pid)["slug"]
    d = deploy(pid, web["id"], env_vars={"MODE": "dev", "EXTRA": "1"})
    eq(d["env_vars"], {"DB": "dk-%s-db:5432" % slug, "MODE": "dev",
                       "EXTRA": "1"},
       "resolved env with the request's env_vars on top")


def make_healthy(did, sid):
    db("UPDATE deployments SET status = 'healthy', healthy_at = "
       "datetime('now') WHERE id = ?", (did,))
    db("UPDATE services SET active_deployment_id = ?, status = 'running' "
       "WHERE id = ?", (did, sid))


def test_rollback():
    d = dkd()
    pid = project("rollback")["id"]
    s = service(pid, "app")
    sid = s["id"]
    other = service(pid, "other")
    od = deploy(pid, other["id"])
    d1 = deploy(pid, sid, "app:1")
    make_healthy(d1["id"], sid)
    time.sleep(1.05)
    d2 = deploy(pid, sid, "app:2")
    db("UPDATE deployments SET status = 'superseded' WHERE id = ?",
       (d1["id"],))
    make_healthy(d2["id"], sid)
    path = "/api/projects/%s/services/%s/rollback" % (pid, sid)
    expect_validation(api("POST", path, {}), "rollback without an id",
                      {"deployment_id": "Deployment ID is required."})
    for did in (str(uuid.uuid4()), od["id"]):
        expect_error(api("POST", path, {"deployment_id": did}), 404,
                     "not_found", "Deployment not found.",
                     "rollback to %s" % did)
    ev = Events(pid)
    off = d.log_size()
    try:
        got = check_service(ok("POST", path, {"deployment_id": d1["id"]}),
                            "rollback")
        events = ev.until("service:upserted")
    finally:
        ev.close()
    eq((got["active_deployment_id"], got["status"]), (d1["id"],
                                                      "deploying"),
       "service after the rollback")
    base = "/api/projects/%s/services/%s/deployments/" % (pid, sid)
    eq(ok("GET", base + d1["id"])["status"], "healthy", "target")
    eq(ok("GET", base + d2["id"])["status"], "superseded",
       "the deployment it replaced")
    eq(types(events), ["deployment:created", "service:status-changed",
                       "service:upserted"], "events of a rollback")
    eq(events[0]["payload"]["deployment"]["id"], d1["id"],
       "deployment:created names the target")
    eq(events[1]["payload"], {"service_id": sid, "old_status": "running",
                              "new_status": "deploying"},
       "service:status-changed")
    check(d.wait_log("desired state of service %s sent" % sid, 5, off),
          "the reconciler was not given the service's desired state",
          *d.log_tail())


def test_containers():
    pid = project("containers")["id"]
    s = service(pid, "app")
    sid = s["id"]
    d1 = deploy(pid, sid)
    d2 = deploy(pid, sid)
    ids = []
    for i, (dep, st) in enumerate(((d1, "stopped"), (d2, "running"),
                                   (d2, "running"))):
        cid = str(uuid.uuid4())
        ids.append(cid)
        db("INSERT INTO containers (id, service_id, deployment_id, "
           "docker_container_id, status, created_at) VALUES (?, ?, ?, ?, ?, "
           "datetime('now', ?))", (cid, sid, dep["id"], "c%d" % i, st,
                                   "+%d seconds" % i))
    base = "/api/projects/%s/services/%s/containers" % (pid, sid)
    j = ok("GET", base)
    data = check_page(j, "containers", 0, 0, 3)
    eq([c["id"] for c in data], list(reversed(ids)), "newest first")
    eq(set(data[0]), {"id", "service_id", "deployment_id",
                      "docker_container_id", "status", "created_at"},
       "container keys")
    j = ok("GET", base + "?deployment_id=" + d2["id"])
    eq(len(check_page(j, "by deployment", 0, 0, 2)), 2, "deployment filter")
    j = ok("GET", base + "?status=stopped")
    eq([c["id"] for c in check_page(j, "by status", 0, 0, 1)], [ids[0]],
       "status filter")
    j = ok("GET", base + "?offset=x&limit=y")
    eq(len(check_page(j, "bad paging", 0, 0, 3)), 3,
       "offset/limit that do not parse are ignored")
    j = ok("GET", base + "?offset=2&limit=1")
    eq([c["id"] for c in check_page(j, "page", 2, 1, 3)], [ids[0]], "page")


# ---------------------------------------------------------- membership

def test_membership():
    """Every nested id from another project or service is 404."""
    a = project("mine")["id"]
    b = project("theirs")["id"]
    sa = service(a, "a-svc")["id"]
    sa2 = service(a, "a-other")["id"]
    sb = service(b, "b-svc")["id"]
    db_b = deploy(b, sb)["id"]
    db_a2 = deploy(a, sa2)["id"]
    stage_env(b, "B", "1")
    stage_env(b, "BS", "1", "service", sb)
    gb = add_group(b, "g")
    stage_env(b, "G", "1", "group", gb)
    temp_b, _ = stage_create(b, "pending-b")
    apply(b)
    evb = ok("GET", "/api/projects/%s/env-vars" % b)["data"][0]["id"]
    evsb = ok("GET", "/api/projects/%s/services/%s/env-vars"
              % (b, sb))["data"][0]["id"]
    evgb = ok("GET", "/api/projects/%s/groups/%s/env-vars"
              % (b, gb))["data"][0]["id"]
    pcb = stage_env(b, "LATER", "1")["id"]
    nb = len(deployments(b, sb))
    note_a = add_node(a, "note", "n")
    cid_b = str(uuid.uuid4())
    db("INSERT INTO containers (id, service_id, deployment_id, "
       "docker_container_id) VALUES (?, ?, ?, 'x')", (cid_b, sb, db_b))
    P, S = "/api/projects/%s" % a, "/api/projects/%s/services" % a
    cases = [
        ("GET", "%s/%s" % (S, sb), None, "Service not found."),
        ("PATCH", "%s/%s" % (S, sb), {"name": "x"}, "Service not found."),
        ("DELETE", "%s/%s" % (S, sb), None, "Service not found."),
        ("POST", "%s/%s/deployments" % (S, sb), {"image": "x"},
         "Service not found."),
        ("GET", "%s/%s/deployments" % (S, sb), None, "Service not found."),
        ("GET", "%s/%s/deployments/%s" % (S, sb, db_b), None,
         "Service not found."),
        ("GET", "%s/%s/deployments/%s" % (S, sa, db_b), None,
         "Deployment not found."),
        ("GET", "%s/%s/deployments/%s" % (S, sa, db_a2), None,
         "Deployment not found."),
        ("POST", "%s/%s/rollback" % (S, sa), {"deployment_id": db_b},
         "Deployment not found."),
        ("POST", "%s/%s/rollback" % (S, sa), {"deployment_id": db_a2},
         "Deployment not found."),
        ("GET", "%s/%s/containers" % (S, sb), None, "Service not found."),
        ("GET", "%s/%s/env-vars" % (S, sb), None, "Service not found."),
        ("POST", "%s/%s/env-vars" % (S, sb), {"key": "K", "value": "v"},
         "Service not found."),
        ("PATCH", "%s/%s/env-vars/%s" % (S, sb, evsb), {"value": "v"},
         "Service not found."),
        ("DELETE", "%s/%s/env-vars/%s" % (S, sb, evsb), None,
         "Service not found."),
        ("PATCH", "%s/%s/env-vars/%s" % (S, sa, evsb), {"value": "v"},
         "Env var not found."),
        ("DELETE", "%s/%s/env-vars/%s" % (S, sa, evsb), None,
         "Env var not found."),
        ("PATCH", "%s/env-vars/%s" % (P, evb), {"value": "v"},
         "Env var not found."),
        ("DELETE", "%s/env-vars/%s" % (P, evb), None, "Env var not found."),
        ("PATCH", "%s/env-vars/%s" % (P, evsb), {"value": "v"},
         "Env var not found."),
        ("GET", "%s/groups/%s/env-vars" % (P, gb), None, "Group not found."),
        ("POST", "%s/groups/%s/env-vars" % (P, gb), {"key": "K",
                                                    "value": "v"},
         "Group not found."),
        ("GET", "%s/groups/%s/env-vars" % (P, note_a), None,
         "Group not found."),
        ("PATCH", "%s/groups/%s/env-vars/%s" % (P, gb, evgb),
         {"value": "v"}, "Group not found."),
        ("DELETE", "%s/groups/%s/env-vars/%s" % (P, gb, evgb), None,
         "Group not found."),
        ("DELETE", "%s/pending-changes/%s" % (P, pcb), None,
         "Pending change not found."),
        ("POST", "%s/pending-services/%s/env-vars" % (P, temp_b),
         {"key": "K", "value": "v"}, "Pending service not found."),
    ]
    for who in ("member", "admin"):
        for method, path, body, msg in cases:
            expect_error(api(method, path, body, who=who), 404,
                         "not_found", msg, "%s %s as %s" % (method, path,
                                                            who))
    # nothing of b changed
    eq(len(pending(b)), 1, "b's log")
    eq(ok("GET", "/api/projects/%s/services/%s" % (b, sb))["name"],
       "b-svc", "b's service")
    eq(len(deployments(b, sb)), nb, "b's deployments")


def test_reconciler_asked():
    """The reconciler hears of every change (RECONCILER-PROTOCOL.md): a
    full resync after a project comes or goes, the desired state of the
    services a deployment or an Apply changes."""
    d = dkd()
    off = d.log_size()
    p = project("reconcile")
    check(d.wait_log(": resync ", 5, off),
          "project create: no full resync", *d.log_tail())
    s = service(p["id"], "svc")
    off = d.log_size()
    deploy(p["id"], s["id"])
    check(d.wait_log("desired state of service %s sent" % s["id"], 5,
                     off), "deployment create: the service's desired state "
          "was not sent", *d.log_tail())
    stage_env(p["id"], "K", "v")
    off = d.log_size()
    apply(p["id"])
    check(d.wait_log("desired state of service %s sent" % s["id"], 5,
                     off), "Apply: the redeployed service's desired state "
          "was not sent", *d.log_tail())
    off = d.log_size()
    apply(p["id"])
    time.sleep(0.5)
    check("desired state of service" not in d.log_since(off) and
          ": resync " not in d.log_since(off),
          "an empty Apply told the reconciler something")
    off = d.log_size()
    ok("DELETE", "/api/projects/" + project("to delete")["id"], status=204)
    check(d.wait_log(": resync ", 5, off),
          "project delete: no full resync")
    for w in ("dkd-reconciler", "dkd-api"):
        check(d.worker(w), "%s died" % w)


def test_events():
    """What a canvas room hears of REST changes, in order."""
    pid = project("events")["id"]
    s = service(pid, "app")
    ev = Events(pid)
    try:
        stage_env(pid, "K", "v-hidden-4711")
        got = ev.until("pending-change:added")
        pc = got[-1]["payload"]
        eq((pc["op"], pc["payload"]), ("env_var.create",
                                       {"scope": "project", "key": "K"}),
           "pending-change:added without the value")
        deploy(pid, s["id"])
        got = ev.until("deployment:created")
        check("env_vars" not in got[-1]["payload"]["deployment"],
              "deployment:created carries env values")
        ok("DELETE", "/api/projects/%s/pending-changes" % pid, status=204)
        got = ev.until("pending-changes:cleared")
        eq(types(got)[-2:], ["canvas:state", "pending-changes:cleared"],
           "discard: canvas:state then pending-changes:cleared")
        eq(set(got[-2]["payload"]), {"nodes", "edges"}, "canvas:state")
        stage_env(pid, "K", "v-hidden-4711")
        ev.until("pending-change:added")
        apply(pid)
        got = ev.until("pending-changes:applied")
        eq(types(got), ["deployment:created", "canvas:state",
                        "pending-changes:applied"], "events of an Apply")
        res = got[-1]["payload"]
        eq(res["applied_count"], 1, "ApplyResult.applied_count")
        eq(res["redeployed_service_ids"], [s["id"]], "redeployed")
        pc = stage_env(pid, "L", "1")
        ev.until("pending-change:added")
        ok("DELETE", "/api/projects/%s/pending-changes/%s"
           % (pid, pc["id"]), status=204)
        got = ev.until("pending-changes:removed")
        eq(got[-1]["payload"], {"ids": [pc["id"]]},
           "pending-changes:removed")
        check(all("v-hidden-4711" not in str(e) for e in ev.seen),
              "an event carries an env var value")
    finally:
        ev.close()


run_tests([
    ("POST services: 201, no node, no deployment; 409 on a duplicate name "
     "(any case); 422; 404", test_service_create),
    ("GET services: newest first, name and status filters, paging, [] "
     "never null", test_service_list),
    ("PATCH service: staged service.update, name collisions 409, icon "
     "validation; applied by Deploy", test_service_update_staged),
    ("DELETE service: staged (once), the service runs until Deploy",
     test_service_delete_staged),
    ("PATCH project: staged project.update, 422, 404; slug unchanged",
     test_project_update_staged),
    ("deployments: create (defaults, validation, cancels in-flight), list, "
     "get", test_deployments),
    ("POST deployments: resolved env vars, request env_vars on top",
     test_deploy_resolves_env),
    ("rollback: 422/404, transitions of 10.4, events, reconciler asked",
     test_rollback),
    ("containers: from the database, filters, lenient paging",
     test_containers),
    ("membership: ids of another project or service are 404 for members "
     "and admins", test_membership),
    ("the reconciler is asked for a pass and acknowledges",
     test_reconciler_asked),
    ("events of REST changes reach the project, without env values",
     test_events),
])
