#!/usr/bin/env python3
"""dkctl on what a project holds, against a real dkd: show services,
deployments and containers, pending, apply, discard, env (list, set,
unset; project, service and group scope), rollback and events, each as a
table and with -j.  The tables are read as a user reads them (rows,
columns, values); -j must be exactly what the HTTP API answers.  Env var
values must never reach dkd's log, and the pending table never shows
them."""

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkdtest import (DKCTL, NOBODY, RFC3339_RE, UUID_RE, Failure, check, eq,
                     run_tests)
from stagetest import (Events, add_group, apply, db, deploy, dkd, env_list,
                       ok, pending, project, service, stage_create, stage_env,
                       stage_raw)

SECRETS = []
PC_KEYS = {"id", "project_id", "seq", "op", "target_type", "payload",
           "user_id", "created_at"}


def secret(name):
    """A value that must never be in dkd's log nor in a pending table."""
    s = "s3cr3t-%s-%s" % (name, uuid.uuid4().hex[:10])
    SECRETS.append(s)
    return s


def ctl(*args, input=None, rc=0):
    r = dkd().dkctl(*args, input=input)
    if r.returncode != rc:
        raise Failure("dkctl %s: exit status %d, expected %d\nstdout %r\n"
                      "stderr %r" % (" ".join(args), r.returncode, rc,
                                     r.stdout, r.stderr))
    return r


def ctl_json(*args, input=None):
    r = ctl("-j", *args, input=input)
    try:
        return json.loads(r.stdout)
    except ValueError as e:
        raise Failure("dkctl -j %s: not JSON (%s): %r"
                      % (" ".join(args), e, r.stdout))


def ctl_fails(args, message, what=None):
    """dkctl that must fail: exit 1, nothing on stdout, message on
    stderr."""
    r = ctl(*args, rc=1)
    what = what or "dkctl " + " ".join(args)
    eq(r.stdout, "", "%s: stdout" % what)
    check(message in r.stderr, "%s: stderr %r lacks %r"
          % (what, r.stderr, message))
    return r


def parse_table(text, what="table"):
    """A table of dkctl as a list of dicts, column name -> cell.  Columns
    start where the header's names start (names are apart by two spaces
    or more); widths are in characters."""
    lines = text.splitlines()
    check(lines, "%s: no header line" % what)
    head = lines[0]
    starts = [0] + [m.end() for m in re.finditer(r"  +", head)]
    names = [head[s:e].strip() for s, e in
             zip(starts, starts[1:] + [len(head)])]
    rows = []
    for line in lines[1:]:
        cells = []
        for i, s in enumerate(starts):
            e = starts[i + 1] if i + 1 < len(starts) else len(line)
            cells.append(line[s:e].strip())
        rows.append(dict(zip(names, cells)))
    return names, rows


def table(*args, columns=None):
    r = ctl(*args)
    names, rows = parse_table(r.stdout, "dkctl " + " ".join(args))
    if columns is not None:
        eq(names, columns, "dkctl %s: columns" % " ".join(args))
    return rows


def by(rows, col):
    return {r[col]: r for r in rows}


def api_get(path):
    return ok("GET", path)


def no_secret(text, what):
    for s in SECRETS:
        check(s not in text, "%s shows the env var value %r:\n%s"
              % (what, s, text))


SERVICE_COLS = ["NAME", "STATUS", "IMAGE", "ACTIVE DEPLOYMENT", "ID"]
DEPLOY_COLS = ["ID", "STATUS", "ACTIVE", "IMAGE", "REPLICAS", "CREATED",
               "REASON"]
CONTAINER_COLS = ["ID", "STATUS", "DEPLOYMENT", "DOCKER ID", "CREATED"]
PENDING_COLS = ["SEQ", "OP", "TARGET", "SUMMARY"]
ENV_COLS = ["KEY", "VALUE", "UPDATED", "ID"]


# ------------------------------------------------------------- show

