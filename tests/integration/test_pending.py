#!/usr/bin/env python3
"""The pending-change log and Apply (spec section 8, Decision 4): the
effective-name set through staged creates, renames and deletes, the three
refusals of remove-by-id, pending-service env vars and their duplicates,
discard, Apply creating services, an Apply that fails on its 5th entry
changing nothing, error codes inside Apply, and the redeploy refresh.
What only the canvas WebSocket stages (a service.create and its node) is
written into the database as the canvas would."""

import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (check, eq, expect_error, expect_json,
                     expect_validation, run_tests)
from stagetest import (add_node, api, apply, apply_error, db, deploy,
                       deployments, env_list, node_of, ok, pending, project,
                       service, stage_create, stage_env, stage_raw)


def rename(pid, sid, name, status=200):
    r = api("PATCH", "/api/projects/%s/services/%s" % (pid, sid),
            {"name": name})
    if status != 200:
        expect_error(r, status, "conflict", 'A service named "%s" already '
                     'exists in the project.' % name, "rename to %r" % name)
        return None
    return expect_json(r, 200, "rename to %r" % name)


# ------------------------------------------------------ effective names

def test_names_pending_create():
    pid = project("names create")["id"]
    web = service(pid, "web")
    stage_create(pid, "cache")
    for name in ("cache", "CACHE", "Cache"):
        rename(pid, web["id"], name, 409)
    expect_error(api("POST", "/api/projects/%s/services" % pid,
                     {"name": "cache"}), 409, "conflict",
                 "A service with this name already exists in the project.",
                 "POST services with a staged name")
    rename(pid, web["id"], "cache2")


def test_names_pending_rename():
    pid = project("names rename")["id"]
    a = service(pid, "alpha")
    b = service(pid, "beta")
    rename(pid, a["id"], "gamma")
    # gamma is a's now; alpha is free
    rename(pid, b["id"], "GAMMA", 409)
    rename(pid, b["id"], "alpha")
    # and b's old name, beta, is free again
    rename(pid, a["id"], "beta")
    rename(pid, a["id"], "alpha", 409)
    # a service may "rename" to its own current name
    rename(pid, b["id"], "alpha")
    apply(pid)
    names = sorted(s["name"] for s in ok(
        "GET", "/api/projects/%s/services" % pid)["data"])
    eq(names, ["alpha", "beta"], "names after Deploy")


def test_names_pending_delete():
    pid = project("names delete")["id"]
    old = service(pid, "old")
    keep = service(pid, "keep")
    rename(pid, keep["id"], "old", 409)
    ok("DELETE", "/api/projects/%s/services/%s" % (pid, old["id"]))
    rename(pid, keep["id"], "OLD")
    apply(pid)
    eq([s["name"] for s in ok("GET", "/api/projects/%s/services"
                              % pid)["data"]], ["OLD"],
       "the deleted name taken by the rename")


# ------------------------------------------------------ remove by id

def test_remove_by_id():
    pid = project("remove")["id"]
    s = service(pid, "svc")
    temp, create_id = stage_create(pid, "newbie")
    delete_id = ok("DELETE", "/api/projects/%s/services/%s"
                   % (pid, s["id"]))["id"]
    base = "/api/projects/%s/pending-changes/" % pid
    expect_error(api("DELETE", base + create_id), 400, "invalid",
                 "Delete the service's canvas node to cancel its creation.",
                 "remove a service.create")
    expect_error(api("DELETE", base + delete_id), 400, "invalid",
                 "Discard all pending changes to cancel this service "
                 "deletion.", "remove a service.delete")
    expect_error(api("DELETE", base + str(uuid.uuid4())), 404, "not_found",
                 "Pending change not found.", "remove an unknown change")
    other = project("other log")["id"]
    theirs = stage_env(other, "X", "1")["id"]
    expect_error(api("DELETE", base + theirs), 404, "not_found",
                 "Pending change not found.",
                 "remove another project's change")
    eq(len(pending(other)), 1, "the other project's log")
    removable = [stage_env(pid, "K", "v")["id"],
                 ok("PATCH", "/api/projects/" + pid, {"name": "n"})["id"],
                 rename(pid, s["id"], "renamed")["id"],
                 ok("POST", "/api/projects/%s/pending-services/%s/env-vars"
                    % (pid, temp), {"key": "P", "value": "1"}, 201)["id"]]
    for cid in removable:
        ok("DELETE", base + cid, status=204)
    eq([c["id"] for c in pending(pid)], [create_id, delete_id],
       "what is left in the log")


# ------------------------------------------- pending-service env vars

