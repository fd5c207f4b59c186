#!/usr/bin/env python3
"""Env vars (routes 26-37, spec 8.5-8.6, Decisions 3 and 14): the three
scopes and their staging rules, resolution of ${{name.HOST}},
${{name.PORT}} and ${{name.KEY}}, reference cycles refused at staging and
at Apply, renames rewriting references in every scope, fan-out of
project and group changes to deployed services only, env-ref edges, and
values kept out of dkd's log and events."""

import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (check, eq, expect_error, expect_validation, run_tests)
from stagetest import (Events, add_group, add_node, api, apply, apply_error,
                       db, deploy, deployments, dkd, edges_of, env_list,
                       env_path, ok, pending, project, service, stage_env,
                       stage_raw)

KEY_MSG = ("Key must contain only letters, digits and underscores, and "
           "cannot start with a digit.")


def slug(pid):
    return ok("GET", "/api/projects/" + pid)["slug"]


def latest_env(pid, sid):
    return deployments(pid, sid)[0]["env_vars"]


# --------------------------------------------------------------- CRUD

def scope_crud(pid, scope, owner):
    what = "%s scope" % scope
    path = env_path(pid, scope, owner)
    owner_id = owner or pid
    pc = stage_env(pid, "API_URL", "http://x", scope, owner)
    eq((pc["op"], pc["target_type"], pc["target_id"], pc["payload"]),
       ("env_var.create", "env_var", owner_id,
        {"scope": scope, "key": "API_URL", "value": "http://x"}),
       "%s: staged create" % what)
    eq(env_list(pid, scope, owner), [], "%s: lists what is applied" % what)
    expect_error(api("POST", path, {"key": "API_URL", "value": "y"}), 409,
                 "conflict", 'Env var "API_URL" already exists.',
                 "%s: staged twice" % what)
    for key, msg in (("", "Key is required."), ("1X", KEY_MSG),
                     ("A-B", KEY_MSG), ("é", KEY_MSG)):
        expect_validation(api("POST", path, {"key": key, "value": "v"}),
                          "%s: key %r" % (what, key), {"key": msg})
    apply(pid)
    rows = env_list(pid, scope, owner)
    eq([(v["key"], v["value"], v["scope"], v["scope_id"]) for v in rows],
       [("API_URL", "http://x", scope, owner_id)], "%s: applied" % what)
    eq(set(rows[0]), {"id", "scope", "scope_id", "key", "value",
                      "created_at", "updated_at"}, "%s: keys" % what)
    vid = rows[0]["id"]
    expect_error(api("POST", path, {"key": "API_URL", "value": "y"}), 409,
                 "conflict", 'Env var "API_URL" already exists.',
                 "%s: applied key" % what)
    expect_error(api("PATCH", path + "/" + vid, {}), 400, "invalid",
                 "value is required.", "%s: PATCH without value" % what)
    pc = ok("PATCH", path + "/" + vid, {"value": "http://y"})
    eq((pc["op"], pc["target_id"], pc["payload"]),
       ("env_var.update", vid, {"value": "http://y", "old_value": "http://x",
                                "scope": scope, "scope_id": owner_id,
                                "key": "API_URL"}),
       "%s: staged update" % what)
    pc = ok("DELETE", path + "/" + vid)
    eq((pc["op"], pc["target_id"], pc["payload"]),
       ("env_var.delete", vid, {"scope": scope, "scope_id": owner_id,
                                "key": "API_URL", "old_value": "http://x"}),
       "%s: staged delete" % what)
    # staged for deletion: the key may be staged anew
    stage_env(pid, "API_URL", "again", scope, owner)
    for m in ("PATCH", "DELETE"):
        expect_error(api(m, path + "/" + str(uuid.uuid4()),
                         {"value": "v"} if m == "PATCH" else None), 404,
                     "not_found", "Env var not found.",
                     "%s: %s unknown" % (what, m))
    apply(pid)
    eq([(v["key"], v["value"]) for v in env_list(pid, scope, owner)],
       [("API_URL", "again")], "%s: after delete and create" % what)


def test_crud_all_scopes():
    pid = project("env crud")["id"]
    s = service(pid, "svc")
    g = add_group(pid)
    scope_crud(pid, "project", None)
    scope_crud(pid, "service", s["id"])
    scope_crud(pid, "group", g)
    note = add_node(pid, "note", "n")
    for gid in (note, str(uuid.uuid4())):
        expect_error(api("GET", env_path(pid, "group", gid)), 404,
                     "not_found", "Group not found.", "group %s" % gid)
    expect_error(api("GET", env_path(pid, "service", str(uuid.uuid4()))),
                 404, "not_found", "Service not found.", "unknown service")
    eq([v["key"] for v in env_list(pid)], ["API_URL"], "list")
    stage_env(pid, "B_KEY", "1")
    stage_env(pid, "A_KEY", "1")
    apply(pid)
    eq([v["key"] for v in env_list(pid)], ["API_URL", "A_KEY", "B_KEY"],
       "list ordered by key")