def test_show_services():
    p = project("Show Services")
    pid = p["id"]
    web = service(pid, "web")
    time.sleep(1.05)            # newest first, by the second
    worker = service(pid, "worker")
    d1 = deploy(pid, web["id"], "nginx:1.27")
    ok("POST", "/api/projects/%s/services/%s/rollback" % (pid, web["id"]),
       {"deployment_id": d1["id"]})
    for ref in (pid, p["slug"], "Show Services"):
        rows = table("show", "services", ref, columns=SERVICE_COLS)
        eq([r["NAME"] for r in rows], ["worker", "web"],
           "services of %r, newest first" % ref)
        w = by(rows, "NAME")
        eq(w["web"], {"NAME": "web", "STATUS": "deploying",
                      "IMAGE": "nginx:1.27",
                      "ACTIVE DEPLOYMENT": d1["id"], "ID": web["id"]},
           "row of web (by %r)" % ref)
        eq(w["worker"], {"NAME": "worker", "STATUS": "created", "IMAGE": "-",
                         "ACTIVE DEPLOYMENT": "-", "ID": worker["id"]},
           "row of worker (by %r)" % ref)
    eq(ctl_json("show", "services", p["slug"]),
       api_get("/api/projects/%s/services?limit=100" % pid),
       "dkctl -j show services = GET services?limit=100")
    eq(table("show", "services", project("Empty")["id"]), [],
       "services of an empty project")
    # more than a page: the first 100, and a note beside the table
    big = project("Big")["id"]
    for i in range(101):
        service(big, "svc-%03d" % i)
    r = ctl("show", "services", big)
    eq(len(parse_table(r.stdout)[1]), 100, "rows of a 101-service project")
    eq(r.stderr, "(100 of 101 shown)\n", "the note on stderr")
    # two projects of one name: the name is refused, the slug works
    t1 = project("twin")
    project("twin")
    ctl_fails(("show", "services", "twin"), 'More than one project is '
              'named "twin"; use its id or slug.')
    eq(table("show", "services", t1["slug"]), [], "a twin by its slug")


def test_show_deployments():
    pid = project("Show Deployments")["id"]
    s = service(pid, "api")
    sid = s["id"]
    d1 = deploy(pid, sid, "nginx:1.26", replicas=2)
    time.sleep(1.05)
    d2 = deploy(pid, sid, "nginx:1.27")
    ok("POST", "/api/projects/%s/services/%s/rollback" % (pid, sid),
       {"deployment_id": d1["id"]})
    db("UPDATE deployments SET status = 'failed', failure_reason = "
       "'image pull failed: manifest unknown' WHERE id = ?", (d2["id"],))
    for ref in ("%s/api" % pid, "Show Deployments/%s" % sid):
        rows = table("show", "deployments", ref, columns=DEPLOY_COLS)
        eq([r["ID"] for r in rows], [d2["id"], d1["id"]],
           "deployments of %r, newest first" % ref)
        eq(rows[0], {"ID": d2["id"], "STATUS": "failed", "ACTIVE": "no",
                     "IMAGE": "nginx:1.27", "REPLICAS": "1",
                     "CREATED": d2["created_at"],
                     "REASON": "image pull failed: manifest unknown"},
           "row of the failed deployment")
        eq(rows[1], {"ID": d1["id"], "STATUS": "healthy", "ACTIVE": "yes",
                     "IMAGE": "nginx:1.26", "REPLICAS": "2",
                     "CREATED": d1["created_at"], "REASON": "-"},
           "row of the active deployment")
    eq(ctl_json("show", "deployments", "%s/api" % pid),
       api_get("/api/projects/%s/services/%s/deployments?limit=100"
               % (pid, sid)),
       "dkctl -j show deployments = GET deployments?limit=100")
    eq(table("show", "deployments", "%s/%s" % (
        pid, service(pid, "idle")["id"])), [], "a service never deployed")


def test_show_containers():
    pid = project("Show Containers")["id"]
    sid = service(pid, "app")["id"]
    d1 = deploy(pid, sid)
    ids = []
    for i, st in enumerate(("stopped", "running")):
        cid = str(uuid.uuid4())
        ids.append(cid)
        db("INSERT INTO containers (id, service_id, deployment_id, "
           "docker_container_id, status, created_at) VALUES (?, ?, ?, ?, ?, "
           "datetime('now', ?))", (cid, sid, d1["id"], "%064x" % (i + 0xab),
                                   st, "+%d seconds" % i))
    rows = table("show", "containers", "Show Containers/app",
                 columns=CONTAINER_COLS)
    eq([r["ID"] for r in rows], list(reversed(ids)), "containers, newest "
       "first")
    api_rows = api_get("/api/projects/%s/services/%s/containers"
                       % (pid, sid))["data"]
    for row, c in zip(rows, api_rows):
        eq(row, {"ID": c["id"], "STATUS": c["status"],
                 "DEPLOYMENT": d1["id"],
                 "DOCKER ID": c["docker_container_id"][:12],
                 "CREATED": c["created_at"]}, "row of container %s"
           % c["id"])
    eq(rows[0]["STATUS"], "running", "status of the newest")
    eq(ctl_json("show", "containers", "%s/app" % pid),
       api_get("/api/projects/%s/services/%s/containers?limit=100"
               % (pid, sid)),
       "dkctl -j show containers = GET containers?limit=100")