def test_pending_service_env():
    pid = project("pending env")["id"]
    temp, _ = stage_create(pid, "api", "api:1", env={"INLINE": "1"},
                           ports=[{"container_port": 8080}])
    path = "/api/projects/%s/pending-services/%s/env-vars" % (pid, temp)
    pc = ok("POST", path, {"key": "LATER", "value": "2"}, 201)
    eq((pc["op"], pc["target_type"], pc["parent_temp_id"], pc["payload"]),
       ("env_var.create", "env_var", temp,
        {"scope": "service", "key": "LATER", "value": "2"}),
       "the staged env var")
    check("target_id" not in pc, "target_id of a pending-service env var")
    for key in ("INLINE", "LATER"):
        expect_error(api("POST", path, {"key": key, "value": "x"}), 409,
                     "conflict", 'Env var "%s" already staged on this '
                     'service.' % key, "duplicate %s" % key)
    expect_validation(api("POST", path, {"key": "1BAD", "value": "x"}),
                      "bad key", {"key": "Key must contain only letters, "
                                  "digits and underscores, and cannot start "
                                  "with a digit."})
    expect_validation(api("POST", path, {"value": "x"}), "no key",
                      {"key": "Key is required."})
    for tid in (str(uuid.uuid4()), add_node(pid, "note", "n")):
        expect_error(api("POST", "/api/projects/%s/pending-services/%s/"
                         "env-vars" % (pid, tid), {"key": "A", "value": "1"}),
                     404, "not_found", "Pending service not found.",
                     "unknown temp id")
    r = apply(pid)
    sid = r["temp_id_to_service_id"][temp]
    eq(len(r["created_deployments"]), 1, "one deployment")
    dep = r["created_deployments"][0]
    eq((dep["service_id"], dep["image"], dep["env_vars"], dep["ports"],
        dep["replicas"], dep["status"]),
       (sid, "api:1", {"INLINE": "1", "LATER": "2"},
        [{"container_port": 8080}], 1, "pending"),
       "the new service's first deployment has every staged variable")
    eq(sorted(v["key"] for v in env_list(pid, "service", sid)),
       ["INLINE", "LATER"], "its env vars")


# ------------------------------------------------------------ discard

def test_discard():
    pid = project("discard")["id"]
    s = service(pid, "kept")
    applied_node = add_node(pid, "service", "kept", service_id=s["id"])
    note = add_node(pid, "note", "note")
    temp, _ = stage_create(pid, "ghost")
    stage_env(pid, "K", "v")
    ok("DELETE", "/api/projects/%s/pending-changes" % pid, status=204)
    eq(pending(pid), [], "the log after discard")
    left = sorted(r[0] for r in db("SELECT id FROM canvas_nodes WHERE "
                                   "project_id = ?", (pid,)))
    eq(left, sorted([applied_node, note]),
       "the placeholder went, the other nodes stayed")
    ok("DELETE", "/api/projects/%s/pending-changes" % pid, status=204)
    expect_error(api("DELETE", "/api/projects/%s/pending-changes"
                     % uuid.uuid4()), 404, "not_found", "Project not found.",
                 "discard in an unknown project")


# -------------------------------------------------------------- Apply

def test_apply_creates():
    pid = project("apply creates")["id"]
    group = add_node(pid, "group", "g")
    temp, _ = stage_create(pid, "cache", "redis:7", parent_id=group)
    r = apply(pid)
    eq(set(r), {"applied_count", "temp_id_to_service_id",
                "redeployed_service_ids", "created_deployments"},
       "ApplyResult keys")
    eq(r["applied_count"], 1, "applied_count")
    sid = r["temp_id_to_service_id"][temp]
    s = ok("GET", "/api/projects/%s/services/%s" % (pid, sid))
    eq((s["name"], s["status"]), ("cache", "deploying"), "the service")
    node = db("SELECT service_id, label, data, parent_id FROM canvas_nodes "
              "WHERE id = ?", (temp,))
    eq(node, [(sid, "cache", '{"image":"redis:7"}', group)],
       "the placeholder became the service's node")
    eq(r["redeployed_service_ids"], [], "nothing redeployed")
    eq(pending(pid), [], "the log after Apply")
    r = apply(pid)
    eq((r["applied_count"], r["created_deployments"]), (0, []),
       "an empty Apply")


def snapshot(pid):
    return {
        "project": ok("GET", "/api/projects/" + pid),
        "services": ok("GET", "/api/projects/%s/services" % pid)["data"],
        "env": db("SELECT id, scope, scope_id, key, value, updated_at FROM "
                  "env_vars ORDER BY id"),
        "deployments": db("SELECT id, status FROM deployments ORDER BY id"),
        "nodes": db("SELECT id, service_id, label FROM canvas_nodes WHERE "
                    "project_id = ? ORDER BY id", (pid,)),
        "log": [(c["id"], c["seq"], c["op"]) for c in pending(pid)],
    }