# --------------------------------------------------------- resolution

def test_resolution():
    pid = project("resolve")["id"]
    db_ = service(pid, "db")
    deploy(pid, db_["id"], "postgres:16", ports=[{"container_port": 5432},
                                                 {"container_port": 9187}])
    web = service(pid, "web")
    nodeploy = service(pid, "cold")
    g = add_group(pid)
    add_node(pid, "service", "web", service_id=web["id"], parent_id=g)
    stage_env(pid, "PASSWORD", "pw-${{cold.HOST}}", "service", db_["id"])
    stage_env(pid, "USER", "admin", "service", db_["id"])
    values = {
        "HOST": "${{db.HOST}}",
        "PORT": "${{ db.PORT }}",
        "PW": "${{db.PASSWORD}}",
        "URL": "postgres://${{db.USER}}:${{db.PASSWORD}}@${{db.HOST}}:"
               "${{db.PORT}}/app",
        "COLD_PORT": "${{cold.PORT}}",
        "UNKNOWN": "${{nope.HOST}}",
        "MISSING_KEY": "${{db.NOPE}}",
        "SHELL": "${HOME} ${{ db.HOST",
        "LEVEL": "service",
    }
    for k, v in values.items():
        stage_env(pid, k, v, "service", web["id"])
    stage_env(pid, "LEVEL", "project")
    stage_env(pid, "FROM_PROJECT", "p")
    stage_env(pid, "LEVEL", "group", "group", g)
    stage_env(pid, "FROM_GROUP", "g", "group", g)
    r = apply(pid)
    check(web["id"] not in r["temp_id_to_service_id"].values(), "temp map")
    sl = slug(pid)
    env = latest_env(pid, web["id"]) if deployments(pid, web["id"]) else \
        deploy(pid, web["id"])["env_vars"]
    want = {
        "HOST": "dk-%s-db" % sl,
        "PORT": "5432",
        "PW": "pw-dk-%s-cold" % sl,
        "URL": "postgres://admin:pw-dk-%s-cold@dk-%s-db:5432/app" % (sl, sl),
        "COLD_PORT": "${{cold.PORT}}",
        "UNKNOWN": "${{nope.HOST}}",
        "MISSING_KEY": "${{db.NOPE}}",
        "SHELL": "${HOME} ${{ db.HOST",
        "LEVEL": "service",
        "FROM_PROJECT": "p",
        "FROM_GROUP": "g",
    }
    eq(env, want, "web's resolved env vars")
    check(not env["HOST"].endswith("-db-0"), "HOST is the alias without a replica")
    # precedence: project < group < service
    db_env = latest_env(pid, db_["id"])
    eq((db_env["LEVEL"], db_env["FROM_PROJECT"]), ("project", "p"),
       "db (no group) gets the project's")
    check("FROM_GROUP" not in db_env, "db is not in the group")


# ------------------------------------------------------------- cycles

def test_cycles():
    pid = project("cycles")["id"]
    web = service(pid, "web")
    db_ = service(pid, "db")
    stage_env(pid, "A", "${{db.B}}", "service", web["id"])
    apply(pid)
    r = api("POST", env_path(pid, "service", db_["id"]),
            {"key": "B", "value": "x${{web.A}}"})
    j = expect_error(r, 422, "invalid", what="staging a cycle")
    msg = j["message"]
    check(msg in ("Env var reference cycle: web.A -> db.B -> web.A",
                  "Env var reference cycle: db.B -> web.A -> db.B"),
          "the message names the cycle: %r" % msg)
    r = api("POST", env_path(pid, "service", web["id"]),
            {"key": "SELF", "value": "${{web.SELF}}"})
    expect_error(r, 422, "invalid", "Env var reference cycle: web.SELF -> "
                 "web.SELF", "a variable naming itself")
    # through staged changes too: two staged halves of a cycle
    stage_env(pid, "C", "${{db.D}}", "service", web["id"])
    r = api("POST", env_path(pid, "service", db_["id"]),
            {"key": "D", "value": "${{web.C}}"})
    expect_error(r, 422, "invalid", what="a cycle through the log",
                 contains="web.C")
    # a rename can close a cycle: refs to "dbx" resolve once db is dbx
    stage_env(pid, "E", "${{dbx.F}}", "service", web["id"])
    stage_env(pid, "F", "${{web.E}}", "service", db_["id"])
    r = api("PATCH", "/api/projects/%s/services/%s" % (pid, db_["id"]),
            {"name": "dbx"})
    expect_error(r, 422, "invalid", what="a rename closing a cycle",
                 contains="Env var reference cycle")
    # and Apply refuses a cycle that came in around staging
    ok("DELETE", "/api/projects/%s/pending-changes" % pid, status=204)
    stage_raw(pid, "env_var.create", "env_var", {"scope": "service",
                                                 "key": "B",
                                                 "value": "${{web.A}}"},
              target_id=db_["id"])
    status, j = apply_error(pid)
    eq(status, 422, "Apply with a cycle")
    check(j["message"].startswith("Entry 1 (env_var.create): Env var "
                                  "reference cycle: "),
          "Apply's message: %r" % j["message"])
    eq(len(pending(pid)), 1, "the log is kept")