def test_unknown_project_service():
    pid = project("Unknown Refs")["id"]
    service(pid, "web")
    dep = str(uuid.uuid4())
    nope = "no-such-project-%s" % uuid.uuid4().hex[:6]
    for args in (("show", "services", nope),
                 ("show", "deployments", nope + "/web"),
                 ("show", "containers", nope + "/web"),
                 ("pending", nope), ("apply", nope), ("discard", nope),
                 ("env", nope), ("env", nope, "set", "K=v"),
                 ("env", nope, "unset", "K"),
                 ("env", nope + "/web", "set", "K=v"),
                 ("rollback", nope + "/web", dep)):
        ctl_fails(args, "command failed: Project not found.")
        ctl_fails(("-j",) + args, "command failed: Project not found.")
    for args in (("show", "deployments", pid + "/nope"),
                 ("show", "containers", pid + "/nope"),
                 ("env", pid + "/nope"),
                 ("env", pid + "/nope", "set", "K=v"),
                 ("env", pid + "/nope", "unset", "K"),
                 ("rollback", pid + "/nope", dep)):
        ctl_fails(args, "command failed: Service not found.")
    for args in (("show", "deployments", pid),
                 ("show", "containers", pid + "/"),
                 ("rollback", "/web", dep)):
        ctl_fails(args, "expected PROJECT/SERVICE")
    ctl_fails(("env", pid + "/@" + str(uuid.uuid4())),
              "command failed: Group not found.")
    ctl_fails(("show", "services"), "missing argument")
    ctl_fails(("rollback", pid + "/web"), "missing argument")
    ctl_fails(("env", pid, "set"), "missing argument")
    eq(pending(pid), [], "the log after all these failures")


# ---------------------------------------------------------- pending

def test_pending():
    p = project("Pending Shop")
    pid = p["id"]
    web = service(pid, "web")
    dbs = service(pid, "db")
    stage_env(pid, "U1", secret("u1-old"))
    stage_env(pid, "D1", secret("d1"))
    apply(pid)
    u1 = {e["key"]: e for e in env_list(pid)}["U1"]["id"]
    d1 = {e["key"]: e for e in env_list(pid)}["D1"]["id"]
    ok("PATCH", "/api/projects/%s" % pid, {"name": "Pending Shop 2"})
    ok("PATCH", "/api/projects/%s/services/%s" % (pid, web["id"]),
       {"name": "front"})
    stage_env(pid, "K1", secret("k1"))
    stage_env(pid, "K2", secret("k2"), "service", dbs["id"])
    ok("PATCH", "/api/projects/%s/env-vars/%s" % (pid, u1),
       {"value": secret("u1-new")})
    ok("DELETE", "/api/projects/%s/env-vars/%s" % (pid, d1))
    temp, _ = stage_create(pid, "cache", image="redis:7",
                           env={"P": secret("p")},
                           ports=[{"container_port": 6379}])
    ok("POST", "/api/projects/%s/pending-services/%s/env-vars" % (pid, temp),
       {"key": "K3", "value": secret("k3")}, 201)
    ok("DELETE", "/api/projects/%s/services/%s" % (pid, dbs["id"]))
    want = [
        ("project.update", "project", 'rename to "Pending Shop 2"'),
        ("service.update", "service web", 'rename to "front"'),
        ("env_var.create", "project", "add K1"),
        ("env_var.create", "service db", "add K2"),
        ("env_var.update", "project", "change U1"),
        ("env_var.delete", "project", "remove D1"),
        ("service.create", "service cache",
         "image redis:7, 1 port, 1 env var"),
        ("env_var.create", "service cache", "add K3"),
        ("service.delete", "service db", "delete"),
    ]
    log = pending(pid)
    for ref in (pid, "Pending Shop", p["slug"]):
        r = ctl("pending", ref)
        no_secret(r.stdout, "dkctl pending")
        names, rows = parse_table(r.stdout, "dkctl pending")
        eq(names, PENDING_COLS, "columns of dkctl pending")
        eq([(r["OP"], r["TARGET"], r["SUMMARY"]) for r in rows], want,
           "rows of dkctl pending %r" % ref)
        eq([r["SEQ"] for r in rows], [str(e["seq"]) for e in log],
           "SEQ column = seq of the log, in order")
    j = ctl_json("pending", pid)
    eq(j, {"data": log}, "dkctl -j pending = GET pending-changes")
    check(any(e["payload"].get("value") == SECRETS[2] for e in j["data"]),
          "-j keeps the values of the API: %r" % j)
    eq(table("pending", project("Nothing Staged")["id"],
             columns=PENDING_COLS), [], "an empty log")