def test_apply_fails_on_fifth():
    pid = project("fifth")["id"]
    web = service(pid, "web")
    api_ = service(pid, "api")
    deploy(pid, web["id"])
    stage_env(pid, "OLD", "1", "service", web["id"])
    apply(pid)
    var = env_list(pid, "service", web["id"])[0]
    stage_env(pid, "NEW", "2")                                  # 1
    rename(pid, api_["id"], "backend")                          # 2
    ok("PATCH", "/api/projects/" + pid, {"name": "renamed"})    # 3
    ok("PATCH", "/api/projects/%s/services/%s/env-vars/%s"
       % (pid, web["id"], var["id"]), {"value": "9"})           # 4
    stage_create(pid, "web")                                    # 5: taken
    before = snapshot(pid)
    eq([e[1] for e in before["log"]], [1, 2, 3, 4, 5], "five entries")
    status, j = apply_error(pid)
    eq(status, 409, "status of a conflict inside Apply")
    eq(j, {"error": "conflict", "message": 'Entry 5 (service.create): A '
           'service named "web" already exists in the project.'},
       "the error names the entry")
    eq(snapshot(pid), before, "state and log after the failed Apply")


def test_apply_error_codes():
    pid = project("codes")["id"]
    s = service(pid, "svc")
    stage_raw(pid, "project.update", "project", {"name": ""},
              target_id=pid)
    status, j = apply_error(pid)
    eq((status, j), (422, {"error": "invalid", "message":
                           "Entry 1 (project.update): Name is required."}),
       "an invalid entry is 422")
    ok("DELETE", "/api/projects/%s/pending-changes" % pid, status=204)
    stage_env(pid, "K", "v", "service", s["id"])
    apply(pid)
    var = env_list(pid, "service", s["id"])[0]
    ok("PATCH", "/api/projects/%s/services/%s/env-vars/%s"
       % (pid, s["id"], var["id"]), {"value": "w"})
    db("DELETE FROM env_vars WHERE id = ?", (var["id"],))
    status, j = apply_error(pid)
    eq((status, j), (404, {"error": "not_found", "message":
                           "Entry 1 (env_var.update): Env var not found."}),
       "a missing target is 404")
    ok("DELETE", "/api/projects/%s/pending-changes" % pid, status=204)
    ghost = str(uuid.uuid4())
    stage_raw(pid, "env_var.create", "env_var", {"scope": "service",
                                                 "key": "A", "value": "1"},
              parent_temp_id=ghost)
    status, j = apply_error(pid)
    eq((status, j["message"]), (422, "Entry 1 (env_var.create): Pending env "
                                "var references a service (%s) that was "
                                "never staged for creation." % ghost),
       "an unmapped temp id")
    eq(len(pending(pid)), 1, "the log is kept")


def test_apply_skips_deleted():
    pid = project("skip")["id"]
    s = service(pid, "doomed")
    ok("DELETE", "/api/projects/%s/services/%s" % (pid, s["id"]))
    rename(pid, s["id"], "still-doomed")
    r = apply(pid)
    eq(r["applied_count"], 2, "both entries applied")
    eq(ok("GET", "/api/projects/%s/services" % pid)["data"], [],
       "the service is gone; its later rename was skipped")


def test_refresh_carries_everything():
    pid = project("refresh")["id"]
    s = service(pid, "app")
    sid = s["id"]
    ports = [{"container_port": 80, "host_port": 8081},
             {"container_port": 9000, "protocol": "udp"}]
    first = deploy(pid, sid, "registry.example.test/app:2.1", ports=ports,
                   resources={"cpu_shares": 256, "memory_mb": 128},
                   replicas=3)
    db("UPDATE deployments SET status = 'healthy' WHERE id = ?",
       (first["id"],))
    # a failed newer one is not what a refresh starts from
    failed = deploy(pid, sid, "app:broken")
    db("UPDATE deployments SET status = 'failed' WHERE id = ?",
       (failed["id"],))
    stage_env(pid, "LEVEL", "debug", "service", sid)
    r = apply(pid)
    eq(r["redeployed_service_ids"], [sid], "redeployed")
    d = r["created_deployments"][0]
    eq((d["image"], d["ports"], d["resources"], d["replicas"],
        d["env_vars"], d["status"]),
       ("registry.example.test/app:2.1", ports,
        {"cpu_shares": 256, "memory_mb": 128}, 3, {"LEVEL": "debug"},
        "pending"), "the refresh carries image, ports, limits, replicas")
    eq(len(deployments(pid, sid)), 3, "one new deployment")


run_tests([
    ("names: a staged create claims its name (any case)",
     test_names_pending_create),
    ("names: a staged rename moves its owner's name",
     test_names_pending_rename),
    ("names: a staged delete frees the name", test_names_pending_delete),
    ("remove by id: refusals for service.create/.delete, 404 unknown or "
     "another project's; others go", test_remove_by_id),
    ("pending-service env vars: 201, duplicates 409, 422, 404; Apply puts "
     "them in the first deployment", test_pending_service_env),
    ("discard: the log and placeholder nodes go, other nodes stay",
     test_discard),
    ("Apply: a staged create becomes a service, its node and deployment",
     test_apply_creates),
    ("Apply failing on its 5th entry changes nothing and keeps the log; "
     "409 naming the entry", test_apply_fails_on_fifth),
    ("Apply keeps user error codes: 422, 404, naming the entry",
     test_apply_error_codes),
    ("Apply skips an update of a service deleted before it",
     test_apply_skips_deleted),
    ("redeploy refresh carries image, ports, limits and replicas",
     test_refresh_carries_everything),
])