# ------------------------------------------------------------- rename

def test_rename_rewrites():
    pid = project("rewrite")["id"]
    db_ = service(pid, "db")
    web = service(pid, "web")
    g = add_group(pid)
    add_node(pid, "service", "web", service_id=web["id"], parent_id=g)
    dbnode = add_node(pid, "service", "db", service_id=db_["id"])
    stage_env(pid, "PW", "s", "service", db_["id"])
    stage_env(pid, "P", "${{db.HOST}}|${{dbx.HOST}}|${{ db.PORT }}")
    stage_env(pid, "G", "${{db.PW}}", "group", g)
    stage_env(pid, "S", "${{db.HOST}}:${{db.PORT}} ${{ db . HOST }}",
              "service", web["id"])
    stage_env(pid, "OWN", "${{db.PW}}", "service", db_["id"])
    apply(pid)
    deploy(pid, db_["id"], ports=[{"container_port": 5432}])
    deploy(pid, web["id"])
    ok("PATCH", "/api/projects/%s/services/%s" % (pid, db_["id"]),
       {"name": "pg"})
    r = apply(pid)
    eq([v["value"] for v in env_list(pid)],
       ["${{pg.HOST}}|${{dbx.HOST}}|${{pg.PORT}}"], "project scope")
    eq([v["value"] for v in env_list(pid, "group", g)], ["${{pg.PW}}"],
       "group scope")
    eq([v["value"] for v in env_list(pid, "service", web["id"])],
       ["${{pg.HOST}}:${{pg.PORT}} ${{ db . HOST }}"], "service scope")
    eq(sorted(v["value"] for v in env_list(pid, "service", db_["id"])),
       ["${{pg.PW}}", "s"], "the renamed service's own")
    eq(sorted(r["redeployed_service_ids"]), sorted([db_["id"], web["id"]]),
       "both redeployed")
    eq(db("SELECT label FROM canvas_nodes WHERE id = ?", (dbnode,)),
       [("pg",)], "the renamed service's node label")
    sl = slug(pid)
    env = latest_env(pid, web["id"])
    eq((env["S"], env["G"], env["P"]),
       ("dk-%s-pg:5432 ${{ db . HOST }}" % sl, "s",
        "dk-%s-pg|${{dbx.HOST}}|5432" % sl), "web resolves the new name")


# ------------------------------------------------------------ fan-out

def test_fan_out():
    pid = project("fan out")["id"]
    g = add_group(pid)
    svc = {}
    for name, grouped, deployed in (("a", False, True), ("b", False, False),
                                    ("c", True, True), ("d", True, False)):
        svc[name] = service(pid, name)["id"]
        add_node(pid, "service", name, service_id=svc[name],
                 parent_id=g if grouped else None)
        if deployed:
            deploy(pid, svc[name])
    stage_env(pid, "P", "1")
    r = apply(pid)
    eq(sorted(r["redeployed_service_ids"]), sorted([svc["a"], svc["c"]]),
       "project scope: the deployed services")
    stage_env(pid, "G", "1", "group", g)
    r = apply(pid)
    eq(r["redeployed_service_ids"], [svc["c"]],
       "group scope: its deployed members")
    stage_env(pid, "S", "1", "service", svc["b"])
    r = apply(pid)
    eq((r["redeployed_service_ids"], r["created_deployments"]), ([], []),
       "a service never deployed is not deployed by an env change")
    # a variable naming another service follows that service's changes
    stage_env(pid, "FROM_C", "${{c.TOKEN}}", "service", svc["a"])
    apply(pid)
    stage_env(pid, "TOKEN", "t1", "service", svc["c"])
    r = apply(pid)
    eq(sorted(r["redeployed_service_ids"]), sorted([svc["a"], svc["c"]]),
       "a's ${{c.TOKEN}} changed with c's TOKEN")
    eq(latest_env(pid, svc["a"])["FROM_C"], "t1", "a gets c's TOKEN")