# -------------------------------------------------------------- env

def pc_of(pid, cid):
    got = [e for e in pending(pid) if e["id"] == cid]
    eq(len(got), 1, "pending change %s in GET pending-changes" % cid)
    return got[0]


def test_env_set():
    p = project("Env Set")
    pid = p["id"]
    v1, v2 = secret("set1"), secret("set2")
    r = ctl("env", "Env Set", "set", "K1=" + v1)
    no_secret(r.stdout, "dkctl env set")
    names, rows = parse_table(r.stdout, "dkctl env set")
    eq(names, PENDING_COLS, "columns of dkctl env set")
    eq(rows, [{"SEQ": "1", "OP": "env_var.create", "TARGET": "project",
               "SUMMARY": "add K1"}], "dkctl env set prints the change")
    log = pending(pid)
    eq([(e["op"], e["payload"]) for e in log],
       [("env_var.create", {"scope": "project", "key": "K1", "value": v1})],
       "GET pending-changes after dkctl env set")
    eq(log[0]["target_id"], pid, "target of a project env var")
    eq(env_list(pid), [], "staged, not applied")
    eq(table("env", pid, columns=ENV_COLS), [], "dkctl env: nothing "
       "applied yet")
    rows = table("pending", pid)
    eq([(r["OP"], r["SUMMARY"]) for r in rows],
       [("env_var.create", "add K1")], "dkctl pending")
    j = ctl_json("env", p["slug"], "set", "K2=" + v2)
    # staged by root, not by a user: no user_id
    eq(set(j), PC_KEYS - {"user_id"} | {"target_id"}, "-j env set: keys")
    eq(j, pc_of(pid, j["id"]), "dkctl -j env set = the change in GET "
       "pending-changes")
    eq(j["payload"], {"scope": "project", "key": "K2", "value": v2},
       "-j env set payload, value included")
    # applied, then set again: a staged change of that variable
    ctl("apply", pid)
    rows = table("env", pid, columns=ENV_COLS)
    applied = {e["key"]: e for e in env_list(pid)}
    eq(rows, [{"KEY": k, "VALUE": applied[k]["value"],
               "UPDATED": applied[k]["updated_at"], "ID": applied[k]["id"]}
              for k in ("K1", "K2")], "dkctl env after apply")
    eq(applied["K1"]["value"], v1, "value of K1 after apply")
    eq(ctl_json("env", pid), api_get("/api/projects/%s/env-vars" % pid),
       "dkctl -j env = GET env-vars")
    v3 = secret("set3")
    rows = table("env", pid, "set", "K1=" + v3)
    eq([(r["OP"], r["TARGET"], r["SUMMARY"]) for r in rows],
       [("env_var.update", "project", "change K1")],
       "set of an applied key")
    e = pending(pid)[-1]
    eq((e["op"], e["target_id"], e["payload"]["value"],
        e["payload"]["old_value"]),
       ("env_var.update", applied["K1"]["id"], v3, v1),
       "the staged update in GET pending-changes")
    # a key only staged: setting it again replaces that change
    v4, v5 = secret("set4"), secret("set5")
    ctl("env", pid, "set", "K9=" + v4)
    ctl("env", pid, "set", "K9=" + v5)
    k9 = [e for e in pending(pid) if e["payload"].get("key") == "K9"]
    eq([(e["op"], e["payload"]["value"]) for e in k9],
       [("env_var.create", v5)], "K9 set twice before apply: one change")
    ctl("apply", pid)
    eq({e["key"]: e["value"] for e in env_list(pid)},
       {"K1": v3, "K2": v2, "K9": v5}, "values after the second apply")
    # an invalid key is the master's 422
    r = ctl_fails(("env", pid, "set", "1BAD=x"),
                  "command failed: Validation failed.")
    check("key: Key must contain only letters" in r.stderr,
          "the field error is shown: %r" % r.stderr)
    ctl_fails(("env", pid, "set", "=x"), "cannot be empty")
    eq(pending(pid), [], "the log after refused sets")


def test_env_unset():
    pid = project("Env Unset")["id"]
    stage_env(pid, "GONE", secret("gone"))
    stage_env(pid, "KEEP", secret("keep"))
    apply(pid)
    gone = {e["key"]: e for e in env_list(pid)}["GONE"]["id"]
    rows = table("env", pid, "unset", "GONE", columns=PENDING_COLS)
    eq([(r["OP"], r["TARGET"], r["SUMMARY"]) for r in rows],
       [("env_var.delete", "project", "remove GONE")], "dkctl env unset")
    eq([(e["op"], e["target_id"]) for e in pending(pid)],
       [("env_var.delete", gone)], "GET pending-changes after unset")
    ctl_fails(("env", pid, "unset", "GONE"),
              "GONE is already staged for removal")
    ctl_fails(("env", pid, "unset", "NOPE"), "no such env var: NOPE")
    # staged only: unset withdraws the staged change
    ctl("env", pid, "set", "FRESH=" + secret("fresh"))
    r = ctl("env", pid, "unset", "FRESH")
    eq(r.stdout, "withdrew the staged creation of FRESH (seq 2)\n",
       "dkctl env unset of a staged key")
    ctl("env", pid, "set", "GONE=" + secret("again"))
    cid = pending(pid)[-1]["id"]
    eq(ctl_json("env", pid, "unset", "GONE"), {"ids": [cid]},
       "dkctl -j env unset of a staged key")
    eq([e["op"] for e in pending(pid)], ["env_var.delete"],
       "the staged removal stays")
    keep = {e["key"]: e for e in env_list(pid)}["KEEP"]["id"]
    j = ctl_json("env", pid, "unset", "KEEP")
    eq(j, pc_of(pid, j["id"]), "dkctl -j env unset = the change")
    eq((j["op"], j["target_id"], j["payload"]["key"]),
       ("env_var.delete", keep, "KEEP"), "-j env unset")
    apply(pid)
    eq(env_list(pid), [], "both removed after apply")


def test_env_service_group():
    pid = project("Env Scopes")["id"]
    web = service(pid, "web")
    v = secret("svc")
    rows = table("env", "Env Scopes/web", "set", "S1=" + v)
    eq([(r["OP"], r["TARGET"], r["SUMMARY"]) for r in rows],
       [("env_var.create", "service web", "add S1")], "service scope set")
    e = pending(pid)[-1]
    eq((e["target_id"], e["payload"]), (web["id"], {"scope": "service",
                                                    "key": "S1", "value": v}),
       "the service env var in GET pending-changes")
    gid = add_group(pid, "backend")
    vg = secret("grp")
    rows = table("env", "%s/@%s" % (pid, gid), "set", "G1=" + vg)
    eq([(r["OP"], r["TARGET"], r["SUMMARY"]) for r in rows],
       [("env_var.create", "group %s" % gid, "add G1")], "group scope set")
    eq(pending(pid)[-1]["target_id"], gid, "the group is the target")
    ctl("apply", pid)
    eq([(r["KEY"], r["VALUE"]) for r in table("env", "%s/%s" % (
        pid, web["id"]))], [("S1", v)], "dkctl env PROJECT/SERVICE-ID")
    eq([(r["KEY"], r["VALUE"]) for r in table("env", "%s/web" % pid)],
       [("S1", v)], "dkctl env PROJECT/SERVICE-NAME")
    eq(table("env", pid), [], "the project scope has none")
    eq([(r["KEY"], r["VALUE"]) for r in table("env", "%s/@%s" % (
        pid, gid))], [("G1", vg)], "dkctl env PROJECT/@GROUP")
    eq(ctl_json("env", "%s/web" % pid),
       api_get("/api/projects/%s/services/%s/env-vars" % (pid, web["id"])),
       "dkctl -j env PROJECT/SERVICE = GET service env-vars")
    eq(ctl_json("env", "%s/@%s" % (pid, gid)),
       api_get("/api/projects/%s/groups/%s/env-vars" % (pid, gid)),
       "dkctl -j env PROJECT/@GROUP = GET group env-vars")
    v2 = secret("svc2")
    rows = table("env", "%s/web" % pid, "set", "S1=" + v2)
    eq([(r["OP"], r["TARGET"]) for r in rows],
       [("env_var.update", "service web")], "update in service scope")
    rows = table("env", "%s/@%s" % (pid, gid), "unset", "G1")
    eq([(r["OP"], r["TARGET"], r["SUMMARY"]) for r in rows],
       [("env_var.delete", "group %s" % gid, "remove G1")],
       "unset in group scope")
    ctl("apply", pid)
    eq({e["key"]: e["value"] for e in env_list(pid, "service", web["id"])},
       {"S1": v2}, "service scope after apply")
    eq(env_list(pid, "group", gid), [], "group scope after apply")