# --------------------------------------------------------- auto edges

def test_env_ref_edges():
    pid = project("edges")["id"]
    db_ = service(pid, "db")
    cache = service(pid, "cache")
    web = service(pid, "web")
    nodes = {s["name"]: add_node(pid, "service", s["name"],
                                 service_id=s["id"])
             for s in (db_, cache, web)}
    user_edge = str(uuid.uuid4())
    db("INSERT INTO canvas_edges (id, project_id, source_id, target_id, "
       "data) VALUES (?, ?, ?, ?, '{}')", (user_edge, pid, nodes["web"],
                                           nodes["db"]))
    for k, v in (("DB_URL", "${{db.HOST}}"), ("DB_PORT", "${{db.PORT}}"),
                 ("CACHE", "${{cache.HOST}}"), ("SELF", "${{web.HOST}}"),
                 ("GONE", "${{nope.HOST}}")):
        stage_env(pid, k, v, "service", web["id"])
    deploy(pid, web["id"])
    apply(pid)
    got = [(s, t, lbl, data) for s, t, lbl, data in edges_of(pid)
           if data != "{}"]
    eq(sorted(got), sorted([
        (nodes["web"], nodes["cache"], "CACHE",
         '{"managed":"env-ref","keys":["CACHE"]}'),
        (nodes["web"], nodes["db"], "DB_PORT, DB_URL",
         '{"managed":"env-ref","keys":["DB_PORT","DB_URL"]}')]),
       "env-ref edges: one per service named, keys sorted")
    eq(len(edges_of(pid)), 3, "the user's edge stays")
    ok("DELETE", "/api/projects/%s/services/%s/env-vars/%s"
       % (pid, web["id"], [v for v in env_list(pid, "service", web["id"])
                           if v["key"] == "CACHE"][0]["id"]))
    apply(pid)
    eq(sorted(lbl for _, _, lbl, d in edges_of(pid) if d != "{}"),
       ["DB_PORT, DB_URL"], "edges follow the variables")


# ------------------------------------------------------- values hidden

SECRET = "hunter2-" + uuid.uuid4().hex


def test_values_not_logged():
    d = dkd()
    off = d.log_size()
    pid = project("secrets")["id"]
    s = service(pid, "app")
    ev = Events(pid)
    try:
        deploy(pid, s["id"], env_vars={"OVERLAY": SECRET + "-overlay"})
        stage_env(pid, "TOKEN", SECRET)
        stage_env(pid, "TOKEN", SECRET, status=409)
        apply(pid)
        vid = env_list(pid)[0]["id"]
        ok("PATCH", env_path(pid) + "/" + vid, {"value": SECRET + "-2"})
        ok("DELETE", env_path(pid) + "/" + vid)
        r = api("POST", env_path(pid, "service", s["id"]),
                {"key": "LOOP", "value": SECRET + "${{app.LOOP}}"})
        expect_error(r, 422, "invalid", what="a cycle")
        check(SECRET not in r.body.decode(), "the error carries the value")
        apply(pid)
        ok("POST", "/api/projects/%s/services/%s/rollback" % (pid, s["id"]),
           {"deployment_id": deployments(pid, s["id"])[-1]["id"]})
        ev.drain()
    finally:
        ev.close()
    check(len(ev.seen) > 5, "saw the events: %r" % [e["type"] for e in
                                                    ev.seen])
    for e in ev.seen:
        check(SECRET not in str(e), "event %s carries a value: %r"
              % (e["type"], e))
    log = d.log_since(off)
    check("debug:" in log, "the log is at debug level")
    check(SECRET not in log, "dkd's log carries an env var value",
          *[l for l in log.splitlines() if SECRET in l][:5])


run_tests([
    ("CRUD in the project, service and group scopes: staged, 409, 422, "
     "400, 404", test_crud_all_scopes),
    ("resolution: ${{x.HOST}}, ${{x.PORT}}, ${{x.KEY}}, literals, "
     "precedence", test_resolution),
    ("a reference cycle is 422 naming it, at staging and at Apply",
     test_cycles),
    ("a rename rewrites ${{old.*}} in all three scopes", test_rename_rewrites),
    ("fan-out of project and group changes to deployed services only",
     test_fan_out),
    ("env-ref edges: managed, one per named service, keys sorted",
     test_env_ref_edges),
    ("env var values never reach dkd's log, events or error messages",
     test_values_not_logged),
])