def test_env_value_stdin():
    pid = project("Env Stdin")["id"]
    v = secret("stdin")
    r = ctl("env", pid, "set", "MULTI", input=v + "\nsecond line\n")
    no_secret(r.stdout, "dkctl env set from stdin")
    eq(pending(pid)[-1]["payload"]["value"], v + "\nsecond line",
       "the value is standard input less its final newline")
    ctl("env", pid, "set", "EMPTY", input="")
    eq(pending(pid)[-1]["payload"]["value"], "", "empty standard input")
    esc = "\x1b[2J\x1b]0;pwned\x07" + secret("esc")
    stage_env(pid, "ESC", esc)
    apply(pid)
    r = ctl("env", pid)
    check("\x1b" not in r.stdout and "\x07" not in r.stdout,
          "dkctl env sends control characters to the terminal: %r"
          % r.stdout)
    rows = by(parse_table(r.stdout)[1], "KEY")
    eq(rows["MULTI"]["VALUE"], v + "\\nsecond line", "a newline, escaped")
    eq(rows["ESC"]["VALUE"], esc.replace("\x1b", "\\x1b").replace(
        "\x07", "\\x07"), "escape sequences, escaped")
    eq(rows["EMPTY"]["VALUE"], '""', "an empty value")
    eq({e["key"]: e["value"] for e in ctl_json("env", pid)["data"]},
       {"MULTI": v + "\nsecond line", "EMPTY": "", "ESC": esc},
       "-j: the values as they are")
    r = dkd().dkctl("env", pid, "set", "BIG", input="x" * 65537)
    eq(r.returncode, 1, "a value over 64 KiB: exit status")
    check("value is too long" in r.stderr, "stderr %r" % r.stderr)
    eq(pending(pid), [], "nothing staged for BIG")


# ---------------------------------------------------- apply, discard

def test_apply():
    p = project("Apply Shop")
    pid = p["id"]
    temp, _ = stage_create(pid, "cache", image="redis:7",
                           env={"PASS": secret("cache")})
    stage_env(pid, "SHARED", secret("shared"))
    eq(table("show", "services", pid), [], "no service before apply")
    r = ctl("apply", "Apply Shop")
    eq(r.stdout, "2 changes applied\nservices created: cache\n"
       "services redeployed: none\ndeployments created: 1\n",
       "dkctl apply output")
    eq(pending(pid), [], "the log after dkctl apply")
    rows = table("show", "services", pid, columns=SERVICE_COLS)
    eq([(r["NAME"], r["STATUS"]) for r in rows], [("cache", "deploying")],
       "dkctl show services after apply")
    cache = rows[0]["ID"]
    check(UUID_RE.match(cache), "ID column %r" % cache)
    eq([d["image"] for d in api_get(
        "/api/projects/%s/services/%s/deployments" % (pid, cache))["data"]],
       ["redis:7"], "the deployment of the new service")
    # a project env var redeploys the deployed service
    ctl("env", pid, "set", "SHARED=" + secret("shared2"))
    r = ctl("apply", p["slug"])
    eq(r.stdout, "1 change applied\nservices created: none\n"
       "services redeployed: cache\ndeployments created: 1\n",
       "dkctl apply of a redeploy")
    ctl("env", pid, "set", "SHARED=" + secret("shared3"))
    j = ctl_json("apply", pid)
    eq(sorted(j), ["applied_count", "created_deployments",
                   "redeployed_service_ids", "temp_id_to_service_id"],
       "keys of dkctl -j apply (ApplyResult)")
    eq((j["applied_count"], j["redeployed_service_ids"],
        j["temp_id_to_service_id"]), (1, [cache], {}), "-j apply")
    eq([d["service_id"] for d in j["created_deployments"]], [cache],
       "created_deployments")
    r = ctl("apply", pid)
    eq(r.stdout, "0 changes applied\nservices created: none\n"
       "services redeployed: none\ndeployments created: 0\n",
       "dkctl apply of an empty log")
    # an Apply that fails on its 4th change changes nothing, says why
    stage_env(pid, "LATER", secret("later"))
    ok("DELETE", "/api/projects/%s/services/%s" % (pid, cache))
    ctl("env", pid, "set", "X=1")
    stage_raw(pid, "env_var.update", "env_var",
              {"value": "v", "old_value": "o", "scope": "project",
               "scope_id": pid, "key": "GHOST"}, target_id=str(uuid.uuid4()))
    before = pending(pid)
    r = ctl_fails(("apply", pid), "command failed: Entry 4 "
                  "(env_var.update): ")
    eq(pending(pid), before, "the log after a failed dkctl apply")
    eq([r["NAME"] for r in table("show", "services", pid)], ["cache"],
       "the service whose deletion was staged is still there")
    eq(sorted(e["key"] for e in env_list(pid)), ["SHARED"],
       "env vars after a failed dkctl apply")


def test_discard():
    p = project("Discard Me")
    pid = p["id"]
    stage_env(pid, "A", secret("discard-a"))
    stage_create(pid, "tmp")
    r = ctl("discard", "Discard Me")
    eq(r.stdout, "pending changes of Discard Me discarded\n",
       "dkctl discard output")
    eq(pending(pid), [], "the log after dkctl discard")
    eq(db("SELECT count(*) FROM canvas_nodes WHERE project_id = ?",
          (pid,))[0][0], 0, "the placeholder node of the staged service")
    stage_env(pid, "B", secret("discard-b"))
    r = ctl("-j", "discard", pid)
    eq(r.stdout, "", "dkctl -j discard prints nothing (the API's 204)")
    eq(pending(pid), [], "the log after dkctl -j discard")
    eq(ctl("discard", pid).stdout, "pending changes of %s discarded\n" % pid,
       "discard of an empty log")


# ---------------------------------------------------------- rollback

def test_rollback():
    pid = project("Rollback Shop")["id"]
    s = service(pid, "web")
    sid = s["id"]
    d1 = deploy(pid, sid, "nginx:1.26")
    time.sleep(1.05)
    d2 = deploy(pid, sid, "nginx:1.27")
    r = ctl("rollback", "Rollback Shop/web", d1["id"])
    eq(r.stdout, "service web rolled back to deployment %s (status "
       "deploying)\n" % d1["id"], "dkctl rollback output")
    svc = api_get("/api/projects/%s/services/%s" % (pid, sid))
    eq(svc["active_deployment_id"], d1["id"], "active deployment after "
       "dkctl rollback")
    rows = by(table("show", "deployments", "%s/web" % pid), "ID")
    eq((rows[d1["id"]]["ACTIVE"], rows[d1["id"]]["STATUS"]),
       ("yes", "healthy"), "the target in dkctl show deployments")
    eq(rows[d2["id"]]["ACTIVE"], "no", "the other deployment")
    eq(by(table("show", "services", pid), "NAME")["web"]["ACTIVE DEPLOYMENT"],
       d1["id"], "ACTIVE DEPLOYMENT in dkctl show services")
    j = ctl_json("rollback", "%s/%s" % (pid, sid), d2["id"])
    eq(j, api_get("/api/projects/%s/services/%s" % (pid, sid)),
       "dkctl -j rollback = the Service of the API")
    eq(j["active_deployment_id"], d2["id"], "-j rollback: active")
    rows = by(table("show", "deployments", "%s/web" % pid), "ID")
    eq([(rows[d]["ACTIVE"], rows[d]["STATUS"]) for d in (d1["id"],
                                                         d2["id"])],
       [("no", "superseded"), ("yes", "healthy")],
       "after rolling forward again")
    other = service(pid, "other")
    d3 = deploy(pid, other["id"])
    for dep in (d3["id"], str(uuid.uuid4())):
        ctl_fails(("rollback", "%s/web" % pid, dep),
                  "command failed: Deployment not found.")
    eq(api_get("/api/projects/%s/services/%s" % (pid, sid))[
        "active_deployment_id"], d2["id"], "active after refused rollbacks")


# ------------------------------------------------------------ events

class Follower:
    """`dkctl events PROJECT` (table form) in the background."""

    def __init__(self, pid):
        d = dkd()
        self.p = subprocess.Popen([DKCTL, "-s", d.sock, "events", pid],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, text=True)
        self.q = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        time.sleep(0.3)

    def _read(self):
        for line in self.p.stdout:
            self.q.put(line)

    def line_with(self, text, timeout=5):
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.q.get(timeout=max(0.05, deadline -
                                              time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            if text in line:
                return line
        raise Failure("no line with %r within %ds: %r" % (text, timeout,
                                                          seen))

    def close(self):
        self.p.terminate()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()


def test_events():
    pid = project("Events Shop")["id"]
    f = Follower(pid)
    try:
        v = secret("event")
        pc = stage_env(pid, "EV", v)
        line = f.line_with("pending-change:added")
    finally:
        f.close()
    check(v not in line, "the event line shows the value: %r" % line)
    at, project_id, etype, payload = line.rstrip("\n").split("  ", 3)
    check(RFC3339_RE.match(at), "time %r" % at)
    eq((project_id, etype), (pid, "pending-change:added"),
       "project and type of the line")
    payload = json.loads(payload)
    eq((payload["id"], payload["op"], payload["payload"]),
       (pc["id"], "env_var.create", {"scope": "project", "key": "EV"}),
       "the payload: the change, without the value")
    ev = Events(pid)
    try:
        v2 = secret("event-j")
        pc2 = stage_env(pid, "EV2", v2)
        got = ev.until("pending-change:added")
    finally:
        ev.close()
    e = got[-1]
    eq(sorted(e), ["at", "payload", "project_id", "type"],
       "keys of a dkctl -j events line")
    check(RFC3339_RE.match(e["at"]), "at %r" % e["at"])
    eq((e["project_id"], e["payload"]["id"], e["payload"]["payload"]),
       (pid, pc2["id"], {"scope": "project", "key": "EV2"}),
       "the -j event")
    check(v2 not in json.dumps(ev.seen), "a -j event shows the value")


# ----------------------------------------------------- who and what

def test_nonroot():
    pid = project("Root Only")["id"]
    v = secret("root-only")
    stage_env(pid, "R", v)
    apply(pid)
    d = dkd()
    os.chmod(d.sock, 0o666)
    try:
        for args in (("env", pid), ("show", "services", pid),
                     ("pending", pid), ("env", pid, "set", "R=x"),
                     ("discard", pid)):
            r = d.dkctl(*args, as_user=NOBODY)
            eq(r.returncode, 1, "dkctl %s as uid %d" % (" ".join(args),
                                                         NOBODY))
            check("Permission denied: dkctl needs root." in r.stderr,
                  "stderr %r" % r.stderr)
            check(v not in r.stdout, "the value reached uid %d" % NOBODY)
    finally:
        os.chmod(d.sock, 0o660)
    eq(pending(pid), [], "nothing staged by uid %d" % NOBODY)


def test_abbreviations():
    pid = project("Abbrev")["id"]
    service(pid, "web")
    eq([r["NAME"] for r in table("sh", "se", pid)], ["web"],
       "dkctl sh se = show services")
    ctl("en", pid, "s", "AB=" + secret("abbrev"))
    eq([r["SUMMARY"] for r in table("pe", pid)], ["add AB"],
       "dkctl en P s K=V, dkctl pe P")
    ctl("ap" + "p", pid)
    for word in ("a", "r"):
        ctl_fails((word,), "ambiguous argument: %s" % word)


def test_values_not_logged():
    d = dkd()
    log = d.log()
    check("env_var" in log or "applied" in log, "the log is empty?")
    for s in SECRETS:
        check(s not in log, "dkd's log has the env var value %r" % s,
              *[l for l in log.splitlines() if s in l][:5])
    check(len(SECRETS) >= 20, "too few values were checked: %d"
          % len(SECRETS))


run_tests([
    ("show services: rows by id, slug and name; -j = GET services; an "
     "ambiguous name is refused", test_show_services),
    ("show deployments: newest first, ACTIVE, REASON; -j = GET deployments",
     test_show_deployments),
    ("show containers: rows, short Docker id; -j = GET containers",
     test_show_containers),
    ("every command: an unknown project or service is exit 1 with the "
     "master's message, nothing staged", test_unknown_project_service),
    ("pending: one row per change in seq order, op, target, summary, no "
     "values; -j = GET pending-changes", test_pending),
    ("env set: staged (GET pending-changes, dkctl pending), applied by "
     "dkctl apply; update of an applied key; a staged key replaced",
     test_env_set),
    ("env unset: staged removal, withdrawal of a staged key, errors",
     test_env_unset),
    ("env in service (by name and id) and group scope", test_env_service_group),
    ("env set KEY reads the value from stdin; control characters escaped "
     "in the table, exact with -j; a value over 64 KiB refused",
     test_env_value_stdin),
    ("apply: summary, the new service in show services, redeploys, -j "
     "ApplyResult, a failing Apply changes nothing", test_apply),
    ("discard: the log is empty, -j prints nothing", test_discard),
    ("rollback: the active deployment changes (API, show deployments, show "
     "services); -j = the Service; another service's deployment refused",
     test_rollback),
    ("events: a pending-change:added line for an env var staged through the "
     "API, without its value; -j a JSON object per line", test_events),
    ("a non-root caller on an open socket gets 'Permission denied'",
     test_nonroot),
    ("abbreviations: sh se, en s, pe; a and r are ambiguous",
     test_abbreviations),
    ("no env var value of these tests is in dkd's log",
     test_values_not_logged),
])
